"""The report's sections, computed from a prepared dataset.

Each ``*_section(prepared, *, language, min_cell)`` runs the analyses it needs
through the analysis modules, passes every count through
:mod:`alis_research.disclosure`, formats numbers for the language
(:mod:`alis_research.report.text`) and returns a
:class:`~alis_research.report.content.Section` that a notebook displays and
hands to :func:`~alis_research.report.content.write_section`.

Small samples are the norm (one health-trust area can hold a handful of
positions): an analysis that cannot be estimated makes its section say so
instead of stopping the report. The reason goes to the notebook's output
(the audit log), not into the publication, because exception messages may
quote data.
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from .. import __version__, config
from ..data import cohort
from ..disclosure import (
    SuppressionEntry,
    format_at_risk,
    format_count,
    suppress_counts,
)
from . import notes as note_text
# the shared section helpers (report/common.py), under this module's short names
from .common import MAX_NOTES, attempt as _attempt, is_missing as _is_missing, number as _num  # noqa: F401
from .common import publish_result_notes as _notes, safe_float as _safe_float  # noqa: F401
from .common import episode_ids, percent_ci
from .content import Section
from .text import T, contract_label, has_text, fmt_ci, fmt_int, fmt_number, fmt_p, fmt_percent, fmt_years

AREAS = cohort.AREAS

#: Published medians of GP contract duration (Abelsen, Gaski, Brandstorp 2015), years.
ABELSEN_MEDIANS = {"<2000": 2.75, ">=50000": 8.37}
ABELSEN_NATIONAL_MEDIAN = 5.91
#: Median GP contract length in Northern Norway (NSDM 2018, "Fastlegetjenesten i Nord-Norge"), years.
NSDM_NORTH_MEDIAN = 3.8
#: ALIS positions of ALIS-Nord (participant list confirmed June 2019: 17 fastlønn, 15 næring).
ALIS_NORD_POSITIONS = 32


# --------------------------------------------------------------------------- data selection
# (the dataset and its areas belong to cohort.py; the names stay here for the notebooks)
check_area = cohort.check_area
select_area = cohort.select_area


# Prepared datasets of this process by folder, as-of date and the SHA-256 of every file in the folder:
# a warm kernel or a regenerate worker building the areas and languages of one dataset prepares it once.
_prepared_cache: dict[tuple, object] = {}


def load_for_report(dataset, *, as_of, area: str = "all"):
    """The prepared dataset of one area, validated once (what every notebook starts with):
    :func:`alis_research.data.cohort.load_dataset`, which reuses a current ``data/processed/<name>/``.

    The prepared dataset is kept for the next call with the same folder
    contents and as-of date (one entry per process); each call gets its own copy.
    """
    import copy

    from .inputs import dataset_files

    check_area(area)
    folder = Path(config.dataset_dir(dataset))
    key = (str(folder.resolve()), str(as_of), tuple(sorted(dataset_files(folder).items())) if folder.is_dir() else ())
    prepared = _prepared_cache.get(key)
    if prepared is None:
        prepared = cohort.load_dataset(folder, as_of=as_of)
        _prepared_cache.clear()
        _prepared_cache[key] = prepared
    prepared = replace(prepared, episodes=prepared.episodes.copy(), intervals=prepared.intervals.copy(),
                       exclusions=prepared.exclusions.copy(), manifest=copy.deepcopy(prepared.manifest),
                       events=prepared.events.copy(), supervision=prepared.supervision.copy())
    return select_area(prepared, area)


def report_meta(prepared, *, dataset, area: str, language: str, min_cell: int, made: str | None = None) -> dict:
    """Title-page facts of a report (no person-level data)."""
    import datetime as _dt

    from pathlib import Path

    return {
        "language": language,
        "area": area,
        "as_of": f"{prepared.as_of:%Y-%m-%d}",
        "min_cell": int(min_cell),
        "fingerprint": prepared.fingerprint,
        "synthetic": bool(prepared.synthetic),
        "package_version": __version__,
        "dataset": Path(str(dataset)).name,
        "made": made or _dt.date.today().isoformat(),
        # the follow-up period's start as a year: the earliest start date is one person's date
        "follow_up_from": int(prepared.episodes["start_year"].min()) if len(prepared.episodes) else None,
    }


# --------------------------------------------------------------------------- helpers
def _add_figure(section: Section, lang: str, figure_id: str, caption: str, plot: str, result, /, *,
                figsize, depends=(), **kwargs) -> None:
    """Draw ``figures.<plot>(result, ax=..., **kwargs)`` into the section; leave it out if it fails."""
    import matplotlib.pyplot as plt

    from .. import figures

    fig, ax = plt.subplots(figsize=figsize)
    if _attempt(section, lang, caption, getattr(figures, plot), result, ax=ax, **kwargs) is not None:
        section.figure(figure_id, fig, caption, depends=depends)
    else:
        plt.close(fig)


def _small_group_caveat(section: Section, counts: dict, language: str, min_cell: int) -> None:
    small = [contract_label(k, language) for k, n in counts.items() if n < 2 * min_cell]
    if small:
        section.paragraph(T("few_episodes_caveat", language, groups=", ".join(small), twice=2 * min_cell))


# --------------------------------------------------------------------------- ledger helpers
def _cohort_label(cohort: str, language: str) -> str:
    return contract_label(cohort, language)


def persons_cell(section: Section, episodes: pd.DataFrame, mask, label: str) -> str:
    """The number of persons among the episodes where ``mask``, protected through the episodes.

    Persons and episodes are different units, so the audit cannot tie them by sets; but
    episodes − persons is the number of repeat episodes, a count a reader gets by
    subtraction. The number of persons is therefore published as a number derived from
    the episodes' count (withheld with it) and from the repeat episodes (withheld when
    there are 1 … min_cell − 1 of them).
    """
    part = episodes[mask]
    ids = part["episode_id"].astype(str)
    repeats = ids[part["person_id"].astype(str).duplicated()]
    text = str(int(part["person_id"].nunique()))
    return section.derived(text, depends=[section.group(ids, label=f"{label}: episodes"),
                                          section.group(repeats, label=f"{label}: repeat episodes")], label=label)


def cohort_exit_groups(section: Section, episodes: pd.DataFrame, language: str) -> list[str]:
    """The sets every estimate comparing the cohorts rests on: each cohort's exits and those still in post."""
    exited = episodes["exit"] == 1
    return [section.group(episode_ids(episodes, (episodes["cohort"] == c) & m),
                          label=f"{contract_label(c, language)}, {T('dq_exits', language) if i == 0 else T('dq_censored', language)}")
            for c in config.CONTRACT_TYPES for i, m in enumerate((exited, ~exited))]


# --------------------------------------------------------------------------- data quality
def data_quality_section(prepared, *, language: str = "nb", min_cell: int = config.DEFAULT_MIN_CELL) -> Section:
    """How many episodes came in, how many were excluded and why, and what is analysed."""
    section = Section("data_quality", T("data_quality", language))
    episodes, exclusions = prepared.episodes, prepared.exclusions
    section.paragraph(T("dq_intro", language, as_of=f"{prepared.as_of:%Y-%m-%d}"))
    analysed = episode_ids(episodes)
    excluded_ids = [f"excluded:{i}" for i in range(len(exclusions))]  # an exclusion is a row, not an episode
    rows = [(T("dq_analysed", language), section.count(analysed, label=T("dq_analysed", language)))]
    reasons = exclusions["reason"].reset_index(drop=True)
    for reason in sorted(reasons.unique()):
        text = T("dq_excluded", language, reason=note_text.exclusion_reason(reason, language))
        members = [excluded_ids[i] for i in np.where(reasons.to_numpy() == reason)[0]]
        rows.append((text, section.count(members, label=text)))
    rows.append((T("dq_in", language), section.count(analysed + excluded_ids, label=T("dq_in", language))))
    flow = pd.DataFrame(rows, columns=[T("col_episodes_flow", language), T("col_n", language)])
    section.table("flow", flow, T("cap_flow", language), notes=[T("suppression_footnote", language, m=min_cell,
                                                                  m1=min_cell - 1)])

    switches = [f"{e}#{k}" for e, n in zip(episodes["episode_id"].astype(str),
                                           episodes["n_switches"] if "n_switches" in episodes else [0] * len(episodes))
                for k in range(int(n))]
    stats = [
        (T("dq_persons", language), persons_cell(section, episodes, pd.Series(True, index=episodes.index),
                                                 T("dq_persons", language))),
        (T("dq_exits", language), section.count(episode_ids(episodes, episodes["exit"] == 1), label=T("dq_exits", language))),
        (T("dq_censored", language), section.count(episode_ids(episodes, episodes["exit"] == 0),
                                                   label=T("dq_censored", language))),
        (T("dq_switches", language), section.count(switches, universe="switches", label=T("dq_switches", language))),
    ]
    section.table("follow_up", pd.DataFrame(stats, columns=[T("col_measure", language), T("col_n", language)]),
                  T("cap_follow_up", language))

    if len(episodes):
        years = sorted(episodes["start_year"].unique())
        rows = []
        for year in years:
            row = {T("col_start_year", language): str(int(year))}
            for cohort in config.CONTRACT_TYPES:
                mask = (episodes["start_year"] == year) & (episodes["cohort"] == cohort)
                row[contract_label(cohort, language)] = section.count(
                    episode_ids(episodes, mask), label=f"{T('col_start_year', language)} {int(year)}, "
                                                       f"{contract_label(cohort, language)}")
            rows.append(row)
        section.table("start_year", pd.DataFrame(rows), T("cap_start_year", language))
    section.facts = {"episodes_in": int(len(episodes) + len(exclusions)), "excluded": int(len(exclusions)),
                     "analysed": int(len(episodes)), "persons": int(episodes["person_id"].nunique()),
                     "exits": int(episodes["exit"].sum())}
    return section


# --------------------------------------------------------------------------- cohort description
def _count_cells(section: Section, episodes: pd.DataFrame, mask, label: str, language: str) -> dict:
    """One Table 1 row of counts: per cohort and in total, each a ledger count."""
    row = {"label": label}
    for cohort in config.CONTRACT_TYPES:
        row[cohort] = section.count(episode_ids(episodes, mask & (episodes["cohort"] == cohort)),
                                    label=f"{label}, {contract_label(cohort, language)}")
    row["total"] = section.count(episode_ids(episodes, mask), label=f"{label}, {T('total', language)}")
    return row


def cohort_section(prepared, *, language: str = "nb", min_cell: int = config.DEFAULT_MIN_CELL) -> Section:
    """Table 1: the two cohorts (contract type at start) described side by side."""
    section = Section("cohort_description", T("cohort_description", language))
    ep = prepared.episodes
    n = {c: int((ep["cohort"] == c).sum()) for c in config.CONTRACT_TYPES}
    section.paragraph(T("cohort_intro", language))
    everyone = pd.Series(True, index=ep.index)
    rows = [_count_cells(section, ep, everyone, T("t1_episodes", language), language)]
    persons_row = {"label": T("t1_persons", language)}
    for cohort in config.CONTRACT_TYPES:
        persons_row[cohort] = persons_cell(section, ep, ep["cohort"] == cohort,
                                           f"{T('t1_persons', language)}, {contract_label(cohort, language)}")
    persons_row["total"] = persons_cell(section, ep, everyone, f"{T('t1_persons', language)}, {T('total', language)}")
    rows.append(persons_row)
    categorical = [
        ("sex", T("t1_sex", language), ["K", "M"]),
        ("size_class", T("t1_size_class", language), list(config.SIZE_CLASS_LABELS)),
        ("area", T("area", language), list(config.HEALTH_TRUST_AREAS)),
        ("scheme", T("t1_scheme", language), ["new", "old"]),
        ("exit", T("t1_status", language), [1, 0]),
    ]
    for column, label, levels in categorical:
        if column not in ep:
            continue
        values = ep[column].astype(object).where(ep[column].notna(), "__missing__")
        present = [lv for lv in levels if (values == lv).any()] + (["__missing__"] if (values == "__missing__").any() else [])
        for level in present:
            if level == "__missing__":
                name = T("missing", language)
            elif column == "exit":
                name = T("t1_exited", language) if level == 1 else T("t1_in_post", language)
            else:
                name = note_text.value_label(level, language, column)
            rows.append(_count_cells(section, ep, values == level, f"{label}: {name}", language))
    groups = {**{c: ep["cohort"] == c for c in config.CONTRACT_TYPES}, "total": everyone}
    # continuous: median (IQR) of a group, withheld with the group's count
    for column, label, decimals in (("age_at_start", T("t1_age", language), 0),
                                    ("list_size", T("t1_list_size", language), 0),
                                    ("duration", T("t1_follow_up", language), 1)):
        if column not in ep:
            continue
        row = {"label": label}
        for key, mask in groups.items():
            values = pd.to_numeric(ep.loc[mask, column], errors="coerce")
            known = values.notna()
            if not known.any():
                row[key] = "–"
                continue
            members = episode_ids(ep.loc[mask][known.to_numpy()])
            depends = [section.group(members, label=f"{label}, {key}")]
            if len(members) < min_cell:
                row[key] = section.derived(":", depends=depends, label=f"{label}, {key}")
                continue
            q1, med, q3 = np.percentile(values[known].to_numpy(float), [25, 50, 75])
            row[key] = section.derived(
                f"{_num(med, decimals, language)} ({_num(q1, decimals, language)}–{_num(q3, decimals, language)})",
                depends=depends, label=f"{label}, {key}")
        rows.append(row)
    # person-years: one person's follow-up when the group is one person, so withheld with the group's count
    row = {"label": T("t1_person_years", language)}
    for key, mask in groups.items():
        members = episode_ids(ep, mask)
        row[key] = section.derived(_num(ep.loc[mask, "duration"].sum(), 1, language),
                                   depends=[section.group(members, label=f"{T('t1_person_years', language)}, {key}")],
                                   label=f"{T('t1_person_years', language)}, {key}")
    rows.append(row)
    table = pd.DataFrame(rows, columns=["label", *config.CONTRACT_TYPES, "total"])
    table = table.rename(columns={"label": "", "total": T("total", language),
                                  **{c: contract_label(c, language) for c in config.CONTRACT_TYPES}})
    section.table("table1", table, T("cap_table1", language),
                  notes=[T("t1_note", language), T("suppression_footnote", language, m=min_cell, m1=min_cell - 1)])
    small_classes = ["<2000", "2000-4999"]
    section.facts = {"n": n}
    shares = {}
    for cohort in config.CONTRACT_TYPES:
        in_cohort = ep["cohort"] == cohort
        small = in_cohort & ep["size_class"].isin(small_classes)
        if n[cohort]:
            depends = [section.group(episode_ids(ep, small), label="small municipalities"),
                       section.group(episode_ids(ep, in_cohort & ~ep["size_class"].isin(small_classes)),
                                     label="larger municipalities")]
            shares[cohort] = section.derived(fmt_percent(small.sum() / n[cohort], language), depends=depends,
                                             label=f"{T('t1_size_class', language)} "
                                                   f"{'under 5 000' if language == 'nb' else 'below 5,000'}, "
                                                   f"{contract_label(cohort, language)}")
    if len(shares) == len(config.CONTRACT_TYPES):
        section.facts["small_municipality_share_text"] = shares
    return section


# --------------------------------------------------------------------------- retention
def _interval_sets(section: Section, ep: pd.DataFrame, cohort: str, times, language: str) -> dict:
    """Ledger sets of one cohort between consecutive time points: exits, censored, still in post.

    Registered so that the audit checks them (e.g. "censored between year 1 and 2"
    is the difference of two published numbers at risk minus published exits).
    """
    in_cohort = ep["cohort"] == cohort
    t = ep["duration"].astype(float)
    name = contract_label(cohort, language)
    sets = {}
    previous = 0.0
    for time in times:
        window = in_cohort & (t > previous) & (t <= time)
        span = f"{name}, {fmt_number(previous, 0, language)}–{fmt_number(time, 0, language)}"
        sets[time] = {
            "events": section.group(episode_ids(ep, window & (ep["exit"] == 1)), label=f"{T('dq_exits', language)} {span}"),
            "censored": section.group(episode_ids(ep, window & (ep["exit"] == 0)), label=f"{T('dq_censored', language)} {span}"),
            "still_in": episode_ids(ep, in_cohort & (t > time)),
        }
        previous = time
    return sets


def retention_section(prepared, *, language: str = "nb", min_cell: int = config.DEFAULT_MIN_CELL) -> Section:
    """Kaplan–Meier retention by cohort, survival at 1/2/3/5 years, median, log-rank and RMST."""
    from ..disclosure import coarsened_km
    from ..analysis.retention import kaplan_meier, logrank, rmst

    section = Section("retention", T("retention", language))
    ep = prepared.episodes
    section.paragraph(T("retention_intro", language))
    counts = {c: int((ep["cohort"] == c).sum()) for c in config.CONTRACT_TYPES}
    _small_group_caveat(section, counts, language, min_cell)
    cohort_sets = {c: section.group(episode_ids(ep, ep["cohort"] == c), label=contract_label(c, language))
                   for c in config.CONTRACT_TYPES}
    exit_sets = {c: section.group(episode_ids(ep, (ep["cohort"] == c) & (ep["exit"] == 1)),
                                  label=f"{T('dq_exits', language)}, {contract_label(c, language)}")
                 for c in config.CONTRACT_TYPES}
    everything = [*cohort_sets.values(), *exit_sets.values()]
    facts: dict = {"n": counts, "display": {}}
    km = _attempt(section, language, "Kaplan–Meier", kaplan_meier, ep)
    if km is not None:
        # coarsened curves: steps of at least min_cell exits on a grid, stopped before fewer than min_cell remain
        steps, figure_depends = {}, []
        for cohort in config.CONTRACT_TYPES:
            part = ep[ep["cohort"] == cohort]
            drawn = coarsened_km(part["episode_id"], part["duration"], part["exit"], min_cell)
            steps[cohort] = drawn
            for step in drawn:
                span = f"{contract_label(cohort, language)}, {fmt_number(step.start, 2, language)}–{fmt_number(step.end, 2, language)}"
                figure_depends += [section.group(step.events, label=f"{T('dq_exits', language)} {span}"),
                                   section.group(step.censored, label=f"{T('dq_censored', language)} {span}"),
                                   section.group(step.still_in, label=f"{T('col_at_risk', language)} {span}")]
        if any(steps.values()):
            _add_figure(section, language, "km", T("cap_km", language, m=min_cell, m1=min_cell - 1),
                        "plot_coarsened_km", steps, language=language, figsize=(6.4, 4.2),
                        depends=figure_depends or everything)
        else:
            section.paragraph(T("km_withheld", language, m=min_cell))
        rows = []
        surv = km.survival[km.survival["time"].isin(config.KM_TIMEPOINTS)]
        for cohort in config.CONTRACT_TYPES:
            sets = _interval_sets(section, ep, cohort, config.KM_TIMEPOINTS, language)
            depends = [cohort_sets[cohort]]
            for time in config.KM_TIMEPOINTS:
                name = f"{contract_label(cohort, language)}, {fmt_years(time, language, 0)}"
                at_risk = section.count(sets[time]["still_in"], label=f"{T('col_at_risk', language)}, {name}")
                depends += [sets[time]["events"], sets[time]["censored"], at_risk]
                r = surv[(surv["group"] == cohort) & (surv["time"] == time)]
                if not len(r):
                    continue
                r = r.iloc[0]
                lo, hi = _safe_float(r["ci_lower"]), _safe_float(r["ci_upper"])
                estimate = section.derived(fmt_ci(_safe_float(r["survival"]), lo, hi, language),
                                           depends=depends, label=f"{T('col_survival_ci', language)}, {name}")
                share = section.derived(percent_ci(_safe_float(r["survival"]), lo, hi, language=language),
                                        depends=depends, label=f"{T('col_survival_ci', language)}, {name}")
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
        _add_figure(section, language, "rates", T("cap_rates_fig", language), "plot_turnover_rates", rates,
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


#: Columns holding counts of people/episodes/events in analysis tables (suppressed when shown).
COUNT_COLUMNS = {"n", "events", "exits", "at_risk", "censored", "observed", "n_events", "n_episodes",
                 "episodes", "persons", "count", "cumulative_events", "n_at_risk", "n_risk"}
#: Columns that identify places or people and are never shown.
HIDDEN_COLUMNS = {"person_id", "episode_id", "unit", "municipality_code", "municipality_name",
                  "start_date", "end_date", "stop_date", "date"}


def _generic_table(table: pd.DataFrame, language: str, min_cell: int, *, name: str = "table",
                   totals: str | None = None, linked: dict | None = None, withhold_groups=()):
    """A tidy analysis table for print: ids dropped, counts suppressed, numbers formatted.

    Returns ``(frame, suppression log)``. Count columns (:data:`COUNT_COLUMNS`)
    go through :func:`~alis_research.disclosure.suppress_counts` (with
    ``totals`` and ``linked`` as given); the rest is formatted for the language.
    """
    frame = table[[c for c in table.columns if c not in HIDDEN_COLUMNS]].reset_index(drop=True)
    frame = note_text.publish_values(frame, language)  # size classes, Cox terms, distributions in words
    counts = [c for c in frame.columns if c in COUNT_COLUMNS]
    label_column = next((c for c in frame.columns if frame[c].dtype == object), None)
    sup = suppress_counts(frame, counts, min_cell=min_cell, totals=totals, linked=linked, name=name,
                          label_column=label_column) if counts else None
    out = pd.DataFrame(index=frame.index)
    for column in frame.columns:
        values = frame[column]
        withheld = sup.table[column] if sup is not None else None
        if column in counts:
            out[column] = withheld
            continue
        if column in ("group", "cohort", "contract_type", "destination"):
            shown = [contract_label(str(v), language) if column != "destination" else
                     (T(f"dest_{v}", language) if has_text(f"dest_{v}") else str(v)) for v in values]
        elif pd.api.types.is_bool_dtype(values):
            shown = [T("yes", language) if bool(v) else T("no", language) for v in values]
        elif pd.api.types.is_integer_dtype(values):
            shown = [fmt_int(v, language) if not _is_missing(v) else "–" for v in values]
        elif pd.api.types.is_float_dtype(values):
            shown = [fmt_p(v, language) if column == "p_value" else _num(v, 2, language) for v in values]
        else:
            shown = ["–" if _is_missing(v) else str(v) for v in values]
        if withheld is not None and any(str(v) == ":" for v in withheld):
            shown = [":" if str(w) == ":" else s for s, w in zip(shown, withheld)]
        out[column] = shown
    log = list(sup.log) if sup is not None else []
    if withhold_groups and "group" in frame:
        # estimates of a group smaller than min_cell describe individuals: withhold them
        hidden = frame["group"].isin(list(withhold_groups)).to_numpy()
        keep = {"group", "destination", "time", "distribution"}
        for column in out.columns:
            if column not in keep:
                out.loc[hidden, column] = ":"
        log += [SuppressionEntry(name, str(g), "*", "derived") for g in sorted(set(frame.loc[hidden, "group"]))]
    out = out.rename(columns=lambda c: T(f"col_{c}", language) if has_text(f"col_{c}") else c)
    return out, log


def _tiny_groups(episodes: pd.DataFrame, min_cell: int) -> set:
    """Cohorts with 1 .. min_cell - 1 episodes."""
    sizes = episodes["cohort"].value_counts()
    return {g for g, k in sizes.items() if 0 < k < min_cell}


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


def contract_duration_section(prepared, *, language: str = "nb", min_cell: int = config.DEFAULT_MIN_CELL) -> Section:
    """Cox models (crude and adjusted for size class), PH check, competing risks, parametric medians, Abelsen view."""
    from ..analysis import duration as du
    from ..disclosure import ratio_estimable

    section = Section("contract_duration", T("contract_duration", language))
    section.paragraph(T("duration_intro", language))
    facts: dict = {"display": {}}
    iv, ep = prepared.intervals, prepared.episodes
    exited = ep["exit"] == 1
    cohort_sets = {c: section.group(episode_ids(ep, ep["cohort"] == c), label=contract_label(c, language))
                   for c in config.CONTRACT_TYPES}
    exit_sets = {c: section.group(episode_ids(ep, exited & (ep["cohort"] == c)),
                                  label=f"{T('dq_exits', language)}, {contract_label(c, language)}")
                 for c in config.CONTRACT_TYPES}
    size_sets = {lv: section.group(episode_ids(ep, ep["size_class"] == lv),
                                   label=f"{T('t1_size_class', language)}: {note_text.value_label(lv, language, 'size_class')}")
                 for lv in config.SIZE_CLASS_LABELS}
    size_exit_sets = {lv: section.group(episode_ids(ep, exited & (ep["size_class"] == lv)),
                                        label=f"{T('dq_exits', language)}, {note_text.value_label(lv, language, 'size_class')}")
                      for lv in config.SIZE_CLASS_LABELS}
    cohort_depends = [*cohort_sets.values(), *exit_sets.values()]
    all_depends = cohort_depends + [*size_sets.values(), *size_exit_sets.values()]
    crude = _attempt(section, language, T("cox_crude", language), du.cox_model, iv)
    adjusted = _attempt(section, language, T("cox_adjusted", language), du.cox_model, iv, covariates=["size_class"])

    def cox_cells(result, depends) -> dict:
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

    if crude is not None or adjusted is not None:
        crude_rows = cox_cells(crude, cohort_depends) if crude is not None else {}
        adj_rows = cox_cells(adjusted, all_depends) if adjusted is not None else {}
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
        _notes(section, adjusted if adjusted is not None else crude, language, min_cell)
        ph = _attempt(section, language, T("ph_test", language), du.proportional_hazards_test,
                      adjusted if adjusted is not None else crude)
        if ph is not None:
            tables = ph.tables()
            if tables:
                frame = next(iter(tables.values()))
                depends = all_depends if adjusted is not None else cohort_depends
                rows = [{T("col_term", language): note_text.term_label(str(r["term"]), language),
                         T("col_chisq", language): section.derived(_num(_safe_float(r["chisq"]), 2, language),
                                                                   depends=depends, label="PH test"),
                         T("col_df", language): fmt_int(r["df"], language),
                         T("col_p_value", language) if has_text("col_p_value") else "p":
                             section.derived(fmt_p(_safe_float(r["p_value"]), language), depends=depends, label="PH test")}
                        for _, r in frame.iterrows()]
                section.table("ph_test", pd.DataFrame(rows), T("cap_ph", language))
            _notes(section, ph, language, min_cell)
    ci = _attempt(section, language, T("cif", language), du.cumulative_incidence, ep)
    if ci is not None:
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
                for dest, mask in destination_mask.items():
                    depends.append(section.group(episode_ids(ep, in_group & mask & (t <= time)),
                                                 label=f"{T('dq_exits', language)} ({dest}), {name}"))
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
                                        depends=depends, label=f"{T('cif', language)}, {destination}, {name}"),
                })
            section.table("cumulative_incidence", pd.DataFrame(rows), T("cap_cif", language))
        _notes(section, ci, language, min_cell)
    pm = _attempt(section, language, T("parametric", language), du.parametric_duration, ep)
    if pm is not None:
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
    ab = _attempt(section, language, T("abelsen", language), du.median_by_size_class, ep)
    if ab is not None:
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
    section.facts = facts
    return section


def _at_timepoints(table: pd.DataFrame) -> pd.DataFrame:
    """Rows of a curve table at the report's time points (last value on or before each)."""
    keys = [c for c in ("group", "cohort", "cause", "event", "destination") if c in table.columns]
    rows = []
    for _, part in table.sort_values("time").groupby(keys, sort=True) if keys else [((), table.sort_values("time"))]:
        for t in config.KM_TIMEPOINTS:
            before = part[part["time"] <= t]
            if len(before):
                row = before.iloc[-1].copy()
                row["time"] = t
                rows.append(row)
    return pd.DataFrame(rows).reset_index(drop=True) if rows else table.head(0)


# --------------------------------------------------------------------------- text sections
def methods_section(prepared, *, language: str = "nb", min_cell: int = config.DEFAULT_MIN_CELL) -> Section:
    """The definitions, compactly (the full text is docs/methods.md)."""
    from ..analysis.costs import PRICE_YEAR
    from ..analysis.duration import MIN_EVENTS_PER_COEFFICIENT

    section = Section("methods", T("methods", language))
    for key in ("m_data", "m_units", "m_cohort", "m_censoring", "m_km", "m_turnover", "m_cox", "m_competing",
                "m_parametric", "m_robustness", "m_costs", "m_pathway", "m_power", "m_disclosure"):
        section.paragraph(T(key, language, m=min_cell, m1=min_cell - 1, as_of=f"{prepared.as_of:%Y-%m-%d}",
                            tau=_num(config.DEFAULT_RMST_HORIZON, 0, language), year=PRICE_YEAR,
                            positions=ALIS_NORD_POSITIONS, epv=MIN_EVENTS_PER_COEFFICIENT))
    return section


def limitations_section(prepared, *, language: str = "nb", min_cell: int = config.DEFAULT_MIN_CELL) -> Section:
    """Caveats, and the minimal detectable hazard ratio of the data's design (:mod:`alis_research.analysis.power`)."""
    from .sections_costs import detectable_effect
    from ..analysis.power import limitations_text

    section = Section("limitations", T("limitations", language))
    ep = prepared.episodes
    events = int(ep["exit"].sum())
    exited = ep["exit"] == 1
    items = [T("lim_small", language, n=section.count(episode_ids(ep), label=T("dq_analysed", language)),
               events=section.count(episode_ids(ep, exited), label=T("dq_exits", language))),
             T("lim_confounding", language), T("lim_followup", language), T("lim_synthetic", language)
             if prepared.synthetic else T("lim_register", language)]
    facts: dict = {"events": events}
    effects = detectable_effect(prepared)
    if effects is not None:
        up, down = effects
        # a simulated power figure of the design (rounded, with simulation noise) gives no count back;
        # it is left out only when a cohort's episodes or exits are themselves below the threshold
        small = any(0 < v < min_cell for c in config.CONTRACT_TYPES
                    for v in (int((ep["cohort"] == c).sum()), int(((ep["cohort"] == c) & exited).sum())))
        items.append((T("not_estimable", language) if small else
                      limitations_text(up, language=language, decrease=down, min_cell=min_cell, sizes=tuple(
                          section.count(episode_ids(ep, ep["cohort"] == c),
                                        label=f"{T('t1_episodes', language)}, {T('total', language)}, "
                                              f"{contract_label(c, language)}") for c in config.CONTRACT_TYPES)))
                     + " " + T("lim_mde_design", language))
        row = up.effects.set_index("test").loc["log-rank"]
        facts.update({"mde_hr": _safe_float(row["hazard_ratio"]),
                      "mde_hr_decrease": _safe_float(down.effects.set_index("test").loc["log-rank", "hazard_ratio"]),
                      "mde_schoenfeld_hr": _safe_float(row["schoenfeld_hazard_ratio"]),
                      "mde_simulations": int(up.params["simulations"]), "mde_seed": int(up.params["seed"]),
                      "mde_power": _safe_float(up.params["power"])})
    section.items(items)
    section.facts = facts
    return section


def input_files(prepared, *, dataset=None, comparison=None) -> dict[str, str]:
    """Every input of a report, file name -> SHA-256: the dataset's files, ``supervision.csv``
    (when the dataset has one) and a GP-register extract's files (``register/<name>``)."""
    from ..data import io as alis_io
    from ..analysis.pathway import SUPERVISION

    files = dict(prepared.manifest.get("input_files", {}))
    if dataset is not None:
        folder = config.dataset_dir(dataset)
        supervision = alis_io.find_table(folder, SUPERVISION)
        if supervision is not None:
            files[supervision.name] = alis_io.sha256_file(supervision)
    register = getattr(comparison, "register", None)
    if register is not None:
        files.update({f"register/{name}": sha for name, sha in register.input_files.items()})
    return dict(sorted(files.items()))


def appendix_section(prepared, *, dataset, area: str, language: str = "nb", min_cell: int = config.DEFAULT_MIN_CELL,
                     suppression: list | None = None, comparison=None) -> Section:
    """Provenance (every input's SHA-256, parameters, version) and the list of suppression applied.

    ``comparison`` (from :func:`~alis_research.report.load_comparison`) adds the register
    extract's files; ``supervision.csv`` is found in ``dataset``.
    """
    from pathlib import Path

    section = Section("appendix", T("appendix", language))
    section.heading(T("provenance", language))
    rows = list(input_files(prepared, dataset=dataset, comparison=comparison).items())
    section.table("inputs", pd.DataFrame(rows, columns=[T("col_file", language), T("col_sha", language)]),
                  T("cap_inputs", language))
    params = [
        (T("col_dataset", language), Path(str(dataset)).name),
        (T("as_of", language), f"{prepared.as_of:%Y-%m-%d}"),
        (T("area", language), T("all_areas", language) if area == "all" else area),
        (T("col_language", language), language),
        (T("min_cell", language), str(min_cell)),
        (T("fingerprint", language), prepared.fingerprint),
        (T("package_version", language), __version__),
    ]
    section.table("parameters", pd.DataFrame(params, columns=[T("col_parameter", language), T("col_value", language)]),
                  T("cap_parameters", language))
    section.heading(T("suppression_applied", language))
    # filled in by the protection step (report/protection.py) from the whole report's ledger
    section.blocks.append({"type": "withheld_record"})
    return section


def summary_section(prepared, facts: dict, *, language: str = "nb", min_cell: int = config.DEFAULT_MIN_CELL) -> Section:
    """Plain-language summary written from the numbers in the other sections' facts.

    It opens with :func:`conclusion` (the answer to the evaluation's question).
    Careful wording: an interval that includes 1 is said to show no clear
    difference; few episodes are called out as such; shares carry their CIs.
    """
    from ..analysis.costs import PRICE_YEAR
    from ..analysis.duration import MIN_EVENTS_PER_COEFFICIENT

    section = Section("summary", T("summary", language))
    ep = prepared.episodes
    n = {c: int((ep["cohort"] == c).sum()) for c in config.CONTRACT_TYPES}
    exited = ep["exit"] == 1
    everything = [section.group(episode_ids(ep, (ep["cohort"] == c) & m), label=contract_label(c, language))
                  for c in config.CONTRACT_TYPES for m in (exited, ~exited)]
    section.heading(T("c_heading", language))
    # the estimates in the conclusion rest on the cohorts' episodes and exits: protected with them
    section.paragraph(" ".join(conclusion(facts, language=language, guard=lambda text, label: section.derived(
        text, depends=everything, label=label))))
    counts = {c: section.count(episode_ids(ep, ep["cohort"] == c),
                               label=f"{T('t1_episodes', language)}, {T('total', language)}, {contract_label(c, language)}")
              for c in config.CONTRACT_TYPES}
    points = [T("s_data", language, f=counts["fastlønn"], n=counts["næring"], as_of=f"{prepared.as_of:%Y-%m-%d}")]
    if prepared.synthetic:
        points.append(T("s_synthetic", language))
    if min(n.values()) < 2 * min_cell:
        points.append(T("s_few", language))
    ret = facts.get("retention", {})
    shown = ret.get("display", {}).get("survival", {})
    if all(c in shown and shown[c].get("3") for c in config.CONTRACT_TYPES):
        points.append(T("s_km3", language, f=shown["fastlønn"]["3"], n=shown["næring"]["3"]))
    if ret.get("logrank_p") is not None and ret.get("display", {}).get("logrank"):
        key = "s_lr_diff" if ret["logrank_p"] < 0.05 else "s_lr_nodiff"
        points.append(section.derived(T(key, language, p=fmt_p(ret["logrank_p"], language)), depends=everything,
                                      label="log-rank"))
    dur = facts.get("contract_duration", {})
    for name in ("crude", "adjusted"):
        hr = dur.get(f"hr_{name}")
        shown_hr = dur.get("display", {}).get(f"hr_{name}")
        if hr and shown_hr and hr.get("hr") is not None and hr.get("ci_lower") is not None:
            includes_one = hr["ci_lower"] <= 1 <= hr["ci_upper"]
            direction = "s_hr_none" if includes_one else ("s_hr_higher" if hr["hr"] > 1 else "s_hr_lower")
            point = T(f"s_hr_{name}", language, hr=shown_hr) + " " + T(direction, language)
            if hr.get("unstable"):
                point += " " + T("s_hr_unstable", language, epv=MIN_EVENTS_PER_COEFFICIENT)
            points.append(section.derived(point, depends=everything, label=f"HR {name}"))
    irr = facts.get("turnover", {}).get("display", {}).get("irr")
    if irr:
        points.append(T("s_irr", language, est=irr))
    cost = facts.get("costs", {})
    per_year = cost.get("cost_per_retained_year", {})
    if all(c in per_year for c in config.CONTRACT_TYPES):
        points.append(section.derived(
            T("s_costs", language, n=fmt_int(cost["patients"], language), tau=_num(cost["horizon"], 0, language),
              f=kroner_ci(per_year["fastlønn"], language), n_=kroner_ci(per_year["næring"], language),
              year=PRICE_YEAR), depends=everything, label="costs"))
    approved = facts.get("pathway", {}).get("display", {}).get("approved_within_5_years", {})
    if all(c in approved for c in config.CONTRACT_TYPES):
        points.append(T("s_pathway", language, f=approved["fastlønn"], n=approved["næring"]))
    share = facts.get("cohort_description", {}).get("small_municipality_share_text")
    if share:
        points.append(T("s_confounding", language, f=share["fastlønn"], n=share["næring"]))
    else:
        points.append(T("s_confounding_plain", language))
    register = facts.get("comparison_groups")
    if register:  # only with a GP-register extract: the DiD headline and ALIS vs other GPs
        from .sections_register import summary_points

        points += summary_points(register, language=language, min_cell=min_cell)
    section.items(points)
    return section


# --------------------------------------------------------------------------- the conclusion
def kroner_ci(estimate: dict, language: str = "nb") -> str:
    """A cost per retained GP-year, rounded to 1 000 kroner, with its bootstrap interval when it has one."""
    def rounded(v):
        return fmt_int(round(float(v), -3), language)

    lower, upper = estimate.get("ci_lower"), estimate.get("ci_upper")
    if _is_missing(lower) or _is_missing(upper) or abs(float(upper) - float(lower)) < 1:
        return rounded(estimate["estimate"])  # no interval (a cost that does not depend on the data)
    return f"{rounded(estimate['estimate'])} ({rounded(lower)}–{rounded(upper)})"


def headline_hazard_ratio(duration_facts: dict) -> tuple[str, dict] | None:
    """The Cox estimate the conclusion rests on: ``(model, facts)`` or ``None`` (not estimable).

    The model adjusted for municipality size when it is stable, else the crude one when it is;
    a model with fewer than ``duration.MIN_EVENTS_PER_COEFFICIENT`` exits per coefficient, or
    without an interval, is never the headline.
    """
    for name in ("adjusted", "crude"):
        hr = duration_facts.get(f"hr_{name}")
        if (hr and not hr.get("unstable") and not _is_missing(hr.get("hr"))
                and not _is_missing(hr.get("ci_lower")) and not _is_missing(hr.get("ci_upper"))):
            return name, hr
    return None


def conclusion(facts: dict, *, language: str = "nb", guard=None) -> list[str]:
    """The answer to the evaluation's question, as sentences: does fastlønn keep the doctors longer
    than næring (the headline hazard ratio with its CI), how sure we can be (the simulated minimal
    detectable hazard ratio) and what a retained GP-year costs (with the price year)."""
    from ..analysis.costs import PRICE_YEAR
    from ..analysis.duration import MIN_EVENTS_PER_COEFFICIENT as epv

    guard = guard or (lambda text, label: text)  # a published report passes the ledger's derived numbers
    sentences = [T("c_question", language)]
    duration = facts.get("contract_duration", {})
    headline = headline_hazard_ratio(duration)
    if headline is None:
        sentences.append(T("c_hr_not_estimable", language, epv=epv))
    else:
        name, hr = headline
        if hr["ci_lower"] <= 1 <= hr["ci_upper"]:
            key = "c_hr_none"
        else:
            key = "c_hr_fastlonn_keeps" if hr["hr"] > 1 else "c_hr_naering_keeps"
        shown = (duration.get("display") or {}).get(f"hr_{name}")  # the protected reference, when there is one
        sentences.append(guard(T(key, language, model=T(f"c_model_{name}", language),
                                 hr=shown or fmt_ci(hr["hr"], hr["ci_lower"], hr["ci_upper"], language)),
                               f"HR {name}"))
        if name == "crude" and (duration.get("hr_adjusted") or {}).get("unstable"):
            sentences.append(T("c_unstable", language, epv=epv))
    lim = facts.get("limitations", {})
    power = fmt_percent(lim.get("mde_power", 0.8), language)
    if "mde_hr" not in lim:
        sentences.append(T("c_mde_not_estimable", language))
    elif _is_missing(lim["mde_hr"]):
        sentences.append(T("c_mde_none", language, power=power))
    else:
        down = lim.get("mde_hr_decrease")
        sentences.append(T("c_mde", language, power=power, hr=_num(lim["mde_hr"], 2, language),
                           down="" if _is_missing(down) else T("c_mde_down", language, hr=_num(down, 2, language))))
    cost = facts.get("costs", {})
    per_year = cost.get("cost_per_retained_year", {})
    if all(c in per_year for c in config.CONTRACT_TYPES):
        sentences.append(guard(T("c_costs", language, tau=_num(cost["horizon"], 0, language), year=PRICE_YEAR,
                                 p=fmt_int(cost["patients"], language), f=kroner_ci(per_year["fastlønn"], language),
                                 n=kroner_ci(per_year["næring"], language)), "costs"))
    else:
        sentences.append(T("c_costs_not_estimable", language))
    return sentences


# --------------------------------------------------------------------------- references
#: The reference list (catalogue keys ``ref_*``), in the order printed: alphabetical by first author.
REFERENCES = ("ref_abelsen2015", "ref_alisnord2019a", "ref_alisnord2019b", "ref_alisvest", "ref_finegray1999",
              "ref_gray1988", "ref_heinze2001", "ref_heinze2002", "ref_nsdm2018", "ref_nsdm2019", "ref_therneau",
              "ref_vanderweele2017")


def references_section(prepared=None, *, language: str = "nb", min_cell: int = config.DEFAULT_MIN_CELL) -> Section:
    """The reference list of the works cited in the text (before the appendix)."""
    section = Section("references", T("references", language))
    section.items(T(key, language) for key in REFERENCES)
    return section
