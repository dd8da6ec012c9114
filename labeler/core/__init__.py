"""The pure core: agreement, consensus, sampling, training, evaluation, drift, quality.

Functions and classes on pandas, numpy and scikit-learn only. Nothing here imports
flask, sqlalchemy or labeler.models (tests/core/test_core_boundaries.py checks it), so
every figure can be computed and tested without an app or a database.
"""
