"""The shared product-limit estimator (alis_research.stats.km) against R and by hand.

R's values are the committed references in tests/reference/results (made by retention.R,
duration.R and conf_int.R from the prepared datasets in tests/reference/data); the hand cases
are worked out in the comments.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alis_research.stats import km

REFERENCE = Path(__file__).parent / "reference"
DATASETS = sorted(p.name for p in (REFERENCE / "data").iterdir() if (p / "episodes.csv").exists())
EST, SE = 1e-6, 1e-4  # relative tolerances: estimates, standard errors and intervals


def _episodes(name):
    return pd.read_csv(REFERENCE / "data" / name / "episodes.csv", dtype={"municipality_code": str})


def _reference(file):
    return pd.read_csv(REFERENCE / "results" / file, keep_default_na=False, na_values=[""])


def _cohorts(name):
    episodes = _episodes(name)
    for cohort, rows in episodes.groupby("cohort", sort=True):
        yield cohort, rows["duration"].to_numpy(float), rows["exit"].to_numpy(int)


# ------------------------------------------------------------------ against R


@pytest.mark.parametrize("name", DATASETS)
def test_product_limit_and_loglog_interval_match_survfit(name):
    ref = _reference(f"retention_{name}_curve.csv")
    for cohort, durations, exits in _cohorts(name):
        expected = ref[ref["group"] == cohort].reset_index(drop=True)
        table = km.product_limit(durations, exits)
        lower, upper = km.loglog_interval(table["survival"], table["greenwood"], alpha=0.05)
        np.testing.assert_allclose(table["time"], expected["time"], rtol=EST)
        for column in ("at_risk", "events", "censored"):
            np.testing.assert_array_equal(table[column], expected[column])
        np.testing.assert_allclose(table["survival"], expected["survival"], rtol=EST)
        # R's std.err is that of log S: the square root of the Greenwood sum
        positive = table["survival"] > 0
        np.testing.assert_allclose(np.sqrt(table["greenwood"][positive]), expected["std_err"][positive], rtol=SE)
        np.testing.assert_allclose(lower, expected["ci_lower"], rtol=SE, equal_nan=True)
        np.testing.assert_allclose(upper, expected["ci_upper"], rtol=SE, equal_nan=True)


@pytest.mark.parametrize("name", DATASETS)
def test_step_values_match_summary_at_times(name):
    ref = _reference(f"retention_{name}_km.csv")
    ref = ref[ref["strata"].fillna("") == ""]
    for cohort, durations, exits in _cohorts(name):
        expected = ref[(ref["group"] == cohort) & (ref["at_risk"] > 0)]
        table = km.product_limit(durations, exits)
        at = expected["time"].to_numpy(float)
        np.testing.assert_allclose(km.step_values(table["time"], table["survival"], at, 1.0),
                                   expected["survival"], rtol=EST)
        np.testing.assert_allclose(km.step_values(table["time"], table["std_err"], at, 0.0),
                                   expected["std_err"], rtol=SE, atol=1e-12)


@pytest.mark.parametrize("name", DATASETS)
def test_median_and_interval_match_quantile_survfit(name):
    ref = _reference(f"retention_{name}_median.csv").set_index("group")
    for cohort, durations, exits in _cohorts(name):
        table = km.product_limit(durations, exits)
        lower, upper = km.loglog_interval(table["survival"], table["greenwood"])
        ours = [km.r_quantile(table["time"], curve) for curve in (table["survival"], lower, upper)]
        np.testing.assert_allclose(ours, ref.loc[cohort, ["median", "ci_lower", "ci_upper"]].to_numpy(float),
                                   rtol=SE, equal_nan=True)


@pytest.mark.parametrize("name", DATASETS)
def test_median_by_size_class_matches_r(name):
    ref = _reference(f"duration_{name}_km_size.csv").set_index("size_class")
    episodes = _episodes(name)
    for size_class, row in ref.iterrows():
        rows = episodes if size_class == "all" else episodes[episodes["size_class"] == size_class]
        table = km.product_limit(rows["duration"], rows["exit"])
        lower, upper = km.loglog_interval(table["survival"], table["greenwood"])
        ours = [km.r_quantile(table["time"], curve) for curve in (table["survival"], lower, upper)]
        np.testing.assert_allclose(ours, row[["median", "ci_lower", "ci_upper"]].to_numpy(float),
                                   rtol=SE, equal_nan=True, err_msg=f"{name} {size_class}")


def test_interval_and_median_at_90_percent_match_r():
    ref = _reference("conf_int_demo.csv")
    for cohort, durations, exits in _cohorts("demo"):
        table = km.product_limit(durations, exits)
        lower, upper = km.loglog_interval(table["survival"], table["greenwood"], alpha=0.10)
        rows = ref[(ref["quantity"] == "km") & (ref["group"] == cohort)]
        at = rows["time"].to_numpy(float)
        np.testing.assert_allclose(km.step_values(table["time"], lower, at, np.nan), rows["ci_lower"], rtol=SE)
        np.testing.assert_allclose(km.step_values(table["time"], upper, at, np.nan), rows["ci_upper"], rtol=SE)
        median = ref[(ref["quantity"] == "median") & (ref["group"] == cohort)].iloc[0]
        np.testing.assert_allclose([km.r_quantile(table["time"], table["survival"]),
                                    km.r_quantile(table["time"], lower), km.r_quantile(table["time"], upper)],
                                   median[["estimate", "ci_lower", "ci_upper"]].to_numpy(float),
                                   rtol=SE, equal_nan=True)


@pytest.mark.parametrize("name", DATASETS)
def test_restricted_mean_and_se_match_print_survfit(name):
    ref = _reference(f"retention_{name}_rmst.csv")
    for cohort, durations, exits in _cohorts(name):
        for _, row in ref[ref["group"] == cohort].iterrows():
            mean, se = km.restricted_mean(durations, exits, row["tau"])
            assert mean == pytest.approx(row["rmst"], rel=EST)
            assert se == pytest.approx(row["se"], rel=SE)
            # the same area from the step-area helper the cost analysis uses
            table = km.product_limit(durations, exits)
            assert km.step_areas(table["time"], table["survival"], [0.0, row["tau"]])[0] == pytest.approx(mean, rel=1e-12)


# ------------------------------------------------------------------ by hand


def test_hand_worked_table():
    # times 1 (exit), 2 (exit + censored), 3 (censored), 4 (exit): n = 5, 4, 2, 1
    table = km.product_limit([1, 2, 2, 3, 4], [1, 1, 0, 0, 1])
    assert list(table["time"]) == [1, 2, 3, 4]
    assert list(table["at_risk"]) == [5, 4, 2, 1]
    assert list(table["events"]) == [1, 1, 0, 1]
    assert list(table["censored"]) == [0, 1, 1, 0]
    np.testing.assert_allclose(table["survival"], [0.8, 0.6, 0.6, 0.0])
    # Greenwood: 1/(5·4) = 0.05, + 1/(4·3); infinite once everyone still at risk left (n = d)
    np.testing.assert_allclose(table["greenwood"][:3], [0.05, 0.05 + 1 / 12, 0.05 + 1 / 12])
    assert np.isinf(table["greenwood"][3]) and np.isnan(table["std_err"][3])
    lower, upper = km.loglog_interval(table["survival"], table["greenwood"])
    assert np.isnan(lower[3]) and np.isnan(upper[3])  # no interval at S = 0 (R: NA)
    assert lower[0] == pytest.approx(0.203809, abs=1e-6) and upper[0] == pytest.approx(0.969180, abs=1e-6)
    assert np.all(np.isnan(km.loglog_interval([1.0], [0.0])[0]))  # nor at S = 1


@pytest.mark.parametrize("durations, exits, expected", [
    ([1, 2, 3, 4], [1, 1, 1, 1], 2.5),   # S = .75, .5 on [2, 3), .25: midpoint of 2 and the next drop 3
    ([1, 2, 3, 4], [1, 1, 0, 1], 3.0),   # S = .5 on [2, 4): midpoint of 2 and 4
    ([1, 2, 3, 4], [1, 1, 0, 0], 3.0),   # S = .5 from 2 to the end: midpoint of 2 and the last time 4
    ([1, 2, 3, 4], [1, 0, 1, 0], 3.0),   # S = .75, .375 at 3: the first time at or below .5
    ([1, 2, 3, 4], [0, 1, 0, 0], np.nan),  # S = 2/3 from 2: not reached
])
def test_r_median_rule_edge_cases(durations, exits, expected):
    # the five answers are what quantile(survfit(Surv(durations, exits) ~ 1), 0.5) gives in R 4.2
    table = km.product_limit(durations, exits)
    np.testing.assert_equal(km.r_quantile(table["time"], table["survival"]), expected)


def test_r_quantile_of_an_undefined_curve_is_nan():
    assert np.isnan(km.r_quantile([1.0, 2.0], [np.nan, np.nan]))


def test_step_values_are_right_continuous():
    values = km.step_values([1.0, 2.0], [0.8, 0.5], [0.0, 0.999, 1.0, 1.5, 2.0, 9.0], 1.0)
    np.testing.assert_array_equal(values, [1.0, 1.0, 0.8, 0.8, 0.5, 0.5])


def test_survival_on_grid_is_product_limit_of_each_row_exactly():
    rng = np.random.default_rng(11)
    durations = np.round(rng.exponential(3, 30), 1) + 0.1
    exits = rng.integers(0, 2, 30)
    grid, time_of = np.unique(durations, return_inverse=True)
    weights = rng.integers(0, 3, (25, len(durations))).astype(float)
    deaths = np.zeros((25, len(grid)))
    present = np.zeros((25, len(grid)))
    for r in range(25):
        np.add.at(deaths[r], time_of, weights[r] * exits)
        np.add.at(present[r], time_of, weights[r])
    surv = km.survival_on_grid(deaths, present)
    for r in range(25):
        repeat = weights[r].astype(int)
        if repeat.sum() == 0:
            continue
        table = km.product_limit(np.repeat(durations, repeat), np.repeat(exits, repeat))
        columns = np.searchsorted(grid, table["time"])
        np.testing.assert_array_equal(surv[r, columns], table["survival"])


def test_step_areas_by_hand():
    # S = 1 on [0, 1), .5 on [1, 3), then 0; held at the last value beyond the last time
    areas = km.step_areas([1.0, 3.0], [0.5, 0.0], [0.0, 1.0, 2.0, 5.0])
    np.testing.assert_allclose(areas, [1.0, 0.5, 0.5])
    np.testing.assert_allclose(km.step_areas([1.0], [0.5], [0.0, 4.0]), [1.0 + 1.5])
