"""Serving: predictions, rollout of model versions, the prediction log and monitoring."""
