"""Simulated pairwise judging: the truth is known, so recovery can be checked."""

from __future__ import annotations

import pytest

from labeler.core import position_bias
from labeler.core import preference_simulation as sim


def test_many_votes_recover_the_true_order_of_eight_systems():
    strengths = sim.systems(8)
    people = [sim.Annotator(f"p{i}", 0.85) for i in range(5)]
    items, votes = sim.simulate(strengths, people, 3000, 3, seed=2)
    assert len(votes) == 9000 and set(votes["shown"]) == {"AB", "BA"}
    for method in ("majority", "dawid_skene"):
        assert sim.kendall_tau(strengths, sim.recovered_ranking(items, votes, method)) > 0.85
    few_items, few_votes = sim.simulate(strengths, people, 40, 1, seed=2)
    few = sim.kendall_tau(strengths, sim.recovered_ranking(few_items, few_votes, "majority"))
    assert few < 0.95  # forty single votes cannot pin eight systems down


def test_a_side_habit_is_estimated_and_taken_out_of_the_preference_share():
    strengths = sim.systems(4)
    people = [sim.Annotator("fair", 0.9), sim.Annotator("lefty", 0.9, bias=0.5)]
    items, votes = sim.simulate(strengths, people, 6000, 2, seed=5, stronger_as_a=True)
    report = position_bias.report(votes).set_index("annotator")
    lefty = report.loc["lefty"]
    judged = sim.judged_a_share(items, votes, people[1])
    assert lefty["bias"] == pytest.approx(0.5, abs=0.04)
    assert abs(lefty["a_share"] - judged) > 0.1  # the habit pulls A's share towards 0.5
    assert lefty["a_share_corrected"] == pytest.approx(judged, abs=0.03)
    assert report.loc["fair", "bias"] == pytest.approx(0.0, abs=0.04)


def test_the_cli_prints_tau_and_the_bias_table(app):
    result = app.test_cli_runner().invoke(
        args=["simulate", "pairwise", "--items", "300", "--systems", "4", "--bias", "0,0.6"]
    )
    assert result.exit_code == 0, result.output
    assert "Kendall's tau, majority consensus" in result.output
    assert "Kendall's tau, dawid_skene consensus" in result.output
    lines = [line for line in result.output.splitlines() if line.startswith("annotator-2")]
    assert len(lines) == 1 and " 0.60 " in lines[0]
