"""One cell of an import checked and typed: numbers as written, texts as text.

Split from :mod:`labeler.services.data.import_writer`, which calls :func:`cell_value` for
every field of every row.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np

from labeler.services.data.import_spec import ColumnMapping, ImportFailed

# Integers are kept exactly up to 2**53: every number reaches the model, the quality
# figures and Parquet as a 64-bit float, which holds no larger integer exactly.
MAX_EXACT_INTEGER = 2**53
_INTEGER = re.compile(r"[+-]?[0-9]+")


def number(line: int, column: str, value: Any) -> int | float:
    """A numeric cell as it was written: ``3`` stays an integer, ``3.0`` a float.

    Non-finite values (``inf``, ``nan``, ``1e309``) and integers past 2**53 are refused
    with the line and column: they would break the figures, the model and the exports,
    or come back from them as another number.
    """
    if type(value) is str and value.isascii() and value.isdigit() and len(value) < 16:
        return int(value)  # the usual cell: ASCII digits alone, at most 15 (< 2**53)
    if isinstance(value, bool):
        raise ImportFailed(f"{value!r} is not a number", line=line, column=column)
    if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        value = int(value.strip())
    if isinstance(value, int | np.integer):
        if abs(int(value)) > MAX_EXACT_INTEGER:
            raise ImportFailed(
                f"{value} is beyond 2**53, the largest integer kept exactly as a number; "
                "map this column as categorical or meta to keep it as text",
                line=line,
                column=column,
            )
        return int(value)
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        raise ImportFailed(f"{value!r} is not a number", line=line, column=column) from None
    if not math.isfinite(number):
        raise ImportFailed(
            f"{value!r} is not a finite number (leave the cell empty for a missing value)",
            line=line,
            column=column,
        )
    return number


def cell_value(line: int, column: str, raw: dict[str, Any], mapping: ColumnMapping) -> Any:
    if column not in raw:
        if column in mapping.text or column == mapping.id:
            raise ImportFailed("missing field", line=line, column=column)
        return None
    value = raw[column]
    if column in mapping.numeric:
        if value is None or (isinstance(value, str) and value.strip() == ""):
            return None
        return number(line, column, value)
    if value is None:
        return None
    if column in mapping.text and not isinstance(value, str):
        raise ImportFailed(f"expected text, got {type(value).__name__}", line, column)
    return value if isinstance(value, str) else str(value)
