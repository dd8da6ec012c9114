"""Where the top-level ``templates/``, ``static/`` and ``migrations/`` folders live.

In a checkout or an editable install they sit beside the package; a wheel carries
them inside it (pyproject maps them to ``labeler/templates`` and so on).
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def resource_dir(name: str) -> Path:
    """Return the folder ``name`` (templates, static, migrations) wherever it was installed."""
    for candidate in (_PACKAGE / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise RuntimeError(f"labeler cannot find its {name}/ folder next to {_PACKAGE}")
