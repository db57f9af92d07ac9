"""The Kaplan–Meier (product-limit) estimator, once: arrays in, arrays out.

Retention (:mod:`alis_research.analysis.retention`), contract durations
(:mod:`alis_research.analysis.duration`) and costs (:mod:`alis_research.analysis.costs`) all use
these functions; each is checked against R's ``survival`` package
(``tests/reference/*.R``, ``tests/test_km.py``):

* :func:`product_limit` — event times, numbers at risk, events, censored,
  survival, Greenwood sum, as ``survfit``;
* :func:`loglog_interval` — ``conf.type = "log-log"`` at any alpha;
* :func:`r_quantile` — ``quantile.survfit``'s rule (R's ``findq``), including
  the midpoint rule for a curve that is exactly ``p`` over a stretch;
* :func:`step_values` — a right-continuous step curve at arbitrary times;
* :func:`restricted_mean` — RMST and the Greenwood-based SE of
  ``print(survfit, rmean = tau)``;
* :func:`step_areas` and :func:`survival_on_grid` — areas under a step curve
  and many curves on one time grid at once (the vectorised bootstrap).
"""

from __future__ import annotations

import numpy as np
from scipy import stats

#: Tolerance R's quantile.survfit uses to decide that a curve equals a probability.
R_TOLERANCE = float(np.sqrt(np.finfo(float).eps))


def product_limit(durations, exits) -> dict[str, np.ndarray]:
    """Kaplan–Meier at every distinct time (event or censoring), as R's ``survfit``.

    .. math::

        \\hat S(t) = \\prod_{t_j \\le t} (1 - d_j / n_j), \\qquad
        \\sigma^2(t) = \\sum_{t_j \\le t} \\frac{d_j}{n_j (n_j - d_j)}

    Returns arrays ``time, at_risk, events, censored`` (integers), ``survival``,
    ``greenwood`` (:math:`\\sigma^2`; infinite from the time everyone still at risk
    left, where :math:`\\hat S = 0`) and ``std_err`` of :math:`\\hat S`
    (:math:`\\hat S\\sigma`, NaN where :math:`\\hat S = 0`, as R).
    """
    durations = np.asarray(durations, float)
    exits = np.asarray(exits, int)
    # counts by sorting, not an n × times comparison (the register has 60,000 contracts)
    times, inverse = np.unique(durations, return_inverse=True)
    inverse = inverse.ravel()
    counts = np.bincount(inverse, minlength=len(times))
    events = np.bincount(inverse, weights=exits, minlength=len(times)).astype(int)
    at_risk = len(durations) - np.r_[0, np.cumsum(counts)[:-1]].astype(int)
    survival = np.cumprod(1.0 - events / at_risk)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(events > 0, events / (at_risk * (at_risk - events)), 0.0)
        greenwood = np.cumsum(terms)
        # S = 0 after everyone left (n = d makes the Greenwood sum infinite): 0 * inf is NaN, as R
        std_err = survival * np.sqrt(greenwood)
    return {"time": times, "at_risk": at_risk, "events": events, "censored": counts - events,
            "survival": survival, "greenwood": greenwood, "std_err": std_err}


def loglog_interval(survival, greenwood, *, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """The log-log ("exponential Greenwood") interval of R's ``conf.type = "log-log"``.

    :math:`\\exp(-\\exp(\\log(-\\log \\hat S) \\pm z\\,\\sigma / \\log \\hat S))` with
    :math:`\\sigma^2` the Greenwood sum; NaN where :math:`\\hat S` is 0 or 1 or the sum is infinite.
    """
    survival = np.asarray(survival, float)
    greenwood = np.asarray(greenwood, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = stats.norm.ppf(1 - alpha / 2)
        defined = (survival > 0) & (survival < 1) & np.isfinite(greenwood)
        log_s = np.log(np.where(defined, survival, 0.5))
        shift = z * np.sqrt(greenwood) / log_s
        a = np.exp(-np.exp(np.log(-log_s) + shift))
        b = np.exp(-np.exp(np.log(-log_s) - shift))
    return np.where(defined, np.minimum(a, b), np.nan), np.where(defined, np.maximum(a, b), np.nan)


def r_quantile(times, curve, p: float = 0.5, tol: float = R_TOLERANCE) -> float:
    """The time where ``curve`` first falls to ``p``: a port of R's ``survival:::findq``.

    ``curve`` is a survival curve or one of its confidence limits (NaN where undefined,
    as R's NA). Where the curve equals ``p`` (within ``tol``) over a stretch, the answer
    is the midpoint between the start of that stretch and the next drop (or the last
    observed time if the curve never drops again).  NaN if the curve never reaches ``p``.
    """
    x = np.r_[0.0, np.asarray(times, float)]
    y = np.r_[0.0, 1.0 - np.asarray(curve, float)]
    if np.all(np.isnan(y)) or np.nanmax(y) < p:
        return float("nan")
    last_time = x[-1]
    # first occurrence of each value, NaN counted as one value (R's duplicated)
    _, first = np.unique(y, return_index=True, equal_nan=True)
    first = np.sort(first)
    x, y = x[first], y[first]

    def right_index(shifted):
        # approx(shifted, seq_along, p, method = "constant", f = 1): NA pairs dropped
        ok = ~np.isnan(shifted)
        values, index = shifted[ok], np.flatnonzero(ok)
        order = np.argsort(values, kind="stable")
        values, index = values[order], index[order]
        if len(values) == 0 or p < values[0] or p > values[-1]:
            return None
        return index[np.searchsorted(values, p, side="left")]

    i1, i2 = right_index(y + tol), right_index(y - tol)
    if i1 is not None and not np.isnan(y[-1]) and abs(p - y[-1]) < tol:
        return float((x[i1] + last_time) / 2)
    if i1 is None or i2 is None:
        return float("nan")
    return float((x[i1] + x[i2]) / 2)


def step_values(times, values, at, before_first: float) -> np.ndarray:
    """A right-continuous step function (``values[k]`` from ``times[k]`` on) at the times ``at``.

    ``before_first`` before the first time (1 for survival, 0 for a standard error).
    """
    values = np.asarray(values)
    index = np.searchsorted(np.asarray(times, float), np.asarray(at, float), side="right") - 1
    return np.where(index >= 0, values[np.maximum(index, 0)], before_first)


def restricted_mean(durations, exits, tau: float) -> tuple[float, float]:
    """RMST to ``tau`` and its Greenwood-based SE, as ``print(survfit, rmean = tau)``.

    .. math::

        \\mathrm{RMST}(\\tau) = \\int_0^\\tau \\hat S(t)\\,dt, \\qquad
        \\widehat{\\mathrm{Var}} = \\sum_{t_j \\le \\tau} A_j^2 \\frac{d_j}{n_j (n_j - d_j)},
        \\quad A_j = \\int_{t_j}^{\\tau} \\hat S(t)\\,dt

    with the term set to 0 where :math:`n_j = d_j` (R's convention).  Beyond the
    last observed time the curve is held at its last value, as R does.
    """
    table = product_limit(durations, exits)
    keep = table["time"] <= tau
    kept_times, kept_surv = table["time"][keep], table["survival"][keep]
    times = np.r_[kept_times, tau]
    surv = np.r_[kept_surv, kept_surv[-1] if len(kept_surv) else 1.0]
    n, d = table["at_risk"][keep].astype(float), table["events"][keep].astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        hazard_terms = np.where(n - d == 0, 0.0, d / (n * (n - d)))
    rectangles = np.diff(np.r_[0.0, times]) * np.r_[1.0, surv[:-1]]
    area_beyond = np.cumsum(rectangles[1:][::-1])[::-1]  # area from t_j to tau
    variance = float(np.sum(area_beyond**2 * hazard_terms))
    return float(rectangles.sum()), float(np.sqrt(variance))


def step_areas(times, surv, bounds) -> np.ndarray:
    """Areas under the survival step curve (1 before the first time) between consecutive ``bounds``.

    Beyond the last time the curve is held at its last value, as R's ``survfit`` RMST.
    :math:`F(x) = \\int_0^x S` is piecewise linear with knots at the times, so
    :math:`F` at the bounds comes from the cumulative areas up to each knot.
    """
    times = np.asarray(times, float)
    bounds = np.asarray(bounds, float)
    knots = np.r_[0.0, times]
    values = np.r_[1.0, surv]  # S on [knots[k], knots[k + 1])
    cumulative = np.r_[0.0, np.cumsum(np.diff(knots) * values[:-1])]
    k = np.searchsorted(knots, bounds, side="right") - 1
    return np.diff(cumulative[k] + (bounds - knots[k]) * values[k])


def survival_on_grid(deaths, present) -> np.ndarray:
    """Many Kaplan–Meier curves at once on one grid of times (one row per curve).

    ``deaths[r, k]`` and ``present[r, k]`` are curve r's exits and episodes (any
    status) at grid time k, whole numbers. A time absent from a curve
    (``present == 0``) gets the factor 1.0, so each row holds exactly the numbers
    :func:`product_limit` gives for that curve's own times, carried over the others.
    """
    deaths = np.asarray(deaths, float)
    present = np.asarray(present, float)
    total = present.sum(axis=1, keepdims=True)
    at_risk = total - np.hstack([np.zeros((len(present), 1)), np.cumsum(present, axis=1)[:, :-1]])
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(present > 0, 1.0 - deaths / at_risk, 1.0)
    return np.cumprod(factor, axis=1)
