"""The results document ``alis-research/results/1`` and ``alis-research analyse``.

One function, :func:`build_results`, runs the headline analyses on a
prepared dataset and returns the JSON-ready document defined in issue 3.
``report`` writes the same document beside each PDF as ``results.json``;
regression checks compare it between runs, so it holds no timestamps and
its numbers depend only on the data and the parameters.
"""
from __future__ import annotations

import json
import math
import warnings
from typing import Any

import pandas as pd

from .. import config
from ..errors import AlisError, AlisWarning, NotEstimableWarning
from .memo import memoised

SCHEMA = "alis-research/results/1"


def json_number(value: Any) -> float | int | None:
    """JSON-safe number: NaN/inf and missing become null."""
    if value is None or value is pd.NA:
        return None
    if isinstance(value, (int,)) and not isinstance(value, bool):
        return int(value)
    value = float(value)
    return None if not math.isfinite(value) else value


def _records(frame: pd.DataFrame, columns: dict[str, str], ints: tuple[str, ...] = ()) -> list[dict]:
    """Rows of ``frame`` as dicts, renaming source -> target columns, numbers JSON-safe."""
    rows = []
    for _, row in frame.iterrows():
        record = {}
        for source, target in columns.items():
            value = row[source]
            if isinstance(value, str):
                record[target] = value
            elif target in ints:
                record[target] = None if pd.isna(value) else int(value)
            else:
                record[target] = json_number(value)
        rows.append(record)
    return rows


def _notes(**results) -> list[str]:
    """Every caveat of the analyses, prefixed with the analysis it belongs to, without repeats."""
    notes = (f"{name}: {note}" for name, result in results.items() for note in result.notes)
    return list(dict.fromkeys(notes))


def _by_cohort(frame: pd.DataFrame, column: str, cohorts=config.CONTRACT_TYPES) -> dict:
    """Rows of ``frame`` keyed by their ``column`` value (a cohort or contract type)."""
    if frame is None or frame.empty or column not in frame:
        return {}
    return {row[column]: row for _, row in frame.iterrows() if row[column] in cohorts}


@memoised
def build_results(prepared, *, alpha: float = config.DEFAULT_ALPHA,
                  tau: float = config.DEFAULT_RMST_HORIZON, comparison=None) -> dict:
    """Run the headline analyses and return the ``alis-research/results/1`` document.

    The document always has the same shape: a row for both cohorts (contract
    types) at every time point even when one is absent from the data, with
    ``null`` where an estimate does not exist; the reasons are listed under
    ``notes`` (one string per caveat, prefixed with the analysis).

    Parameters
    ----------
    prepared : PreparedDataset
        From :func:`alis_research.data.cohort.prepare` or :func:`~alis_research.data.cohort.load_prepared`.
    alpha : float
        1 − confidence level of every interval.
    tau : float
        Horizon (years) of the restricted mean survival time.
    comparison : ComparisonAnalyses, optional
        The register comparisons (:func:`alis_research.analysis.comparison.run_comparisons`); when given,
        the document gains ``abelsen`` and ``did`` (``docs/register.md``).

    Raises
    ------
    AlisError
        When no episode is left to analyse (all excluded, e.g. an as-of date before every start).
    """
    from .duration import cox_model
    from .retention import kaplan_meier, logrank, rmst
    from .turnover import rate_ratio, turnover_rates

    episodes, intervals = prepared.episodes, prepared.intervals
    if len(episodes) == 0:
        reasons = prepared.exclusions["reason"].value_counts(sort=False) if len(prepared.exclusions) else {}
        detail = "; ".join(f"{reason}: {count}" for reason, count in reasons.items()) or "the episodes table is empty"
        raise AlisError(f"no episodes to analyse as of {prepared.as_of:%Y-%m-%d}: "
                        f"{len(prepared.exclusions)} episode(s) excluded ({detail})")
    with warnings.catch_warnings():
        # Caveats are carried in each result's notes (and in the document's "notes");
        # the document is not the place to shout them.
        warnings.simplefilter("ignore", AlisWarning)
        warnings.simplefilter("ignore", NotEstimableWarning)
        km = kaplan_meier(episodes, alpha=alpha)
        lr = logrank(episodes)
        rm = rmst(episodes, tau=tau, alpha=alpha)
        rates = turnover_rates(intervals, alpha=alpha)
        irr = rate_ratio(intervals, alpha=alpha)
        cox = cox_model(intervals, alpha=alpha)

    # Both cohorts always appear: an absent one has nulls (at risk 0), so the shape never changes.
    survival = km.survival[km.survival["time"].isin(config.KM_TIMEPOINTS)]
    km_rows = []
    for cohort in config.CONTRACT_TYPES:
        rows = {row["time"]: row for _, row in survival[survival["group"] == cohort].iterrows()}
        for time in config.KM_TIMEPOINTS:
            row = rows.get(time)
            km_rows.append({
                "cohort": cohort, "time": int(time),
                "survival": None if row is None else json_number(row["survival"]),
                "ci_lower": None if row is None else json_number(row["ci_lower"]),
                "ci_upper": None if row is None else json_number(row["ci_upper"]),
                "at_risk": 0 if row is None else int(row["at_risk"]),
            })
    medians = _by_cohort(km.median, "group")
    median_rows = [{"cohort": cohort, **{key: json_number(medians[cohort][key]) if cohort in medians else None
                                         for key in ("median", "ci_lower", "ci_upper")}}
                   for cohort in config.CONTRACT_TYPES]
    logrank_row = lr.test.iloc[0]
    statistic = json_number(logrank_row["statistic"])
    rmst_table = _by_cohort(rm.rmst, "group", config.CONTRACT_TYPES + ("difference",))
    rmst_rows = [{"cohort": cohort, "tau": float(tau),
                  "rmst": json_number(rmst_table[cohort]["rmst"]) if cohort in rmst_table else None,
                  "se": json_number(rmst_table[cohort]["se"]) if cohort in rmst_table else None}
                 for cohort in config.CONTRACT_TYPES + ("difference",)]
    rate_table = _by_cohort(rates.rates, "contract_type")
    rate_rows = []
    for contract in config.CONTRACT_TYPES:
        row = rate_table.get(contract)
        rate_rows.append({"contract_type": contract,
                          "exits": 0 if row is None else int(row["exits"]),
                          "person_years": 0.0 if row is None else json_number(row["person_years"]),
                          **{key: None if row is None else json_number(row[key])
                             for key in ("rate_per_100", "ci_lower", "ci_upper")}})
    poisson = irr.estimates[(irr.estimates["model"] == "poisson") & (irr.estimates["term"] == "næring")]
    irr_row = poisson.iloc[0]
    cox_rows = _records(cox.coefficients[cox.coefficients["term"] == "næring"],
                        {"term": "term", "coef": "coef", "se": "se", "robust_se": "robust_se",
                         "hr": "hr", "ci_lower": "ci_lower", "ci_upper": "ci_upper", "p_value": "p_value"})
    document = {
        "schema": SCHEMA,
        "as_of": prepared.as_of.strftime("%Y-%m-%d"),
        "dataset": {
            "fingerprint": prepared.fingerprint,
            "synthetic": bool(prepared.synthetic),
            "episodes": int(len(episodes)),
            "persons": int(episodes["person_id"].nunique()),
            "excluded": int(len(prepared.exclusions)),
            # Internal use only: unsuppressed numbers, not for publication.
            "publishable": False,
        },
        "retention": {
            "km": km_rows,
            "median": median_rows,
            "logrank": {"statistic": statistic, "df": None if statistic is None else int(logrank_row["df"]),
                        "p_value": json_number(logrank_row["p_value"])},
            "rmst": rmst_rows,
        },
        "turnover": {
            "rates": rate_rows,
            "irr": {"contrast": "næring vs fastlønn", "estimate": json_number(irr_row["irr"]),
                    "ci_lower": json_number(irr_row["ci_lower"]), "ci_upper": json_number(irr_row["ci_upper"]),
                    "p_value": json_number(irr_row["p_value"])},
        },
        "cox": cox_rows,
        "notes": _notes(kaplan_meier=km, logrank=lr, rmst=rm, turnover=rates, rate_ratio=irr, cox=cox),
    }
    document["robustness"] = robustness_entries(prepared, alpha=alpha, tau=tau)
    document["notes"] = list(dict.fromkeys(document["notes"] + document["robustness"].pop("notes")))
    _small_cohort_robustness(document, prepared, alpha=alpha)
    if comparison is not None:  # a register extract is present (issue 5)
        document.update(comparison.results_entries())
        document["notes"] = list(dict.fromkeys(document["notes"] + comparison.notes()))
    return document


def robustness_entries(prepared, *, alpha: float = config.DEFAULT_ALPHA,
                       tau: float = config.DEFAULT_RMST_HORIZON) -> dict:
    """The ``robustness`` block of the results document (issue 14; ``docs/methods.md``, *Robustness*).

    ``confounding``: the propensity covariates used, ``estimable`` and ``reason``, the crude and
    inverse-probability-weighted Cox hazard ratio of the cohorts (robust SE clustered by person),
    the RMST per cohort and their difference (næring − fastlønn) at ``tau``, weighted survival at
    the report's time points, the largest absolute standardised mean difference before and after
    weighting, and the effective sample size per cohort. ``e_value``: the E-values of the weighted
    hazard ratio and its confidence limit closest to 1, with the approximation used. ``pooled``:
    the programmes, the hazard ratio per programme, stratified by programme, and the fixed- and
    DerSimonian–Laird random-effects pooled hazard ratios with Q, I² and τ² (``estimable`` false
    with one programme). ``null`` wherever an estimate does not exist. (w14-exact adds ``firth``,
    ``exact_logrank`` and ``competing_exits``.) The key ``notes`` is moved into the document's notes.
    """
    from .robustness import confounding_analysis, e_value_analysis, pooled_programmes

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AlisWarning)
        warnings.simplefilter("ignore", NotEstimableWarning)
        confounding = confounding_analysis(prepared.episodes, tau=tau, alpha=alpha)
        evalue = e_value_analysis(confounding, data=prepared.episodes)
        pooled = pooled_programmes(prepared, alpha=alpha)
    hr_columns = {"coef": "coef", "robust_se": "robust_se", "hr": "hr", "ci_lower": "ci_lower",
                  "ci_upper": "ci_upper", "p_value": "p_value"}
    cox = {} if confounding.cox is None else {
        row["weighting"]: _records(pd.DataFrame([row]), hr_columns)[0] for _, row in confounding.cox.iterrows()}
    rmst = {}
    if confounding.rmst is not None:
        for weighting, part in confounding.rmst.groupby("weighting", sort=True):
            rmst[weighting] = {row["group"]: _records(pd.DataFrame([row]), {
                "rmst": "estimate", "se": "se", "ci_lower": "ci_lower", "ci_upper": "ci_upper", "p_value": "p_value"})[0]
                for _, row in part.iterrows()}
    survival = [] if confounding.survival is None else _records(
        confounding.survival[confounding.survival["weighting"] == "ipw"],
        {"cohort": "cohort", "time": "time", "survival": "survival", "ci_lower": "ci_lower", "ci_upper": "ci_upper"})
    balance = confounding.balance
    fit = confounding.propensity_fit
    e = evalue.evalue
    heterogeneity = pooled.heterogeneity.iloc[0] if pooled.heterogeneity is not None else None
    pooled_rows = {} if pooled.pooled is None else {row["model"]: _records(pd.DataFrame([row]), {
        "hr": "hr", "ci_lower": "ci_lower", "ci_upper": "ci_upper", "p_value": "p_value"})[0]
        for _, row in pooled.pooled.iterrows()}
    stratified = None if pooled.stratified is None else _records(pooled.stratified, hr_columns)[0]
    return {
        "confounding": {
            "estimable": bool(confounding.estimable),
            "reason": confounding.reason or None,
            "propensity_covariates": list(fit.used),
            "cox": {"crude": cox.get("crude"), "ipw": cox.get("ipw")},
            "rmst": {"tau": float(tau), "crude": rmst.get("crude"), "ipw": rmst.get("ipw")},
            "survival_ipw": survival,
            "max_abs_smd": {"unweighted": json_number(balance["smd_unweighted"].abs().max()) if len(balance) else None,
                            "weighted": json_number(balance["smd_weighted"].abs().max()) if len(balance) else None},
            "effective_sample_size": {} if confounding.weights is None else {
                row["cohort"]: json_number(row["ess"]) for _, row in confounding.weights.iterrows()},
        },
        "e_value": {
            "estimable": e is not None,
            "rare_outcome": bool(evalue.params["rare_outcome"]),
            "approximation": evalue.params["approximation"],
            "hr": None if e is None else json_number(e.hr),
            "rr": None if e is None else json_number(e.rr),
            "e_value": None if e is None else json_number(e.e_value),
            "e_value_ci": None if e is None else json_number(e.e_value_ci),
            "ci_limit": None if e is None else e.limit,
        },
        "pooled": {
            "estimable": bool(pooled.estimable),
            "programmes": list(pooled.programmes),
            "per_programme": _records(pooled.per_programme, {"programme": "programme", "hr": "hr",
                                                             "ci_lower": "ci_lower", "ci_upper": "ci_upper",
                                                             "p_value": "p_value"}),
            "stratified": stratified,
            "fixed_effect": pooled_rows.get("fixed"),
            "random_effects": pooled_rows.get("random"),
            "heterogeneity": None if heterogeneity is None else {
                key: json_number(heterogeneity[key]) for key in ("q", "q_p_value", "i_squared", "tau_squared")}
                | {"q_df": int(heterogeneity["q_df"])},
        },
        "notes": _notes(confounding=confounding, e_value=evalue, pooled=pooled),
    }


def _small_cohort_robustness(document: dict, prepared, *, alpha: float) -> None:
    """Add ``robustness.firth``, ``.exact_logrank`` and ``.competing_exits`` (issue 14) and their notes."""
    from .small_cohorts import results_entries, small_cohort_analyses

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AlisWarning)
        warnings.simplefilter("ignore", NotEstimableWarning)
        result = small_cohort_analyses(prepared, alpha=alpha)
    document.setdefault("robustness", {}).update(results_entries(result))
    document["notes"] = list(dict.fromkeys(document["notes"] + _notes(small_cohorts=result)))


def dumps(document: dict) -> str:
    """Serialise a results document deterministically (sorted keys, UTF-8 text)."""
    return json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True, allow_nan=False) + "\n"


def _reason(document: dict, analysis: str) -> str:
    """The first 'not estimable' note of ``analysis`` in the document, for the text rendering."""
    prefix = f"{analysis}: "
    for note in document.get("notes", []):
        if note.startswith(prefix) and "not estimable" in note:
            return note[len(prefix):]
    return "not estimable"


def format_results(document: dict) -> str:
    """A plain-text rendering of the headline results for the terminal.

    Every missing estimate is printed as "not estimable" (with the reason where the
    document's notes give one), never as a bare dash.
    """
    lines = [f"Results as of {document['as_of']} (dataset {document['dataset']['fingerprint'][:12]}"
             + (", SYNTHETIC" if document["dataset"]["synthetic"] else "") + ")"]

    def fmt(x, digits=2):
        return "–" if x is None else f"{x:.{digits}f}"

    def interval(lower, upper, digits=2):
        return f" ({fmt(lower, digits)}–{fmt(upper, digits)})" if lower is not None and upper is not None else ""

    lines.append("\nKaplan–Meier retention (95 % CI, log-log):")
    observed = set()
    for row in document["retention"]["km"]:
        if row["survival"] is None:
            value = "not estimable (no one followed that long)"
        else:
            observed.add(row["cohort"])
            value = fmt(row["survival"]) + (interval(row["ci_lower"], row["ci_upper"])
                                            or (" (no interval: no exits yet)" if row["survival"] == 1 else ""))
        lines.append(f"  {row['cohort']:<9} {row['time']} yr  {value}  at risk {row['at_risk']}")
    lines.append("Median retention (years):")
    for row in document["retention"]["median"]:
        if row["cohort"] not in observed and row["median"] is None:
            lines.append(f"  {row['cohort']:<9} not estimable")
            continue
        median = "not reached" if row["median"] is None else fmt(row["median"])
        limits = ("–" if row["ci_lower"] is None else fmt(row["ci_lower"])) + " to " + \
            ("not reached" if row["ci_upper"] is None else fmt(row["ci_upper"]))
        lines.append(f"  {row['cohort']:<9} {median} (95 % CI {limits})")
    lr = document["retention"]["logrank"]
    if lr["statistic"] is None:
        lines.append(f"Log-rank: {_reason(document, 'logrank')}")
    else:
        lines.append(f"Log-rank: chi² = {fmt(lr['statistic'])}, df = {lr['df']}, p = {fmt(lr['p_value'], 3)}")
    lines.append("Restricted mean survival time:")
    for row in document["retention"]["rmst"]:
        value = "not estimable" if row["rmst"] is None else f"{fmt(row['rmst'])} yr (SE {fmt(row['se'])})"
        lines.append(f"  {row['cohort']:<10} tau {fmt(row['tau'], 1)}: {value}")
    lines.append("\nTurnover per 100 person-years (exact Poisson CI):")
    for row in document["turnover"]["rates"]:
        rate = ("not estimable (no person-time)" if row["rate_per_100"] is None else
                fmt(row["rate_per_100"], 1) + interval(row["ci_lower"], row["ci_upper"], 1))
        lines.append(f"  {row['contract_type']:<9} exits {row['exits']}, PY {fmt(row['person_years'], 1)}: {rate}")
    irr = document["turnover"]["irr"]
    if irr["estimate"] is None:
        lines.append(f"Rate ratio {irr['contrast']}: {_reason(document, 'rate_ratio')}")
    else:
        lines.append(f"Rate ratio {irr['contrast']}: {fmt(irr['estimate'])}"
                     f"{interval(irr['ci_lower'], irr['ci_upper'])}, p = {fmt(irr['p_value'], 3)}")
    lines.append("\nCox model, current contract type (robust SE clustered by municipality):")
    for row in document["cox"]:
        if row["hr"] is None:
            lines.append(f"  {row['term']}: {_reason(document, 'cox')}")
        else:
            lines.append(f"  {row['term']}: HR {fmt(row['hr'])}{interval(row['ci_lower'], row['ci_upper'])}, "
                         f"p = {fmt(row['p_value'], 3)}")
    if "robustness" in document:
        lines.extend(_format_robustness(document["robustness"], fmt, interval))
        lines.extend(_format_small_cohorts(document["robustness"], fmt, interval))
    if "abelsen" in document:
        lines.extend(_format_register(document, fmt, interval))
    if document.get("notes"):
        lines.append("\nNotes:")
        lines.extend(f"  - {note}" for note in document["notes"])
    return "\n".join(lines)


def _format_robustness(block: dict, fmt, interval) -> list[str]:
    """Terminal lines for the ``robustness`` block (confounding, E-value, pooled programmes)."""
    lines = ["\nRobustness (docs/methods.md, Robustness):"]
    confounding = block.get("confounding") or {}
    for weighting, label in (("crude", "crude"), ("ipw", "IPW")):
        hr = (confounding.get("cox") or {}).get(weighting)
        rmst = ((confounding.get("rmst") or {}).get(weighting) or {}).get("difference")
        if hr is None or hr.get("hr") is None:
            reason = confounding.get("reason") or "not estimable"
            lines.append(f"  {label:<5} HR næring vs fastlønn (cohort at start): not estimable ({reason})")
            continue
        lines.append(f"  {label:<5} HR næring vs fastlønn (cohort at start): {fmt(hr['hr'])}"
                     f"{interval(hr['ci_lower'], hr['ci_upper'])}; RMST difference to "
                     f"{fmt(confounding['rmst']['tau'], 0)} yr: {fmt(rmst and rmst['estimate'])}"
                     f"{interval(rmst and rmst['ci_lower'], rmst and rmst['ci_upper'])}")
    smd = confounding.get("max_abs_smd") or {}
    if smd.get("weighted") is not None:
        lines.append(f"  largest |SMD| {fmt(smd['unweighted'])} before, {fmt(smd['weighted'])} after weighting")
    e = block.get("e_value") or {}
    if e.get("estimable"):
        lines.append(f"  E-value {fmt(e['e_value'])} (CI limit: {fmt(e['e_value_ci'])}; {e['approximation']})")
    else:
        lines.append("  E-value: not estimable")
    pooled = block.get("pooled") or {}
    if pooled.get("estimable"):
        re = pooled["random_effects"]
        het = pooled["heterogeneity"]
        lines.append(f"  pooled HR over {', '.join(pooled['programmes'])} (random effects): {fmt(re['hr'])}"
                     f"{interval(re['ci_lower'], re['ci_upper'])}, I² {fmt(100 * het['i_squared'], 0)} %, "
                     f"tau² {fmt(het['tau_squared'], 3)}")
    else:
        lines.append(f"  pooled programmes: not estimable ({', '.join(pooled.get('programmes') or []) or 'none'})")
    return lines


def _format_small_cohorts(block: dict, fmt, interval) -> list[str]:
    """Terminal lines for ``firth``, ``exact_logrank`` and ``competing_exits`` (docs/methods.md, Small cohorts)."""
    if "exact_logrank" not in block:
        return []
    lines = ["Small cohorts (per dataset and area; docs/methods.md, Small cohorts):"]
    for row in block["exact_logrank"]:
        error = f" ± {fmt(row['mc_std_error'], 3)}" if row["method"] == "monte_carlo" else ""
        lines.append(f"  {row['scope']:<10} permutation log-rank p = {fmt(row['p_value'], 3)}{error} "
                     f"({row['method'] or 'not estimable'})")
    for row in block["firth"]:
        value = ("not estimable" if row["hr"] is None else
                 f"{fmt(row['hr'])}{interval(row['ci_lower'], row['ci_upper'])}, p = {fmt(row['p_value'], 3)}"
                 + ("  (ordinary Cox: monotone)" if row["ordinary_monotone"] else ""))
        lines.append(f"  {row['scope']:<10} Firth HR næring vs fastlønn: {value}")
    for row in block["competing_exits"]["fine_gray"]:
        if row["scope"] == "all":
            value = ("not estimable" if row["shr"] is None else
                     f"{fmt(row['shr'])}{interval(row['ci_lower'], row['ci_upper'])}, p = {fmt(row['p_value'], 3)}")
            lines.append(f"  Fine–Gray SHR næring vs fastlønn, {row['cause']}: {value}")
    return lines


def _format_register(document: dict, fmt, interval) -> list[str]:
    """Terminal lines for the register comparisons (``abelsen``, ``did``)."""
    lines = ["\nContract duration by municipality size (register; Abelsen et al. 2015 beside):"]
    for row in document["abelsen"]:
        median = "not reached" if row["median"] is None else fmt(row["median"])
        published = "" if row.get("published_median") is None else f"   published {fmt(row['published_median'])}"
        lines.append(f"  {row['size_class']:<12} {row['contracts']:>6} contracts  median {median}"
                     f"{interval(row['ci_lower'], row['ci_upper'])}{published}")
    did = document.get("did") or {}
    label = f"{did.get('outcome')}, {did.get('treated')} vs {did.get('control')} municipalities, from {did.get('start_year')}"
    if did.get("estimate") is None:
        lines.append(f"Difference in differences ({label}): {_reason(document, 'did')}")
    else:
        lines.append(f"Difference in differences ({label}): {fmt(did['estimate'], 4)}"
                     f"{interval(did['ci_lower'], did['ci_upper'], 4)}, p = {fmt(did['p_value'], 3)}, "
                     f"{did['clusters']} municipalities")
    return lines
