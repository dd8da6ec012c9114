"""The WSGI entry point for gunicorn (or any WSGI server): ``labeler.wsgi:app``.

    gunicorn --workers 4 --bind 0.0.0.0:8000 labeler.wsgi:app

Configuration comes from ``LABELER_*`` variables and ``instance/config.py``, as
for ``labeler serve``. Each gunicorn worker builds its own app and connection pool
after the fork (do not use ``--preload``: forked pools share sockets). Web
processes keep no state of their own, so any number of them, on any number of
machines, can serve the same database; run jobs with ``LABELER_JOB_EXECUTOR=rq``
and ``labeler worker`` rather than the per-process thread executor.
"""

from __future__ import annotations

from labeler import create_app

app = create_app()
