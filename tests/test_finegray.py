"""Gray's test and the Fine–Gray model (alis_research.stats.finegray) against cmprsk
(tests/reference/finegray.R)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alis_research.stats import finegray as fg

REFERENCE = Path(__file__).parent / "reference"
FILES = {"demo": "data/demo", "handmade": "data/handmade", "handmade_cox": "data/handmade_cox",
         "monotone": "small_cohorts/monotone"}
GRAY = pd.read_csv(REFERENCE / "results" / "finegray_gray.csv")
CRR = pd.read_csv(REFERENCE / "results" / "finegray_crr.csv")


def _episodes(name):
    d = pd.read_csv(REFERENCE / FILES[name] / "episodes.csv")
    cause = np.where(d["exit"] == 0, 0, np.where(d["end_reason"] == "other_gp_same_region", 1,
                                                 np.where(d["end_reason"] == "left_region", 2, 3)))
    return d.assign(cause=cause, naering=(d["cohort"] == "næring").astype(float))


@pytest.mark.parametrize("row", [r for _, r in GRAY.iterrows()], ids=lambda r: f"{r['case']}-{r['strata']}-{r['cause']}")
def test_gray_test_matches_cuminc(row):
    d = _episodes(row["case"])
    strata = d["area"] if row["strata"] == "area" else None
    result = fg.gray_test(d["duration"], d["cause"], d["cohort"], cause_of_interest=int(row["cause"]), strata=strata)
    assert result.statistic == pytest.approx(row["statistic"], rel=1e-9)
    assert result.p_value == pytest.approx(row["p_value"], rel=1e-9)
    assert result.df == row["df"] == 1


@pytest.mark.parametrize("key", sorted(set(zip(CRR["case"], CRR["cause"], CRR["model"]))), ids=str)
def test_fine_gray_matches_crr(key):
    case, cause, model = key
    expected = CRR[(CRR["case"] == case) & (CRR["cause"] == cause) & (CRR["model"] == model)]
    d = _episodes(case)
    fit = fg.fit_fine_gray(d["duration"], d["cause"], d[model.split("+")].to_numpy(float), cause_of_interest=cause)
    assert fit.converged
    np.testing.assert_allclose(fit.coef, expected["coef"], rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(fit.se, expected["se"], rtol=1e-4)
    assert fit.loglik == pytest.approx(expected["loglik"].iloc[0], rel=1e-9)
    assert fit.loglik_null == pytest.approx(expected["loglik_null"].iloc[0], rel=1e-9)


def test_censoring_distribution_by_hand():
    # times 1 (exit), 2 (censored), 2 (exit), 3 (censored): G jumps at 2 by 1 - 1/3 (the tied exit is still at risk)
    g = fg.censoring_survival_left([1, 2, 2, 3], [1, 0, 2, 0])
    np.testing.assert_allclose(g, [1, 1, 1, 2 / 3])


def test_without_competing_exits_fine_gray_is_the_breslow_cox_model():
    d = _episodes("handmade")
    from alis_research.stats import coxph

    cause = np.where(d["cause"] > 0, 1, 0)  # every exit of interest: no competing exit, weights all 1
    # Breslow and Efron agree only without tied exits: drop the ties for this identity
    untied = ~d["duration"].where(cause == 1).duplicated(keep=False) | (cause == 0)
    fit = fg.fit_fine_gray(d["duration"][untied], cause[untied], d[["naering"]][untied].to_numpy(float))
    cox = coxph.fit_efron(np.zeros(untied.sum()), d["duration"][untied].to_numpy(), cause[untied],
                          d[["naering"]][untied].to_numpy(float))
    assert fit.coef[0] == pytest.approx(cox.coef[0], rel=1e-8)


def test_no_cause_exits_is_refused():
    with pytest.raises(ValueError, match="no exits from the cause"):
        fg.fit_fine_gray([1, 2, 3], [0, 2, 0], np.array([[0.0], [1.0], [0.0]]))
    with pytest.raises(ValueError, match="two groups"):
        fg.gray_test([1, 2], [1, 0], ["a", "a"])
