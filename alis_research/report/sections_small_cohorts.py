"""The report's section on small cohorts: exact log-rank, Firth-penalised Cox, competing exits.

The computations live in :mod:`alis_research.analysis.small_cohorts`; this module turns
its result into a :class:`~alis_research.report.content.Section` with
plain-language interpretation in bokmål and English, as the other ``sections*``
modules do.  It publishes **only estimates and p-values** (hazard ratios,
subdistribution hazard ratios, their intervals, test p-values), never a count
of episodes or exits, and never says which contract type had no exits; an
estimate resting on fewer than :data:`alis_research.analysis.small_cohorts.MIN_EXITS`
exits is printed as "not estimable".  One row per scope: the report's dataset
(all areas, or the one area of an area report) and, in a report on several
areas, each health-trust area.

The section's sentences are in the message catalogue, table ``report.small_cohorts``
(``alis_research/messages/nb.toml``, ``en.toml``).
"""
from __future__ import annotations

import pandas as pd

from .. import config
from ..analysis.small_cohorts import ALL, MIN_EXITS, PERMUTATION_PRIMARY_BELOW, small_cohort_analyses
from .common import attempt_saying
from .content import Section
from ..messages.labels import value_label
from .text import T, fmt_ci, fmt_p

#: Significance level of the plain-language sentences (the tables give the p-values).
ALPHA = config.DEFAULT_ALPHA


def _missing(value) -> bool:
    return value is None or bool(pd.isna(value))


def _scope_label(scope: str, area: str, language: str) -> str:
    if scope != ALL:
        return scope
    return area if area not in (None, "", ALL) else T("small_cohorts.scope_all", language)


def _estimate(value, lower, upper, language: str) -> str:
    if _missing(value):
        return T("not_estimable", language)
    return fmt_ci(float(value), float(lower), float(upper), language)


def _p(value, language: str) -> str:
    return T("not_estimable", language) if _missing(value) else fmt_p(float(value), language)


def _number(value) -> float | None:
    return None if _missing(value) else float(value)


def small_cohorts_section(prepared, *, language: str = "nb", min_cell: int = config.DEFAULT_MIN_CELL) -> Section:
    """Exact log-rank, Firth-penalised Cox and competing exits, with plain-language interpretation.

    ``min_cell`` is accepted as by every section; the section publishes no counts
    at all, so it has nothing to suppress.
    """
    section = Section("small_cohorts", T("small_cohorts.title", language))
    section.paragraph(T("small_cohorts.intro", language, k=MIN_EXITS))
    result = attempt_saying("small_cohorts.failed", section, language, T("small_cohorts.title", language),
                            small_cohort_analyses, prepared)
    if result is None:  # not estimable: said in the section (a small area must still give an honest report)
        return section
    area = (getattr(prepared, "manifest", None) or {}).get("area", ALL)
    label = {scope: _scope_label(scope, area, language) for scope in result.firth["scope"]}
    resamples = int(result.params["resamples"])
    facts: dict = {}

    # -- permutation log-rank
    scope_col = T("small_cohorts.col_scope", language)
    section.heading(T("small_cohorts.lr_heading", language))
    section.paragraph(T("small_cohorts.lr_intro", language, b=resamples, limit=PERMUTATION_PRIMARY_BELOW))
    rows = []
    for _, r in result.exact_logrank.iterrows():
        if r["method"] == "monte_carlo":
            method = T("small_cohorts.method_mc", language, se=float(r["mc_std_error"]))
        else:
            method = T("small_cohorts.method_exact", language) if r["method"] == "exact" else "–"
        rows.append({scope_col: label[r["scope"]], T("small_cohorts.col_method", language): method,
                     T("small_cohorts.col_p_perm", language): _p(r["p_value"], language),
                     T("small_cohorts.col_p_normal", language): _p(r["p_value_normal"], language)})
    section.table("small_cohorts_logrank", pd.DataFrame(rows), T("small_cohorts.cap_lr", language),
                  notes=[T("small_cohorts.lr_note", language, b=resamples)])
    for _, r in result.exact_logrank.iterrows():
        if not _missing(r["p_value"]):
            section.paragraph(T("small_cohorts.lr_diff" if r["p_value"] < ALPHA else "small_cohorts.lr_nodiff",
                                language, scope=label[r["scope"]], p=fmt_p(float(r["p_value"]), language)))
    main = result.exact_logrank.iloc[0]
    facts["logrank_permutation"] = {"method": main["method"], "p_value": _number(main["p_value"]),
                                    "mc_std_error": _number(main["mc_std_error"])}

    # -- Firth-penalised Cox
    section.heading(T("small_cohorts.firth_heading", language))
    section.paragraph(T("small_cohorts.firth_intro", language))
    rows = []
    for _, r in result.firth.iterrows():
        ordinary = T("small_cohorts.ordinary_monotone" if r["ordinary_monotone"] else "small_cohorts.ordinary_ok",
                     language)
        rows.append({scope_col: label[r["scope"]],
                     T("small_cohorts.col_hr", language): _estimate(r["hr"], r["ci_lower"], r["ci_upper"], language),
                     T("small_cohorts.col_p", language): _p(r["p_value"], language),
                     T("small_cohorts.col_ordinary", language): ordinary if not _missing(r["hr"]) else "–"})
    section.table("small_cohorts_firth", pd.DataFrame(rows), T("small_cohorts.cap_firth", language),
                  notes=[T("small_cohorts.firth_note", language)])
    monotone = [label[s] for s, m, hr in zip(result.firth["scope"], result.firth["ordinary_monotone"],
                                              result.firth["hr"]) if m and not _missing(hr)]
    if monotone:
        section.paragraph(T("small_cohorts.firth_monotone_text", language, scopes=", ".join(monotone)))
    for _, r in result.firth.iterrows():
        if _missing(r["hr"]) or _missing(r["ci_lower"]) or _missing(r["ci_upper"]):
            continue
        section.paragraph(T("small_cohorts.hr_higher" if r["ci_lower"] > 1 else
                            "small_cohorts.hr_lower" if r["ci_upper"] < 1 else "small_cohorts.hr_none",
                            language, scope=label[r["scope"]],
                            hr=fmt_ci(float(r["hr"]), float(r["ci_lower"]), float(r["ci_upper"]), language)))
    first = result.firth.iloc[0]
    facts["firth"] = {"hr": _number(first["hr"]), "ci_lower": _number(first["ci_lower"]),
                      "ci_upper": _number(first["ci_upper"]), "p_value": _number(first["p_value"]),
                      "ordinary_monotone": bool(first["ordinary_monotone"])}

    # -- competing exits
    section.heading(T("small_cohorts.ce_heading", language))
    section.paragraph(T("small_cohorts.ce_intro", language))
    gray = result.gray.set_index(["scope", "cause"])
    rows = []
    for _, r in result.fine_gray.iterrows():
        g = gray.loc[(r["scope"], r["cause"])]
        rows.append({scope_col: label[r["scope"]],
                     T("small_cohorts.col_exit", language): value_label(r["cause"], language),
                     T("small_cohorts.col_gray_p", language): _p(g["p_value"], language),
                     T("small_cohorts.col_shr", language): _estimate(r["shr"], r["ci_lower"], r["ci_upper"], language),
                     T("small_cohorts.col_shr_p", language): _p(r["p_value"], language)})
    section.table("small_cohorts_competing", pd.DataFrame(rows), T("small_cohorts.cap_ce", language),
                  notes=[T("small_cohorts.ce_note", language)])
    for (scope, cause), g in gray.iterrows():
        if not _missing(g["p_value"]):
            section.paragraph(T("small_cohorts.ce_diff" if g["p_value"] < ALPHA else "small_cohorts.ce_nodiff",
                                language, scope=label[scope], cause=T(f"small_cohorts.phrase_{cause}", language),
                                p=fmt_p(float(g["p_value"]), language)))
    facts["competing_exits"] = {
        r["cause"]: {"gray_p_value": _number(gray.loc[(r["scope"], r["cause"]), "p_value"]),
                     "shr": _number(r["shr"]), "ci_lower": _number(r["ci_lower"]), "ci_upper": _number(r["ci_upper"]),
                     "p_value": _number(r["p_value"])}
        for _, r in result.fine_gray[result.fine_gray["scope"] == ALL].iterrows()}
    section.facts = facts
    # every estimate rests on the cohorts' exits and censorings: withheld with them (the ledger, docs/reports.md)
    from .common import cohort_exit_groups

    section.guard_numbers(cohort_exit_groups(section, prepared.episodes, language))
    return section
