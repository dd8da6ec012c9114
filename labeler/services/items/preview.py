"""How an item is named in a list: the start of its text, or of its shown fields."""

from __future__ import annotations

from typing import Any

from labeler.models import Item, Project


def preview(project: Project, item: Item, length: int = 160) -> str:
    """The start of the item's text fields; for an item without text, its first shown
    fields (never the pixels of a picture). Empty when there is nothing to show."""
    display: dict[str, Any] = project.display or {}
    texts = display.get("text") or (project.model_inputs or {}).get("text") or []
    hidden = set((display.get("pixel_grid") or {}).get("fields", []))
    if display.get("image"):
        hidden.add(display["image"])
    values = [item.data.get(name) for name in texts] or [
        value for name, value in item.data.items() if name not in hidden
    ][:4]
    shown = " · ".join(str(value) for value in values if value not in (None, ""))
    return shown if len(shown) <= length else shown[: length - 1] + "…"


def has_picture(project: Project) -> bool:
    """Whether the project's items show a picture (an image field or a pixel grid)."""
    display = project.display or {}
    return bool(display.get("image") or display.get("pixel_grid"))
