"""Kaplan–Meier, log-rank and RMST: by hand and against R's survival package.

Reference values come from ``Rscript tests/reference/retention.R`` (committed in
tests/reference/results/); every dataset folder under tests/reference/data/ is tested.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alis_research.analysis import retention
from alis_research.errors import AlisError, AlisWarning

REFERENCE = Path(__file__).parent / "reference"
DATASETS = sorted(p.name for p in (REFERENCE / "data").iterdir() if (p / "episodes.csv").exists())
EST, SE = 1e-6, 1e-4  # relative tolerances: estimates, standard errors and intervals


def _episodes(name):
    return pd.read_csv(REFERENCE / "data" / name / "episodes.csv", dtype={"municipality_code": str})


def _reference(name, what):
    return pd.read_csv(REFERENCE / "results" / f"retention_{name}_{what}.csv", keep_default_na=False,
                       na_values=[""])


def _quiet(function, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AlisWarning)
        return function(*args, **kwargs)


def _frame(durations, exits, cohort="fastlønn"):
    n = len(durations)
    return pd.DataFrame({"episode_id": [f"E{i:03d}" for i in range(1, n + 1)], "duration": durations,
                         "exit": exits, "cohort": cohort})


# ------------------------------------------------------------------ by hand


def test_kaplan_meier_five_people_by_hand():
    # Five people: exits at 1 and 3, censored at 2, 4, 5 years.
    # S(1) = 4/5 = 0.8; at 3 the people with 3, 4, 5 are at risk (n = 3), 1 exit:
    # S(3) = 0.8 * 2/3 = 0.533333. Greenwood sum at 1: 1/(5*4) = 0.05; at 3: 0.05 + 1/(3*2) = 0.216667.
    # SE(S(3)) = 0.533333 * sqrt(0.216667) = 0.248253.
    # log-log at 1: log(-log 0.8) = -1.499940, sd = sqrt(0.05)/|log 0.8| = 1.002077,
    #   lower = exp(-exp(-1.499940 + 1.959964*1.002077)) = exp(-exp(0.464096)) = 0.203809
    #   upper = exp(-exp(-1.499940 - 1.964035)) = exp(-exp(-3.463975)) = 0.969180
    # S never falls to 0.5: the median is not reached.
    result = _quiet(retention.kaplan_meier, _frame([1, 2, 3, 4, 5], [1, 0, 1, 0, 0]), timepoints=(1, 3, 5, 6))
    table = result.survival.set_index("time")
    assert table.loc[1, "survival"] == pytest.approx(0.8)
    assert table.loc[3, "survival"] == pytest.approx(0.8 * 2 / 3)
    assert table.loc[3, "std_err"] == pytest.approx(0.248253, abs=1e-6)
    assert table.loc[1, "ci_lower"] == pytest.approx(0.203809, abs=1e-6)
    assert table.loc[1, "ci_upper"] == pytest.approx(0.969180, abs=1e-6)
    assert table.loc[5, "survival"] == pytest.approx(0.8 * 2 / 3)  # last follow-up is exactly 5: estimable
    assert np.isnan(table.loc[6, "survival"])  # nobody followed 6 years
    assert list(table["at_risk"]) == [5, 3, 1, 0]
    assert list(table["events"]) == [1, 1, 0, 0]
    assert list(table["cumulative_events"]) == [1, 2, 2, 2]
    assert np.isnan(result.median.loc[0, "median"])
    assert any("median retention not reached" in n for n in result.notes)
    assert any("6 years not estimable" in n for n in result.notes)
    assert any("only 2 event(s)" in n for n in result.notes)


def test_median_on_flat_half_is_midpoint_as_in_r():
    # 4 people: exits at 1, 2 (S = 0.5 from 2), censored at 3, exit at 4 (S = 0).
    # R: median = (2 + 4) / 2 = 3 (the curve sits exactly on 0.5 from 2 until 4).
    result = _quiet(retention.kaplan_meier, _frame([1, 2, 3, 4], [1, 1, 0, 1]))
    assert result.median.loc[0, "median"] == pytest.approx(3.0)


def test_group_without_events_says_so():
    frame = pd.concat([_frame([1, 2, 3], [0, 0, 0], "fastlønn"), _frame([1, 2, 3], [1, 1, 0], "næring")])
    with pytest.warns(AlisWarning, match=r"salaried \(fastlønn\): no events"):
        result = retention.kaplan_meier(frame, timepoints=(1, 2))
    fast = result.survival[result.survival["group"] == "fastlønn"]
    assert (fast["survival"] == 1).all()
    assert fast["ci_lower"].isna().all() and fast["ci_upper"].isna().all()
    assert np.isnan(result.median.set_index("group").loc["fastlønn", "median"])
    assert any("median retention not reached" in n for n in result.notes)


def test_everyone_left_gives_zero_not_nan_beyond_last_time():
    result = _quiet(retention.kaplan_meier, _frame([1, 2], [1, 1]), timepoints=(3,))
    assert result.survival.loc[0, "survival"] == 0.0


def test_bad_input_is_a_user_error_naming_the_episode():
    frame = _frame([1, -2, 3], [1, 0, 1])
    with pytest.raises(AlisError, match="episode E002 has -2"):
        retention.kaplan_meier(frame)
    with pytest.raises(AlisError, match="lacks column"):
        retention.kaplan_meier(frame.drop(columns="exit"))
    with pytest.raises(AlisError, match="'exit' must be 0"):
        retention.kaplan_meier(_frame([1, 2], [1, 2]))
    with pytest.raises(AlisError, match="tau must be a positive"):
        retention.rmst(_frame([1, 2], [1, 0]), tau=0)


def test_rmst_by_hand():
    # Exits at 1 and 3 among 4 people (censored at 2, 4). S: 1 on [0,1), 0.75 on [1,3), 0.375 on [3,4].
    # RMST(4) = 1 + 0.75*2 + 0.375*1 = 2.875.
    # Greenwood terms: t=1: 1/(4*3) = 1/12; t=3: 1/(2*1) = 1/2.
    # Area beyond 1 = 1.875, beyond 3 = 0.375; var = 1.875²/12 + 0.375²/2 = 0.29297 + 0.07031 = 0.36328
    mean, se = retention.restricted_mean([1, 2, 3, 4], [1, 0, 1, 0], 4.0)
    assert mean == pytest.approx(2.875)
    assert se == pytest.approx(np.sqrt(1.875**2 / 12 + 0.375**2 / 2))


def test_lifelines_curve_agrees_with_ours():
    episodes = _episodes("handmade")
    result = _quiet(retention.kaplan_meier, episodes)
    for label, fitter in result.fitters.items():
        ours = result.curves[result.curves["group"] == label].set_index("time")
        theirs = fitter.survival_function_.iloc[:, 0]
        assert np.allclose(theirs.reindex(ours.index).to_numpy(), ours["survival"].to_numpy())


# ------------------------------------------------------------------ against R


@pytest.mark.parametrize("name", DATASETS)
def test_kaplan_meier_full_curve_matches_r(name):
    ref = _reference(name, "curve")
    result = _quiet(retention.kaplan_meier, _episodes(name))
    ours = result.curves[result.curves["time"] > 0].reset_index(drop=True)
    assert list(ours["group"]) == list(ref["group"])
    np.testing.assert_allclose(ours["time"], ref["time"], rtol=EST)
    np.testing.assert_array_equal(ours["at_risk"], ref["at_risk"])
    np.testing.assert_array_equal(ours["events"], ref["events"])
    np.testing.assert_allclose(ours["survival"], ref["survival"], rtol=EST)
    # R's survfit std.err is the SE of the cumulative hazard (sqrt of the Greenwood sum)
    np.testing.assert_allclose(ours["std_err"] / ours["survival"], ref["std_err"], rtol=SE)
    np.testing.assert_allclose(ours["ci_lower"], ref["ci_lower"], rtol=SE, equal_nan=True)
    np.testing.assert_allclose(ours["ci_upper"], ref["ci_upper"], rtol=SE, equal_nan=True)


@pytest.mark.parametrize("name", DATASETS)
@pytest.mark.parametrize("strata", ["", "area"])
def test_kaplan_meier_timepoints_match_r(name, strata):
    ref = _reference(name, "km")
    ref = ref[ref["strata"].fillna("") == strata].reset_index(drop=True)
    result = _quiet(retention.kaplan_meier, _episodes(name), strata=strata or None)
    ours = result.survival.reset_index(drop=True)
    assert len(ours) == len(ref)
    np.testing.assert_array_equal(ours["at_risk"], ref["at_risk"])
    np.testing.assert_array_equal(ours["events"], ref["events"])
    # Where R extends the curve beyond the last follow-up (n.risk = 0, survival > 0) we report NaN.
    beyond = (ref["at_risk"] == 0) & (ref["survival"] > 0)
    assert ours.loc[beyond, "survival"].isna().all()
    keep = ~beyond
    np.testing.assert_allclose(ours.loc[keep, "survival"], ref.loc[keep, "survival"], rtol=EST)
    np.testing.assert_allclose(ours.loc[keep, "std_err"], ref.loc[keep, "std_err"], rtol=SE, atol=1e-12)
    # R gives [1, 1] before the first recorded time and NA at S = 1 after it; we give NaN
    # whenever S = 1 (no exits yet: no interval), so compare only S < 1.
    informative = keep & (ref["survival"] < 1)
    for column in ("ci_lower", "ci_upper"):
        np.testing.assert_allclose(ours.loc[informative, column], ref.loc[informative, column],
                                   rtol=SE, equal_nan=True)
    assert ours.loc[ours["survival"] == 1, "ci_lower"].isna().all()


@pytest.mark.parametrize("name", DATASETS)
def test_median_and_ci_match_r_quantile(name):
    ref = _reference(name, "median")
    ours = _quiet(retention.kaplan_meier, _episodes(name)).median
    assert list(ours["group"]) == list(ref["group"])
    for column in ("median", "ci_lower", "ci_upper"):
        np.testing.assert_allclose(ours[column], ref[column], rtol=SE, equal_nan=True)


@pytest.mark.parametrize("name", DATASETS)
@pytest.mark.parametrize("strata", ["", "area"])
def test_logrank_matches_survdiff(name, strata):
    ref = _reference(name, "logrank")
    ref = ref[ref["strata"].fillna("") == strata].iloc[0]
    ours = _quiet(retention.logrank, _episodes(name), strata=strata or None)
    assert ours.statistic == pytest.approx(ref["statistic"], rel=EST)
    assert ours.df == ref["df"]
    assert ours.p_value == pytest.approx(ref["p_value"], rel=EST)


@pytest.mark.parametrize("name", DATASETS)
def test_rmst_and_se_match_print_survfit(name):
    ref = _reference(name, "rmst")
    episodes = _episodes(name)
    for tau, part in ref.groupby("tau"):
        table = _quiet(retention.rmst, episodes, tau=float(tau)).rmst.set_index("group")
        for _, row in part.iterrows():
            assert table.loc[row["group"], "rmst"] == pytest.approx(row["rmst"], rel=EST)
            assert table.loc[row["group"], "se"] == pytest.approx(row["se"], rel=SE)
        fast, naering = part.set_index("group").loc["fastlønn"], part.set_index("group").loc["næring"]
        diff = table.loc["difference"]
        assert diff["rmst"] == pytest.approx(naering["rmst"] - fast["rmst"], rel=EST)
        assert diff["se"] == pytest.approx(np.hypot(naering["se"], fast["se"]), rel=SE)
        assert diff["ci_lower"] == pytest.approx(diff["rmst"] - 1.959963984540054 * diff["se"])


def test_rmst_beyond_follow_up_is_noted():
    # handmade: næring's longest follow-up is 4.93 years
    with pytest.warns(AlisWarning, match=r"self-employed \(næring\): tau = 5 years is beyond the longest follow-up"):
        retention.rmst(_episodes("handmade"), tau=5.0)


def test_logrank_without_any_exit_is_not_estimable():
    # R's survdiff prints chisq 0 on -1 df here; there is no test to report.
    frame = pd.concat([_frame([1, 2, 3], [0, 0, 0], "fastlønn"), _frame([2, 4], [0, 0], "næring")])
    with pytest.warns(AlisWarning, match="log-rank test not estimable: no exits in any group"):
        result = retention.logrank(frame)
    assert np.isnan(result.statistic) and result.df == 0 and np.isnan(result.p_value)
    assert np.isnan(result.test.loc[0, "statistic"]) and result.test.loc[0, "df"] == 0


def test_logrank_with_one_group_is_not_estimable_but_has_a_test_row():
    with pytest.warns(AlisWarning, match=r"only one contract type at start \(salaried \(fastlønn\)\)"):
        result = retention.logrank(_frame([1, 2, 3], [1, 0, 1]))
    assert result.df == 0 and np.isnan(result.test.loc[0, "p_value"])


def test_logrank_when_exits_happen_only_after_the_other_group_left():
    # næring is censored at 0.5 and 0.8, before the first exit (1.0): only fastlønn is ever at
    # risk at an exit time, so every expected count falls on fastlønn. survdiff: chisq 0 on 0 df.
    frame = pd.concat([_frame([1, 2, 3], [1, 1, 0], "fastlønn"), _frame([0.5, 0.8], [0, 0], "næring")])
    with pytest.warns(AlisWarning, match="no exit while more than one contract type at start was at risk"):
        result = retention.logrank(frame)
    assert np.isnan(result.statistic)
    assert list(result.groups["observed"]) == [2, 0]


def test_kaplan_meier_everyone_left_raises_no_numpy_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        warnings.simplefilter("ignore", AlisWarning)
        table = retention.kaplan_meier(_frame([1, 2], [1, 1])).curves
    assert table["survival"].iloc[-1] == 0.0


def test_episodes_without_a_stratum_are_left_out_with_a_note():
    # E003 is in a municipality outside the north (no area): only E001, E002 and E004 are stratified.
    frame = _frame([1, 2, 3, 4], [1, 0, 1, 1]).assign(cohort=["fastlønn", "næring", "næring", "fastlønn"],
                                                      area=["UNN", "UNN", None, "UNN"])
    with pytest.warns(AlisWarning, match="1 episode\\(s\\) without a value of health-trust area left out"):
        km = retention.kaplan_meier(frame, strata="area")
    # the ids are data of the note (for the researcher), never in its published text
    left_out = next(n for n in km.notes if n.code == "strata_missing")
    assert left_out.values["ids"] == ("E003",) and "E003" not in left_out.text("nb")
    assert set(km.survival["stratum"]) == {"UNN"}
    assert km.median["n"].sum() == 3
    with pytest.warns(AlisWarning, match="left out"):
        stratified = retention.logrank(frame, strata="area")
    # with one stratum the stratified test is the plain test on the three episodes
    plain = _quiet(retention.logrank, frame.drop(index=2))
    assert stratified.statistic == pytest.approx(plain.statistic, rel=1e-12)
