"""Firth-penalised Cox (alis_research.stats.firth) against R's optim (tests/reference/firth.R)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alis_research.stats import coxph
from alis_research.stats import firth

REFERENCE = Path(__file__).parent / "reference"
CASES = {
    "monotone": ("small_cohorts/monotone/intervals.csv", None, ["naering"]),
    "monotone_centrality": ("small_cohorts/monotone/intervals.csv", None, ["naering", "centrality"]),
    "demo_nordland": ("data/demo/intervals.csv", "Nordland", ["naering"]),
    "demo": ("data/demo/intervals.csv", None, ["naering", "centrality"]),
    "handmade_cox": ("data/handmade_cox/intervals.csv", None, ["naering", "age_at_start"]),
}


def _case(name):
    path, area, terms = CASES[name]
    data = pd.read_csv(REFERENCE / path)
    if area is not None:
        data = data[data["area"] == area]
    data = data.assign(naering=(data["contract_type"] == "næring").astype(float))
    return data, data[terms].to_numpy(float)


@pytest.mark.parametrize("name", sorted(CASES))
def test_firth_matches_r_optim(name):
    data, X = _case(name)
    fit = firth.fit_firth(data["start"], data["stop"], data["exit"], X)
    expected = pd.read_csv(REFERENCE / "results" / f"firth_{name}.csv")
    assert fit.converged
    np.testing.assert_allclose(fit.coef, expected["coef"], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(fit.se, expected["se"], rtol=1e-4)
    np.testing.assert_allclose(fit.ci_lower, expected["ci_lower"], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(fit.ci_upper, expected["ci_upper"], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(fit.p_value, expected["p_value"], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(fit.penalised_loglik, expected["penalised_loglik"].iloc[0], rtol=1e-9)
    np.testing.assert_allclose(fit.loglik, expected["loglik"].iloc[0], rtol=1e-7)


def test_monotone_case_is_monotone_for_the_ordinary_fit():
    data, X = _case("monotone")
    ordinary = coxph.fit_efron(data["start"], data["stop"], data["exit"], X)
    assert ordinary.diverged  # no exits on næring: the ordinary estimate runs off to minus infinity
    fit = firth.fit_firth(data["start"], data["stop"], data["exit"], X)
    assert np.isfinite(fit.coef).all() and np.isfinite(fit.ci_lower).all() and np.isfinite(fit.ci_upper).all()
    assert fit.ci_lower[0] < fit.coef[0] < fit.ci_upper[0] < 0


def test_modified_score_is_the_gradient_of_the_penalised_likelihood():
    data, X = _case("handmade_cox")
    steps = firth.EfronSteps(data["start"], data["stop"], data["exit"])
    Xc = X - X.mean(axis=0)
    beta = np.array([0.4, -0.05])
    h = 1e-6
    numeric = [(firth.penalised_terms(steps, Xc, beta + h * e).penalised_loglik
                - firth.penalised_terms(steps, Xc, beta - h * e).penalised_loglik) / (2 * h) for e in np.eye(2)]
    np.testing.assert_allclose(firth.penalised_terms(steps, Xc, beta).modified_score, numeric, rtol=1e-6)


def test_unpenalised_terms_equal_the_efron_engine():
    data, X = _case("handmade_cox")
    steps = firth.EfronSteps(data["start"], data["stop"], data["exit"])
    Xc = X - X.mean(axis=0)
    beta = np.array([0.3, 0.02])
    ours = firth.penalised_terms(steps, Xc, beta)
    index = coxph.RiskSetIndex.build(data["start"].to_numpy(float), data["stop"].to_numpy(float),
                                     data["exit"].to_numpy(int))
    engine = coxph.efron_terms(index, Xc, data["exit"].to_numpy(int), beta)
    assert ours.loglik == pytest.approx(engine.loglik, rel=1e-12)
    np.testing.assert_allclose(ours.information, engine.information, rtol=1e-10)


def test_no_exits_is_refused():
    with pytest.raises(ValueError, match="no exits"):
        firth.fit_firth([0, 0], [1, 2], [0, 0], np.array([[0.0], [1.0]]))


def test_converges_where_the_information_alone_oscillates():
    # one exit-free episode against four: the penalty's curvature is large; coxphf's step matrix
    # (I alone) oscillated here for 200 iterations
    from scipy import optimize

    stop = np.array([3.7, 0.8, 1.4, 1.9, 0.1])
    event = np.array([0, 1, 1, 1, 0])
    x = np.array([[0.0], [1.0], [0.0], [0.0], [0.0]])
    fit = firth.fit_firth(np.zeros(5), stop, event, x)
    assert fit.converged and fit.iterations < 30
    steps = firth.EfronSteps(np.zeros(5), stop, event)
    xc = x - x.mean(axis=0)
    best = optimize.minimize_scalar(lambda b: -firth.penalised_terms(steps, xc, np.array([b])).penalised_loglik,
                                    bounds=(-10, 10), method="bounded", options={"xatol": 1e-12})
    assert fit.coef[0] == pytest.approx(best.x, abs=1e-6)
    assert np.isfinite(fit.ci_lower[0]) and np.isfinite(fit.ci_upper[0])
