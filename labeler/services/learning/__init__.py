"""The model: training data, training and evaluation jobs, scoring the pool, artifacts, reports."""
