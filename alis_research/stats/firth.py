"""Firth-penalised Cox regression (Heinze & Schemper 2001, 2002) with Efron ties.

Where the ordinary Cox likelihood is *monotone* (a cohort without exits, or all
exits in one group: the estimate runs off to infinity) the Firth correction
still gives a finite estimate.  It maximises the penalised log partial
likelihood

.. math::

    \\ell^*(\\beta) = \\ell(\\beta) + \\tfrac12 \\log\\lvert I(\\beta)\\rvert ,

with :math:`\\ell` the Efron log partial likelihood of (start, stop] intervals
(the ties of :mod:`alis_research.stats.coxph`, as R's ``coxph`` default; R's
``coxphf`` uses Breslow, which agrees when no exits are tied) and :math:`I`
its information.  The modified score is

.. math::

    U^*_r(\\beta) = U_r(\\beta) + \\tfrac12 \\operatorname{tr}\\big(I(\\beta)^{-1}
        \\partial I(\\beta)/\\partial\\beta_r\\big),

where, for Efron step :math:`(j, k)` with weights :math:`w_i = r_i c_{ijk}`
(:math:`c = 1` at risk, :math:`1 - k/d_j` for the exits at :math:`t_j`),
:math:`\\partial I/\\partial\\beta_r = \\sum_{jk} \\sum_i \\pi_i (x_i - a)(x_i - a)^\\top (x_i - a)_r`
is the third central moment under :math:`\\pi_i = w_i / \\sum w`.

Standard errors are :math:`\\sqrt{\\mathrm{diag}\\, I(\\hat\\beta)^{-1}}` (as
``coxphf``); intervals and p-values come from the profile penalised likelihood
(Heinze & Schemper 2002): the interval holds the :math:`b` with
:math:`2\\{\\ell^*(\\hat\\beta) - \\max_{\\beta_r = b} \\ell^*\\} \\le
\\chi^2_{1, 1-\\alpha}`, the p-value is the penalised likelihood-ratio test of
:math:`\\beta_r = 0`.

Dense arrays (Efron steps × rows): meant for the small cohorts it is used on.
Checked against a direct maximisation of :math:`\\ell^*` with R's ``optim``
(``tests/reference/firth.R``).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize, stats

#: Largest change of one coefficient in one Newton step (as coxphf's ``maxstep``).
MAX_STEP = 0.5
#: Profile limits are searched up to this far from zero on the log-hazard scale.
PROFILE_SEARCH_LIMIT = 50.0


@dataclass(frozen=True)
class PenalisedTerms:
    """Penalised and ordinary log partial likelihood, modified score and information at ``beta``."""

    penalised_loglik: float
    loglik: float
    score: np.ndarray
    modified_score: np.ndarray
    information: np.ndarray


@dataclass(frozen=True)
class FirthFit:
    """Result of :func:`fit_firth` (one entry per column of ``X``).

    ``ci_lower``/``ci_upper`` are profile penalised-likelihood limits on the
    coefficient (log-hazard) scale; NaN where the profile never reaches the
    critical value within :data:`PROFILE_SEARCH_LIMIT`.
    """

    coef: np.ndarray
    se: np.ndarray
    variance: np.ndarray
    ci_lower: np.ndarray
    ci_upper: np.ndarray
    lr_statistic: np.ndarray
    p_value: np.ndarray
    penalised_loglik: float
    loglik: float
    iterations: int
    converged: bool
    alpha: float


class EfronSteps:
    """The Efron layout of (start, stop] data as a dense step × row weight matrix.

    One step per exit: at an exit time :math:`t_j` with :math:`d_j` exits, step
    :math:`k = 0..d_j-1` gives weight 1 to every row at risk that does not exit
    at :math:`t_j` and :math:`1 - k/d_j` to the rows that do.
    """

    def __init__(self, start: np.ndarray, stop: np.ndarray, event: np.ndarray):
        start, stop, event = (np.asarray(a, float) for a in (start, stop, event))
        is_event = event == 1
        times = np.unique(stop[is_event])
        deaths = np.array([np.sum(is_event & (stop == t)) for t in times], dtype=int)
        rows = []
        for t, d in zip(times, deaths):
            at_risk = (start < t) & (t <= stop)
            dying = is_event & (stop == t)
            for k in range(d):
                rows.append(np.where(dying, 1.0 - k / d, at_risk.astype(float)))
        self.weights = np.array(rows).reshape(len(rows), len(stop))
        self.is_event = is_event

    @property
    def n_steps(self) -> int:
        return self.weights.shape[0]


def penalised_terms(steps: EfronSteps, X: np.ndarray, beta: np.ndarray) -> PenalisedTerms:
    """:math:`\\ell^*`, :math:`\\ell`, :math:`U`, :math:`U^*` and :math:`I` at ``beta``."""
    eta = X @ beta
    w = steps.weights * np.exp(eta - eta.max())[None, :]  # a common factor cancels in every ratio
    total = w.sum(axis=1)
    pi = w / total[:, None]
    mean = pi @ X
    centred = X[None, :, :] - mean[:, None, :]  # steps × rows × p
    information = np.einsum("si,sip,siq->pq", pi, centred, centred)
    loglik = float(eta[steps.is_event].sum() - (np.log(total) + eta.max()).sum())
    score = X[steps.is_event].sum(axis=0) - mean.sum(axis=0)
    sign, logdet = np.linalg.slogdet(information)
    if sign <= 0 or not np.isfinite(logdet):
        return PenalisedTerms(-np.inf, loglik, score, np.full_like(score, np.nan), information)
    third = np.einsum("si,sip,siq,sir->pqr", pi, centred, centred, centred)
    inverse = np.linalg.inv(information)
    correction = 0.5 * np.einsum("pq,qpr->r", inverse, third)
    return PenalisedTerms(loglik + 0.5 * logdet, loglik, score, score + correction, information)


def _newton_matrix(steps: EfronSteps, X: np.ndarray, beta: np.ndarray, free: np.ndarray,
                   terms: PenalisedTerms) -> np.ndarray:
    """Minus the Hessian of :math:`\\ell^*` on the free coordinates (central differences of the analytic
    :math:`U^*`), or :math:`I` where that is not positive definite.

    :math:`I` alone (coxphf's step matrix) converges slowly or oscillates where the penalty adds
    much curvature, as it does on a monotone likelihood.
    """
    index = np.flatnonzero(free)
    h = 1e-5
    jacobian = np.empty((len(index), len(index)))
    for column, r in enumerate(index):
        shift = np.zeros_like(beta)
        shift[r] = h
        up = penalised_terms(steps, X, beta + shift).modified_score[free]
        down = penalised_terms(steps, X, beta - shift).modified_score[free]
        jacobian[:, column] = -(up - down) / (2 * h)
    jacobian = (jacobian + jacobian.T) / 2
    try:
        if np.all(np.isfinite(jacobian)):
            np.linalg.cholesky(jacobian)
            return jacobian
    except np.linalg.LinAlgError:
        pass
    return terms.information[np.ix_(free, free)]


def _maximise(steps: EfronSteps, X: np.ndarray, beta: np.ndarray, free: np.ndarray,
              *, max_iter: int = 200, tol: float = 1e-10) -> tuple[np.ndarray, PenalisedTerms, int, bool]:
    """Newton–Raphson on the coordinates ``free`` (the others held), step halving on :math:`\\ell^*`."""
    beta = beta.astype(float).copy()
    terms = penalised_terms(steps, X, beta)
    for iteration in range(1, max_iter + 1):
        if not free.any():
            return beta, terms, iteration, True
        try:
            step = np.linalg.solve(_newton_matrix(steps, X, beta, free, terms), terms.modified_score[free])
        except np.linalg.LinAlgError:
            return beta, terms, iteration, False
        largest = np.max(np.abs(step))
        if largest > MAX_STEP:
            step *= MAX_STEP / largest
        new_beta = beta.copy()
        new_beta[free] += step
        new_terms = penalised_terms(steps, X, new_beta)
        halvings = 0
        while not (new_terms.penalised_loglik >= terms.penalised_loglik - 1e-12 * abs(terms.penalised_loglik)) \
                and halvings < 40:
            step /= 2
            new_beta = beta.copy()
            new_beta[free] += step
            new_terms = penalised_terms(steps, X, new_beta)
            halvings += 1
        beta, terms = new_beta, new_terms
        if np.max(np.abs(terms.modified_score[free])) < tol and np.max(np.abs(step)) < 1e-8:
            return beta, terms, iteration, True
    return beta, terms, max_iter, False


def _profile(steps: EfronSteps, X: np.ndarray, beta_hat: np.ndarray, r: int, value: float) -> float:
    """:math:`\\max \\ell^*` with coefficient ``r`` fixed at ``value``."""
    start = beta_hat.copy()
    start[r] = value
    free = np.ones(len(beta_hat), bool)
    free[r] = False
    _, terms, _, _ = _maximise(steps, X, start, free)
    return terms.penalised_loglik


def _profile_limit(deviance, beta_r: float, se_r: float, critical: float, direction: int) -> float:
    """The ``b`` on one side of ``beta_r`` where the profile deviance equals ``critical``."""
    width = se_r if np.isfinite(se_r) and se_r > 0 else 1.0
    inner, outer = beta_r, beta_r + direction * width
    while deviance(outer) < critical:
        inner, outer = outer, beta_r + 2 * (outer - beta_r)
        if abs(outer) > PROFILE_SEARCH_LIMIT:
            return float("nan")
    return float(optimize.brentq(lambda b: deviance(b) - critical, min(inner, outer), max(inner, outer),
                                 xtol=1e-12, rtol=1e-14, maxiter=200))


def fit_firth(start, stop, event, X, *, alpha: float = 0.05, profile: bool = True) -> FirthFit:
    """Maximise the Firth-penalised Efron partial likelihood; profile intervals and LR p-values.

    Parameters
    ----------
    start, stop, event : array-like
        (start, stop] intervals and the exit indicator (1 on the last interval of an exit).
    X : array-like, shape (n, p)
        Covariates (centred internally; the estimates do not change).
    alpha : float
        1 − confidence level of the profile intervals.
    profile : bool
        Compute profile intervals and likelihood-ratio p-values (else NaN).
    """
    X = np.asarray(X, float)
    if X.ndim == 1:
        X = X[:, None]
    X = X - X.mean(axis=0)
    steps = EfronSteps(start, stop, event)
    p = X.shape[1]
    if steps.n_steps == 0:
        raise ValueError("no exits: the Firth-penalised Cox model is not estimable")
    beta, terms, iterations, converged = _maximise(steps, X, np.zeros(p), np.ones(p, bool))
    try:
        variance = np.linalg.inv(terms.information)
    except np.linalg.LinAlgError:
        variance = np.full((p, p), np.nan)
    se = np.sqrt(np.diag(variance))
    lower = np.full(p, np.nan)
    upper = np.full(p, np.nan)
    lr = np.full(p, np.nan)
    if profile and converged:
        critical = float(stats.chi2.ppf(1 - alpha, 1))
        for r in range(p):
            def deviance(b, r=r):
                return 2.0 * (terms.penalised_loglik - _profile(steps, X, beta, r, b))
            lower[r] = _profile_limit(deviance, beta[r], se[r], critical, -1)
            upper[r] = _profile_limit(deviance, beta[r], se[r], critical, +1)
            lr[r] = max(deviance(0.0), 0.0)
    p_value = stats.chi2.sf(lr, 1)
    return FirthFit(coef=beta, se=se, variance=variance, ci_lower=lower, ci_upper=upper, lr_statistic=lr,
                    p_value=p_value, penalised_loglik=terms.penalised_loglik, loglik=terms.loglik,
                    iterations=iterations, converged=converged, alpha=alpha)
