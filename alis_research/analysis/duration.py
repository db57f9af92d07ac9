"""Contract duration: Cox model, PH check, competing risks, AFT extrapolation, the Abelsen view.

Every analysis takes the prepared dataset (a :class:`~alis_research.data.cohort.PreparedDataset`
or the relevant DataFrame: ``intervals`` for the Cox model, ``episodes`` for the rest)
and returns an :class:`~alis_research.result.AnalysisResult` subclass with tidy tables.
Small samples are the norm (32 positions): when an estimate cannot be trusted the
result carries a note and NaN instead of an absurd number.

All estimators are checked against R's ``survival`` package
(``tests/reference/duration.R``); formulas are in ``docs/methods.md``.
"""
from __future__ import annotations

import csv
import warnings
from dataclasses import dataclass, field
from typing import Any, ClassVar, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from ..stats import coxph
from ..config import (
    CONTRACT_TYPES,
    DEFAULT_ALPHA,
    HEALTH_TRUST_AREAS,
    KM_TIMEPOINTS,
    REFERENCE_CONTRACT,
    REFERENCE_DATA,
    SIZE_CLASS_LABELS,
)
from ..errors import AlisError, NotEstimableWarning
from ..messages.note import Note
from ..result import AnalysisResult, check_alpha, input_table, require_columns, with_interval
from ..stats import km
from .memo import memoised

#: The contrast of every Cox model: 1 while the current contract is næring.
NAERING_TERM = "næring"
#: Categorical covariates and their level order; the first level present is the reference.
CATEGORICAL_LEVELS: dict[str, tuple[str, ...]] = {
    "sex": ("K", "M"),
    "size_class": SIZE_CLASS_LABELS,
    "area": HEALTH_TRUST_AREAS,
    "scheme": ("new", "old"),
}
#: Below this many events per coefficient a Cox model is flagged unstable.
MIN_EVENTS_PER_COEFFICIENT = 10
#: Below this many clusters the cluster-robust variance is unreliable.
MIN_CLUSTERS = 5
#: A parametric fit needs at least this many events.
MIN_EVENTS_PARAMETRIC = 3
#: end_reason that counts as staying in general practice in the region.
STAYED_REASON = "other_gp_same_region"
DEFAULT_DESTINATIONS: dict[str, tuple[str, ...]] = {"stayed_gp_region": (STAYED_REASON,)}
OTHER_DESTINATION = "left"
#: Published figures ship in reference data (Abelsen et al. 2015).
PUBLISHED_DURATIONS_FILE = REFERENCE_DATA / "published_durations.csv"



# --------------------------------------------------------------------------- helpers

def normal_quantile(alpha: float) -> float:
    """The two-sided critical value z_{1-alpha/2} of the standard normal (1.96 for alpha 0.05)."""
    if not 0 < alpha < 1:
        raise AlisError(f"alpha must lie between 0 and 1, got {alpha!r}")
    return float(stats.norm.ppf(1 - alpha / 2))


def _warn_not_estimable(result: AnalysisResult, code: str, **values) -> None:
    """Record the note ``code`` (with ``values``) and warn with it as a NotEstimableWarning."""
    note = result.add_note(code, warn=False, **values)
    warnings.warn(str(note), NotEstimableWarning, stacklevel=3)


# --------------------------------------------------------------------------- Cox model

@dataclass
class CoxResult(AnalysisResult):
    """Cox model on the counting-process intervals (current contract type)."""

    coefficients: pd.DataFrame | None = None
    summary: pd.DataFrame | None = None
    term_columns: dict[str, list[int]] = field(default_factory=dict)
    fit: coxph.EfronFit | None = field(default=None, repr=False)
    estimable: bool = False
    #: The standard error the intervals use (robust × √(G/(G−1)) or model-based) and the
    #: Student-t degrees of freedom of the few-cluster correction (None: Wald z).
    interval_se: np.ndarray | None = field(default=None, repr=False)
    interval_df: int | None = None

    title: ClassVar[str] = "Cox model: hazard of leaving, næring vs fastlønn (current contract)"
    _tables: ClassVar[tuple[str, ...]] = ("coefficients", "summary")

    def conf_int(self, alpha: float = 0.05) -> pd.DataFrame:
        """``coefficients`` with hazard-ratio intervals exp(coef ± c·se) at level 1 − ``alpha``, on the
        log scale with the standard error and reference distribution of the fit (the few-cluster
        t correction where it applied); NaN when the model was not estimable."""
        alpha = check_alpha(alpha)
        table = self.coefficients
        if self.interval_se is None:
            return with_interval(table, np.nan, np.nan, alpha)
        reference = stats.norm if self.interval_df is None else stats.t(df=self.interval_df)
        critical = reference.ppf(1 - alpha / 2)
        coef = table["coef"].to_numpy(float)
        return with_interval(table, np.exp(coef - critical * self.interval_se),
                             np.exp(coef + critical * self.interval_se), alpha)


def _design_matrix(frame: pd.DataFrame, covariates: Sequence[str],
                   contract_term: bool = True) -> tuple[np.ndarray, list[str], dict[str, list[int]], list[str]]:
    """Numeric design: næring indicator first (unless ``contract_term`` is false), then covariates
    (categoricals as dummies).

    Returns the matrix, the column (term) names, the columns of each covariate,
    and notes naming the reference levels.
    """
    columns: list[np.ndarray] = [(frame["contract_type"] == "næring").to_numpy(float)] if contract_term else []
    names = [NAERING_TERM] if contract_term else []
    groups = {NAERING_TERM: [0]} if contract_term else {}
    notes = [Note("cox_reference", variable="contract type", level=REFERENCE_CONTRACT)] if contract_term else []
    for covariate in covariates:
        values = frame[covariate]
        if covariate in CATEGORICAL_LEVELS or not pd.api.types.is_numeric_dtype(values):
            # one pass over the rows: codes of the distinct texts, then comparisons of small integers
            codes, distinct = pd.factorize(values.astype(str))
            distinct = list(distinct)
            order = CATEGORICAL_LEVELS.get(covariate) or tuple(sorted(distinct))
            present = [level for level in order if level in distinct]
            unknown = sorted(set(distinct) - set(order))
            if unknown:
                raise AlisError(
                    f"column {covariate!r} holds value(s) {', '.join(map(repr, unknown))}; expected one of {', '.join(order)}"
                )
            groups[covariate] = []
            for level in present[1:]:
                groups[covariate].append(len(names))
                names.append(f"{covariate}={level}")
                columns.append((codes == distinct.index(level)).astype(float))
            if present:
                notes.append(Note("cox_reference", variable=covariate, level=present[0]))
        else:
            groups[covariate] = [len(names)]
            names.append(covariate)
            columns.append(values.to_numpy(float))
    return np.column_stack(columns), names, groups, notes


@memoised
def cox_model(
    intervals: Any,
    *,
    covariates: Sequence[str] = (),
    cluster: str | None = "municipality_code",
    alpha: float = DEFAULT_ALPHA,
    contract_term: bool = True,
) -> CoxResult:
    """Cox proportional-hazards model with the current contract type, Efron ties.

    Fits :math:`h(t \\mid x) = h_0(t) \\exp(\\beta_1 [\\text{næring}(t)] + \\beta^\\top z)` on the
    (start, stop] intervals, as R's
    ``coxph(Surv(start, stop, exit) ~ næring + ..., ties = "efron", cluster = municipality_code)``.

    Parameters
    ----------
    intervals : PreparedDataset or DataFrame
        The counting-process intervals (``start``, ``stop``, ``exit``, ``contract_type``, ...).
    covariates : sequence of str
        Extra columns: numeric ones enter linearly (``age_at_start`` per year, ``centrality``
        per level), categorical ones (``sex``, ``size_class``, ``area``, ``scheme``) as
        dummies against the first level present in the order of :data:`CATEGORICAL_LEVELS`.
    cluster : str or None
        Column whose groups give the cluster-robust (sandwich) variance; ``None`` for none.
    alpha : float
        1 − confidence level of the hazard-ratio intervals.
    contract_term : bool
        Whether the model holds the current contract type (the næring term, first). ``False``
        for models of other contrasts (the Abelsen replication, ALIS versus other GPs in
        :mod:`alis_research.analysis.comparison`); then at least one covariate is needed and the
        ``contract_type`` column is not.

    Returns
    -------
    CoxResult
        ``coefficients``: term, coef, se (model-based), robust_se, hr, ci_lower, ci_upper,
        p_value. When clustered by at least :data:`MIN_CLUSTERS` groups, intervals and
        p-values use ``robust_se`` (R's sandwich) × √(G/(G−1)) with Student's t on G−1
        degrees of freedom (the few-cluster correction); otherwise the model-based SE with
        Wald z, and a note. ``summary``: n, events,
        clusters, loglik, loglik_null, iterations.
    """
    frame = input_table(intervals, "intervals")
    if not contract_term and not covariates:
        raise AlisError("a Cox model without the contract-type term needs at least one covariate")
    needed = ["start", "stop", "exit", *(["contract_type"] if contract_term else []), *covariates] + \
        ([cluster] if cluster else [])
    require_columns(frame, needed, "intervals")
    result = CoxResult(params={"covariates": list(covariates), "cluster": cluster, "ties": "efron", "alpha": alpha})
    bad_types = sorted(set(frame["contract_type"].dropna().astype(str)) - set(CONTRACT_TYPES)) if contract_term else []
    if bad_types:
        raise AlisError(f"intervals column 'contract_type' holds {', '.join(map(repr, bad_types))}; expected fastlønn or næring")
    complete = frame.dropna(subset=needed)
    if len(complete) < len(frame):
        result.add_note("cox_missing", n=len(frame) - len(complete), variables=list(needed))
    if (complete["stop"] <= complete["start"]).any():
        row = complete.index[(complete["stop"] <= complete["start"]).to_numpy()][0]
        raise AlisError(f"intervals row {row}: stop ({complete.at[row, 'stop']}) must be after start ({complete.at[row, 'start']})")

    X, names, groups, reference_notes = _design_matrix(complete, covariates, contract_term)
    result.term_columns = groups
    for note in reference_notes:
        result.add_note(note, warn=False)
    events = int(complete["exit"].sum())
    n_clusters = int(complete[cluster].nunique()) if cluster else 0
    result.summary = pd.DataFrame(
        [{"n": len(complete), "events": events, "clusters": n_clusters if cluster else np.nan,
          "loglik": np.nan, "loglik_null": np.nan, "iterations": 0}]
    )
    nan_table = pd.DataFrame({"term": names, **{c: np.nan for c in ("coef", "se", "robust_se", "hr", "ci_lower", "ci_upper", "p_value")}})
    result.coefficients = nan_table

    constant = [names[j] for j in range(X.shape[1]) if np.ptp(X[:, j]) == 0]
    if events == 0:
        _warn_not_estimable(result, "cox_no_exits")
        return result
    if constant:
        _warn_not_estimable(result, "cox_constant", terms=list(constant))
        return result

    fit = coxph.fit_efron(complete["start"].to_numpy(), complete["stop"].to_numpy(), complete["exit"].to_numpy(), X)
    result.fit = fit
    result.summary.loc[0, ["loglik", "loglik_null", "iterations"]] = [fit.loglik, fit.loglik_null, fit.iterations]
    if fit.diverged or not fit.converged:
        _warn_not_estimable(result, "cox_no_maximum" if fit.diverged else "cox_no_convergence")
        return result

    se = np.sqrt(np.diag(fit.variance))
    reference = stats.norm  # Wald z, unless the few-cluster correction below applies
    if cluster and n_clusters < 2:
        # The dfbeta residuals sum to zero at the maximum, so one cluster gives a robust variance
        # of exactly 0 (rounding noise): an interval of zero width, not an estimate.
        robust = np.full_like(se, np.nan)
        used_se = se
        result.add_note("cox_one_cluster", variable=cluster)
    elif cluster:
        robust = np.sqrt(np.diag(coxph.cluster_robust_variance(fit, complete[cluster].to_numpy())))
        if n_clusters < MIN_CLUSTERS:
            # A sandwich over so few clusters underestimates the variance badly.
            used_se = se
            result.add_note("cox_few_clusters", clusters=n_clusters, variable=cluster, minimum=MIN_CLUSTERS)
        else:
            # R's sandwich (robust_se, reported as R prints it) undercovers with tens of clusters
            # (91.6 % for a nominal 95 % with 20 municipalities, benchmarks/coverage_simulation.py).
            # The interval and p-value therefore use the few-cluster correction of Stata's
            # vce(cluster): variance × G/(G−1) and Student's t on G−1 degrees of freedom.
            used_se = robust * np.sqrt(n_clusters / (n_clusters - 1))
            reference = stats.t(df=n_clusters - 1)
            result.add_note("cox_robust_corrected", warn=False)
    else:
        robust = np.full_like(se, np.nan)
        used_se = se
    critical = reference.ppf(1 - alpha / 2)
    coef = fit.coef
    result.interval_se = np.asarray(used_se, float)
    result.interval_df = n_clusters - 1 if reference is not stats.norm else None
    result.coefficients = pd.DataFrame(
        {
            "term": names,
            "coef": coef,
            "se": se,
            "robust_se": robust,
            "hr": np.exp(coef),
            "ci_lower": np.exp(coef - critical * used_se),
            "ci_upper": np.exp(coef + critical * used_se),
            "p_value": 2 * reference.sf(np.abs(coef / used_se)),
        }
    )
    result.estimable = True
    if events < MIN_EVENTS_PER_COEFFICIENT * len(names):
        result.add_note("cox_unstable", events=events, coefficients=len(names), minimum=MIN_EVENTS_PER_COEFFICIENT)
    return result


# --------------------------------------------------------------------------- PH test

@dataclass
class PHTestResult(AnalysisResult):
    """Scaled-Schoenfeld (score) test of proportional hazards, per term and global."""

    table: pd.DataFrame | None = None
    residuals: pd.DataFrame | None = None

    title: ClassVar[str] = "Proportional-hazards check (scaled Schoenfeld residuals, KM time)"
    _tables: ClassVar[tuple[str, ...]] = ("table",)


@memoised
def proportional_hazards_test(cox_result: CoxResult, *, alpha: float = 0.05) -> PHTestResult:
    """Test whether each hazard ratio changes over time, as R's ``cox.zph(fit, transform = "km")``.

    The score test (survival 3.x) of :math:`\\theta = 0` in
    :math:`\\beta(t) = \\beta + \\theta\\, g(t)`, with :math:`g(t) = 1 - \\hat S(t-)`
    (the KM of the intervals) centred over the exits; per covariate (multi-df for a
    categorical one) and globally.

    Returns
    -------
    PHTestResult
        ``table``: term, chisq, df, p_value (last row ``GLOBAL``); ``residuals``: scaled
        Schoenfeld residuals per exit against the transformed time (for a plot).
    """
    result = PHTestResult(params={"transform": "km", "alpha": alpha})
    if not isinstance(cox_result, CoxResult):
        raise AlisError(f"proportional_hazards_test needs the result of cox_model, got {type(cox_result).__name__}")
    if not cox_result.estimable or cox_result.fit is None:
        _warn_not_estimable(result, "ph_not_estimable")
        result.table = pd.DataFrame(columns=["term", "chisq", "df", "p_value"])
        return result
    fit = cox_result.fit
    term_names = list(cox_result.term_columns)
    groups = [cox_result.term_columns[t] for t in term_names]
    test = coxph.zph_test(fit, groups)
    dfs = [len(g) for g in groups] + [fit.X.shape[1]]
    chisq = list(test.chisq) + [test.global_chisq]
    result.table = pd.DataFrame(
        {"term": term_names + ["GLOBAL"], "chisq": chisq, "df": dfs, "p_value": stats.chi2.sf(chisq, dfs)}
    )
    columns = cox_result.coefficients["term"].tolist()
    exit_times = fit.stop[fit.event == 1]
    result.residuals = (
        pd.DataFrame(test.scaled_residuals, columns=columns)
        .assign(time=exit_times, transformed_time=test.transformed_times)
        .sort_values("time", kind="stable", ignore_index=True)
    )
    for term, p in zip(result.table["term"], result.table["p_value"]):
        if term != "GLOBAL" and p < alpha:
            result.add_note("ph_violated", term=term, p=float(p))
    return result


# --------------------------------------------------------------------------- Aalen–Johansen

@dataclass
class CumulativeIncidenceResult(AnalysisResult):
    """Aalen–Johansen cumulative incidence of exit by destination."""

    estimates: pd.DataFrame | None = None
    curves: pd.DataFrame | None = None

    title: ClassVar[str] = "Cumulative incidence of exit by destination (Aalen–Johansen)"
    _tables: ClassVar[tuple[str, ...]] = ("estimates",)

    def conf_int(self, alpha: float = 0.05, *, table: str = "estimates") -> pd.DataFrame:
        """``estimates`` (or ``curves``) with log-scale intervals at level 1 − ``alpha`` (R's ``survfit``)."""
        alpha = check_alpha(alpha)
        if table not in ("estimates", "curves"):
            raise AlisError(f"table must be 'estimates' or 'curves', got {table!r}")
        frame = getattr(self, table)
        lower, upper = log_interval(frame["cumulative_incidence"].to_numpy(float),
                                    frame["std_err"].to_numpy(float), normal_quantile(alpha))
        return with_interval(frame, lower, upper, alpha)


def aalen_johansen_arrays(time: np.ndarray, cause: np.ndarray, n_causes: int) -> dict[str, np.ndarray]:
    """AJ estimate and infinitesimal-jackknife SE of each cause's cumulative incidence.

    ``cause`` is 0 for censored, 1..n_causes for the destination.  All tied exits of
    any cause at a time enter in one step (no jitter), as R's ``survfit``.  The
    influence of person :math:`i` on :math:`F_k(t)` follows the AJ recursion
    (R ``survfit`` multi-state std.err); the SE is :math:`\\sqrt{\\sum_i U_i^2}`.
    """
    times = np.unique(time)
    n = len(time)
    at_risk = (time[:, None] >= times[None, :]).astype(float)  # persons × times
    dN = np.stack([(time[:, None] == times[None, :]) & (cause[:, None] == k) for k in range(1, n_causes + 1)]).astype(float)
    n_risk = at_risk.sum(axis=0)
    d_cause = dN.sum(axis=1)  # causes × times
    d_all = d_cause.sum(axis=0)
    dA = d_cause / n_risk
    dA_all = d_all / n_risk
    surv = np.empty(len(times))
    cif = np.empty((n_causes, len(times)))
    u_surv = np.zeros(n)
    u_cif = np.zeros((n_causes, n))
    var = np.empty((n_causes, len(times)))
    s_prev, f_prev = 1.0, np.zeros(n_causes)
    for j in range(len(times)):  # loop over distinct times: the recursion is sequential
        infl_all = (dN[:, :, j].sum(axis=0) - at_risk[:, j] * dA_all[j]) / n_risk[j]
        infl_cause = (dN[:, :, j] - at_risk[None, :, j] * dA[:, j, None]) / n_risk[j]
        u_cif = u_cif + u_surv[None, :] * dA[:, j, None] + s_prev * infl_cause
        u_surv = u_surv * (1 - dA_all[j]) - s_prev * infl_all
        f_prev = f_prev + s_prev * dA[:, j]
        s_prev = s_prev * (1 - dA_all[j])
        surv[j] = s_prev
        cif[:, j] = f_prev
        var[:, j] = (u_cif**2).sum(axis=1)
    return {"time": times, "n_risk": n_risk, "n_event": d_cause, "cif": cif, "std_err": np.sqrt(var), "surv": surv}


@memoised
def cumulative_incidence(
    episodes: Any,
    *,
    group: str | None = "cohort",
    destinations: Mapping[str, Sequence[str]] | None = None,
    other_destination: str = OTHER_DESTINATION,
    times: Sequence[float] = KM_TIMEPOINTS,
    alpha: float = DEFAULT_ALPHA,
) -> CumulativeIncidenceResult:
    """Cumulative incidence of exit by destination per group (competing risks).

    Parameters
    ----------
    episodes : PreparedDataset or DataFrame
        One row per episode with ``duration``, ``exit``, ``end_reason`` and ``group``.
    group : str or None
        Column defining the curves (default the cohort); ``None`` for one curve.
    destinations : mapping
        Destination name -> end reasons; every other exit goes to ``other_destination``.
        Default: ``stayed_gp_region`` = ``other_gp_same_region``, the rest ``left``.
    times : sequence of float
        Years at which to report the estimates (beyond a group's follow-up: NaN and a note).
    alpha : float
        1 − confidence level; intervals on the log scale, as R's ``survfit`` default.

    Returns
    -------
    CumulativeIncidenceResult
        ``estimates``: group, destination, time, cumulative_incidence, std_err, ci_lower,
        ci_upper, n_risk; ``curves``: the step functions at every distinct time.
    """
    frame = input_table(episodes, "episodes")
    destinations = dict(destinations or DEFAULT_DESTINATIONS)
    needed = ["duration", "exit", "end_reason"] + ([group] if group else [])
    require_columns(frame, needed, "episodes")
    z = normal_quantile(alpha)
    result = CumulativeIncidenceResult(
        params={"group": group, "destinations": {**destinations, other_destination: "every other end_reason"},
                "alpha": alpha, "ci": "log (as R survfit)"}
    )
    names = list(destinations) + [other_destination]
    reason_to_cause = {reason: k + 1 for k, name in enumerate(destinations) for reason in destinations[name]}
    rows, curve_rows = [], []
    labels = sorted(frame[group].dropna().unique()) if group else [None]
    for label in labels:
        sub = frame if label is None else frame[frame[group] == label]
        exit_ = sub["exit"].to_numpy(int)
        cause = np.where(
            exit_ == 0, 0, sub["end_reason"].map(lambda r: reason_to_cause.get(r, len(names))).to_numpy(int)
        )
        aj = aalen_johansen_arrays(sub["duration"].to_numpy(float), cause, len(names))
        max_time = aj["time"].max()
        for k, name in enumerate(names):
            cif, se = aj["cif"][k], aj["std_err"][k]
            lower, upper = log_interval(cif, se, z)
            curve_rows.append(pd.DataFrame({"group": label, "destination": name, "time": aj["time"],
                                            "n_risk": aj["n_risk"], "n_event": aj["n_event"][k],
                                            "cumulative_incidence": cif, "std_err": se,
                                            "ci_lower": lower, "ci_upper": upper}))
            for t in times:
                if t > max_time:
                    result.add_note("cif_beyond_follow_up", group=group, level=label, follow_up=float(max_time),
                                    time=float(t), warn=False)
                    rows.append({"group": label, "destination": name, "time": t, "cumulative_incidence": np.nan,
                                 "std_err": np.nan, "ci_lower": np.nan, "ci_upper": np.nan, "n_risk": 0})
                    continue
                j = np.searchsorted(aj["time"], t, side="right") - 1
                value = cif[j] if j >= 0 else 0.0
                err = se[j] if j >= 0 else 0.0
                lo, hi = log_interval(np.array([value]), np.array([err]), z)
                rows.append({"group": label, "destination": name, "time": t, "cumulative_incidence": value,
                             "std_err": err, "ci_lower": lo[0], "ci_upper": hi[0],
                             "n_risk": int((sub["duration"] >= t).sum())})
        if aj["n_event"].sum() == 0:
            _warn_not_estimable(result, "cif_no_exits", group=group, level=label)
    result.estimates = pd.DataFrame(rows)
    result.curves = pd.concat(curve_rows, ignore_index=True)
    return result


#: The Aalen–Johansen estimator by its own name (competing risks).
aalen_johansen = cumulative_incidence


def log_interval(p: np.ndarray, se: np.ndarray, z: float) -> tuple[np.ndarray, np.ndarray]:
    """R's ``conf.type = "log"`` interval: :math:`p \\exp(\\pm z\\,\\mathrm{se}/p)`, upper capped at 1."""
    with np.errstate(divide="ignore", invalid="ignore"):
        positive = p > 0
        rel = np.where(positive, se / np.where(positive, p, 1), np.nan)
        lower = np.where(positive, p * np.exp(-z * rel), np.nan)
        upper = np.where(positive, np.minimum(p * np.exp(z * rel), 1.0), np.nan)
    return lower, upper


# --------------------------------------------------------------------------- parametric AFT

@dataclass
class ParametricResult(AnalysisResult):
    """Weibull and log-normal fits per group, the AIC choice and its median."""

    fits: pd.DataFrame | None = None
    medians: pd.DataFrame | None = None

    title: ClassVar[str] = "Parametric extrapolation of contract duration (AFT)"
    _tables: ClassVar[tuple[str, ...]] = ("medians", "fits")


#: Standard quantile of the error distribution at 0.5: log(log 2) for Weibull (minimum
#: extreme value), 0 for log-normal.
_MEDIAN_QUANTILE = {"weibull": float(np.log(np.log(2.0))), "lognormal": 0.0}


def _aft_loglik(params: np.ndarray, log_time: np.ndarray, exit_: np.ndarray, distribution: str) -> tuple[float, np.ndarray]:
    """Log-likelihood (time scale, as R's survreg) and gradient in (mu, log sigma).

    :math:`\\log T = \\mu + \\sigma W`; Weibull: :math:`W` minimum extreme value
    (:math:`\\log f = w - e^w`, :math:`\\log S = -e^w`); log-normal: :math:`W` standard normal.
    """
    mu, log_sigma = params
    sigma = np.exp(log_sigma)
    w = (log_time - mu) / sigma
    event = exit_ == 1
    if distribution == "weibull":
        ew = np.exp(w)
        ll = np.where(event, w - ew, -ew)
        dll_dw = np.where(event, 1 - ew, -ew)
    else:
        logsf = stats.norm.logsf(w)
        ll = np.where(event, stats.norm.logpdf(w), logsf)
        dll_dw = np.where(event, -w, -np.exp(stats.norm.logpdf(w) - logsf))
    ll = ll - event * (log_sigma + log_time)
    grad = np.array([np.sum(-dll_dw / sigma), np.sum(-dll_dw * w) - event.sum()])
    return float(ll.sum()), grad


def fit_aft(duration: np.ndarray, exit_: np.ndarray, distribution: str) -> dict[str, float]:
    """Maximum-likelihood AFT fit with intercept only: mu, sigma, loglik, log median and its SE.

    BFGS from the log-time moments, then Newton steps on a central-difference Hessian of
    the analytic gradient, so estimates agree with R's survreg to ~1e-9 (lifelines'
    fitters stop at ~1e-5).  The median's SE is the delta method on
    :math:`\\log m = \\mu + \\sigma q_{0.5}`.
    """
    from scipy.optimize import minimize

    log_time = np.log(duration)
    start = np.array([log_time.mean(), np.log(max(log_time.std(), 0.1))])
    objective = lambda x: tuple(-v for v in _aft_loglik(x, log_time, exit_, distribution))  # noqa: E731
    opt = minimize(objective, start, jac=True, method="BFGS", options={"gtol": 1e-10, "maxiter": 500})
    params = opt.x

    def hessian(x: np.ndarray) -> np.ndarray:
        h = 1e-5
        cols = [(_aft_loglik(x + h * e, log_time, exit_, distribution)[1]
                 - _aft_loglik(x - h * e, log_time, exit_, distribution)[1]) / (2 * h) for e in np.eye(2)]
        H = np.column_stack(cols)
        return (H + H.T) / 2

    for _ in range(5):
        grad = _aft_loglik(params, log_time, exit_, distribution)[1]
        params = params - np.linalg.solve(hessian(params), grad)
    loglik, grad = _aft_loglik(params, log_time, exit_, distribution)
    cov = np.linalg.inv(-hessian(params))
    if not np.all(np.isfinite(params)) or np.max(np.abs(grad)) > 1e-4 or np.any(np.diag(cov) <= 0):
        raise ArithmeticError("no maximum of the likelihood")
    mu, sigma = params[0], float(np.exp(params[1]))
    q = _MEDIAN_QUANTILE[distribution]
    gradient = np.array([1.0, sigma * q])  # d log(median) / d(mu, log sigma)
    return {"mu": float(mu), "sigma": sigma, "loglik": loglik, "aic": -2 * loglik + 2 * 2,
            "log_median": float(mu + sigma * q), "log_median_se": float(np.sqrt(gradient @ cov @ gradient))}


@memoised
def parametric_duration(
    episodes: Any,
    *,
    group: str | None = "cohort",
    horizon_warning: float = 2.0,
    alpha: float = DEFAULT_ALPHA,
) -> ParametricResult:
    """Weibull and log-normal AFT fits per group, chosen by AIC, with the median duration.

    Intercept-only accelerated-failure-time models :math:`\\log T = \\mu + \\sigma W`
    fitted by maximum likelihood as R's ``survreg(Surv(duration, exit) ~ 1, dist = ...)``
    (own optimiser: lifelines' Weibull/LogNormal fitters agree only to ~1e-5).

    The median's interval is the delta-method one on the log scale (as R's
    ``predict(survreg, type = "uquantile", p = 0.5, se.fit = TRUE)``), back-transformed.
    A note warns when the median lies beyond ``horizon_warning`` × the longest
    follow-up in the group (far extrapolation). Fewer than
    :data:`MIN_EVENTS_PARAMETRIC` exits: not estimable.

    Returns
    -------
    ParametricResult
        ``fits``: group, distribution, events, loglik, aic, median, ci_lower, ci_upper;
        ``medians``: the AIC-chosen model per group with max_follow_up and extrapolated.
    """
    frame = input_table(episodes, "episodes")
    require_columns(frame, ["duration", "exit"] + ([group] if group else []), "episodes")
    z = normal_quantile(alpha)
    result = ParametricResult(params={"group": group, "horizon_warning": horizon_warning, "alpha": alpha,
                                      "ci": "delta method on log(median)"})
    fit_rows, median_rows = [], []
    labels = sorted(frame[group].dropna().unique()) if group else [None]
    for label in labels:
        sub = frame if label is None else frame[frame[group] == label]
        duration, exit_ = sub["duration"].to_numpy(float), sub["exit"].to_numpy(int)
        events, follow_up = int(exit_.sum()), float(duration.max()) if len(duration) else np.nan
        base = {"group": label, "events": events}
        if events < MIN_EVENTS_PARAMETRIC:
            _warn_not_estimable(result, "parametric_few_exits", group=group, level=label, events=events,
                                minimum=MIN_EVENTS_PARAMETRIC)
            median_rows.append({**base, "distribution": None, "median": np.nan, "ci_lower": np.nan,
                                "ci_upper": np.nan, "max_follow_up": follow_up, "extrapolated": False})
            continue
        candidates = []
        for distribution in ("weibull", "lognormal"):
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    fitted = fit_aft(duration, exit_, distribution)
            except (ArithmeticError, np.linalg.LinAlgError, ValueError):
                result.add_note("parametric_no_convergence", group=group, level=label, distribution=distribution)
                continue
            log_median, se = fitted["log_median"], fitted["log_median_se"]
            row = {**base, "distribution": distribution, "mu": fitted["mu"], "sigma": fitted["sigma"],
                   "loglik": fitted["loglik"], "aic": fitted["aic"],
                   "median": np.exp(log_median), "ci_lower": np.exp(log_median - z * se),
                   "ci_upper": np.exp(log_median + z * se)}
            fit_rows.append(row)
            candidates.append(row)
        if not candidates:
            _warn_not_estimable(result, "parametric_none_converged", group=group, level=label)
            continue
        best = min(candidates, key=lambda r: r["aic"])
        extrapolated = bool(best["median"] > horizon_warning * follow_up)
        if extrapolated:
            result.add_note("parametric_extrapolated", group=group, level=label, median=float(best["median"]),
                            distribution=best["distribution"], follow_up=float(follow_up))
        median_rows.append({"group": label, "events": events, "distribution": best["distribution"],
                            "median": best["median"], "ci_lower": best["ci_lower"], "ci_upper": best["ci_upper"],
                            "max_follow_up": follow_up, "extrapolated": extrapolated})
    result.fits = pd.DataFrame(fit_rows, columns=["group", "events", "distribution", "mu", "sigma", "loglik", "aic",
                                               "median", "ci_lower", "ci_upper"])
    result.medians = pd.DataFrame(median_rows, columns=["group", "events", "distribution", "median", "ci_lower",
                                                        "ci_upper", "max_follow_up", "extrapolated"])
    return result


# --------------------------------------------------------------------------- Abelsen view

@dataclass
class SizeClassResult(AnalysisResult):
    """KM median contract duration by municipality size class, beside Abelsen et al. 2015."""

    table: pd.DataFrame | None = None

    title: ClassVar[str] = "Median duration by municipality size class (Kaplan–Meier) and Abelsen et al. 2015"
    _tables: ClassVar[tuple[str, ...]] = ("table",)


def load_published_durations() -> pd.DataFrame:
    """Published median contract durations (Abelsen et al. 2015) shipped in reference data."""
    with open(PUBLISHED_DURATIONS_FILE, encoding="utf-8", newline="") as handle:
        return pd.DataFrame(list(csv.DictReader(handle))).astype({"median_years": float})


def median_by_size_class(episodes: Any, *, alpha: float = DEFAULT_ALPHA) -> SizeClassResult:
    """Kaplan–Meier median duration per municipality size class and overall, with the published figures.

    The median is the first time the KM curve reaches 0.5 (R's rule for a flat stretch at
    exactly 0.5); its interval comes from the log-log band.  'Not reached' (NaN and
    ``reached = False``) when the curve stays above 0.5.
    """
    frame = input_table(episodes, "episodes")
    require_columns(frame, ["duration", "exit", "size_class"], "episodes")
    normal_quantile(alpha)  # refuses an alpha outside (0, 1) before any work
    published = load_published_durations()
    published = published[published["source"].str.startswith("Abelsen")].set_index("size_class")["median_years"]
    result = SizeClassResult(params={"alpha": alpha, "ci": "log-log", "published": "Abelsen et al. 2015"})
    rows = []
    groups = [(label, frame[frame["size_class"] == label]) for label in SIZE_CLASS_LABELS if (frame["size_class"] == label).any()]
    groups.append(("all", frame))
    for label, sub in groups:
        curve = km.product_limit(sub["duration"].to_numpy(float), sub["exit"].to_numpy(int))
        lower, upper = km.loglog_interval(curve["survival"], curve["greenwood"], alpha=alpha)
        median = km.r_quantile(curve["time"], curve["survival"])
        rows.append({"size_class": label, "n": len(sub), "events": int(sub["exit"].sum()), "median": median,
                     # the lower band reaches 0.5 first: it gives the lower limit
                     "ci_lower": km.r_quantile(curve["time"], lower),
                     "ci_upper": km.r_quantile(curve["time"], upper),
                     "reached": bool(np.isfinite(median)),
                     "published_median": float(published.get(label if label != "all" else "national", np.nan))})
        if not np.isfinite(median):
            result.add_note("size_class_median", size_class_group=label, warn=False)
    result.table = pd.DataFrame(rows)
    return result


# --------------------------------------------------------------------------- plots

def _labels(language: str) -> dict[str, str]:
    from ..figures import figure_labels

    return figure_labels(language, "figure.duration")


def plot_cumulative_incidence(result: CumulativeIncidenceResult, ax=None, *, language: str = "nb"):
    """Step curves of cumulative incidence per cohort (colour) and destination (line style); returns the axes."""
    from .. import figures

    labels = _labels(language)
    styles = ["-", "--", ":", "-."]
    destinations = list(result.curves["destination"].unique())
    with figures.house_style():
        ax = figures.new_axes(ax, figsize=(7, 4.5))
        for i, ((group, destination), curve) in enumerate(
                result.curves.groupby(["group", "destination"], sort=False, dropna=False)):
            style = styles[destinations.index(destination) % len(styles)]
            x = np.concatenate([[0.0], curve["time"].to_numpy()])
            y = np.concatenate([[0.0], curve["cumulative_incidence"].to_numpy()])
            name = labels.get(destination, destination)
            ax.step(x, y, where="post", linestyle=style, color=figures.colour(group, i),
                    label=f"{figures.label(group, language)}: {name}" if group is not None else name)
        ax.set_xlabel(labels["years"])
        ax.set_ylabel(labels["cif"])
        ax.set_ylim(0, 1)
        figures.decimal_axes(ax, language)
        ax.legend(frameon=False)
    return ax


def plot_hazard_ratios(result: CoxResult, ax=None, *, language: str = "nb"):
    """Forest plot of hazard ratios with their intervals on a log axis; returns the axes."""
    from .. import figures

    labels = _labels(language)
    table = result.coefficients.dropna(subset=["hr"])
    with figures.house_style():
        ax = figures.new_axes(ax, figsize=(6, 0.5 + 0.45 * max(len(table), 1)))
        y = np.arange(len(table))[::-1]
        ax.errorbar(table["hr"], y, xerr=[table["hr"] - table["ci_lower"], table["ci_upper"] - table["hr"]],
                    fmt="o", color="black", capsize=3)
        ax.axvline(1.0, color="grey", linestyle="--", linewidth=1)
        ax.set_xscale("log")
        ax.set_yticks(y)
        ax.set_yticklabels([figures.label(term, language) for term in table["term"]])
        ax.set_xlabel(labels["hr"])
        figures.decimal_axes(ax, language, axis="x")
    return ax

