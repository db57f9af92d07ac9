"""Report section on contract duration: Cox models (crude and adjusted for municipality size),
the proportional-hazards check, competing exits, parametric medians and the Abelsen comparison.

Split from :mod:`.sections` (issue 11, size).
"""
from __future__ import annotations

import pandas as pd

from .. import config
from . import notes as note_text
from .common import episode_ids
from .common import attempt as _attempt, number as _num
from .common import publish_result_notes as _notes, safe_float as _safe_float
from .content import Section
from .text import T, contract_label, has_text, fmt_ci, fmt_int, fmt_p, fmt_years

#: Published medians of GP contract duration (Abelsen, Gaski, Brandstorp 2015), years.
ABELSEN_MEDIANS = {"<2000": 2.75, ">=50000": 8.37}
ABELSEN_NATIONAL_MEDIAN = 5.91
#: Median GP contract length in Northern Norway (NSDM 2018, "Fastlegetjenesten i Nord-Norge"), years.
NSDM_NORTH_MEDIAN = 3.8

#: Columns holding counts of people/episodes/events in analysis tables (suppressed when shown).
COUNT_COLUMNS = {"n", "events", "exits", "at_risk", "censored", "observed", "n_events", "n_episodes",
                 "episodes", "persons", "count", "cumulative_events", "n_at_risk", "n_risk"}
#: Columns that identify places or people and are never shown.
HIDDEN_COLUMNS = {"person_id", "episode_id", "unit", "municipality_code", "municipality_name",
                  "start_date", "end_date", "stop_date", "date"}


# --------------------------------------------------------------------------- contract duration
def _term_exits(term: str, episodes: pd.DataFrame) -> list[int]:
    """Exit counts of the groups a Cox term compares (for the 'not estimable' rule)."""
    exited = episodes["exit"] == 1
    if term == "næring":
        return [int((exited & (episodes["cohort"] == c)).sum()) for c in config.CONTRACT_TYPES]
    if term.startswith("size_class="):
        level = term.split("=", 1)[1]
        reference = list(config.SIZE_CLASS_LABELS)[0]
        return [int((exited & (episodes["size_class"] == lv)).sum()) for lv in (level, reference)]
    return [0]


def _ledger_sets(section: Section, ep: pd.DataFrame, language: str) -> dict:
    """The sets the estimates rest on: each cohort's and each size class's episodes and exits."""
    exited = ep["exit"] == 1
    sets = {
        "cohort": {c: section.group(episode_ids(ep, ep["cohort"] == c), label=contract_label(c, language))
                   for c in config.CONTRACT_TYPES},
        "exits": {c: section.group(episode_ids(ep, exited & (ep["cohort"] == c)),
                                   label=f"{T('dq_exits', language)}, {contract_label(c, language)}")
                  for c in config.CONTRACT_TYPES},
        "size": {lv: section.group(episode_ids(ep, ep["size_class"] == lv),
                                   label=f"{T('t1_size_class', language)}: {note_text.value_label(lv, language, 'size_class')}")
                 for lv in config.SIZE_CLASS_LABELS},
        "size_exits": {lv: section.group(episode_ids(ep, exited & (ep["size_class"] == lv)),
                                         label=f"{T('dq_exits', language)}, {note_text.value_label(lv, language, 'size_class')}")
                       for lv in config.SIZE_CLASS_LABELS},
    }
    sets["cohort_depends"] = [*sets["cohort"].values(), *sets["exits"].values()]
    sets["all_depends"] = sets["cohort_depends"] + [*sets["size"].values(), *sets["size_exits"].values()]
    return sets


def _cox_cells(section: Section, result, depends, ep: pd.DataFrame, language: str, min_cell: int) -> dict:
    """One published hazard ratio (95 % CI) per Cox term, "not estimable" where the exits are too few."""
    from ..disclosure import ratio_estimable

    cells = {}
    for _, r in result.coefficients.iterrows():
        term = str(r["term"])
        lo, hi = _safe_float(r["ci_lower"]), _safe_float(r["ci_upper"])
        if ratio_estimable(_term_exits(term, ep), min_cell, lower=lo, upper=hi):
            text = fmt_ci(_safe_float(r["hr"]), lo, hi, language)
        else:
            text = T("not_estimable", language)
        cells[term] = section.derived(text, depends=depends, label=f"HR {note_text.term_label(term, language)}")
    return cells


def _cox_table(section: Section, ep: pd.DataFrame, crude, adjusted, sets: dict, facts: dict, language: str,
               min_cell: int) -> None:
    """The crude and size-adjusted Cox hazard ratios side by side; the næring ratios go to ``facts``."""
    from ..disclosure import ratio_estimable

    crude_rows = _cox_cells(section, crude, sets["cohort_depends"], ep, language, min_cell) if crude is not None else {}
    adj_rows = _cox_cells(section, adjusted, sets["all_depends"], ep, language, min_cell) if adjusted is not None else {}
    terms = list(dict.fromkeys([*crude_rows, *adj_rows]))
    table = pd.DataFrame({
        T("col_term", language): [note_text.term_label(t, language) for t in terms],
        T("cox_crude", language): [crude_rows.get(t, "") for t in terms],
        T("cox_adjusted", language): [adj_rows.get(t, "") for t in terms],
    })
    section.table("cox", table, T("cap_cox", language), notes=[T("cox_note", language)])
    for name, res, cells in (("crude", crude, crude_rows), ("adjusted", adjusted, adj_rows)):
        if res is not None and "næring" in cells:
            r = res.coefficients[res.coefficients["term"] == "næring"].iloc[0]
            lo, hi = _safe_float(r["ci_lower"]), _safe_float(r["ci_upper"])
            if ratio_estimable(_term_exits("næring", ep), min_cell, lower=lo, upper=hi):
                facts[f"hr_{name}"] = {"hr": _safe_float(r["hr"]), "ci_lower": lo, "ci_upper": hi,
                                       "p_value": _safe_float(r["p_value"]),
                                       # fewer than du.MIN_EVENTS_PER_COEFFICIENT exits per coefficient
                                       "unstable": any(getattr(n, "code", None) == "cox_unstable"
                                                       for n in res.notes)}
                facts["display"][f"hr_{name}"] = cells["næring"]


def _ph_table(section: Section, ph, depends: list, language: str, min_cell: int) -> None:
    """The proportional-hazards test per term."""
    tables = ph.tables()
    if tables:
        frame = next(iter(tables.values()))
        rows = [{T("col_term", language): note_text.term_label(str(r["term"]), language),
                 T("col_chisq", language): section.derived(_num(_safe_float(r["chisq"]), 2, language),
                                                           depends=depends, label="PH test"),
                 T("col_df", language): fmt_int(r["df"], language),
                 T("col_p_value", language) if has_text("col_p_value") else "p":
                     section.derived(fmt_p(_safe_float(r["p_value"]), language), depends=depends, label="PH test")}
                for _, r in frame.iterrows()]
        section.table("ph_test", pd.DataFrame(rows), T("cap_ph", language))
    _notes(section, ph, language, min_cell)


def _cumulative_incidence_table(section: Section, ep: pd.DataFrame, ci, sets: dict, language: str,
                                min_cell: int) -> None:
    """Cumulative incidence of each exit destination by cohort at the report's time points."""
    from ..analysis import duration as du

    exited = ep["exit"] == 1
    cohort_sets = sets["cohort"]
    estimates = ci.tables().get("estimates")
    if estimates is not None and len(estimates):
        stayed = ep["end_reason"].isin(du.DEFAULT_DESTINATIONS["stayed_gp_region"]) & exited
        destination_mask = {"stayed_gp_region": stayed, du.OTHER_DESTINATION: exited & ~stayed}
        rows = []
        t = ep["duration"].astype(float)
        for _, r in estimates.iterrows():
            cohort, destination, time = str(r["group"]), str(r["destination"]), float(r["time"])
            in_group = ep["cohort"] == cohort
            name = f"{contract_label(cohort, language)}, {fmt_years(time, language, 0)}"
            depends = [cohort_sets.get(cohort) or section.group(episode_ids(ep, in_group))]
            given_away = []  # like a survival estimate, an incidence gives away its exits by then
            for dest, mask in destination_mask.items():
                depends.append(section.group(episode_ids(ep, in_group & mask & (t <= time)),
                                             label=f"{T('dq_exits', language)} ({dest}), {name}"))
                if dest == destination:
                    given_away.append(depends[-1])
            depends.append(section.group(episode_ids(ep, in_group & ~exited & (t <= time)),
                                         label=f"{T('dq_censored', language)}, {name}"))
            depends.append(section.group(episode_ids(ep, in_group & (t > time)),
                                         label=f"{T('col_at_risk', language)}, {name}"))
            rows.append({
                T("col_group", language): contract_label(cohort, language),
                T("col_destination", language) if has_text("col_destination") else "destination":
                    T(f"dest_{destination}", language) if has_text(f"dest_{destination}") else destination,
                T("col_time", language) if has_text("col_time") else "time": fmt_int(time, language),
                T("col_cumulative_incidence", language) if has_text("col_cumulative_incidence") else "cumulative_incidence":
                    section.derived(fmt_ci(_safe_float(r["cumulative_incidence"]), _safe_float(r["ci_lower"]),
                                           _safe_float(r["ci_upper"]), language),
                                    depends=depends, reveals=given_away,
                                    label=f"{T('cif', language)}, {destination}, {name}"),
            })
        section.table("cumulative_incidence", pd.DataFrame(rows), T("cap_cif", language))
    _notes(section, ci, language, min_cell)


def _parametric_table(section: Section, ep: pd.DataFrame, pm, sets: dict, language: str, min_cell: int) -> None:
    """Median contract duration of each cohort from the parametric model, with its caveat."""
    exited = ep["exit"] == 1
    cohort_sets, exit_sets, all_depends = sets["cohort"], sets["exits"], sets["all_depends"]
    medians = pm.tables().get("medians")
    if medians is not None and len(medians):
        rows = []
        for _, r in medians.iterrows():
            cohort = str(r["group"])
            name = contract_label(cohort, language)
            depends = [cohort_sets[cohort], exit_sets[cohort]] if cohort in cohort_sets else all_depends
            upper = _safe_float(r["ci_upper"])
            rows.append({
                T("col_group", language): name,
                T("col_events", language) if has_text("col_events") else "events":
                    section.count(episode_ids(ep, exited & (ep["cohort"] == cohort)),
                                  label=f"{T('dq_exits', language)}, {name}"),
                T("col_distribution", language) if has_text("col_distribution") else "distribution":
                    note_text.value_label(r["distribution"], language, "distribution")
                    if hasattr(note_text, "value_label") else str(r["distribution"]),
                T("col_median", language): section.derived(
                    fmt_ci(_safe_float(r["median"]), _safe_float(r["ci_lower"]), upper, language)
                    if upper is not None else _num(_safe_float(r["median"]), 2, language),
                    depends=depends, label=f"{T('parametric', language)}, {name}"),
            })
        section.table("parametric", pd.DataFrame(rows), T("cap_parametric", language))
    section.paragraph(T("parametric_caveat", language))
    _notes(section, pm, language, min_cell)


def _abelsen_table(section: Section, ep: pd.DataFrame, ab, sets: dict, language: str, min_cell: int) -> None:
    """Median duration by municipality size class beside Abelsen et al.'s and NSDM's published medians."""
    exited = ep["exit"] == 1
    size_sets, size_exit_sets = sets["size"], sets["size_exits"]
    tables = ab.tables()
    if tables:
        table = next(iter(tables.values()))
        rows = []
        for _, r in table[table.iloc[:, 0] != "all"].iterrows():
            level = str(r["size_class"])
            name = note_text.value_label(level, language, "size_class")
            in_class = ep["size_class"] == level
            depends = [size_sets.get(level) or section.group(episode_ids(ep, in_class)),
                       size_exit_sets.get(level) or section.group(episode_ids(ep, in_class & exited))]
            upper = _safe_float(r["ci_upper"])
            median = _safe_float(r["median"])
            rows.append({
                T("t1_size_class", language): name,
                T("col_n", language): section.count(episode_ids(ep, in_class),
                                                    label=f"{T('t1_size_class', language)}: {name}, {T('total', language)}"),
                T("col_events", language) if has_text("col_events") else "events":
                    section.count(episode_ids(ep, in_class & exited), label=f"{T('dq_exits', language)}, {name}"),
                T("col_median", language): section.derived(
                    fmt_years(median, language) if median is not None else T("not_reached", language),
                    depends=depends, label=f"{T('col_median', language)}, {name}"),
                T("col_ci", language): section.derived(
                    f"{_num(_safe_float(r['ci_lower']), 2, language)}–"
                    f"{_num(upper, 2, language) if upper is not None else T('not_reached', language)}",
                    depends=depends, label=f"{T('col_median', language)}, {name}"),
            })
        section.table("abelsen", pd.DataFrame(rows), T("cap_abelsen", language))
    section.paragraph(T("abelsen_text", language, small=fmt_years(ABELSEN_MEDIANS["<2000"], language),
                        large=fmt_years(ABELSEN_MEDIANS[">=50000"], language),
                        national=fmt_years(ABELSEN_NATIONAL_MEDIAN, language),
                        north=fmt_years(NSDM_NORTH_MEDIAN, language, 1)))
    _notes(section, ab, language, min_cell)


def contract_duration_section(prepared, *, language: str = "nb", min_cell: int = config.DEFAULT_MIN_CELL) -> Section:
    """Cox models (crude and adjusted for size class), PH check, competing risks, parametric medians, Abelsen view."""
    from ..analysis import duration as du

    section = Section("contract_duration", T("contract_duration", language))
    section.paragraph(T("duration_intro", language))
    facts: dict = {"display": {}}
    iv, ep = prepared.intervals, prepared.episodes
    sets = _ledger_sets(section, ep, language)
    crude = _attempt(section, language, T("cox_crude", language), du.cox_model, iv)
    adjusted = _attempt(section, language, T("cox_adjusted", language), du.cox_model, iv, covariates=["size_class"])
    if crude is not None or adjusted is not None:
        _cox_table(section, ep, crude, adjusted, sets, facts, language, min_cell)
        _notes(section, adjusted if adjusted is not None else crude, language, min_cell)
        ph = _attempt(section, language, T("ph_test", language), du.proportional_hazards_test,
                      adjusted if adjusted is not None else crude)
        if ph is not None:
            _ph_table(section, ph, sets["all_depends"] if adjusted is not None else sets["cohort_depends"],
                      language, min_cell)
    ci = _attempt(section, language, T("cif", language), du.cumulative_incidence, ep)
    if ci is not None:
        _cumulative_incidence_table(section, ep, ci, sets, language, min_cell)
    pm = _attempt(section, language, T("parametric", language), du.parametric_duration, ep)
    if pm is not None:
        _parametric_table(section, ep, pm, sets, language, min_cell)
    ab = _attempt(section, language, T("abelsen", language), du.median_by_size_class, ep)
    if ab is not None:
        _abelsen_table(section, ep, ab, sets, language, min_cell)
    section.facts = facts
    return section


