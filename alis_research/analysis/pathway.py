"""The specialisation pathway: time to specialist approval, the hospital year, and supervision fidelity.

* :func:`time_to_specialist` — time from the start of an episode to the
  ``specialist_approved`` event per cohort, with exit before approval as a
  competing risk (Aalen–Johansen cumulative incidence, ties entered in one step:
  deterministic, unlike lifelines' ``AalenJohansenFitter`` which jitters ties).
* :func:`hospital_year_summary` — when the hospital year starts and whether the
  ALIS came back to the municipality afterwards.
* :func:`supervision_fidelity` — the hours in the optional ``supervision.csv``/``.xlsx``
  (``person_id``, ``month`` YYYY-MM, ``hours``; validated with the rest of the raw data by
  :func:`alis_research.data.validate.validate_dataset`) against the promised 3 hours a month for
  10.5 months a year (31.5 hours a year), per unit and cohort (the analyst's view: the report
  publishes it through its ledger, :mod:`alis_research.report.sections_costs`).

The events and the supervision table come with the prepared dataset
(``PreparedDataset.events``, ``.supervision``).  An event belongs to an episode of the
same person when its date lies between the episode's start and stop dates.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import ClassVar, Sequence

import numpy as np
import pandas as pd

from .. import config
from ..errors import AlisError, NotEstimableWarning
from ..messages.note import Note
from ..result import AnalysisResult, input_table, require_columns
# the supervision table's contract lives with the rest of the raw-data contract
from ..data.event_checks import (  # noqa: F401  (re-exported: pathway.validate_supervision, pathway.SUPERVISION)
    MAX_HOURS_PER_MONTH,
    SUPERVISION,
    SUPERVISION_COLUMNS,
    load_supervision,
    validate_supervision,
)

SPECIALIST_EVENT = "specialist_approved"
HOSPITAL_START, HOSPITAL_END = "hospital_year_start", "hospital_year_end"
#: Normed length of the specialist training, years.
NORMED_TRAINING_YEARS = 5.0
#: An ALIS "came back" after the hospital year when still in post this many months after it ended.
RETURN_WINDOW_MONTHS = 3
#: Promised structured supervision (seed 000, criterion 9d).
PROMISED_HOURS_PER_MONTH = 3.0
PROMISED_MONTHS_PER_YEAR = 10.5
CAUSES = ("approved", "exit_before_approval")


def events_in_episodes(episodes: pd.DataFrame, events: pd.DataFrame, event: str) -> pd.DataFrame:
    """Events of one type joined to the episode they fall in (start_date <= date <= stop_date)."""
    require_columns(episodes, ("episode_id", "person_id", "start_date", "stop_date"), "episodes")
    require_columns(events, ("person_id", "date", "event"), "events")
    chosen = events.loc[events["event"] == event, ["person_id", "date"]]
    joined = chosen.merge(episodes[["episode_id", "person_id", "start_date", "stop_date"]], on="person_id")
    inside = (joined["date"] >= joined["start_date"]) & (joined["date"] <= joined["stop_date"])
    return joined[inside].sort_values(["episode_id", "date"]).reset_index(drop=True)


# --------------------------------------------------------------------------- time to approval


@dataclass
class SpecialistResult(AnalysisResult):
    """Cumulative incidence of specialist approval, exit before approval as a competing risk."""

    estimates: pd.DataFrame | None = None
    counts: pd.DataFrame | None = None
    curves: pd.DataFrame | None = None
    episodes: pd.DataFrame | None = field(default=None, repr=False)

    title: ClassVar[str] = "Time to specialist approval (Aalen–Johansen, exit before approval competing)"
    _tables: ClassVar[tuple[str, ...]] = ("estimates", "counts")


def specialist_outcomes(prepared, events) -> pd.DataFrame:
    """Per episode: time (years) to approval, exit or censoring, and the cause (0 censored, 1 approved, 2 exit)."""
    episodes = input_table(prepared, "episodes")
    events = input_table(events, "events")
    require_columns(episodes, ("episode_id", "person_id", "cohort", "start_date", "stop_date", "duration", "exit"), "episodes")
    approvals = events_in_episodes(episodes, events, SPECIALIST_EVENT).groupby("episode_id")["date"].min()
    earlier = events[(events["event"] == SPECIALIST_EVENT)][["person_id", "date"]].merge(
        episodes[["episode_id", "person_id", "start_date"]], on="person_id")
    already = set(earlier.loc[earlier["date"] < earlier["start_date"], "episode_id"])
    out = episodes[["episode_id", "person_id", "cohort", "start_date", "duration", "exit"]].copy()
    out["approval_date"] = out["episode_id"].map(approvals)
    approved = out["approval_date"].notna()
    out["time"] = np.where(approved, (out["approval_date"] - out["start_date"]).dt.days / config.DAYS_PER_YEAR,
                           out["duration"])
    out["cause"] = np.where(approved, 1, np.where(out["exit"] == 1, 2, 0))
    out["already_specialist"] = out["episode_id"].isin(already)
    return out


def time_to_specialist(
    prepared,
    events,
    *,
    times: Sequence[float] = (1, 2, 3, 4, 5),
    alpha: float = config.DEFAULT_ALPHA,
) -> SpecialistResult:
    """Cumulative incidence of specialist approval per cohort, exit before approval competing.

    .. math::

        \\hat F_k(t) = \\sum_{t_j \\le t} \\hat S(t_j^-)\\,\\frac{d_{kj}}{n_j}, \\qquad
        \\hat S(t) = \\prod_{t_j \\le t} \\Big(1 - \\frac{d_{1j} + d_{2j}}{n_j}\\Big)

    with cause 1 = approved, 2 = left the post before approval; episodes still in
    post and unapproved at the as-of date are censored.  Tied times of both causes
    enter in one step (no jitter).  Standard errors are the infinitesimal-jackknife
    ones of R's ``survfit`` (reusing :mod:`alis_research.analysis.duration`'s estimator),
    intervals on the log scale.

    Parameters
    ----------
    prepared : PreparedDataset or DataFrame of episodes
    events : ValidatedData or DataFrame of events
    times : years at which to report (5 = the normed training time)
    alpha : 1 − confidence level

    Returns
    -------
    SpecialistResult
        ``estimates``: cohort, cause, time, cumulative_incidence, std_err, ci_lower,
        ci_upper, n_risk (NaN beyond follow-up); ``counts``: cohort, episodes,
        approved, approved_within_5_years, exit_before_approval, censored.
    """
    from .duration import aalen_johansen_arrays, log_interval, normal_quantile

    z = normal_quantile(alpha)
    outcomes = specialist_outcomes(prepared, events)
    excluded = outcomes["already_specialist"] & outcomes["approval_date"].isna()
    result = SpecialistResult(params={"times": tuple(times), "alpha": alpha, "ci": "log (as R survfit)",
                                      "competing_risk": "exit before approval"})
    if excluded.any():
        result.add_note("pathway_after_approval", n=int(excluded.sum()), warn=False)
    outcomes = outcomes[~excluded]
    rows, count_rows, curves = [], [], []
    for cohort in config.CONTRACT_TYPES:
        part = outcomes[outcomes["cohort"] == cohort]
        within = int(((part["cause"] == 1) & (part["time"] <= NORMED_TRAINING_YEARS)).sum())
        count_rows.append({"cohort": cohort, "episodes": len(part), "approved": int((part["cause"] == 1).sum()),
                           "approved_within_5_years": within,
                           "exit_before_approval": int((part["cause"] == 2).sum()),
                           "censored": int((part["cause"] == 0).sum())})
        if part.empty:
            note = result.add_note("pathway_no_episodes", cohort=cohort, warn=False)
            warnings.warn(str(note), NotEstimableWarning, stacklevel=2)
            for cause in CAUSES:
                rows.extend({"cohort": cohort, "cause": cause, "time": t, "cumulative_incidence": np.nan,
                             "std_err": np.nan, "ci_lower": np.nan, "ci_upper": np.nan, "n_risk": 0} for t in times)
            continue
        aj = aalen_johansen_arrays(part["time"].to_numpy(float), part["cause"].to_numpy(int), 2)
        if aj["n_event"][0].sum() == 0:
            note = result.add_note("pathway_no_approvals", cohort=cohort, warn=False)
            warnings.warn(str(note), NotEstimableWarning, stacklevel=2)
        last = aj["time"].max()
        for k, cause in enumerate(CAUSES):
            lower, upper = log_interval(aj["cif"][k], aj["std_err"][k], z)
            curves.append(pd.DataFrame({"cohort": cohort, "cause": cause, "time": aj["time"],
                                        "cumulative_incidence": aj["cif"][k], "ci_lower": lower, "ci_upper": upper}))
            for t in times:
                if t > last and aj["surv"][-1] > 0:  # beyond follow-up with people still unresolved
                    rows.append({"cohort": cohort, "cause": cause, "time": t, "cumulative_incidence": np.nan,
                                 "std_err": np.nan, "ci_lower": np.nan, "ci_upper": np.nan, "n_risk": 0})
                    result.add_note("pathway_beyond_follow_up", cohort=cohort, follow_up=float(last), time=float(t),
                                    warn=False)
                    continue
                j = np.searchsorted(aj["time"], t, side="right") - 1
                value, err = (aj["cif"][k][j], aj["std_err"][k][j]) if j >= 0 else (0.0, 0.0)
                lo, hi = log_interval(np.array([value]), np.array([err]), z)
                rows.append({"cohort": cohort, "cause": cause, "time": t, "cumulative_incidence": float(value),
                             "std_err": float(err), "ci_lower": lo[0], "ci_upper": hi[0],
                             "n_risk": int((part["time"] >= t).sum())})
    result.estimates = pd.DataFrame(rows)
    result.counts = pd.DataFrame(count_rows)
    result.curves = pd.concat(curves, ignore_index=True) if curves else None
    result.episodes = outcomes.reset_index(drop=True)
    result.add_note("pathway_within_5_years", years=NORMED_TRAINING_YEARS, warn=False)
    return result


# --------------------------------------------------------------------------- hospital year


@dataclass
class HospitalYearResult(AnalysisResult):
    """When the hospital year starts and whether the ALIS came back afterwards."""

    summary: pd.DataFrame | None = None
    episodes: pd.DataFrame | None = field(default=None, repr=False)

    title: ClassVar[str] = "The hospital year: timing and return to the municipality"
    _tables: ClassVar[tuple[str, ...]] = ("summary",)


#: Outcome after the hospital year (see :func:`hospital_year_summary`).
RETURN_OUTCOMES = ("returned", "left_within_window", "left_during", "not_yet_known", "ongoing")


def hospital_year_summary(prepared, events, *, return_window_months: int = RETURN_WINDOW_MONTHS) -> HospitalYearResult:
    """Timing of the hospital year and the return to the municipality, per cohort.

    For every hospital year (``hospital_year_start`` paired with the next
    ``hospital_year_end`` inside the same episode) with :math:`E` its end and
    :math:`W = E + ` ``return_window_months`` months, the outcome is

    * ``returned`` — the episode was still running at :math:`W` (ended after it, or
      censored at an as-of date on or after it);
    * ``left_within_window`` — the episode ended after :math:`E` but before :math:`W`;
    * ``left_during`` — the episode ended before :math:`E` (during the hospital year);
    * ``not_yet_known`` — censored before :math:`W` (the as-of date comes too soon);
    * ``ongoing`` — no ``hospital_year_end`` yet.

    Returns
    -------
    HospitalYearResult
        ``summary``: cohort, episodes, with_hospital_year, start_years_median,
        start_years_q1, start_years_q3 (years since the episode started),
        length_years_median, and one count column per outcome plus
        ``returned_share`` (returned / (returned + left_within_window + left_during)).
        ``episodes``: one row per hospital year.
    """
    if return_window_months < 0:
        raise AlisError(f"return_window_months must be >= 0, got {return_window_months!r}")
    episodes = input_table(prepared, "episodes")
    events = input_table(events, "events")
    require_columns(episodes, ("episode_id", "cohort", "start_date", "stop_date", "exit", "end_date"), "episodes")
    starts = events_in_episodes(episodes, events, HOSPITAL_START)
    ends = events.loc[events["event"] == HOSPITAL_END, ["person_id", "date"]].rename(columns={"date": "end"})
    rows = []
    info = episodes.set_index("episode_id")
    for record in starts.itertuples(index=False):
        later = ends[(ends["person_id"] == record.person_id) & (ends["end"] >= record.date)]["end"]
        end = later.min() if len(later) else pd.NaT
        ep = info.loc[record.episode_id]
        exited, stop = bool(ep["exit"] == 1), ep["stop_date"]
        if pd.isna(end) and exited:
            outcome, window = "left_during", pd.NaT
        elif pd.isna(end) or (end > stop and not exited):
            outcome, window = "ongoing", pd.NaT
        else:
            window = end + pd.DateOffset(months=return_window_months)
            if exited and stop < end:
                outcome = "left_during"
            elif exited and stop < window:
                outcome = "left_within_window"
            elif stop >= window:
                outcome = "returned"
            else:
                outcome = "not_yet_known"
        rows.append({"episode_id": record.episode_id, "cohort": ep["cohort"], "unit": ep.get("unit"),
                     "hospital_start": record.date, "hospital_end": end,
                     "start_years": (record.date - ep["start_date"]).days / config.DAYS_PER_YEAR,
                     "length_years": (end - record.date).days / config.DAYS_PER_YEAR if pd.notna(end) else np.nan,
                     "outcome": outcome})
    per_year = pd.DataFrame(rows, columns=["episode_id", "cohort", "unit", "hospital_start", "hospital_end",
                                           "start_years", "length_years", "outcome"])
    summary_rows = []
    for cohort in config.CONTRACT_TYPES:
        part = per_year[per_year["cohort"] == cohort]
        counts = {o: int((part["outcome"] == o).sum()) for o in RETURN_OUTCOMES}
        known = counts["returned"] + counts["left_within_window"] + counts["left_during"]
        q = part["start_years"].quantile([0.25, 0.5, 0.75]) if len(part) else pd.Series([np.nan] * 3, index=[0.25, 0.5, 0.75])
        summary_rows.append({"cohort": cohort, "episodes": int((episodes["cohort"] == cohort).sum()),
                             "with_hospital_year": int(part["episode_id"].nunique()),
                             "start_years_median": q[0.5], "start_years_q1": q[0.25], "start_years_q3": q[0.75],
                             "length_years_median": part["length_years"].median() if len(part) else np.nan,
                             **counts, "returned_share": counts["returned"] / known if known else np.nan})
        if not known:
            warnings.warn(str(Note("pathway_no_hospital_year", cohort=cohort)), NotEstimableWarning, stacklevel=2)
            summary_rows[-1]["returned_share"] = np.nan
    result = HospitalYearResult(params={"return_window_months": return_window_months},
                                summary=pd.DataFrame(summary_rows), episodes=per_year)
    result.add_note("pathway_returned", months=return_window_months, warn=False)
    return result


# --------------------------------------------------------------------------- supervision: fidelity


@dataclass
class SupervisionResult(AnalysisResult):
    """Structured supervision delivered against the promise, per cohort and unit.

    Not protected: the analyst's working view, like the other analyses; the report publishes
    it through its ledger (:func:`alis_research.report.sections_costs.pathway_section`).
    """

    by_cohort: pd.DataFrame | None = None
    by_unit: pd.DataFrame | None = None
    per_episode: pd.DataFrame | None = field(default=None, repr=False)

    title: ClassVar[str] = "Supervision fidelity: hours delivered against 3 h/month for 10.5 months a year"
    _tables: ClassVar[tuple[str, ...]] = ("by_cohort", "by_unit")


def _hospital_spans(episodes: pd.DataFrame, events: pd.DataFrame | None) -> dict[str, list[tuple]]:
    if events is None or events.empty:
        return {}
    starts = events_in_episodes(episodes, events, HOSPITAL_START)
    ends = events.loc[events["event"] == HOSPITAL_END, ["person_id", "date"]]
    spans: dict[str, list[tuple]] = {}
    for record in starts.itertuples(index=False):
        later = ends[(ends["person_id"] == record.person_id) & (ends["date"] >= record.date)]["date"]
        spans.setdefault(record.episode_id, []).append((record.date, later.min() if len(later) else record.stop_date))
    return spans


def _days(a: pd.Timestamp, b: pd.Timestamp) -> int:
    """Days in [a, b] inclusive (0 when empty)."""
    return max((b - a).days + 1, 0)


#: Columns of :func:`supervision_numbers` (and of ``by_cohort``/``by_unit`` after ``group``).
SUPERVISION_NUMBERS = ("episodes", "months_in_post", "delivered_hours", "promised_hours", "hours_per_year", "fidelity")


def supervision_numbers(per_episode: pd.DataFrame) -> dict:
    """Episodes, months in post, hours delivered and promised, hours a year and fidelity of a group.

    ``per_episode``: rows of :attr:`SupervisionResult.per_episode` (any group of them, e.g. pooled units).
    Hours a year = delivered / months in post × 12; fidelity = delivered / promised (NaN for no months).
    """
    months = float(per_episode["months_in_post"].sum())
    delivered = float(per_episode["delivered_hours"].sum())
    promised = float(per_episode["promised_hours"].sum())
    return {"episodes": int(per_episode["episode_id"].nunique()), "months_in_post": months,
            "delivered_hours": delivered, "promised_hours": promised,
            "hours_per_year": delivered / months * 12 if months > 0 else np.nan,
            "fidelity": delivered / promised if promised > 0 else np.nan}


def supervision_fidelity(
    prepared,
    supervision: pd.DataFrame,
    events=None,
    *,
    promised_hours_per_month: float = PROMISED_HOURS_PER_MONTH,
    promised_months_per_year: float = PROMISED_MONTHS_PER_YEAR,
) -> SupervisionResult:
    """Hours of structured supervision delivered against the promise, per episode, cohort and unit.

    The observation window runs from the first to the last month in the
    supervision table.  For each episode of a person who appears in it, every
    month of the window counts by the fraction of its days the ALIS was in post
    and not on the hospital year (when ``events`` are given); months with no row
    count as 0 hours delivered.  People absent from the table are left out
    (no data, a note).  The promise is

    .. math::

        \\text{promised} = \\frac{3 \\times 10.5}{12} \\times \\text{months in post} = 2.625 \\text{ h per month},

    i.e. 31.5 hours a year; fidelity = delivered / promised.  Hours in a month the
    ALIS spent partly on the hospital year count in full; hours recorded in a month
    spent wholly on it are not counted, as nothing is promised for that month.

    Nothing is suppressed here (the analyst's view): the report registers every
    group's episodes in its ledger, which withholds small counts and every number
    computed from them.

    Returns
    -------
    SupervisionResult
        ``by_cohort``, ``by_unit``: group, episodes, months_in_post, delivered_hours,
        promised_hours, hours_per_year, fidelity; ``per_episode`` (episode_id,
        person_id, cohort, unit and the same numbers per episode).
    """
    episodes = input_table(prepared, "episodes")
    require_columns(episodes, ("episode_id", "person_id", "cohort", "start_date", "stop_date"), "episodes")
    require_columns(supervision, SUPERVISION_COLUMNS, "supervision")
    events_frame = input_table(events, "events") if events is not None else None
    result = SupervisionResult(params={"promised_hours_per_month": promised_hours_per_month,
                                       "promised_months_per_year": promised_months_per_year,
                                       "promised_hours_per_year": promised_hours_per_month * promised_months_per_year})
    per_month_promise = promised_hours_per_month * promised_months_per_year / 12
    if supervision.empty:
        note = result.add_note("pathway_no_supervision", warn=False)
        warnings.warn(str(note), NotEstimableWarning, stacklevel=2)
        return result
    months = pd.date_range(supervision["month"].min(), supervision["month"].max(), freq="MS")
    result.params["window"] = f"{months[0]:%Y-%m} to {months[-1]:%Y-%m}"
    hospital = _hospital_spans(episodes, events_frame)
    hours = supervision.set_index(["person_id", "month"])["hours"]
    people = set(supervision["person_id"])
    rows = []
    for ep in episodes[episodes["person_id"].isin(people)].itertuples(index=False):
        in_post = delivered = 0.0
        for month in months:
            month_end = month + pd.offsets.MonthEnd(0)
            days = _days(max(month, ep.start_date), min(month_end, ep.stop_date))
            for start, end in hospital.get(ep.episode_id, []):
                days -= _days(max(month, ep.start_date, start), min(month_end, ep.stop_date, end))
            if days > 0:  # the same months as the promise: not a month spent wholly on the hospital year
                delivered += float(hours.get((ep.person_id, month), 0.0))
            in_post += max(days, 0) / month.days_in_month
        if in_post == 0:
            continue
        rows.append({"episode_id": ep.episode_id, "person_id": ep.person_id, "cohort": ep.cohort,
                     "unit": getattr(ep, "unit", None), "months_in_post": in_post, "delivered_hours": delivered,
                     "promised_hours": in_post * per_month_promise})
    per_episode = pd.DataFrame(rows, columns=["episode_id", "person_id", "cohort", "unit", "months_in_post",
                                              "delivered_hours", "promised_hours"])
    per_episode["fidelity"] = per_episode["delivered_hours"] / per_episode["promised_hours"]
    no_data = int((~episodes["person_id"].isin(people)).sum())
    if no_data:
        result.add_note("pathway_supervision_absent", n=no_data, warn=False)
    result.per_episode = per_episode
    for by, name in (("cohort", "by_cohort"), ("unit", "by_unit")):
        grouped = pd.DataFrame([{"group": group, **supervision_numbers(part)}
                                for group, part in per_episode.groupby(by, dropna=False, sort=True)],
                               columns=["group", *SUPERVISION_NUMBERS])
        setattr(result, name, grouped)
    return result


# --------------------------------------------------------------------------- figure
#
# The report section is alis_research.report.sections_costs.pathway_section.


def plot_time_to_specialist(result: SpecialistResult, ax=None, *, language: str = "nb", min_cell: int | None = None,
                            show_ci: bool = True, at_risk_times=None):
    """Step curves of the cumulative incidence of approval per cohort, with 95 % CI bands and the
    numbers at risk under the figure (as the retention figure); returns ``ax``.

    Numbers at risk from 1 to ``min_cell − 1`` are printed as ``<min_cell``.
    """
    from .. import figures

    texts = figures.figure_labels(language, "figure.pathway")
    curves = result.curves if result.curves is not None else pd.DataFrame(columns=["cohort", "cause", "time"])
    episodes = result.episodes if result.episodes is not None else pd.DataFrame(columns=["cohort", "time"])
    with figures.house_style():
        ax = figures.new_axes(ax)
        approved = curves[curves["cause"] == "approved"]
        for cohort, part in approved.groupby("cohort", sort=True):
            colour = figures.colour(cohort)
            times = np.r_[0.0, part["time"].to_numpy(float)]
            ax.step(times, np.r_[0.0, part["cumulative_incidence"]], where="post", color=colour,
                    label=figures.label(cohort, language), linewidth=1.6)
            if show_ci and {"ci_lower", "ci_upper"} <= set(part.columns):
                # 0 before the first approval has no interval: the band is the curve itself there
                cif = part["cumulative_incidence"].to_numpy(float)
                lower = np.where(np.isnan(part["ci_lower"].to_numpy(float)), cif, part["ci_lower"].to_numpy(float))
                upper = np.where(np.isnan(part["ci_upper"].to_numpy(float)), cif, part["ci_upper"].to_numpy(float))
                ax.fill_between(times, np.r_[0.0, lower], np.r_[0.0, upper], step="post", color=colour, alpha=0.18,
                                linewidth=0)
        ax.axvline(NORMED_TRAINING_YEARS, color="grey", linestyle=":", linewidth=1)
        ax.set_ylim(0, 1)
        ax.set_ylabel(texts["approved"])
        ax.set_xlabel(texts["years"])
        if len(episodes):
            if at_risk_times is None:
                at_risk_times = np.arange(0, int(np.floor(episodes["time"].max())) + 1)
            ax.set_xlim(0, max(float(episodes["time"].max()), max(at_risk_times, default=0)) * 1.02 or 1)
            ax.set_xticks(list(at_risk_times))
        figures.decimal_axes(ax, language)
        if len(approved):
            ax.legend(loc="upper left")
        if len(episodes):
            figures.at_risk_table(ax, at_risk_curves(episodes), at_risk_times, language, min_cell)
    return ax


def at_risk_curves(outcomes: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """``(cohort, curve)`` with ``time`` and ``at_risk`` (episodes with time ≥ it) for the numbers at risk."""
    groups = []
    for cohort in config.CONTRACT_TYPES:
        times = np.sort(outcomes.loc[outcomes["cohort"] == cohort, "time"].to_numpy(float))
        if len(times):
            unique = np.unique(times)
            at_risk = len(times) - np.searchsorted(times, unique, side="left")
            groups.append((cohort, pd.DataFrame({"time": unique, "at_risk": at_risk})))
    return groups
