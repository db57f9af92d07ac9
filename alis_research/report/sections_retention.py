"""Report sections on staying in post: Kaplan–Meier retention by cohort (survival at the time
points, median, log-rank, RMST) and turnover per 100 person-years (rate ratio, vacancy).

Split from :mod:`.sections` (issue 11, size).
"""
from __future__ import annotations

import pandas as pd

from .. import config
from .common import add_figure, episode_ids, percent_ci, small_group_caveat
from .common import attempt as _attempt, number as _num, publish_result_notes as _notes, safe_float as _safe_float
from .content import Section
from .text import T, contract_label, fmt_ci, fmt_int, fmt_number, fmt_p, fmt_percent, fmt_years


# --------------------------------------------------------------------------- retention
def _exit_sets(section: Section, ep: pd.DataFrame, cohort: str, times, language: str) -> dict:
    """Ledger sets of one cohort at the report's time points: the exits by each time and the episodes
    still in post.

    A survival estimate gives away the exits behind it: those by its time, and with the estimate
    before it those in between (a difference of two such sets, which the audit checks). The censored are not given away by the estimates; printed beside
    them, the numbers at risk would give them back (the cohort minus those at risk minus the exits),
    which the audit sees and repairs by withholding numbers at risk rather than estimates.
    """
    in_cohort = ep["cohort"] == cohort
    t = ep["duration"].astype(float)
    name = contract_label(cohort, language)
    exits = in_cohort & (ep["exit"] == 1)
    sets = {}
    for time in times:
        upto = f"{name}, {fmt_number(0, 0, language)}–{fmt_number(time, 0, language)}"
        sets[time] = {
            "exits_by": section.group(episode_ids(ep, exits & (t <= time)), label=f"{T('dq_exits', language)} {upto}"),
            "still_in": episode_ids(ep, in_cohort & (t > time)),
        }
    return sets


def _km_figure(section: Section, ep: pd.DataFrame, cohort_sets: dict, language: str, min_cell: int) -> None:
    """The coarsened Kaplan–Meier curves: steps of at least min_cell exits on a grid, stopped before
    fewer than min_cell remain; withheld (with a sentence) when no cohort has a step.

    Each drawn height gives away the exits by the step's end (registered as such, so the audit
    ties them to the table's numbers at risk); the figure has no numbers at risk and no censoring
    marks, so it gives away neither the censored nor those still in post.
    """
    from ..disclosure import coarsened_km

    steps, given_away = {}, []
    for cohort in config.CONTRACT_TYPES:
        part = ep[ep["cohort"] == cohort]
        drawn = coarsened_km(part["episode_id"], part["duration"], part["exit"], min_cell, grid=1.0)
        steps[cohort] = drawn
        exits_by: list = []
        for step in drawn:  # contiguous steps from 0: the exits by a step's end are those of the steps so far
            exits_by += step.events
            upto = f"{contract_label(cohort, language)}, 0–{fmt_number(step.end, 2, language)}"
            given_away.append(section.group(exits_by, label=f"{T('dq_exits', language)} {upto}"))
    if any(steps.values()):
        add_figure(section, language, "km", T("cap_km", language, m=min_cell, m1=min_cell - 1),
                   "plot_coarsened_km", steps, language=language, figsize=(6.4, 4.2),
                   depends=[*cohort_sets.values(), *given_away], reveals=given_away)
    else:
        section.paragraph(T("km_withheld", language, m=min_cell))


def _survival_table(section: Section, ep: pd.DataFrame, km, cohort_sets: dict, facts: dict, language: str) -> None:
    """Survival (95 % CI) and number at risk of each cohort at the report's time points; fills ``facts``."""
    rows = []
    surv = km.survival[km.survival["time"].isin(config.KM_TIMEPOINTS)]
    for cohort in config.CONTRACT_TYPES:
        sets = _exit_sets(section, ep, cohort, config.KM_TIMEPOINTS, language)
        for time in config.KM_TIMEPOINTS:
            name = f"{contract_label(cohort, language)}, {fmt_years(time, language, 0)}"
            at_risk = section.count(sets[time]["still_in"], label=f"{T('col_at_risk', language)}, {name}")
            # the exits by this time; with the estimate before it, those in between (the audit checks that)
            given_away = [sets[time]["exits_by"]]
            depends = [cohort_sets[cohort], *given_away]
            r = surv[(surv["group"] == cohort) & (surv["time"] == time)]
            if not len(r):
                continue
            r = r.iloc[0]
            lo, hi = _safe_float(r["ci_lower"]), _safe_float(r["ci_upper"])
            estimate = section.derived(fmt_ci(_safe_float(r["survival"]), lo, hi, language), depends=depends,
                                       reveals=given_away, label=f"{T('col_survival_ci', language)}, {name}")
            share = section.derived(percent_ci(_safe_float(r["survival"]), lo, hi, language=language),
                                    depends=depends, reveals=given_away,
                                    label=f"{T('col_survival_ci', language)}, {name}")
            # restricted facts keep the numbers; the summary prints the protected reference
            facts.setdefault("survival", {}).setdefault(cohort, {})[str(int(time))] = _safe_float(r["survival"])
            facts.setdefault("survival_ci", {}).setdefault(cohort, {})[str(int(time))] = [lo, hi]
            facts["display"].setdefault("survival", {}).setdefault(cohort, {})[str(int(time))] = share
            rows.append({T("col_cohort", language): contract_label(cohort, language),
                         T("col_years", language): fmt_int(time, language),
                         T("col_survival_ci", language): estimate, T("col_at_risk", language): at_risk})
    if rows:
        section.table("km_survival", pd.DataFrame(rows), T("cap_km_table", language),
                      notes=[T("km_ci_note", language)])


def _median_table(section: Section, km, cohort_sets: dict, exit_sets: dict, everything: list, language: str) -> None:
    """The Kaplan–Meier median of each cohort with its interval ("not reached" when it is not)."""
    med_rows = []
    for _, r in km.median.iterrows():
        cohort = r["group"]
        depends = [cohort_sets.get(cohort, everything[0]), exit_sets.get(cohort, everything[0])]
        median = _safe_float(r["median"])
        upper = _safe_float(r["ci_upper"])
        med_rows.append({
            T("col_cohort", language): contract_label(cohort, language),
            T("col_median", language): section.derived(
                fmt_years(median, language) if median is not None else T("not_reached", language),
                depends=depends, label=f"{T('col_median', language)}, {contract_label(cohort, language)}"),
            T("col_ci", language): section.derived(
                f"{_num(_safe_float(r['ci_lower']), 2, language)}–"
                f"{_num(upper, 2, language) if upper is not None else T('not_reached', language)}",
                depends=depends, label=f"{T('col_median', language)}, {contract_label(cohort, language)}"),
        })
    section.table("km_median", pd.DataFrame(med_rows), T("cap_median", language))


def _rmst_table(section: Section, rm, cohort_sets: dict, exit_sets: dict, everything: list, language: str) -> None:
    """Restricted mean survival time of each cohort and their difference, with standard errors."""
    rows = []
    for _, r in rm.rmst.iterrows():
        group = r["group"]
        label = T("difference", language) if group == "difference" else contract_label(group, language)
        depends = everything if group not in cohort_sets else [cohort_sets[group], exit_sets[group]]
        rows.append({T("col_group", language): label,
                     T("col_rmst", language): section.derived(
                         fmt_ci(_safe_float(r["rmst"]), _safe_float(r.get("ci_lower")),
                                _safe_float(r.get("ci_upper")), language), depends=depends, label=f"RMST, {label}"),
                     T("col_se", language): section.derived(_num(_safe_float(r["se"]), 3, language),
                                                            depends=depends, label=f"RMST, {label}")})
    section.table("rmst", pd.DataFrame(rows), T("cap_rmst", language, tau=_num(config.DEFAULT_RMST_HORIZON, 0, language)))


def retention_section(prepared, *, language: str = "nb", min_cell: int = config.DEFAULT_MIN_CELL) -> Section:
    """Kaplan–Meier retention by cohort, survival at 1/2/3/5 years, median, log-rank and RMST."""
    from ..analysis.retention import kaplan_meier, logrank, rmst

    section = Section("retention", T("retention", language))
    ep = prepared.episodes
    section.paragraph(T("retention_intro", language))
    counts = {c: int((ep["cohort"] == c).sum()) for c in config.CONTRACT_TYPES}
    small_group_caveat(section, counts, language, min_cell)
    cohort_sets = {c: section.group(episode_ids(ep, ep["cohort"] == c), label=contract_label(c, language))
                   for c in config.CONTRACT_TYPES}
    exit_sets = {c: section.group(episode_ids(ep, (ep["cohort"] == c) & (ep["exit"] == 1)),
                                  label=f"{T('dq_exits', language)}, {contract_label(c, language)}")
                 for c in config.CONTRACT_TYPES}
    everything = [*cohort_sets.values(), *exit_sets.values()]
    facts: dict = {"n": counts, "display": {}}
    km = _attempt(section, language, "Kaplan–Meier", kaplan_meier, ep)
    if km is not None:
        _km_figure(section, ep, cohort_sets, language, min_cell)
        _survival_table(section, ep, km, cohort_sets, facts, language)
        _median_table(section, km, cohort_sets, exit_sets, everything, language)
        _notes(section, km, language, min_cell)
    lr = _attempt(section, language, "log-rank", logrank, ep)
    if lr is not None:
        section.paragraph(section.derived(
            T("logrank_text", language, chi2=_num(lr.statistic, 2, language), df=lr.df, p=fmt_p(lr.p_value, language)),
            depends=everything, label="log-rank"))
        facts["logrank_p"] = _safe_float(lr.p_value)
        facts["display"]["logrank"] = section.derived(fmt_p(lr.p_value, language), depends=everything,
                                                      label="log-rank")
    rm = _attempt(section, language, "RMST", rmst, ep, tau=config.DEFAULT_RMST_HORIZON)
    if rm is not None:
        _rmst_table(section, rm, cohort_sets, exit_sets, everything, language)
    section.facts = facts
    return section


# --------------------------------------------------------------------------- turnover
def _exits_by_contract(section: Section, intervals: pd.DataFrame, language: str) -> tuple[dict, dict]:
    """Ledger sets per current contract type: episodes that left under it, episodes with time under it."""
    exits, exposed = {}, {}
    for contract in config.CONTRACT_TYPES:
        part = intervals[intervals["contract_type"] == contract]
        name = contract_label(contract, language)
        exits[contract] = section.count(part.loc[part["exit"] == 1, "episode_id"].astype(str).unique(),
                                        label=f"{T('col_exits', language)}, {name}")
        exposed[contract] = section.group(part["episode_id"].astype(str).unique(),
                                          label=f"{T('col_person_years', language)}, {name}")
    return exits, exposed


def turnover_section(prepared, *, language: str = "nb", min_cell: int = config.DEFAULT_MIN_CELL) -> Section:
    """Turnover per 100 person-years by current contract type, rate ratio, and vacancy."""
    from ..analysis import turnover as tv
    from ..disclosure import ratio_estimable

    section = Section("turnover", T("turnover", language))
    section.paragraph(T("turnover_intro", language))
    facts: dict = {"display": {}}
    iv = prepared.intervals
    exits, exposed = _exits_by_contract(section, iv, language)
    rates = _attempt(section, language, T("turnover", language), tv.turnover_rates, iv)
    exit_counts = {c: int(iv.loc[(iv["contract_type"] == c) & (iv["exit"] == 1), "episode_id"].nunique())
                   for c in config.CONTRACT_TYPES}
    if rates is not None:
        table = rates.rates
        key = "contract_type" if "contract_type" in table else table.columns[0]
        rows = []
        for _, r in table.iterrows():
            contract = str(r[key])
            name = contract_label(contract, language)
            depends = [exits[contract], exposed[contract]] if contract in exits else []
            rows.append({
                T("col_group", language): name,
                T("col_exits", language): exits.get(contract, section.derived(fmt_int(r["exits"], language))),
                T("col_person_years", language): section.derived(_num(r["person_years"], 1, language), depends=depends,
                                                                 label=f"{T('col_person_years', language)}, {name}"),
                T("col_rate", language): section.derived(
                    fmt_ci(_safe_float(r["rate_per_100"]), _safe_float(r["ci_lower"]), _safe_float(r["ci_upper"]),
                           language, 1), depends=depends, label=f"{T('col_rate', language)}, {name}"),
            })
        section.table("rates", pd.DataFrame(rows), T("cap_rates", language),
                      notes=[T("rates_note", language), T("suppression_footnote", language, m=min_cell, m1=min_cell - 1)])
        add_figure(section, language, "rates", T("cap_rates_fig", language), "plot_turnover_rates", rates,
                    language=language, figsize=(6.0, 3.6), depends=[*exits.values(), *exposed.values()])
        _notes(section, rates, language, min_cell)
    irr = None
    if rates is not None and ratio_estimable(exit_counts.values(), min_cell):
        irr = _attempt(section, language, T("irr", language), tv.rate_ratio, iv)
    if irr is not None:
        table = getattr(irr, "estimates", None)
        table = table if table is not None else getattr(irr, "ratio")
        r = table.iloc[0]
        estimate = r["irr"] if "irr" in table else r["estimate"]
        if not ratio_estimable(exit_counts.values(), min_cell, lower=r["ci_lower"], upper=r["ci_upper"]):
            irr = None
    if irr is not None:
        text = fmt_ci(_safe_float(estimate), _safe_float(r["ci_lower"]), _safe_float(r["ci_upper"]), language)
        depends = [*exits.values(), *exposed.values()]
        section.paragraph(section.derived(T("irr_text", language, est=text, p=fmt_p(_safe_float(r["p_value"]), language)),
                                          depends=depends, label=T("irr", language)))
        facts["display"]["irr"] = section.derived(text, depends=depends, label=T("irr", language))
        _notes(section, irr, language, min_cell)
    else:
        section.paragraph(T("irr_withheld", language))
    vac = _attempt(section, language, T("vacancy", language), tv.vacancy, prepared.episodes, as_of=prepared.as_of)
    if vac is not None and getattr(vac, "vacancy", None) is not None and len(vac.vacancy):
        # per year over all units; vacant time dates the leavings of that year, so it is withheld with them
        by_year = vac.vacancy.groupby("year", sort=True)[["position_years", "vacant_position_years"]].sum()
        by_year["vacancy_share"] = by_year["vacant_position_years"] / by_year["position_years"]
        by_year = by_year.reset_index()
        ep = prepared.episodes
        end_year = pd.to_datetime(ep["stop_date"]).dt.year
        rows = []
        for _, r in by_year.iterrows():
            year = int(r["year"])
            leavers = section.group(episode_ids(ep, (ep["exit"] == 1) & (end_year == year)),
                                    label=f"{T('dq_exits', language)} {year}")
            rows.append({
                T("col_year", language): str(year),
                T("col_position_years", language): _num(r["position_years"], 1, language),
                T("col_vacant_years", language): section.derived(_num(r["vacant_position_years"], 1, language),
                                                                  depends=[leavers], label=f"{T('col_vacant_years', language)} {year}"),
                T("col_vacancy_share", language): section.derived(fmt_percent(r["vacancy_share"], language, 1),
                                                                  depends=[leavers], label=f"{T('col_vacancy_share', language)} {year}"),
            })
        section.table("vacancy", pd.DataFrame(rows), T("cap_vacancy", language))
        _notes(section, vac, language, min_cell)
    section.facts = facts
    return section
