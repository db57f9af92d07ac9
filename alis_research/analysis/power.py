"""How precise can a 32-person evaluation be?  Power of the log-rank test and the Cox model by simulation.

The evaluation design is simulated many times: two cohorts (fastlønn, the
reference, and næring), start dates spread over an accrual window (or given
start dates), Weibull times to exit whose median in the reference cohort is
``baseline_median`` years (3.8: the median GP contract length in Northern Norway,
NSDM 2018), a true hazard ratio næring vs fastlønn, optional random drop-out,
and administrative censoring at the end of follow-up.  Each simulated cohort is
analysed with

* the **log-rank test** (the score test of the Cox model at :math:`\\beta = 0`), and
* the **Cox model**'s Wald test of :math:`\\beta`,

both two-sided at level ``alpha``.  Power is the rejection rate, with its
Monte-Carlo standard error :math:`\\sqrt{p(1-p)/B}`.

Speed: every simulated cohort is analysed at once.  Times are continuous, so
there are no tied exits and the Cox partial likelihood (Breslow = Efron) with one
binary covariate needs only the numbers at risk per cohort at each exit, which a
sort and a cumulative sum give for all simulations together; Newton–Raphson runs
on all of them in parallel (NumPy arrays, no Python loop over simulations).  The
tests check the statistics against ``retention.logrank`` and
``coxph.fit_efron`` (the package's R-checked estimators) on single datasets.
"""
from __future__ import annotations

import functools
import json
import time
import warnings
from dataclasses import dataclass
from typing import Any, ClassVar, Sequence

import numpy as np
import pandas as pd
from scipy import special, stats

from .. import config
from ..errors import AlisError, NotEstimableWarning
from ..result import AnalysisResult
from .memo import memoised

#: Median contract length in Northern Norway (NSDM 2018), years: the reference cohort's median.
BASELINE_MEDIAN = 3.8
#: ALIS-Nord: 17 fastlønn + 15 næring starting in autumn 2019, followed to the end of 2024.
ALIS_NORD_DESIGN = {"n_fastlonn": 17, "n_naering": 15, "accrual": ("2019-08-01", "2019-12-31"),
                    "follow_up_end": "2024-12-31"}
#: A national ALIS cohort: starts spread from the new specialist rules (1 March 2019) to the end of 2023.
NATIONAL_ACCRUAL = ("2019-03-01", "2023-12-31")
NATIONAL_DEFAULT_N = 150
#: Hazard ratios shown when the CLI is given none.
DEFAULT_HR_GRID = (1.0, 1.25, 1.5, 2.0, 2.5, 3.0, 4.0)
#: A Cox coefficient beyond this is treated as running off to infinity (as coxph.DIVERGENCE_LIMIT).
DIVERGENCE_LIMIT = 10.0
NEWTON_ITERATIONS = 30
#: Grid steps on log HR searched for a first crossing when the search limit misses the target power.
MDE_GRID_POINTS = 20
TESTS = ("log-rank", "Cox Wald")


# --------------------------------------------------------------------------- simulation


def _to_years(dates, follow_up_end: pd.Timestamp) -> np.ndarray:
    return ((follow_up_end - pd.DatetimeIndex(dates)).days / config.DAYS_PER_YEAR).to_numpy(float)


def _parse_date(value, name: str) -> pd.Timestamp:
    try:
        return pd.Timestamp(value).normalize()
    except (TypeError, ValueError):
        raise AlisError(f"{name}: {value!r} is not a date (expected YYYY-MM-DD)") from None


@functools.lru_cache(maxsize=16)
def _follow_up_sampler(accrual, follow_up_end, n_total: int):
    """A function rng, simulations -> potential follow-up (years) per simulated person, and its summary.

    Cached (the detectable-effect search asks ~50 times for the same design); the summary
    array is read-only.
    """
    end = _parse_date(follow_up_end, "follow_up_end")
    if isinstance(accrual, tuple) and len(accrual) == 2 and n_total != 2:
        first, last = _parse_date(accrual[0], "accrual start"), _parse_date(accrual[1], "accrual end")
        if last < first:
            raise AlisError(f"accrual ends ({last.date()}) before it starts ({first.date()})")
        if last >= end:
            raise AlisError(f"accrual must end before follow_up_end ({end.date()}), got {last.date()}")
        longest, shortest = _to_years([first], end)[0], _to_years([last], end)[0]
        return _FollowUpSampler(("window", n_total, shortest, longest),
                                lambda rng, s: rng.uniform(shortest, longest, size=(s, n_total))), (shortest, longest)
    starts = [_parse_date(d, "start date") for d in accrual]
    if len(starts) != n_total:
        raise AlisError(f"give either an accrual window (first, last) or one start date per person "
                        f"({n_total}); got {len(starts)} dates")
    follow_up = _to_years(starts, end)
    follow_up.flags.writeable = False
    if (follow_up <= 0).any():
        raise AlisError(f"every start date must lie before follow_up_end ({end.date()})")
    return _FollowUpSampler(("dates", tuple(follow_up.tolist())),
                            lambda rng, s: np.broadcast_to(follow_up, (s, n_total))), follow_up


@dataclass(frozen=True)
class _FollowUpSampler:
    """``sampler(rng, simulations)`` -> potential follow-up per simulated person; ``design`` says which."""

    design: tuple
    draw: Any

    def __call__(self, rng, simulations):
        return self.draw(rng, simulations)


def _statistics(time_: np.ndarray, event: np.ndarray, x: np.ndarray) -> dict[str, np.ndarray]:
    """Log-rank and Cox statistics for every row (simulation) of ``time_``/``event`` (no tied times).

    With one binary covariate and no ties, at the j-th exit the risk set holds
    :math:`n_{1j}` næring and :math:`n_{0j}` fastlønn; with :math:`r = e^\\beta` and
    :math:`p_j = n_{1j} r / (n_{0j} + n_{1j} r)`

    .. math::

        U(\\beta) = \\sum_j (x_j - p_j), \\qquad I(\\beta) = \\sum_j p_j (1 - p_j),

    the log-rank statistic is :math:`U(0)^2 / I(0)` and the Wald statistic
    :math:`\\hat\\beta^2 I(\\hat\\beta)`.
    """
    # stable: exit times can tie too (an extreme Weibull shape underflows or rounds them), and the
    # order of tied rows then decides the risk sets
    order = np.argsort(time_, axis=1, kind="stable")
    x_sorted = x[order]
    event_sorted = np.take_along_axis(event, order, axis=1)
    n_total = time_.shape[1]
    at_risk = (n_total - np.arange(n_total)).astype(float)[None, :]
    at_risk_1 = np.cumsum(x_sorted[:, ::-1], axis=1)[:, ::-1].astype(float)
    at_risk_0 = at_risk - at_risk_1
    d = event_sorted.astype(float)
    observed_1 = (d * x_sorted).sum(axis=1)

    def score_information(beta, rows=slice(None)):
        r = np.exp(beta)[:, None]
        p = at_risk_1[rows] * r / (at_risk_0[rows] + at_risk_1[rows] * r)
        return observed_1[rows] - (d[rows] * p).sum(axis=1), (d[rows] * p * (1 - p)).sum(axis=1)

    score0, info0 = score_information(np.zeros(len(time_)))
    with np.errstate(divide="ignore", invalid="ignore"):
        logrank_chi2 = np.where(info0 > 0, score0**2 / info0, np.nan)
    beta = np.zeros(len(time_))
    active = info0 > 0
    converged = np.zeros(len(time_), dtype=bool)
    for _ in range(NEWTON_ITERATIONS):
        # Only the simulations still iterating: the others' step would be 0 (the same numbers, less work).
        rows = np.flatnonzero(active)
        if not len(rows):
            break
        if len(rows) == len(time_):
            rows = slice(None)  # all of them: a view, not three copies of the risk sets
        score, info = score_information(beta[rows], rows)
        with np.errstate(divide="ignore", invalid="ignore"):
            step = np.where(info > 0, score / info, 0.0)
        step = np.clip(step, -2.0, 2.0)  # bounded steps: the likelihood is concave, this only slows a runaway
        beta[rows] = beta[rows] + step
        converged[rows] |= np.abs(step) < 1e-9
        active[rows] = ~converged[rows] & (np.abs(beta[rows]) < DIVERGENCE_LIMIT)
    _, info = score_information(beta)
    estimable = converged & (np.abs(beta) < DIVERGENCE_LIMIT) & (info > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        wald_chi2 = np.where(estimable, beta**2 * info, np.nan)
    return {"logrank_chi2": logrank_chi2, "wald_chi2": wald_chi2, "beta": np.where(estimable, beta, np.nan),
            "events": d.sum(axis=1), "events_naering": observed_1}


_DRAWS: dict = {}


def _random_draws(n_total, follow_up_of, dropout_per_year, simulations, seed):
    """Follow-up, standard exponentials and drop-out times of every simulated person (read-only arrays).

    Drawn in a fixed order from ``seed``, so one seed gives the same people under every hazard
    ratio; the last design's draws are kept, since a detectable-effect search asks for them at
    some fifty hazard ratios (``follow_up_of`` is compared by its design, see :func:`_follow_up_sampler`).
    """
    key = (n_total, follow_up_of.design, float(dropout_per_year), int(simulations), seed)
    draws = _DRAWS.get(key)
    if draws is None:  # (a local result: another thread clearing the cache cannot take it away)
        rng = np.random.default_rng(seed)
        follow_up = follow_up_of(rng, simulations)
        exponential = rng.standard_exponential((simulations, n_total))
        dropout = (rng.standard_exponential((simulations, n_total)) / dropout_per_year
                   if dropout_per_year > 0 else np.full((simulations, n_total), np.inf))
        for array in (follow_up, exponential, dropout):
            array.flags.writeable = False
        draws = (follow_up, exponential, dropout)
        _DRAWS.clear()
        _DRAWS[key] = draws
    return draws


def _simulate_statistics(n_fastlonn, n_naering, hazard_ratio, baseline_median, shape, follow_up_of,
                         dropout_per_year, simulations, seed) -> dict[str, np.ndarray]:
    n_total = n_fastlonn + n_naering
    x = np.r_[np.zeros(n_fastlonn, dtype=np.int8), np.ones(n_naering, dtype=np.int8)]
    follow_up, exponential, dropout = _random_draws(n_total, follow_up_of, dropout_per_year, simulations, seed)
    scale = baseline_median / np.log(2.0) ** (1.0 / shape)
    hazard = np.where(x == 1, hazard_ratio, 1.0)[None, :]
    exit_time = scale * (exponential / hazard) ** (1.0 / shape)
    censor = np.minimum(follow_up, dropout)
    event = exit_time <= censor
    return _statistics(np.minimum(exit_time, censor), event, x)


@functools.lru_cache(maxsize=8)
def _critical_values(alpha: float) -> tuple[float, float]:
    """χ²₁ and normal critical values of a two-sided level ``alpha`` (a detectable-effect search asks ~50 times)."""
    return stats.chi2.ppf(1 - alpha, df=1), stats.norm.ppf(1 - alpha / 2)


def _check_design(n_fastlonn, n_naering, hazard_ratio, baseline_median, shape, simulations, alpha, dropout_per_year,
                  seed=0):
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise AlisError(f"seed must be a non-negative integer, got {seed!r}")
    for name, value in (("n_fastlonn", n_fastlonn), ("n_naering", n_naering)):
        if int(value) != value or value < 1:
            raise AlisError(f"{name} must be a whole number of people >= 1, got {value!r}")
    for hr in np.atleast_1d(hazard_ratio):
        if not np.isfinite(hr) or hr <= 0:
            raise AlisError(f"hazard ratio must be a positive number (1 = no difference), got {float(hr):g}")
    if not baseline_median > 0 or not shape > 0:
        raise AlisError(f"baseline_median and shape must be positive, got {baseline_median!r} and {shape!r}")
    if int(simulations) < 10:
        raise AlisError(f"simulations must be at least 10, got {simulations!r}")
    if not 0 < alpha < 1:
        raise AlisError(f"alpha must lie between 0 and 1, got {alpha!r}")
    if dropout_per_year < 0:
        raise AlisError(f"dropout_per_year must be >= 0, got {dropout_per_year!r}")


# --------------------------------------------------------------------------- analytic approximation

#: Gauss-Legendre rule of :func:`expected_events` (computed once: the search calls it ~50 times).
_GAUSS_NODES, _GAUSS_WEIGHTS = np.polynomial.legendre.leggauss(60)


def expected_events(*, n_fastlonn, n_naering, hazard_ratio, baseline_median=BASELINE_MEDIAN, shape=1.0,
                    follow_up=(5.0, 5.0), dropout_per_year=0.0) -> float:
    """Expected number of exits seen in the design (numerical integration).

    ``follow_up``: (shortest, longest) potential follow-up in years, uniform between
    (uniform accrual), or an array of each person's follow-up.
    """
    scale = baseline_median / np.log(2.0) ** (1.0 / shape)
    if isinstance(follow_up, tuple):
        lo, hi = follow_up
        grid = np.linspace(lo, hi, 201) if hi > lo else np.array([lo])
        per_person = {0: grid, 1: grid}
    else:
        follow_up = np.asarray(follow_up, float)
        per_person = {0: follow_up[:n_fastlonn], 1: follow_up[n_fastlonn:]}
    nodes, weights = _GAUSS_NODES, _GAUSS_WEIGHTS

    def probability(h, c):
        # P(T <= min(c, D)) = int_0^c f_h(t) exp(-d t) dt, T Weibull with hazard multiplier h
        t = (nodes[None, :] + 1) * c[:, None] / 2
        cumulative = h * (t / scale) ** shape
        density = h * shape / scale * (t / scale) ** (shape - 1) * np.exp(-cumulative)
        return (c / 2 * (weights[None, :] * density * np.exp(-dropout_per_year * t)).sum(axis=1)).mean()

    return float(n_fastlonn * probability(1.0, per_person[0]) + n_naering * probability(hazard_ratio, per_person[1]))


def schoenfeld_power(events: float, hazard_ratio: float, *, share_naering: float, alpha: float = 0.05) -> float:
    """Schoenfeld's approximation, both tails: :math:`\\Phi(\\delta - z) + \\Phi(-\\delta - z)`.

    :math:`\\delta = \\sqrt{D\\,\\pi(1-\\pi)}\\,|\\log HR|` with :math:`D` expected exits,
    :math:`\\pi` the næring share and :math:`z = z_{1-\\alpha/2}`; equals ``alpha`` at HR = 1.
    """
    # scipy.special's ndtr/ndtri are what stats.norm.cdf/ppf compute, without their argument handling
    # (the detectable-effect search calls this ~100 times)
    z = special.ndtri(1 - alpha / 2)
    delta = np.sqrt(events * share_naering * (1 - share_naering)) * abs(np.log(hazard_ratio))
    return float(special.ndtr(delta - z) + special.ndtr(-delta - z))


# --------------------------------------------------------------------------- results


@dataclass
class PowerResult(AnalysisResult):
    """Simulated power per hazard ratio and test, with Monte-Carlo standard errors."""

    power: pd.DataFrame | None = None

    title: ClassVar[str] = "Power of the evaluation design (simulation)"
    _tables: ClassVar[tuple[str, ...]] = ("power",)

    def at(self, hazard_ratio: float, test: str = "log-rank") -> float:
        table = self.power
        match = np.isclose(table["hazard_ratio"].to_numpy(float), hazard_ratio) & (table["test"].to_numpy() == test)
        if not match.any():
            raise AlisError(f"no power computed for hazard ratio {hazard_ratio} and test {test!r}")
        return float(table["power"].to_numpy()[np.argmax(match)])


def simulate_power(
    *,
    n_fastlonn: int = 17,
    n_naering: int = 15,
    hazard_ratio: float | Sequence[float],
    baseline_median: float = BASELINE_MEDIAN,
    shape: float = 1.0,
    accrual: Sequence = ALIS_NORD_DESIGN["accrual"],
    follow_up_end: str = ALIS_NORD_DESIGN["follow_up_end"],
    dropout_per_year: float = 0.0,
    simulations: int = 1000,
    alpha: float = config.DEFAULT_ALPHA,
    seed: int = 2019,
) -> PowerResult:
    """Power of the log-rank test and the Cox Wald test for the design, by simulation.

    Parameters
    ----------
    n_fastlonn, n_naering : int
        People per cohort (fastlønn is the reference).
    hazard_ratio : float or sequence of float
        True hazard ratio næring vs fastlønn (> 1: næring leave sooner).
    baseline_median : float
        Median time to exit in the fastlønn cohort, years (default 3.8, NSDM 2018).
    shape : float
        Weibull shape of the time to exit (1: constant hazard).
    accrual : (first, last) or sequence of dates
        Start dates uniform over the window, or one start date per person
        (fastlønn first): staggered starts.
    follow_up_end : date
        Administrative censoring date.
    dropout_per_year : float
        Rate of random drop-out (loss to follow-up) per year, censoring too.
    simulations : int
        Simulated cohorts per hazard ratio.
    alpha : float
        Two-sided level of both tests.
    seed : int
        The same seed gives the same people under every hazard ratio (common random
        numbers), so power is smooth in the hazard ratio.

    Returns
    -------
    PowerResult
        ``power``: hazard_ratio, test, power, mc_se, ci_lower, ci_upper, simulations,
        not_estimable (simulated cohorts the test could not be computed for: counted
        as no rejection), mean_events, schoenfeld_power (analytic, log-rank).
    """
    hazard_ratios = [float(h) for h in np.atleast_1d(hazard_ratio)]
    _check_design(n_fastlonn, n_naering, hazard_ratios, baseline_median, shape, simulations, alpha, dropout_per_year,
                  seed)
    n_fastlonn, n_naering, simulations = int(n_fastlonn), int(n_naering), int(simulations)
    accrual = tuple(accrual) if not isinstance(accrual, tuple) else accrual
    follow_up_of, follow_up_summary = _follow_up_sampler(accrual, follow_up_end, n_fastlonn + n_naering)
    critical, z = _critical_values(float(alpha))
    result = PowerResult(params={"n_fastlonn": n_fastlonn, "n_naering": n_naering, "baseline_median": baseline_median,
                                 "shape": shape, "accrual": tuple(str(a) for a in accrual) if len(accrual) == 2 else "given start dates",
                                 "follow_up_end": str(follow_up_end), "dropout_per_year": dropout_per_year,
                                 "simulations": simulations, "alpha": alpha, "seed": seed})
    rows = []
    started = time.perf_counter()
    for hr in hazard_ratios:
        sim = _simulate_statistics(n_fastlonn, n_naering, hr, baseline_median, shape, follow_up_of,
                                   dropout_per_year, simulations, seed)
        analytic_events = expected_events(n_fastlonn=n_fastlonn, n_naering=n_naering, hazard_ratio=hr,
                                          baseline_median=baseline_median, shape=shape, follow_up=follow_up_summary,
                                          dropout_per_year=dropout_per_year)
        analytic = schoenfeld_power(analytic_events, hr, share_naering=n_naering / (n_fastlonn + n_naering), alpha=alpha)
        for test, statistic in zip(TESTS, (sim["logrank_chi2"], sim["wald_chi2"])):
            missing = np.isnan(statistic)
            power = float(np.mean(np.where(missing, False, statistic > critical)))
            se = float(np.sqrt(power * (1 - power) / simulations))
            rows.append({"hazard_ratio": hr, "test": test, "power": power, "mc_se": se,
                         "ci_lower": max(power - z * se, 0.0), "ci_upper": min(power + z * se, 1.0),
                         "simulations": simulations, "not_estimable": int(missing.sum()),
                         "mean_events": float(sim["events"].mean()), "expected_events": analytic_events,
                         "schoenfeld_power": analytic})
            if missing.any():
                result.add_note("power_not_estimable", hr=float(hr), test=test, failed=int(missing.sum()),
                                simulations=simulations, warn=False)
    result.params["seconds"] = round(time.perf_counter() - started, 3)
    result.power = pd.DataFrame(rows)
    result.add_note("power_design", shape=float(shape), median=float(baseline_median), warn=False)
    return result


# --------------------------------------------------------------------------- minimal detectable effect


@dataclass
class DetectableEffectResult(AnalysisResult):
    """The smallest hazard ratio detected with the target power, per test."""

    effects: pd.DataFrame | None = None

    title: ClassVar[str] = "Minimal detectable hazard ratio"
    _tables: ClassVar[tuple[str, ...]] = ("effects",)


@memoised
def minimal_detectable_hazard_ratio(
    *,
    power: float = 0.8,
    direction: str = "increase",
    max_hazard_ratio: float = 20.0,
    tolerance: float = 0.005,
    **design: Any,
) -> DetectableEffectResult:
    """Smallest hazard ratio (næring vs fastlønn) with at least ``power``, by bisection on log HR.

    Each step simulates the design with the same seed (common random numbers), so
    the simulated power is nearly monotone in the hazard ratio.  The answer is
    uncertain by Monte-Carlo error: with B simulations the power at the returned
    ratio is known to about :math:`\\pm 2\\sqrt{0.16/B}`.  The Schoenfeld
    approximation's answer is given beside it.

    Parameters
    ----------
    power : float
        Target power (default 0.8).
    direction : {"increase", "decrease"}
        Search hazard ratios above 1 (næring leave sooner) or below 1.
    max_hazard_ratio : float
        Search limit (its inverse for ``"decrease"``).  When the power there misses the
        target (power need not be monotone: the Cox Wald test loses power at extreme
        ratios, where all exits fall in one cohort), the first of
        :data:`MDE_GRID_POINTS` steps on log HR that reaches it brackets the bisection;
        none does: NaN and a note.
    tolerance : float
        Stop when the bracket on log HR is this narrow.
    **design
        Keyword arguments of :func:`simulate_power` (not ``hazard_ratio``).

    Returns
    -------
    DetectableEffectResult
        ``effects``: test, hazard_ratio, power_at_hazard_ratio, mc_se, schoenfeld_hazard_ratio.
    """
    if not 0 < power < 1:
        raise AlisError(f"power must lie between 0 and 1, got {power!r}")
    if direction not in ("increase", "decrease"):
        raise AlisError(f"direction must be 'increase' or 'decrease', got {direction!r}")
    if "hazard_ratio" in design:
        raise AlisError("minimal_detectable_hazard_ratio searches the hazard ratio; do not pass one")
    sign = 1.0 if direction == "increase" else -1.0
    cache: dict[float, PowerResult] = {}

    def run(log_hr: float) -> PowerResult:
        key = round(log_hr, 12)
        if key not in cache:
            cache[key] = simulate_power(hazard_ratio=float(np.exp(sign * log_hr)), **design)
        return cache[key]

    top = np.log(max_hazard_ratio)
    first = run(top)
    result = DetectableEffectResult(params={"power": power, "direction": direction,
                                            "max_hazard_ratio": max_hazard_ratio, **first.params})
    result.params.pop("seconds", None)
    n_f, n_n = first.params["n_fastlonn"], first.params["n_naering"]
    alpha = first.params["alpha"]
    rows = []
    for test in TESTS:
        low, high = 0.0, top
        if first.at(float(np.exp(sign * top)), test) < power:
            # Power need not be monotone at the search limit: the Cox Wald test loses power at extreme
            # ratios (all exits in one cohort, the estimate runs off and counts as no rejection), so
            # look for the first ratio on a grid that reaches the target before declaring it unreached.
            grid = np.linspace(0.0, top, MDE_GRID_POINTS + 1)[1:-1]
            reached = [g for g in grid if run(g).at(float(np.exp(sign * g)), test) >= power]
            if not reached:
                result.add_note("power_not_reached", test=test, power=float(power), hr=float(np.exp(sign * top)),
                                warn=False)
                warnings.warn(f"{test}: minimal detectable hazard ratio not found", NotEstimableWarning,
                              stacklevel=2)
                rows.append({"test": test, "hazard_ratio": np.nan, "power_at_hazard_ratio": np.nan,
                             "mc_se": np.nan})
                continue
            high = reached[0]
            low = float(grid[grid < high].max()) if (grid < high).any() else 0.0
        while high - low > tolerance:
            mid = (low + high) / 2
            if run(mid).at(float(np.exp(sign * mid)), test) >= power:
                high = mid
            else:
                low = mid
        hr = float(np.exp(sign * high))
        reached = run(high).power
        row = reached[np.isclose(reached["hazard_ratio"], hr) & (reached["test"] == test)].iloc[0]
        rows.append({"test": test, "hazard_ratio": hr, "power_at_hazard_ratio": float(row["power"]),
                     "mc_se": float(row["mc_se"])})
    analytic = _schoenfeld_detectable(n_f, n_n, power, alpha, sign, top, first.params, design)
    effects = pd.DataFrame(rows)
    effects["schoenfeld_hazard_ratio"] = analytic
    result.effects = effects
    result.add_note("power_precision", simulations=int(first.params["simulations"]), factor=float(np.exp(tolerance)),
                    warn=False)
    return result


def _schoenfeld_detectable(n_f, n_n, power, alpha, sign, top, params, design) -> float:
    """Hazard ratio at which Schoenfeld's power equals ``power`` (bisection; events depend on the HR)."""
    # the accrual as simulate_power reads it: a list of two dates is a window there too
    _, summary = _follow_up_sampler(tuple(design.get("accrual", ALIS_NORD_DESIGN["accrual"])),
                                    design.get("follow_up_end", ALIS_NORD_DESIGN["follow_up_end"]), n_f + n_n)
    summary = tuple(summary) if isinstance(summary, tuple) else summary

    def analytic(log_hr):
        hr = float(np.exp(sign * log_hr))
        events = expected_events(n_fastlonn=n_f, n_naering=n_n, hazard_ratio=hr, baseline_median=params["baseline_median"],
                                 shape=params["shape"], follow_up=summary, dropout_per_year=params["dropout_per_year"])
        return schoenfeld_power(events, hr, share_naering=n_n / (n_f + n_n), alpha=alpha)

    if analytic(top) < power:
        return float("nan")
    low, high = 0.0, top
    while high - low > 1e-6:
        mid = (low + high) / 2
        low, high = (low, mid) if analytic(mid) >= power else (mid, high)
    return float(np.exp(sign * high))


# --------------------------------------------------------------------------- designs and CLI


def design_parameters(design: str, n: int | None = None) -> dict[str, Any]:
    """Keyword arguments of :func:`simulate_power` for a named design (``alis-nord`` or ``national``)."""
    if design == "alis-nord":
        if n is not None:
            raise AlisError("--n applies to --design national; the alis-nord design is 17 fastlønn + 15 næring")
        return dict(ALIS_NORD_DESIGN)
    if design == "national":
        n = NATIONAL_DEFAULT_N if n is None else n
        if int(n) != n or n < 2:
            raise AlisError(f"--n must be a whole number of people per cohort >= 2, got {n!r}")
        return {"n_fastlonn": int(n), "n_naering": int(n), "accrual": NATIONAL_ACCRUAL, "follow_up_end": "2024-12-31"}
    raise AlisError(f"unknown design {design!r}; choose alis-nord or national")


def limitations_text(effect: DetectableEffectResult, *, language: str = "nb",
                     decrease: DetectableEffectResult | None = None, min_cell: int | None = None,
                     sizes: tuple[str, str] | None = None) -> str:
    """The sentence the report's limitations section quotes about the minimal detectable effect.

    The wording lives in the message catalogue (``report.lim_mde``, ``report.lim_mde_down``,
    ``report.lim_mde_none`` in ``alis_research/messages/*.toml``), the one home of published text.

    Parameters
    ----------
    effect : DetectableEffectResult
        The search for hazard ratios above 1 (næring leaving sooner).
    language : {"nb", "en"}
    decrease : DetectableEffectResult, optional
        The search below 1; its log-rank answer is quoted as the other direction.
    min_cell : int, optional
        Cohort sizes below it are shown as ``<min_cell`` (a published report).
    sizes : (str, str), optional
        The cohort sizes (fastlønn, næring) as the report prints them: ledger references in a
        published report, so they are protected with every other count.
    """
    from ..disclosure import format_count
    from ..messages import fmt_number, fmt_percent, message

    def T(key, language, **values):
        return message(f"report.{key}", language, **values)

    row = effect.effects.set_index("test").loc["log-rank"]
    p = effect.params

    def size(n):
        return format_count(n, min_cell) if min_cell else str(int(n))

    shown = sizes if sizes is not None else (size(p["n_fastlonn"]), size(p["n_naering"]))
    common = {"nf": shown[0], "nn": shown[1], "power": fmt_percent(p["power"], language)}
    hr = row["hazard_ratio"]
    if not np.isfinite(hr):
        top = float(p["max_hazard_ratio"])
        return T("lim_mde_none", language, max=fmt_number(top, 0 if top.is_integer() else 2, language), **common)
    down = ""
    if decrease is not None:
        lower = decrease.effects.set_index("test").loc["log-rank", "hazard_ratio"]
        if np.isfinite(lower):
            down = T("lim_mde_down", language, hr=fmt_number(lower, 2, language))
    schoenfeld = row["schoenfeld_hazard_ratio"]
    return T("lim_mde", language, end=p["follow_up_end"], alpha=fmt_percent(p["alpha"], language),
             hr=fmt_number(hr, 2, language), down=down, b=fmt_number(p["simulations"], 0, language),
             median=fmt_number(p["baseline_median"], 1, language),
             hr_s=fmt_number(schoenfeld, 2, language) if np.isfinite(schoenfeld) else "–", **common)


def _json_table(frame: pd.DataFrame) -> list[dict]:
    return json.loads(frame.to_json(orient="records", force_ascii=False))
