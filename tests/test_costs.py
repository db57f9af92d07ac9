"""Tests of alis_research.analysis.costs: seed 003's table to the krone, hand-computed cost per retained year."""
from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pandas as pd
import pytest

from alis_research.analysis import costs
from alis_research.cli import main
from alis_research.errors import AlisError, NotEstimableWarning
from alis_research.analysis.retention import restricted_mean


def test_seed_003_table_for_800_patients_exactly():
    table = costs.yearly_costs(800)
    assert table.cost("private list", column="grants") == 360_800
    assert table.cost("ALIS næring", 1, "grants") == 1_069_125
    for year in (2, 3, 4, 5):
        assert table.cost("ALIS næring", year, "grants") == 569_125
        # 'Merutgift for kommunen: kr 208 325' (seed 003)
        assert table.cost("ALIS næring", year, "extra_grants_vs_private") == 208_325
    comp = table.components
    year1 = comp[(comp["model"] == "ALIS næring") & (comp["training_year"] == 1)].set_index("component")["amount"]
    assert year1["recruitment_grant"] == 500_000
    assert year1["basic_grant_first_500"] == 400_000
    assert year1["basic_grant_above_500"] == 169_125  # 1.25 x 451 x 300


@pytest.mark.parametrize("patients, private, naering_year_2", [
    (0, 0, 400_000),                          # the guarantee covers an empty list
    (300, 135_300, 400_000),                  # 451 x 300; still under the 500-patient guarantee
    (501, 225_951, 400_563.75),               # 451 x 501; 400,000 + 1.25 x 451 x 1
    (1234, 556_534, 813_792.5),               # 451 x 1234; 400,000 + 1.25 x 451 x 734
])
def test_grants_by_hand_for_other_list_sizes(patients, private, naering_year_2):
    table = costs.yearly_costs(patients)
    assert table.cost("private list", column="grants") == pytest.approx(private)
    assert table.cost("ALIS næring", 2, "grants") == pytest.approx(naering_year_2)
    assert table.cost("ALIS næring", 1, "grants") == pytest.approx(naering_year_2 + 500_000)  # recruitment grant


def test_net_costs_by_hand_for_800_patients():
    table = costs.yearly_costs(800)
    # næring year 2: 569,125 + course cover 50,000 + supervision 31.5 h x 1,000 - ALIS-Nord 200,000
    assert table.cost("ALIS næring", 2) == 569_125 + 50_000 + 31_500 - 200_000 == 450_625
    assert table.cost("ALIS næring", 1) == 450_625 + 500_000
    # fastlønn: salary 1,150,000 + office 450,000 + supervision 31,500 - fees 900 x 800 - 200,000
    assert table.cost("ALIS fastlønn", 3) == 1_150_000 + 450_000 + 31_500 - 720_000 - 200_000 == 711_500
    assert table.cost("ALIS fastlønn", 3, "extra_net_cost_vs_private") == 711_500 - 360_800
    assumed = table.components.groupby("component")["assumption"].any()
    assert assumed["salary"] and assumed["office"] and assumed["fee_income"]
    assert not assumed["basic_grant_first_500"] and not assumed["recruitment_grant"]


def test_assumptions_can_be_overridden():
    cheaper = costs.with_assumptions(salary=1_000_000, programme_grant=0)
    table = costs.yearly_costs(800, assumptions=cheaper)
    assert table.cost("ALIS fastlønn", 1) == 1_000_000 + 450_000 + 31_500 - 720_000
    with pytest.raises(AlisError, match="unknown cost assumption"):
        costs.with_assumptions(wage=1)


def test_user_errors():
    with pytest.raises(AlisError, match="no price index is shipped"):
        costs.yearly_costs(800, year=2023)
    assert costs.yearly_costs(800, year=2019).params["price_year"] == 2019
    for bad in (-1, 2.5, "many"):
        with pytest.raises(AlisError, match="patients must be"):
            costs.yearly_costs(bad)


# --- cost per retained year -------------------------------------------------------------


def _episodes(durations_f, exits_f, durations_n, exits_n):
    rows = [("fastlønn", d, e) for d, e in zip(durations_f, exits_f)] + \
           [("næring", d, e) for d, e in zip(durations_n, exits_n)]
    frame = pd.DataFrame(rows, columns=["cohort", "duration", "exit"])
    frame.insert(0, "episode_id", [f"E{i:03d}" for i in range(len(frame))])
    return frame


def test_cost_per_retained_year_by_hand():
    # fastlønn: exits at 1 and 3, two censored at 6 -> KM: 1 to t=1, 3/4 to t=3, 3/4 x 2/3 = 1/2 after.
    # year areas 1, .75, .75, .5, .5 -> RMST(5) = 3.5
    # næring: exits at 0.5 and 2, two censored at 6 -> 1 to .5, 3/4 to 2, 1/2 after.
    # year areas .5 + .375 = .875, .75, .5, .5, .5 -> RMST(5) = 3.125
    episodes = _episodes([1, 3, 6, 6], [1, 1, 0, 0], [0.5, 2, 6, 6], [1, 1, 0, 0])
    result = costs.cost_per_retained_year(episodes, patients=800, horizon=5, bootstrap=0)
    est = result.estimates.set_index("cohort")
    assert est.loc["fastlønn", "retained_years"] == pytest.approx(3.5)
    assert est.loc["næring", "retained_years"] == pytest.approx(3.125)
    # fastlønn: 711,500 a year in post, no one-off cost
    assert est.loc["fastlønn", "expected_cost"] == pytest.approx(711_500 * 3.5)
    assert est.loc["fastlønn", "cost_per_retained_year"] == pytest.approx(711_500)
    # næring: recruitment grant 500,000 at start + 450,625 per year in post
    assert est.loc["næring", "expected_cost"] == pytest.approx(500_000 + 450_625 * 3.125)
    assert est.loc["næring", "cost_per_retained_year"] == pytest.approx((500_000 + 450_625 * 3.125) / 3.125)
    assert np.isnan(est.loc["næring", "ci_lower"])
    # the retained years are the package's R-checked RMST
    assert restricted_mean(np.array([1, 3, 6, 6.0]), np.array([1, 1, 0, 0]), 5)[0] == pytest.approx(3.5)
    # a cost per exit: næring S(5) = 1/2, so half of 100,000 is added
    with_exit = costs.cost_per_retained_year(episodes, horizon=5, bootstrap=0, cost_per_exit=100_000)
    assert with_exit.estimates.set_index("cohort").loc["næring", "expected_cost"] == pytest.approx(
        500_000 + 450_625 * 3.125 + 50_000)
    # horizon 3: fastlønn areas 1 + .75 + .75
    short = costs.cost_per_retained_year(episodes, horizon=3, bootstrap=0)
    assert short.estimates.set_index("cohort").loc["fastlønn", "retained_years"] == pytest.approx(2.5)


def test_bootstrap_resamples_persons_with_all_their_episodes():
    # Each cohort's episodes all belong to one person: every resample draws that person, i.e. the
    # same episodes, so the interval collapses onto the estimate (resampling episodes would not).
    rng = np.random.default_rng(3)
    episodes = _episodes(rng.exponential(4, 6), [1, 0, 1, 1, 0, 1], rng.exponential(3, 6), [1, 1, 0, 1, 1, 0])
    episodes["person_id"] = np.where(episodes["cohort"] == "fastlønn", "P1", "P2")
    est = costs.cost_per_retained_year(episodes, bootstrap=50, seed=1).estimates
    np.testing.assert_allclose(est["retained_years_ci_lower"], est["retained_years"])
    np.testing.assert_allclose(est["retained_years_ci_upper"], est["retained_years"])
    episodes["person_id"] = episodes["episode_id"]  # one person per episode: the interval has width
    est = costs.cost_per_retained_year(episodes, bootstrap=50, seed=1).estimates
    assert (est["retained_years_ci_upper"] - est["retained_years_ci_lower"] > 0.1).all()


def test_bootstrap_is_deterministic_and_brackets_the_estimate():
    rng = np.random.default_rng(7)
    episodes = _episodes(rng.exponential(4, 25), rng.integers(0, 2, 25), rng.exponential(3, 25), rng.integers(0, 2, 25))
    first = costs.cost_per_retained_year(episodes, bootstrap=200, seed=11)
    second = costs.cost_per_retained_year(episodes, bootstrap=200, seed=11)
    pd.testing.assert_frame_equal(first.estimates, second.estimates)
    other = costs.cost_per_retained_year(episodes, bootstrap=200, seed=12)
    assert not np.allclose(first.estimates["retained_years_ci_lower"], other.estimates["retained_years_ci_lower"])
    est = first.estimates
    assert (est["retained_years_ci_lower"] <= est["retained_years"]).all()
    assert (est["retained_years"] <= est["retained_years_ci_upper"]).all()
    assert len(first.bootstrap_samples) == 400


def test_parametric_method_close_to_km_for_exponential_data():
    rng = np.random.default_rng(5)
    t = rng.exponential(4, 400)
    c = rng.uniform(3, 8, 400)
    episodes = _episodes(np.minimum(t[:200], c[:200]), (t[:200] <= c[:200]).astype(int),
                         np.minimum(t[200:], c[200:]), (t[200:] <= c[200:]).astype(int))
    km = costs.cost_per_retained_year(episodes, bootstrap=0).estimates["retained_years"]
    parametric = costs.cost_per_retained_year(episodes, method="parametric", bootstrap=0).estimates["retained_years"]
    truth = 4 * (1 - np.exp(-5 / 4))  # exponential RMST(5) with mean 4 = 2.854
    np.testing.assert_allclose(parametric, truth, atol=0.15)
    np.testing.assert_allclose(km, parametric, atol=0.15)


def test_not_estimable_paths():
    episodes = _episodes([1, 2, 6], [1, 0, 0], [2, 3, 4], [0, 0, 0])
    with pytest.warns(NotEstimableWarning, match="needs 3"):
        result = costs.cost_per_retained_year(episodes, method="parametric", bootstrap=0)
    assert result.estimates["cost_per_retained_year"].isna().all()
    only_f = episodes[episodes["cohort"] == "fastlønn"]
    with pytest.warns(NotEstimableWarning, match=r"self-employed \(næring\): not estimable \(no episodes\)"):
        result = costs.cost_per_retained_year(only_f, bootstrap=0)
    assert result.estimates.set_index("cohort").loc["fastlønn", "retained_years"] > 0
    for kwargs, message in (({"horizon": 7}, "horizon must be"), ({"horizon": 0}, "horizon must be"),
                            ({"method": "cox"}, "method must be"), ({"bootstrap": -1}, "bootstrap must be")):
        with pytest.raises(AlisError, match=message):
            costs.cost_per_retained_year(episodes, **kwargs)
    with pytest.raises(AlisError, match="has no column"):
        costs.cost_per_retained_year(episodes.drop(columns="cohort"))


def test_sensitivity_table_grid():
    episodes = _episodes([1, 3, 6, 6], [1, 1, 0, 0], [0.5, 2, 6, 6], [1, 1, 0, 0])
    result = costs.cost_sensitivity(episodes, list_sizes=(600, 1000), horizons=(3, 5))
    table = result.estimates
    assert len(table) == 2 * 2 * 2
    fast = table[(table["cohort"] == "fastlønn")].set_index(["list_size", "horizon"])["cost_per_retained_year"]
    # fastlønn: only the fee income depends on list size: 1,631,500 - 900 n - 200,000
    assert fast[(600, 3)] == pytest.approx(1_631_500 - 540_000 - 200_000)
    assert fast[(1000, 5)] == pytest.approx(1_631_500 - 900_000 - 200_000)


# --- CLI ---------------------------------------------------------------------------------


def test_cli_text(capsys):
    assert main(["costs", "--patients", "800"]) == 0
    out = capsys.readouterr().out
    assert "1 069 125" in out and "569 125" in out and "360 800" in out and "208 325" in out
    assert "salary *" in out


def test_cli_json_shape(capsys):
    assert main(["costs", "--patients", "800", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert set(document) == {"patients", "price_year", "currency", "components", "totals", "assumptions", "notes"}
    assert document["patients"] == 800 and document["price_year"] == 2019
    totals = {(r["model"], r["training_year"]): r for r in document["totals"]}
    assert totals[("private list", None)]["grants"] == 360_800
    assert totals[("ALIS næring", 1)]["grants"] == 1_069_125
    assert set(document["components"][0]) == {"model", "training_year", "component", "amount", "assumption"}


def test_cli_user_errors_have_no_traceback(capsys):
    assert main(["costs", "--patients", "800", "--year", "2024"]) == 1
    err = capsys.readouterr().err
    assert "no price index" in err and "Traceback" not in err
    assert main(["costs", "--patients", "-5"]) == 1
    assert "patients must be" in capsys.readouterr().err


def test_cost_figure_on_the_demo():
    # the report section itself is tested in tests/test_report_costs.py
    import matplotlib.pyplot as plt

    from alis_research.data.cohort import prepare_dataset
    from alis_research.config import DATA_RAW

    if not (DATA_RAW / "synthetic" / "episodes.csv").exists():
        pytest.skip("demo dataset not generated")
    prepared = prepare_dataset(DATA_RAW / "synthetic", as_of="2024-12-31")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = costs.cost_per_retained_year(prepared, bootstrap=50)
    fig, ax = plt.subplots()
    costs.plot_cost_per_retained_year(result, ax=ax, language="en")
    assert len(ax.patches) == 2  # one bar per cohort
    assert ax.get_ylabel() == "Cost per retained GP-year (NOK, 2019 prices)"
    plt.close(fig)


def test_assumption_sensitivity_by_hand():
    # The hand-computed cohorts of test_cost_per_retained_year_by_hand: fastlønn 711,500 a year in
    # post (RMST 3.5), næring 500,000 once + 450,625 a year (RMST 3.125).
    episodes = _episodes([1, 3, 6, 6], [1, 1, 0, 0], [0.5, 2, 6, 6], [1, 1, 0, 0])
    table = costs.assumption_sensitivity(episodes, patients=800, horizon=5).set_index(["assumption", "setting"])
    naering_base = (500_000 + 450_625 * 3.125) / 3.125
    assert table.loc[("base", "base"), "fastlønn"] == pytest.approx(711_500)
    assert table.loc[("base", "base"), "næring"] == pytest.approx(naering_base)
    # salary is paid only under fastlønn, every year in post: ±25 % of 1,150,000 moves it by 287,500
    assert table.loc[("salary", "high"), "fastlønn"] == pytest.approx(711_500 + 287_500)
    assert table.loc[("salary", "low"), "næring"] == pytest.approx(naering_base)
    assert table.loc[("salary", "low"), "value"] == pytest.approx(862_500)
    # practice income the municipality collects under fastlønn: 900 × 800 × 25 % = 180,000 a year
    assert table.loc[("fee_income_per_patient", "low"), "fastlønn"] == pytest.approx(711_500 + 180_000)
    # the programme grant (200,000 a year to both models) moves both and leaves the difference
    assert table.loc[("programme_grant", "none"), "næring"] == pytest.approx(naering_base + 200_000)
    assert table.loc[("programme_grant", "none"), "difference"] == pytest.approx(naering_base - 711_500)
    assert table.loc[("salary", "low"), "difference"] == pytest.approx(naering_base - (711_500 - 287_500))
    assert list(table.index[:1]) == [("base", "base")] and len(table) == 1 + 6 * 2 + 1
    with pytest.raises(AlisError, match="unknown cost assumption"):
        costs.assumption_sensitivity(episodes, fields=("rent",))


#: costs.cost_per_retained_year(demo as of 2024-12-31) with the replicate loop (commit 08f04b1).
DEMO_BOOTSTRAP_BEFORE_VECTORISING = {
    'fastlønn': {
        'ci_lower': 711499.9999999999,
        'ci_upper': 711500.0000000001,
        'retained_years_ci_lower': 2.929092432207849,
        'retained_years_ci_upper': 4.0531227219915,
        'expected_cost_ci_lower': 2084049.2655158844,
        'expected_cost_ci_upper': 2883796.816696952,
    },
    'næring': {
        'ci_lower': 560888.5443310179,
        'ci_upper': 602635.1681915708,
        'retained_years_ci_lower': 3.289253820265638,
        'retained_years_ci_upper': 4.534590318349322,
        'expected_cost_ci_lower': 1982220.002757203,
        'expected_cost_ci_upper': 2543399.7622061633,
    },
}


def _bootstrap_inputs(prepared_or_episodes, cohort, horizon):
    episodes = prepared_or_episodes.episodes if hasattr(prepared_or_episodes, "episodes") else prepared_or_episodes
    part = episodes[episodes["cohort"] == cohort]
    running, one_off = costs._cohort_costs(costs.yearly_costs(800), costs.COHORT_MODEL[cohort], math.ceil(horizon))
    return part["duration"].to_numpy(float), part["exit"].to_numpy(int), part["person_id"].to_numpy(), running, one_off


@pytest.mark.parametrize("chunk_cells", [costs.BOOTSTRAP_CELLS_PER_CHUNK, 100])
def test_vectorised_bootstrap_equals_the_replicate_loop_number_for_number(demo_dataset, monkeypatch, chunk_cells):
    # The report's bootstrap (1,000 person-level resamples of the Kaplan-Meier cost per retained
    # year) runs all replicates at once; it must draw the same persons and give exactly the loop's
    # numbers: on the demo data, on tied durations with several episodes per person, with a
    # horizon beyond the longest follow-up, and when the replicates are drawn in chunks.
    from alis_research.data.cohort import prepare_dataset

    monkeypatch.setattr(costs, "BOOTSTRAP_CELLS_PER_CHUNK", chunk_cells)
    prepared = prepare_dataset(demo_dataset, as_of="2024-12-31")
    rng = np.random.default_rng(7)
    tied = pd.DataFrame({"cohort": "næring", "duration": np.round(rng.exponential(3, 40), 1),
                         "exit": rng.integers(0, 2, 40), "person_id": rng.integers(0, 25, 40).astype(str)})
    cases = [(prepared, c, 5.0, 0.0, 1000) for c in ("fastlønn", "næring")]
    cases += [(tied, "næring", 3.5, 100_000.0, 300),
              (tied.assign(duration=tied["duration"].clip(upper=2.5)), "næring", 5.0, 0.0, 300)]
    for data, cohort, horizon, per_exit, replicates in cases:
        durations, exits, persons, running, one_off = _bootstrap_inputs(data, cohort, horizon)
        loop_rng, km_rng = np.random.default_rng(2019), np.random.default_rng(2019)
        loop = costs.bootstrap_loop(durations, exits, persons, horizon, "rmst", running, one_off, per_exit,
                                    replicates, loop_rng)
        vectorised = costs.bootstrap_km(durations, exits, persons, horizon, "rmst", running, one_off, per_exit,
                                        replicates, km_rng)
        np.testing.assert_array_equal(vectorised, loop)
        assert loop_rng.integers(0, 10**9) == km_rng.integers(0, 10**9)  # the stream continues alike


def test_demo_cost_per_retained_year_as_before_vectorising():
    # The demo's report numbers (seed 2019, 1,000 resamples) as the replicate loop gave them before
    # the bootstrap was vectorised (issue 15): the intervals to the last digit printed by repr.
    from alis_research.data.cohort import prepare_dataset
    from alis_research.config import DATA_RAW

    if not (DATA_RAW / "synthetic" / "episodes.csv").exists():
        pytest.skip("demo dataset not generated")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        estimates = costs.cost_per_retained_year(prepare_dataset(DATA_RAW / "synthetic", as_of="2024-12-31")).estimates
    got = estimates.set_index("cohort")[list(DEMO_BOOTSTRAP_BEFORE_VECTORISING["næring"])]
    assert got.to_dict("index") == DEMO_BOOTSTRAP_BEFORE_VECTORISING


@pytest.mark.parametrize("override", [{"salary": float("inf")}, {"office": float("nan")}, {"course_cover": True},
                                      {"programme_grant_years": 2.5}, {"programme_grant_years": -1}])
def test_a_cost_assumption_that_is_not_a_finite_number_is_refused_by_name(override):
    # an infinite salary used to give NaN costs per retained year without a word
    from alis_research.analysis.costs import with_assumptions

    name = next(iter(override))
    with pytest.raises(AlisError, match=name):
        with_assumptions(**override)
