"""Robustness analyses (issue 14 items 1, 2, 6) against R and hand computation.

R values: ``tests/reference/robustness.R`` on ``tests/reference/data_robustness/`` (inputs
from ``export_robustness.py``; see ``tests/reference/README.md``). Estimates to 1e-6,
standard errors to 1e-4.
"""
from __future__ import annotations

import math
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import numpy as np
import pandas as pd
import pytest

from alis_research.analysis import robustness as rb
from alis_research.errors import AlisError
from alis_research.stats import evalue as ev
from alis_research.stats import meta
from alis_research.stats import weighting as wt

REFERENCE = Path(__file__).resolve().parent / "reference"
RESULTS = REFERENCE / "results"
#: reference dataset -> propensity covariates used by export_robustness.py
IPW_DATASETS = {"demo": None, "handmade_cox": ("size_class", "sex", "age_at_start")}
ESTIMATE_TOL, SE_TOL = 1e-6, 1e-4


def _episodes(name: str) -> pd.DataFrame:
    return pd.read_csv(REFERENCE / "data" / name / "episodes.csv", dtype={"municipality_code": str})


@pytest.fixture(scope="module", params=list(IPW_DATASETS))
def analysed(request):
    name = request.param
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = rb.confounding_analysis(_episodes(name), covariates=IPW_DATASETS[name], tau=5.0)
    return name, result


def _r(name: str, table: str) -> pd.DataFrame:
    return pd.read_csv(RESULTS / f"robustness_{name}_{table}.csv")


# --------------------------------------------------------------------------- against R

def test_propensity_model_matches_r_glm(analysed):
    name, result = analysed
    r = _r(name, "propensity")
    assert result.propensity_fit.estimable and r["converged"].all()
    np.testing.assert_allclose(result.propensity["coef"], r["coef"], atol=ESTIMATE_TOL)
    np.testing.assert_allclose(result.propensity["se"], r["se"], atol=SE_TOL)


def test_weighted_and_crude_kaplan_meier_match_r_survfit(analysed):
    name, result = analysed
    r = _r(name, "km")
    for (weighting, cohort), expected in r.groupby(["weighting", "cohort"]):
        ours = result.curves[(result.curves["weighting"] == weighting) & (result.curves["cohort"] == cohort)]
        ours = ours[ours["n_event"] > 0].reset_index(drop=True)
        assert len(ours) == len(expected)
        np.testing.assert_allclose(ours["time"], expected["time"], atol=1e-12)
        for column in ("n_risk", "n_event", "survival"):
            np.testing.assert_allclose(ours[column], expected[column], atol=ESTIMATE_TOL, err_msg=column)
        np.testing.assert_allclose(ours["std_err"], expected["std_err"], atol=SE_TOL)
        np.testing.assert_allclose(ours["ci_lower"], expected["ci_lower"], atol=SE_TOL, equal_nan=True)
        np.testing.assert_allclose(ours["ci_upper"], expected["ci_upper"], atol=SE_TOL, equal_nan=True)
        if weighting == "ipw":  # survey::svykm on the weighted design gives the same curve
            np.testing.assert_allclose(ours["survival"], expected["svykm_survival"], atol=ESTIMATE_TOL)


@pytest.mark.parametrize("tau", [3.0, 5.0])
def test_weighted_rmst_and_difference_match_r(analysed, tau):
    name, _ = analysed
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = rb.confounding_analysis(_episodes(name), covariates=IPW_DATASETS[name], tau=tau)
    r = _r(name, "rmst")
    r = r[r["tau"] == tau]
    for _, expected in r.iterrows():
        ours = result.rmst[(result.rmst["weighting"] == expected["weighting"]) & (result.rmst["group"] == expected["group"])]
        assert ours["rmst"].iloc[0] == pytest.approx(expected["rmst"], abs=ESTIMATE_TOL)
        assert ours["se"].iloc[0] == pytest.approx(expected["se"], abs=SE_TOL)
        if not pd.isna(expected["rmean_print"]):  # R's own print(fit, rmean = tau)
            assert ours["rmst"].iloc[0] == pytest.approx(expected["rmean_print"], abs=ESTIMATE_TOL)


def test_weighted_cox_matches_r_coxph_robust_and_svycoxph(analysed):
    name, result = analysed
    r = _r(name, "cox").set_index("weighting")
    for weighting in ("crude", "ipw"):
        ours = result.cox.set_index("weighting").loc[weighting]
        expected = r.loc[weighting]
        assert ours["coef"] == pytest.approx(expected["coef"], abs=ESTIMATE_TOL)
        for column in ("se", "robust_se"):
            assert ours[column] == pytest.approx(expected[column], abs=SE_TOL)
        for column in ("hr", "ci_lower", "ci_upper", "p_value"):
            assert ours[column] == pytest.approx(expected[column], abs=SE_TOL)
    # the survey package's design-based fit gives the same coefficient
    assert result.cox.set_index("weighting").loc["ipw", "coef"] == pytest.approx(r.loc["ipw", "svy_coef"], abs=ESTIMATE_TOL)


def test_weighted_cox_loglik_matches_r():
    episodes = _episodes("handmade_cox")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = rb.confounding_analysis(episodes, covariates=IPW_DATASETS["handmade_cox"])
    weights = result.episode_weights.to_numpy()
    treatment = (episodes["cohort"] == "næring").to_numpy(float)
    fit = wt.weighted_cox(np.zeros(len(episodes)), episodes["duration"], episodes["exit"], treatment, weights)
    expected = _r("handmade_cox", "cox").set_index("weighting").loc["ipw"]
    assert fit.loglik == pytest.approx(expected["loglik"], abs=1e-8)


def test_pooled_programmes_match_r_per_programme_and_stratified():
    folder = REFERENCE / "data_robustness" / "pooled"
    episodes = pd.read_csv(folder / "episodes.csv", dtype={"municipality_code": str})
    intervals = pd.read_csv(folder / "intervals.csv", dtype={"municipality_code": str})
    data = type("Prepared", (), {"episodes": episodes, "intervals": intervals})()
    result = rb.pooled_programmes(data)
    r = pd.read_csv(RESULTS / "robustness_pooled_cox.csv").set_index("model")
    assert result.programmes == ["ALIS-Nord", "ALIS-Vest"]
    per = result.per_programme.set_index("programme")
    for programme in result.programmes:
        assert per.loc[programme, "coef"] == pytest.approx(r.loc[programme, "coef"], abs=ESTIMATE_TOL)
        g = r.loc[programme, "clusters"]
        assert per.loc[programme, "se_used"] == pytest.approx(r.loc[programme, "robust_se"] * math.sqrt(g / (g - 1)),
                                                              abs=SE_TOL)
    stratified = result.stratified.iloc[0]
    assert stratified["coef"] == pytest.approx(r.loc["stratified", "coef"], abs=ESTIMATE_TOL)
    assert stratified["se"] == pytest.approx(r.loc["stratified", "se"], abs=SE_TOL)
    assert stratified["robust_se"] == pytest.approx(r.loc["stratified", "robust_se"], abs=SE_TOL)
    # pooling = DerSimonian–Laird on the per-programme log hazard ratios (hand formulas)
    y, s = per["coef"].to_numpy(), per["se_used"].to_numpy()
    w = 1 / s**2
    fixed = (w * y).sum() / w.sum()
    q = (w * (y - fixed) ** 2).sum()
    tau2 = max(0.0, (q - 1) / (w.sum() - (w**2).sum() / w.sum()))
    random = (y / (s**2 + tau2)).sum() / (1 / (s**2 + tau2)).sum()
    pooled = result.pooled.set_index("model")
    assert pooled.loc["fixed", "coef"] == pytest.approx(fixed, abs=1e-12)
    assert pooled.loc["random", "coef"] == pytest.approx(random, abs=1e-12)
    assert result.heterogeneity["tau_squared"].iloc[0] == pytest.approx(tau2, abs=1e-12)


# --------------------------------------------------------------------------- hand computation

def test_dersimonian_laird_by_hand_and_statsmodels_agrees():
    # three studies worked by hand: y = (0.1, 0.5, -0.2), se = (0.2, 0.25, 0.3)
    y, se = np.array([0.1, 0.5, -0.2]), np.array([0.2, 0.25, 0.3])
    w = np.array([25.0, 16.0, 100 / 9])  # 1/se²
    fixed = (2.5 + 8.0 - 100 / 45) / (25 + 16 + 100 / 9)
    q = 25 * (0.1 - fixed) ** 2 + 16 * (0.5 - fixed) ** 2 + (100 / 9) * (-0.2 - fixed) ** 2
    c = w.sum() - (w**2).sum() / w.sum()
    tau2 = (q - 2) / c
    pooled = meta.dersimonian_laird(y, se)
    assert pooled.fixed == pytest.approx(fixed, abs=1e-12)
    assert pooled.q == pytest.approx(q, abs=1e-12)
    assert pooled.tau_squared == pytest.approx(tau2, abs=1e-12)
    assert pooled.i_squared == pytest.approx((q - 2) / q, abs=1e-12)
    ws = 1 / (se**2 + tau2)
    assert pooled.random == pytest.approx((ws * y).sum() / ws.sum(), abs=1e-12)
    assert pooled.random_se == pytest.approx(ws.sum() ** -0.5, abs=1e-12)
    from statsmodels.stats.meta_analysis import combine_effects

    sm = combine_effects(y, se**2, method_re="dl")
    assert sm.tau2 == pytest.approx(tau2, abs=1e-12)
    assert sm.mean_effect_re == pytest.approx(pooled.random, abs=1e-12)
    assert sm.i2 == pytest.approx(pooled.i_squared, abs=1e-12)


def test_dersimonian_laird_homogeneous_has_zero_tau_and_refuses_one_estimate():
    pooled = meta.dersimonian_laird([0.2, 0.2], [0.1, 0.3])
    assert pooled.tau_squared == 0 and pooled.i_squared == 0 and pooled.random == pytest.approx(0.2)
    with pytest.raises(ValueError, match="at least two"):
        meta.dersimonian_laird([0.2], [0.1])


def test_e_value_matches_vanderweele_ding_worked_example():
    # VanderWeele & Ding 2017: RR 3.9 (95 % CI 1.8–8.7) gives E-values 7.26 and 3.0
    assert ev.e_value_rr(3.9) == pytest.approx(3.9 + math.sqrt(3.9 * 2.9))
    assert round(ev.e_value_rr(3.9), 2) == 7.26
    assert round(ev.e_value_rr(1.8), 1) == 3.0
    result = ev.e_value_hr(3.9, 1.8, 8.7, rare=True)
    assert (round(result.e_value, 2), round(result.e_value_ci, 1), result.limit) == (7.26, 3.0, "lower")
    # a protective ratio is inverted: RR 0.5 -> 1/0.5 = 2 -> 2 + sqrt(2) = 3.414...
    assert ev.e_value_rr(0.5) == pytest.approx(2 + math.sqrt(2))


def test_e_value_common_outcome_uses_square_root_conversion():
    # HR 2, common outcome: RR = (1 - 0.5^sqrt(2)) / (1 - 0.5^sqrt(1/2))
    rr = (1 - 0.5 ** math.sqrt(2)) / (1 - 0.5 ** math.sqrt(0.5))
    assert rr == pytest.approx(0.624786 / 0.387453, abs=1e-5)  # 0.5^1.414214 = 0.375214, 0.5^0.707107 = 0.612547
    result = ev.e_value_hr(2.0, 1.2, 3.3, rare=False)
    assert result.e_value == pytest.approx(rr + math.sqrt(rr * (rr - 1)), abs=1e-12)
    rr_limit = (1 - 0.5 ** math.sqrt(1.2)) / (1 - 0.5 ** math.sqrt(1 / 1.2))
    assert result.e_value_ci == pytest.approx(rr_limit + math.sqrt(rr_limit * (rr_limit - 1)), abs=1e-12)
    # an interval including 1 has an E-value of 1 for the interval
    assert ev.e_value_hr(0.8, 0.5, 1.3, rare=False).e_value_ci == 1.0


def test_collapse_ordered_and_nominal_by_hand():
    values = pd.Series(["a"] * 4 + ["b"] * 4 + ["c"] * 6 + ["d"] * 2)
    treatment = np.array([0, 0, 0, 0,  0, 0, 1, 1,  0, 0, 0, 1, 1, 1,  1, 1])
    # a has no treated: merges into b (its only neighbour); d (0 controls) merges into c
    assert wt.collapse_ordered(values, treatment, ["a", "b", "c", "d"], 2) == [("a", "b"), ("c", "d")]
    # nominal: a and d are sparse and pooled (4 controls, 2 treated): kept as one level after c and b
    assert wt.collapse_nominal(values, treatment, ["a", "b", "c", "d"], 2) == [("c",), ("b",), ("a", "d")]
    # with 3 needed, b is sparse too: the pool a+b+d (6 controls, 4 treated) is a level of its own
    assert wt.collapse_nominal(values, treatment, ["a", "b", "c", "d"], 3) == [("c",), ("a", "b", "d")]
    # a pool that is itself sparse joins the largest level
    other = pd.Series(["x"] * 10 + ["y"])
    assert wt.collapse_nominal(other, np.array([0] * 5 + [1] * 5 + [0]), ["x", "y"], 2) == [("x", "y")]


def test_stabilised_weights_by_hand():
    treatment = np.array([1, 1, 0, 0])
    propensity = np.array([0.8, 0.4, 0.5, 0.2])
    w = wt.ate_weights(treatment, propensity)
    assert w == pytest.approx([0.5 / 0.8, 0.5 / 0.4, 0.5 / 0.5, 0.5 / 0.8])
    assert wt.ate_weights(treatment, propensity, stabilised=False) == pytest.approx([1.25, 2.5, 2.0, 1.25])


def test_standardised_difference_by_hand():
    x = np.array([1.0, 0.0, 1.0, 1.0, 0.0, 0.0])
    t = np.array([1, 1, 1, 0, 0, 0])
    # means 2/3 and 1/3, sample variances 1/3 each -> (1/3) / sqrt(1/3)
    assert wt.standardised_difference(x, t) == pytest.approx((1 / 3) / math.sqrt(1 / 3))
    # weights that equalise the means give 0
    assert wt.standardised_difference(x, t, np.array([1, 2, 1, 1, 1, 1.0])) == pytest.approx(
        (0.5 - 1 / 3) / math.sqrt(1 / 3))


# --------------------------------------------------------------------------- not estimable

def test_separation_makes_the_propensity_model_not_estimable():
    frame = pd.DataFrame({"size_class": ["<2000"] * 6 + [">=50000"] * 6, "age_at_start": np.arange(12.0)})
    treatment = np.array([0] * 6 + [1] * 6)
    fit = wt.fit_propensity(frame, treatment, numeric=["age_at_start"])
    assert not fit.estimable and "separation" in fit.reason
    assert np.isnan(fit.propensity).all()


def test_too_many_coefficients_is_not_estimable():
    episodes = _episodes("handmade_cox")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = rb.confounding_analysis(episodes)
    assert not result.estimable and "coefficient(s)" in result.reason
    assert (result.cox["weighting"] == "crude").all()  # the crude contrast is still given
    evalue = rb.e_value_analysis(result, rare=False)
    assert evalue.evalue is None and any("not estimable" in n for n in evalue.notes)


def test_propensity_notes_are_catalogue_codes_in_both_languages():
    episodes = _episodes("handmade_cox")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = rb.confounding_analysis(episodes)
    reason = result.propensity_fit.reason
    assert reason.code == "propensity_too_many_coefficients" and reason in result.notes
    assert reason.values == {"coefficients": 8, "n": 15, "minimum": 2} and reason.counts() == {"n": 15}
    assert reason.text("nb") == ("modellen for avtaleform kan ikke anslås: 8 koeffisient(er) for en minste gruppe "
                                 "på 15 (trenger minst 2 per koeffisient)")
    small = type(reason)("propensity_too_many_coefficients", coefficients=8, n=3, minimum=2)
    assert "minste gruppe på <5" in small.text("nb", min_cell=5)  # the smaller group is a count of people
    merged = [n for n in result.notes if n.code == "propensity_levels_merged" and n.values["variable"] == "size_class"]
    assert merged[0].text("nb").endswith("er slått sammen: under 2\u202f000, 2\u202f000–4\u202f999, 5\u202f000–9\u202f999")
    assert merged[0].text("en").startswith("sparse levels of municipality size (fewer than 3 episodes")


def test_one_programme_is_not_pooled():
    episodes = _episodes("demo")
    intervals = pd.read_csv(REFERENCE / "data" / "demo" / "intervals.csv", dtype={"municipality_code": str})
    data = type("Prepared", (), {"episodes": episodes, "intervals": intervals})()
    result = rb.pooled_programmes(data)
    assert not result.estimable and result.pooled is None
    assert any("one programme only" in n for n in result.notes)


def test_too_few_exits_not_estimable():
    episodes = _episodes("demo")
    few = episodes[(episodes["cohort"] == "fastlønn") | (episodes["exit"] == 0)
                   | (episodes.index.isin(episodes.index[(episodes["cohort"] == "næring") & (episodes["exit"] == 1)][:3]))]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = rb.confounding_analysis(few)
    assert result.cox is None and result.reason.code == "ipw_few_exits"
    assert result.reason.values["cohorts"] == ("næring",)
    assert "fewer than 5 exits in self-employed (næring)" in result.reason
    assert result.reason.text("nb").startswith("færre enn 5 avganger i næring: ")


def test_bad_covariate_name_is_a_user_error():
    with pytest.raises(AlisError, match="unknown propensity covariate"):
        rb.propensity_specification(["shoe_size"])


def test_plot_balance_draws_both_point_sets(analysed):
    import matplotlib.pyplot as plt

    _, result = analysed
    ax = rb.plot_balance(result, language="en")
    offsets = [c.get_offsets() for c in ax.collections]
    assert len(offsets) == 2 and all(len(o) == len(result.balance) for o in offsets)
    np.testing.assert_allclose(offsets[1][:, 0], result.balance["smd_weighted"])
    ax2 = rb.plot_weighted_km(result, language="nb")
    assert len(ax2.lines) == 2
    plt.close("all")


def test_results_document_robustness_block_holds_the_r_checked_numbers():
    from alis_research import config
    from alis_research.data.cohort import prepare_dataset
    from alis_research.analysis.results import dumps, robustness_entries

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prepared = prepare_dataset(config.DATA_RAW / config.DEMO_DATASET, as_of=config.DEMO_AS_OF)
        block = robustness_entries(prepared)
    r = _r("demo", "cox").set_index("weighting")
    assert block["confounding"]["estimable"] is True
    assert block["confounding"]["cox"]["ipw"]["coef"] == pytest.approx(r.loc["ipw", "coef"], abs=ESTIMATE_TOL)
    assert block["confounding"]["cox"]["crude"]["robust_se"] == pytest.approx(r.loc["crude", "robust_se"], abs=SE_TOL)
    assert block["e_value"]["rare_outcome"] is False and block["e_value"]["ci_limit"] == "includes 1"
    assert block["pooled"]["estimable"] is False and block["pooled"]["programmes"] == ["ALIS-Nord"]
    assert any("one programme only" in note for note in block["notes"])
    dumps({"robustness": {k: v for k, v in block.items() if k != "notes"}})  # JSON-safe (no NaN)


@pytest.fixture(scope="module")
def demo_prepared():
    from alis_research import config
    from alis_research.data.cohort import prepare_dataset

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return prepare_dataset(config.DATA_RAW / config.DEMO_DATASET, as_of=config.DEMO_AS_OF)


@pytest.mark.parametrize("language, hr", [("nb", "1,18 (0,32–4,35)"), ("en", "1.18 (0.32–4.35)")])
def test_robustness_section_publishes_estimates_in_both_languages(demo_prepared, language, hr):
    from alis_research.report import robustness_section
    from alis_research.report.content import SECTION_ORDER

    section = robustness_section(demo_prepared, language=language, min_cell=5)
    assert section.key == "robustness" and section.key in SECTION_ORDER
    tables = [b for b in section.protected_blocks() if b["type"] == "table"]
    assert [t["id"] for t in tables] == ["robustness_ipw"]
    assert tables[0]["rows"][0][2] == hr  # the weighted hazard ratio, as R computed it
    assert {b["id"] for b in section.protected_blocks() if b["type"] == "figure"} == {"robustness_balance", "robustness_ipw_km"}
    words = " ".join(b.get("text", "") for b in section.protected_blocks())
    assert ("E-verdien er 1,48" if language == "nb" else "The E-value is 1.48") in words
    assert ("ett program" if language == "nb" else "one programme") in words
    assert section.suppression == [] and section.facts["hr_ipw"]["hr"] == pytest.approx(1.17566806642027)


def test_robustness_section_of_a_small_area_says_not_estimable(demo_prepared):
    from alis_research.report import robustness_section, select_area

    section = robustness_section(select_area(demo_prepared, "Finnmark"), language="en", min_cell=5)
    words = " ".join(b.get("text", "") for b in section.protected_blocks())
    # "needs at least 5 exits" beside a withheld exit count would narrow it to 1-4: the ledger withholds it
    assert "needs at least 5 exits" not in words
    assert "not estimable: each contract type needs at least 5 exits" in section.plain(
        " ".join(b.get("text", "") for b in section.blocks))  # the notebook (restricted) still says why
    assert not [b for b in section.protected_blocks() if b["type"] in ("table", "figure")]
    assert section.facts == {}


def test_balance_figure_leaves_out_covariates_with_a_small_level(demo_prepared):
    from alis_research.report.sections_robustness import publishable_balance

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = rb.confounding_analysis(demo_prepared)
    shown = publishable_balance(result, demo_prepared.episodes, 5)
    episodes = demo_prepared.episodes
    for covariate in set(result.balance["covariate"]):
        levels = result.balance.loc[result.balance["covariate"] == covariate, "level"]
        small = any(0 < int(((episodes[covariate].astype(str) == level) & (episodes["cohort"] == c)).sum()) < 5
                    for level in levels if level for c in ("fastlønn", "næring"))
        assert (covariate in set(shown["covariate"])) == (not small)
    # the demo: næring in 5000-9999 (1), fastlønn at centrality 2 (1), næring in Nordland (2) -> those go
    assert {"size_class", "centrality", "area"}.isdisjoint(shown["covariate"])
    assert {"start_year", "age_at_start"} <= set(shown["covariate"])


def _prepared_from(folder: Path):
    episodes = pd.read_csv(folder / "episodes.csv", dtype={"municipality_code": str})
    intervals = pd.read_csv(folder / "intervals.csv", dtype={"municipality_code": str})
    return type("Prepared", (), {"episodes": episodes, "intervals": intervals})()


def test_robustness_section_with_two_programmes_pools_them():
    from alis_research.report import robustness_section

    prepared = _prepared_from(REFERENCE / "data_robustness" / "pooled")
    section = robustness_section(prepared, language="en", min_cell=5)
    pooled = next(b for b in section.protected_blocks() if b["type"] == "table" and b["id"] == "robustness_pooled")
    labels = [row[0] for row in pooled["rows"]]
    assert labels == ["ALIS-Nord", "ALIS-Vest", "Stratified by programme", "Pooled, random effects (DerSimonian–Laird)"]
    r = pd.read_csv(RESULTS / "robustness_pooled_cox.csv").set_index("model")
    assert pooled["rows"][2][1].startswith(f"{math.exp(r.loc['stratified', 'coef']):.2f} (")
    words = " ".join(b.get("text", "") for b in section.protected_blocks())
    assert "I² = " in words and "With two programmes I² and τ² are very uncertain." in words
    assert 0 <= section.facts["i_squared"] <= 1


def test_robustness_section_without_a_propensity_model_shows_the_crude_contrast():
    from alis_research.report import robustness_section

    prepared = _prepared_from(REFERENCE / "data" / "handmade_cox")  # 8 coefficients for 15 næring episodes
    section = robustness_section(prepared, language="nb", min_cell=5)
    words = " ".join(b.get("text", "") for b in section.protected_blocks())
    assert "(tilbøyelighetsmodellen) kan ikke anslås med disse dataene (for mange kjennetegn" in words
    table = next(b for b in section.protected_blocks() if b["type"] == "table")
    assert table["rows"][0][2] == "kan ikke anslås" and table["rows"][0][1] != "kan ikke anslås"
    assert "E-verdien kan ikke anslås" in words


def test_person_bootstrap_refits_the_propensity_model_and_is_reproducible():
    episodes = pd.read_csv(REFERENCE / "data_robustness" / "pooled" / "episodes.csv", dtype={"municipality_code": str})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        analysis = rb.confounding_analysis(episodes)
        boot = rb.bootstrap_confounding(episodes, replicates=100, seed=7)
        again = rb.bootstrap_confounding(episodes, replicates=20, seed=7)
    pd.testing.assert_frame_equal(boot.samples.iloc[:20], again.samples)  # same seed, same resamples
    intervals = boot.intervals.set_index("quantity")
    ipw = analysis.cox.set_index("weighting").loc["ipw"]
    rmst = analysis.rmst[(analysis.rmst["weighting"] == "ipw") & (analysis.rmst["group"] == "difference")].iloc[0]
    assert intervals.loc["hr", "estimate"] == pytest.approx(ipw["hr"], rel=1e-9)
    assert intervals.loc["rmst_difference", "estimate"] == pytest.approx(rmst["rmst"], abs=1e-9)
    assert intervals.loc["hr", "ci_lower"] < ipw["hr"] < intervals.loc["hr", "ci_upper"]
    # the bootstrap spread is of the size of the robust SE (it adds the propensity model's uncertainty)
    ratio = boot.samples["log_hr"].std() / ipw["robust_se"]
    assert 0.7 < ratio < 2.0
    assert intervals.loc["hr", "not_estimable"] < 10


def test_person_bootstrap_on_the_demo_says_not_estimable_when_resamples_separate(demo_prepared):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        boot = rb.bootstrap_confounding(demo_prepared, replicates=40, seed=1)
    assert boot.intervals["not_estimable"].gt(4).all()  # over 10 % of resamples separate
    assert boot.intervals["ci_lower"].isna().all()
    assert any("bootstrap interval not estimable" in note for note in boot.notes)
