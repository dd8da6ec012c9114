"""A Python client of labeler's API, for notebooks and pipelines.

    from labeler.client import Client
    client = Client("http://127.0.0.1:5000", token="lbl_...")
    client.annotations(project_id)      # a long frame: item, annotator, label

It imports no server code (no Flask, no SQLAlchemy): ``pip install "labeler[client]"``
adds ``requests``, the one dependency it needs beyond pandas.
"""

from labeler.client.client import Client
from labeler.client.http import LabelerError

__all__ = ["Client", "LabelerError"]
