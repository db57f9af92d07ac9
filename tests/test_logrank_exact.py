"""Exact and Monte-Carlo permutation log-rank (alis_research.stats.logrank_exact) against coin
(tests/reference/logrank_exact.R)."""
from __future__ import annotations

from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alis_research.stats import logrank_exact as le

REFERENCE = Path(__file__).parent / "reference"
FILES = {"monotone": ("small_cohorts/monotone/episodes.csv", None), "demo": ("data/demo/episodes.csv", None),
         "handmade": ("data/handmade/episodes.csv", None), "handmade_cox": ("data/handmade_cox/episodes.csv", None),
         **{f"demo_{a.lower()}": ("data/demo/episodes.csv", a) for a in ("Finnmark", "UNN", "Nordland", "Helgeland")}}
EXPECTED = pd.read_csv(REFERENCE / "results" / "logrank_exact.csv").set_index("case")


def _episodes(name):
    path, area = FILES[name]
    data = pd.read_csv(REFERENCE / path)
    return data if area is None else data[data["area"] == area]


@pytest.mark.parametrize("name", sorted(FILES))
def test_statistic_matches_coin(name):
    d = _episodes(name)
    scores = le.logrank_scores(d["duration"], d["exit"])
    result = le.monte_carlo_logrank(d["duration"], d["exit"], d["cohort"] == "næring", resamples=10)
    row = EXPECTED.loc[name]
    # coin's linear statistic is the sum of its scores (-a_i) over fastlønn, i.e. O - E of næring
    assert result.observed_minus_expected == pytest.approx(row["linear_statistic"], rel=1e-9, abs=1e-12)
    assert -scores[(d["cohort"] == "fastlønn").to_numpy()].sum() == pytest.approx(row["linear_statistic"], abs=1e-12)
    assert result.variance == pytest.approx(row["variance"], rel=1e-9)
    assert result.statistic == pytest.approx(row["statistic"], rel=1e-9)


@pytest.mark.parametrize("name", sorted(n for n in FILES if n != "demo"))
def test_exact_p_matches_coin(name):
    d = _episodes(name)
    result = le.exact_logrank(d["duration"], d["exit"], d["cohort"] == "næring")
    assert result.method == "exact"
    assert result.p_value == pytest.approx(EXPECTED.loc[name, "p_exact"], rel=1e-6, abs=1e-12)


@pytest.mark.parametrize("name", ["demo", "handmade_cox", "demo_nordland"])
def test_monte_carlo_p_within_its_error_of_coin(name):
    d = _episodes(name)
    ours = le.monte_carlo_logrank(d["duration"], d["exit"], d["cohort"] == "næring", resamples=20_000)
    row = EXPECTED.loc[name]
    combined = np.hypot(ours.mc_std_error, row["mc_std_error"])
    assert abs(ours.p_value - row["p_monte_carlo"]) < 4 * combined
    assert ours.mc_std_error == pytest.approx(np.sqrt(ours.p_value * (1 - ours.p_value) / 20_000))
    if not np.isnan(row["p_exact"]):
        assert abs(ours.p_value - row["p_exact"]) < 4 * ours.mc_std_error


def test_exact_on_the_whole_demo_agrees_with_coins_monte_carlo():
    # coin cannot enumerate the 54 demo episodes; the exact p must lie within coin's Monte-Carlo error
    d = _episodes("demo")
    assert le.enumeration_size(le.logrank_scores(d["duration"], d["exit"])) > le.EXACT_MAX_HALF
    result = le.exact_logrank(d["duration"], d["exit"], d["cohort"] == "næring", max_half=2**21)
    row = EXPECTED.loc["demo"]
    assert abs(result.p_value - row["p_monte_carlo"]) < 4 * row["mc_std_error"]


def test_exact_equals_brute_force_enumeration():
    d = _episodes("demo_finnmark")
    time, event = d["duration"].to_numpy(), d["exit"].to_numpy()
    group = (d["cohort"] == "næring").to_numpy()
    scores = le.logrank_scores(time, event)
    observed = abs(scores[group].sum())
    n, m = len(time), int(group.sum())
    sums = np.array([scores[list(c)].sum() for c in combinations(range(n), m)])
    brute = np.mean(np.abs(sums) >= observed - 1e-9)
    assert le.exact_logrank(time, event, group).p_value == pytest.approx(brute, rel=1e-12)


def test_scores_by_hand():
    # times 1, 2 (censored), 2, 3: at risk 4, 3, 1; exits 1, 1, 1 -> NA 1/4, 1/4 + 1/3, ... + 1
    scores = le.logrank_scores([1, 2, 2, 3], [1, 0, 1, 1])
    np.testing.assert_allclose(scores, [1 - 0.25, -(0.25 + 1 / 3), 1 - (0.25 + 1 / 3), 1 - (0.25 + 1 / 3 + 1)])
    assert scores.sum() == pytest.approx(0.0, abs=1e-12)


def test_large_cohorts_fall_back_to_monte_carlo():
    rng = np.random.default_rng(1)
    time = rng.exponential(size=120)
    event = (rng.random(120) < 0.7).astype(int)
    group = np.arange(120) < 60
    result = le.logrank_permutation_test(time, event, group, resamples=2000, seed=3)
    assert result.method == "monte_carlo" and result.resamples == 2000 and result.mc_std_error > 0
    again = le.logrank_permutation_test(time, event, group, resamples=2000, seed=3)
    assert again.p_value == result.p_value  # seeded: reproducible


def test_degenerate_inputs_are_refused():
    with pytest.raises(ValueError, match="both groups"):
        le.exact_logrank([1, 2], [1, 1], [True, True])
    with pytest.raises(ValueError, match="no exits"):
        le.exact_logrank([1, 2], [0, 0], [True, False])
