"""Report sections describing the data: data quality (what came in, what is excluded and what is
analysed) and the cohort description (Table 1, the two cohorts side by side).

Split from :mod:`.sections` (issue 11, size); the ledger helpers they share are in :mod:`.common`.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .. import config
from . import notes as note_text
from .common import episode_ids, number as _num, persons_cell
from .content import Section
from .text import T, contract_label, fmt_percent


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


def _persons_row(section: Section, ep: pd.DataFrame, everyone, language: str) -> dict:
    """The Table 1 row of persons: per cohort and in total, each protected through the episodes."""
    persons_row = {"label": T("t1_persons", language)}
    for cohort in config.CONTRACT_TYPES:
        persons_row[cohort] = persons_cell(section, ep, ep["cohort"] == cohort,
                                           f"{T('t1_persons', language)}, {contract_label(cohort, language)}")
    persons_row["total"] = persons_cell(section, ep, everyone, f"{T('t1_persons', language)}, {T('total', language)}")
    return persons_row


def _categorical_rows(section: Section, ep: pd.DataFrame, language: str) -> list[dict]:
    """Table 1 rows of counts per level of sex, size class, area, scheme and status (missing last)."""
    rows = []
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
    return rows


def _continuous_rows(section: Section, ep: pd.DataFrame, groups: dict, language: str, min_cell: int) -> list[dict]:
    """Table 1 rows of median (IQR) of age, list size and follow-up, withheld with the group's count."""
    rows = []
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
    return rows


def _person_years_row(section: Section, ep: pd.DataFrame, groups: dict, language: str) -> dict:
    """Person-years: one person's follow-up when the group is one person, so withheld with the group's count."""
    row = {"label": T("t1_person_years", language)}
    for key, mask in groups.items():
        members = episode_ids(ep, mask)
        row[key] = section.derived(_num(ep.loc[mask, "duration"].sum(), 1, language),
                                   depends=[section.group(members, label=f"{T('t1_person_years', language)}, {key}")],
                                   label=f"{T('t1_person_years', language)}, {key}")
    return row


def _small_municipality_shares(section: Section, ep: pd.DataFrame, n: dict, language: str) -> dict:
    """Each cohort's share of episodes in municipalities under 5 000 inhabitants (for the summary)."""
    small_classes = ["<2000", "2000-4999"]
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
    return shares


def cohort_section(prepared, *, language: str = "nb", min_cell: int = config.DEFAULT_MIN_CELL) -> Section:
    """Table 1: the two cohorts (contract type at start) described side by side."""
    section = Section("cohort_description", T("cohort_description", language))
    ep = prepared.episodes
    n = {c: int((ep["cohort"] == c).sum()) for c in config.CONTRACT_TYPES}
    section.paragraph(T("cohort_intro", language))
    everyone = pd.Series(True, index=ep.index)
    rows = [_count_cells(section, ep, everyone, T("t1_episodes", language), language)]
    rows.append(_persons_row(section, ep, everyone, language))
    rows += _categorical_rows(section, ep, language)
    groups = {**{c: ep["cohort"] == c for c in config.CONTRACT_TYPES}, "total": everyone}
    rows += _continuous_rows(section, ep, groups, language, min_cell)
    rows.append(_person_years_row(section, ep, groups, language))
    table = pd.DataFrame(rows, columns=["label", *config.CONTRACT_TYPES, "total"])
    table = table.rename(columns={"label": "", "total": T("total", language),
                                  **{c: contract_label(c, language) for c in config.CONTRACT_TYPES}})
    section.table("table1", table, T("cap_table1", language),
                  notes=[T("t1_note", language), T("suppression_footnote", language, m=min_cell, m1=min_cell - 1)])
    section.facts = {"n": n}
    shares = _small_municipality_shares(section, ep, n, language)
    if len(shares) == len(config.CONTRACT_TYPES):
        section.facts["small_municipality_share_text"] = shares
    return section
