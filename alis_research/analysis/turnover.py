"""Turnover: person-time, exit rates, rate ratios and vacancy, by *current* contract type.

Works on the counting-process ``intervals`` of the prepared dataset (one row per
stretch of an episode under one contract type), so that time after a switch
counts under the new type.  Rates carry exact Poisson (Garwood) intervals; the
næring/fastlønn rate ratio comes from a Poisson GLM with a log person-time offset,
checked for overdispersion, with a negative-binomial fit beside it when needed.
The numbers are checked against R (``tests/reference/retention.R``).
"""
from __future__ import annotations

import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy import stats

from .. import config
from ..errors import AlisError
from ..result import AnalysisResult, check_alpha, with_interval
from .memo import memoised

#: Pearson χ²/df above which the Poisson model is called overdispersed.
OVERDISPERSION_THRESHOLD = 1.5
#: Cells of the overdispersion check: unit × calendar year × current contract type.
DISPERSION_GROUPING = ("unit", "year", "contract_type")

_INTERVAL_COLUMNS = ("episode_id", "contract_type", "start", "stop", "exit")
_BY_CHOICES = {"contract_type": "contract_type", "year": "year", "area": "area", "unit": "unit"}


# --------------------------------------------------------------------------- input


def _intervals_frame(data, columns=_INTERVAL_COLUMNS) -> pd.DataFrame:
    intervals = getattr(data, "intervals", data)
    if not isinstance(intervals, pd.DataFrame):
        raise AlisError(f"expected a PreparedDataset or an intervals DataFrame, got {type(data).__name__}")
    missing = [c for c in columns if c not in intervals.columns]
    if missing:
        raise AlisError(
            f"intervals table lacks column(s) {', '.join(missing)}; it has "
            f"{', '.join(map(str, intervals.columns))}. Pass the prepared intervals (cohort.prepare)."
        )
    length = pd.to_numeric(intervals["stop"], errors="coerce") - pd.to_numeric(intervals["start"], errors="coerce")
    bad = (length.isna() | (length < 0)).to_numpy()
    if bad.any():
        row = intervals[bad].iloc[0]
        raise AlisError(
            f"intervals row for episode {row['episode_id']} has start={row['start']!r}, stop={row['stop']!r}: "
            "stop must be a number of years not before start"
        )
    for column in [c for c in columns if c not in ("start", "stop")]:
        bad = intervals[column].isna().to_numpy()
        if bad.any():
            raise AlisError(
                f"intervals column '{column}' is empty for episode(s) "
                f"{', '.join(map(str, intervals['episode_id'][bad][:10]))}"
            )
    return intervals


def _normalise_by(by) -> tuple[str, ...]:
    if by is None:
        return ()
    by = (by,) if isinstance(by, str) else tuple(by)
    unknown = [b for b in by if b not in _BY_CHOICES]
    if unknown:
        raise AlisError(f"cannot split turnover by {unknown[0]!r}; choose from {', '.join(_BY_CHOICES)}")
    return by


def split_calendar_years(intervals: pd.DataFrame) -> pd.DataFrame:
    """Split every interval at 1 January boundaries (by ``start_date``/``stop_date``).

    Each piece gets ``year`` and ``person_years``: the interval's ``stop − start``
    shared out in proportion to its days in each year (= days / 365.25 when the
    intervals were made that way); an exit stays on the piece that ends at the
    interval's ``stop_date``.  Person-time is conserved exactly.
    """
    frame = _intervals_frame(intervals, _INTERVAL_COLUMNS + ("start_date", "stop_date"))
    starts = pd.to_datetime(frame["start_date"]).to_numpy()
    stops = pd.to_datetime(frame["stop_date"]).to_numpy()
    lengths = frame["stop"].to_numpy(float) - frame["start"].to_numpy(float)
    pieces, index = [], []
    for i, (a, b, length) in enumerate(zip(starts, stops, lengths)):
        a, b = pd.Timestamp(a), pd.Timestamp(b)
        total_days = (b - a).days
        year = a.year
        cursor = a
        while True:
            boundary = pd.Timestamp(year=year + 1, month=1, day=1)
            end = min(b, boundary)
            last = b <= boundary
            # share out stop − start by days, so the pieces add up to the interval exactly
            share = (end - cursor).days / total_days if total_days > 0 else 1.0
            pieces.append((year, length * share, last))
            index.append(i)
            if last:
                break
            cursor, year = boundary, year + 1
    out = frame.iloc[index].reset_index(drop=True)
    piece = pd.DataFrame(pieces, columns=["year", "person_years", "last"])
    out["year"] = piece["year"].to_numpy()
    out["person_years"] = piece["person_years"].to_numpy()
    out["exit"] = np.where(piece["last"], out["exit"], 0)
    return out


def person_time(intervals, *, by=("contract_type",)) -> pd.DataFrame:
    """Exits and person-years, summed over ``by`` (any of contract_type, year, area, unit).

    Person-years are ``stop − start`` (years of days / 365.25); with ``year`` in ``by``
    intervals are first split at 1 January (:func:`split_calendar_years`).
    """
    by = _normalise_by(by)
    frame = _intervals_frame(intervals, _INTERVAL_COLUMNS + tuple(b for b in by if b != "year"))
    if "year" in by:
        frame = split_calendar_years(frame)
    else:
        frame = frame.assign(person_years=frame["stop"].astype(float) - frame["start"].astype(float))
    if not by:
        return pd.DataFrame({"exits": [int(frame["exit"].sum())], "person_years": [float(frame["person_years"].sum())]})
    table = frame.groupby(list(by), sort=True, observed=True).agg(exits=("exit", "sum"), person_years=("person_years", "sum"))
    table["exits"] = table["exits"].astype(int)
    return table.reset_index()


# --------------------------------------------------------------------------- rates


def exact_poisson_interval(exits, person_years, *, alpha: float = config.DEFAULT_ALPHA):
    """Exact (Garwood) Poisson interval for a rate, per person-year.

    .. math::

        \\Big[\\tfrac{1}{2}\\chi^2_{2x,\\,\\alpha/2},\\;
              \\tfrac{1}{2}\\chi^2_{2x+2,\\,1-\\alpha/2}\\Big] / T

    with the lower limit 0 when :math:`x = 0` (R's ``poisson.test``).
    """
    exits = np.asarray(exits, float)
    person_years = np.asarray(person_years, float)
    lower = np.where(exits > 0, stats.chi2.ppf(alpha / 2, 2 * np.maximum(exits, 1)) / 2, 0.0)
    upper = stats.chi2.ppf(1 - alpha / 2, 2 * exits + 2) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        return lower / person_years, upper / person_years


@dataclass
class TurnoverResult(AnalysisResult):
    """Exit rates per 100 person-years with exact Poisson intervals."""

    rates: pd.DataFrame | None = None

    title: ClassVar[str] = "Turnover per 100 person-years (exact Poisson 95 % CI)"
    _tables: ClassVar[tuple[str, ...]] = ("rates",)

    def conf_int(self, alpha: float = 0.05) -> pd.DataFrame:
        """The ``rates`` table with exact Poisson intervals at level 1 − ``alpha`` (per 100 person-years)."""
        alpha = check_alpha(alpha)
        lower, upper = exact_poisson_interval(self.rates["exits"], self.rates["person_years"], alpha=alpha)
        return with_interval(self.rates, 100 * lower, 100 * upper, alpha)


@memoised
def turnover_rates(intervals, *, by="contract_type", alpha: float = config.DEFAULT_ALPHA) -> TurnoverResult:
    """Exits, person-years and rate per 100 person-years by ``by``.

    ``by`` is ``'contract_type'`` (current type), ``'year'`` (calendar year),
    ``'area'``, ``'unit'``, a tuple of these, or None for the total.
    """
    by = _normalise_by(by)
    table = person_time(intervals, by=by)
    lower, upper = exact_poisson_interval(table["exits"], table["person_years"], alpha=alpha)
    with np.errstate(divide="ignore", invalid="ignore"):
        table["rate_per_100"] = 100 * table["exits"] / table["person_years"]
    table["ci_lower"] = 100 * lower
    table["ci_upper"] = 100 * upper
    result = TurnoverResult(params={"by": by, "alpha": alpha, "ci": "exact Poisson (Garwood)"}, rates=table)
    for _, row in table.iterrows():
        label = ", ".join(str(row[b]) for b in by) or "all"
        if row["person_years"] <= 0:
            result.add_note("rate_no_person_time", label=label)
        elif row["exits"] == 0:
            result.add_note("rate_no_exits", label=label, warn=False)
    return result


# --------------------------------------------------------------------------- GLM


@dataclass
class RateRatioResult(AnalysisResult):
    """Incidence-rate ratio næring vs fastlønn (Poisson GLM, NB beside it if overdispersed)."""

    estimates: pd.DataFrame | None = None
    cells: pd.DataFrame | None = field(default=None, repr=False)
    models: dict[str, Any] = field(default_factory=dict, repr=False)
    dispersion: float = float("nan")

    title: ClassVar[str] = "Rate ratio næring vs fastlønn"
    _tables: ClassVar[tuple[str, ...]] = ("estimates",)

    def conf_int(self, alpha: float = 0.05) -> pd.DataFrame:
        """The ``estimates`` table with Wald intervals exp(coef ± z·se) at level 1 − ``alpha``."""
        alpha = check_alpha(alpha)
        z = stats.norm.ppf(1 - alpha / 2)
        coef, se = self.estimates["coef"], self.estimates["se"]
        return with_interval(self.estimates, np.exp(coef - z * se), np.exp(coef + z * se), alpha)


def _design(cells: pd.DataFrame, covariates) -> pd.DataFrame:
    other = next(c for c in config.CONTRACT_TYPES if c != config.REFERENCE_CONTRACT)
    design = pd.DataFrame({"const": 1.0, other: (cells["contract_type"] == other).astype(float)}, index=cells.index)
    for name in covariates:
        column = cells[name]
        if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
            design[name] = column.astype(float)
        else:
            levels = sorted(column.astype(str).unique())
            for level in levels[1:]:  # first level (sorted) is the reference, as R's factor()
                design[f"{name}[{level}]"] = (column.astype(str) == level).astype(float)
    return design


@memoised
def rate_ratio(intervals, *, covariates=(), alpha: float = config.DEFAULT_ALPHA) -> RateRatioResult:
    """Incidence-rate ratio of exit, næring vs fastlønn (current contract type).

    A Poisson GLM, :math:`\\log E[\\text{exits}] = \\log(\\text{PY}) + \\beta_0 +
    \\beta_1 [\\text{næring}] + \\ldots`, is fitted to exits and person-years summed
    over the cells unit × calendar year × contract type (× covariate values); the
    estimate equals the one from the interval-level model.  Overdispersion is the
    Pearson χ² / residual df of that fit; above :data:`OVERDISPERSION_THRESHOLD` a
    negative-binomial (NB2, estimated α) GLM is fitted and reported beside it.
    Wald intervals.  Not estimable (no exits under one type, no person-time,
    non-convergence, separation) gives NaN and a note.
    """
    covariates = tuple(covariates)
    frame = _intervals_frame(intervals, _INTERVAL_COLUMNS + ("start_date", "stop_date") + covariates)
    frame = frame.copy()
    if "unit" not in frame.columns:
        frame["unit"] = frame.get("municipality_code", "all")
    # outside the roster there is no unit: the municipality is the cell
    frame["unit"] = frame["unit"].astype("object").where(frame["unit"].notna(), frame.get("municipality_code", "none"))
    split = split_calendar_years(frame)
    keys = list(dict.fromkeys(DISPERSION_GROUPING + covariates))
    cells = split.groupby(keys, sort=True, observed=True).agg(exits=("exit", "sum"), person_years=("person_years", "sum"))
    cells = cells[cells["person_years"] > 0].reset_index()
    result = RateRatioResult(
        params={"covariates": covariates, "alpha": alpha, "cells": " × ".join(keys),
                "overdispersion_threshold": OVERDISPERSION_THRESHOLD},
        cells=cells,
    )
    rows = [_poisson_row(cells, covariates, alpha, result)]
    if np.isfinite(result.dispersion) and result.dispersion > OVERDISPERSION_THRESHOLD:
        result.add_note("overdispersion", dispersion=float(result.dispersion), threshold=OVERDISPERSION_THRESHOLD)
        rows.append(_negative_binomial_row(cells, covariates, alpha, result))
    result.estimates = pd.DataFrame(rows)
    return result


def _empty_row(model: str) -> dict:
    other = next(c for c in config.CONTRACT_TYPES if c != config.REFERENCE_CONTRACT)
    return {"model": model, "term": other, "contrast": f"{other} vs {config.REFERENCE_CONTRACT}",
            "coef": np.nan, "se": np.nan, "irr": np.nan, "ci_lower": np.nan, "ci_upper": np.nan,
            "p_value": np.nan, "alpha_nb": np.nan}


def _estimability_problem(cells: pd.DataFrame) -> tuple[str, str] | None:
    """The note code of why the rate ratio cannot be estimated (its value: ``cohort``), or None."""
    by_type = cells.groupby("contract_type", observed=True)[["exits", "person_years"]].sum()
    for contract in config.CONTRACT_TYPES:
        if contract not in by_type.index or by_type.loc[contract, "person_years"] <= 0:
            return "irr_no_person_time", contract
        if by_type.loc[contract, "exits"] == 0:
            return "irr_no_exits", contract
    return None


def _fill_row(row: dict, coef: float, se: float, p_value: float, alpha: float) -> dict:
    z = stats.norm.ppf(1 - alpha / 2)
    row.update(coef=coef, se=se, irr=np.exp(coef), ci_lower=np.exp(coef - z * se),
               ci_upper=np.exp(coef + z * se), p_value=p_value)
    return row


@contextmanager
def _fit_warnings_as_errors():
    """Turn statsmodels' convergence and Hessian warnings into errors (others stay quiet).

    A saturated model (residual df 0) makes statsmodels warn about dividing by zero
    and about "perfect prediction" (fitted = observed counts), which for a Poisson
    model is no reason to drop the estimate; separation proper (a level with no
    exits) is caught by the no-exits check and by an exploding standard error.
    """
    from statsmodels.tools.sm_exceptions import (
        ConvergenceWarning, HessianInversionWarning, PerfectSeparationWarning)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        warnings.simplefilter("ignore", PerfectSeparationWarning)
        warnings.simplefilter("error", ConvergenceWarning)
        warnings.simplefilter("error", HessianInversionWarning)
        yield


def _poisson_row(cells, covariates, alpha, result: RateRatioResult) -> dict:
    # the GLM module alone: statsmodels.api would import all of statsmodels (~0.3 s more)
    from statsmodels.genmod import families
    from statsmodels.genmod.generalized_linear_model import GLM

    row = _empty_row("poisson")
    problem = _estimability_problem(cells)
    if problem:
        code, contract = problem
        result.add_note(code, cohort=contract)
        return row
    design = _design(cells, covariates)
    term = row["term"]
    try:
        with _fit_warnings_as_errors():
            fit = GLM(cells["exits"].astype(float), design, family=families.Poisson(),
                         offset=np.log(cells["person_years"].to_numpy(float))).fit(tol=1e-12, maxiter=200)
    except Exception as exc:  # statsmodels signals separation / non-convergence by warnings or errors
        result.add_note("poisson_no_convergence", error=str(exc))
        return row
    se = float(fit.bse[term])
    if not np.isfinite(se) or se > 10:
        result.add_note("poisson_separation")
        return row
    separated = [name for name, value in fit.bse.items() if name not in ("const", term) and not value < 10]
    if separated:
        result.add_note("poisson_level_separation", terms=[str(t) for t in separated], term=term)
    result.models["poisson"] = fit
    result.dispersion = float(fit.pearson_chi2 / fit.df_resid) if fit.df_resid > 0 else float("nan")
    result.params["dispersion"] = result.dispersion
    return _fill_row(row, float(fit.params[term]), se, float(fit.pvalues[term]), alpha)


def _negative_binomial_row(cells, covariates, alpha, result: RateRatioResult) -> dict:
    from statsmodels.discrete.discrete_model import NegativeBinomial

    row = _empty_row("negative_binomial")
    design = _design(cells, covariates)
    term = row["term"]
    try:
        with _fit_warnings_as_errors():
            fit = NegativeBinomial(cells["exits"].astype(float), design, loglike_method="nb2",
                                   offset=np.log(cells["person_years"].to_numpy(float))).fit(disp=0, maxiter=500)
    except Exception as exc:
        result.add_note("nb_no_convergence", error=str(exc))
        return row
    if not fit.mle_retvals.get("converged", True):
        result.add_note("nb_no_convergence", error="")
        return row
    result.models["negative_binomial"] = fit
    row["alpha_nb"] = float(fit.params["alpha"])
    return _fill_row(row, float(fit.params[term]), float(fit.bse[term]), float(fit.pvalues[term]), alpha)


# --------------------------------------------------------------------------- vacancy


@dataclass
class VacancyResult(AnalysisResult):
    """Share of position-time in each ALIS unit with nobody in post."""

    vacancy: pd.DataFrame | None = None

    title: ClassVar[str] = "Vacancy: share of position-time with nobody in post"
    _tables: ClassVar[tuple[str, ...]] = ("vacancy",)


def _positions(roster) -> pd.Series:
    if roster is None:
        try:
            from ..reference import load_roster
        except ImportError as exc:  # pragma: no cover - the reference module ships with the package
            raise AlisError("the ALIS roster is not available: pass roster= explicitly") from exc
        roster = load_roster()
    missing = [c for c in ("unit", *config.CONTRACT_TYPES) if c not in roster.columns]
    if missing:
        raise AlisError(f"roster lacks column(s) {', '.join(missing)}; expected unit and a count per contract type")
    counts = roster.groupby("unit")[list(config.CONTRACT_TYPES)].sum().sum(axis=1).astype(int)
    return counts[counts > 0]


@memoised
def vacancy(episodes, *, roster=None, as_of, by_year: bool = True, period_start=None) -> VacancyResult:
    """Vacant share of position-time per ALIS unit (and calendar year).

    A unit with :math:`k` positions is short of :math:`\\max(k - n(t), 0)` holders on
    day :math:`t`, where :math:`n(t)` counts its episodes in progress (positions are
    not identified in the data).  The vacancy share over a period of length
    :math:`L` days is :math:`\\sum_t \\max(k - n(t), 0) / (k L)`.  The period runs
    from ``period_start`` (default: the unit's first episode start) to ``as_of``
    (exclusive); an episode occupies [start_date, stop_date), and a censored one
    until ``as_of``.  Hospital years and leave inside an episode count as occupied:
    the position is held.
    """
    episodes = getattr(episodes, "episodes", episodes)
    needed = ("unit", "start_date", "stop_date", "exit")
    missing = [c for c in needed if c not in episodes.columns]
    if missing:
        raise AlisError(f"episodes table lacks column(s) {', '.join(missing)} needed for vacancy")
    as_of = pd.Timestamp(as_of)
    positions = _positions(roster)
    result = VacancyResult(params={"as_of": as_of.date().isoformat(), "by_year": by_year,
                                   "period_start": "first start in unit" if period_start is None
                                   else pd.Timestamp(period_start).date().isoformat()})
    frame = episodes[episodes["unit"].notna()].copy()
    frame["start_date"] = pd.to_datetime(frame["start_date"])
    frame["stop_date"] = pd.to_datetime(frame["stop_date"])
    censored_end = frame.loc[frame["exit"] == 0, "stop_date"]
    if len(censored_end) and as_of > censored_end.max():
        raise AlisError(
            f"as_of {as_of.date()} is after the end of follow-up in the data ({censored_end.max().date()}): "
            "who held the positions after that is unknown"
        )
    unknown = sorted(set(frame["unit"]) - set(positions.index))
    if unknown:
        # unit names stay in the note's values; the published text does not name them
        result.add_note("vacancy_unknown_units", units=[str(u) for u in unknown])
    rows = []
    for unit, k in positions.items():
        held = frame[frame["unit"] == unit]
        if held.empty:
            result.add_note("vacancy_no_episodes", unit=str(unit), warn=False)
            continue
        first = pd.Timestamp(period_start) if period_start is not None else held["start_date"].min()
        days = pd.date_range(first, as_of, freq="D", inclusive="left")
        if len(days) == 0:
            continue
        counts = np.zeros(len(days) + 1, dtype=int)  # difference array over days
        for start, stop, exited in held[["start_date", "stop_date", "exit"]].itertuples(index=False):
            end = stop if exited == 1 else as_of
            a, b = max(start, first), min(end, as_of)
            if b > a:
                counts[(a - first).days] += 1
                counts[(b - first).days] -= 1
        in_post = np.cumsum(counts[:-1])
        if (in_post > k).any():
            result.add_note("vacancy_overlap", unit=str(unit), positions=int(k), days=int((in_post > k).sum()),
                            warn=False)
        vacant = np.maximum(k - in_post, 0)
        groups = days.year if by_year else np.zeros(len(days), dtype=int)
        for year in np.unique(groups):
            mask = groups == year
            rows.append({"unit": unit, "year": int(year) if by_year else "all", "positions": int(k),
                         "position_years": k * mask.sum() / config.DAYS_PER_YEAR,
                         "vacant_position_years": vacant[mask].sum() / config.DAYS_PER_YEAR,
                         "vacancy_share": vacant[mask].sum() / (k * mask.sum())})
    result.vacancy = pd.DataFrame(rows, columns=["unit", "year", "positions", "position_years",
                                                 "vacant_position_years", "vacancy_share"])
    return result
