"""The benchmark's paired targets (bench.run.round_order, bench.targets): the two sides of P8,
P1w and P9 run back to back, alternating which goes first, and the target is the median of
the ratios of the rounds in which both ran."""

from __future__ import annotations

from bench.results import ProjectResult, Series
from bench.run import round_order
from bench.scenarios import ALL, PAIRS
from bench.targets import project_targets, round_ratios


def _keys(round_: int, keys: set[str] | None = None) -> list[str]:
    chosen = [s for s in ALL if keys is None or s.key in keys]
    return [s.key for s in round_order(chosen, round_)]


def test_each_pair_runs_back_to_back_npm_first_in_odd_rounds() -> None:
    for round_ in (1, 2, 3):
        order = _keys(round_)
        assert sorted(order) == sorted(s.key for s in ALL)  # every scenario, once
        for npm_side, ipnpm_side in PAIRS:
            at = order.index(npm_side)
            if round_ % 2:
                assert order[at + 1] == ipnpm_side
            else:
                assert order[at - 1] == ipnpm_side


def test_a_side_whose_partner_is_not_run_keeps_its_place() -> None:
    assert _keys(1, {"ipnpm-store", "npm-far", "npm-remote"}) == [
        "npm-far",
        "npm-remote",
        "ipnpm-store",
    ]


def _project(**seconds: list[tuple[int, float]]) -> ProjectResult:
    project = ProjectResult("p", 1, 3)
    for key, runs in seconds.items():
        series = Series(key, key)
        series.rounds = [r for r, _ in runs]
        series.seconds = [t for _, t in runs]
        project.series[key] = series
    return project


def test_a_paired_target_is_the_median_of_the_rounds_where_both_ran() -> None:
    # Round 2's npm run failed: its ipnpm run is left out, not paired with round 3's.
    project = _project(
        **{
            "npm-offline": [(1, 1.0), (3, 4.0), (4, 2.0)],
            "ipnpm-store": [(1, 1.2), (2, 9.0), (3, 4.4), (4, 2.6)],
        }
    )
    assert [round(r, 3) for r in round_ratios(project, "ipnpm-store", "npm-offline")] == [
        1.2,
        1.1,
        1.3,
    ]
    p1w = next(t for t in project_targets(project) if t.id == "P1w")
    assert p1w.value is not None and round(p1w.value, 3) == 1.2
    assert p1w.passed is False


def test_scenarios_that_are_not_a_pair_keep_the_ratio_of_their_medians() -> None:
    project = _project(
        **{
            "npm-offline": [(1, 1.0), (2, 3.0), (3, 2.0)],
            "ipnpm-lan": [(1, 3.0), (2, 2.0), (3, 2.2)],
        }
    )
    assert round_ratios(project, "ipnpm-lan", "npm-offline") == []
    p1 = next(t for t in project_targets(project) if t.id == "P1")
    assert p1.value is not None and round(p1.value, 3) == 1.1  # 2.2 / 2.0
