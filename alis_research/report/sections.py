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

from .. import __version__, cohort, config
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
from .content import Section
from .text import T, contract_label, has_text, fmt_ci, fmt_int, fmt_p, fmt_percent, fmt_years

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
    :func:`alis_research.cohort.load_dataset`, which reuses a current ``data/processed/<name>/``.

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
                figsize, **kwargs) -> None:
    """Draw ``figures.<plot>(result, ax=..., **kwargs)`` into the section; leave it out if it fails."""
    import matplotlib.pyplot as plt

    from .. import figures

    fig, ax = plt.subplots(figsize=figsize)
    if _attempt(section, lang, caption, getattr(figures, plot), result, ax=ax, **kwargs) is not None:
        section.figure(figure_id, fig, caption)
    else:
        plt.close(fig)


def _small_group_caveat(section: Section, counts: dict, language: str, min_cell: int) -> None:
    small = [contract_label(k, language) for k, n in counts.items() if n < 2 * min_cell]
    if small:
        section.paragraph(T("few_episodes_caveat", language, groups=", ".join(small), twice=2 * min_cell))


# --------------------------------------------------------------------------- data quality
def data_quality_section(prepared, *, language: str = "nb", min_cell: int = config.DEFAULT_MIN_CELL) -> Section:
    """How many episodes came in, how many were excluded and why, and what is analysed."""
    section = Section("data_quality", T("data_quality", language))
    episodes, exclusions = prepared.episodes, prepared.exclusions
    n_in = len(episodes) + len(exclusions)
    section.paragraph(T("dq_intro", language, as_of=f"{prepared.as_of:%Y-%m-%d}"))
    rows = [(T("dq_analysed", language), len(episodes))]
    for reason, count in exclusions["reason"].value_counts(sort=False).sort_index().items():
        rows.append((T("dq_excluded", language, reason=note_text.exclusion_reason(reason, language)), int(count)))
    flow = pd.DataFrame(rows, columns=[T("col_episodes_flow", language), T("col_n", language)])
    sup = suppress_counts(flow, [flow.columns[1]], min_cell=min_cell, totals="columns", name="flow",
                          label_column=flow.columns[0])
    table = pd.concat([sup.table, pd.DataFrame([[T("dq_in", language), format_count(n_in, min_cell)]],
                                               columns=flow.columns)], ignore_index=True)
    section.table("flow", table, T("cap_flow", language),
                  notes=[T("suppression_footnote", language, m=min_cell, m1=min_cell - 1)], suppression=sup.log)

    # person-level follow-up facts (counts only)
    stats = [
        (T("dq_persons", language), episodes["person_id"].nunique()),
        (T("dq_exits", language), int(episodes["exit"].sum())),
        (T("dq_censored", language), int((episodes["exit"] == 0).sum())),
        (T("dq_switches", language), int(episodes["n_switches"].sum()) if "n_switches" in episodes else 0),
    ]
    frame = pd.DataFrame(stats, columns=[T("col_measure", language), T("col_n", language)])
    frame[T("col_n", language)] = [format_count(v, min_cell) for v in frame[T("col_n", language)]]
    section.table("follow_up", frame, T("cap_follow_up", language))

    # by start year (counts per cohort, secondary suppression within years and cohorts)
    if len(episodes):
        counts = pd.crosstab(episodes["start_year"], episodes["cohort"]).reindex(columns=list(config.CONTRACT_TYPES),
                                                                                  fill_value=0)
        counts = counts.reset_index().rename(columns={"start_year": T("col_start_year", language)})
        counts[T("col_start_year", language)] = counts[T("col_start_year", language)].astype(str)
        sup = suppress_counts(counts, list(config.CONTRACT_TYPES), min_cell=min_cell, totals="both",
                              name="start_year", label_column=T("col_start_year", language))
        shown = sup.table.rename(columns={c: contract_label(c, language) for c in config.CONTRACT_TYPES})
        section.table("start_year", shown, T("cap_start_year", language), suppression=sup.log)
    section.facts = {"episodes_in": int(n_in), "excluded": int(len(exclusions)), "analysed": int(len(episodes)),
                     "persons": int(episodes["person_id"].nunique()), "exits": int(episodes["exit"].sum())}
    return section


# --------------------------------------------------------------------------- cohort description
def _category_block(episodes: pd.DataFrame, column: str, label: str, levels, language: str, min_cell: int):
    """Rows of Table 1 for one categorical variable: counts per cohort and total, suppressed."""
    values = episodes[column].astype(object).where(episodes[column].notna(), "__missing__")
    counts = pd.crosstab(values, episodes["cohort"]).reindex(columns=list(config.CONTRACT_TYPES), fill_value=0)
    order = [lv for lv in levels if lv in counts.index] + (["__missing__"] if "__missing__" in counts.index else [])
    counts = counts.reindex(order).fillna(0).astype(int)
    names = [T("missing", language) if lv == "__missing__" else note_text.value_label(lv, language, column)
             for lv in order]
    frame = counts.reset_index(drop=True)
    frame.insert(0, "label", [f"{label}: {n}" for n in names])
    frame["total"] = frame[list(config.CONTRACT_TYPES)].sum(axis=1)
    # rows: cohorts sum to the total; columns: each sums to its cohort's N (shown), the total to N
    sup = suppress_counts(frame, [*config.CONTRACT_TYPES, "total"], min_cell=min_cell, totals="columns",
                          total_column="total", name="table1", label_column="label")
    return sup.table, sup.log


def _count_row(label: str, counts: dict, total: int, min_cell: int):
    """One Table 1 row of counts per cohort plus the total, the total being known to the reader."""
    frame = pd.DataFrame([{"label": label, **{c: int(counts[c]) for c in config.CONTRACT_TYPES}, "total": int(total)}])
    sup = suppress_counts(frame, [*config.CONTRACT_TYPES, "total"], min_cell=min_cell, total_column="total",
                          name="table1", label_column="label")
    return sup.table, sup.log


def cohort_section(prepared, *, language: str = "nb", min_cell: int = config.DEFAULT_MIN_CELL) -> Section:
    """Table 1: the two cohorts (contract type at start) described side by side."""
    section = Section("cohort_description", T("cohort_description", language))
    ep = prepared.episodes
    n = {c: int((ep["cohort"] == c).sum()) for c in config.CONTRACT_TYPES}
    section.paragraph(T("cohort_intro", language))
    blocks, log = [], []
    persons = {c: ep.loc[ep["cohort"] == c, "person_id"].nunique() for c in config.CONTRACT_TYPES}
    for label, counts, total in ((T("t1_episodes", language), n, len(ep)),
                                 (T("t1_persons", language), persons, ep["person_id"].nunique())):
        table, entries = _count_row(label, counts, total, min_cell)
        blocks.append(table)
        log += entries
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
        table, entries = _category_block(ep, column, label, levels, language, min_cell)
        if column == "exit":
            table["label"] = table["label"].str.replace(": 1", ": " + T("t1_exited", language), regex=False)
            table["label"] = table["label"].str.replace(": 0", ": " + T("t1_in_post", language), regex=False)
        blocks.append(table)
        log += entries
    # continuous: median (IQR) only for groups of at least min_cell, otherwise withheld
    for column, label, decimals in (("age_at_start", T("t1_age", language), 0),
                                    ("list_size", T("t1_list_size", language), 0),
                                    ("duration", T("t1_follow_up", language), 1)):
        if column not in ep:
            continue
        row = {"label": label}
        for key, frame in [*((c, ep[ep["cohort"] == c]) for c in config.CONTRACT_TYPES), ("total", ep)]:
            values = pd.to_numeric(frame[column], errors="coerce").dropna()
            if len(values) < min_cell:
                row[key] = ":" if len(values) else "–"
            else:
                q1, med, q3 = np.percentile(values.to_numpy(float), [25, 50, 75])
                row[key] = f"{_num(med, decimals, language)} ({_num(q1, decimals, language)}–{_num(q3, decimals, language)})"
        blocks.append(pd.DataFrame([row]))
    py = {c: ep.loc[ep["cohort"] == c, "duration"].sum() for c in config.CONTRACT_TYPES}
    blocks.append(pd.DataFrame([{"label": T("t1_person_years", language),
                                 **{c: _num(py[c], 1, language) for c in config.CONTRACT_TYPES},
                                 "total": _num(ep["duration"].sum(), 1, language)}]))
    table = pd.concat(blocks, ignore_index=True)
    table = table.rename(columns={"label": "", "total": T("total", language),
                                  **{c: contract_label(c, language) for c in config.CONTRACT_TYPES}})
    section.table("table1", table, T("cap_table1", language),
                  notes=[T("t1_note", language), T("suppression_footnote", language, m=min_cell, m1=min_cell - 1)],
                  suppression=log)
    small_classes = ["<2000", "2000-4999"]
    small = {c: int((ep["size_class"].isin(small_classes) & (ep["cohort"] == c)).sum()) for c in config.CONTRACT_TYPES}
    section.facts = {"n": n}
    # a share reveals its count: keep the shares (for the summary) only when neither part is a small cell
    if all(n[c] and not (0 < small[c] < min_cell or 0 < n[c] - small[c] < min_cell) for c in config.CONTRACT_TYPES):
        section.facts["small_municipality_share"] = {c: small[c] / n[c] for c in config.CONTRACT_TYPES}
    return section


# --------------------------------------------------------------------------- retention
def retention_section(prepared, *, language: str = "nb", min_cell: int = config.DEFAULT_MIN_CELL) -> Section:
    """Kaplan–Meier retention by cohort, survival at 1/2/3/5 years, median, log-rank and RMST."""
    from ..retention import kaplan_meier, logrank, rmst

    section = Section("retention", T("retention", language))
    ep = prepared.episodes
    section.paragraph(T("retention_intro", language))
    counts = {c: int((ep["cohort"] == c).sum()) for c in config.CONTRACT_TYPES}
    _small_group_caveat(section, counts, language, min_cell)
    facts: dict = {"n": counts}
    km = _attempt(section, language, "Kaplan–Meier", kaplan_meier, ep)
    if km is not None:
        # a curve of fewer than min_cell people shows each one's exit time: withhold it
        tiny = {g for g, k in counts.items() if 0 < k < min_cell}
        if tiny:
            section.paragraph(T("km_withheld", language, m=min_cell))
        else:
            _add_figure(section, language, "km", T("cap_km", language, m=min_cell, m1=min_cell - 1),
                        "plot_kaplan_meier", km, language=language, min_cell=min_cell, figsize=(6.4, 4.6))
        surv = km.survival[km.survival["time"].isin(config.KM_TIMEPOINTS)].copy()
        rows = []
        for _, r in surv.iterrows():
            rows.append({
                T("col_cohort", language): contract_label(r["group"], language),
                T("col_years", language): fmt_int(r["time"], language),
                T("col_survival_ci", language): ":" if r["group"] in tiny else fmt_ci(
                    _safe_float(r["survival"]), _safe_float(r["ci_lower"]), _safe_float(r["ci_upper"]), language),
                T("col_at_risk", language): format_at_risk(r["at_risk"], min_cell),
            })
            if r["group"] not in tiny:
                facts.setdefault("survival", {}).setdefault(r["group"], {})[str(int(r["time"]))] = _safe_float(r["survival"])
                facts.setdefault("survival_ci", {}).setdefault(r["group"], {})[str(int(r["time"]))] = [
                    _safe_float(r["ci_lower"]), _safe_float(r["ci_upper"])]
        if rows:
            section.table("km_survival", pd.DataFrame(rows), T("cap_km_table", language),
                          notes=[T("km_ci_note", language)],
                          suppression=[SuppressionEntry("km_survival", f"{contract_label(r['group'], language)}, "
                                                        f"{fmt_years(r['time'], language, 0)}", "at_risk", "primary")
                                       for _, r in surv.iterrows() if 0 < r["at_risk"] < min_cell])
        med_rows = []
        for _, r in km.median.iterrows():
            if r["group"] in tiny:
                med_rows.append({T("col_cohort", language): contract_label(r["group"], language),
                                 T("col_median", language): ":", T("col_ci", language): ":"})
                continue
            median = _safe_float(r["median"])
            med_rows.append({
                T("col_cohort", language): contract_label(r["group"], language),
                T("col_median", language): fmt_years(median, language) if median is not None else T("not_reached", language),
                T("col_ci", language): f"{_num(_safe_float(r['ci_lower']), 2, language)}–"
                                      f"{_num(_safe_float(r['ci_upper']), 2, language) if _safe_float(r['ci_upper']) is not None else T('not_reached', language)}",
            })
            facts.setdefault("median", {})[r["group"]] = median
        section.table("km_median", pd.DataFrame(med_rows), T("cap_median", language))
        _notes(section, km, language, min_cell)
    lr = _attempt(section, language, "log-rank", logrank, ep)
    if lr is not None:
        section.paragraph(T("logrank_text", language, chi2=_num(lr.statistic, 2, language), df=lr.df,
                            p=fmt_p(lr.p_value, language)))
        facts["logrank_p"] = _safe_float(lr.p_value)
    rm = _attempt(section, language, "RMST", rmst, ep, tau=config.DEFAULT_RMST_HORIZON)
    if rm is not None:
        rows = []
        for _, r in rm.rmst.iterrows():
            label = T("difference", language) if r["group"] == "difference" else contract_label(r["group"], language)
            rows.append({T("col_group", language): label,
                         T("col_rmst", language): fmt_ci(_safe_float(r["rmst"]), _safe_float(r.get("ci_lower")),
                                                         _safe_float(r.get("ci_upper")), language),
                         T("col_se", language): _num(_safe_float(r["se"]), 3, language)})
            facts.setdefault("rmst", {})[r["group"]] = _safe_float(r["rmst"])
        section.table("rmst", pd.DataFrame(rows), T("cap_rmst", language, tau=_num(config.DEFAULT_RMST_HORIZON, 0, language)))
    section.facts = facts
    return section


# --------------------------------------------------------------------------- turnover
def _rates_table(rates: pd.DataFrame, key: str, language: str, min_cell: int):
    """Rates per 100 person-years with exits suppressed and rates withheld with them."""
    frame = rates.copy()
    label_col = key
    frame["_rate"] = [fmt_ci(_safe_float(r), _safe_float(lo), _safe_float(hi), language, 1)
                      for r, lo, hi in zip(frame["rate_per_100"], frame["ci_lower"], frame["ci_upper"])]
    frame["_py"] = [_num(v, 1, language) for v in frame["person_years"]]
    frame["_label"] = [contract_label(str(v), language) for v in frame[label_col]]
    frame = frame[["_label", "exits", "_py", "_rate"]].reset_index(drop=True)
    sup = suppress_counts(frame, ["exits"], min_cell=min_cell, totals="columns", linked={"exits": ["_rate"]},
                          name=f"rates_{key}", label_column="_label")
    shown = sup.table.rename(columns={"_label": T("col_group", language), "exits": T("col_exits", language),
                                      "_py": T("col_person_years", language), "_rate": T("col_rate", language)})
    return shown, sup.log


def turnover_section(prepared, *, language: str = "nb", min_cell: int = config.DEFAULT_MIN_CELL) -> Section:
    """Turnover per 100 person-years by current contract type, rate ratio, and vacancy."""
    from .. import turnover as tv

    section = Section("turnover", T("turnover", language))
    section.paragraph(T("turnover_intro", language))
    facts: dict = {}
    rates = _attempt(section, language, T("turnover", language), tv.turnover_rates, prepared.intervals)
    # the crude rate ratio is (exits_n / PY_n) / (exits_f / PY_f): with the person-years shown it
    # gives back suppressed exit counts, so it is withheld with them (as the rates are)
    exits_suppressed = rates is not None and any(0 < e < min_cell for e in rates.rates["exits"])
    if rates is not None:
        table = rates.rates
        key = "contract_type" if "contract_type" in table else table.columns[0]
        shown, log = _rates_table(table, key, language, min_cell)
        section.table("rates", shown, T("cap_rates", language),
                      notes=[T("rates_note", language), T("suppression_footnote", language, m=min_cell, m1=min_cell - 1)],
                      suppression=log)
        # only the rates the table shows (a rate from a suppressed count gives the count back)
        facts["rates"] = {str(r[key]): _safe_float(r["rate_per_100"]) for _, r in table.iterrows()
                          if not 0 < r["exits"] < min_cell}
        if any(0 < e < min_cell for e in table["exits"]):
            section.paragraph(T("rates_fig_withheld", language))
        else:
            _add_figure(section, language, "rates", T("cap_rates_fig", language), "plot_turnover_rates", rates,
                        language=language, figsize=(6.0, 3.6))
        _notes(section, rates, language, min_cell)
    irr = None  # without the exit counts (rates failed) the ratio cannot be checked for disclosure
    if exits_suppressed:
        section.paragraph(T("irr_withheld", language))
    elif rates is not None:
        irr = _attempt(section, language, T("irr", language), tv.rate_ratio, prepared.intervals)
    if irr is not None:
        table = getattr(irr, "estimates", None)
        table = table if table is not None else getattr(irr, "ratio")
        r = table.iloc[0]
        estimate = r["irr"] if "irr" in table else r["estimate"]
        section.paragraph(T("irr_text", language, est=fmt_ci(_safe_float(estimate), _safe_float(r["ci_lower"]),
                                                             _safe_float(r["ci_upper"]), language),
                            p=fmt_p(_safe_float(r["p_value"]), language)))
        facts["irr"] = {"estimate": _safe_float(estimate), "ci_lower": _safe_float(r["ci_lower"]),
                        "ci_upper": _safe_float(r["ci_upper"])}
        _notes(section, irr, language, min_cell)
    vac = _attempt(section, language, T("vacancy", language), tv.vacancy, prepared.episodes, as_of=prepared.as_of)
    if vac is not None and getattr(vac, "vacancy", None) is not None and len(vac.vacancy):
        # per year over all units: a single unit's vacancy would date one person's leaving
        by_year = vac.vacancy.groupby("year", sort=True)[["position_years", "vacant_position_years"]].sum()
        by_year["vacancy_share"] = by_year["vacant_position_years"] / by_year["position_years"]
        by_year = by_year.reset_index()
        shown = pd.DataFrame({
            T("col_year", language): by_year["year"].astype(int).astype(str),
            T("col_position_years", language): [_num(v, 1, language) for v in by_year["position_years"]],
            T("col_vacant_years", language): [_num(v, 1, language) for v in by_year["vacant_position_years"]],
            T("col_vacancy_share", language): [fmt_percent(v, language, 1) for v in by_year["vacancy_share"]],
        })
        section.table("vacancy", shown, T("cap_vacancy", language))
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
def _cox_rows(result, language: str) -> dict[str, str]:
    coef = result.coefficients
    return {str(r["term"]): fmt_ci(_safe_float(r["hr"]), _safe_float(r["ci_lower"]), _safe_float(r["ci_upper"]), language)
            for _, r in coef.iterrows()}


def contract_duration_section(prepared, *, language: str = "nb", min_cell: int = config.DEFAULT_MIN_CELL) -> Section:
    """Cox models (crude and adjusted for size class), PH check, competing risks, parametric medians, Abelsen view."""
    from .. import duration as du

    section = Section("contract_duration", T("contract_duration", language))
    section.paragraph(T("duration_intro", language))
    facts: dict = {}
    iv, ep = prepared.intervals, prepared.episodes
    crude = _attempt(section, language, T("cox_crude", language), du.cox_model, iv)
    adjusted = _attempt(section, language, T("cox_adjusted", language), du.cox_model, iv, covariates=["size_class"])
    if crude is not None or adjusted is not None:
        crude_rows = _cox_rows(crude, language) if crude is not None else {}
        adj_rows = _cox_rows(adjusted, language) if adjusted is not None else {}
        terms = list(dict.fromkeys([*crude_rows, *adj_rows]))
        table = pd.DataFrame({
            T("col_term", language): [note_text.term_label(t, language) for t in terms],
            T("cox_crude", language): [crude_rows.get(t, "") for t in terms],
            T("cox_adjusted", language): [adj_rows.get(t, "") for t in terms],
        })
        section.table("cox", table, T("cap_cox", language), notes=[T("cox_note", language)])
        for name, res in (("crude", crude), ("adjusted", adjusted)):
            if res is not None:
                row = res.coefficients[res.coefficients["term"] == "næring"]
                if len(row):
                    r = row.iloc[0]
                    facts[f"hr_{name}"] = {"hr": _safe_float(r["hr"]), "ci_lower": _safe_float(r["ci_lower"]),
                                           "ci_upper": _safe_float(r["ci_upper"]), "p_value": _safe_float(r["p_value"]),
                                           # fewer than du.MIN_EVENTS_PER_COEFFICIENT exits per coefficient
                                           "unstable": any(getattr(n, "code", None) == "cox_unstable"
                                                           for n in res.notes)}
        _notes(section, adjusted if adjusted is not None else crude, language, min_cell)
        ph = _attempt(section, language, T("ph_test", language), du.proportional_hazards_test,
                      adjusted if adjusted is not None else crude)
        if ph is not None:
            tables = ph.tables()
            if tables:
                shown, log = _generic_table(next(iter(tables.values())), language, min_cell, name="ph_test")
                section.table("ph_test", shown, T("cap_ph", language), suppression=log)
            _notes(section, ph, language, min_cell)
    ci = _attempt(section, language, T("cif", language), du.cumulative_incidence, ep)
    if ci is not None:
        tables = ci.tables()
        if tables:
            table = next(iter(tables.values()))
            table = table[[c for c in table.columns if c != "std_err"]]
            shown, log = _generic_table(table, language, min_cell, name="cumulative_incidence",
                                        withhold_groups=_tiny_groups(ep, min_cell))
            section.table("cumulative_incidence", shown, T("cap_cif", language), suppression=log)
        _notes(section, ci, language, min_cell)
    pm = _attempt(section, language, T("parametric", language), du.parametric_duration, ep)
    if pm is not None:
        tables = pm.tables()
        if tables:
            shown, log = _generic_table(tables.get("medians", next(iter(tables.values()))), language, min_cell,
                                        name="parametric", linked={"events": ["median", "ci_lower", "ci_upper"]})
            section.table("parametric", shown, T("cap_parametric", language), suppression=log)
        section.paragraph(T("parametric_caveat", language))
        _notes(section, pm, language, min_cell)
    ab = _attempt(section, language, T("abelsen", language), du.median_by_size_class, ep)
    if ab is not None:
        tables = ab.tables()
        if tables:
            table = next(iter(tables.values()))
            inner = table[table.iloc[:, 0] != "all"]
            shown, log = _generic_table(inner, language, min_cell, name="abelsen", totals="columns",
                                        linked={"n": ["median", "ci_lower", "ci_upper"]})
            section.table("abelsen", shown, T("cap_abelsen", language), suppression=log)
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
    from ..costs import PRICE_YEAR
    from ..duration import MIN_EVENTS_PER_COEFFICIENT

    section = Section("methods", T("methods", language))
    for key in ("m_data", "m_units", "m_cohort", "m_censoring", "m_km", "m_turnover", "m_cox", "m_competing",
                "m_parametric", "m_robustness", "m_costs", "m_pathway", "m_power", "m_disclosure"):
        section.paragraph(T(key, language, m=min_cell, m1=min_cell - 1, as_of=f"{prepared.as_of:%Y-%m-%d}",
                            tau=_num(config.DEFAULT_RMST_HORIZON, 0, language), year=PRICE_YEAR,
                            positions=ALIS_NORD_POSITIONS, epv=MIN_EVENTS_PER_COEFFICIENT))
    return section


def limitations_section(prepared, *, language: str = "nb", min_cell: int = config.DEFAULT_MIN_CELL) -> Section:
    """Caveats, and the minimal detectable hazard ratio of the data's design (:mod:`alis_research.power`)."""
    from .sections_costs import detectable_effect
    from ..power import limitations_text

    section = Section("limitations", T("limitations", language))
    ep = prepared.episodes
    events = int(ep["exit"].sum())
    items = [T("lim_small", language, n=format_count(len(ep), min_cell), events=format_count(events, min_cell)),
             T("lim_confounding", language), T("lim_followup", language), T("lim_synthetic", language)
             if prepared.synthetic else T("lim_register", language)]
    facts: dict = {"events": events}
    effects = detectable_effect(prepared)
    if effects is not None:
        up, down = effects
        items.append(limitations_text(up, language=language, decrease=down, min_cell=min_cell)
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
    from .. import io as alis_io
    from ..pathway import SUPERVISION

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
    entries = suppression or []
    if entries:
        # table captions and row/column labels as the report shows them (report/notes.py)
        frame = pd.DataFrame(note_text.suppression_rows(entries, language),
                             columns=["table", "row", "column", "reason"])
        frame = frame.rename(columns=lambda c: T(f"col_{c}", language))
        section.paragraph(T("suppression_intro", language, m=min_cell, n=len(entries)))
        section.table("suppression", frame, T("cap_suppression", language))
    else:
        section.paragraph(T("no_suppression", language, m=min_cell))
    return section


def summary_section(prepared, facts: dict, *, language: str = "nb", min_cell: int = config.DEFAULT_MIN_CELL) -> Section:
    """Plain-language summary written from the numbers in the other sections' facts.

    It opens with :func:`conclusion` (the answer to the evaluation's question).
    Careful wording: an interval that includes 1 is said to show no clear
    difference; few episodes are called out as such; shares carry their CIs.
    """
    from ..costs import PRICE_YEAR
    from ..duration import MIN_EVENTS_PER_COEFFICIENT

    section = Section("summary", T("summary", language))
    section.heading(T("c_heading", language))
    section.paragraph(" ".join(conclusion(facts, language=language)))
    ep = prepared.episodes
    n = {c: int((ep["cohort"] == c).sum()) for c in config.CONTRACT_TYPES}
    points = [T("s_data", language, f=format_count(n["fastlønn"], min_cell), n=format_count(n["næring"], min_cell),
                as_of=f"{prepared.as_of:%Y-%m-%d}")]
    if prepared.synthetic:
        points.append(T("s_synthetic", language))
    if min(n.values()) < 2 * min_cell:
        points.append(T("s_few", language))
    ret = facts.get("retention", {})
    surv = ret.get("survival", {})
    if all(c in surv and surv[c].get("3") is not None for c in config.CONTRACT_TYPES):
        bounds = ret.get("survival_ci", {})
        points.append(T("s_km3", language, **{
            key: percent_ci(surv[c]["3"], *(bounds.get(c, {}).get("3") or (None, None)), language=language)
            for key, c in (("f", "fastlønn"), ("n", "næring"))}))
    if ret.get("logrank_p") is not None:
        key = "s_lr_diff" if ret["logrank_p"] < 0.05 else "s_lr_nodiff"
        points.append(T(key, language, p=fmt_p(ret["logrank_p"], language)))
    dur = facts.get("contract_duration", {})
    for name in ("crude", "adjusted"):
        hr = dur.get(f"hr_{name}")
        if hr and hr.get("hr") is not None and hr.get("ci_lower") is not None:
            includes_one = hr["ci_lower"] <= 1 <= hr["ci_upper"]
            direction = "s_hr_none" if includes_one else ("s_hr_higher" if hr["hr"] > 1 else "s_hr_lower")
            point = (T(f"s_hr_{name}", language, hr=fmt_ci(hr["hr"], hr["ci_lower"], hr["ci_upper"], language))
                     + " " + T(direction, language))
            if hr.get("unstable"):
                point += " " + T("s_hr_unstable", language, epv=MIN_EVENTS_PER_COEFFICIENT)
            points.append(point)
    irr = facts.get("turnover", {}).get("irr")
    if irr and irr.get("estimate") is not None:
        points.append(T("s_irr", language, est=fmt_ci(irr["estimate"], irr["ci_lower"], irr["ci_upper"], language)))
    cost = facts.get("costs", {})
    per_year = cost.get("cost_per_retained_year", {})
    if all(c in per_year for c in config.CONTRACT_TYPES):
        points.append(T("s_costs", language, n=fmt_int(cost["patients"], language), tau=_num(cost["horizon"], 0, language),
                        f=kroner_ci(per_year["fastlønn"], language), n_=kroner_ci(per_year["næring"], language),
                        year=PRICE_YEAR))
    pathway = facts.get("pathway", {})
    approved = pathway.get("approved_within_5_years", {})
    if all(c in approved for c in config.CONTRACT_TYPES):
        bounds = pathway.get("approved_within_5_years_ci", {})
        points.append(T("s_pathway", language, **{
            key: percent_ci(approved[c], *(bounds.get(c) or (None, None)), language=language)
            for key, c in (("f", "fastlønn"), ("n", "næring"))}))
    share = facts.get("cohort_description", {}).get("small_municipality_share")  # only when publishable
    if share:
        points.append(T("s_confounding", language, f=fmt_percent(share["fastlønn"], language),
                        n=fmt_percent(share["næring"], language)))
    else:
        points.append(T("s_confounding_plain", language))
    register = facts.get("comparison_groups")
    if register:  # only with a GP-register extract: the DiD headline and ALIS vs other GPs
        from .sections_register import summary_points

        points += summary_points(register, language=language, min_cell=min_cell)
    section.items(points)
    return section


# --------------------------------------------------------------------------- the conclusion
def percent_ci(value, lower=None, upper=None, *, language: str = "nb") -> str:
    """``'62 % (45–76 %)'``; the share alone when it has no interval."""
    if _is_missing(value):
        return T("not_estimable", language)
    if _is_missing(lower) or _is_missing(upper):
        return fmt_percent(value, language)
    return f"{fmt_percent(value, language)} ({fmt_percent(lower, language)}–{fmt_percent(upper, language)})"


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


def conclusion(facts: dict, *, language: str = "nb") -> list[str]:
    """The answer to the evaluation's question, as sentences: does fastlønn keep the doctors longer
    than næring (the headline hazard ratio with its CI), how sure we can be (the simulated minimal
    detectable hazard ratio) and what a retained GP-year costs (with the price year)."""
    from ..costs import PRICE_YEAR
    from ..duration import MIN_EVENTS_PER_COEFFICIENT as epv

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
        sentences.append(T(key, language, model=T(f"c_model_{name}", language),
                           hr=fmt_ci(hr["hr"], hr["ci_lower"], hr["ci_upper"], language)))
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
        sentences.append(T("c_costs", language, tau=_num(cost["horizon"], 0, language), year=PRICE_YEAR,
                           p=fmt_int(cost["patients"], language), f=kroner_ci(per_year["fastlønn"], language),
                           n=kroner_ci(per_year["næring"], language)))
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
