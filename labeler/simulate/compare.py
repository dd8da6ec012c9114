"""Comparison mode: several sampling strategies x seeds on the same data and server.

Each run is its own project. Curves are drawn as the mean over seeds with a
min-max band; the table gives the training labels each strategy needed to reach
95% and 99% of the full-data model's accuracy. The full-data model is the same
pipeline (``labeler.core.training``, same estimator) fitted offline on every train-split
item with its true label, scored on the test split against the same final labels
the server scores its versions on.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from markupsafe import Markup, escape
from sklearn.metrics import accuracy_score, f1_score

from labeler.core import training
from labeler.core.model_inputs import ModelInputs
from labeler.simulate.client import Client
from labeler.simulate.datasets import Dataset
from labeler.simulate.report import PAGE, table, write_csv

TARGETS = (0.95, 0.99)
_COLOURS = ("#2857c5", "#b3261e", "#1e7a3c", "#b58a2a", "#7b3fb0", "#0e7c86")


def full_data_model(
    admin: Client, project_id: int, data: Dataset, estimator: str = "logistic_regression"
) -> dict[str, Any]:
    """Fit on all train-split items with the truth; accuracy on the test split against
    the server's final test labels (``vs_final``) and against the truth (``vs_truth``)."""
    rows = admin.export_items(project_id)
    unsalted = [r["external_id"].split("-", 1)[1] for r in rows]  # see Simulation.salted
    split = {i: r["split"] for i, r in zip(unsalted, rows, strict=True)}
    final = {i: r.get("final_label") for i, r in zip(unsalted, rows, strict=True)}
    frame = data.frame.set_index("id")
    inputs = ModelInputs.from_dict(data.inputs)
    train_ids = [i for i in frame.index if split.get(i) == "train"]
    test_ids = [i for i in frame.index if split.get(i) == "test"]
    model = training.train(
        frame.loc[train_ids, list(inputs.fields)].reset_index(drop=True),
        [data.truth[i] for i in train_ids],
        inputs,
        estimator,
    )
    proba = model.predict_proba(frame.loc[test_ids, list(inputs.fields)].reset_index(drop=True))
    predicted = np.asarray(model.classes, dtype=object)[proba.argmax(axis=1)]
    labeled = [n for n, i in enumerate(test_ids) if final.get(i)]
    y_final = [str(final[test_ids[n]]) for n in labeled]
    y_truth = [data.truth[i] for i in test_ids]
    return {
        "estimator": estimator,
        "n_train": len(train_ids),
        "n_test": len(test_ids),
        "vs_final": {
            "accuracy": accuracy_score(y_final, predicted[labeled]),
            "macro_f1": f1_score(y_final, predicted[labeled], average="macro"),
            "n": len(labeled),
        }
        if labeled
        else None,
        "vs_truth": {
            "accuracy": accuracy_score(y_truth, predicted),
            "macro_f1": f1_score(y_truth, predicted, average="macro"),
        },
    }


def mean_reference(per_seed: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The full-data figures averaged over seeds (each seed has its own test split)."""

    def mean(key: str, metric: str) -> float | None:
        values = [r[key][metric] for r in per_seed if r.get(key)]
        return float(np.mean(values)) if values else None

    return {
        "estimator": per_seed[0]["estimator"],
        "n_train": int(np.mean([r["n_train"] for r in per_seed])),
        "n_test": int(np.mean([r["n_test"] for r in per_seed])),
        "vs_final": {
            "accuracy": mean("vs_final", "accuracy"),
            "macro_f1": mean("vs_final", "macro_f1"),
        },
        "vs_truth": {
            "accuracy": mean("vs_truth", "accuracy"),
            "macro_f1": mean("vs_truth", "macro_f1"),
        },
        "per_seed": list(per_seed),
    }


def step_curve(
    checkpoints: Sequence[dict[str, Any]], grid: np.ndarray, metric: str = "accuracy"
) -> np.ndarray:
    """The metric of the newest model trained on at most x labels, for each x (NaN before)."""
    points = sorted(
        (c["training_labels"], c[metric]) for c in checkpoints if c.get(metric) is not None
    )
    values = np.full(len(grid), np.nan)
    for n, x in enumerate(grid):
        before = [y for labels, y in points if labels <= x]
        if before:
            values[n] = before[-1]
    return values


def labels_to_reach(checkpoints: Sequence[dict[str, Any]], target: float) -> int | None:
    """Training labels of the first version at or above ``target`` accuracy (None: never)."""
    for c in sorted(checkpoints, key=lambda c: c["training_labels"]):
        if c.get("accuracy") is not None and c["accuracy"] >= target:
            return int(c["training_labels"])
    return None


def summarise(runs: dict[str, list[dict[str, Any]]], reference: float) -> list[dict[str, Any]]:
    """Per strategy: labels needed for each target (mean over seeds that reached it)."""
    rows = []
    for strategy, results in runs.items():
        row: dict[str, Any] = {"strategy": strategy, "seeds": len(results)}
        for share in TARGETS:
            needed = [labels_to_reach(r["checkpoints"], share * reference) for r in results]
            reached = [n for n in needed if n is not None]
            row[f"labels to {share:.0%}"] = (
                f"{np.mean(reached):.0f} ({min(reached)}-{max(reached)})" if reached else "never"
            )
            if len(reached) < len(needed):
                row[f"labels to {share:.0%}"] += f", {len(needed) - len(reached)} never"
        final = [r["checkpoints"][-1]["accuracy"] for r in results if r["checkpoints"]]
        row["final accuracy"] = f"{np.mean(final):.3f} ± {np.std(final):.3f}" if final else "–"
        row["final labels"] = int(
            np.mean(
                [r["checkpoints"][-1]["training_labels"] for r in results if r["checkpoints"]]
                or [0]
            )
        )
        rows.append(row)
    return rows


def band_chart_svg(
    curves: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]],
    grid: np.ndarray,
    title: str,
    reference: float | None = None,
    width: int = 720,
    height: int = 380,
) -> Markup:
    """Mean lines with a shaded min-max band per strategy; a dashed full-data line."""
    left, right, top, bottom = 48, 150, 28, 40
    pw, ph = width - left - right, height - top - bottom
    finite = np.concatenate([low[np.isfinite(low)] for _, low, _ in curves.values()] or [[0.0]])
    y_low = max(0.0, np.floor((finite.min() if finite.size else 0.0) * 10) / 10)
    x_max = float(grid.max()) or 1.0

    def px(x: float) -> float:
        return left + pw * x / x_max

    def py(y: float) -> float:
        return top + ph * (1 - (min(max(y, y_low), 1.0) - y_low) / (1.0 - y_low or 1.0))

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" font-family="system-ui, sans-serif" '
        f'font-size="11" role="img" aria-label="{escape(title)}">'
        f'<text x="4" y="16" font-weight="600" font-size="12">{escape(title)}</text>'
    ]
    for i in range(6):
        y = y_low + (1.0 - y_low) * i / 5
        parts.append(
            f'<line x1="{left}" x2="{left + pw}" y1="{py(y):.1f}" y2="{py(y):.1f}" '
            f'stroke="#e3e6ec"/><text x="{left - 5}" y="{py(y) + 4:.1f}" '
            f'text-anchor="end" fill="#5c6475">{y:.2f}</text>'
        )
        x = x_max * i / 5
        parts.append(
            f'<text x="{px(x):.1f}" y="{top + ph + 14}" text-anchor="middle" '
            f'fill="#5c6475">{x:,.0f}</text>'
        )
    parts.append(
        f'<text x="{left + pw / 2}" y="{height - 6}" text-anchor="middle" '
        f'fill="#5c6475">training labels</text>'
    )
    if reference is not None:
        parts.append(
            f'<line x1="{left}" x2="{left + pw}" y1="{py(reference):.1f}" '
            f'y2="{py(reference):.1f}" stroke="#1d2330" stroke-dasharray="6 4"/>'
            f'<text x="{left + pw + 4}" y="{py(reference) + 4:.1f}">full data</text>'
        )
    for n, (name, (mean, low, high)) in enumerate(curves.items()):
        colour = _COLOURS[n % len(_COLOURS)]
        ok = np.isfinite(mean)
        xs, lo, hi, mu = grid[ok], low[ok], high[ok], mean[ok]
        if not len(xs):
            continue
        band = [f"{px(x):.1f},{py(y):.1f}" for x, y in zip(xs, hi, strict=True)] + [
            f"{px(x):.1f},{py(y):.1f}" for x, y in zip(xs[::-1], lo[::-1], strict=True)
        ]
        line = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in zip(xs, mu, strict=True))
        legend = top + 30 + n * 18
        parts.append(
            f'<g><title>{escape(name)}</title><polygon points="{" ".join(band)}" '
            f'fill="{colour}" fill-opacity="0.15"/><polyline points="{line}" '
            f'fill="none" stroke="{colour}" stroke-width="2"/>'
            f'<line x1="{width - right + 50}" x2="{width - right + 72}" y1="{legend - 4}"'
            f' y2="{legend - 4}" stroke="{colour}" stroke-width="3"/>'
            f'<text x="{width - right + 76}" y="{legend}">{escape(name)}</text></g>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every name is escaped


def curves(
    runs: dict[str, list[dict[str, Any]]], step: int
) -> tuple[np.ndarray, dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]]:
    top = max(
        (
            c["training_labels"]
            for results in runs.values()
            for r in results
            for c in r["checkpoints"]
        ),
        default=step,
    )
    grid = np.arange(0, top + step, step, dtype=float)
    out = {}
    for strategy, results in runs.items():
        stack = np.vstack([step_curve(r["checkpoints"], grid) for r in results])
        with np.errstate(all="ignore"):
            full = np.isfinite(stack).all(axis=0)
            mean = np.where(full, np.nanmean(np.where(full, stack, 0), axis=0), np.nan)
            out[strategy] = (
                mean,
                np.where(full, stack.min(axis=0), np.nan),
                np.where(full, stack.max(axis=0), np.nan),
            )
    return grid, out


def reference_accuracy(reference: dict[str, Any]) -> float:
    """The yardstick: accuracy on the final test labels (the truth when there are none)."""
    value = (reference.get("vs_final") or {}).get("accuracy")
    return float(value if value is not None else reference["vs_truth"]["accuracy"])


def write_comparison(
    runs: dict[str, list[dict[str, Any]]],
    reference: dict[str, Any],
    out: Path,
    step: int,
    title: str,
) -> Path:
    """comparison.html, comparison.json, targets.csv and curves.csv in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    accuracy = reference_accuracy(reference)
    rows = summarise(runs, accuracy)
    grid, bands = curves(runs, step)
    write_csv(out / "targets.csv", rows)
    write_csv(
        out / "curves.csv",
        [
            {"strategy": s, "training_labels": int(x), "mean": mu, "min": lo, "max": hi}
            for s, (mean, low, high) in bands.items()
            for x, mu, lo, hi in zip(grid, mean, low, high, strict=True)
            if np.isfinite(mu)
        ],
    )
    (out / "comparison.json").write_text(
        json.dumps(
            {"full_data_model": reference, "targets": rows, "runs": runs}, indent=2, default=float
        )
    )
    body = [
        f"<p>Full-data model (the same pipeline fitted offline on all "
        f"~{reference['n_train']} train-split items with their true labels, "
        f"{escape(reference['estimator'])}): accuracy {accuracy:.3f} on the test split "
        f"(vs truth {reference['vs_truth']['accuracy']:.3f}), mean over the seeds' "
        "splits.</p>",
        str(
            band_chart_svg(
                bands, grid, f"{title}: test accuracy, mean and min-max over seeds", accuracy
            )
        ),
        "<h2>Training labels to reach a share of the full-data accuracy</h2>",
        str(table(rows, list(rows[0]) if rows else [])),
        '<p class="note">mean over seeds (min-max); "never": not within the budget.</p>',
    ]
    (out / "comparison.html").write_text(PAGE.format(title=escape(title), body="\n".join(body)))
    return out / "comparison.html"


def compare(
    run_one: Callable[[str, int], dict[str, Any]], strategies: Sequence[str], seeds: Sequence[int]
) -> dict[str, list[dict[str, Any]]]:
    """``run_one(strategy, seed)`` for each pair; results grouped by strategy."""
    return {s: [run_one(s, seed) for seed in seeds] for s in strategies}


def frame_of(runs: dict[str, list[dict[str, Any]]]) -> pd.DataFrame:
    """Every checkpoint of every run, long format (for notebooks)."""
    return pd.DataFrame(
        [
            {"strategy": s, "seed": r["settings"]["seed"], **c}
            for s, results in runs.items()
            for r in results
            for c in r["checkpoints"]
        ]
    )
