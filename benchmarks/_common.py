"""Helpers shared by the benchmarks: a throw-away instance and percentile printing."""

from __future__ import annotations

import resource
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from labeler import create_app
from labeler.cli.instance import apply_migrations


def fresh_app(folder: Path | None = None):
    folder = folder or Path(tempfile.mkdtemp(prefix="labeler-bench-"))
    app = create_app(
        {
            "SECRET_KEY": "bench",
            "INSTANCE_PATH": str(folder),
            "DATABASE_URL": f"sqlite:///{folder / 'labeler.sqlite'}",
            "JOB_EXECUTOR": "inline",
        }
    )
    with app.app_context():
        apply_migrations()
    return app, folder


def percentiles(samples_ms: list[float]) -> tuple[float, float]:
    values = np.asarray(samples_ms)
    return float(np.percentile(values, 50)), float(np.percentile(values, 95))


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def text_corpus() -> pd.DataFrame:
    """SMS spam and Rotten Tomatoes snippets as one shuffled frame (text, label)."""
    sms = pd.read_csv(DATA / "sms-spam.csv")
    sms["label"] = np.where(sms["spam"] == 1, "spam", "ham")
    reviews = pd.read_csv(DATA / "rotten_tomatoes_corpus.csv.bz2")
    reviews["label"] = reviews["category"]
    both = pd.concat([sms[["text", "label"]], reviews[["text", "label"]]], ignore_index=True)
    return both.dropna().sample(frac=1.0, random_state=0).reset_index(drop=True)
