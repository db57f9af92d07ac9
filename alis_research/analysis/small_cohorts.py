"""Inference for small cohorts: Firth-penalised Cox, exact log-rank, competing exits.

One analysis, :func:`small_cohort_analyses`, runs on a prepared dataset (the
whole dataset or one health-trust area) and, for the dataset and for each
health-trust area in it (the *scopes*):

* the **Firth-penalised Cox model** of the hazard of leaving, næring vs
  fastlønn (current contract type, counting-process intervals), with profile
  penalised-likelihood intervals (:mod:`alis_research.stats.firth`).  It is the
  estimate to read where the ordinary Cox likelihood is *monotone* (no exits in
  one contract type: the ordinary hazard ratio is 0 or infinite); the table
  says for every scope whether it is;
* the **permutation log-rank test** of the cohorts (contract type at start):
  exact where the enumeration is small enough, Monte Carlo with its standard
  error above (:mod:`alis_research.stats.logrank_exact`);
* **competing exits** (cohort at start): Gray's test and the Fine–Gray
  subdistribution hazard ratio næring vs fastlønn for "left for another GP post
  in the region" and "left the region" (:mod:`alis_research.stats.finegray`).

Scopes of more than :data:`MAX_EPISODES` episodes are not analysed (the
asymptotic analyses hold there).  An estimate resting on fewer than :data:`MIN_EXITS` exits (of the cause, for
Fine–Gray) is not estimable (NaN and a note), and so is a Fine–Gray ratio when
one cohort has no exit of the cause (its likelihood is monotone too).  Choices
and limits: ``docs/methods.md`` ("Small cohorts").
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy import stats

from ..stats import coxph
from ..config import CONTRACT_TYPES, DEFAULT_ALPHA, HEALTH_TRUST_AREAS
from ..errors import NotEstimableWarning
from ..result import AnalysisResult, require_columns
from ..stats import finegray, firth, logrank_exact
from .memo import memoised

#: Fewer exits than this (in the scope; of the cause for Fine–Gray): the estimate is not estimable.
MIN_EXITS = 3
#: Below this many episodes in a scope the report reads the permutation log-rank p-value
#: instead of the asymptotic one (area reports are nearly always below it).
PERMUTATION_PRIMARY_BELOW = 100
#: Scopes with more episodes than this are left out (NaN rows and a note): the methods here are for
#: small cohorts, the asymptotic analyses hold in large ones, and the dense computations grow with
#: episodes × exits.
MAX_EPISODES = 2000
#: The two competing exits and the end reasons that make them; every other end reason is a
#: third, unnamed competing exit (docs/methods.md, "Competing exits").
COMPETING_EXITS: dict[str, tuple[str, ...]] = {
    "gp_in_region": ("other_gp_same_region",),
    "left_region": ("left_region",),
}
OTHER_EXIT = "other_exit"
#: The whole dataset as a scope.
ALL = "all"


@dataclass
class SmallCohortResult(AnalysisResult):
    """Firth Cox, permutation log-rank and competing exits, one row per scope (and cause)."""

    firth: pd.DataFrame | None = None
    exact_logrank: pd.DataFrame | None = None
    gray: pd.DataFrame | None = None
    fine_gray: pd.DataFrame | None = None

    title: ClassVar[str] = "Small cohorts: Firth-penalised Cox, permutation log-rank, competing exits"
    _tables: ClassVar[tuple[str, ...]] = ("firth", "exact_logrank", "gray", "fine_gray")


def exit_cause_codes(episodes: pd.DataFrame) -> np.ndarray:
    """0 censored, 1 another GP post in the region, 2 left the region, 3 any other exit."""
    reason = episodes["end_reason"].astype("string")
    codes = np.full(len(episodes), 3)
    for code, reasons in enumerate(COMPETING_EXITS.values(), start=1):
        codes[reason.isin(reasons).fillna(False).to_numpy(bool)] = code
    return np.where(episodes["exit"].to_numpy(int) == 1, codes, 0)


def _scopes(episodes: pd.DataFrame) -> list[tuple[str, pd.Series]]:
    """The whole dataset, then each health-trust area present (only when there are several)."""
    scopes = [(ALL, pd.Series(True, index=episodes.index))]
    areas = [a for a in HEALTH_TRUST_AREAS if (episodes.get("area") == a).any()] if "area" in episodes else []
    if len(areas) > 1:
        scopes += [(area, episodes["area"] == area) for area in areas]
    return scopes


def _warn_not_estimable(result: AnalysisResult, code: str, **values) -> None:
    """Record the note ``code`` (with ``values``) and warn with it as a NotEstimableWarning."""
    note = result.add_note(code, warn=False, **values)
    warnings.warn(str(note), NotEstimableWarning, stacklevel=3)


def _firth_row(result, scope: str, intervals: pd.DataFrame, alpha: float) -> dict[str, Any]:
    row = {"scope": scope, "term": "næring", "ordinary_monotone": False, "coef": np.nan, "se": np.nan,
           "hr": np.nan, "ci_lower": np.nan, "ci_upper": np.nan, "p_value": np.nan,
           "exits": int(intervals["exit"].sum())}
    naering = (intervals["contract_type"] == "næring").to_numpy(float)
    if row["exits"] < MIN_EXITS:
        _warn_not_estimable(result, "firth_few_exits", scope=scope, minimum=MIN_EXITS)
        return row
    if naering.min() == naering.max():
        _warn_not_estimable(result, "firth_one_contract_type", scope=scope)
        return row
    start, stop, exit_ = (intervals[c].to_numpy(float) for c in ("start", "stop", "exit"))
    ordinary = coxph.fit_efron(start, stop, exit_.astype(int), naering[:, None])
    row["ordinary_monotone"] = bool(ordinary.diverged or not ordinary.converged)
    fit = firth.fit_firth(start, stop, exit_, naering[:, None], alpha=alpha)
    if not fit.converged:
        _warn_not_estimable(result, "firth_no_convergence", scope=scope)
        return row
    row.update(coef=fit.coef[0], se=fit.se[0], hr=np.exp(fit.coef[0]), ci_lower=np.exp(fit.ci_lower[0]),
               ci_upper=np.exp(fit.ci_upper[0]), p_value=fit.p_value[0])
    if row["ordinary_monotone"]:
        result.add_note("firth_ordinary_monotone", scope=scope, warn=False)
    return row


def _logrank_row(result, scope: str, episodes: pd.DataFrame, resamples: int, seed: int) -> dict[str, Any]:
    row = {"scope": scope, "method": None, "statistic": np.nan, "p_value": np.nan, "p_value_normal": np.nan,
           "mc_std_error": np.nan, "resamples": None, "episodes": len(episodes),
           "primary": len(episodes) < PERMUTATION_PRIMARY_BELOW}
    group = (episodes["cohort"] == "næring").to_numpy(bool)
    if group.all() or not group.any():
        _warn_not_estimable(result, "permutation_logrank_one_cohort", scope=scope)
        return row
    if episodes["exit"].sum() == 0:
        _warn_not_estimable(result, "permutation_logrank_no_exits", scope=scope)
        return row
    test = logrank_exact.logrank_permutation_test(episodes["duration"], episodes["exit"], group,
                                                  resamples=resamples, seed=seed)
    row.update(method=test.method, statistic=test.statistic, p_value=test.p_value,
               p_value_normal=float(2 * stats.norm.sf(abs(test.statistic))),
               mc_std_error=np.nan if test.mc_std_error is None else test.mc_std_error, resamples=test.resamples)
    return row


def _competing_rows(result, scope: str, episodes: pd.DataFrame, alpha: float) -> tuple[list, list]:
    codes = exit_cause_codes(episodes)
    z = stats.norm.ppf(1 - alpha / 2)
    cohorts = episodes["cohort"].to_numpy()
    naering = (cohorts == "næring").astype(float)
    gray_rows, fg_rows = [], []
    for code, cause in enumerate(COMPETING_EXITS, start=1):
        gray = {"scope": scope, "cause": cause, "statistic": np.nan, "df": None, "p_value": np.nan}
        fg = {"scope": scope, "cause": cause, "term": "næring", "coef": np.nan, "se": np.nan, "shr": np.nan,
              "ci_lower": np.nan, "ci_upper": np.nan, "p_value": np.nan, "exits": int(np.sum(codes == code))}
        gray_rows.append(gray)
        fg_rows.append(fg)
        if len(set(cohorts)) < 2:
            _warn_not_estimable(result, "competing_one_cohort", scope=scope)
            continue
        if fg["exits"] < MIN_EXITS:
            _warn_not_estimable(result, "competing_few_exits", scope=scope, cause=cause, minimum=MIN_EXITS)
            continue
        test = finegray.gray_test(episodes["duration"], codes, cohorts, cause_of_interest=code)
        gray.update(statistic=test.statistic, df=test.df, p_value=test.p_value)
        per_cohort = [np.sum((codes == code) & (cohorts == c)) for c in CONTRACT_TYPES]
        if min(per_cohort) == 0:
            _warn_not_estimable(result, "fine_gray_cohort_without_exits", scope=scope, cause=cause)
            continue
        fit = finegray.fit_fine_gray(episodes["duration"], codes, naering[:, None], cause_of_interest=code)
        if not fit.converged or not np.isfinite(fit.se[0]):
            _warn_not_estimable(result, "fine_gray_no_convergence", scope=scope, cause=cause)
            continue
        beta, se = fit.coef[0], fit.se[0]
        fg.update(coef=beta, se=se, shr=np.exp(beta), ci_lower=np.exp(beta - z * se), ci_upper=np.exp(beta + z * se),
                  p_value=float(2 * stats.norm.sf(abs(beta / se))))
    return gray_rows, fg_rows


@memoised
def small_cohort_analyses(prepared, *, alpha: float = DEFAULT_ALPHA,
                          resamples: int = logrank_exact.DEFAULT_RESAMPLES,
                          seed: int = logrank_exact.DEFAULT_SEED) -> SmallCohortResult:
    """Firth Cox, permutation log-rank, Gray's test and Fine–Gray for the dataset and each area in it.

    Parameters
    ----------
    prepared : PreparedDataset
        Needs ``episodes`` (duration, exit, end_reason, cohort, area) and ``intervals``
        (start, stop, exit, contract_type, episode_id).
    alpha : float
        1 − confidence level of every interval.
    resamples, seed : int
        Monte-Carlo permutations (only where the exact test is too large) and their seed.

    Returns
    -------
    SmallCohortResult
        ``firth`` (scope, term, ordinary_monotone, coef, se, hr, ci_lower, ci_upper, p_value, exits),
        ``exact_logrank`` (scope, method, statistic, p_value, p_value_normal, mc_std_error, resamples,
        episodes, primary), ``gray`` (scope, cause, statistic, df, p_value) and ``fine_gray`` (scope,
        cause, term, coef, se, shr, ci_lower, ci_upper, p_value, exits).  Counts are internal: the
        report publishes only estimates and p-values.
    """
    episodes, intervals = prepared.episodes, prepared.intervals
    require_columns(episodes, ["episode_id", "duration", "exit", "end_reason", "cohort"], "episodes")
    require_columns(intervals, ["episode_id", "start", "stop", "exit", "contract_type"], "intervals")
    result = SmallCohortResult(params={
        "alpha": alpha, "resamples": resamples, "seed": seed, "min_exits": MIN_EXITS,
        "permutation_primary_below": PERMUTATION_PRIMARY_BELOW, "max_episodes": MAX_EPISODES, "exact_max_half": logrank_exact.EXACT_MAX_HALF,
        "competing_exits": {**{k: list(v) for k, v in COMPETING_EXITS.items()}, OTHER_EXIT: "every other end_reason"},
    })
    firth_rows, logrank_rows, gray_rows, fg_rows = [], [], [], []
    for scope, mask in _scopes(episodes):
        part = episodes[mask]
        part_intervals = intervals[intervals["episode_id"].isin(part["episode_id"])]
        target = result
        if len(part) > MAX_EPISODES:  # the asymptotic analyses apply; keep the shape, say why once
            _warn_not_estimable(result, "small_cohorts_too_large", scope=scope, maximum=MAX_EPISODES)
            part, part_intervals, target = part.head(0), part_intervals.head(0), SmallCohortResult()
        with warnings.catch_warnings():
            if target is not result:
                warnings.simplefilter("ignore", NotEstimableWarning)  # the empty rows' own notes are dropped
            firth_rows.append(_firth_row(target, scope, part_intervals, alpha))
            logrank_rows.append(_logrank_row(target, scope, part, resamples, seed))
            gray, fg = _competing_rows(target, scope, part, alpha)
        gray_rows += gray
        fg_rows += fg
    result.firth = pd.DataFrame(firth_rows)
    result.exact_logrank = pd.DataFrame(logrank_rows).astype({"resamples": "Int64"})
    result.gray = pd.DataFrame(gray_rows).astype({"df": "Int64"})
    result.fine_gray = pd.DataFrame(fg_rows)
    return result


def _json_number(value):
    if value is None or (isinstance(value, float) and not np.isfinite(value)) or pd.isna(value):
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    return float(value)


def _json_rows(frame: pd.DataFrame, columns: list[str]) -> list[dict]:
    return [{c: (row[c] if isinstance(row[c], str) else _json_number(row[c])) for c in columns}
            for _, row in frame.iterrows()]


def results_entries(result: SmallCohortResult) -> dict:
    """The ``robustness`` sub-keys ``firth``, ``exact_logrank`` and ``competing_exits`` of ``analyse --json``."""
    return {
        "firth": _json_rows(result.firth, ["scope", "term", "ordinary_monotone", "coef", "se", "hr",
                                           "ci_lower", "ci_upper", "p_value"]),
        "exact_logrank": _json_rows(result.exact_logrank, ["scope", "method", "statistic", "p_value",
                                                           "p_value_normal", "mc_std_error", "resamples"]),
        "competing_exits": {
            "causes": {**{k: list(v) for k, v in COMPETING_EXITS.items()}, OTHER_EXIT: "every other end_reason"},
            "gray": _json_rows(result.gray, ["scope", "cause", "statistic", "df", "p_value"]),
            "fine_gray": _json_rows(result.fine_gray, ["scope", "cause", "term", "coef", "se", "shr",
                                                       "ci_lower", "ci_upper", "p_value"]),
        },
    }
