"""``labeler simulate``: the whole labeling loop, measured with simulated annotators.

Drives a running labeler server through its HTTP API only (client.py), with
annotators whose accuracy or confusion matrix is known (annotators.py); run.py is
the loop, compare.py runs strategies x seeds, report.py writes HTML/JSON/CSV.
"""
