"""Tests of alis_research.analysis.duration: hand-worked cases, edge cases, and R's survival package.

R references: tests/reference/duration.R writes tests/reference/results/duration_<name>_*.csv
for every prepared dataset in tests/reference/data/<name>/ (regenerate with
``Rscript tests/reference/duration.R``).
"""
from __future__ import annotations

import math
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from alis_research.analysis import duration  # noqa: E402
from alis_research.errors import AlisError, AlisWarning, NotEstimableWarning  # noqa: E402
from alis_research.messages.note import Note  # noqa: E402

REFERENCE = Path(__file__).resolve().parent / "reference"
RESULTS = REFERENCE / "results"
DATASETS = sorted(
    p.name for p in (REFERENCE / "data").iterdir()
    if (p / "intervals.csv").exists() and (RESULTS / f"duration_{p.name}_cox.csv").exists()
)
EST, SE = 1e-6, 1e-4  # relative tolerances: estimates, standard errors / intervals


def _load(name: str, table: str) -> pd.DataFrame:
    return pd.read_csv(REFERENCE / "data" / name / f"{table}.csv", dtype={"municipality_code": str}, keep_default_na=False,
                       na_values=[""])


def _quiet(func, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return func(*args, **kwargs)


def test_handmade_dataset_is_present():
    assert "handmade_cox" in DATASETS


# --------------------------------------------------------------------------- against R

def few_cluster_interval(coef, robust_se, clusters: int, alpha: float = 0.05) -> dict:
    """Stata's vce(cluster) small-sample rule on R's numbers: se·√(G/(G−1)), t on G−1 df."""
    from scipy import stats

    coef, se = np.asarray(coef, float), np.asarray(robust_se, float) * np.sqrt(clusters / (clusters - 1))
    t = stats.t(df=clusters - 1)
    critical = t.ppf(1 - alpha / 2)
    return {"ci_lower": np.exp(coef - critical * se), "ci_upper": np.exp(coef + critical * se),
            "p_value": 2 * t.sf(np.abs(coef / se))}


def test_few_cluster_correction_by_hand():
    # 25 clusters: t(24) 97.5 % quantile 2.063898561628021 (R: qt(0.975, 24)); se·√(25/24)
    row = few_cluster_interval([0.5], [0.2], 25)
    assert row["ci_upper"][0] == pytest.approx(math.exp(0.5 + 2.063898561628025 * 0.2 * math.sqrt(25 / 24)), rel=1e-12)
    assert row["p_value"][0] == pytest.approx(0.02198299704, rel=1e-8)  # R: 2 * pt(-0.5 / (0.2 * sqrt(25/24)), 24)



@pytest.mark.parametrize("name", DATASETS)
def test_cox_matches_r(name):
    reference = pd.read_csv(RESULTS / f"duration_{name}_cox.csv")
    intervals = _load(name, "intervals")
    for model, rows in reference.groupby("model", sort=False):
        covariates = [c for c in rows["covariates"].iloc[0].split(";") if c != "næring"]
        result = _quiet(duration.cox_model, intervals, covariates=covariates)
        got = result.coefficients.set_index("term").loc[rows["term"]]
        np.testing.assert_allclose(got["coef"], rows["coef"], rtol=EST, err_msg=f"{name}/{model}")
        np.testing.assert_allclose(got["hr"], rows["hr"], rtol=EST)
        for column in ("se", "robust_se"):
            np.testing.assert_allclose(got[column], rows[column], rtol=SE, err_msg=f"{name}/{model}/{column}")
        # Interval and p-value: R's coef and robust se with the few-cluster correction
        # (variance × G/(G−1), t on G−1 df), applied here by formula.
        expected = few_cluster_interval(rows["coef"], rows["robust_se"], rows["clusters"].iloc[0])
        for column in ("ci_lower", "ci_upper", "p_value"):
            np.testing.assert_allclose(got[column], expected[column], rtol=SE, err_msg=f"{name}/{model}/{column}")
        summary = result.summary.iloc[0]
        assert summary["loglik"] == pytest.approx(rows["loglik"].iloc[0], rel=EST)
        assert summary["loglik_null"] == pytest.approx(rows["loglik_null"].iloc[0], rel=EST)
        assert (summary["n"], summary["events"], summary["clusters"]) == tuple(rows[["n", "events", "clusters"]].iloc[0])


@pytest.mark.parametrize("name", DATASETS)
def test_cox_zph_matches_r(name):
    reference = pd.read_csv(RESULTS / f"duration_{name}_zph.csv")
    coefficients = pd.read_csv(RESULTS / f"duration_{name}_cox.csv")
    intervals = _load(name, "intervals")
    for model, rows in reference.groupby("model", sort=False):
        covariates = [c for c in coefficients.loc[coefficients["model"] == model, "covariates"].iloc[0].split(";") if c != "næring"]
        ph = _quiet(duration.proportional_hazards_test, _quiet(duration.cox_model, intervals, covariates=covariates))
        got = ph.table.set_index("term").loc[rows["term"]]
        np.testing.assert_allclose(got["chisq"], rows["chisq"], rtol=EST, err_msg=f"{name}/{model}")
        np.testing.assert_array_equal(got["df"], rows["df"])
        np.testing.assert_allclose(got["p_value"], rows["p_value"], rtol=SE)


@pytest.mark.parametrize("name", DATASETS)
def test_aalen_johansen_matches_r_survfit_multistate(name):
    reference = pd.read_csv(RESULTS / f"duration_{name}_aj.csv")
    result = _quiet(duration.cumulative_incidence, _load(name, "episodes"))
    curves = result.curves.assign(key=result.curves["time"].round(9))  # R writes 15 digits
    reference = reference.assign(key=reference["time"].round(9))
    merged = reference.merge(curves, left_on=["cohort", "destination", "key"],
                             right_on=["group", "destination", "key"], suffixes=("_r", ""))
    assert len(merged) == len(reference) == len(result.curves)
    np.testing.assert_allclose(merged["cumulative_incidence"], merged["cumulative_incidence_r"], rtol=EST, atol=1e-12)
    np.testing.assert_allclose(merged["n_risk"], merged["n_risk_r"])
    np.testing.assert_allclose(merged["std_err"], merged["std_err_r"], rtol=SE, atol=1e-12)
    has_ci = merged["ci_lower_r"].notna()
    np.testing.assert_allclose(merged.loc[has_ci, "ci_lower"], merged.loc[has_ci, "ci_lower_r"], rtol=SE)
    np.testing.assert_allclose(merged.loc[has_ci, "ci_upper"], merged.loc[has_ci, "ci_upper_r"], rtol=SE)


@pytest.mark.parametrize("name", DATASETS)
def test_parametric_matches_r_survreg(name):
    path = RESULTS / f"duration_{name}_parametric.csv"
    if not path.exists():
        pytest.skip("no parametric reference for this dataset")
    reference = pd.read_csv(path)
    result = _quiet(duration.parametric_duration, _load(name, "episodes"))
    merged = reference.merge(result.fits, left_on=["cohort", "distribution"], right_on=["group", "distribution"],
                             suffixes=("_r", ""))
    assert len(merged) == len(reference)
    np.testing.assert_allclose(merged["mu"], merged["intercept"], rtol=EST)
    np.testing.assert_allclose(merged["sigma"], merged["scale"], rtol=EST)
    np.testing.assert_allclose(merged["loglik"], merged["loglik_r"], rtol=EST)
    np.testing.assert_allclose(merged["median"], merged["median_r"], rtol=EST)
    np.testing.assert_allclose(merged["ci_lower"], merged["ci_lower_r"], rtol=SE)
    np.testing.assert_allclose(merged["ci_upper"], merged["ci_upper_r"], rtol=SE)


@pytest.mark.parametrize("name", DATASETS)
def test_size_class_medians_match_r_quantile(name):
    reference = pd.read_csv(RESULTS / f"duration_{name}_km_size.csv")
    result = _quiet(duration.median_by_size_class, _load(name, "episodes"))
    got = result.table.set_index("size_class").loc[reference["size_class"]]
    np.testing.assert_array_equal(got["n"], reference["n"])
    for column in ("median", "ci_lower", "ci_upper"):
        np.testing.assert_allclose(got[column], reference[column], rtol=EST, err_msg=column)  # NaN == NaN: not reached


# --------------------------------------------------------------------------- hand-worked Cox

def _tiny_intervals() -> pd.DataFrame:
    # A, B exit tied at 1; C exits at 2; D censored at 3; E enters late (1.5); F enters exactly at 1.
    return pd.DataFrame({
        "start": [0, 0, 0, 0, 1.5, 1.0],
        "stop": [1, 1, 2, 3, 3, 2.5],
        "exit": [1, 1, 1, 0, 0, 0],
        "contract_type": ["næring", "fastlønn", "næring", "fastlønn", "fastlønn", "næring"],
        "municipality_code": ["1804", "1804", "1805", "1806", "1807", "1808"],
    })


def test_null_loglik_by_hand_with_efron_ties_and_delayed_entry():
    # t=1: 4 at risk (E not yet, F enters *at* 1 so not at risk), 2 tied exits, Efron:
    #      log 4 + log(4 - 2/2) = log 4 + log 3.   t=2: C, D, E, F at risk: log 4.
    # null log partial likelihood = -log(4 * 3 * 4) = -log 48.
    result = _quiet(duration.cox_model, _tiny_intervals())
    assert result.summary.loc[0, "loglik_null"] == pytest.approx(-math.log(48), rel=1e-12)


def test_score_at_zero_by_hand():
    # Score at beta = 0 for næring: observed x of the exits minus Efron means.
    # t=1: risk x = {1,0,1,0} sum 2 of 4; deaths x = {1,0}: k=0 mean 2/4, k=1 mean (2 - 1/2)/(4 - 1) = 0.5
    # t=2: risk {C,D,E,F} x = {1,0,0,1}: mean 1/2.  U = (1+0+1) - (0.5 + 0.5 + 0.5) = 0.5
    from alis_research.stats import coxph

    frame = _tiny_intervals()
    x = (frame["contract_type"] == "næring").to_numpy(float)[:, None]
    index = coxph.RiskSetIndex.build(frame["start"].to_numpy(float), frame["stop"].to_numpy(float), frame["exit"].to_numpy())
    terms = coxph.efron_terms(index, x, frame["exit"].to_numpy(), np.zeros(1))
    assert terms.score[0] == pytest.approx(0.5)
    # information: sum of step variances: t=1 k=0: 1/4 - ... = 0.25; k=1: 0.5 - 0.25 = 0.25; t=2: 0.25
    assert terms.information[0, 0] == pytest.approx(0.75)


def test_splitting_intervals_changes_nothing():
    # Cutting every interval in two (exit kept on the second piece) leaves risk sets,
    # and so every estimate and both standard errors, unchanged.
    intervals = _load("handmade_cox", "intervals")
    middle = (intervals["start"] + intervals["stop"]) / 2
    first = intervals.assign(stop=middle, exit=0)
    second = intervals.assign(start=middle)
    split = pd.concat([first, second], ignore_index=True)
    whole = _quiet(duration.cox_model, intervals, covariates=["sex"]).coefficients
    cut = _quiet(duration.cox_model, split, covariates=["sex"]).coefficients
    pd.testing.assert_frame_equal(whole, cut, rtol=1e-9)


def test_cox_table_columns_and_references():
    result = _quiet(duration.cox_model, _load("handmade_cox", "intervals"), covariates=["sex", "size_class"])
    assert list(result.coefficients.columns) == ["term", "coef", "se", "robust_se", "hr", "ci_lower", "ci_upper", "p_value"]
    assert result.coefficients["term"].tolist()[:2] == ["næring", "sex=M"]
    assert "reference level for sex: women" in result.notes
    assert "reference level for municipality size: under 2,000" in result.notes
    assert Note("cox_reference", variable="sex", level="K") in result.notes
    assert "unstable" in " ".join(result.notes)  # 24 exits for 6 coefficients


def test_cox_accepts_prepared_dataset_and_does_not_mutate():
    intervals = _load("handmade_cox", "intervals")
    before = intervals.copy()

    class Prepared:  # stands in for cohort.PreparedDataset
        pass

    prepared = Prepared()
    prepared.intervals = intervals
    result = _quiet(duration.cox_model, prepared)
    pd.testing.assert_frame_equal(intervals, before)
    assert result.coefficients.loc[0, "coef"] == pytest.approx(0.592598873649075, rel=EST)  # R, unadjusted


# --------------------------------------------------------------------------- not estimable

def test_no_events_is_not_estimable():
    frame = _tiny_intervals().assign(exit=0)
    with pytest.warns(NotEstimableWarning, match="no exits"):
        result = duration.cox_model(frame)
    assert result.coefficients["coef"].isna().all()
    assert not result.estimable


def test_separation_all_exits_in_one_group_is_not_estimable():
    rng = np.random.default_rng(3)
    n = 20
    contract = np.array(["næring"] * 10 + ["fastlønn"] * 10)
    frame = pd.DataFrame({
        "start": 0.0, "stop": rng.uniform(0.5, 3, n).round(2),
        "exit": (contract == "næring").astype(int), "contract_type": contract,
        "municipality_code": [f"{1800 + i % 8}" for i in range(n)],
    })
    # make every næring exit happen while all fastlønn are still at risk
    frame.loc[frame["contract_type"] == "fastlønn", "stop"] = 5.0
    with pytest.warns(NotEstimableWarning, match="separation"):
        result = duration.cox_model(frame)
    assert result.coefficients["hr"].isna().all()
    assert "not estimable" in result.notes[-1]


def test_no_contract_variation_is_not_estimable():
    frame = _tiny_intervals().assign(contract_type="fastlønn")
    with pytest.warns(NotEstimableWarning, match=r"no variation in self-employed \(næring\)"):
        result = duration.cox_model(frame)
    assert result.coefficients["coef"].isna().all()


def test_few_clusters_note():
    frame = _load("handmade_cox", "intervals")
    frame = frame.assign(municipality_code=np.where(frame["area"] == "Nordland", "1804", "5501"))
    with pytest.warns(AlisWarning, match="only 2 cluster"):
        result = duration.cox_model(frame)
    assert result.estimable
    # with so few clusters the interval rests on the model-based SE (R, unadjusted: 0.45214094684065)
    row = result.coefficients.iloc[0]
    assert row["se"] == pytest.approx(0.45214094684065, rel=SE)
    assert np.isfinite(row["robust_se"])
    assert row["ci_upper"] == pytest.approx(np.exp(0.592598873649075 + 1.959963984540054 * 0.45214094684065), rel=SE)


def test_one_cluster_has_no_robust_standard_error():
    # One municipality: the dfbeta residuals sum to 0 at the maximum, so the sandwich is 0
    # (R prints a robust se of ~1e-16): not an estimate. The model-based SE carries the interval.
    frame = _load("handmade_cox", "intervals").assign(municipality_code="1804")
    with pytest.warns(AlisWarning, match="cluster-robust standard error not estimable"):
        result = duration.cox_model(frame)
    row = result.coefficients.iloc[0]
    assert np.isnan(row["robust_se"])
    assert row["coef"] == pytest.approx(0.592598873649075, rel=EST)  # R, unadjusted
    assert row["ci_lower"] == pytest.approx(np.exp(0.592598873649075 - 1.959963984540054 * 0.45214094684065), rel=SE)


def test_few_events_per_coefficient_is_flagged_unstable():
    with pytest.warns(AlisWarning, match="unstable: 24 exits for 4 coefficient"):
        duration.cox_model(_load("handmade_cox", "intervals"), covariates=["sex", "age_at_start", "centrality"])


def test_missing_column_is_a_user_error():
    with pytest.raises(AlisError, match="no column.*'age_at_start'"):
        duration.cox_model(_tiny_intervals(), covariates=["age_at_start"])


def test_bad_interval_is_a_user_error():
    frame = _tiny_intervals()
    frame.loc[2, "stop"] = 0.0
    with pytest.raises(AlisError, match="row 2: stop"):
        duration.cox_model(frame)


def test_unknown_category_is_a_user_error():
    frame = _tiny_intervals().assign(sex=["K", "M", "X", "K", "M", "K"])
    with pytest.raises(AlisError, match="'sex' holds value.*'X'"):
        duration.cox_model(frame, covariates=["sex"])


# --------------------------------------------------------------------------- PH test

def test_ph_test_note_when_hazard_ratio_changes_over_time():
    # næring: exits concentrated early; fastlønn: exits late -> strongly non-proportional.
    early = np.linspace(0.1, 1.0, 15)
    late = np.linspace(2.0, 4.0, 15)
    frame = pd.DataFrame({
        "start": 0.0,
        "stop": np.r_[early, 5.0 * np.ones(5), np.linspace(0.2, 1.0, 4), late, 5.0 * np.ones(1)],
        "exit": np.r_[np.ones(15), np.zeros(5), np.zeros(4), np.ones(15), np.zeros(1)].astype(int),
        "contract_type": ["næring"] * 20 + ["fastlønn"] * 20,
        "municipality_code": [str(1800 + i % 7) for i in range(40)],
    })
    cox = _quiet(duration.cox_model, frame)
    with pytest.warns(AlisWarning, match=r"hazard ratio for self-employed \(næring\) seems to change over time"):
        ph = duration.proportional_hazards_test(cox)
    assert ph.table.set_index("term").loc["næring", "p_value"] < 0.05
    assert ph.table["term"].tolist() == ["næring", "GLOBAL"]


def test_scaled_schoenfeld_residuals_match_r():
    # R: cox.zph(coxph(Surv(start, stop, exit) ~ næring + age_at_start, cluster = municipality_code))$y
    # rows at the exit time 0.5 and the four tied exits at 0.25 (any order within a tie)
    cox = _quiet(duration.cox_model, _load("handmade_cox", "intervals"), covariates=["age_at_start"])
    residuals = duration.proportional_hazards_test(cox).residuals
    tied = residuals[residuals["time"] == 0.25].sort_values("næring")
    np.testing.assert_allclose(tied["næring"], [-3.319280, 1.584635, 1.883409, 2.182183], rtol=1e-6)
    np.testing.assert_allclose(tied["age_at_start"], [0.28813144, 0.24544943, -0.02821849, -0.30188641], rtol=1e-6)
    at_half = residuals[residuals["time"] == 0.5].iloc[0]
    assert at_half["næring"] == pytest.approx(-3.153015, rel=1e-6)
    assert at_half["transformed_time"] == pytest.approx(0.1)


def test_ph_test_of_unestimable_model():
    cox = _quiet(duration.cox_model, _tiny_intervals().assign(exit=0))
    ph = _quiet(duration.proportional_hazards_test, cox)
    assert ph.table.empty and "not estimable" in ph.notes[0]


# --------------------------------------------------------------------------- Aalen–Johansen by hand

def test_aalen_johansen_by_hand_with_tied_destinations():
    # t=1: n=5, one stayed and one left (tied): F_stay = F_left = 1/5, S = 3/5.
    # t=2: n=3, one left: F_left = 1/5 + 3/5 * 1/3 = 2/5, S = 2/5.  t=3 censored.
    # t=4: n=1, stayed: F_stay = 1/5 + 2/5 = 3/5.
    episodes = pd.DataFrame({
        "cohort": "næring", "duration": [1, 1, 2, 3, 4], "exit": [1, 1, 1, 0, 1],
        "end_reason": ["other_gp_same_region", "left_region", "hospital", None, "other_gp_same_region"],
    })
    result = duration.cumulative_incidence(episodes, times=(1, 2, 4))
    table = result.estimates.set_index(["destination", "time"])["cumulative_incidence"]
    assert table[("stayed_gp_region", 1)] == pytest.approx(0.2)
    assert table[("left", 1)] == pytest.approx(0.2)
    assert table[("left", 2)] == pytest.approx(0.4)
    assert table[("stayed_gp_region", 4)] == pytest.approx(0.6)
    # deterministic: identical on a second run
    again = duration.cumulative_incidence(episodes, times=(1, 2, 4))
    pd.testing.assert_frame_equal(result.estimates, again.estimates)


def test_aalen_johansen_beyond_follow_up_is_nan_with_note():
    episodes = pd.DataFrame({"cohort": "fastlønn", "duration": [0.5, 1.5, 2.5], "exit": [1, 0, 1],
                             "end_reason": ["left_region", None, "other_gp_same_region"]})
    result = duration.cumulative_incidence(episodes)
    assert result.estimates.set_index(["destination", "time"]).loc[("left", 5), "cumulative_incidence"] != \
        result.estimates.set_index(["destination", "time"]).loc[("left", 5), "cumulative_incidence"]  # NaN
    assert any("no estimate at 5 years" in n for n in result.notes)


# --------------------------------------------------------------------------- parametric

def test_parametric_not_estimable_with_two_events():
    episodes = pd.DataFrame({"cohort": "næring", "duration": [0.5, 1.0, 2.0, 3.0], "exit": [1, 1, 0, 0]})
    with pytest.warns(NotEstimableWarning, match="2 exit"):
        result = duration.parametric_duration(episodes)
    assert np.isnan(result.medians.loc[0, "median"])


def test_parametric_warns_on_far_extrapolation():
    # 3 exits among 30 people followed at most 1 year: the median lies far beyond 2 years.
    episodes = pd.DataFrame({"cohort": "fastlønn", "duration": np.r_[[0.2, 0.5, 0.8], np.full(27, 1.0)],
                             "exit": np.r_[[1, 1, 1], np.zeros(27)].astype(int)})
    with pytest.warns(AlisWarning, match="far beyond the longest follow-up"):
        result = duration.parametric_duration(episodes)
    assert bool(result.medians.loc[0, "extrapolated"])
    assert result.medians.loc[0, "median"] > 2.0


def test_exponential_median_by_hand():
    # No censoring, Weibull with shape 1 is close; check log-normal: median = exp(mean log t)
    # (the MLE of mu with no censoring is the mean of log t).
    t = np.array([1.0, 2.0, 4.0, 8.0])
    episodes = pd.DataFrame({"cohort": "næring", "duration": t, "exit": 1})
    fits = duration.parametric_duration(episodes).fits.set_index("distribution")
    assert fits.loc["lognormal", "median"] == pytest.approx(np.exp(np.log(t).mean()), rel=1e-9)  # = 2.828...
    assert fits.loc["lognormal", "sigma"] == pytest.approx(np.log(t).std(), rel=1e-8)  # MLE uses 1/n


# --------------------------------------------------------------------------- size classes

def test_size_class_table_has_published_figures_and_not_reached():
    result = _quiet(duration.median_by_size_class, _load("handmade_cox", "episodes"))
    table = result.table.set_index("size_class")
    assert table.loc["<2000", "published_median"] == 2.75
    assert table.loc[">=50000", "published_median"] == 8.37
    assert table.loc["all", "published_median"] == 5.91
    assert not table.loc[">=50000", "reached"] and np.isnan(table.loc[">=50000", "median"])
    assert any("median not reached" in n for n in result.notes)


def test_km_median_by_hand():
    # 4 people, exits at 1, 2, 3, 4: S = .75, .5, .25, 0 -> flat at exactly 0.5 on [2, 3): median = 2.5
    episodes = pd.DataFrame({"size_class": "<2000", "duration": [1.0, 2.0, 3.0, 4.0], "exit": 1})
    table = duration.median_by_size_class(episodes).table.set_index("size_class")
    assert table.loc["<2000", "median"] == pytest.approx(2.5)


# --------------------------------------------------------------------------- plots

def test_plot_cumulative_incidence_draws_the_curves():
    result = _quiet(duration.cumulative_incidence, _load("handmade_cox", "episodes"))
    ax = duration.plot_cumulative_incidence(result, language="en")
    assert len(ax.lines) == 4  # 2 cohorts x 2 destinations
    line = ax.lines[0]
    curve = result.curves[(result.curves["group"] == "fastlønn") & (result.curves["destination"] == "stayed_gp_region")]
    assert line.get_ydata()[-1] == pytest.approx(curve["cumulative_incidence"].iloc[-1])
    assert ax.get_xlabel() == "Years since start"
    assert line.get_label() == "Salaried (fastlønn): GP in the region"
    assert line.get_color().lower() == "#0072b2"  # the fastlønn colour of every figure
    plt.close("all")


def test_plot_hazard_ratios_draws_estimates():
    result = _quiet(duration.cox_model, _load("handmade_cox", "intervals"), covariates=["sex"])
    ax = duration.plot_hazard_ratios(result)
    labels = {tick: label.get_text() for tick, label in zip(ax.get_yticks(), ax.get_yticklabels())}
    assert labels == {1: "Næring", 0: "sex=M"}  # first term on top, the contract type as labelled elsewhere
    points = np.asarray(ax.lines[0].get_xdata(), dtype=float)
    np.testing.assert_allclose(points, result.coefficients["hr"])
    np.testing.assert_allclose(np.asarray(ax.lines[0].get_ydata(), dtype=float), [1, 0])
    assert ax.get_xlabel() == "Hasardratio (95 % KI)"
    plt.close("all")
