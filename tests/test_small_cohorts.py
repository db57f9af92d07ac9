"""The small-cohort analyses (alis_research.analysis.small_cohorts) on the demo and hand-made data,
held to the R references of the estimators (tests/reference/firth.R, logrank_exact.R, finegray.R)."""
from __future__ import annotations

import json
import warnings
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from alis_research.analysis import small_cohorts
from alis_research.errors import AlisError, NotEstimableWarning

REFERENCE = Path(__file__).parent / "reference"
RESULTS = REFERENCE / "results"


def _prepared(folder):
    return SimpleNamespace(episodes=pd.read_csv(REFERENCE / folder / "episodes.csv"),
                           intervals=pd.read_csv(REFERENCE / folder / "intervals.csv"))


@pytest.fixture(scope="module")
def demo():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return small_cohorts.small_cohort_analyses(_prepared("data/demo"))


def test_scopes_are_the_dataset_and_each_area(demo):
    assert list(demo.firth["scope"]) == ["all", "Finnmark", "UNN", "Nordland", "Helgeland"]
    assert list(demo.exact_logrank["scope"]) == list(demo.firth["scope"])
    assert list(demo.gray["cause"].unique()) == ["gp_in_region", "left_region"]


def test_firth_rows_equal_r(demo):
    nordland = demo.firth.set_index("scope").loc["Nordland"]
    expected = pd.read_csv(RESULTS / "firth_demo_nordland.csv").iloc[0]
    assert bool(nordland["ordinary_monotone"])  # no exit while on næring in Nordland
    assert nordland["coef"] == pytest.approx(expected["coef"], abs=1e-6)
    assert nordland["se"] == pytest.approx(expected["se"], rel=1e-4)
    assert nordland["ci_lower"] == pytest.approx(np.exp(expected["ci_lower"]), rel=1e-4)
    assert nordland["ci_upper"] == pytest.approx(np.exp(expected["ci_upper"]), rel=1e-4)
    assert nordland["p_value"] == pytest.approx(expected["p_value"], rel=1e-4)
    assert not demo.firth.set_index("scope").loc["all", "ordinary_monotone"]
    assert any("Nordland: the ordinary Cox likelihood is monotone" in n for n in demo.notes)


def test_permutation_logrank_rows_equal_coin(demo):
    coin = pd.read_csv(RESULTS / "logrank_exact.csv").set_index("case")
    rows = demo.exact_logrank.set_index("scope")
    for area in ("Finnmark", "UNN", "Nordland", "Helgeland"):
        assert rows.loc[area, "method"] == "exact"
        assert rows.loc[area, "p_value"] == pytest.approx(coin.loc[f"demo_{area.lower()}", "p_exact"], rel=1e-6)
        assert rows.loc[area, "statistic"] == pytest.approx(coin.loc[f"demo_{area.lower()}", "statistic"], rel=1e-9)
    whole = rows.loc["all"]  # 54 episodes: above the exact limit, Monte Carlo with its error
    assert whole["method"] == "monte_carlo" and whole["resamples"] == 20_000
    assert abs(whole["p_value"] - coin.loc["demo", "p_monte_carlo"]) < 4 * np.hypot(
        whole["mc_std_error"], coin.loc["demo", "mc_std_error"])
    assert bool(whole["primary"])  # fewer than PERMUTATION_PRIMARY_BELOW episodes


def test_competing_exit_rows_equal_cmprsk(demo):
    gray = pd.read_csv(RESULTS / "finegray_gray.csv")
    crr = pd.read_csv(RESULTS / "finegray_crr.csv")
    for code, cause in enumerate(small_cohorts.COMPETING_EXITS, start=1):
        ours = demo.gray[(demo.gray["scope"] == "all") & (demo.gray["cause"] == cause)].iloc[0]
        ref = gray[(gray["case"] == "demo") & (gray["strata"] == "none") & (gray["cause"] == code)].iloc[0]
        assert ours["statistic"] == pytest.approx(ref["statistic"], rel=1e-9)
        assert ours["p_value"] == pytest.approx(ref["p_value"], rel=1e-9)
        fg = demo.fine_gray[(demo.fine_gray["scope"] == "all") & (demo.fine_gray["cause"] == cause)].iloc[0]
        ref = crr[(crr["case"] == "demo") & (crr["cause"] == code) & (crr["model"] == "naering")].iloc[0]
        assert fg["coef"] == pytest.approx(ref["coef"], rel=1e-6)
        assert fg["se"] == pytest.approx(ref["se"], rel=1e-4)
        assert fg["shr"] == pytest.approx(np.exp(ref["coef"]), rel=1e-6)
        assert fg["ci_lower"] == pytest.approx(np.exp(ref["coef"] - 1.959963984540054 * ref["se"]), rel=1e-4)


def test_too_few_exits_are_not_estimable(demo):
    fg = demo.fine_gray.set_index(["scope", "cause"])
    # Finnmark has fewer than MIN_EXITS exits to another GP post in the region: no estimate, a note
    assert fg.loc[("Finnmark", "gp_in_region"), "exits"] < small_cohorts.MIN_EXITS
    assert np.isnan(fg.loc[("Finnmark", "gp_in_region"), "shr"])
    assert np.isnan(demo.gray.set_index(["scope", "cause"]).loc[("Finnmark", "gp_in_region"), "p_value"])
    assert any(n.startswith("Finnmark, another GP post in the region: Gray's test and Fine–Gray not estimable")
               for n in demo.notes)
    note = next(n for n in demo.notes if n.code == "competing_few_exits" and n.values["scope"] == "Finnmark")
    assert note.text("nb").startswith("Finnmark, annen fastlegestilling i regionen: Gray-testen og Fine–Gray-modellen")
    # UNN: enough such exits, but all in one cohort: Gray's test yes, the ratio no (monotone)
    assert np.isfinite(demo.gray.set_index(["scope", "cause"]).loc[("UNN", "gp_in_region"), "p_value"])
    assert np.isnan(fg.loc[("UNN", "gp_in_region"), "shr"])


def test_exit_cause_mapping():
    episodes = pd.DataFrame({"exit": [0, 1, 1, 1, 1, 1],
                             "end_reason": [pd.NA, "other_gp_same_region", "left_region", "hospital", "unknown",
                                            "retired"]})
    assert list(small_cohorts.exit_cause_codes(episodes)) == [0, 1, 2, 3, 3, 3]


def test_monotone_dataset_and_one_cohort():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = small_cohorts.small_cohort_analyses(_prepared("small_cohorts/monotone"))
    expected = pd.read_csv(RESULTS / "firth_monotone.csv").iloc[0]
    row = result.firth.iloc[0]
    assert list(result.firth["scope"]) == ["all"]  # one area: no area rows
    assert row["ordinary_monotone"] and row["coef"] == pytest.approx(expected["coef"], abs=1e-6)
    one = _prepared("small_cohorts/monotone")
    one.episodes = one.episodes[one.episodes["cohort"] == "fastlønn"]
    one.intervals = one.intervals[one.intervals["cohort"] == "fastlønn"]
    with pytest.warns(NotEstimableWarning):
        result = small_cohorts.small_cohort_analyses(one)
    assert result.firth["coef"].isna().all() and result.exact_logrank["p_value"].isna().all()
    assert any("only one contract type" in n for n in result.notes)


def test_missing_columns_are_a_user_error():
    broken = _prepared("small_cohorts/monotone")
    broken.episodes = broken.episodes.drop(columns=["end_reason"])
    with pytest.raises(AlisError, match="end_reason"):
        small_cohorts.small_cohort_analyses(broken)


def test_results_entries_are_json_and_hold_no_counts(demo):
    entries = small_cohorts.results_entries(demo)
    assert set(entries) == {"firth", "exact_logrank", "competing_exits"}
    json.dumps(entries, allow_nan=False)
    rows = entries["firth"] + entries["exact_logrank"] + entries["competing_exits"]["gray"] + \
        entries["competing_exits"]["fine_gray"]
    assert not any({"exits", "episodes", "n"} & set(row) for row in rows)
    assert entries["competing_exits"]["gray"][0]["df"] == 1
    nordland = next(r for r in entries["firth"] if r["scope"] == "Nordland")
    assert nordland["ordinary_monotone"] is True and nordland["hr"] == pytest.approx(np.exp(nordland["coef"]))


def test_large_scopes_are_left_to_the_asymptotic_analyses(monkeypatch):
    monkeypatch.setattr(small_cohorts, "MAX_EPISODES", 10)
    with pytest.warns(NotEstimableWarning, match="more than 10 episodes"):
        result = small_cohorts.small_cohort_analyses(_prepared("small_cohorts/monotone"))
    assert result.firth["coef"].isna().all() and result.exact_logrank["p_value"].isna().all()
    assert result.fine_gray["shr"].isna().all() and len(result.gray) == 2
    assert result.notes == ["all: more than 10 episodes: the small-cohort methods are not run "
                            "(the asymptotic analyses apply)"]


def test_analyse_prints_the_small_cohort_lines(capsys):
    from alis_research import config
    from alis_research.cli import main

    assert main(["analyse", str(config.DATA_RAW / config.DEMO_DATASET), "--as-of", config.DEMO_AS_OF]) == 0
    out = capsys.readouterr().out
    assert "Small cohorts (per dataset and area" in out
    assert "Nordland   permutation log-rank p = 0.076 (exact)" in out
    assert "Nordland   Firth HR næring vs fastlønn: 0.38 (0.00–3.42), p = 0.459  (ordinary Cox: monotone)" in out
    assert "Fine–Gray SHR næring vs fastlønn, gp_in_region: 5.48 (0.64–47.18), p = 0.122" in out
