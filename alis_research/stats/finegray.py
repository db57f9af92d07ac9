"""Competing exits: Gray's test and the Fine–Gray subdistribution-hazard model, as R's ``cmprsk``.

Notation: episode :math:`i` has time :math:`T_i` and cause :math:`\\epsilon_i`
(0 censored, 1 the cause of interest, any other positive code a competing exit).

**Gray's test** (Gray 1988; R ``cmprsk::cuminc``, ``rho = 0``) compares the
cumulative incidence :math:`F_{1g}` of the cause of interest between groups
:math:`g = 1..G`.  At each distinct time, with :math:`Y_g` at risk in group
:math:`g`, :math:`S_g(t-)` its all-cause Kaplan–Meier and :math:`F_{1g}(t-)` its
cumulative incidence (left limits), :math:`h_g = Y_g / S_g(t-)`,
:math:`R_g = h_g (1 - F_{1g}(t-))` and :math:`d_{1g}` exits from the cause, the score
of group :math:`g` is

.. math::

    s_g = \\sum_t \\Big[d_{1g} - d_1 \\frac{R_g}{\\sum_l R_l}\\Big],

for the first :math:`G-1` groups, and its variance the martingale estimate of
Gray's paper with the tie corrections of ``cmprsk``'s ``crstm`` (the
:math:`1 - (d-1)/(n-1)` factors).  :math:`\\chi^2 = s^\\top V^{-1} s` on
:math:`G-1` degrees of freedom; strata add their scores and variances.

**Fine–Gray** (Fine & Gray 1999; R ``cmprsk::crr``): the subdistribution hazard
:math:`\\lambda_1(t \\mid x) = \\lambda_{10}(t) e^{x^\\top\\beta}` is fitted by a
Cox partial likelihood (Breslow ties, as ``crr``) in which an episode that had a
competing exit at :math:`T_k < t` stays in the risk set at :math:`t` with the
inverse-probability-of-censoring weight :math:`w_k(t) = \\hat G(t-)/\\hat G(T_k-)`,
:math:`\\hat G` the Kaplan–Meier estimate of the censoring distribution (all
episodes pooled; a censoring tied with an exit happens after it).  With
distinct cause-1 times :math:`\\tau_j`, :math:`d_j` exits, weights
:math:`W_{ji}` (1 while :math:`T_i \\ge \\tau_j`, :math:`w_i(\\tau_j)` after a
competing exit, else 0) and :math:`S^{(m)}_j = \\sum_i W_{ji} e^{x_i^\\top\\beta} x_i^{\\otimes m}`:

.. math::

    \\ell(\\beta) = \\sum_{\\epsilon_i = 1} x_i^\\top\\beta - \\sum_j d_j \\log S^{(0)}_j .

The variance is ``crr``'s sandwich :math:`I^{-1} \\big(\\sum_i (\\eta_i + \\psi_i)^{\\otimes 2}\\big) I^{-1}`:
:math:`\\eta_i` the score residual and :math:`\\psi_i` the correction for the
estimated censoring distribution,

.. math::

    \\psi_i = \\frac{q(T_i)}{Y(T_i)} 1\\{\\epsilon_i = 0\\} - \\sum_{\\epsilon_c = 0,\\, T_c \\le T_i}
        \\frac{q(T_c)}{Y(T_c)^2}, \\qquad
    q(u) = \\sum_{\\tau_j \\ge u} \\frac{d_j}{S^{(0)}_j} \\sum_{T_k < u,\\, \\epsilon_k \\ne 0, 1}
        W_{jk} e^{x_k^\\top\\beta} (x_k - \\bar x_j),

with :math:`Y(u)` the number with :math:`T \\ge u` and :math:`\\bar x_j = S^{(1)}_j / S^{(0)}_j`.

Dense arrays (cause-1 times × episodes): meant for the cohorts of this package.
Checked against ``cmprsk`` (``tests/reference/finegray.R``).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class GrayTest:
    """Gray's test of equal cumulative incidence of one cause across groups."""

    statistic: float
    df: int
    p_value: float
    scores: np.ndarray
    variance: np.ndarray
    groups: tuple


def _gray_stratum(time, cause, group_codes, n_groups, rho):
    """Scores (first G-1 groups) and their variance in one stratum."""
    ng, ng1 = n_groups, n_groups - 1
    at_risk = np.bincount(group_codes, minlength=ng).astype(float)
    km_left = np.ones(ng)  # all-cause KM per group, left limit
    cif_left = np.zeros(ng)  # cumulative incidence of the cause per group, left limit
    km_right, cif_right = km_left.copy(), cif_left.copy()
    pooled_left = 0.0
    s = np.zeros(ng1)
    v = np.zeros((ng1, ng1))
    v2 = np.zeros((ng1, ng))
    v3 = np.zeros(ng)
    c = np.zeros((ng, ng))
    distinct, position = np.unique(time, return_inverse=True)
    counts = np.zeros((len(distinct), 3, ng))
    np.add.at(counts, (position, np.minimum(cause, 2), group_codes), 1)
    for k in range(len(distinct)):
        d0, d1, d2 = counts[k]
        nd1, nd2 = d1.sum(), d2.sum()
        if nd1 > 0 or nd2 > 0:
            alive = at_risk > 0
            safe_risk = np.where(alive, at_risk, 1.0)
            safe_km = np.where(alive, km_left, 1.0)
            km_right = np.where(alive, km_left * (at_risk - d1 - d2) / safe_risk, km_right)
            cif_right = np.where(alive, cif_left + km_left * d1 / safe_risk, cif_right)
            h = np.where(alive, at_risk / safe_km, 0.0)
            total_h = h.sum()
            total_r = np.sum(np.where(alive, at_risk * (1 - cif_left) / safe_km, 0.0))
            pooled = pooled_left + nd1 / total_h
            weight = (1 - pooled_left) ** rho
            a = weight * (np.diag(h) - np.outer(h, h) / total_h)
            c += a * nd1 / (total_h * (1 - pooled_left))
            first = np.arange(ng1)
            s += np.where(alive[first], weight * (d1[first] - nd1 * at_risk[first] * (1 - cif_left[first])
                                                  / (safe_km[first] * total_r)), 0.0)
            if nd1 > 0:
                for g in np.flatnonzero(alive):
                    t4 = 1 - (1 - pooled) / km_right[g] if km_right[g] > 0 else 1.0
                    t5 = 1 - (nd1 - 1) / (total_h * km_left[g] - 1) if nd1 > 1 else 1.0
                    t3 = t5 * km_left[g] * nd1 / (total_h * at_risk[g])
                    v3[g] += t4 * t4 * t3
                    t1 = a[:ng1, g] - t4 * c[:ng1, g]
                    v2[:, g] += t1 * t4 * t3
                    v += np.outer(t1, t1) * t3
            if nd2 > 0:
                for g in np.flatnonzero((km_right > 0) & (d2 > 0)):
                    t4 = (1 - pooled) / km_right[g]
                    t5 = 1 - (d2[g] - 1) / (at_risk[g] - 1) if d2[g] > 1 else 1.0
                    t3 = t5 * km_left[g] ** 2 * d2[g] / at_risk[g] ** 2
                    v3[g] += t4 * t4 * t3
                    t1 = t4 * c[:ng1, g]
                    v2[:, g] -= t1 * t4 * t3
                    v += np.outer(t1, t1) * t3
            pooled_left = pooled
        at_risk = at_risk - d0 - d1 - d2
        cif_left, km_left = cif_right.copy(), km_right.copy()
    cg = c[:ng1, :]
    v += (cg * v3) @ cg.T + cg @ v2.T + v2 @ cg.T
    return s, v


def gray_test(time, cause, group, *, cause_of_interest=1, strata=None, rho: float = 0.0) -> GrayTest:
    """Gray's K-sample test for the cumulative incidence of ``cause_of_interest`` (``cmprsk::cuminc``).

    ``cause`` holds 0 for a censoring and a positive code per exit cause; every
    exit cause other than ``cause_of_interest`` competes.  Groups are ordered as
    ``numpy.unique`` sorts them (R sorts factor levels the same way).
    """
    time = np.asarray(time, float)
    cause = np.asarray(cause)
    coded = np.where(cause == cause_of_interest, 1, np.where(cause == 0, 0, 2)).astype(int)
    levels, group_codes = np.unique(np.asarray(group), return_inverse=True)
    if len(levels) < 2:
        raise ValueError("Gray's test needs at least two groups")
    strata = np.zeros(len(time), int) if strata is None else np.unique(np.asarray(strata), return_inverse=True)[1]
    ng1 = len(levels) - 1
    s, v = np.zeros(ng1), np.zeros((ng1, ng1))
    for stratum in np.unique(strata):
        rows = strata == stratum
        order = np.argsort(time[rows], kind="stable")
        s_k, v_k = _gray_stratum(time[rows][order], coded[rows][order], group_codes[rows][order], len(levels), rho)
        s += s_k
        v += v_k
    try:
        statistic = float(s @ np.linalg.solve(v, s))
    except np.linalg.LinAlgError:
        statistic = float("nan")
    return GrayTest(statistic, ng1, float(stats.chi2.sf(statistic, ng1)) if np.isfinite(statistic) else float("nan"),
                    s, v, tuple(levels))


@dataclass(frozen=True)
class FineGrayFit:
    """Fine–Gray fit: coefficients, ``crr``'s sandwich variance, log pseudo-likelihoods."""

    coef: np.ndarray
    variance: np.ndarray
    se: np.ndarray
    information: np.ndarray
    loglik: float
    loglik_null: float
    iterations: int
    converged: bool


def censoring_survival_left(time, cause) -> np.ndarray:
    """:math:`\\hat G(T_i-)`: Kaplan–Meier of the censorings, a censoring tied with an exit coming after it."""
    time = np.asarray(time, float)
    censored = np.asarray(cause) == 0
    distinct, position = np.unique(time, return_inverse=True)
    at_risk = len(time) - np.searchsorted(np.sort(time), distinct, side="left")
    n_censored = np.bincount(position, weights=censored, minlength=len(distinct))
    survival = np.cumprod(1 - n_censored / at_risk)
    left = np.concatenate([[1.0], survival[:-1]])
    return left[position]


class _FineGrayDesign:
    def __init__(self, time, cause, X, cause_of_interest):
        self.time = np.asarray(time, float)
        cause = np.asarray(cause)
        self.X = np.asarray(X, float).reshape(len(self.time), -1)
        self.is_event = cause == cause_of_interest
        self.is_censored = cause == 0
        self.is_competing = ~self.is_event & ~self.is_censored
        g_left = censoring_survival_left(self.time, cause)
        self.event_times, self.deaths = np.unique(self.time[self.is_event], return_counts=True)
        tau = self.event_times[:, None]
        # G(tau-) is G(T-) of the exits at tau
        g_tau = np.array([g_left[self.is_event & (self.time == t)][0] for t in self.event_times])
        after_competing = (self.time[None, :] < tau) & self.is_competing[None, :]
        self.W = np.where(self.time[None, :] >= tau, 1.0,
                          np.where(after_competing, g_tau[:, None] / g_left[None, :], 0.0))

    def terms(self, beta):
        eta = self.X @ beta
        w = self.W * np.exp(eta)[None, :]
        s0 = w.sum(axis=1)
        mean = (w @ self.X) / s0[:, None]
        centred = self.X[None, :, :] - mean[:, None, :]
        per_time = np.einsum("ji,jip,jiq->jpq", w / s0[:, None], centred, centred)
        information = np.einsum("j,jpq->pq", self.deaths, per_time)
        loglik = float(eta[self.is_event].sum() - np.sum(self.deaths * np.log(s0)))
        score = self.X[self.is_event].sum(axis=0) - self.deaths @ mean
        return loglik, score, information, s0, mean


def fit_fine_gray(time, cause, X, *, cause_of_interest=1, max_iter: int = 100, tol: float = 1e-12) -> FineGrayFit:
    """Fine–Gray model for ``cause_of_interest`` with ``crr``'s likelihood and sandwich variance.

    Newton–Raphson from zero with step halving; stops when the largest score
    component times max(|beta|, 1) is below ``tol`` × max(|log-likelihood|, 1)
    (``crr``'s rule; ``crr``'s default ``gtol`` is 1e-6, the reference uses 1e-12).
    """
    design = _FineGrayDesign(time, cause, X, cause_of_interest)
    if len(design.event_times) == 0:
        raise ValueError("no exits from the cause of interest: the Fine–Gray model is not estimable")
    p = design.X.shape[1]
    beta = np.zeros(p)
    loglik, score, information, _, _ = design.terms(beta)
    loglik_null = loglik
    converged = False
    iteration = 0
    for iteration in range(max_iter + 1):
        if np.max(np.abs(score) * np.maximum(np.abs(beta), 1)) < max(abs(loglik), 1) * tol:
            converged = True
            break
        try:
            step = np.linalg.solve(information, score)
        except np.linalg.LinAlgError:
            break
        new = design.terms(beta + step)
        for _ in range(30):  # halve the step while the likelihood falls (crr halves on an Armijo rule)
            if np.isfinite(new[0]) and new[0] >= loglik - 1e-12 * abs(loglik):
                break
            step = step / 2
            new = design.terms(beta + step)
        beta = beta + step
        loglik, score, information = new[0], new[1], new[2]
        if np.any(np.abs(beta) > 30):
            break
    variance = _crr_variance(design, beta)
    _, _, information, _, _ = design.terms(beta)
    return FineGrayFit(beta, variance, np.sqrt(np.diag(variance)), information, loglik, loglik_null,
                       iteration, converged)


def _crr_variance(design: _FineGrayDesign, beta: np.ndarray) -> np.ndarray:
    """``crr``'s sandwich :math:`I^{-1} \\sum_i (\\eta_i + \\psi_i)^{\\otimes 2} I^{-1}`."""
    _, _, information, s0, mean = design.terms(beta)
    X, W, time = design.X, design.W, design.time
    risk = np.exp(X @ beta)
    n, p = X.shape
    time_index = np.searchsorted(design.event_times, time)  # for exits: their event time
    # eta_i: dN part minus the d Lambda part over every cause-1 time
    eta = np.zeros((n, p))
    eta[design.is_event] = X[design.is_event] - mean[time_index[design.is_event]]
    hazard = design.deaths / s0  # d_j / S0_j
    weight = W * risk[None, :] * hazard[:, None]  # J × n
    eta -= weight.sum(axis=0)[:, None] * X - weight.T @ mean
    # q(u) at every censoring time u, from competing exits before u
    psi = np.zeros((n, p))
    if design.is_censored.any():
        u_times = np.unique(time[design.is_censored])
        n_at_risk = n - np.searchsorted(np.sort(time), u_times, side="left")
        competing_contrib = W * risk[None, :] * design.is_competing[None, :]  # J × n
        q = np.zeros((len(u_times), p))
        for k, u in enumerate(u_times):
            later = design.event_times >= u
            before = time < u
            part = competing_contrib[np.ix_(later, before)] * hazard[later, None]  # J' × n'
            q[k] = (part @ X[before]).sum(axis=0) - (part.sum(axis=1) @ mean[later])
        per_censoring = q / (n_at_risk[:, None] ** 2)
        n_censored = np.array([np.sum(design.is_censored & (time == u)) for u in u_times])
        cumulative = np.cumsum(per_censoring * n_censored[:, None], axis=0)
        upto = np.searchsorted(u_times, time, side="right") - 1  # last censoring time <= T_i
        psi[upto >= 0] -= cumulative[upto[upto >= 0]]
        own = np.searchsorted(u_times, time[design.is_censored])
        psi[design.is_censored] += q[own] / n_at_risk[own, None]
    total = eta + psi
    inverse = np.linalg.inv(information)
    return inverse @ (total.T @ total) @ inverse
