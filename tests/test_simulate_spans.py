"""``labeler simulate spans``: annotators that miss, shift and mislabel, offline."""

from __future__ import annotations

import re
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data" / "sms-spam.csv"


def _f1(output: str, name: str) -> float:
    return float(re.search(rf"{name}: span F1 vs the others' vote ([0-9.]+)", output).group(1))


def test_simulated_span_annotators_rank_by_their_error_rates(app):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=[
            "simulate", "spans", "--data", str(DATA), "--max-items", "800",
            "--annotator", "0,0,0", "--annotator", "0.1,0.1,0.05",
            "--annotator", "0.4,0.4,0.3",
        ]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "labels PHONE, PRICE, TIME, URL" in result.output
    assert "Pairwise span F1 (strict)" in result.output
    assert "consensus dawid_skene: span F1 vs truth" in result.output
    assert _f1(result.output, "annotator1") > _f1(result.output, "annotator2")
    assert _f1(result.output, "annotator2") > _f1(result.output, "annotator3")
    bad = runner.invoke(args=["simulate", "spans", "--data", str(DATA), "--annotator", "x"])
    assert bad.exit_code == 2 and "--annotator" in bad.output
