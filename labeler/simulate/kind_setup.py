"""What ``labeler simulate`` reads and who answers, per task kind: the CSV loader and the
simulated crowd (``options`` are the command's)."""

from __future__ import annotations

from typing import Any

from labeler.simulate import annotators, datasets, kind_annotators


def _multi_label_data(options: dict[str, Any]) -> Any:
    return datasets.multi_label_csv(
        options["data"],
        options["text_column"],
        options["label_column"],
        options["label_separator"],
        options["max_items"],
    )


def _rating_data(options: dict[str, Any]) -> Any:
    return datasets.rating_csv(
        options["data"],
        options["text_column"],
        options["label_column"],
        max_items=options["max_items"],
    )


#: How a CSV of a task kind other than single_label is read.
LOADERS = {"multi_label": _multi_label_data, "rating": _rating_data}


def _set_crowd(options: dict[str, Any], data: Any, seed: int) -> list[Any]:
    allow_empty = bool(data.task_settings.get("allow_empty"))
    flips = options["noise"] or [0.1]
    return kind_annotators.set_annotators(
        options["annotators"], data.labels, seed, flips, allow_empty
    )


def _rating_crowd(options: dict[str, Any], data: Any, seed: int) -> list[Any]:
    points = [float(label) for label in data.labels]
    spread = options["noise"] or [0.5]
    return kind_annotators.rating_annotators(options["annotators"], points, seed, spread)


def _label_crowd(options: dict[str, Any], data: Any, seed: int) -> list[Any]:
    confusions = (
        annotators.read_confusions(options["confusion"], data.labels)
        if options["confusion"]
        else None
    )
    return annotators.make_annotators(
        options["annotators"], data.labels, seed, options["accuracy"], confusions
    )


#: The simulated annotators of each task kind the loop supports.
CROWDS = {"single_label": _label_crowd, "multi_label": _set_crowd, "rating": _rating_crowd}
