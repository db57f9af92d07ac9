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

This module keeps the loading, the title-page facts and the summary with its conclusion;
the sections themselves are in ``sections_cohort`` (data quality, cohort description),
``sections_retention`` (retention, turnover), ``sections_duration`` (contract duration),
``sections_methods`` (methods, limitations, references) and ``sections_appendix`` (appendix),
beside ``sections_costs``, ``sections_register``, ``sections_robustness`` and
``sections_small_cohorts``; the helpers they share are in :mod:`.common`.
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from .. import __version__, config
from ..data import cohort
from .common import episode_ids, is_missing as _is_missing, number as _num
from .content import Section
from .text import T, contract_label, fmt_ci, fmt_int, fmt_p, fmt_percent

AREAS = cohort.AREAS


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


# --------------------------------------------------------------------------- the summary
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
