"""Calibrated synthetic datasets for the 32 ALIS-Nord positions (the bundled demo).

The generator fills every position of the ALIS-Nord roster in August–December
2019, lets each holder leave with a hazard calibrated to the published Norwegian
GP contract durations, refills vacated positions after a delay, and adds the
within-episode events of the raw contract (contract switches with a documented
reason, hospital years, leave, specialist approval).  Every assumption is a field
of :class:`SyntheticParameters` with its meaning and source in the field metadata,
so the same table drives ``dataset.json`` and the documentation.

The output is in the *raw* contract (``docs/data_dictionary.md``): municipality
codes of the vintage in force at the start date, a few synonyms for contract
types and a few municipality names, so that the demo exercises validation and
harmonisation like a real extract does.
"""
from __future__ import annotations

import dataclasses
import json
import math
import os
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import __version__, config, reference
from . import io
from ..errors import AlisError

EPISODE_COLUMNS = (
    "person_id",
    "municipality",
    "contract_type",
    "start_date",
    "end_date",
    "end_reason",
    "programme",
    "sex",
    "birth_year",
    "scheme",
    "list_size",
)
EVENT_COLUMNS = ("person_id", "date", "event", "new_contract_type", "note")
GENERATOR_NAME = "alis-research synthesize"
OUTPUT_FILES = ("episodes.csv", "events.csv", "dataset.json")

FASTLONN, NAERING = config.CONTRACT_TYPES
# Order in which events of one person on one day are written (start before end).
_EVENT_ORDER = {name: rank for rank, name in enumerate(config.EVENT_TYPES)}


def _param(default: Any, doc: str, source: str, *, factory: bool = False):
    """A parameter field carrying its one-line meaning and its source."""
    metadata = {"doc": doc, "source": source}
    if factory:
        return field(default_factory=default, metadata=metadata)
    return field(default=default, metadata=metadata)


ASSUMPTION = "assumption of this generator (no published figure)"


@dataclass(frozen=True)
class SyntheticParameters:
    """Every assumption of the synthetic ALIS-Nord cohort, with its default.

    Each field's ``metadata`` holds ``doc`` (what it means) and ``source``
    (where the value comes from); :func:`parameters_table` lists them.
    Durations are in years (days / 365.25) unless the name says months.
    """

    first_start_from: date = _param(
        date(2019, 8, 1), "earliest start of the first holder of each position",
        "seed 001: all 32 positions to be filled during autumn 2019")
    first_start_to: date = _param(
        date(2019, 12, 31), "latest start of the first holder of each position",
        "seed 001: all 32 positions to be filled during autumn 2019")
    as_of: date = _param(
        date(2024, 12, 31), "end of simulated follow-up: nothing starts or happens after it",
        "issue 2: positions followed from August 2019 to the end of 2024")
    median_years_by_size_class: dict = _param(
        lambda: {
            "<2000": 2.75,
            "2000-4999": round(2.75 * (8.37 / 2.75) ** 0.25, 3),
            "5000-9999": round(2.75 * (8.37 / 2.75) ** 0.50, 3),
            "10000-49999": round(2.75 * (8.37 / 2.75) ** 0.75, 3),
            ">=50000": 8.37,
        },
        "median contract duration (years) of the calibrated contract type, by municipality size class",
        "Abelsen, Gaski & Brandstorp 2015 (Tidsskr Nor Legeforen): 2.75 years under 2,000 inhabitants, "
        "8.37 years at 50,000 or more; middle classes interpolated geometrically (log-linear in class rank)",
        factory=True,
    )
    weibull_shape: float = _param(
        1.3, "Weibull shape of the exit hazard (1 = constant hazard; > 1 = rising with time in post)",
        ASSUMPTION + "; an ALIS signs up for a 5-year pathway, so very early exits are made rarer than "
        "under a constant hazard")
    calibrated_contract: str = _param(
        NAERING, "contract type whose medians equal the published ones",
        "the published durations describe ordinary GP list contracts, overwhelmingly self-employed (næring)")
    hazard_ratio_naering_vs_fastlonn: float = _param(
        1.3, "true hazard ratio of leaving on næring vs fastlønn (applied to the current contract type)",
        ASSUMPTION + "; a modest true effect so that the demo shows what adjustment for municipality size "
        "does (næring is more common in the large municipalities, which keep GPs longer)")
    refill_delay_months_min: int = _param(
        2, "shortest delay (whole months) before a vacated position is filled again",
        ASSUMPTION + "; NSDM 2018 and Abelsen 2015 report lists standing vacant for months to over a year")
    refill_delay_months_max: int = _param(
        9, "longest delay (whole months) before a vacated position is filled again; uniform in between",
        ASSUMPTION)
    refill_contract_change_probability: float = _param(
        0.15, "probability that the next holder of a position gets the other contract type",
        ASSUMPTION + "; seed 001: the project lets municipalities change the ALIS agreement type")
    switch_rate_naering_to_fastlonn: float = _param(
        0.08, "yearly rate of a switch from næring to fastlønn inside an episode (at most one per episode)",
        ASSUMPTION + "; seeds 000/001 allow switches either way with a documented reason")
    switch_rate_fastlonn_to_naering: float = _param(
        0.03, "yearly rate of a switch from fastlønn to næring inside an episode (at most one per episode)",
        ASSUMPTION + "; made rarer than the reverse, as salaried GPs rose from 14 % to 20.5 % 2019–2023")
    switch_notes_to_fastlonn: tuple = _param(
        (
            "Kommunen endret avtalen til fastlønn for å sikre rekruttering og stabilitet (vedtak i kommunen).",
            "ALIS ønsket fastlønn fordi listen er for kort til å gi forsvarlig inntekt i næring.",
            "Overgang til fastlønn etter avtale med ALIS-Nord; ledig hjemmel i kommunen ble omgjort.",
        ),
        "documented reasons written as the note of a switch to fastlønn (one drawn at random)",
        ASSUMPTION + "; seeds 000/001 require the reason for a switch to be documented",
    )
    switch_notes_to_naering: tuple = _param(
        (
            "ALIS overtok privat hjemmel (næring) etter eget ønske og avtale med kommunen.",
            "Listen har nådd full lengde; overgang til selvstendig næringsdrift etter søknad fra ALIS.",
        ),
        "documented reasons written as the note of a switch to næring (one drawn at random)",
        ASSUMPTION + "; seeds 000/001 require the reason for a switch to be documented",
    )
    end_reason_shares: dict = _param(
        lambda: {
            "other_gp_same_region": 0.30,
            "left_region": 0.30,
            "hospital": 0.10,
            "other_municipal": 0.10,
            "retired": 0.01,
            "other": 0.10,
            "unknown": 0.09,
        },
        "shares of the recorded end reasons of ended episodes",
        ASSUMPTION + "; no published split for ALIS; retirement is rare at ALIS ages",
        factory=True,
    )
    transfer_probability: float = _param(
        0.15, "probability that a refill is taken by an ALIS who left another ALIS unit (other_gp_same_region) "
        "within the last 12 months instead of by a new person",
        ASSUMPTION + "; makes a few persons appear in two episodes, as the raw contract allows")
    hospital_year_probability: float = _param(
        0.85, "probability that a new-scheme ALIS takes the hospital year during the ALIS-Nord episode "
        "(halved for the old scheme, many of whom had done it before)",
        "BRIEF: the hospital year is part of the 5-year pathway; the share done inside the episode is an assumption")
    hospital_year_from_years: float = _param(
        1.0, "earliest start of the hospital year, years after the training start",
        "ALIS-kontor (seed 002) plans the hospital year individually; typically in training years 2–4")
    hospital_year_to_years: float = _param(
        3.0, "latest start of the hospital year, years after the training start (uniform in between, "
        "moved to the first of a month)",
        "typically in training years 2–4 (seed 002, BRIEF)")
    hospital_year_months: int = _param(
        12, "length of the hospital year in months", "BRIEF: 1 year of hospital service (sykehusåret)")
    leave_probability: float = _param(
        0.20, "probability of one leave (e.g. parental leave) inside an episode",
        ASSUMPTION)
    leave_months_min: int = _param(3, "shortest leave (months)", ASSUMPTION)
    leave_months_max: int = _param(12, "longest leave (months); uniform in between", ASSUMPTION)
    training_years_new_scheme: float = _param(
        5.0, "normed training time to specialist approval under the new scheme (plus any leave)",
        "BRIEF: normed training time is 5 years")
    training_years_sd: float = _param(
        0.25, "standard deviation (years) of the time to specialist approval around the norm", ASSUMPTION)
    old_scheme_probability: float = _param(
        0.10, "probability that a new ALIS trains under the old specialist rules",
        "seed 002: doctors who started before 1 March 2019 may finish under the old scheme; ALIS-Nord "
        "selected for the new rules (seed 000), so only a few")
    old_scheme_years_to_approval_min: float = _param(
        1.0, "old scheme: earliest specialist approval, years after the ALIS-Nord start",
        ASSUMPTION + "; they arrive with training already done")
    old_scheme_years_to_approval_max: float = _param(
        4.5, "old scheme: latest approval, years after the start (uniform), and never after 28 February 2025",
        "seed 002: the old scheme closes on 1 March 2025")
    female_share: float = _param(
        0.55, "share of women (sex K) among the ALIS",
        ASSUMPTION + "; women are the majority of young doctors in Norway")
    age_at_start_mean: float = _param(33.0, "mean age at the start of an episode (years)", ASSUMPTION)
    age_at_start_sd: float = _param(4.0, "standard deviation of the age at start (years)", ASSUMPTION)
    age_at_start_min: int = _param(27, "youngest age at start (ages are clipped to this range)", ASSUMPTION)
    age_at_start_max: int = _param(55, "oldest age at start", ASSUMPTION)
    list_size_mean: float = _param(
        650.0, "mean list size at the start of an episode",
        "seed 000: list cap at start often 600; NSDM 2018: mean list 587 in the least central municipalities")
    list_size_sd: float = _param(120.0, "standard deviation of the list size", ASSUMPTION)
    list_size_min: int = _param(300, "smallest list size (clipped; rounded to 10)", ASSUMPTION)
    list_size_max: int = _param(1100, "largest list size (clipped; rounded to 10)", ASSUMPTION)
    planned_end_probability: float = _param(
        0.75, "probability that an episode whose simulated end falls within the planned-end horizon after "
        "the as-of date is written with that planned end date (it counts as ongoing)",
        ASSUMPTION + "; issue 2: a date after the as-of date is a planned end")
    planned_end_horizon_months: int = _param(
        12, "how far after the as-of date a simulated end may be known in advance (months)", ASSUMPTION)
    contract_synonym_probability: float = _param(
        0.10, "probability that contract_type is written as a synonym (f, n, fastlonn, naering, privat, ...)",
        "issue 2: real extracts use synonyms the validator must accept")
    municipality_name_probability: float = _param(
        0.06, "probability that municipality is written as a name instead of a code",
        "issue 2: the raw contract accepts names")

    def __post_init__(self):
        problems = []
        if not self.first_start_from <= self.first_start_to < self.as_of:
            problems.append("first_start_from <= first_start_to < as_of")
        medians = self.median_years_by_size_class
        if set(medians) != set(config.SIZE_CLASS_LABELS) or any(v <= 0 for v in medians.values()):
            problems.append(f"median_years_by_size_class with positive values for {config.SIZE_CLASS_LABELS}")
        if set(self.end_reason_shares) - set(config.END_REASONS) or not math.isclose(
            sum(self.end_reason_shares.values()), 1.0, abs_tol=1e-9
        ):
            problems.append(f"end_reason_shares over {config.END_REASONS} summing to 1")
        if self.calibrated_contract not in config.CONTRACT_TYPES:
            problems.append(f"calibrated_contract in {config.CONTRACT_TYPES}")
        if self.weibull_shape <= 0 or self.hazard_ratio_naering_vs_fastlonn <= 0:
            problems.append("positive weibull_shape and hazard_ratio_naering_vs_fastlonn")
        if not 0 <= self.refill_delay_months_min <= self.refill_delay_months_max:
            problems.append("0 <= refill_delay_months_min <= refill_delay_months_max")
        if not 0 < self.leave_months_min <= self.leave_months_max:
            problems.append("0 < leave_months_min <= leave_months_max")
        if not self.hospital_year_from_years <= self.hospital_year_to_years:
            problems.append("hospital_year_from_years <= hospital_year_to_years")
        if not self.age_at_start_min <= self.age_at_start_max or not self.list_size_min <= self.list_size_max:
            problems.append("min <= max for ages and list sizes")
        for f in dataclasses.fields(self):
            if f.name.endswith(("probability", "share")):
                value = getattr(self, f.name)
                if not 0 <= value <= 1:
                    problems.append(f"{f.name} between 0 and 1 (got {value})")
        if problems:
            raise AlisError("invalid synthetic parameters: expected " + "; ".join(problems))

    def to_json_dict(self) -> dict:
        """The parameters as plain JSON values (dates as ``YYYY-MM-DD``, tuples as lists)."""
        out = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, date):
                value = value.isoformat()
            elif isinstance(value, tuple):
                value = list(value)
            elif isinstance(value, dict):
                value = dict(value)
            out[f.name] = value
        return out


def parameters_table(params: SyntheticParameters | None = None) -> pd.DataFrame:
    """One row per parameter: ``parameter``, ``value``, ``meaning``, ``source``."""
    params = params or SyntheticParameters()
    values = params.to_json_dict()
    rows = [
        {
            "parameter": f.name,
            "value": json.dumps(values[f.name], ensure_ascii=False),
            "meaning": f.metadata["doc"],
            "source": f.metadata["source"],
        }
        for f in dataclasses.fields(params)
    ]
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- duration model


def weibull_scale(median_years: float, shape: float) -> float:
    r"""Scale :math:`\lambda` of a Weibull with the given median: :math:`m = \lambda (\ln 2)^{1/k}`."""
    return median_years / math.log(2.0) ** (1.0 / shape)


def _hazard_ratio(contract_type: str, params: SyntheticParameters) -> float:
    """Hazard multiplier of a contract type relative to the calibrated contract type."""
    to_naering = params.hazard_ratio_naering_vs_fastlonn  # fastlønn -> næring multiplier
    relative = {NAERING: to_naering, FASTLONN: 1.0}
    return relative[contract_type] / relative[params.calibrated_contract]


def _cumulative_baseline(t_years: float, scale: float, shape: float) -> float:
    return (t_years / scale) ** shape


def _exit_time(
    unit_exponential: float,
    scale: float,
    shape: float,
    ratio_before: float,
    switch_at: float | None,
    ratio_after: float,
) -> float:
    r"""Invert a piecewise proportional-hazards Weibull cumulative hazard.

    Before ``switch_at`` the cumulative hazard is :math:`r_1 (t/\lambda)^k`, after it
    :math:`r_1 (s/\lambda)^k + r_2 ((t/\lambda)^k - (s/\lambda)^k)`; the exit time solves
    :math:`H(t) = E` with :math:`E \sim \mathrm{Exp}(1)`.
    """
    if switch_at is not None:
        at_switch = ratio_before * _cumulative_baseline(switch_at, scale, shape)
        if unit_exponential > at_switch:
            baseline = _cumulative_baseline(switch_at, scale, shape) + (unit_exponential - at_switch) / ratio_after
            return scale * baseline ** (1.0 / shape)
    return scale * (unit_exponential / ratio_before) ** (1.0 / shape)


def draw_durations(
    size_class: str,
    n: int,
    rng: np.random.Generator,
    *,
    contract_type: str | None = None,
    params: SyntheticParameters | None = None,
) -> np.ndarray:
    """Draw ``n`` contract durations (years) from the exit model, without switches.

    Parameters
    ----------
    size_class : str
        One of ``config.SIZE_CLASS_LABELS``.
    n : int
        Number of durations.
    rng : numpy.random.Generator
        Source of randomness.
    contract_type : str, optional
        ``fastlønn`` or ``næring``; default the calibrated contract type, whose
        median is the published one for the size class.
    params : SyntheticParameters, optional

    Returns
    -------
    numpy.ndarray
        Durations in years; their median tends to ``median_years_by_size_class[size_class]``
        times ``hazard_ratio ** (-1 / weibull_shape)`` for the other contract type.
    """
    params = params or SyntheticParameters()
    if size_class not in params.median_years_by_size_class:
        raise AlisError(f"unknown size class {size_class!r}; expected one of {config.SIZE_CLASS_LABELS}")
    contract_type = contract_type or params.calibrated_contract
    if contract_type not in config.CONTRACT_TYPES:
        raise AlisError(f"unknown contract type {contract_type!r}; expected one of {config.CONTRACT_TYPES}")
    scale = weibull_scale(params.median_years_by_size_class[size_class], params.weibull_shape)
    ratio = _hazard_ratio(contract_type, params)
    return scale * (rng.standard_exponential(n) / ratio) ** (1.0 / params.weibull_shape)


def mixture_median(weights_by_size_class: dict, params: SyntheticParameters | None = None,
                   *, contract_type: str | None = None) -> float:
    r"""Median duration (years) of a mix of size classes under the exit model.

    Solves :math:`\sum_c w_c \exp(-r (t/\lambda_c)^k) = 1/2` by bisection, with the
    weights normalised to sum to one. Used to check the model against the NSDM 2018
    median for Northern Norway (3.8 years), which describes a mix of municipality sizes.

    Parameters
    ----------
    weights_by_size_class : dict
        Size-class label -> non-negative weight (e.g. number of municipalities).
    params : SyntheticParameters, optional
    contract_type : str, optional
        Default the calibrated contract type.
    """
    params = params or SyntheticParameters()
    unknown = set(weights_by_size_class) - set(params.median_years_by_size_class)
    total = float(sum(weights_by_size_class.values()))
    if unknown or total <= 0 or any(w < 0 for w in weights_by_size_class.values()):
        raise AlisError(
            f"weights_by_size_class must map size classes {config.SIZE_CLASS_LABELS} to non-negative weights "
            f"with a positive sum, got {weights_by_size_class!r}"
        )
    ratio = _hazard_ratio(contract_type or params.calibrated_contract, params)
    terms = [
        (w / total, weibull_scale(params.median_years_by_size_class[c], params.weibull_shape))
        for c, w in weights_by_size_class.items() if w > 0
    ]

    def survival(t: float) -> float:
        return sum(w * math.exp(-ratio * (t / scale) ** params.weibull_shape) for w, scale in terms)

    low, high = 0.0, max(scale for _, scale in terms) * 10.0
    for _ in range(200):
        middle = (low + high) / 2.0
        low, high = (middle, high) if survival(middle) > 0.5 else (low, middle)
    return (low + high) / 2.0


# --------------------------------------------------------------------------- calendar helpers


def _add_days(day: date, years: float) -> date:
    return day + timedelta(days=int(round(years * config.DAYS_PER_YEAR)))


def _add_months(day: date, months: int) -> date:
    month_index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(month_index, 12)
    month += 1
    # clip the day to the month's length (31 Jan + 1 month = 28/29 Feb)
    next_first = date(year + (month == 12), month % 12 + 1, 1)
    last_day = (next_first - timedelta(days=1)).day
    return date(year, month, min(day.day, last_day))


def _first_of_next_month(day: date) -> date:
    return day if day.day == 1 else _add_months(date(day.year, day.month, 1), 1)


def _uniform_date(rng: np.random.Generator, first: date, last: date) -> date:
    return first + timedelta(days=int(rng.integers(0, (last - first).days + 1)))


# --------------------------------------------------------------------------- geography


@dataclass(frozen=True)
class _Position:
    """One ALIS-Nord training position of the roster."""

    position_id: int
    unit: str
    area: str
    code_2024: str  # host municipality: the first code the unit covers
    contract_type: str  # contract type at the start in 2019


class _Geography:
    """The reference lookups the generator needs, resolved once per run."""

    def __init__(self):
        self._reference = reference
        self._municipalities = reference.load_municipalities().set_index("code_2024")
        self._history = reference.load_code_history()
        self._size_cache: dict[tuple[str, int], str] = {}

    def positions(self) -> list[_Position]:
        roster = self._reference.load_roster()
        positions = []
        for row in roster.itertuples(index=False):
            row_counts = dict(zip(config.CONTRACT_TYPES, (getattr(row, c) for c in config.CONTRACT_TYPES)))
            codes = [c.strip() for c in str(row.municipality_codes).split(";") if c.strip()]
            for contract_type in config.CONTRACT_TYPES:
                for _ in range(int(row_counts[contract_type])):
                    positions.append(_Position(len(positions) + 1, row.unit, row.area, codes[0], contract_type))
        return positions

    def size_class(self, code_2024: str, year: int) -> str:
        """Size class on 1 January of ``year``; the nearest later year when SSB has no figure."""
        key = (code_2024, year)
        if key not in self._size_cache:
            population = None
            for candidate in range(year, year + 6):
                try:
                    population = self._reference.population_at(code_2024, candidate)
                except (KeyError, LookupError, AlisError):
                    population = None
                if population is not None and not pd.isna(population) and population > 0:
                    break
            if population is None or pd.isna(population):
                raise AlisError(f"no SSB population for municipality {code_2024} in or after {year}")
            self._size_cache[key] = self._reference.size_class(population)
        return self._size_cache[key]

    def code_in_force(self, code_2024: str, year: int, unit: str) -> str:
        """The municipality code in force in ``year`` for the host of a unit.

        Codes with an explicit validity period that covers the year win over the
        current code (whose start is open in SSB's mapping); among several former
        municipalities merged into one, the one named first in the unit name is the host.
        """
        history = self._history[self._history["code_2024"].astype("string").eq(code_2024).fillna(False)]
        valid_from = pd.to_numeric(history["valid_from"], errors="coerce")
        valid_to = pd.to_numeric(history["valid_to"], errors="coerce")
        bounded = valid_from.notna() | valid_to.notna()
        covers = (valid_from.isna() | (valid_from <= year)) & (valid_to.isna() | (valid_to >= year))
        candidates = history[covers & bounded]
        if candidates.empty:
            candidates = history[covers]
        if candidates.empty:
            return code_2024
        unit_lower = unit.lower()

        def position_in_unit(name: str) -> int:
            found = [unit_lower.find(part.strip().lower()) for part in str(name).split(" - ")]
            found = [i for i in found if i >= 0]
            return min(found) if found else len(unit_lower) + 1

        ranked = sorted(candidates.itertuples(index=False), key=lambda r: (position_in_unit(r.name), r.code))
        return str(ranked[0].code)

    def name(self, code_2024: str) -> str:
        return str(self._municipalities.loc[code_2024, "name"])


# --------------------------------------------------------------------------- simulation

_SYNONYMS = {
    FASTLONN: ("f", "fastlonn", "ALIS-fastlønn"),
    NAERING: ("n", "naering", "privat", "selvstendig næringsdrivende"),
}


def _other(contract_type: str) -> str:
    return NAERING if contract_type == FASTLONN else FASTLONN


@dataclass
class _Episode:
    position: _Position
    start: date
    end: date  # simulated end; after as_of means ongoing at the as-of date
    contract_type: str  # at start
    size_class: str
    switch: tuple[date, str, str] | None = None  # (date, new contract type, note)
    end_reason: str | None = None
    first_of_position: bool = False
    person: int | None = None
    list_size: int = 0


@dataclass
class _Person:
    number: int
    sex: str
    birth_year: int
    scheme: str
    episodes: list[_Episode] = field(default_factory=list)


def _simulate_episode(
    position: _Position, start: date, contract_type: str, geography: _Geography,
    params: SyntheticParameters, rng: np.random.Generator,
) -> _Episode:
    """Draw one holder's time in post, with at most one contract switch."""
    size_class = geography.size_class(position.code_2024, start.year)
    scale = weibull_scale(params.median_years_by_size_class[size_class], params.weibull_shape)
    switch_rate = (
        params.switch_rate_naering_to_fastlonn if contract_type == NAERING else params.switch_rate_fastlonn_to_naering
    )
    switch_at = float(rng.exponential(1.0 / switch_rate)) if switch_rate > 0 else None
    new_type = _other(contract_type)
    years = _exit_time(
        float(rng.standard_exponential()), scale, params.weibull_shape,
        _hazard_ratio(contract_type, params), switch_at, _hazard_ratio(new_type, params),
    )
    end = max(_add_days(start, years), start + timedelta(days=1))
    episode = _Episode(position, start, end, contract_type, size_class)
    if switch_at is not None:
        switch_date = _add_days(start, switch_at)
        notes = params.switch_notes_to_fastlonn if new_type == FASTLONN else params.switch_notes_to_naering
        note = notes[int(rng.integers(len(notes)))]
        # only a switch strictly inside the observed episode is recorded
        if start < switch_date < end and switch_date <= params.as_of:
            episode.switch = (switch_date, new_type, note)
    if end <= params.as_of:
        reasons = list(params.end_reason_shares)
        shares = np.array([params.end_reason_shares[r] for r in reasons], dtype=float)
        episode.end_reason = reasons[int(rng.choice(len(reasons), p=shares / shares.sum()))]
    return episode


def _simulate_positions(
    positions: list[_Position], geography: _Geography, params: SyntheticParameters, rng: np.random.Generator,
) -> list[_Episode]:
    """Fill every position in autumn 2019 and refill it after each exit until the as-of date."""
    episodes = []
    for position in positions:
        start = _uniform_date(rng, params.first_start_from, params.first_start_to)
        contract_type = position.contract_type
        first = True
        while start <= params.as_of:
            episode = _simulate_episode(position, start, contract_type, geography, params, rng)
            episode.first_of_position = first
            episodes.append(episode)
            if episode.end > params.as_of:
                break
            first = False
            delay = int(rng.integers(params.refill_delay_months_min, params.refill_delay_months_max + 1))
            start = _add_months(episode.end, max(delay, 0)) + timedelta(days=1 if delay == 0 else 0)
            contract_type = episode.switch[1] if episode.switch else episode.contract_type
            if rng.random() < params.refill_contract_change_probability:
                contract_type = _other(contract_type)
    return episodes


def _new_person(number: int, start: date, params: SyntheticParameters, rng: np.random.Generator) -> _Person:
    sex = "K" if rng.random() < params.female_share else "M"
    age = int(round(rng.normal(params.age_at_start_mean, params.age_at_start_sd)))
    age = min(max(age, params.age_at_start_min), params.age_at_start_max)
    scheme = "old" if rng.random() < params.old_scheme_probability else "new"
    return _Person(number, sex, start.year - age, scheme)


def _assign_persons(
    episodes: list[_Episode], params: SyntheticParameters, rng: np.random.Generator,
) -> list[_Person]:
    """Give every episode a holder: a new person, or now and then an ALIS moving from another unit."""
    persons: list[_Person] = []
    ordered = sorted(episodes, key=lambda e: (e.start, e.position.position_id))
    for episode in ordered:
        person = None
        if not episode.first_of_position and rng.random() < params.transfer_probability:
            candidates = [
                p for p in persons
                if p.episodes[-1].end_reason == "other_gp_same_region"
                and p.episodes[-1].end < episode.start
                and (episode.start - p.episodes[-1].end).days <= 365
                and p.episodes[-1].position.unit != episode.position.unit
            ]
            if candidates:
                person = candidates[int(rng.integers(len(candidates)))]
        if person is None:
            person = _new_person(len(persons) + 1, episode.start, params, rng)
            persons.append(person)
        person.episodes.append(episode)
        episode.person = person.number
        size = rng.normal(params.list_size_mean, params.list_size_sd)
        episode.list_size = int(min(max(round(size / 10.0) * 10, params.list_size_min), params.list_size_max))
    return persons


def _observed_end(episode: _Episode, params: SyntheticParameters) -> date:
    return min(episode.end, params.as_of)


def _episode_containing(person: _Person, first: date, last: date, params: SyntheticParameters):
    """The person's episode that strictly contains [first, last] within the observed follow-up."""
    for episode in person.episodes:
        if episode.start < first and last < episode.end and last <= params.as_of:
            return episode
    return None


def _person_events(person: _Person, params: SyntheticParameters, rng: np.random.Generator) -> list[dict]:
    """Switches, leave, hospital year and specialist approval of one person."""
    pid = _person_id(person.number)
    events = []
    for episode in person.episodes:
        if episode.switch:
            when, new_type, note = episode.switch
            events.append(dict(person_id=pid, date=when, event="contract_switch", new_contract_type=new_type, note=note))

    training_start = person.episodes[0].start
    leaves = []
    for episode in person.episodes:
        if rng.random() >= params.leave_probability:
            continue
        months = int(rng.integers(params.leave_months_min, params.leave_months_max + 1))
        latest_start = _add_months(_observed_end(episode, params), -months) - timedelta(days=1)
        if latest_start <= episode.start + timedelta(days=30):
            continue
        leave_start = _uniform_date(rng, episode.start + timedelta(days=30), latest_start)
        leaves.append((leave_start, _add_months(leave_start, months)))

    if person.scheme == "old":
        approval_years = rng.uniform(params.old_scheme_years_to_approval_min, params.old_scheme_years_to_approval_max)
        approval = min(_add_days(training_start, approval_years), date(2025, 2, 28))
    else:
        approval_years = rng.normal(params.training_years_new_scheme, params.training_years_sd)
        leave_days = sum((end - start).days for start, end in leaves)
        approval = _add_days(training_start, approval_years) + timedelta(days=leave_days)

    hospital_probability = params.hospital_year_probability * (0.5 if person.scheme == "old" else 1.0)
    if rng.random() < hospital_probability:
        offset = rng.uniform(params.hospital_year_from_years, params.hospital_year_to_years)
        hospital_start = _first_of_next_month(_add_days(training_start, offset))
        hospital_end = _add_months(hospital_start, params.hospital_year_months)
        inside = _episode_containing(person, hospital_start, hospital_end, params) is not None
        # the hospital year is part of the training, so it ends before the approval
        if inside and hospital_end < approval:
            events.append(dict(person_id=pid, date=hospital_start, event="hospital_year_start"))
            events.append(dict(person_id=pid, date=hospital_end, event="hospital_year_end"))
            # leave is not taken during the hospital year
            leaves = [(s, e) for s, e in leaves if e < hospital_start or s > hospital_end]

    for leave_start, leave_end in leaves:
        events.append(dict(person_id=pid, date=leave_start, event="leave_start"))
        events.append(dict(person_id=pid, date=leave_end, event="leave_end"))

    if _episode_containing(person, approval, approval, params) is not None:
        events.append(dict(person_id=pid, date=approval, event="specialist_approved"))
    return events


def _person_id(number: int) -> str:
    return f"S{number:04d}"


def synthesize(seed: int = 2019, params: SyntheticParameters | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Simulate the ALIS-Nord positions and return raw ``(episodes, events)`` tables.

    Parameters
    ----------
    seed : int
        Seed of ``numpy.random.Generator(PCG64(seed))``; the same seed gives the same tables.
    params : SyntheticParameters, optional
        The model's assumptions; defaults documented in ``docs/synthetic_data.md``.

    Returns
    -------
    episodes, events : pandas.DataFrame
        All columns are text, exactly as written to ``episodes.csv`` and ``events.csv``
        (dates ``YYYY-MM-DD``, empty string for a missing value), sorted by person and date.
    """
    params = params or SyntheticParameters()
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise AlisError(f"seed must be a non-negative integer, got {seed!r}")
    rng = np.random.Generator(np.random.PCG64(int(seed)))
    geography = _Geography()
    episodes = _simulate_positions(geography.positions(), geography, params, rng)
    persons = _assign_persons(episodes, params, rng)

    episode_rows = []
    event_rows = []
    for person in persons:
        event_rows.extend(_person_events(person, params, rng))
        for episode in person.episodes:
            episode_rows.append(_episode_row(person, episode, geography, params, rng))

    episodes_frame = pd.DataFrame(episode_rows, columns=list(EPISODE_COLUMNS))
    episodes_frame = episodes_frame.sort_values(["person_id", "start_date"], kind="stable").reset_index(drop=True)
    events_frame = pd.DataFrame(event_rows, columns=list(EVENT_COLUMNS))
    events_frame["rank"] = events_frame["event"].map(_EVENT_ORDER)
    events_frame = events_frame.sort_values(["person_id", "date", "rank"], kind="stable").drop(columns="rank")
    events_frame["date"] = events_frame["date"].map(date.isoformat)
    events_frame = events_frame.fillna("").reset_index(drop=True)
    return episodes_frame, events_frame


def _episode_row(
    person: _Person, episode: _Episode, geography: _Geography, params: SyntheticParameters, rng: np.random.Generator,
) -> dict:
    code_2024 = episode.position.code_2024
    if rng.random() < params.municipality_name_probability:
        municipality = geography.name(code_2024)
    else:
        municipality = geography.code_in_force(code_2024, episode.start.year, episode.position.unit)
    contract_type = episode.contract_type
    if rng.random() < params.contract_synonym_probability:
        synonyms = _SYNONYMS[contract_type]
        contract_type = synonyms[int(rng.integers(len(synonyms)))]
    end_date = ""
    if episode.end <= params.as_of:
        end_date = episode.end.isoformat()
    elif episode.end <= _add_months(params.as_of, params.planned_end_horizon_months):
        if rng.random() < params.planned_end_probability:
            end_date = episode.end.isoformat()  # a planned end: still ongoing at the as-of date
    return dict(
        person_id=_person_id(person.number),
        municipality=municipality,
        contract_type=contract_type,
        start_date=episode.start.isoformat(),
        end_date=end_date,
        end_reason=episode.end_reason or "",
        programme=config.DEFAULT_PROGRAMME,
        sex=person.sex,
        birth_year=str(person.birth_year),
        scheme=person.scheme,
        list_size=str(episode.list_size),
    )


# --------------------------------------------------------------------------- writing


def dataset_metadata(seed: int, params: SyntheticParameters) -> dict:
    """The ``dataset.json`` document marking a folder as synthetic and recording how it was made."""
    return {
        "synthetic": True,
        "generator": GENERATOR_NAME,
        "seed": int(seed),
        "package_version": __version__,
        "true_effect": {
            "hazard_ratio_naering_vs_fastlonn": params.hazard_ratio_naering_vs_fastlonn,
            "description": (
                "The data were simulated with a true hazard ratio of leaving on næring vs fastlønn of "
                f"{params.hazard_ratio_naering_vs_fastlonn} (current contract type), on top of a baseline "
                "that depends on municipality size only."
            ),
        },
        "parameters": params.to_json_dict(),
    }


def _csv_text(frame: pd.DataFrame) -> str:
    return frame.to_csv(index=False, lineterminator="\n")


def write_synthetic(out_dir: str | os.PathLike, *, seed: int = 2019, params: SyntheticParameters | None = None) -> Path:
    """Write ``episodes.csv``, ``events.csv`` and ``dataset.json`` to ``out_dir`` atomically.

    The files are built in a temporary sibling folder that then replaces ``out_dir``
    (:func:`alis_research.data.io.atomic_output_dir`),
    so an interrupted run leaves any previous dataset intact. A folder that holds
    anything but a synthetic dataset is never overwritten.

    Returns
    -------
    pathlib.Path
        The dataset folder.
    """
    return write_synthetic_tables(out_dir, seed=seed, params=params)[0]


def write_synthetic_tables(out_dir, *, seed: int = 2019, params: SyntheticParameters | None = None
                           ) -> tuple[Path, pd.DataFrame, pd.DataFrame]:
    """:func:`write_synthetic`, also returning the episodes and events written."""
    params = params or SyntheticParameters()
    out_dir = Path(out_dir)
    _refuse_non_synthetic(out_dir)
    episodes, events = synthesize(seed, params)
    contents = {
        "episodes.csv": _csv_text(episodes),
        "events.csv": _csv_text(events),
        "dataset.json": json.dumps(dataset_metadata(seed, params), ensure_ascii=False, indent=2) + "\n",
    }
    with io.atomic_output_dir(out_dir) as staging:
        for name, text in contents.items():
            # the folder swap is the atomic step; a plain write keeps the user's usual file mode
            # (io.atomic_write_text's mkstemp would leave the committed demo files 0600)
            (staging / name).write_bytes(text.encode("utf-8"))
    return out_dir, episodes, events


def _refuse_non_synthetic(out_dir: Path) -> None:
    if not out_dir.exists():
        return
    if not out_dir.is_dir():
        raise AlisError(f"{out_dir} exists and is not a folder; choose another --out")
    entries = sorted(p.name for p in out_dir.iterdir())
    if not entries:
        return
    try:
        synthetic = io.read_dataset_metadata(out_dir).get("synthetic") is True
    except AlisError:
        synthetic = False  # unreadable dataset.json: not ours to overwrite
    foreign = [name for name in entries if name not in OUTPUT_FILES]
    if not synthetic or foreign:
        raise AlisError(
            f"{out_dir} already holds data that is not a synthetic dataset made by this command "
            f"(files: {', '.join(entries)}); refusing to overwrite it. Choose an empty or new folder with --out."
        )
