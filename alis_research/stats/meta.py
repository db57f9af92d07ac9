"""Inverse-variance pooling of estimates with heterogeneity: fixed effect and DerSimonian–Laird.

Used to combine the hazard ratios of several programmes (ALIS-Nord, ALIS-Vest, …) on the
log scale (:func:`alis_research.analysis.robustness.pooled_programmes`). With estimates
:math:`y_i` and variances :math:`v_i`, :math:`w_i = 1/v_i`:

.. math::

    \\hat\\theta_{FE} = \\frac{\\sum w_i y_i}{\\sum w_i}, \\quad
    Q = \\sum w_i (y_i - \\hat\\theta_{FE})^2, \\quad
    \\hat\\tau^2 = \\max\\Big(0, \\frac{Q - (k-1)}{\\sum w_i - \\sum w_i^2 / \\sum w_i}\\Big),

    I^2 = \\max\\Big(0, \\frac{Q - (k-1)}{Q}\\Big), \\quad
    w_i^* = \\frac{1}{v_i + \\hat\\tau^2}, \\quad
    \\hat\\theta_{RE} = \\frac{\\sum w_i^* y_i}{\\sum w_i^*}, \\quad
    \\mathrm{se}(\\hat\\theta_{RE}) = \\Big(\\sum w_i^*\\Big)^{-1/2}

(DerSimonian & Laird 1986; Higgins & Thompson 2002), as R's
``metafor::rma(yi, vi, method = "DL")``. statsmodels'
``statsmodels.stats.meta_analysis.combine_effects(method_re="dl")`` computes the same
quantities; the tests check both against these hand formulas.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class PooledEstimate:
    """Fixed-effect and DerSimonian–Laird random-effects pooled estimates (on the input scale)."""

    k: int
    fixed: float
    fixed_se: float
    random: float
    random_se: float
    q: float
    q_df: int
    q_p_value: float
    i_squared: float
    tau_squared: float

    def interval(self, which: str = "random", alpha: float = 0.05) -> tuple[float, float]:
        """Wald interval of the fixed or random-effects estimate."""
        estimate, se = (self.random, self.random_se) if which == "random" else (self.fixed, self.fixed_se)
        z = stats.norm.ppf(1 - alpha / 2)
        return estimate - z * se, estimate + z * se

    def p_value(self, which: str = "random") -> float:
        estimate, se = (self.random, self.random_se) if which == "random" else (self.fixed, self.fixed_se)
        return float(2 * stats.norm.sf(abs(estimate / se)))


def dersimonian_laird(estimates, standard_errors) -> PooledEstimate:
    """Pool estimates with known standard errors: fixed effect, Q, I², τ² and DL random effects.

    Needs at least two estimates with positive, finite standard errors (raises
    ``ValueError`` otherwise: one programme has nothing to pool). With two estimates
    :math:`\\hat\\tau^2` rests on one degree of freedom and is very imprecise.
    """
    y = np.asarray(estimates, float)
    se = np.asarray(standard_errors, float)
    if y.shape != se.shape or y.ndim != 1:
        raise ValueError("estimates and standard errors must be one-dimensional and of equal length")
    if len(y) < 2:
        raise ValueError(f"at least two estimates are needed to pool, got {len(y)}")
    if not (np.all(np.isfinite(y)) and np.all(np.isfinite(se)) and np.all(se > 0)):
        raise ValueError("every estimate needs a finite value and a positive, finite standard error")
    w = 1.0 / se ** 2
    fixed = float((w * y).sum() / w.sum())
    q = float((w * (y - fixed) ** 2).sum())
    df = len(y) - 1
    c = w.sum() - (w ** 2).sum() / w.sum()
    tau2 = max(0.0, (q - df) / c)
    i2 = max(0.0, (q - df) / q) if q > 0 else 0.0
    w_star = 1.0 / (se ** 2 + tau2)
    random = float((w_star * y).sum() / w_star.sum())
    return PooledEstimate(
        k=len(y), fixed=fixed, fixed_se=float(np.sqrt(1 / w.sum())), random=random,
        random_se=float(np.sqrt(1 / w_star.sum())), q=q, q_df=df, q_p_value=float(stats.chi2.sf(q, df)),
        i_squared=i2, tau_squared=tau2,
    )
