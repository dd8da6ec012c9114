"""labeler: a human-in-the-loop labeling and active-learning server."""

__version__ = "0.1.0"
