"""The report's sections on costs and on the specialisation pathway, and the minimal detectable effect.

The computations live in :mod:`alis_research.analysis.costs`, :mod:`alis_research.analysis.pathway`
and :mod:`alis_research.analysis.power`; this module only turns their results into
:class:`~alis_research.report.content.Section` objects, with every count registered
in the report's ledger (:mod:`alis_research.report.ledger`) and every number formatted for the
language, as :mod:`alis_research.report.sections` does for the other sections.

* :func:`costs_section` — "what a retained GP costs": the yearly municipal cost
  per contract model for one list size, the cost per retained GP-year by cohort
  (RMST of the Kaplan–Meier curve, bootstrap intervals with a fixed seed), the
  sensitivity table over list size and horizon, and the one-way sensitivity to the cost
  assumptions (:func:`alis_research.analysis.costs.assumption_sensitivity`); every amount in
  ``costs.PRICE_YEAR`` kroner, said in each caption.
* :func:`pathway_section` — time to specialist approval with exit before
  approval as a competing risk, the share approved within the normed 5 years, the
  hospital year, and supervision fidelity when the dataset has ``supervision.csv``.
* :func:`detectable_effect` — the minimal detectable hazard ratio of the design
  the data describe (cohort sizes, start dates, follow-up to the as-of date), by
  :func:`alis_research.analysis.power.minimal_detectable_hazard_ratio` with a fixed seed;
  quoted by the limitations section.
"""
from __future__ import annotations

import warnings
from collections import Counter
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import config
from ..disclosure import SuppressionEntry
from ..errors import AlisWarning, NotEstimableWarning
from .content import Section
# the shared section helpers (report/common.py), under this module's short names
from .common import attempt as _attempt, is_missing as _is_missing, publish_result_notes as _notes, number as _num, safe_float as _safe_float
from .common import episode_ids, percent_ci
from .text import T, contract_label, fmt_ci, fmt_number, fmt_percent

#: List size of the report's cost tables (seed 003's worked example).
COST_PATIENTS = 800
#: Bootstrap resamples and seed of the cost per retained GP-year (fixed: the report is reproducible).
COST_BOOTSTRAP = 1000
COST_SEED = 2019
#: Grid of the sensitivity table.
SENSITIVITY_LIST_SIZES = (600, 800, 1000, 1200)
SENSITIVITY_HORIZONS = (3, 5)
#: Simulated datasets per step of the minimal-detectable-effect search, and its seed.
MDE_SIMULATIONS = 1000
MDE_SEED = 2019
#: Years at which the cumulative incidence of specialist approval is shown.
PATHWAY_TIMES = (1, 2, 3, 4, 5)

_MODEL_KEYS = {"private list": "cost_model_private", "ALIS næring": "cost_model_naering",
               "ALIS fastlønn": "cost_model_fastlonn"}


def _quiet(func, /, *args, **kwargs):
    """Call an analysis with its caveat warnings silenced (they are in its notes)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AlisWarning)
        warnings.simplefilter("ignore", NotEstimableWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        return func(*args, **kwargs)


def _tiny(episodes: pd.DataFrame, min_cell: int) -> set:
    """Cohorts with 1 .. min_cell - 1 episodes: their estimates would describe individuals."""
    sizes = {c: int((episodes["cohort"] == c).sum()) for c in config.CONTRACT_TYPES}
    return {c for c, n in sizes.items() if 0 < n < min_cell}


def _nok(value, language: str) -> str:
    return fmt_number(value, 0, language)


def _thousands(value, language: str) -> str:
    # whole kroner first, so that floating-point noise cannot tip a half-thousand either way
    return "–" if _is_missing(value) else fmt_number(round(float(value)) / 1000, 0, language)


def _thousands_ci(value, lower, upper, language: str) -> str:
    if _is_missing(value):
        return T("not_estimable", language)
    if _is_missing(lower) or _is_missing(upper) or abs(float(upper) - float(lower)) < 1:
        return _thousands(value, language)  # no interval, or none to speak of (costs that do not depend on the data)
    return f"{_thousands(value, language)} ({_thousands(lower, language)}–{_thousands(upper, language)})"


def _year_ranges(totals: pd.DataFrame, columns: list[str]) -> list[tuple]:
    """Rows of the yearly table: (model, first year, last year, totals row), equal consecutive years merged."""
    out = []
    for model in dict.fromkeys(totals["model"]):
        part = totals[totals["model"] == model].reset_index(drop=True)
        if part["training_year"].isna().all():
            out.append((model, None, None, part.iloc[0]))
            continue
        start = 0
        for i in range(1, len(part) + 1):
            if i == len(part) or not np.allclose(part.loc[i, columns].to_numpy(float),
                                                 part.loc[start, columns].to_numpy(float)):
                out.append((model, int(part.loc[start, "training_year"]), int(part.loc[i - 1, "training_year"]),
                            part.loc[start]))
                start = i
    return out


# --------------------------------------------------------------------------- costs
def costs_section(prepared, *, language: str = "nb", min_cell: int = config.DEFAULT_MIN_CELL,
                  patients: int = COST_PATIENTS, horizon: float = config.DEFAULT_RMST_HORIZON,
                  bootstrap: int = COST_BOOTSTRAP, seed: int = COST_SEED) -> Section:
    """What a retained GP costs: yearly costs per model, cost per retained GP-year, sensitivity.

    No count of people is shown. The cost per retained GP-year of a cohort with
    fewer than ``min_cell`` episodes is withheld (it comes from a Kaplan–Meier
    curve of a handful of people), like the retention section's curves.
    """
    import matplotlib.pyplot as plt

    from ..analysis import costs

    section = Section("costs", T("costs", language))
    yearly = costs.yearly_costs(patients)
    a = yearly.assumptions
    year = costs.PRICE_YEAR  # stated in every caption and column of money
    section.paragraph(T("cost_intro", language, n=_nok(patients, language), year=year))

    # -- yearly cost per model and training year
    money = ["grants", "extra_grants_vs_private", "other_costs", "programme_grant", "net_cost"]
    rows = []
    for model, first, last, r in _year_ranges(yearly.totals, money):
        years = "–" if first is None else (str(first) if first == last else f"{first}–{last}")
        rows.append({T("col_model", language): T(_MODEL_KEYS[model], language),
                     T("cost_col_year", language): years,
                     **{T(f"cost_col_{c}", language): _nok(r[c], language) for c in money}})
    section.table("cost_yearly", pd.DataFrame(rows), T("cap_cost_yearly", language, n=_nok(patients, language), year=year),
                  notes=[T("cost_yearly_note", language),
                         T("cost_assumptions", language, salary=_nok(a.salary, language), office=_nok(a.office, language),
                           fee=_nok(a.fee_income_per_patient, language), hours=_num(a.supervision_hours, 1, language),
                           rate=_nok(a.supervision_cost_per_hour, language), course=_nok(a.course_cover, language),
                           grant=_nok(a.programme_grant, language), years=a.programme_grant_years)])
    naering = yearly.totals[yearly.totals["model"] == costs.ALIS_NAERING].set_index("training_year")
    section.paragraph(T("cost_extra_text", language, n=_nok(patients, language),
                        extra=_nok(naering.loc[2, "extra_grants_vs_private"], language),
                        extra1=_nok(naering.loc[1, "extra_grants_vs_private"], language)))
    facts: dict = {"patients": int(patients), "horizon": float(horizon),
                   "yearly_net_cost": {m: yearly.cost(costs.COHORT_MODEL[m], 2) for m in config.CONTRACT_TYPES},
                   "extra_grants_naering_year2": float(naering.loc[2, "extra_grants_vs_private"])}

    # -- cost per retained GP-year
    ep = prepared.episodes
    tiny = _tiny(ep, min_cell)
    tau = _num(horizon, 0, language)
    # every number below comes from a cohort's Kaplan–Meier curve: withheld with the cohort's counts
    behind = {c: [section.group(ep.loc[(ep["cohort"] == c) & (ep["exit"] == e), "episode_id"].astype(str),
                                label=contract_label(c, language)) for e in (0, 1)] for c in config.CONTRACT_TYPES}
    section.heading(T("cost_retained_heading", language))
    section.paragraph(T("cost_retained_intro", language, tau=tau, b=_nok(bootstrap, language), seed=seed))
    per_year = _attempt(section, language, T("cost_retained_heading", language), costs.cost_per_retained_year,
                        prepared, patients=patients, horizon=horizon, bootstrap=bootstrap, seed=seed)
    parametric = _attempt(section, language, T("cost_col_parametric", language, year=year), costs.cost_per_retained_year,
                          prepared, patients=patients, horizon=horizon, method="parametric",
                          bootstrap=0) if per_year is not None else None
    if per_year is not None:
        par = (parametric.estimates.set_index("cohort")["cost_per_retained_year"] if parametric is not None
               else pd.Series(dtype=float))
        rows = []
        for _, r in per_year.estimates.iterrows():
            cohort = r["cohort"]
            withheld = cohort in tiny

            def guard(text, cohort=cohort):
                return section.derived(text, depends=behind.get(cohort, []),
                                       label=f"{T('cost_retained_heading', language)}, {contract_label(cohort, language)}")

            rows.append({
                T("col_cohort", language): contract_label(cohort, language),
                T("cost_col_retained", language, tau=tau): ":" if withheld else guard(fmt_ci(
                    _safe_float(r["retained_years"]), _safe_float(r["retained_years_ci_lower"]),
                    _safe_float(r["retained_years_ci_upper"]), language)),
                T("cost_col_expected", language, year=year): ":" if withheld else guard(_thousands_ci(
                    r["expected_cost"], r["expected_cost_ci_lower"], r["expected_cost_ci_upper"], language)),
                T("cost_col_per_year", language, year=year): ":" if withheld else guard(_thousands_ci(
                    r["cost_per_retained_year"], r["ci_lower"], r["ci_upper"], language)),
                T("cost_col_parametric", language, year=year): ":" if withheld else guard(
                    _thousands(par.get(cohort), language) if not _is_missing(par.get(cohort)) else "–"),
            })
            if not withheld and not _is_missing(r["cost_per_retained_year"]):
                facts.setdefault("cost_per_retained_year", {})[cohort] = {
                    "estimate": _safe_float(r["cost_per_retained_year"]), "ci_lower": _safe_float(r["ci_lower"]),
                    "ci_upper": _safe_float(r["ci_upper"]), "retained_years": _safe_float(r["retained_years"])}
        section.table("cost_retained", pd.DataFrame(rows),
                      T("cap_cost_retained", language, tau=tau, n=_nok(patients, language), year=year),
                      notes=[T("cost_retained_note", language, m=min_cell)])
        section.paragraph(T("cost_interpretation", language))
        # the retention section's RMST is the same quantity and horizon with a Greenwood interval
        section.paragraph(T("cost_rmst_note", language, tau=tau))
        estimable = per_year.estimates["cost_per_retained_year"].notna().all()
        if tiny or not estimable:
            section.paragraph(T("cost_fig_withheld", language, m=min_cell))
        else:
            fig, ax = plt.subplots(figsize=(5.6, 3.8))
            caption = T("cap_cost_fig", language, n=_nok(patients, language), year=year)
            if _attempt(section, language, caption,
                        costs.plot_cost_per_retained_year, per_year, ax=ax, language=language) is not None:
                section.figure("cost_retained", fig, caption, depends=[d for sets in behind.values() for d in sets])
            else:
                plt.close(fig)
        _notes(section, per_year, language, min_cell)

    # -- sensitivity over list size and horizon
    sens = _attempt(section, language, T("cap_cost_sensitivity", language, year=year), costs.cost_sensitivity,
                    prepared,
                    list_sizes=SENSITIVITY_LIST_SIZES, horizons=SENSITIVITY_HORIZONS)
    if sens is not None:
        table = sens.estimates
        columns = [(c, h) for c in config.CONTRACT_TYPES for h in SENSITIVITY_HORIZONS]
        rows = []
        for size in SENSITIVITY_LIST_SIZES:
            row = {T("cost_col_list_size", language): _nok(size, language)}
            for cohort, h in columns:
                hit = table[(table["list_size"] == size) & (table["cohort"] == cohort) & np.isclose(table["horizon"], h)]
                value = hit["cost_per_retained_year"].iloc[0] if len(hit) else np.nan
                row[T("cost_col_cohort_horizon", language, cohort=contract_label(cohort, language),
                      h=_num(h, 0, language))] = ":" if cohort in tiny else section.derived(
                          _thousands(value, language), depends=behind[cohort], label=T("cap_cost_sensitivity", language, year=year))
            rows.append(row)
        section.table("cost_sensitivity", pd.DataFrame(rows), T("cap_cost_sensitivity", language, year=year),
                      notes=[T("cost_sensitivity_note", language)])
    _assumption_part(section, prepared, language, tiny, patients=patients, horizon=horizon, facts=facts)
    section.facts = facts
    return section


#: One-way change of each cost assumption in the assumption table (costs.assumption_sensitivity).
ASSUMPTION_CHANGE = 0.25


def _assumption_part(section: Section, prepared, language: str, tiny: set, *, patients: int, horizon: float,
                     facts: dict) -> None:
    """The table of costs.assumption_sensitivity and the sentence on which assumptions turn the comparison."""
    from ..analysis import costs

    year, tau = costs.PRICE_YEAR, _num(horizon, 0, language)
    table = _attempt(section, language, T("cap_cost_assumptions", language, tau=tau, year=year,
                                          n=_nok(patients, language)),
                     costs.assumption_sensitivity, prepared, patients=patients, horizon=horizon,
                     relative_change=ASSUMPTION_CHANGE)
    if table is None:
        return
    pct = fmt_percent(ASSUMPTION_CHANGE, language)
    withheld = bool(tiny)  # a cohort of a handful of people: its cost per year is withheld everywhere
    rows = []
    for _, r in table.iterrows():
        rows.append({
            T("cost_col_assumption", language): T(f"cost_assumption_{r['assumption']}", language),
            T("cost_col_setting", language): T(f"cost_setting_{r['setting']}", language, pct=pct),
            T("cost_col_value", language): "–" if _is_missing(r["value"]) else _nok(r["value"], language),
            **{contract_label(c, language): ":" if c in tiny else _thousands(r[c], language)
               for c in config.CONTRACT_TYPES},
            T("cost_col_difference", language): ":" if withheld else _thousands(r["difference"], language),
        })
    section.table("cost_assumptions", pd.DataFrame(rows),
                  T("cap_cost_assumptions", language, tau=tau, year=year, n=_nok(patients, language)),
                  notes=[T("cost_assumptions_note", language)],
                  suppression=[SuppressionEntry("cost_assumptions", c, "*", "derived") for c in sorted(tiny)])
    if withheld or table["difference"].isna().any():
        return
    base = float(table.loc[table["setting"] == "base", "difference"].iloc[0])
    turning = [str(a) for a in dict.fromkeys(table["assumption"])
               if a != "base" and (np.sign(table.loc[table["assumption"] == a, "difference"]) != np.sign(base)).any()]
    facts["assumptions_turning_comparison"] = turning
    if turning:
        section.paragraph(T("cost_assumptions_turn", language,
                            assumptions="; ".join(T(f"cost_assumption_{a}", language) for a in turning)))
    else:
        cheaper = "næring" if base < 0 else "fastlønn"
        section.paragraph(T("cost_assumptions_no_turn", language, cheaper=contract_label(cheaper, language)))


# --------------------------------------------------------------------------- pathway inputs
@dataclass
class PathwayInputs:
    """The events and the (optional) supervision table of a dataset, validated.

    ``supervision`` is empty when the dataset has no ``supervision.csv``/``.xlsx``;
    ``has_supervision`` says whether the file exists.
    """

    events: pd.DataFrame
    supervision: pd.DataFrame
    has_supervision: bool


def load_pathway_inputs(dataset, *, as_of) -> PathwayInputs:
    """Validate a raw dataset's events and supervision table for the pathway section.

    The supervision table is checked against every episode of the dataset (not
    only an area's), so a report of one area accepts the same file as the whole.

    Raises
    ------
    AlisError
        The dataset is invalid; :class:`~alis_research.errors.DataValidationError`
        lists every problem of ``supervision.csv`` (file, row, column, value).
    """
    from ..data.cohort import load_dataset

    return pathway_inputs(load_dataset(dataset, as_of=as_of))


def pathway_inputs(prepared) -> PathwayInputs:
    """The events and supervision table a prepared dataset carries (validated with it)."""
    return PathwayInputs(events=prepared.events, supervision=prepared.supervision,
                         has_supervision=prepared.has_supervision)


# --------------------------------------------------------------------------- pathway
def _proportion_ci(value, lower, upper, language: str) -> str:
    if _is_missing(value):
        return "–"
    if float(value) == 0 or _is_missing(lower) or _is_missing(upper):
        return _num(value, 2, language)
    return fmt_ci(float(value), float(lower), float(upper), language)


def _specialist_part(section: Section, prepared, inputs: PathwayInputs, language: str, min_cell: int,
                     tiny: set, facts: dict) -> None:
    import matplotlib.pyplot as plt

    from ..analysis import pathway as pw

    section.heading(T("pw_specialist_heading", language))
    section.paragraph(T("pw_intro", language, years=_num(pw.NORMED_TRAINING_YEARS, 0, language)))
    result = _attempt(section, language, T("pw_specialist_heading", language), pw.time_to_specialist, prepared,
                      inputs.events, times=PATHWAY_TIMES)
    if result is None:
        return
    est = result.estimates
    episodes = result.episodes
    causes = {"approved": 1, "exit_before_approval": 2}

    def sets_at(cohort, t):
        """Ledger sets behind the estimates of one cohort at time t (approved, left, censored by t; still in)."""
        part = episodes[episodes["cohort"] == cohort]
        ids = part["episode_id"].astype(str)
        name = f"{contract_label(cohort, language)}, {t}"
        by_t = part["time"] <= t
        return [section.group(ids[by_t & (part["cause"] == code)], label=f"{T('pathway', language)} {cause}, {name}")
                for cause, code in causes.items()] + [
            section.group(ids[by_t & (part["cause"] == 0)], label=f"{T('pathway', language)} censored, {name}"),
            section.group(ids[~by_t], label=f"{T('col_at_risk', language)}, {name}")]

    rows = []
    for cohort in config.CONTRACT_TYPES:
        for t in PATHWAY_TIMES:
            pick = est[(est["cohort"] == cohort) & (est["time"] == t)].set_index("cause")
            if pick.empty:
                continue
            approved, left = pick.loc["approved"], pick.loc["exit_before_approval"]
            depends = sets_at(cohort, t)
            part = episodes[episodes["cohort"] == cohort]
            rows.append({
                T("col_cohort", language): contract_label(cohort, language),
                T("col_years", language): str(t),
                # each incidence gives away its own events by t (depends[0]: approved, [1]: left), as a
                # survival estimate its exits; the audit ties them to the retention section's
                T("pw_col_approved", language): section.derived(_proportion_ci(
                    approved["cumulative_incidence"], approved["ci_lower"], approved["ci_upper"], language),
                    depends=depends, reveals=depends[:1],
                    label=f"{T('pw_col_approved', language)}, {contract_label(cohort, language)}, {t}"),
                T("pw_col_exit", language): section.derived(_proportion_ci(
                    left["cumulative_incidence"], left["ci_lower"], left["ci_upper"], language),
                    depends=depends, reveals=depends[1:2],
                    label=f"{T('pw_col_exit', language)}, {contract_label(cohort, language)}, {t}"),
                T("col_at_risk", language): section.count(part.loc[part["time"] >= t, "episode_id"].astype(str),
                                                          label=f"{T('pathway', language)} {T('col_at_risk', language)}, "
                                                                f"{contract_label(cohort, language)}, {t}"),
            })
    section.table("pathway_cif", pd.DataFrame(rows), T("cap_pw_cif", language),
                  notes=[T("pw_cif_note", language, m=min_cell)])
    # the share approved within the normed time = the cumulative incidence at 5 years
    five = est[(est["cause"] == "approved") & (est["time"] == pw.NORMED_TRAINING_YEARS)].set_index("cohort")
    shares = []
    for cohort in config.CONTRACT_TYPES:
        label = contract_label(cohort, language)
        if cohort not in five.index or _is_missing(five.loc[cohort, "cumulative_incidence"]):
            shares.append(f"{label} {T('pw_share_short', language)}")
        else:
            r = five.loc[cohort]
            depends = sets_at(cohort, pw.NORMED_TRAINING_YEARS)

            text = section.derived(percent_ci(r["cumulative_incidence"], r["ci_lower"], r["ci_upper"],
                                              language=language), depends=depends,
                                   label=f"{T('pw_col_approved', language)}, {label}")
            shares.append(f"{label} " + section.derived(
                f"{fmt_percent(r['cumulative_incidence'], language)}"
                + ("" if _is_missing(r["ci_lower"]) else
                   f" ({fmt_percent(r['ci_lower'], language)}–{fmt_percent(r['ci_upper'], language)})"),
                depends=depends, label=f"{T('pw_col_approved', language)}, {label}"))
            facts.setdefault("approved_within_5_years", {})[cohort] = _safe_float(r["cumulative_incidence"])
            facts.setdefault("approved_within_5_years_ci", {})[cohort] = [_safe_float(r["ci_lower"]),
                                                                           _safe_float(r["ci_upper"])]
            facts.setdefault("display", {}).setdefault("approved_within_5_years", {})[cohort] = text
    section.paragraph(T("pw_share5", language, years=_num(pw.NORMED_TRAINING_YEARS, 0, language),
                        shares="; ".join(shares)))
    # outcome counts: each a ledger count (the set of episodes with that outcome)
    rows = []
    for cohort in config.CONTRACT_TYPES:
        part = episodes[episodes["cohort"] == cohort]
        ids = part["episode_id"].astype(str)
        name = contract_label(cohort, language)
        rows.append({
            T("col_cohort", language): name,
            T("pw_col_episodes", language): section.count(ids, label=f"{T('pw_col_episodes', language)}, {name}"),
            T("pw_col_n_approved", language): section.count(ids[part["cause"] == 1],
                                                             label=f"{T('pw_col_n_approved', language)}, {name}"),
            T("pw_col_n_exit", language): section.count(ids[part["cause"] == 2], label=f"{T('pw_col_n_exit', language)}, {name}"),
            T("pw_col_n_censored", language): section.count(ids[part["cause"] == 0],
                                                             label=f"{T('pw_col_n_censored', language)}, {name}"),
        })
    section.table("pathway_outcomes", pd.DataFrame(rows), T("cap_pw_counts", language),
                  notes=[T("suppression_footnote", language, m=min_cell, m1=min_cell - 1)])
    already = len(prepared.episodes) - len(result.episodes)  # started after the person's approval: left out
    if already:
        already_ids = sorted(set(prepared.episodes["episode_id"].astype(str)) - set(episodes["episode_id"].astype(str)))
        section.paragraph(T("pw_already", language, n=section.count(already_ids, label=T("pw_already", language, n="N"))))
    # the curves show every approval and exit as a step: drawn only when no set behind them is small
    figure_depends = [d for cohort in config.CONTRACT_TYPES for t in PATHWAY_TIMES for d in sets_at(cohort, t)]
    # the numbers at risk under the figure (at 0 and at the table's years, nowhere else): the table's counts
    at_risk_times = (0, *PATHWAY_TIMES)
    figure_depends += [section.group(episodes.loc[(episodes["cohort"] == c) & (episodes["time"] >= t), "episode_id"]
                                     .astype(str), label=f"{T('col_at_risk', language)}, {contract_label(c, language)}, {t}")
                       for c in config.CONTRACT_TYPES for t in at_risk_times]
    step_sets = [section.group(episodes.loc[(episodes["cohort"] == c) & (episodes["cause"] == code) &
                                            (episodes["time"] == tt), "episode_id"].astype(str), label="one step")
                 for c in config.CONTRACT_TYPES for code in (1, 2)
                 for tt in episodes.loc[(episodes["cohort"] == c) & (episodes["cause"] == code), "time"].unique()]
    if tiny or step_sets:  # every step of an unsmoothed curve is one or a few people
        section.paragraph(T("pw_fig_withheld", language, m=min_cell))
    else:
        fig, ax = plt.subplots(figsize=(6.4, 4.6))  # room for the numbers at risk, as the retention figure
        caption = T("cap_pw_fig", language, m=min_cell)
        if _attempt(section, language, caption, pw.plot_time_to_specialist, result, ax=ax, language=language,
                    min_cell=min_cell, at_risk_times=at_risk_times) is not None:
            section.figure("pathway_cif", fig, caption, depends=figure_depends)
        else:
            plt.close(fig)


def _hospital_part(section: Section, prepared, inputs: PathwayInputs, language: str, min_cell: int,
                   facts: dict) -> None:
    from ..analysis import pathway as pw

    section.heading(T("pw_hospital_heading", language))
    window = pw.RETURN_WINDOW_MONTHS
    section.paragraph(T("pw_hospital_intro", language, w=window))
    result = _attempt(section, language, T("pw_hospital_heading", language), pw.hospital_year_summary,
                      prepared, inputs.events)
    if result is None:
        return
    summary = result.summary.reset_index(drop=True)
    if int(summary["with_hospital_year"].sum()) == 0:
        section.paragraph(T("pw_no_hospital", language))
        return
    outcomes = list(pw.RETURN_OUTCOMES)
    per_episode = result.episodes
    labels = {"with_hospital_year": T("pw_h_with", language), "start": T("pw_h_start", language),
              "length": T("pw_h_length", language),
              **{o: T(f"pw_h_{o}", language, w=window) for o in outcomes}, "returned_share": T("pw_h_share", language)}
    columns = {}
    for _, r in summary.iterrows():
        cohort = r["cohort"]
        name = contract_label(cohort, language)
        part = per_episode[per_episode["cohort"] == cohort]
        ids = part["episode_id"].astype(str)
        with_year = section.count(ids, label=f"{labels['with_hospital_year']}, {name}")
        outcome_sets = {o: section.count(ids[part["outcome"] == o], label=f"{labels[o]}, {name}") for o in outcomes}
        depends = [with_year, *outcome_sets.values()]
        column = {
            "with_hospital_year": with_year,
            "start": section.derived(
                f"{_num(r['start_years_median'], 1, language)} ({_num(r['start_years_q1'], 1, language)}–"
                f"{_num(r['start_years_q3'], 1, language)})" if len(part) >= min_cell else ":",
                depends=depends, label=f"{labels['start']}, {name}") if len(part) else "–",
            "length": section.derived(_num(r["length_years_median"], 1, language) if len(part) >= min_cell else ":",
                                      depends=depends, label=f"{labels['length']}, {name}") if len(part) else "–",
            **outcome_sets,
            "returned_share": "–" if _is_missing(r["returned_share"]) else section.derived(
                fmt_percent(r["returned_share"], language), depends=depends, label=f"{labels['returned_share']}, {name}"),
        }
        columns[name] = column
    shown = pd.DataFrame({"": [labels[k] for k in labels], **{c: [v[k] for k in labels] for c, v in columns.items()}})
    section.table("hospital_year", shown, T("cap_pw_hospital", language),
                  notes=[T("pw_h_note", language, m=min_cell),
                         T("suppression_footnote", language, m=min_cell, m1=min_cell - 1)])


#: The numbers a supervision row shows beside its count of episodes: analysis column -> text key.
_SUPERVISION_NUMBERS = {"months_in_post": "pw_col_months", "delivered_hours": "pw_col_delivered",
                        "promised_hours": "pw_col_promised", "hours_per_year": "pw_col_per_year",
                        "fidelity": "pw_col_fidelity"}


def _supervision_row(section: Section, label_column: str, label: str, part: pd.DataFrame, language: str) -> dict:
    """One row of a supervision table from the episodes it covers (rows of ``per_episode``).

    The count is the set of those episodes in the ledger; the hours and fidelity depend on that
    set (of one or a few episodes they are those people's hours), so they are withheld with it.
    """
    from ..analysis import pathway as pw

    numbers = pw.supervision_numbers(part)
    episodes = section.count(part["episode_id"].astype(str), label=f"{T('pw_col_sup_episodes', language)}, {label}")
    row = {label_column: label, T("pw_col_sup_episodes", language): episodes}
    for column, key in _SUPERVISION_NUMBERS.items():
        value = numbers[column]
        text = fmt_percent(value, language) if column == "fidelity" else _num(value, 1, language)
        row[T(key, language)] = "–" if _is_missing(value) else section.derived(
            text, depends=[episodes], label=f"{T(key, language)}, {label}")
    return row


def _supervision_part(section: Section, prepared, inputs: PathwayInputs, language: str, min_cell: int,
                      facts: dict) -> None:
    from ..analysis import pathway as pw

    section.heading(T("pw_supervision_heading", language))
    promised = dict(h=_num(pw.PROMISED_HOURS_PER_MONTH, 0, language), mo=_num(pw.PROMISED_MONTHS_PER_YEAR, 1, language),
                    y=_num(pw.PROMISED_HOURS_PER_MONTH * pw.PROMISED_MONTHS_PER_YEAR, 1, language))
    if not inputs.has_supervision:
        section.paragraph(T("pw_sup_none", language, **promised))
        return
    section.paragraph(T("pw_sup_intro", language, **promised))
    ep = prepared.episodes
    if inputs.supervision.empty or not ep["person_id"].isin(set(inputs.supervision["person_id"])).any():
        section.paragraph(T("pw_sup_nodata", language))
        return
    result = _attempt(section, language, T("pw_supervision_heading", language), pw.supervision_fidelity,
                      prepared, inputs.supervision, inputs.events)
    if result is None or result.per_episode is None or result.per_episode.empty:
        section.paragraph(T("pw_sup_nodata", language))
        return
    absent = ~ep["person_id"].isin(set(inputs.supervision["person_id"]))
    if absent.any():
        section.paragraph(T("pw_sup_absent", language, n=section.count(episode_ids(ep, absent),
                                                                       label=T("pw_sup_absent", language, n="N"))))
    # every count is the set of episodes it counts: the ledger sees that the cohorts, the units and
    # the episodes left out make up the same episodes, and protects all of it together
    per_episode = result.per_episode
    cohort_label = T("col_cohort", language)
    rows = [_supervision_row(section, cohort_label, contract_label(c, language), per_episode[per_episode["cohort"] == c],
                             language) for c in config.CONTRACT_TYPES if (per_episode["cohort"] == c).any()]
    section.table("supervision_cohort", pd.DataFrame(rows), T("cap_pw_sup_cohort", language),
                  notes=[T("pw_sup_note", language, m=min_cell),
                         T("suppression_footnote", language, m=min_cell, m1=min_cell - 1)])
    for cohort, part in per_episode.groupby("cohort"):
        if len(part) >= min_cell:  # a restricted fact, not a count; never of a group that describes individuals
            facts.setdefault("supervision_fidelity", {})[cohort] = _safe_float(pw.supervision_numbers(part)["fidelity"])
    # per unit: only units with at least min_cell episodes are named (readability); the rest are pooled
    # into one row whose count is the pooled set, and the total row makes the sum of the units a printed
    # margin, so that a cohort's hidden count cannot be worked out as units minus the other cohort
    unit_label = T("pw_col_unit", language)
    units = [None if _is_missing(u) else str(u) for u in per_episode["unit"]]
    sizes = Counter(units)
    big = sorted((u for u, n in sizes.items() if n >= min_cell), key=lambda u: (u is None, str(u)))
    if not big:
        section.paragraph(T("pw_sup_units_withheld", language, m=min_cell))
        return
    rows = [_supervision_row(section, unit_label, T("missing", language) if u is None else u,
                             per_episode[[x == u for x in units]], language) for u in big]
    pooled = [x not in big for x in units]
    if any(pooled):
        rows.append(_supervision_row(section, unit_label, T("pw_sup_other_units", language, m=min_cell),
                                     per_episode[pooled], language))
    rows.append(_supervision_row(section, unit_label, T("total", language), per_episode, language))
    section.table("supervision_unit", pd.DataFrame(rows), T("cap_pw_sup_unit", language),
                  notes=[T("suppression_footnote", language, m=min_cell, m1=min_cell - 1)])


def pathway_section(prepared, inputs: PathwayInputs | None = None, *, dataset=None, language: str = "nb",
                    min_cell: int = config.DEFAULT_MIN_CELL) -> Section:
    """The specialisation pathway: time to approval, the hospital year and supervision fidelity.

    Parameters
    ----------
    prepared : PreparedDataset
        The (area-selected) prepared dataset.
    inputs : PathwayInputs, optional
        Events and supervision table; by default those the prepared dataset carries.
    dataset : str or path, optional
        Not needed any more (the prepared dataset carries its events); kept for old notebooks.
    """
    if inputs is None:
        inputs = pathway_inputs(prepared)
    section = Section("pathway", T("pathway", language))
    tiny = _tiny(prepared.episodes, min_cell)
    facts: dict = {}
    _specialist_part(section, prepared, inputs, language, min_cell, tiny, facts)
    _hospital_part(section, prepared, inputs, language, min_cell, facts)
    _supervision_part(section, prepared, inputs, language, min_cell, facts)
    section.facts = facts
    return section


# --------------------------------------------------------------------------- precision of the design
def design_from_data(prepared) -> dict | None:
    """Keyword arguments of :func:`alis_research.analysis.power.simulate_power` for the design the data describe.

    The cohort sizes (contract type at start), every episode's start date
    (fastlønn first) and follow-up to the as-of date. ``None`` when a cohort is
    empty or an episode starts on the as-of date (nothing to simulate).
    """
    ep = prepared.episodes
    parts = [ep[ep["cohort"] == c] for c in config.CONTRACT_TYPES]
    if any(len(p) == 0 for p in parts):
        return None
    starts = [d for p in parts for d in p["start_date"].sort_values()]
    if max(starts) >= prepared.as_of:
        return None
    return {"n_fastlonn": len(parts[0]), "n_naering": len(parts[1]),
            "accrual": [f"{d:%Y-%m-%d}" for d in starts], "follow_up_end": f"{prepared.as_of:%Y-%m-%d}"}


def detectable_effect(prepared, *, simulations: int = MDE_SIMULATIONS, seed: int = MDE_SEED):
    """The minimal detectable hazard ratio (80 % power) of the data's design, both directions.

    Returns ``(increase, decrease)`` :class:`~alis_research.analysis.power.DetectableEffectResult`
    (næring leaving sooner / later), or ``None`` when the design cannot be
    simulated (see :func:`design_from_data`). Deterministic: a fixed seed.
    """
    from ..analysis import power

    design = design_from_data(prepared)
    if design is None:
        return None
    up = _quiet(power.minimal_detectable_hazard_ratio, simulations=simulations, seed=seed, **design)
    down = _quiet(power.minimal_detectable_hazard_ratio, simulations=simulations, seed=seed, direction="decrease",
                  **design)
    return up, down


__all__ = ["PathwayInputs", "costs_section", "design_from_data", "detectable_effect", "load_pathway_inputs",
           "pathway_section"]
