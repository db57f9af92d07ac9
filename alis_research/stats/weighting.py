"""Inverse-probability weighting: propensity model, ATE weights, balance, weighted KM, RMST and Cox.

The pure estimators behind :func:`alis_research.analysis.robustness.confounding_analysis`, on plain
frames and NumPy arrays.  Each is checked against R (``tests/reference/weighting.R``):

* :func:`fit_propensity` — logistic regression of the treatment on covariates
  (statsmodels GLM, binomial), after collapsing sparse levels of categorical covariates;
  says "not estimable" (with the reason) on separation, non-convergence or too few people,
  instead of returning wild propensities (R: ``glm(..., family = binomial)``);
* :func:`ate_weights` — stabilised inverse-probability weights for the average treatment
  effect, optionally truncated at percentiles (Cole & Hernán 2008);
* :func:`balance_table` — standardised mean differences before and after weighting;
  :func:`weight_summary` — the weight distribution and effective sample size per group;
* :func:`weighted_kaplan_meier` — the weighted product-limit estimator with the
  infinitesimal-jackknife (robust) variance, clustered (R: ``survfit(Surv(time, status) ~ 1,
  weights = w, cluster = id, robust = TRUE)``);
* :func:`weighted_rmst` — the restricted mean of that curve, with the robust SE from the
  same influence functions (R: the integral of ``survfit(..., influence = TRUE)``);
* :func:`weighted_cox` — the Efron partial likelihood with case weights, optional strata,
  and the cluster sandwich (R: ``coxph(Surv(...) ~ x + strata(s), weights = w,
  cluster = id, ties = "efron")``).

Formulas are in ``docs/methods.md`` (section *Robustness*).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from .coxph import DIVERGENCE_LIMIT, RiskSetIndex
from ..messages.note import Note

#: A level of a categorical covariate is kept on its own only with at least this many
#: members of *each* treatment group; sparser levels are merged (ordered: with a neighbour;
#: nominal: pooled). One or two people cannot inform a coefficient of their own.
MIN_LEVEL_PER_GROUP = 3
#: Fitted propensities this close to 0 or 1 mean (quasi-)separation: not estimable.
SEPARATION_TOLERANCE = 1e-6
#: The propensity model needs at least this many people of the smaller group per coefficient.
MIN_PER_COEFFICIENT = 2


def scatter_rows(index: np.ndarray, values: np.ndarray, length: int) -> np.ndarray:
    """``out[index[i]] += values[i]`` row by row (one ``np.bincount`` per column)."""
    values = np.asarray(values, float)
    out = np.empty((length, values.shape[1]))
    for column in range(values.shape[1]):
        out[:, column] = np.bincount(index, weights=values[:, column], minlength=length)[:length]
    return out


# --------------------------------------------------------------------------- propensity model

@dataclass
class PropensityFit:
    """A fitted (or not estimable) propensity model.

    Attributes
    ----------
    estimable : bool
    reason : str
        Why the model is not estimable ('' when it is): a
        :class:`~alis_research.messages.note.Note` (``propensity_*``), whose text is English.
    propensity : ndarray
        P(treatment = 1 | covariates) per row (NaN when not estimable).
    coefficients : DataFrame
        term, coef, se (logit scale).
    design : DataFrame
        The model's columns (dummies of the collapsed levels, numeric covariates).
    levels : dict
        Covariate → list of (label of the level used, original levels merged into it).
    used, dropped : list
        Covariates in the model; covariates left out, each as (name, reason), the reason a
        :class:`~alis_research.messages.note.Note` (``propensity_covariate_*``).
    notes : list of Note
        Covariates left out, levels merged and, when not estimable, the reason.
    """

    estimable: bool
    reason: str  # a Note when not estimable
    propensity: np.ndarray
    coefficients: pd.DataFrame
    design: pd.DataFrame
    levels: dict[str, list[tuple[str, tuple]]] = field(default_factory=dict)
    used: list[str] = field(default_factory=list)
    dropped: list[tuple[str, Note]] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    glm_result: object = field(default=None, repr=False)


def _group_counts(values: pd.Series, treatment: np.ndarray, levels: Sequence) -> np.ndarray:
    """Counts per level (rows) in treatment groups 0 and 1 (columns)."""
    return np.array([[int(((values == level) & (treatment == g)).sum()) for g in (0, 1)] for level in levels])


def collapse_ordered(values: pd.Series, treatment: np.ndarray, levels: Sequence,
                     min_per_group: int = MIN_LEVEL_PER_GROUP) -> list[tuple]:
    """Merge adjacent levels of an ordered covariate until each has ``min_per_group`` of each group.

    Repeatedly takes the level whose smaller group count is lowest and below
    ``min_per_group`` and merges it into its neighbour with fewer members (the
    lower neighbour on a tie). Levels absent from the data are dropped first.
    Returns the merged levels as tuples of original levels, in order.
    """
    present = [lv for lv in levels if (values == lv).any()]
    blocks = [(lv,) for lv in present]
    counts = [c for c in _group_counts(values, treatment, present)]
    while len(blocks) > 1:
        sparse = [min(c) for c in counts]
        worst = int(np.argmin(sparse))
        if sparse[worst] >= min_per_group:
            break
        if worst == 0:
            other = 1
        elif worst == len(blocks) - 1:
            other = worst - 1
        else:
            other = worst - 1 if counts[worst - 1].sum() <= counts[worst + 1].sum() else worst + 1
        low, high = sorted((worst, other))
        blocks[low:high + 1] = [blocks[low] + blocks[high]]
        counts[low:high + 1] = [counts[low] + counts[high]]
    return blocks


def collapse_nominal(values: pd.Series, treatment: np.ndarray, levels: Sequence,
                     min_per_group: int = MIN_LEVEL_PER_GROUP) -> list[tuple]:
    """Pool the sparse levels of a nominal covariate.

    Levels with fewer than ``min_per_group`` of either group are pooled into one
    level; if the pool is itself sparse it joins the largest level. The largest
    level comes first (it becomes the reference).
    """
    present = [lv for lv in levels if (values == lv).any()]
    counts = dict(zip(present, _group_counts(values, treatment, present)))
    dense = [lv for lv in present if counts[lv].min() >= min_per_group]
    sparse = tuple(lv for lv in present if counts[lv].min() < min_per_group)
    dense.sort(key=lambda lv: -counts[lv].sum())
    blocks = [(lv,) for lv in dense]
    if sparse:
        pooled = sum((counts[lv] for lv in sparse), np.zeros(2, int))
        if pooled.min() >= min_per_group or not blocks:
            blocks.append(sparse)
        else:
            blocks[0] = blocks[0] + sparse
    return blocks


def _block_label(block: tuple) -> str:
    return "+".join(str(v) for v in block)


def propensity_design(frame: pd.DataFrame, treatment: np.ndarray, *,
                      ordered: Mapping[str, Sequence] = (), nominal: Mapping[str, Sequence] = (),
                      numeric: Sequence[str] = (), min_per_group: int = MIN_LEVEL_PER_GROUP):
    """The propensity model's design matrix, with sparse levels merged and unusable covariates dropped.

    Returns ``(design, levels, used, dropped)``. A covariate is dropped when the
    column is absent, has a missing value, holds an unexpected value, or does not vary
    (after merging); ``dropped`` holds ``(name, Note)`` with the reason as a catalogue note.
    Categorical covariates enter as indicators of their merged levels against the
    first (ordered: the lowest; nominal: the largest); numeric ones linearly, centred at
    their mean. Levels are compared as text (``2`` and ``"2"`` are one level).
    """
    columns: dict[str, np.ndarray] = {}
    levels: dict[str, list[tuple[str, tuple]]] = {}
    used: list[str] = []
    dropped: list[tuple[str, Note]] = []

    def usable(name: str) -> bool:
        if name not in frame.columns:
            dropped.append((name, Note("propensity_covariate_absent", variable=name)))
            return False
        if frame[name].isna().any():
            dropped.append((name, Note("propensity_covariate_missing", variable=name,
                                       n=int(frame[name].isna().sum()))))
            return False
        return True

    for kind, spec in (("ordered", dict(ordered)), ("nominal", dict(nominal))):
        for name, order in spec.items():
            if not usable(name):
                continue
            # compared as text: 2 (Int64 in the frame) and 2 (int in the level order) are one level
            values = frame[name].astype(str)
            order = [str(level) for level in order]
            unknown = sorted(set(values.unique()) - set(order))
            if unknown:  # the values are data: kept in the note's values, not in its text
                dropped.append((name, Note("propensity_covariate_unexpected", variable=name, values=unknown)))
                continue
            collapse = collapse_ordered if kind == "ordered" else collapse_nominal
            blocks = collapse(values, treatment, list(order), min_per_group)
            if len(blocks) < 2:
                dropped.append((name, Note("propensity_covariate_merged_away", variable=name)))
                continue
            levels[name] = [(_block_label(b), b) for b in blocks]
            for block in blocks[1:]:
                columns[f"{name}={_block_label(block)}"] = values.isin(block).to_numpy(float)
            used.append(name)
    for name in numeric:
        if not usable(name):
            continue
        values = pd.to_numeric(frame[name], errors="coerce").to_numpy(float)
        if np.ptp(values) == 0:
            dropped.append((name, Note("propensity_covariate_constant", variable=name)))
            continue
        columns[name] = values - values.mean()  # centred: the intercept stays on the scale of the data
        used.append(name)
    return pd.DataFrame(columns, index=frame.index), levels, used, dropped


def fit_propensity(frame: pd.DataFrame, treatment, *, ordered: Mapping[str, Sequence] = (),
                   nominal: Mapping[str, Sequence] = (), numeric: Sequence[str] = (),
                   min_per_group: int = MIN_LEVEL_PER_GROUP) -> PropensityFit:
    """Logistic propensity model P(treatment = 1 | covariates), robust to tiny cells.

    Parameters
    ----------
    frame : DataFrame
        One row per unit (episode) with the covariates.
    treatment : array of 0/1
    ordered, nominal : mapping column → level order
        Categorical covariates; sparse levels are merged (:func:`collapse_ordered`,
        :func:`collapse_nominal`).
    numeric : sequence of str
        Covariates entered linearly.

    Returns
    -------
    PropensityFit
        Not estimable (``estimable=False`` and ``reason``) when a group is empty, when the
        model has more coefficients than ``n_min / MIN_PER_COEFFICIENT`` (``n_min`` the
        smaller group), when the GLM fails or does not converge, or on (quasi-)separation:
        a fitted propensity within :data:`SEPARATION_TOLERANCE` of 0 or 1 or a coefficient
        beyond :data:`~alis_research.stats.coxph.DIVERGENCE_LIMIT` on the logit scale.
    """
    # the GLM module alone: statsmodels.api would import all of statsmodels (~0.3 s more)
    from statsmodels.genmod import families
    from statsmodels.genmod.generalized_linear_model import GLM

    treatment = np.asarray(treatment, float)
    n = len(treatment)
    design, levels, used, dropped = propensity_design(frame, treatment, ordered=ordered, nominal=nominal,
                                                      numeric=numeric, min_per_group=min_per_group)
    nan = np.full(n, np.nan)
    empty = pd.DataFrame(columns=["term", "coef", "se"])
    notes = [why for _, why in dropped]
    for name, blocks in levels.items():
        notes += [Note("propensity_levels_merged", variable=name, levels=list(block), minimum=min_per_group)
                  for _, block in blocks if len(block) > 1]

    def not_estimable(reason: Note, coefficients=empty, result=None) -> PropensityFit:
        return PropensityFit(False, reason, nan, coefficients, design, levels, used, dropped,
                             notes + [reason], result)

    n_min = int(min((treatment == 1).sum(), (treatment == 0).sum()))
    if n_min == 0:
        return not_estimable(Note("propensity_one_group"))
    if design.shape[1] * MIN_PER_COEFFICIENT > n_min:
        return not_estimable(Note("propensity_too_many_coefficients", coefficients=design.shape[1], n=n_min,
                                  minimum=MIN_PER_COEFFICIENT))
    exog = np.column_stack([np.ones(n), design.to_numpy(float)]) if design.shape[1] else np.ones((n, 1))
    names = ["(intercept)", *design.columns]
    from statsmodels.tools.sm_exceptions import ConvergenceWarning, PerfectSeparationWarning

    try:
        with warnings.catch_warnings():
            # a separation, convergence or overflow warning means not estimable; others are not ours to judge
            for category in (PerfectSeparationWarning, ConvergenceWarning, RuntimeWarning):
                warnings.simplefilter("error", category)
            result = GLM(treatment, exog, family=families.Binomial()).fit(maxiter=100, tol=1e-12)
    except Exception as exc:  # noqa: BLE001 - statsmodels raises several kinds on separation
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        # statsmodels' message is English and may quote data: kept in the note's values, not its text
        return not_estimable(Note("propensity_failed", error=message))
    coef, se = np.asarray(result.params), np.asarray(result.bse)
    coefficients = pd.DataFrame({"term": names, "coef": coef, "se": se})
    fitted = np.asarray(result.fittedvalues)
    if not result.converged:
        return not_estimable(Note("propensity_no_convergence"), coefficients, result)
    if (np.any(np.abs(coef[1:]) > DIVERGENCE_LIMIT) or not np.all(np.isfinite(se))
            or np.any(fitted < SEPARATION_TOLERANCE) or np.any(fitted > 1 - SEPARATION_TOLERANCE)):
        return not_estimable(Note("propensity_separation"), coefficients, result)
    return PropensityFit(True, "", fitted, coefficients, design, levels, used, dropped, notes, result)


# --------------------------------------------------------------------------- weights and balance

def ate_weights(treatment, propensity, *, stabilised: bool = True,
                truncate: float | None = None) -> np.ndarray:
    """Inverse-probability weights for the average treatment effect.

    .. math::

        w_i = \\frac{P(T = t_i)}{P(T = t_i \\mid X_i)}, \\quad
        P(T = 1 \\mid X_i) = e_i,

    with the marginal share :math:`P(T=1) = \\bar t` in the numerator when
    ``stabilised`` (otherwise 1). Stabilised weights have mean about 1 in each group
    and the same point estimates. With ``truncate = q`` the weights are truncated at
    their ``q`` and ``1 − q`` quantiles (Cole & Hernán 2008); the default is no truncation.
    """
    treatment = np.asarray(treatment, float)
    propensity = np.asarray(propensity, float)
    share = treatment.mean() if stabilised else 1.0
    numerator = np.where(treatment == 1, share, 1.0 - share if stabilised else 1.0)
    weights = numerator / np.where(treatment == 1, propensity, 1.0 - propensity)
    if truncate:
        if not 0 < truncate < 0.5:
            raise ValueError(f"truncate must lie in (0, 0.5), got {truncate!r}")
        low, high = np.quantile(weights, [truncate, 1 - truncate])
        weights = np.clip(weights, low, high)
    return weights


def _weighted_mean_var(x: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    total = w.sum()
    mean = float((w * x).sum() / total)
    return mean, float((w * (x - mean) ** 2).sum() / total)


def standardised_difference(x, treatment, weights=None) -> float:
    """(mean₁ − mean₀) / √((s₁² + s₀²)/2), weighted means; the SDs are the *unweighted* ones.

    Keeping the unweighted SD in the denominator (as R's ``cobalt`` does by default) makes
    the before/after numbers differ only through the means.
    """
    x = np.asarray(x, float)
    treatment = np.asarray(treatment, float)
    w = np.ones_like(x) if weights is None else np.asarray(weights, float)
    treated, control = treatment == 1, treatment == 0
    mean1, _ = _weighted_mean_var(x[treated], w[treated])
    mean0, _ = _weighted_mean_var(x[control], w[control])
    var1 = x[treated].var(ddof=1) if treated.sum() > 1 else 0.0
    var0 = x[control].var(ddof=1) if control.sum() > 1 else 0.0
    pooled = np.sqrt((var1 + var0) / 2)
    return float((mean1 - mean0) / pooled) if pooled > 0 else float("nan")


def balance_table(frame: pd.DataFrame, treatment, weights, *, categorical: Mapping[str, Sequence] = (),
                  numeric: Sequence[str] = ()) -> pd.DataFrame:
    """Standardised mean differences of every covariate level before and after weighting.

    Categorical covariates are shown per original level (an indicator each), numeric ones
    as they are. Rows with a missing value of a covariate are left out of its line.

    Returns columns ``covariate, level, smd_unweighted, smd_weighted`` (no rows when a
    group is empty).
    """
    treatment = np.asarray(treatment, float)
    weights = np.asarray(weights, float)
    rows = []
    if (treatment == 1).sum() == 0 or (treatment == 0).sum() == 0:  # one group: nothing to compare
        categorical, numeric = {}, ()
    for name, order in dict(categorical).items():
        if name not in frame.columns:
            continue
        values = frame[name]
        ok = values.notna().to_numpy()
        for level in order:
            indicator = (values == level).to_numpy(float)
            if indicator[ok].sum() == 0:
                continue
            rows.append({"covariate": name, "level": str(level),
                         "smd_unweighted": standardised_difference(indicator[ok], treatment[ok]),
                         "smd_weighted": standardised_difference(indicator[ok], treatment[ok], weights[ok])})
    for name in numeric:
        if name not in frame.columns:
            continue
        values = pd.to_numeric(frame[name], errors="coerce").to_numpy(float)
        ok = np.isfinite(values)
        rows.append({"covariate": name, "level": "",
                     "smd_unweighted": standardised_difference(values[ok], treatment[ok]),
                     "smd_weighted": standardised_difference(values[ok], treatment[ok], weights[ok])})
    return pd.DataFrame(rows, columns=["covariate", "level", "smd_unweighted", "smd_weighted"])


def weight_summary(weights, treatment, labels: Mapping[int, str] | None = None) -> pd.DataFrame:
    """The weight distribution per group: min, quartiles, max, sum and effective sample size.

    Effective sample size (Kish): :math:`(\\sum w)^2 / \\sum w^2`.
    """
    weights = np.asarray(weights, float)
    treatment = np.asarray(treatment, float)
    labels = dict(labels or {0: "0", 1: "1"})
    rows = []
    for group in (0, 1):
        w = weights[treatment == group]
        if len(w) == 0:
            continue
        q = np.quantile(w, [0, 0.25, 0.5, 0.75, 1])
        rows.append({"group": labels[group], "min": q[0], "q1": q[1], "median": q[2], "q3": q[3], "max": q[4],
                     "sum": float(w.sum()), "ess": float(w.sum() ** 2 / (w ** 2).sum())})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- weighted Kaplan–Meier

def _cluster_codes(cluster, n: int) -> np.ndarray:
    if cluster is None:
        return np.arange(n)
    return np.unique(np.asarray(cluster), return_inverse=True)[1].ravel()


@dataclass
class WeightedCurve:
    """Weighted product-limit curve with per-unit influence functions.

    ``table``: time, n_risk, n_event (weighted), survival, std_err (robust SE of the
    survival), ci_lower, ci_upper (log-log). ``influence``: units × times, the
    infinitesimal-jackknife influence of each unit's weight on S(t) (already multiplied
    by the unit's weight).
    """

    table: pd.DataFrame
    influence: np.ndarray = field(repr=False)
    clusters: np.ndarray = field(repr=False)


def weighted_kaplan_meier(time, event, weights=None, *, cluster=None, alpha: float = 0.05) -> WeightedCurve:
    """Weighted Kaplan–Meier with the infinitesimal-jackknife variance, clustered.

    .. math::

        \\hat S(t) = \\prod_{t_j \\le t}\\Big(1 - \\frac{d_j}{n_j}\\Big), \\quad
        d_j = \\sum_i w_i\\,dN_i(t_j), \\; n_j = \\sum_i w_i Y_i(t_j),

        U_i(t) = -w_i\\,\\hat S(t) \\sum_{t_j \\le t} \\frac{dN_i(t_j) - Y_i(t_j)\\,d_j/n_j}{n_j - d_j},
        \\qquad \\widehat{\\mathrm{Var}}\\,\\hat S(t) = \\sum_c \\Big(\\sum_{i \\in c} U_i(t)\\Big)^2,

    as R's ``survfit(..., weights = w, cluster = id, robust = TRUE)``; the interval is the
    log-log one on :math:`\\mathrm{se}(\\hat S)/\\hat S`. Rows are the distinct event times.
    """
    time = np.asarray(time, float)
    event = np.asarray(event, int)
    w = np.ones_like(time) if weights is None else np.asarray(weights, float)
    times = np.unique(time[event == 1])
    at_risk = time[:, None] >= times[None, :]  # units × times
    died = (time[:, None] == times[None, :]) & (event[:, None] == 1)
    n_risk = (w[:, None] * at_risk).sum(axis=0)
    n_event = (w[:, None] * died).sum(axis=0)
    hazard = n_event / n_risk
    survival = np.cumprod(1 - hazard)
    with np.errstate(divide="ignore", invalid="ignore"):
        step = (died - at_risk * hazard[None, :]) / (n_risk - n_event)[None, :]
    influence = -w[:, None] * survival[None, :] * np.cumsum(step, axis=1)
    codes = _cluster_codes(cluster, len(time))
    per_cluster = scatter_rows(codes, influence, int(codes.max()) + 1) if len(time) else influence
    std_err = np.sqrt((per_cluster ** 2).sum(axis=0))
    z = stats.norm.ppf(1 - alpha / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        defined = (survival > 0) & (survival < 1)
        log_s = np.log(np.where(defined, survival, 0.5))
        shift = z * (std_err / survival) / log_s
        a = np.exp(-np.exp(np.log(-log_s) + shift))
        b = np.exp(-np.exp(np.log(-log_s) - shift))
    table = pd.DataFrame({"time": times, "n_risk": n_risk, "n_event": n_event, "survival": survival,
                          "std_err": std_err, "ci_lower": np.where(defined, np.minimum(a, b), np.nan),
                          "ci_upper": np.where(defined, np.maximum(a, b), np.nan)})
    return WeightedCurve(table, influence, codes)


def weighted_rmst(curve: WeightedCurve, tau: float) -> tuple[float, float, np.ndarray]:
    """Restricted mean of a weighted curve up to ``tau`` and its robust SE.

    :math:`\\int_0^\\tau \\hat S(t)\\,dt`; the influence of each unit is the same integral of
    its influence on :math:`\\hat S`, and the SE sums them per cluster. Returns
    ``(rmst, se, per-cluster influence)`` (the last for contrasts between curves that
    share clusters).
    """
    table = curve.table
    keep = table["time"].to_numpy() <= tau
    times = np.r_[0.0, table["time"].to_numpy()[keep], tau]
    widths = np.diff(times)
    surv = np.r_[1.0, table["survival"].to_numpy()[keep]]
    influence = np.hstack([np.zeros((curve.influence.shape[0], 1)), curve.influence[:, keep]])
    estimate = float((widths * surv).sum())
    unit_influence = influence @ widths
    n_clusters = int(curve.clusters.max()) + 1 if len(curve.clusters) else 0
    per_cluster = np.bincount(curve.clusters, weights=unit_influence, minlength=n_clusters)
    return estimate, float(np.sqrt((per_cluster ** 2).sum())), per_cluster


# --------------------------------------------------------------------------- weighted Cox

@dataclass
class WeightedCoxFit:
    """Result of :func:`weighted_cox`: coefficients, model-based and robust variance."""

    coef: np.ndarray
    variance: np.ndarray
    robust_variance: np.ndarray
    loglik: float
    loglik_null: float
    iterations: int
    converged: bool
    diverged: bool
    n_clusters: int
    score_residuals: np.ndarray = field(repr=False)


@dataclass
class _Stratum:
    rows: np.ndarray
    index: RiskSetIndex
    event: np.ndarray


def _efron_weighted(strata: list[_Stratum], X: np.ndarray, w: np.ndarray, beta: np.ndarray):
    """Weighted Efron log partial likelihood, score, information (summed over strata), and per-stratum terms.

    R's ``coxfit6``/``agfit4``: the tied deaths at :math:`t_j` enter the Efron steps
    :math:`S^{(0)}_{jk} = \\sum_{R_j} w_i r_i - \\tfrac{k}{d_j}\\sum_{D_j} w_i r_i` with the
    mean death weight :math:`\\bar w_j = \\sum_{D_j} w_i / d_j` multiplying each step's terms.
    """
    p = X.shape[1]
    upper_rows, upper_cols = np.triu_indices(p)
    loglik, score, information, parts = 0.0, np.zeros(p), np.zeros((p, p)), []
    for stratum in strata:
        x, ws, index = X[stratum.rows], w[stratum.rows], stratum.index
        eta = x @ beta
        wr = ws * np.exp(eta)
        values = np.hstack([wr[:, None], wr[:, None] * x, wr[:, None] * x[:, upper_rows] * x[:, upper_cols]])
        at_risk, dead = index.risk_sums(values), index.death_sums(values)
        time_index, frac = index.efron_layout()
        sums = at_risk[time_index] - frac[:, None] * dead[time_index]
        denominator = sums[:, 0]
        mean = sums[:, 1:1 + p] / denominator[:, None]
        second = np.empty((len(denominator), p, p))
        second[:, upper_rows, upper_cols] = sums[:, 1 + p:] / denominator[:, None]
        second[:, upper_cols, upper_rows] = second[:, upper_rows, upper_cols]
        mean_weight = (index.death_sums(ws[:, None])[:, 0] / index.deaths)[time_index]
        is_event = stratum.event == 1
        loglik += float((ws * eta)[is_event].sum() - (mean_weight * np.log(denominator)).sum())
        score += (ws[is_event, None] * x[is_event]).sum(axis=0) - (mean_weight[:, None] * mean).sum(axis=0)
        information += (mean_weight[:, None, None] * (second - mean[:, :, None] * mean[:, None, :])).sum(axis=0)
        parts.append((time_index, frac, denominator, mean, mean_weight))
    return loglik, score, information, parts


def _score_residuals(strata: list[_Stratum], X: np.ndarray, beta: np.ndarray, parts) -> np.ndarray:
    """Score residuals per row, R's ``agscore3`` with case weights (hazard steps × mean death weight).

    The residual itself is not multiplied by the row's weight; the sandwich does that.
    """
    n, p = X.shape
    resid = np.zeros((n, p))
    for stratum, (time_index, frac, denominator, mean, mean_weight) in zip(strata, parts):
        index, x = stratum.index, X[stratum.rows]
        risk = np.exp(x @ beta)
        J = index.n_times
        hazard = mean_weight / denominator
        downweight = 1.0 - frac
        d = index.deaths[time_index]
        summed = scatter_rows(time_index, np.hstack([
            hazard[:, None], mean * hazard[:, None], (downweight * hazard)[:, None],
            mean * (downweight * hazard)[:, None], mean / d[:, None]]), J)
        temp1, mh1 = summed[:, 0], summed[:, 1:1 + p]
        temp2, mh2 = summed[:, 1 + p], summed[:, 2 + p:2 + 2 * p]
        mh3 = summed[:, 2 + 2 * p:]
        over_rows = index.range_sums(np.hstack([temp1[:, None], mh1]))
        part = -risk[:, None] * (x * over_rows[:, :1] - over_rows[:, 1:])
        dead = np.flatnonzero(index.death_time >= 0)
        j = index.death_time[dead]
        r, xd = risk[dead, None], x[dead]
        part[dead] += r * (xd * temp1[j, None] - mh1[j])
        part[dead] += xd - mh3[j] - r * (xd * temp2[j, None] - mh2[j])
        resid[stratum.rows] = part
    return resid


def weighted_cox(start, stop, event, X, weights=None, *, strata=None, cluster=None,
                 max_iter: int = 30, tol: float = 1e-12) -> WeightedCoxFit:
    """Cox model with case weights, optional strata and a cluster sandwich, Efron ties.

    As R's ``coxph(Surv(start, stop, event) ~ X + strata(s), weights = w, cluster = id,
    ties = "efron")``: Newton–Raphson from zero with step halving; the robust variance is
    :math:`D^\\top D` with :math:`D` the weighted dfbeta residuals
    (:math:`w_i\\,r_i^\\top V`, :math:`r_i` the score residuals, :math:`V` the model-based
    variance) summed per cluster (each row its own cluster when ``cluster`` is None).
    ``diverged`` flags a monotone likelihood (a coefficient beyond
    :data:`~alis_research.stats.coxph.DIVERGENCE_LIMIT` or a singular information).
    """
    start = np.asarray(start, float)
    stop = np.asarray(stop, float)
    event = np.asarray(event, int)
    X = np.asarray(X, float)
    if X.ndim == 1:
        X = X[:, None]
    n, p = X.shape
    w = np.ones(n) if weights is None else np.asarray(weights, float)
    X = X - (w[:, None] * X).sum(axis=0) / w.sum()  # centring: numerical stability only
    codes = np.zeros(n, dtype=np.int64) if strata is None else np.unique(np.asarray(strata), return_inverse=True)[1].ravel()
    groups = []
    for code in np.unique(codes):
        rows = np.flatnonzero(codes == code)
        if event[rows].sum() == 0:
            continue  # a stratum without events adds nothing to the partial likelihood
        groups.append(_Stratum(rows, RiskSetIndex.build(start[rows], stop[rows], event[rows]), event[rows]))
    beta = np.zeros(p)
    loglik, score, information, parts = _efron_weighted(groups, X, w, beta)
    loglik_null = loglik
    converged = diverged = False
    iteration = 0
    for iteration in range(1, max_iter + 1):
        try:
            step = np.linalg.solve(information, score)
        except np.linalg.LinAlgError:
            diverged = True
            break
        new_beta = beta + step
        new = _efron_weighted(groups, X, w, new_beta)
        halvings = 0
        while not np.isfinite(new[0]) or new[0] < loglik - 1e-12 * abs(loglik):
            halvings += 1
            if halvings > 30:
                break
            new_beta = (beta + new_beta) / 2
            new = _efron_weighted(groups, X, w, new_beta)
        change = abs(new[0] - loglik)
        beta = new_beta
        loglik, score, information, parts = new
        if np.any(np.abs(beta) > DIVERGENCE_LIMIT):
            diverged = True
            break
        if change <= tol * max(abs(loglik), 1.0) and np.max(np.abs(step)) < 1e-6:
            converged = True
            break
    try:
        variance = np.linalg.inv(information)
        if np.any(np.diag(variance) < 0) or not np.all(np.isfinite(variance)):
            raise np.linalg.LinAlgError
    except np.linalg.LinAlgError:
        variance = np.full((p, p), np.nan)
        diverged = True
    residuals = _score_residuals(groups, X, beta, parts)
    cluster_codes = _cluster_codes(cluster, n)
    dfbeta = w[:, None] * (residuals @ variance)
    per_cluster = scatter_rows(cluster_codes, dfbeta, int(cluster_codes.max()) + 1)
    return WeightedCoxFit(beta, variance, per_cluster.T @ per_cluster, loglik, loglik_null, iteration,
                          converged, diverged, int(cluster_codes.max()) + 1, residuals)
