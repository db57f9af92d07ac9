"""The Cox engine's sums (alis_research.stats.coxph) against brute force, and its cluster sandwich against rows summed by hand.

The fitted numbers themselves are checked against R's coxph in tests/test_duration.py and
tests/test_comparison.py; this file checks the sparse risk-set and death sums behind them.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from alis_research.stats import coxph


def _counting_process(rng, n=200):
    start = np.where(rng.random(n) < 0.3, np.floor(rng.uniform(0, 5, n)), 0.0)
    stop = start + np.ceil(rng.uniform(0.5, 10, n))  # whole numbers: tied exits
    event = (rng.random(n) < 0.6).astype(int)
    return start, stop, event


def test_risk_and_death_sums_equal_brute_force_with_ties_and_delayed_entry():
    rng = np.random.default_rng(15)
    start, stop, event = _counting_process(rng)
    values = rng.normal(size=(len(stop), 4))
    index = coxph.RiskSetIndex.build(start, stop, event)
    at_risk, dead = index.risk_and_death_sums(values)
    for j, t in enumerate(index.times):
        in_risk_set = (start < t) & (t <= stop)
        dies = (stop == t) & (event == 1)
        np.testing.assert_allclose(at_risk[j], values[in_risk_set].sum(axis=0), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(dead[j], values[dies].sum(axis=0), rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(index.risk_sums(values), at_risk)
    np.testing.assert_array_equal(index.death_sums(values), dead)


def test_cluster_sandwich_sums_dfbeta_per_cluster():
    rng = np.random.default_rng(16)
    start, stop, event = _counting_process(rng, 300)
    X = np.column_stack([rng.integers(0, 2, 300), rng.normal(size=300)]).astype(float)
    fit = coxph.fit_efron(start, stop, event, X)
    cluster = np.asarray([f"{c:04d}" for c in rng.integers(0, 25, 300)], dtype=object)
    dfbeta = fit.score_residuals @ fit.variance
    per_cluster = pd.DataFrame(dfbeta).groupby(cluster).sum().to_numpy()
    np.testing.assert_allclose(coxph.cluster_robust_variance(fit, cluster), per_cluster.T @ per_cluster, rtol=1e-12)
