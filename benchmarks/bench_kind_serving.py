"""Benchmark: serving a batch through each task kind vs the kind's bare model call.

Run from the repository root:

    python benchmarks/bench_kind_serving.py            # 1,000-row batches, 15 rounds
    python benchmarks/bench_kind_serving.py --small    # 200-row batches, 5 rounds

For multi_label, rating, spans and pairwise, a model is fitted by the kind itself on
synthetic items (the shapes of tests/services/test_kind_training.py). Each round then
times, in turn, the bare call a caller of the fitted model would make (the kind's
``predict``: values only) and labeler's serving path (``TaskKind.serve``, which adds
confidences and the kind's fields, then ``Served.rows()``, the JSON rows /predict
sends). Prints medians and the median of per-round ratios (the paths take turns, so a
busy moment on a shared machine hits both). Never asserts a time.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from labeler.core.kinds import KindContext, kind_for  # noqa: E402
from labeler.core.model_inputs import ModelInputs  # noqa: E402
from labeler.services.serving.predict import Served  # noqa: E402  (the rows /predict sends)

TOPICS = {"sports": "match", "politics": "vote", "tech": "laptop"}
MOODS = ["awful", "poor", "fine", "good", "superb"]
NAMES = ["Ann", "Bob", "Carla", "Dmitri", "Eve", "Farid"]


def _items(kind: str, n: int, rng: np.random.Generator) -> tuple[list[dict[str, Any]], list[Any]]:
    rows, values = [], []
    for _ in range(n):
        if kind == "multi_label":
            chosen = [label for label in TOPICS if rng.random() < 0.5] or ["tech"]
            rows.append({"text": " ".join([TOPICS[c] for c in chosen] + ["news", "today"])})
            values.append(chosen)
        elif kind == "rating":
            score = int(rng.integers(1, 6))
            rows.append({"text": f"a {MOODS[score - 1]} film, {rng.integers(1000)} minutes"})
            values.append(score)
        elif kind == "spans":
            first, second = rng.choice(NAMES, 2, replace=False)
            start = len(first) + len(" called ")
            rows.append({"text": f"{first} called {second} about the report"})
            values.append(
                [
                    {"start": 0, "end": len(first), "label": "PER"},
                    {"start": start, "end": start + len(second), "label": "PER"},
                ]
            )
        else:
            a_wins = bool(rng.random() < 0.5)
            right, wrong = "use sorted, which is correct", "use a loop which is broken here"
            rows.append(
                {
                    "prompt": f"how do I sort list {rng.integers(1000)}?",
                    "response_a": right if a_wins else wrong,
                    "response_b": wrong if a_wins else right,
                }
            )
            values.append({"choice": "A" if a_wins else "B"})
    return rows, values


CONTEXTS = {
    "multi_label": KindContext(tuple(TOPICS)),
    "rating": KindContext(tuple(str(i) for i in range(1, 6)), label_scale="ordinal"),
    "spans": KindContext(("PER",), settings={"text_field": "text", "tokenizer": "words"}),
    "pairwise": KindContext(
        (),
        settings={
            "fields": {r: r for r in ("prompt", "context", "response_a", "response_b")}
            | {"system_a": "system_a", "system_b": "system_b"}
        },
    ),
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", action="store_true")
    args = parser.parse_args()
    batch, rounds = (200, 5) if args.small else (1000, 15)
    rng = np.random.default_rng(0)
    settings = {"inputs": ModelInputs(text=("text",)), "random_state": 0, "params": {}}
    print(f"{batch}-row batches, {rounds} rounds; medians in ms")
    print(f"{'kind':<12} {'bare predict':>13} {'serve + rows':>13} {'ratio':>7}")
    for name, context in CONTEXTS.items():
        kind = kind_for(name)
        rows, values = _items(name, 300, rng)
        model = kind.train(pd.DataFrame(rows), values, context, settings)
        requests, _ = _items(name, batch, rng)
        frame = pd.DataFrame(requests)
        bare_ms, served_ms, ratios = [], [], []
        for _ in range(rounds):
            started = time.perf_counter()
            kind.predict(model, frame, context)
            bare = (time.perf_counter() - started) * 1000
            started = time.perf_counter()
            found = kind.serve(model, frame, context)
            Served(1, found, 0.0, show_value=not found.keys_are_values).rows()
            served = (time.perf_counter() - started) * 1000
            bare_ms.append(bare)
            served_ms.append(served)
            ratios.append(served / bare)
        print(
            f"{name:<12} {statistics.median(bare_ms):>13.2f} "
            f"{statistics.median(served_ms):>13.2f} {statistics.median(ratios):>7.2f}"
        )


if __name__ == "__main__":
    main()
