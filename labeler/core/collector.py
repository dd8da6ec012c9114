"""Python's cyclic garbage collector, paused around work that builds many containers
none of which form cycles (the figures of 10⁵ span items, a 10⁵-row import).

Every few hundred new containers the collector runs, and its full collections walk
every object of the process (the app, scikit-learn, pandas): a fifth of a 100,000-row
import's CPU time (benchmarks/README.md, bulk import, third pass). Reference counting
still frees what the work drops; cycles other code makes meanwhile are collected after.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused_collector() -> Iterator[None]:
    """The collector paused for the block, restored as it was on leaving (a block
    entered while another pauses it leaves it to that one to restore)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
