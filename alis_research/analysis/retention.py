"""Retention by cohort (contract type at start): Kaplan–Meier, log-rank, RMST.

Every estimate comes from the shared product-limit estimator
(:mod:`alis_research.stats.km`) and is checked against R's ``survival`` package
(``tests/reference/retention.R``):

* survival and its log-log ("exponential Greenwood") confidence interval, as
  ``survfit(..., conf.type = "log-log")``;
* the median and its confidence interval as ``quantile.survfit`` finds them
  (where the lower / upper confidence curves cross 0.5, with R's midpoint rule
  for a curve that is exactly 0.5 over a stretch) — lifelines' median interval
  differs from R's (lifelines #861);
* the log-rank test, plain and stratified, as ``survdiff``;
* the restricted mean survival time and the Greenwood-based standard error that
  ``print(survfit, rmean = tau)`` reports — lifelines' ``return_variance`` is the
  variance of the restricted survival *time*, not of the estimate.

lifelines' ``KaplanMeierFitter`` objects are available on the result (``fitters``, fitted
when first asked for: lifelines takes a second to import) for plotting and further use; the
tests check that their curves agree with ours.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy import stats

from .. import config
from ..errors import AlisError
from ..result import AnalysisResult, check_alpha, with_interval
from ..stats import km
# the shared estimator's public pieces, re-exported where they were first published
from ..stats.km import loglog_interval, r_quantile, restricted_mean  # noqa: F401
from .memo import memoised

#: Fewer events than this in a group makes its estimates "unstable" (a note).
MIN_STABLE_EVENTS = 5

_EPISODE_COLUMNS = ("episode_id", "duration", "exit")


# --------------------------------------------------------------------------- input


def _episodes_frame(data, columns) -> pd.DataFrame:
    """The episodes table of a PreparedDataset (or a DataFrame), checked for ``columns``."""
    episodes = getattr(data, "episodes", data)
    if not isinstance(episodes, pd.DataFrame):
        raise AlisError(f"expected a PreparedDataset or an episodes DataFrame, got {type(data).__name__}")
    missing = [c for c in columns if c not in episodes.columns]
    if missing:
        raise AlisError(
            f"episodes table lacks column(s) {', '.join(missing)}; "
            f"it has {', '.join(map(str, episodes.columns))}. Pass the prepared episodes (cohort.prepare)."
        )
    ids = episodes["episode_id"] if "episode_id" in episodes.columns else pd.Series(episodes.index)
    for column in columns:
        bad = episodes[column].isna().to_numpy()
        if bad.any():
            raise AlisError(
                f"episodes column '{column}' is empty for episode(s) {', '.join(map(str, ids[bad][:10]))}; "
                "every analysed episode needs a value"
            )
    duration = pd.to_numeric(episodes["duration"], errors="coerce")
    bad = (duration.isna() | (duration < 0)).to_numpy()
    if bad.any():
        raise AlisError(
            f"episodes column 'duration' must be a non-negative number of years; "
            f"episode {ids[bad].iloc[0]} has {episodes['duration'][bad].iloc[0]}"
        )
    bad = ~episodes["exit"].isin([0, 1]).to_numpy()
    if bad.any():
        raise AlisError(
            f"episodes column 'exit' must be 0 (censored) or 1 (left); "
            f"episode {ids[bad].iloc[0]} has {episodes['exit'][bad].iloc[0]}"
        )
    return episodes


def _with_strata(episodes: pd.DataFrame, strata: str | None, result: AnalysisResult) -> pd.DataFrame:
    """The episodes that have a value of ``strata``; those without are left out with a note.

    A municipality outside Northern Norway has no health-trust area, and one whose
    population is unknown has no size class: they cannot sit in any stratum.
    """
    if strata is None:
        return episodes
    if strata not in episodes.columns:
        raise AlisError(f"episodes table lacks the strata column '{strata}'; "
                        f"it has {', '.join(map(str, episodes.columns))}")
    missing = episodes[strata].isna()
    if missing.any():
        ids = episodes.loc[missing, "episode_id"] if "episode_id" in episodes.columns else episodes.index[missing]
        # the ids stay in the note's values for the researcher; the published text does not name them
        result.add_note("strata_missing", n=int(missing.sum()), variable=strata, ids=[str(i) for i in list(ids)[:10]])
    return episodes.loc[~missing]


def _split(episodes: pd.DataFrame, group: str, strata: str | None):
    """Yield (group value, stratum value or None, durations, exits) in sorted order."""
    keys = [group] if strata is None else [group, strata]
    for key, part in episodes.groupby(keys, sort=True, observed=True):
        key = key if isinstance(key, tuple) else (key,)
        yield (
            key[0],
            key[1] if strata is not None else None,
            part["duration"].to_numpy(float),
            part["exit"].to_numpy(int),
        )


def _label(group_value, stratum_value) -> str:
    return str(group_value) if stratum_value is None else f"{group_value}, {stratum_value}"


# ---------------------------------------------------------------- product limit


def product_limit_table(durations, exits, *, alpha: float = config.DEFAULT_ALPHA) -> pd.DataFrame:
    """Kaplan–Meier table at every distinct time (event or censoring), as R's ``survfit``.

    A frame over :func:`alis_research.stats.km.product_limit` with its log-log interval
    (:func:`~alis_research.stats.km.loglog_interval`). Returns columns
    ``time, at_risk, events, censored, survival, greenwood`` (:math:`\\sigma^2`),
    ``std_err`` (of :math:`\\hat S`), ``ci_lower, ci_upper``.
    """
    table = km.product_limit(durations, exits)
    lower, upper = loglog_interval(table["survival"], table["greenwood"], alpha=alpha)
    return pd.DataFrame(table | {"ci_lower": lower, "ci_upper": upper})


def _step_value(table: pd.DataFrame, column: str, t: float, before_first: float):
    """Right-continuous step function value of ``table[column]`` at time ``t``."""
    return km.step_values(table["time"].to_numpy(), table[column].to_numpy(), [t], before_first)[0]


# ---------------------------------------------------------------- Kaplan–Meier


@dataclass
class KaplanMeierResult(AnalysisResult):
    """Kaplan–Meier retention per group (and stratum)."""

    survival: pd.DataFrame | None = None
    median: pd.DataFrame | None = None
    curves: pd.DataFrame | None = None
    #: label -> (durations, exits, alpha) of each curve, for :attr:`fitters`
    fitter_inputs: dict[str, tuple] = field(default_factory=dict, repr=False)

    title: ClassVar[str] = "Kaplan–Meier retention (log-log 95 % CI)"
    _tables: ClassVar[tuple[str, ...]] = ("survival", "median")

    @property
    def fitters(self) -> dict[str, Any]:
        """lifelines ``KaplanMeierFitter`` per curve, fitted when first asked for.

        Lazily: importing lifelines costs about a second, and a report never needs it.
        """
        fitted = self.__dict__.get("_fitters")
        if fitted is None:
            from lifelines import KaplanMeierFitter

            fitted = {label: KaplanMeierFitter(alpha=alpha).fit(durations, exits, label=label)
                      for label, (durations, exits, alpha) in self.fitter_inputs.items()}
            self.__dict__["_fitters"] = fitted
        return fitted

    def conf_int(self, alpha: float = 0.05, *, table: str = "survival") -> pd.DataFrame:
        """``survival`` (default), ``curves`` or ``median`` with log-log intervals at level 1 − ``alpha``.

        The survival intervals are recomputed from the estimate and its Greenwood
        standard error as R's ``survfit(..., conf.type = "log-log", conf.int = 1 - alpha)``;
        the median's interval is where the new lower / upper curves cross 0.5 (R's rule).
        """
        alpha = check_alpha(alpha)
        if table in ("survival", "curves"):
            frame = getattr(self, table)
            return with_interval(frame, *_loglog_from_std_err(frame, alpha), alpha)
        if table != "median":
            raise AlisError(f"table must be 'survival', 'curves' or 'median', got {table!r}")
        keys = [c for c in ("group", "stratum") if c in self.median.columns]
        lower, upper = [], []
        for _, row in self.median.iterrows():
            match = np.logical_and.reduce([self.curves[k] == row[k] for k in keys])
            curve = self.curves[match].iloc[1:]  # the first row is the added (time 0, S = 1) start
            curve_lower, curve_upper = _loglog_from_std_err(curve, alpha)
            lower.append(r_quantile(curve["time"], curve_lower))
            upper.append(r_quantile(curve["time"], curve_upper))
        return with_interval(self.median, lower, upper, alpha)


def _loglog_from_std_err(frame: pd.DataFrame, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """Log-log limits from the ``survival`` and ``std_err`` columns; rows without an interval
    at any level (S = 0 or 1) keep what they hold."""
    survival = frame["survival"].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        greenwood = (frame["std_err"].to_numpy(float) / survival) ** 2
    lower, upper = loglog_interval(survival, greenwood, alpha=alpha)
    defined = np.isfinite(lower)
    return (np.where(defined, lower, frame["ci_lower"].to_numpy(float)),
            np.where(defined, upper, frame["ci_upper"].to_numpy(float)))


@memoised
def kaplan_meier(
    data,
    *,
    group: str = "cohort",
    strata: str | None = None,
    timepoints=config.KM_TIMEPOINTS,
    alpha: float = config.DEFAULT_ALPHA,
) -> KaplanMeierResult:
    """Kaplan–Meier retention per ``group`` (and ``strata``) with log-log intervals.

    Parameters
    ----------
    data : PreparedDataset or DataFrame
        The prepared episodes (``duration`` in years, ``exit`` 0/1).
    group : str
        Column compared, by default ``cohort`` (contract type at start).
    strata : str, optional
        A second column (``area``, ``size_class``): one curve per group × stratum.
    timepoints : sequence of float
        Years at which survival is reported.
    alpha : float
        1 − confidence level.

    Returns
    -------
    KaplanMeierResult
        ``survival``: group, [stratum], time, survival, std_err, ci_lower, ci_upper,
        at_risk (still in post at ``time``), events (exits in (previous time point, time]),
        cumulative_events (exits up to ``time``).  Survival beyond the longest follow-up
        of a group is NaN (not the last value) unless everyone had already left.
        ``median``: group, [stratum], median, ci_lower, ci_upper (NaN = not reached).
        ``curves``: the full step function per group for plotting (time 0 row first;
        ``censored`` > 0 marks censoring times).
    """
    result = KaplanMeierResult(
        params={"group": group, "strata": strata, "timepoints": tuple(timepoints), "alpha": alpha,
                "conf_type": "log-log"}
    )
    episodes = _with_strata(_episodes_frame(data, _EPISODE_COLUMNS + (group,)), strata, result)
    survival_rows, median_rows, curves = [], [], []
    for group_value, stratum_value, durations, exits in _split(episodes, group, strata):
        label = _label(group_value, stratum_value)
        key = {"group": group_value} | ({"stratum": stratum_value} if strata else {})
        table = product_limit_table(durations, exits, alpha=alpha)
        result.fitter_inputs[label] = (np.array(durations, copy=True), np.array(exits, copy=True), alpha)
        start = pd.DataFrame([{"time": 0.0, "at_risk": len(durations), "events": 0, "censored": 0,
                               "survival": 1.0, "greenwood": 0.0, "std_err": 0.0,
                               "ci_lower": 1.0, "ci_upper": 1.0}])
        curve = pd.concat([start, table], ignore_index=True)
        curves.append(curve.assign(**key))
        last_time = durations.max()
        previous = 0.0
        for t in timepoints:
            s = _step_value(table, "survival", t, 1.0)
            estimable = t <= last_time or s == 0
            if not estimable:
                result.add_note("km_beyond_follow_up", label=label, time=float(t), follow_up=float(last_time))
            events_to_t = int(exits[durations <= t].sum())
            survival_rows.append(key | {
                "time": t,
                "survival": s if estimable else np.nan,
                "std_err": _step_value(table, "std_err", t, 0.0) if estimable else np.nan,
                "ci_lower": _step_value(table, "ci_lower", t, np.nan) if estimable else np.nan,
                "ci_upper": _step_value(table, "ci_upper", t, np.nan) if estimable else np.nan,
                "at_risk": int((durations >= t).sum()),
                "events": int(exits[(durations > previous) & (durations <= t)].sum()),
                "cumulative_events": events_to_t,
            })
            previous = t
        median = r_quantile(table["time"], table["survival"])
        median_rows.append(key | {
            "median": median,
            "ci_lower": r_quantile(table["time"], table["ci_lower"]),
            "ci_upper": r_quantile(table["time"], table["ci_upper"]),
            "events": int(exits.sum()),
            "n": len(durations),
        })
        _small_sample_notes(result, label, int(exits.sum()))
        if np.isnan(median):
            result.add_note("km_median_not_reached", label=label, warn=False)
        elif np.isnan(median_rows[-1]["ci_upper"]):
            result.add_note("km_median_upper", label=label, warn=False)
    result.survival = pd.DataFrame(survival_rows)
    result.median = pd.DataFrame(median_rows)
    result.curves = pd.concat(curves, ignore_index=True)[
        list(key) + ["time", "at_risk", "events", "censored", "survival", "std_err", "ci_lower", "ci_upper"]
    ] if curves else pd.DataFrame()
    if not survival_rows:
        raise AlisError("no episodes to analyse: the episodes table is empty")
    return result


def _small_sample_notes(result: AnalysisResult, label: str, events: int) -> None:
    if events == 0:
        result.add_note("km_no_events", label=label)
    elif events < MIN_STABLE_EVENTS:
        result.add_note("km_few_events", label=label, events=events)


# ---------------------------------------------------------------- log-rank


@dataclass
class LogRankResult(AnalysisResult):
    """Log-rank test (R's ``survdiff``), optionally stratified."""

    statistic: float = float("nan")
    df: int = 0
    p_value: float = float("nan")
    test: pd.DataFrame | None = None
    groups: pd.DataFrame | None = None

    title: ClassVar[str] = "Log-rank test"
    _tables: ClassVar[tuple[str, ...]] = ("test", "groups")


@memoised
def logrank(data, *, group: str = "cohort", strata: str | None = None) -> LogRankResult:
    """Log-rank test of equal retention across ``group``; stratified by ``strata`` if given.

    As ``survdiff(Surv(duration, exit) ~ group + strata(s))``: observed minus
    expected exits and the hypergeometric covariance are summed over the strata,

    .. math::

        U = \\sum (O - E), \\quad V_{kl} = \\sum_j \\frac{d_j (n_j - d_j)}{n_j - 1}
            \\frac{n_{jk}}{n_j}\\Big(\\delta_{kl} - \\frac{n_{jl}}{n_j}\\Big),
        \\quad X^2 = U^\\top V^{-} U,

    on (number of groups with expected > 0) − 1 degrees of freedom.
    """
    result = LogRankResult(params={"group": group, "strata": strata})
    episodes = _with_strata(_episodes_frame(data, _EPISODE_COLUMNS + (group,)), strata, result)
    levels = sorted(episodes[group].unique())
    k = len(levels)
    if k < 2:
        return _logrank_not_estimable(result, strata, "logrank_one_group", variable=group,
                                      level=str(levels[0]) if levels else "none")
    observed, expected, covariance = np.zeros(k), np.zeros(k), np.zeros((k, k))
    parts = [episodes] if strata is None else [p for _, p in episodes.groupby(strata, sort=True, observed=True)]
    for part in parts:
        codes = pd.Categorical(part[group], categories=levels).codes
        duration = part["duration"].to_numpy(float)
        exit_ = part["exit"].to_numpy(int)
        for t in np.unique(duration[exit_ == 1]):
            at_risk = np.bincount(codes[duration >= t], minlength=k).astype(float)
            died = np.bincount(codes[(duration == t) & (exit_ == 1)], minlength=k).astype(float)
            n, d = at_risk.sum(), died.sum()
            observed += died
            expected += d * at_risk / n
            if n > 1:
                share = at_risk / n
                covariance += d * (n - d) / (n - 1) * (np.diag(share) - np.outer(share, share))
    used = expected > 0
    group_table = pd.DataFrame({"group": levels, "n": episodes[group].value_counts().reindex(levels).to_numpy(),
                                "observed": observed, "expected": expected})
    if observed.sum() == 0 or used.sum() < 2:
        # R's survdiff would print a chi-square of 0 on -1 or 0 df here: there is no test.
        result.groups = group_table
        if observed.sum() == 0:
            return _logrank_not_estimable(result, strata, "logrank_no_exits")
        return _logrank_not_estimable(result, strata, "logrank_one_at_risk", variable=group)
    difference = (observed - expected)[used]
    statistic = float(difference @ np.linalg.pinv(covariance[np.ix_(used, used)]) @ difference)
    df = int(used.sum()) - 1
    result.statistic, result.df = statistic, df
    result.p_value = float(stats.chi2.sf(statistic, df)) if df > 0 else float("nan")
    result.test = pd.DataFrame([{"statistic": statistic, "df": df, "p_value": result.p_value,
                                 "strata": strata or ""}])
    result.groups = group_table
    for level, events in zip(levels, observed):
        _small_sample_notes(result, str(level), int(events))
    return result


def _logrank_not_estimable(result: LogRankResult, strata: str | None, code: str, **values) -> LogRankResult:
    """Mark the test not estimable: NaN statistic and p-value, 0 df, the reason as a note (``code``, ``values``)."""
    result.statistic, result.df, result.p_value = float("nan"), 0, float("nan")
    result.test = pd.DataFrame([{"statistic": np.nan, "df": 0, "p_value": np.nan, "strata": strata or ""}])
    result.add_note(code, **values)
    return result


# ---------------------------------------------------------------- RMST


@dataclass
class RMSTResult(AnalysisResult):
    """Restricted mean survival time per group and the difference between cohorts."""

    rmst: pd.DataFrame | None = None

    title: ClassVar[str] = "Restricted mean survival time"
    _tables: ClassVar[tuple[str, ...]] = ("rmst",)

    def conf_int(self, alpha: float = 0.05) -> pd.DataFrame:
        """The ``rmst`` table with normal intervals rmst ± z·se at level 1 − ``alpha``."""
        alpha = check_alpha(alpha)
        z = stats.norm.ppf(1 - alpha / 2)
        return with_interval(self.rmst, self.rmst["rmst"] - z * self.rmst["se"],
                             self.rmst["rmst"] + z * self.rmst["se"], alpha)


@memoised
def rmst(
    data,
    *,
    group: str = "cohort",
    tau: float = config.DEFAULT_RMST_HORIZON,
    alpha: float = config.DEFAULT_ALPHA,
) -> RMSTResult:
    """Restricted mean time in post up to ``tau`` years per group, with Greenwood-based SE.

    The ``difference`` row is næring − fastlønn when ``group`` holds the two
    contract types (otherwise the second minus the first group, in sorted order,
    when there are exactly two), with :math:`se = \\sqrt{se_1^2 + se_2^2}`, a
    normal-theory interval and a two-sided p-value.  When ``tau`` exceeds a
    group's longest follow-up the curve is held at its last value (as R does) and
    a note says so.
    """
    if not np.isfinite(tau) or tau <= 0:
        raise AlisError(f"RMST horizon tau must be a positive number of years, got {tau!r}")
    episodes = _episodes_frame(data, _EPISODE_COLUMNS + (group,))
    result = RMSTResult(params={"group": group, "tau": tau, "alpha": alpha})
    z = stats.norm.ppf(1 - alpha / 2)
    rows = []
    for group_value, _, durations, exits in _split(episodes, group, None):
        mean, se = restricted_mean(durations, exits, tau)
        rows.append({"group": group_value, "tau": tau, "rmst": mean, "se": se,
                     "ci_lower": mean - z * se, "ci_upper": mean + z * se, "p_value": np.nan})
        if durations.max() < tau and not (exits[durations == durations.max()] == 1).all():
            result.add_note("rmst_beyond_follow_up", label=group_value, tau=float(tau),
                            follow_up=float(durations.max()))
        _small_sample_notes(result, str(group_value), int(exits.sum()))
    levels = [r["group"] for r in rows]
    pair = None
    if set(config.CONTRACT_TYPES) <= set(levels):
        reference = config.REFERENCE_CONTRACT
        other = next(c for c in config.CONTRACT_TYPES if c != reference)
        pair = (levels.index(reference), levels.index(other))
    elif len(levels) == 2:
        pair = (0, 1)
    if pair is not None:
        first, second = rows[pair[0]], rows[pair[1]]
        diff = second["rmst"] - first["rmst"]
        se = float(np.hypot(first["se"], second["se"]))
        rows.append({"group": "difference", "tau": tau, "rmst": diff, "se": se,
                     "ci_lower": diff - z * se, "ci_upper": diff + z * se,
                     "p_value": float(2 * stats.norm.sf(abs(diff) / se)) if se > 0 else np.nan})
        result.params["difference"] = f"{second['group']} − {first['group']}"
    result.rmst = pd.DataFrame(rows)
    return result
