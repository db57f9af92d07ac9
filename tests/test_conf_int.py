"""``result.conf_int(alpha)``: the fit-time intervals at the fit's alpha, R's at any other level.

R's values (90 % intervals on the demo dataset) come from ``tests/reference/conf_int.R``.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import alis_research as ar
from alis_research.errors import AlisError

REFERENCE = Path(__file__).resolve().parent / "reference"
R_90 = pd.read_csv(REFERENCE / "results" / "conf_int_demo.csv")


def _load(table: str) -> pd.DataFrame:
    frame = pd.read_csv(REFERENCE / "data" / "demo" / f"{table}.csv", dtype={"municipality_code": str},
                        keep_default_na=False, na_values=[""])
    for column in ("start_date", "stop_date", "end_date"):
        if column in frame.columns:
            frame[column] = pd.to_datetime(frame[column])
    return frame


@pytest.fixture(scope="module")
def demo():
    return _load("episodes"), _load("intervals")


@pytest.fixture(scope="module")
def results(demo):
    episodes, intervals = demo
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {
            "km": ar.kaplan_meier(episodes),
            "rmst": ar.rmst(episodes, tau=5),
            "rates": ar.turnover_rates(intervals),
            "rate_ratio": ar.rate_ratio(intervals),
            "cox": ar.cox_model(intervals),
            "aj": ar.cumulative_incidence(episodes),
        }


def _r(quantity: str) -> pd.DataFrame:
    return R_90[R_90["quantity"] == quantity].reset_index(drop=True)


@pytest.mark.parametrize(("name", "table"), [("km", "survival"), ("km", "curves"), ("km", "median"), ("rmst", None),
                                             ("rates", None), ("rate_ratio", None), ("cox", None), ("aj", None),
                                             ("aj", "curves")])
def test_conf_int_at_the_fit_alpha_reproduces_the_fit_time_intervals(results, name, table):
    result = results[name]
    fitted = getattr(result, table or type(result)._tables[0])
    again = result.conf_int(0.05, **({"table": table} if table else {}))
    assert again.attrs["alpha"] == 0.05
    assert list(again.columns) == list(fitted.columns)
    for column in ("ci_lower", "ci_upper"):
        np.testing.assert_allclose(again[column].to_numpy(float), fitted[column].to_numpy(float), rtol=1e-12,
                                   equal_nan=True)
    assert result.conf_int(0.05) is not fitted  # a copy: the result is not changed


def test_kaplan_meier_90_percent_log_log_as_r(results):
    table = results["km"].conf_int(0.10)
    reference = _r("km")
    merged = table.merge(reference, left_on=["group", "time"], right_on=["group", "time"], suffixes=("", "_r"))
    assert len(merged) == 8
    np.testing.assert_allclose(merged["survival"], merged["estimate"], rtol=1e-10)
    np.testing.assert_allclose(merged["ci_lower"], merged["ci_lower_r"], rtol=1e-8)
    np.testing.assert_allclose(merged["ci_upper"], merged["ci_upper_r"], rtol=1e-8)


def test_median_90_percent_as_r_quantile(results):
    table = results["km"].conf_int(0.10, table="median").set_index("group")
    for _, row in _r("median").iterrows():
        for column in ("ci_lower", "ci_upper"):
            mine, r = table.loc[row["group"], column], row[column]
            assert (np.isnan(mine) and np.isnan(r)) or mine == pytest.approx(r, rel=1e-10), (row["group"], column)
    # a wider interval can only reach further: the 95 % upper limit of fastlønn is not reached either
    assert np.isnan(results["km"].median.set_index("group").loc["fastlønn", "ci_upper"])


def test_rmst_90_percent(results):
    table = results["rmst"].conf_int(0.10).set_index("group")
    for _, row in _r("rmst").iterrows():
        assert table.loc[row["group"], "rmst"] == pytest.approx(row["estimate"], rel=1e-10)
        assert table.loc[row["group"], "ci_lower"] == pytest.approx(row["ci_lower"], rel=1e-8)
        assert table.loc[row["group"], "ci_upper"] == pytest.approx(row["ci_upper"], rel=1e-8)
    diff = table.loc["difference"]
    assert diff["ci_upper"] - diff["rmst"] == pytest.approx(1.6448536269514722 * diff["se"], rel=1e-12)


def test_exact_poisson_rates_90_percent_as_poisson_test(results):
    table = results["rates"].conf_int(0.10).set_index("contract_type")
    for _, row in _r("rate").iterrows():
        assert table.loc[row["group"], "rate_per_100"] == pytest.approx(row["estimate"], rel=1e-9)
        assert table.loc[row["group"], "ci_lower"] == pytest.approx(row["ci_lower"], rel=1e-8)
        assert table.loc[row["group"], "ci_upper"] == pytest.approx(row["ci_upper"], rel=1e-8)


def test_rate_ratio_90_percent_wald_as_glm(results):
    row = results["rate_ratio"].conf_int(0.10).iloc[0]
    reference = _r("rate_ratio").iloc[0]
    assert row["irr"] == pytest.approx(reference["estimate"], rel=1e-7)
    assert row["ci_lower"] == pytest.approx(reference["ci_lower"], rel=1e-6)
    assert row["ci_upper"] == pytest.approx(reference["ci_upper"], rel=1e-6)


def test_cox_90_percent_with_the_few_cluster_correction_as_r(results):
    cox = results["cox"]
    assert cox.interval_df is not None  # clustered by enough municipalities: t on G - 1 df
    row = cox.conf_int(0.10).iloc[0]
    reference = _r("cox").iloc[0]
    assert row["hr"] == pytest.approx(reference["estimate"], rel=1e-6)
    assert row["ci_lower"] == pytest.approx(reference["ci_lower"], rel=1e-4)
    assert row["ci_upper"] == pytest.approx(reference["ci_upper"], rel=1e-4)


def test_cox_without_clusters_uses_wald_z_by_hand(demo):
    from scipy import stats

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cox = ar.cox_model(demo[1], cluster=None)
    row = cox.conf_int(0.20).iloc[0]
    z = stats.norm.ppf(0.90)
    assert row["ci_lower"] == pytest.approx(np.exp(row["coef"] - z * row["se"]), rel=1e-12)
    assert row["ci_upper"] == pytest.approx(np.exp(row["coef"] + z * row["se"]), rel=1e-12)


def test_intervals_narrow_as_alpha_grows(results):
    wide, narrow = results["km"].conf_int(0.01), results["km"].conf_int(0.5)
    ok = wide["ci_lower"].notna()
    assert (wide.loc[ok, "ci_lower"] <= narrow.loc[ok, "ci_lower"]).all()
    assert (wide.loc[ok, "ci_upper"] >= narrow.loc[ok, "ci_upper"]).all()


@pytest.mark.parametrize("alpha", [0, 1, -0.1, 1.5, "a", float("nan")])
def test_bad_alpha_is_a_user_error(results, alpha):
    with pytest.raises(AlisError, match="alpha must lie strictly between 0 and 1"):
        results["cox"].conf_int(alpha)


def test_results_without_intervals_say_so(demo):
    with pytest.raises(AlisError, match="LogRankResult has no confidence intervals"):
        ar.logrank(demo[0]).conf_int()
