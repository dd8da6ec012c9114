"""Render small numeric grids (e.g. scikit-learn's 8x8 digits) as PNG pictures."""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
from PIL import Image


def pixel_grid_png(
    values: Sequence[float | None], width: int, height: int, maximum: float = 255.0, scale: int = 24
) -> bytes:
    """PNG of ``values`` (row-major, 0..maximum; dark = high) enlarged ``scale`` times."""
    grid = np.array([0.0 if v is None else float(v) for v in values], dtype=float)
    if grid.size != width * height:
        raise ValueError(f"expected {width * height} values, got {grid.size}")
    shade = 255 - np.clip(grid / (maximum or 1.0), 0, 1) * 255
    pixels = shade.reshape(height, width).astype(np.uint8)
    picture = Image.fromarray(pixels).resize(
        (width * scale, height * scale), Image.Resampling.NEAREST
    )
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue()
