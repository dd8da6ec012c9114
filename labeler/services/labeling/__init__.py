"""Labeling: the queue and its leases, labels and consensus, review, gold, agreement."""
