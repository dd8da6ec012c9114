"""Redirect targets taken from a request stay on this site.

A browser strips tabs, newlines and other control characters from a URL and reads a
backslash as a slash, so ``/\\t/evil.example`` or ``/\\\\evil.example`` are other hosts
even though they start with one ``/``. A target is kept only when, after what a browser
would do to it, it is a path on this host; anything else gives the fallback.
"""

from __future__ import annotations

import unicodedata
from urllib.parse import urlsplit


def safe_target(target: str | None, fallback: str) -> str:
    """``target`` if it is a local path (``/projects/3?x=1``), else ``fallback``."""
    if not target or len(target) > 2000:
        return fallback
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Zl", "Zp") for ch in target):
        return fallback  # what a browser strips, or cannot encode (lone surrogates)
    if "\\" in target or not target.startswith("/") or target.startswith("//"):
        return fallback
    try:
        parts = urlsplit(target)
    except ValueError:
        return fallback
    if parts.scheme or parts.netloc:
        return fallback
    return target
