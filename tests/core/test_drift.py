"""The drift core: PSI, class-mix and confidence drift, latency percentiles, windows."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from labeler.core import drift


def test_psi_is_zero_for_the_same_mix_and_grows_with_the_shift():
    assert drift.population_stability_index([80, 20], [800, 200]) == pytest.approx(0, abs=1e-3)
    small = drift.population_stability_index([80, 20], [75, 25])
    big = drift.population_stability_index([80, 20], [20, 80])
    assert 0 < small < drift.PSI_MODERATE < drift.PSI_MAJOR < big


def test_psi_matches_the_textbook_formula_without_smoothing():
    e, a = np.array([0.5, 0.3, 0.2]), np.array([0.3, 0.3, 0.4])
    expected = float(np.sum((a - e) * np.log(a / e)))
    assert drift.population_stability_index(e, a, smoothing=0) == pytest.approx(expected)


def test_psi_is_finite_with_an_empty_bin_and_refuses_bad_input():
    value = drift.population_stability_index([100, 0], [0, 100])
    assert math.isfinite(value) and value > drift.PSI_MAJOR
    assert drift.population_stability_index([0, 0], [1, 2]) == 0.0
    with pytest.raises(ValueError):
        drift.population_stability_index([1, 2], [1, 2, 3])
    with pytest.raises(ValueError):
        drift.population_stability_index([1, -2], [1, 2])


@pytest.mark.parametrize(
    ("psi", "level"), [(0.0, "stable"), (0.09, "stable"), (0.1, "moderate"), (0.25, "major")]
)
def test_levels_follow_the_usual_thresholds(psi, level):
    assert drift.psi_level(psi) == level


def test_class_mix_counts_labels_the_model_never_trained_on():
    result = drift.class_mix_drift({"ham": 86, "spam": 14}, ["ham"] * 80 + ["spam"] * 15)
    assert result.level == "stable" and result.n == 95
    assert result.labels == ["ham", "spam"]
    assert sum(result.expected) == pytest.approx(1) and sum(result.actual) == pytest.approx(1)
    shifted = drift.class_mix_drift({"ham": 86, "spam": 14}, ["spam"] * 50 + ["other"] * 5)
    assert shifted.labels == ["ham", "spam", "other"] and shifted.level == "major"


def test_confidence_drift_sees_a_less_sure_model():
    rng = np.random.default_rng(1)
    reference = rng.beta(20, 2, 400)
    same = drift.confidence_drift(reference, rng.beta(20, 2, 400))
    assert same.level == "stable" and abs(same.mean_shift) < 0.03
    assert not drift.confidence_drift(reference, reference[::-1]).significant
    unsure = drift.confidence_drift(reference, rng.beta(5, 5, 400))
    assert unsure.level == "major" and unsure.significant and unsure.mean_shift < -0.2
    assert unsure.interval[0] < unsure.mean_shift < unsure.interval[1]
    with pytest.raises(ValueError):
        drift.confidence_drift([], [0.5])


def test_latency_percentiles():
    figures = drift.latency_percentiles(np.arange(1, 101))
    assert figures["p50"] == pytest.approx(50.5) and figures["p95"] == pytest.approx(95.05)
    assert figures["n"] == 100
    assert math.isnan(drift.latency_percentiles([])["p95"])


def test_windows_per_version():
    frame = pd.DataFrame(
        {
            "created_at": pd.to_datetime(
                ["2024-01-01 10:05", "2024-01-01 10:50", "2024-01-01 11:10", "2024-01-01 10:20"]
            ),
            "model_version_id": [1, 1, 1, 2],
            "latency_ms": [2.0, 4.0, 8.0, 3.0],
            "confidence": [0.9, 0.7, 0.6, 0.5],
        }
    )
    out = drift.windowed(frame, "1h")
    assert list(out.columns) == [
        "window",
        "model_version_id",
        "n",
        "requests",
        "per_minute",
        "p50_ms",
        "p95_ms",
        "mean_confidence",
    ]
    first = out.iloc[0]
    assert first["model_version_id"] == 1 and first["n"] == 2 and first["p50_ms"] == 3.0
    assert first["per_minute"] == pytest.approx(2 / 60)
    assert len(out) == 3
    assert drift.windowed(frame.iloc[:0]).empty


def test_windowed_weights_rows_and_takes_latency_per_request():
    # Two requests in one window: a batch of 3 rows sampled at share 0.5 (weight 2),
    # whose latency sits on its first row only, and a single row at share 1.
    frame = pd.DataFrame(
        {
            "created_at": pd.to_datetime(["2024-01-01 10:01"] * 4),
            "model_version_id": [1, 1, 1, 1],
            "latency_ms": [40.0, np.nan, np.nan, 2.0],
            "confidence": [0.9, 0.8, 0.7, 0.6],
            "weight": [2.0, 2.0, 2.0, 1.0],
        }
    )
    row = drift.windowed(frame, "1h").iloc[0]
    assert row["n"] == 7 and row["requests"] == 2
    assert row["per_minute"] == pytest.approx(7 / 60)
    assert row["p50_ms"] == pytest.approx(21.0)  # the two requests, not four rows
    assert drift.latency_percentiles(frame["latency_ms"])["n"] == 2
