"""JSON shapes shared by the API and the form."""

from __future__ import annotations

from typing import Any

from flask import url_for

from labeler.models import Item, Project
from labeler.services.projects import kinds


def project_payload(project: Project, role: str | None = None) -> dict[str, Any]:
    return {
        "id": project.id,
        "name": project.name,
        "task_kind": project.task_kind,
        "task_settings": project.task_settings or {},
        "label_scale": project.label_scale,
        "labels": project.labels,
        "guidelines": project.guidelines,
        "annotations_per_item": project.annotations_per_item,
        "test_fraction": project.test_fraction,
        "model_inputs": project.model_inputs,
        "n_items": project.n_items,
        "coverage": round(project.coverage, 4),
        "role": role,
    }


def item_payload(
    project: Project,
    item: Item,
    my_label: str | None = None,
    my_value: Any = None,
    viewer_id: int | None = None,
) -> dict[str, Any]:
    """What an annotator sees: the item's fields, the kind's layout of it for
    ``viewer_id`` (``presentation``, None when the fields are all), and their own answer
    (its key and typed value), never others'."""
    presentation = kinds.presentation(project, item, viewer_id)
    display = project.display or {}
    grid = display.get("pixel_grid") or {}
    hidden = set(grid.get("fields", []))
    text_fields = display.get("text", [])
    image_field = display.get("image")
    fields = [{"name": name, "kind": "text", "value": item.data.get(name)} for name in text_fields]
    for name, value in item.data.items():
        if name in hidden or name in text_fields or name == image_field:
            continue
        fields.append({"name": name, "kind": "field", "value": value})
    image_url = None
    if grid or image_field:
        value = item.data.get(image_field) if image_field else None
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            image_url = value
        elif grid or value:
            image_url = url_for("projects.image", project_id=project.id, item_id=item.id)
    return {
        "id": item.id,
        "external_id": item.external_id,
        "fields": fields,
        "image_url": image_url,
        "presentation": presentation,
        "my_label": my_label,
        "my_value": kinds.read_value(project, my_label, my_value) if my_label else None,
    }
