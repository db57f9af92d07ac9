"""Robustness analyses a referee asks for: confounding-adjusted contrasts, E-values, pooled programmes.

Municipalities choose the contract, so the cohorts (contract type at start) differ in more
than the contract: fastlønn is commoner in small, peripheral municipalities, where GPs
leave sooner anyway. This module adds, on a prepared dataset:

* :func:`confounding_analysis` — a propensity model of næring given municipality size
  class, centrality, health-trust area, start year, sex and age (sparse levels merged;
  "not estimable" on separation), stabilised ATE weights with balance diagnostics, and
  inverse-probability-weighted Kaplan–Meier curves, RMST difference and Cox hazard ratio
  with person-clustered robust (sandwich / infinitesimal-jackknife) intervals, beside the
  same estimators unweighted (crude);
* :func:`bootstrap_confounding` — person-level bootstrap percentile intervals of the weighted
  contrasts, re-fitting the propensity model in every resample (optional; not in the report);
* :func:`e_value_analysis` — the E-value of the weighted hazard ratio and of its
  confidence limit closest to 1 (VanderWeele & Ding 2017);
* :func:`pooled_programmes` — with several programmes (``programme`` column), a Cox model
  per programme, a Cox model stratified by programme, and their DerSimonian–Laird pooling
  with I² and τ²;
* :func:`plot_balance` (love plot) and :func:`plot_weighted_km`.

The estimators are in :mod:`alis_research.stats.weighting`, :mod:`~alis_research.stats.evalue`
and :mod:`~alis_research.stats.meta`, each checked against R (``tests/reference/robustness.R``).
Methods, decisions and limits: ``docs/methods.md``, section *Robustness*.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from .. import config
from ..errors import AlisError
from ..result import AnalysisResult, input_table, require_columns
from ..stats import evalue as ev
from ..stats import meta
from ..stats import weighting as wt
from .memo import memoised

#: Covariates of the propensity model, by kind (each used where present and complete).
PROPENSITY_ORDERED: dict[str, tuple] = {"size_class": config.SIZE_CLASS_LABELS, "centrality": (0, 1, 2, 3)}
PROPENSITY_NOMINAL: dict[str, tuple] = {"area": config.HEALTH_TRUST_AREAS, "sex": ("K", "M")}
PROPENSITY_NUMERIC: tuple[str, ...] = ("start_year", "age_at_start")
#: Each cohort needs at least this many exits for a weighted curve, RMST or hazard ratio,
#: and a programme for its own hazard ratio: fewer exits give "not estimable".
MIN_EXITS = 5
#: A standardised mean difference above this (in absolute value) after weighting is imbalance.
SMD_THRESHOLD = 0.1
#: Largest stabilised weight before a note warns that a few people dominate.
LARGE_WEIGHT = 10.0
#: A bootstrap interval needs at most this share of resamples not estimable.
BOOTSTRAP_MAX_FAILED = 0.1
TREATED, CONTROL = "næring", config.REFERENCE_CONTRACT


def propensity_specification(covariates: Sequence[str] | None = None) -> dict:
    """The keyword arguments of :func:`~alis_research.stats.weighting.fit_propensity` for ``covariates``.

    ``None`` means all of :data:`PROPENSITY_ORDERED`, :data:`PROPENSITY_NOMINAL` and
    :data:`PROPENSITY_NUMERIC`.
    """
    every = [*PROPENSITY_ORDERED, *PROPENSITY_NOMINAL, *PROPENSITY_NUMERIC]
    chosen = every if covariates is None else list(covariates)
    unknown = [c for c in chosen if c not in every]
    if unknown:
        raise AlisError(f"unknown propensity covariate(s) {', '.join(unknown)}; choose from {', '.join(every)}")
    return {"ordered": {k: v for k, v in PROPENSITY_ORDERED.items() if k in chosen},
            "nominal": {k: v for k, v in PROPENSITY_NOMINAL.items() if k in chosen},
            "numeric": [k for k in PROPENSITY_NUMERIC if k in chosen]}


# --------------------------------------------------------------------------- confounding

@dataclass
class ConfoundingResult(AnalysisResult):
    """Propensity model, weights, balance and the weighted (and crude) contrasts between cohorts.

    Tables: ``propensity`` (term, coef, se), ``balance`` (covariate, level, smd_unweighted,
    smd_weighted), ``weights`` (cohort, min, q1, median, q3, max, sum, ess), ``survival``
    (weighting, cohort, time, survival, std_err, ci_lower, ci_upper), ``rmst`` (weighting,
    group, tau, rmst, se, ci_lower, ci_upper, p_value; group ``difference`` = næring −
    fastlønn), ``cox`` (weighting, coef, se, robust_se, hr, ci_lower, ci_upper, p_value).
    ``weighting`` is ``crude`` (all weights 1) or ``ipw``. ``curves`` holds the full step
    functions for plotting; ``episode_weights`` the weight of every episode (not for publication).
    """

    estimable: bool = False
    reason: str = ""  # why the weighted estimates are missing: a Note (its text is English)
    propensity: pd.DataFrame | None = None
    balance: pd.DataFrame | None = None
    weights: pd.DataFrame | None = None
    survival: pd.DataFrame | None = None
    rmst: pd.DataFrame | None = None
    cox: pd.DataFrame | None = None
    curves: pd.DataFrame | None = None
    episode_weights: pd.Series | None = field(default=None, repr=False)
    propensity_fit: Any = field(default=None, repr=False)

    title: ClassVar[str] = "Confounding-adjusted contrast (inverse-probability weighting), næring vs fastlønn"
    _tables: ClassVar[tuple[str, ...]] = ("propensity", "balance", "weights", "survival", "rmst", "cox")

    def hazard_ratio(self, weighting: str = "ipw") -> dict | None:
        """The hazard ratio row of ``weighting`` as a dict, or None when not estimable."""
        if self.cox is None:
            return None
        rows = self.cox[self.cox["weighting"] == weighting]
        if rows.empty or not np.isfinite(rows["hr"].iloc[0]):
            return None
        return rows.iloc[0].to_dict()


def _episodes(data) -> pd.DataFrame:
    episodes = input_table(data, "episodes")
    require_columns(episodes, ["episode_id", "person_id", "cohort", "duration", "exit"], "episodes")
    bad = sorted(set(episodes["cohort"].dropna().astype(str)) - set(config.CONTRACT_TYPES))
    if bad or episodes["cohort"].isna().any():
        raise AlisError(f"episodes column 'cohort' holds {', '.join(map(repr, bad)) or 'empty values'}; "
                        "expected fastlønn or næring")
    return episodes


def _person_codes(person: pd.Series) -> np.ndarray:
    return np.unique(person.astype(str).to_numpy(), return_inverse=True)[1].ravel()


def _cox_row(weighting: str, time, exit_, treatment, weights, clusters, alpha: float) -> dict:
    """Cox model of the cohort contrast on episodes, robust SE clustered by person (z interval)."""
    fit = wt.weighted_cox(np.zeros(len(time)), time, exit_, treatment, weights, cluster=clusters)
    row = {"weighting": weighting, "coef": np.nan, "se": np.nan, "robust_se": np.nan, "hr": np.nan,
           "ci_lower": np.nan, "ci_upper": np.nan, "p_value": np.nan}
    if fit.diverged or not fit.converged:
        return row
    coef, se, robust = float(fit.coef[0]), float(np.sqrt(fit.variance[0, 0])), float(np.sqrt(fit.robust_variance[0, 0]))
    z = stats.norm.ppf(1 - alpha / 2)
    return row | {"coef": coef, "se": se, "robust_se": robust, "hr": np.exp(coef),
                  "ci_lower": np.exp(coef - z * robust), "ci_upper": np.exp(coef + z * robust),
                  "p_value": float(2 * stats.norm.sf(abs(coef / robust)))}


def _curves_and_rmst(weighting, episodes, weights, clusters, tau, alpha, timepoints):
    """Weighted KM per cohort (table at the time points, full curves) and the RMST rows."""
    z = stats.norm.ppf(1 - alpha / 2)
    survival_rows, curve_frames, rmst_rows, influence = [], [], [], {}
    for cohort in config.CONTRACT_TYPES:
        mask = (episodes["cohort"] == cohort).to_numpy()
        curve = wt.weighted_kaplan_meier(episodes["duration"].to_numpy(float)[mask],
                                         episodes["exit"].to_numpy(int)[mask], weights[mask],
                                         cluster=clusters[mask], alpha=alpha)
        table = curve.table
        start = pd.DataFrame([{"time": 0.0, "n_risk": weights[mask].sum(), "n_event": 0.0, "survival": 1.0,
                               "std_err": 0.0, "ci_lower": 1.0, "ci_upper": 1.0}])
        curve_frames.append(pd.concat([start, table], ignore_index=True).assign(weighting=weighting, cohort=cohort))
        longest = float(episodes.loc[mask, "duration"].max())
        for t in timepoints:
            before = table[table["time"] <= t]
            known = t <= longest
            row = before.iloc[-1] if len(before) else None
            survival_rows.append({
                "weighting": weighting, "cohort": cohort, "time": t,
                "survival": (1.0 if row is None else row["survival"]) if known else np.nan,
                "std_err": (0.0 if row is None else row["std_err"]) if known else np.nan,
                "ci_lower": (np.nan if row is None else row["ci_lower"]) if known else np.nan,
                "ci_upper": (np.nan if row is None else row["ci_upper"]) if known else np.nan})
        estimate, se, per_cluster = wt.weighted_rmst(curve, tau)
        # per-cluster influence keyed by the global person code, so the two cohorts line up
        local = np.unique(clusters[mask])
        influence[cohort] = pd.Series(per_cluster[: len(local)], index=local)
        rmst_rows.append({"weighting": weighting, "group": cohort, "tau": tau, "rmst": estimate, "se": se,
                          "ci_lower": estimate - z * se, "ci_upper": estimate + z * se, "p_value": np.nan})
    difference = influence[TREATED].sub(influence[CONTROL], fill_value=0.0)
    diff = rmst_rows[1]["rmst"] - rmst_rows[0]["rmst"]
    se = float(np.sqrt((difference.to_numpy() ** 2).sum()))
    rmst_rows.append({"weighting": weighting, "group": "difference", "tau": tau, "rmst": diff, "se": se,
                      "ci_lower": diff - z * se, "ci_upper": diff + z * se,
                      "p_value": float(2 * stats.norm.sf(abs(diff) / se)) if se > 0 else np.nan})
    return survival_rows, curve_frames, rmst_rows


@memoised
def confounding_analysis(
    data,
    *,
    covariates: Sequence[str] | None = None,
    tau: float = config.DEFAULT_RMST_HORIZON,
    truncate: float | None = None,
    alpha: float = config.DEFAULT_ALPHA,
    timepoints: Sequence[float] = config.KM_TIMEPOINTS,
    min_exits: int = MIN_EXITS,
) -> ConfoundingResult:
    """Inverse-probability-weighted contrast of the cohorts (næring vs fastlønn at start).

    Parameters
    ----------
    data : PreparedDataset or DataFrame
        The prepared episodes.
    covariates : sequence of str, optional
        Propensity covariates (default: size class, centrality, area, start year, sex, age
        at start, each where present and complete; see :func:`propensity_specification`).
    tau : float
        RMST horizon in years.
    truncate : float, optional
        Truncate the weights at their ``truncate`` and ``1 − truncate`` quantiles; default none.
    alpha : float
        1 − confidence level.
    min_exits : int
        Each cohort needs this many exits for the curves, RMST and hazard ratios.

    Returns
    -------
    ConfoundingResult
        Crude rows are always computed (when each cohort has ``min_exits`` exits); IPW rows
        only when the propensity model is estimable (``estimable``; otherwise ``reason``).
        Intervals: Cox hazard ratios use the robust (sandwich) SE clustered by person with
        z; RMST and survival use the infinitesimal-jackknife SE clustered by person. Both
        treat the weights as known (the propensity model's own uncertainty is not added;
        ``docs/methods.md``).
    """
    episodes = _episodes(data).reset_index(drop=True)
    if not 0 < tau:
        raise AlisError(f"RMST horizon tau must be a positive number of years, got {tau!r}")
    result = ConfoundingResult(params={"covariates": list(covariates) if covariates else "default", "tau": tau,
                                       "truncate": truncate, "alpha": alpha, "stabilised": True,
                                       "cluster": "person_id", "min_exits": min_exits, "ties": "efron"})
    treatment = (episodes["cohort"] == TREATED).to_numpy(float)
    exits = {c: int(episodes.loc[episodes["cohort"] == c, "exit"].sum()) for c in config.CONTRACT_TYPES}
    spec = propensity_specification(covariates)
    fit = wt.fit_propensity(episodes, treatment, **spec)
    result.propensity_fit = fit
    result.propensity = fit.coefficients
    for note in fit.notes:
        result.add_note(note, warn=False)
    clusters = _person_codes(episodes["person_id"])
    time, exit_ = episodes["duration"].to_numpy(float), episodes["exit"].to_numpy(int)
    balance_spec = {"categorical": {**spec["ordered"], **spec["nominal"]}, "numeric": spec["numeric"]}
    ones = np.ones(len(episodes))
    if fit.estimable:
        weights = wt.ate_weights(treatment, fit.propensity, stabilised=True, truncate=truncate)
        result.episode_weights = pd.Series(weights, index=episodes["episode_id"], name="weight")
        result.balance = wt.balance_table(episodes, treatment, weights, **balance_spec)
        result.weights = wt.weight_summary(weights, treatment, {0: CONTROL, 1: TREATED}).rename(columns={"group": "cohort"})
        if weights.max() > LARGE_WEIGHT:
            result.add_note("ipw_large_weight", weight=float(weights.max()))
        imbalanced = result.balance[result.balance["smd_weighted"].abs() > SMD_THRESHOLD]
        if len(imbalanced):
            result.add_note("ipw_residual_imbalance", imbalanced_levels=len(imbalanced), threshold=SMD_THRESHOLD, warn=False)
    else:
        result.reason = fit.reason
        result.balance = wt.balance_table(episodes, treatment, ones, **balance_spec).assign(smd_weighted=np.nan)
        weights = None
    few = [c for c, k in exits.items() if k < min_exits]
    if few:
        reason = result.add_note("ipw_few_exits", minimum=min_exits, cohorts=few)
        result.reason = result.reason or reason
        return result
    survival_rows, curves, rmst_rows, cox_rows = [], [], [], []
    for weighting, w in (("crude", ones), ("ipw", weights)):
        if w is None:
            continue
        s, c, r = _curves_and_rmst(weighting, episodes, w, clusters, tau, alpha, timepoints)
        survival_rows += s
        curves += c
        rmst_rows += r
        cox_rows.append(_cox_row(weighting, time, exit_, treatment, w, clusters, alpha))
    result.survival = pd.DataFrame(survival_rows)
    result.curves = pd.concat(curves, ignore_index=True)
    result.rmst = pd.DataFrame(rmst_rows)
    result.cox = pd.DataFrame(cox_rows)
    if result.cox["hr"].isna().any():
        result.add_note("ipw_cox_no_convergence")
    if tau > time.max():
        result.add_note("ipw_tau_beyond_follow_up", tau=float(tau), follow_up=float(time.max()))
    result.estimable = fit.estimable and bool(np.isfinite(result.cox["hr"]).all())
    if not fit.estimable:
        result.add_note("ipw_not_available")  # the reason is the propensity model's own note
    return result


# --------------------------------------------------------------------------- person-level bootstrap

@dataclass
class BootstrapResult(AnalysisResult):
    """Person-level bootstrap of the weighted contrasts, re-fitting the propensity model in every resample.

    ``intervals``: quantity (``hr`` or ``rmst_difference``), estimate (from the data), ci_lower,
    ci_upper (percentile), resamples, not_estimable. ``samples``: one row per resample
    (log_hr, rmst_difference; NaN where not estimable).
    """

    intervals: pd.DataFrame | None = None
    samples: pd.DataFrame | None = field(default=None, repr=False)

    title: ClassVar[str] = "Person-level bootstrap of the IPW contrasts (propensity model re-fitted)"
    _tables: ClassVar[tuple[str, ...]] = ("intervals",)


def _ipw_contrast(episodes: pd.DataFrame, spec: dict, tau: float, truncate, min_exits: int) -> tuple[float, float]:
    """log HR and RMST difference (næring − fastlønn) of one dataset, NaN when not estimable."""
    treatment = (episodes["cohort"] == TREATED).to_numpy(float)
    exit_ = episodes["exit"].to_numpy(int)
    if min(exit_[treatment == 1].sum(), exit_[treatment == 0].sum()) < min_exits:
        return np.nan, np.nan
    fit = wt.fit_propensity(episodes, treatment, **spec)
    if not fit.estimable:
        return np.nan, np.nan
    weights = wt.ate_weights(treatment, fit.propensity, truncate=truncate)
    time = episodes["duration"].to_numpy(float)
    cox = wt.weighted_cox(np.zeros(len(time)), time, exit_, treatment, weights)
    log_hr = float(cox.coef[0]) if cox.converged and not cox.diverged else np.nan
    rmst = [wt.weighted_rmst(wt.weighted_kaplan_meier(time[treatment == g], exit_[treatment == g],
                                                      weights[treatment == g]), tau)[0] for g in (1, 0)]
    return log_hr, rmst[0] - rmst[1]


def bootstrap_confounding(data, *, replicates: int = 1000, seed: int = 2019, covariates: Sequence[str] | None = None,
                          tau: float = config.DEFAULT_RMST_HORIZON, truncate: float | None = None,
                          alpha: float = config.DEFAULT_ALPHA, min_exits: int = MIN_EXITS) -> BootstrapResult:
    """Percentile intervals of the IPW hazard ratio and RMST difference from a person-level bootstrap.

    Persons are drawn with replacement (with all their episodes, so episodes of one person stay
    together) and the whole analysis is repeated: propensity model (merging of sparse levels
    included), stabilised weights, weighted Cox and weighted RMST. Unlike the robust intervals
    of :func:`confounding_analysis`, this carries the propensity model's own uncertainty. A
    resample where the propensity model or a cohort's exits make the analysis not estimable
    gives NaN and is left out of the percentiles; how many is in ``not_estimable`` and a note.
    Same seed, same intervals. Not used by the report (it refits a logistic model hundreds of
    times); for the researcher who wants the second opinion the issue asks for.
    """
    episodes = _episodes(data).reset_index(drop=True)
    if int(replicates) < 1:
        raise AlisError(f"replicates must be a positive number of bootstrap resamples, got {replicates!r}")
    spec = propensity_specification(covariates)
    result = BootstrapResult(params={"replicates": int(replicates), "seed": seed, "tau": tau, "truncate": truncate,
                                     "alpha": alpha, "unit": "person (all their episodes)", "ci": "percentile"})
    estimate = _ipw_contrast(episodes, spec, tau, truncate, min_exits)
    persons = _person_codes(episodes["person_id"])
    rows_of = [np.flatnonzero(persons == p) for p in range(persons.max() + 1)]
    rng = np.random.default_rng(seed)
    samples = np.full((int(replicates), 2), np.nan)
    for b in range(int(replicates)):
        drawn = rng.integers(0, len(rows_of), size=len(rows_of))
        rows = np.concatenate([rows_of[p] for p in drawn])
        samples[b] = _ipw_contrast(episodes.iloc[rows].reset_index(drop=True), spec, tau, truncate, min_exits)
    result.samples = pd.DataFrame(samples, columns=["log_hr", "rmst_difference"])
    lower_q, upper_q = 100 * alpha / 2, 100 * (1 - alpha / 2)
    rows = []
    for quantity, column, point, transform in (("hr", "log_hr", estimate[0], np.exp),
                                               ("rmst_difference", "rmst_difference", estimate[1], lambda x: x)):
        values = result.samples[column].to_numpy()
        ok = values[np.isfinite(values)]
        failed = int(len(values) - len(ok))
        if failed:
            result.add_note("bootstrap_resamples_failed", quantity=quantity, failed=failed, resamples=len(values),
                            warn=False)
        usable = len(ok) >= (1 - BOOTSTRAP_MAX_FAILED) * len(values) and np.isfinite(point)
        if not usable:
            result.add_note("bootstrap_not_estimable", quantity=quantity, limit=BOOTSTRAP_MAX_FAILED, warn=False)
        rows.append({"quantity": quantity, "estimate": transform(point) if np.isfinite(point) else np.nan,
                     "ci_lower": transform(np.percentile(ok, lower_q)) if usable else np.nan,
                     "ci_upper": transform(np.percentile(ok, upper_q)) if usable else np.nan,
                     "resamples": len(values), "not_estimable": failed})
    result.intervals = pd.DataFrame(rows)
    return result


# --------------------------------------------------------------------------- E-value

@dataclass
class EValueResult(AnalysisResult):
    """E-values of the confounding-adjusted hazard ratio (VanderWeele & Ding 2017)."""

    table: pd.DataFrame | None = None
    evalue: ev.EValue | None = None

    title: ClassVar[str] = "E-value: unmeasured confounding needed to explain the hazard ratio away"
    _tables: ClassVar[tuple[str, ...]] = ("table",)


def outcome_is_rare(data, *, limit: float = ev.RARE_OUTCOME_LIMIT) -> bool:
    """Whether fewer than ``limit`` leave by the end of follow-up (1 − Kaplan–Meier at the last time)."""
    from .retention import product_limit_table

    episodes = _episodes(data)
    table = product_limit_table(episodes["duration"].to_numpy(float), episodes["exit"].to_numpy(int))
    return bool(1 - table["survival"].iloc[-1] < limit)


def e_value_analysis(confounding: ConfoundingResult, *, data=None, rare: bool | None = None,
                     weighting: str = "ipw") -> EValueResult:
    """E-values of the weighted hazard ratio and of its confidence limit closest to 1.

    Parameters
    ----------
    confounding : ConfoundingResult
        From :func:`confounding_analysis`.
    data : PreparedDataset or DataFrame, optional
        The episodes, to decide whether leaving is rare (:func:`outcome_is_rare`) when
        ``rare`` is not given; without either, the outcome is taken as common.
    rare : bool, optional
        Rare outcome (RR ≈ HR) or common (the square-root conversion).
    weighting : "ipw" or "crude"
    """
    if rare is None:
        rare = outcome_is_rare(data) if data is not None else False
    result = EValueResult(params={"weighting": weighting, "rare_outcome": rare,
                                  "approximation": "RR ≈ HR" if rare else
                                  "RR ≈ (1 − 0.5^√HR) / (1 − 0.5^√(1/HR))"})
    row = confounding.hazard_ratio(weighting)
    columns = ["hr", "ci_lower", "ci_upper", "rr", "e_value", "e_value_ci", "limit"]
    if row is None:  # the reason is among the confounding analysis's notes
        result.add_note("evalue_not_estimable", weighting=weighting, warn=False)
        result.table = pd.DataFrame([{c: np.nan for c in columns} | {"limit": ""}])
        return result
    value = ev.e_value_hr(row["hr"], row["ci_lower"], row["ci_upper"], rare=rare)
    result.evalue = value
    result.table = pd.DataFrame([{"hr": value.hr, "ci_lower": value.ci_lower, "ci_upper": value.ci_upper,
                                  "rr": value.rr, "e_value": value.e_value, "e_value_ci": value.e_value_ci,
                                  "limit": value.limit}])
    return result


# --------------------------------------------------------------------------- pooled programmes

@dataclass
class PooledResult(AnalysisResult):
    """Hazard ratio næring vs fastlønn per programme, stratified by programme, and pooled.

    Tables: ``per_programme`` (programme, coef, se_used, hr, ci_lower, ci_upper, p_value,
    estimable), ``stratified`` (coef, se, robust_se, hr, ci_lower, ci_upper, p_value),
    ``pooled`` (model fixed/random: hr, ci_lower, ci_upper, p_value) and ``heterogeneity``
    (k, q, q_df, q_p_value, i_squared, tau_squared).
    """

    estimable: bool = False
    programmes: list[str] = field(default_factory=list)
    per_programme: pd.DataFrame | None = None
    stratified: pd.DataFrame | None = None
    pooled: pd.DataFrame | None = None
    heterogeneity: pd.DataFrame | None = None
    estimate: meta.PooledEstimate | None = None

    title: ClassVar[str] = "Programmes: Cox per programme, stratified by programme, and pooled (random effects)"
    _tables: ClassVar[tuple[str, ...]] = ("per_programme", "stratified", "pooled", "heterogeneity")


def _stratified_cox(frame: pd.DataFrame, cluster: str, alpha: float) -> dict:
    """Cox model of the current contract type stratified by programme, cluster-robust (as duration.cox_model)."""
    from .duration import MIN_CLUSTERS

    X = (frame["contract_type"] == TREATED).to_numpy(float)
    fit = wt.weighted_cox(frame["start"], frame["stop"], frame["exit"], X, strata=frame["programme"].astype(str),
                          cluster=frame[cluster].astype(str))
    row = {"coef": np.nan, "se": np.nan, "robust_se": np.nan, "hr": np.nan, "ci_lower": np.nan,
           "ci_upper": np.nan, "p_value": np.nan, "clusters": fit.n_clusters}
    if fit.diverged or not fit.converged:
        return row
    coef, se, robust = float(fit.coef[0]), float(np.sqrt(fit.variance[0, 0])), float(np.sqrt(fit.robust_variance[0, 0]))
    g = fit.n_clusters
    if g >= MIN_CLUSTERS:  # the few-cluster correction of duration.cox_model
        used, reference = robust * np.sqrt(g / (g - 1)), stats.t(df=g - 1)
    else:
        used, reference = se, stats.norm
    critical = reference.ppf(1 - alpha / 2)
    return row | {"coef": coef, "se": se, "robust_se": robust, "hr": np.exp(coef),
                  "ci_lower": np.exp(coef - critical * used), "ci_upper": np.exp(coef + critical * used),
                  "p_value": float(2 * reference.sf(abs(coef / used)))}


@memoised
def pooled_programmes(data, *, cluster: str = "municipality_code", alpha: float = config.DEFAULT_ALPHA,
                      min_exits: int = MIN_EXITS) -> PooledResult:
    """Combine programmes: Cox per programme, Cox stratified by programme, DerSimonian–Laird pooling.

    The model is the crude Cox model of the current contract type on the counting-process
    intervals (:func:`alis_research.analysis.duration.cox_model`), fitted per programme; each
    programme with at least ``min_exits`` exits and an estimable model contributes its log
    hazard ratio with the standard error its interval uses (cluster-robust with the
    few-cluster correction, or model-based with fewer than
    :data:`~alis_research.analysis.duration.MIN_CLUSTERS` clusters). The stratified model lets each
    programme have its own baseline hazard (R: ``coxph(Surv(start, stop, exit) ~ næring +
    strata(programme), cluster = municipality_code)``). With one programme (or one
    estimable) nothing is pooled: ``estimable`` is False and a note says why.
    """
    import warnings

    from .duration import MIN_CLUSTERS, cox_model
    from ..errors import AlisWarning, NotEstimableWarning

    intervals = input_table(data, "intervals")
    require_columns(intervals, ["start", "stop", "exit", "contract_type", "episode_id", cluster], "intervals")
    if "programme" not in intervals.columns:
        episodes = input_table(data, "episodes")
        require_columns(episodes, ["episode_id", "programme"], "episodes")
        intervals = intervals.merge(episodes[["episode_id", "programme"]], on="episode_id", how="left")
    intervals = intervals.assign(programme=intervals["programme"].fillna(config.DEFAULT_PROGRAMME).astype(str))
    result = PooledResult(params={"cluster": cluster, "alpha": alpha, "min_exits": min_exits,
                                  "method": "DerSimonian–Laird"})
    programmes = sorted(intervals["programme"].unique())
    result.programmes = programmes
    rows = []
    for programme in programmes:
        part = intervals[intervals["programme"] == programme]
        row = {"programme": programme, "coef": np.nan, "se_used": np.nan, "hr": np.nan, "ci_lower": np.nan,
               "ci_upper": np.nan, "p_value": np.nan, "estimable": False}
        if int(part["exit"].sum()) < min_exits:
            result.add_note("pooled_few_exits", programme=programme, minimum=min_exits, warn=False)
            rows.append(row)
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", AlisWarning)
            warnings.simplefilter("ignore", NotEstimableWarning)
            cox = cox_model(part, cluster=cluster, alpha=alpha)
        if not cox.estimable:
            result.add_note("pooled_cox_not_estimable", programme=programme, warn=False)
            rows.append(row)
            continue
        term = cox.coefficients.iloc[0]
        clusters = int(cox.summary["clusters"].iloc[0])
        se_used = term["robust_se"] * np.sqrt(clusters / (clusters - 1)) if clusters >= MIN_CLUSTERS else term["se"]
        rows.append(row | {"coef": term["coef"], "se_used": float(se_used), "hr": term["hr"],
                           "ci_lower": term["ci_lower"], "ci_upper": term["ci_upper"], "p_value": term["p_value"],
                           "estimable": True})
    result.per_programme = pd.DataFrame(rows)
    if len(programmes) < 2:
        if programmes:
            result.add_note("pooled_one_programme", programme=programmes[0], warn=False)
        else:
            result.add_note("pooled_no_programme", warn=False)
        return result
    if int(intervals["exit"].sum()) >= min_exits:
        result.stratified = pd.DataFrame([_stratified_cox(intervals.dropna(subset=[cluster]), cluster, alpha)])
    usable = result.per_programme[result.per_programme["estimable"]]
    if len(usable) < 2:
        result.add_note("pooled_too_few", warn=False)
        return result
    pooled = meta.dersimonian_laird(usable["coef"].to_numpy(float), usable["se_used"].to_numpy(float))
    result.estimate = pooled
    result.estimable = True
    pooled_rows = []
    for model in ("fixed", "random"):
        lower, upper = pooled.interval(model, alpha)
        estimate = pooled.fixed if model == "fixed" else pooled.random
        pooled_rows.append({"model": model, "coef": estimate,
                            "se": pooled.fixed_se if model == "fixed" else pooled.random_se,
                            "hr": np.exp(estimate), "ci_lower": np.exp(lower), "ci_upper": np.exp(upper),
                            "p_value": pooled.p_value(model)})
    result.pooled = pd.DataFrame(pooled_rows)
    result.heterogeneity = pd.DataFrame([{"k": pooled.k, "q": pooled.q, "q_df": pooled.q_df,
                                          "q_p_value": pooled.q_p_value, "i_squared": pooled.i_squared,
                                          "tau_squared": pooled.tau_squared}])
    if pooled.k == 2:
        result.add_note("pooled_two_programmes", warn=False)
    return result


# --------------------------------------------------------------------------- plots

def _plot_words(language: str) -> dict:
    """The love plot's and weighted curves' labels (catalogue table ``figure.robustness``)."""
    from ..figures import figure_labels

    return figure_labels(language, "figure.robustness")


def plot_balance(result: ConfoundingResult, ax=None, *, language: str = "nb", threshold: float = SMD_THRESHOLD):
    """Love plot: standardised mean differences per covariate level before and after weighting.

    Dashed lines at ±``threshold``. Returns the axes.
    """
    from .. import figures

    words = _plot_words(language)
    balance = getattr(result, "balance", None)
    if balance is None or balance.empty:
        raise AlisError("the result holds no balance table to plot")
    labels = [f"{words.get(row.covariate, row.covariate)}: {words.get(row.level, row.level)}" if row.level != ""
              else words.get(row.covariate, str(row.covariate)) for row in balance.itertuples()]
    y = np.arange(len(balance))[::-1]
    with figures.house_style():
        ax = figures.new_axes(ax, figsize=(6.0, 0.3 * len(balance) + 1.2))
        ax.scatter(balance["smd_unweighted"], y, marker="o", facecolors="none",
                   edgecolors=figures.colour(None, 0), label=words["unweighted"], zorder=3)
        if balance["smd_weighted"].notna().any():
            ax.scatter(balance["smd_weighted"], y, marker="o", color=figures.colour(None, 1),
                       label=words["weighted"], zorder=3)
        for x in (-threshold, threshold):
            ax.axvline(x, linestyle="--", linewidth=0.8, color="grey")
        ax.axvline(0, linewidth=0.8, color="black")
        ax.set_yticks(y)
        ax.set_yticklabels(labels)
        ax.set_xlabel(words["smd"])
        figures.decimal_axes(ax, language, axis="x")
        ax.legend(loc="lower right")
    return ax


def plot_weighted_km(result: ConfoundingResult, ax=None, *, language: str = "nb", weighting: str = "ipw"):
    """Weighted (or crude) Kaplan–Meier curves per cohort with log-log bands. Returns the axes."""
    from .. import figures

    words = _plot_words(language)
    curves = result.curves
    if curves is None or curves.empty or not (curves["weighting"] == weighting).any():
        raise AlisError(f"the result holds no {weighting} curves to plot")
    with figures.house_style():
        ax = figures.new_axes(ax)
        for i, (cohort, curve) in enumerate(curves[curves["weighting"] == weighting].groupby("cohort", sort=True)):
            colour = figures.colour(cohort, i)
            ax.step(curve["time"], curve["survival"], where="post", color=colour,
                    label=figures.label(cohort, language), linewidth=1.6)
            lower = curve["ci_lower"].where(curve["ci_lower"].notna(), curve["survival"])
            upper = curve["ci_upper"].where(curve["ci_upper"].notna(), curve["survival"])
            ax.fill_between(curve["time"], lower, upper, step="post", color=colour, alpha=0.18, linewidth=0)
        ax.set_ylim(0, 1.02)
        ax.set_xlim(left=0)
        ax.set_xlabel(words["years"])
        ax.set_ylabel(words["retention"])
        figures.decimal_axes(ax, language)
        ax.legend(loc="lower left")
    return ax
