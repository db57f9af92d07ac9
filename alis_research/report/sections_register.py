"""The optional report section on comparison groups, present when a GP-register extract is.

:func:`load_comparison` finds the register extract of a dataset (``<dataset>/register/`` or an
explicit folder, ``alis-research report --register DIR``), validates it and runs the three
comparisons of :mod:`alis_research.analysis.comparison` once; :func:`comparison_groups_section` lays them
out: the Abelsen et al. 2015 replication beside the published medians, ALIS versus other GPs of
the same municipalities and years, and the difference in differences between participating,
rejected-applicant and non-applicant municipalities with its event-study figure and the
parallel-trends caveat. Counts of contracts and episodes are ledger counts
(:mod:`alis_research.report.ledger`; the medians computed from them are withheld with them);
curves of fewer than ``min_cell`` ALIS are withheld. The texts are the ``register``
table of the message catalogue (``alis_research/messages/*.toml``).
"""
from __future__ import annotations

import sys
from typing import Callable

import pandas as pd

from .. import config
from ..errors import AlisError
from ..messages import has_message, message
from ..messages.note import Note
from . import notes as note_text
from .content import Section
# the shared section helpers (report/common.py), under this module's short names
from .common import attempt as _attempt, is_missing as _is_missing, publish_result_notes as _notes, safe_float as _safe_float
from .text import check_language, fmt_ci, fmt_number, fmt_p, fmt_years

SECTION_KEY = "comparison_groups"

def R(key: str, language: str = "nb", **fields) -> str:
    """The section's text ``key`` (``register.<key>`` in the message catalogue); an unknown key is an error."""
    return message(f"register.{key}", language, **fields)


def _term_text(term, language: str) -> str:
    """A Cox term of the register models: the section's own word for it, else the report's term label."""
    return R(str(term), language) if has_message(f"register.{term}") else note_text.term_label(term, language)


# --------------------------------------------------------------------------- loading
def load_comparison(prepared, *, dataset, register: str | None = "", area: str = "all"):
    """The register comparisons for a report, or ``None`` when the dataset has no register extract.

    ``register`` is an explicit extract folder (``--register``); empty means ``<dataset>/register/``.
    An invalid extract raises :class:`~alis_research.errors.DataValidationError` (the report is
    not built on it).
    """
    from ..analysis.comparison import find_register, load_register_data, run_comparisons

    path = find_register(config.dataset_dir(dataset), register or None)
    if path is None:
        return None
    return run_comparisons(prepared, load_register_data(path), area=area)


# --------------------------------------------------------------------------- the section
def _figure(section: Section, language: str, figure_id: str, caption: str, plot: Callable, result, /, *,
            figsize, depends=(), **kwargs) -> None:
    """Draw ``plot(result, ax=..., **kwargs)`` into the section; leave it out (with a paragraph) if it fails."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=figsize)
    if _attempt(section, language, caption, plot, result, ax=ax, **kwargs) is not None:
        section.figure(figure_id, fig, caption, depends=depends)
    else:
        plt.close(fig)


def _not_estimable(section: Section, language: str, what: str, reason, min_cell: int) -> None:
    """"{what}: not estimable ({reason})" when the reason is a Note (said in the report's language);
    a plain message (a user error) is not published: it is in the log."""
    if isinstance(reason, Note):
        text = note_text.uncapitalise(note_text.publish_note(reason, language, min_cell))
        section.paragraph(R("not_estimable_reason", language, what=what, reason=text))
    else:
        if reason:
            print(f"[{SECTION_KEY}] {what}: not estimable ({reason})", file=sys.stderr)
        section.paragraph(R("not_estimable", language, what=what))


def _ci_text(estimate, lower, upper, language, decimals=2) -> str:
    return fmt_ci(_safe_float(estimate), _safe_float(lower), _safe_float(upper), language, decimals)


def _median_text(row, language) -> str:
    median = _safe_float(row["median"])
    if median is None:
        return fmt_years(None, language)
    upper = _safe_float(row["ci_upper"])
    return (f"{fmt_number(median, 2, language)} ({fmt_number(_safe_float(row['ci_lower']), 2, language)}–"
            f"{fmt_number(upper, 2, language) if upper is not None else fmt_years(None, language)})")


def _hr_table(coefficients: pd.DataFrame, language: str) -> pd.DataFrame:
    return pd.DataFrame({
        R("col_term", language): [note_text.capitalise(_term_text(t, language)) for t in coefficients["term"]],
        R("col_hr", language): [_ci_text(h, lo, hi, language) for h, lo, hi in
                                zip(coefficients["hr"], coefficients["ci_lower"], coefficients["ci_upper"])],
        R("col_p", language): [fmt_p(_safe_float(p), language) for p in coefficients["p_value"]],
    })


def _abelsen_block(section: Section, analyses, language: str, min_cell: int) -> None:
    result = analyses.abelsen
    section.heading(R("abelsen_heading", language))
    if result is None:
        _not_estimable(section, language, R("abelsen_heading", language), analyses.failures.get("abelsen", ""),
                       min_cell)
        return
    start, end = result.params["window"]
    section.paragraph(R("abelsen_intro", language, start=start, end=end))
    table = result.medians
    frame = pd.DataFrame({
        "label": [R("all", language) if s == "all" else note_text.size_class_label(s, language)
                  for s in table["size_class"]],
        "contracts": table["contracts"].astype(int).to_numpy(),
        "median": [_median_text(r, language) for _, r in table.iterrows()],
        "published": [fmt_years(_safe_float(p), language) if not _is_missing(p) else "–"
                      for p in table["published_median"]],
    })
    # register contracts per size class: ledger counts in the register's own universe (the 'all' row is
    # their union, so the margins are protected with the rest of the report)
    members = {size: [f"register:{size}:{i}" for i in range(int(n))]
               for size, n in zip(table["size_class"], table["contracts"]) if size != "all"}
    counts, medians = [], []
    for (_, r), label in zip(table.iterrows(), frame["label"]):
        size = r["size_class"]
        ids = [m for ms in members.values() for m in ms] if size == "all" else members[size]
        token = section.count(ids, universe="register", label=f"{R('col_contracts', language)}, {label}")
        counts.append(token)
        medians.append(section.derived(_median_text(r, language), depends=[token], label=f"{R('col_median_ci', language)}, {label}"))
    shown = frame.assign(contracts=counts, median=medians)
    figure_depends = [c for c in counts]
    shown = shown.rename(columns={"label": R("col_size_class", language), "contracts": R("col_contracts", language),
                                  "median": R("col_median_ci", language), "published": R("col_published", language)})
    section.table("abelsen_register", shown, R("cap_abelsen", language))
    if not any(0 < c < min_cell for c in table["contracts"]):
        from ..analysis.comparison import plot_abelsen

        _figure(section, language, "abelsen_register", R("cap_abelsen_fig", language), plot_abelsen, result,
                language=language, figsize=(6.4, 3.8), depends=figure_depends)
    if result.cox is not None and result.cox.estimable:
        section.table("abelsen_cox", _hr_table(result.cox.coefficients, language), R("cap_abelsen_cox", language),
                      notes=[R("abelsen_cox_note", language)])
    _notes(section, result, language, min_cell)


def _alis_block(section: Section, analyses, language: str, min_cell: int) -> None:
    from ..analysis.comparison import ALIS_GROUP, OTHER_GROUP

    result = analyses.alis_vs_gps
    section.heading(R("alis_heading", language))
    if result is None:
        _not_estimable(section, language, R("alis_heading", language), analyses.failures.get("alis_vs_gps", ""),
                       min_cell)
        return
    counts = result.counts
    # episodes and exits per group as ledger counts in the register comparison's universe
    count_cells, exit_cells = [], []
    for _, r in counts.iterrows():
        group = str(r["group"])
        ids = [f"{group}:{i}" for i in range(int(r["episodes"]))]
        count_cells.append(section.count(ids, universe="register_episodes",
                                         label=f"{R('col_episodes', language)}, {R(group, language)}"))
        exit_cells.append(section.count(ids[:int(r["events"])], universe="register_episodes",
                                        label=f"{R('col_exits', language)}, {R(group, language)}"))
    alis_found = [f"{ALIS_GROUP}:{i}" for i in range(int(result.params["alis_found_in_register"]))]
    section.paragraph(R("alis_intro", language, window=result.params["year_window"],
                        censored=result.params["censored_at"],
                        linked=section.count(alis_found, universe="register_episodes",
                                             label=f"{R('col_episodes', language)}, {R(ALIS_GROUP, language)}")))
    frame = pd.DataFrame({"label": [R(g, language) for g in counts["group"]], "episodes": count_cells,
                          "exits": exit_cells,
                          "municipalities": counts["municipalities"].astype(int).to_numpy()})
    shown = frame.rename(columns={"label": R("col_group", language), "episodes": R("col_episodes", language),
                                  "exits": R("col_exits", language),
                                  "municipalities": R("col_municipalities", language)})
    section.table("alis_vs_gps", shown, R("cap_alis_counts", language))
    depends = [*count_cells, *exit_cells]
    if result.km is None:
        _notes(section, result, language, min_cell)
        return
    n_alis = int(counts.loc[counts["group"] == ALIS_GROUP, "episodes"].sum())
    if n_alis < min_cell:
        section.paragraph(R("alis_km_withheld", language, m=min_cell))
    else:
        from ..figures import plot_kaplan_meier

        # the uncoarsened curve of the ALIS group shows its exits one by one: withheld unless every step is big
        section.paragraph(R("alis_km_withheld", language, m=min_cell))
    medians = result.km.median.set_index("group")
    rmst = result.rmst.rmst.set_index("group") if result.rmst is not None else None
    hr = result.hazard_ratios.set_index("term").loc["alis"] if result.cox is not None and result.cox.estimable else None
    small = n_alis < min_cell
    section.paragraph(section.derived(R(
        "alis_results", language,
        alis=":" if small else _median_text(medians.loc[ALIS_GROUP], language),
        other=_median_text(medians.loc[OTHER_GROUP], language),
        p=fmt_p(_safe_float(result.logrank.p_value), language) if result.logrank is not None else "–",
        tau=fmt_number(result.params["tau"], 0, language),
        rmst=":" if small or rmst is None else _ci_text(rmst.loc["difference", "rmst"], rmst.loc["difference", "ci_lower"],
                                                         rmst.loc["difference", "ci_upper"], language),
        hr=fmt_ci(None, None, None, language) if hr is None else _ci_text(hr["hr"], hr["ci_lower"], hr["ci_upper"],
                                                                         language)), depends=depends,
        label=R("alis_heading", language)))
    section.paragraph(R("alis_caveat", language))
    _notes(section, result, language, min_cell)


def _did_block(section: Section, analyses, language: str, min_cell: int) -> None:
    from ..analysis.comparison import DID_PRIMARY, MIN_DID_CLUSTERS

    result = analyses.did
    section.heading(R("did_heading", language))
    panel = analyses.panel
    if result is None or panel is None or panel.empty:
        _not_estimable(section, language, R("did_heading", language),
                       analyses.failures.get("did", Note("did_no_panel")), min_cell)
        return
    section.paragraph(R("did_intro", language, first=int(panel["year"].min()), last=int(panel["year"].max())))
    rows = []
    for _, r in result.estimates.iterrows():
        scale = 100.0 if r["outcome"] == "vacancy_share" else 1.0
        estimate = (_ci_text(r["estimate"] * scale, r["ci_lower"] * scale, r["ci_upper"] * scale, language)
                    if r["estimable"] else fmt_ci(None, None, None, language))
        rows.append({R("col_outcome", language): R(r["outcome"], language),
                     R("col_comparison", language): R(r["control"], language),
                     R("col_estimate", language): estimate,
                     R("col_p", language): fmt_p(_safe_float(r["p_value"]), language) if r["estimable"] else "–",
                     R("col_clusters", language): f"{int(r['clusters_treated'])}/{int(r['clusters_control'])}"})
    section.table("did", pd.DataFrame(rows), R("cap_did", language), notes=[R("did_note", language, m=MIN_DID_CLUSTERS)])
    means = result.means
    if means is not None and len(means):
        shown = []
        for (outcome, control, group), part in means.groupby(["outcome", "control", "group"], sort=False):
            if group != "participating" or control == "rejected":  # the participating rows once per outcome
                scale = 100.0 if outcome == "vacancy_share" else 1.0
                value = part.set_index("period")["mean"]
                shown.append({R("col_outcome", language): R(outcome, language), R("col_group", language): R(group, language),
                              R("col_before", language): fmt_number(_safe_float(value.get("before")) * scale
                                                                    if not _is_missing(value.get("before")) else None, 1, language),
                              R("col_after", language): fmt_number(_safe_float(value.get("after")) * scale
                                                                   if not _is_missing(value.get("after")) else None, 1, language)})
        section.table("did_means", pd.DataFrame(shown), R("cap_did_means", language))
    for outcome in ("vacancy_share", "turnover"):
        events = result.event_study
        if events is not None and ((events["outcome"] == outcome) & (events["control"] == DID_PRIMARY[1])).any():
            from ..analysis.comparison import plot_event_study

            _figure(section, language, f"event_study_{outcome}", R("cap_event", language, outcome=R(outcome, language)),
                    plot_event_study, result, outcome=outcome, language=language, figsize=(6.4, 3.8))
    section.paragraph(R("parallel_trends", language))
    _notes(section, result, language, min_cell)


def comparison_groups_section(analyses, *, language: str = "nb", min_cell: int = config.DEFAULT_MIN_CELL) -> Section:
    """The comparison-groups chapter from :func:`load_comparison`'s analyses."""
    check_language(language)
    if analyses is None:
        raise AlisError("no register comparisons to report: the dataset has no register extract")
    section = Section(SECTION_KEY, R("title", language))
    register = analyses.register
    snapshots = register.snapshots
    section.paragraph(R("intro", language, first=f"{snapshots['month'].min():%Y-%m}",
                        last=f"{snapshots['month'].max():%Y-%m}",
                        lists=fmt_number(snapshots["list_id"].nunique(), 0, language),
                        synthetic=R("synthetic", language) if register.synthetic else ""))
    for block, heading in ((_abelsen_block, "abelsen_heading"), (_alis_block, "alis_heading"),
                           (_did_block, "did_heading")):
        try:
            block(section, analyses, language, min_cell)
        except AlisError as exc:  # a part not estimable must not take the others down; the reason goes to the log
            print(f"[{SECTION_KEY}] {block.__name__}: {type(exc).__name__}: {exc}", file=sys.stderr)
            section.paragraph(R("not_estimable", language, what=R(heading, language)))
    entries = analyses.results_entries()
    # facts feed the summary: only what the tables show unsuppressed (the national median, the DiD, the
    # ALIS-vs-GPs hazard ratio); no count below min_cell
    national = [row["median"] for row in entries["abelsen"] if row["size_class"] == "all" and row["contracts"] >= min_cell]
    section.facts = {"did": entries["did"], "abelsen_national_median": national[0] if national else None,
                     "alis_vs_gps": _alis_facts(analyses, min_cell)}
    return section


def _alis_facts(analyses, min_cell: int) -> dict | None:
    """The adjusted ALIS-vs-other-GPs hazard ratio for the summary; ``None`` without that comparison.

    ``{"estimable": bool, "enough": bool, "hr", "ci_lower", "ci_upper"}``: ``enough`` is false
    when either group has fewer than ``min_cell`` episodes (no numbers are passed on then).
    """
    from ..analysis.comparison import ALIS_GROUP, OTHER_GROUP

    result = analyses.alis_vs_gps
    if result is None or result.counts is None:
        return None
    episodes = result.counts.set_index("group")["episodes"]
    enough = all(int(episodes.get(g, 0)) >= min_cell for g in (ALIS_GROUP, OTHER_GROUP))
    facts = {"estimable": False, "enough": enough, "hr": None, "ci_lower": None, "ci_upper": None}
    if enough and result.cox is not None and result.cox.estimable and result.hazard_ratios is not None:
        row = result.hazard_ratios.set_index("term").loc["alis"]
        hr, low, high = (_safe_float(row[k]) for k in ("hr", "ci_lower", "ci_upper"))
        if None not in (hr, low, high):
            facts.update(estimable=True, hr=hr, ci_lower=low, ci_upper=high)
    return facts


def summary_points(facts: dict, *, language: str = "nb", min_cell: int = config.DEFAULT_MIN_CELL) -> list[str]:
    """The summary's bullets on the register comparisons, from the section's ``facts``.

    The headline difference in differences with its interval (or "not estimable") and the words that it
    rests on parallel trends; the ALIS-vs-other-GPs hazard ratio, called descriptive. Nothing when the
    report has no register extract (``facts`` empty).
    """
    check_language(language)
    points: list[str] = []
    did = (facts or {}).get("did")
    if did:
        outcome, control = did.get("outcome", "vacancy_share"), did.get("control", "rejected")
        words = {"outcome": R(f"s_did_outcome_{outcome}", language), "control": R(control, language)}
        estimate, low, high = (_safe_float(did.get(k)) for k in ("estimate", "ci_lower", "ci_upper"))
        if None in (estimate, low, high):
            points.append(R("s_did_not_estimable", language, **words))
        else:
            scale = 100.0 if outcome == "vacancy_share" else 1.0  # a share in percentage points, as the table
            direction = "s_did_none" if low <= 0 <= high else ("s_did_better" if estimate < 0 else "s_did_worse")
            points.append(R("s_did", language, **words, year=did.get("start_year", 2019),
                            estimate=_ci_text(estimate * scale, low * scale, high * scale, language),
                            unit=R(f"s_did_unit_{outcome}", language), direction=R(direction, language)))
    alis = (facts or {}).get("alis_vs_gps")
    if alis:
        # "fewer than min_cell ALIS episodes" would narrow a withheld count: said as not estimable
        if not alis.get("enough") or not alis.get("estimable"):
            points.append(R("s_alis_not_estimable", language))
        else:
            hr, low, high = alis["hr"], alis["ci_lower"], alis["ci_upper"]
            direction = "s_alis_none" if low <= 1 <= high else ("s_alis_higher" if hr > 1 else "s_alis_lower")
            points.append(R("s_alis", language, hr=_ci_text(hr, low, high, language), direction=R(direction, language)))
    return points


__all__ = ["SECTION_KEY", "comparison_groups_section", "load_comparison", "summary_points"]
