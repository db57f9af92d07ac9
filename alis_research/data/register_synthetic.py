"""A synthetic national GP-register extract (monthly list snapshots), calibrated to Abelsen et al. 2015.

``alis-research synthesize-register --seed N --out DIR`` writes ``snapshots.csv``,
``doctors.csv`` and ``dataset.json`` (``"synthetic": true``) in the register
contract of ``docs/register.md``. With the defaults (5,000 lists, 25 years
to December 2024) that is 1.5 million monthly rows: a demo, a test bed for the
episode building and a benchmark. The same seed gives byte-identical files.

The model, list by list (all draws from one ``numpy`` generator in a fixed order):

* **Lists** are spread over the 357 municipalities of 2024 in proportion to
  population divided by the mean list length of the size class (small
  municipalities have shorter lists, NSDM 2018), at least one per municipality.
* **Holders** follow each other on a list: a vacancy (none, or a geometric
  number of months, longer in small municipalities and growing after 2019),
  then a holder whose time in post is Weibull with the median of the size class
  of the municipality in the start year, stretched a little for women and for
  doctors older at start (Abelsen et al. 2015 found both last longer).
  The process starts 30 years before the extract so that the lists at its
  start are occupied as in a steady state.
* **Codes** are those in force in each month: pre-2020 codes up to 2019, the
  2020 reform codes (54xx in Troms og Finnmark) 2020-2023 and the 2024 codes
  from 2024; before 2018, the first year of the shipped code history, the 2018
  code is used. A list in a merged municipality keeps one of the former codes.
* **Practice form**: næring mostly; fastlønn at start with a probability that
  is higher in small municipalities and rises with the calendar year; some
  fastlønn holders switch to næring after 2-4 years (as ALIS often do after
  training), a few næring holders the other way.
"""
from __future__ import annotations

import json
from collections import deque
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from . import io
from ..config import SIZE_CLASS_BREAKS, SIZE_CLASS_LABELS
from ..errors import AlisError

GENERATOR_NAME = "alis-research synthesize-register"
OUTPUT_FILES = ("snapshots.csv", "doctors.csv", "dataset.json")
#: First year of the shipped municipal code history: months before it carry the code of this year.
FIRST_CODE_YEAR = 2018
_MONTH_EPOCH_YEAR = 1970


@dataclass(frozen=True)
class RegisterParameters:
    """The assumptions of the synthetic register (indexed by size class where a tuple, in
    :data:`alis_research.config.SIZE_CLASS_LABELS` order)."""

    #: Median time in post (years) by size class of the municipality in the start year. The two ends are
    #: Abelsen et al. 2015 (2.75 under 2,000 inhabitants, 8.37 at 50,000 or more); the middle classes were
    #: chosen so that the national median of contracts comes out near the published 5.91 years.
    median_years: tuple = (2.8, 3.9, 5.0, 6.4, 8.25)
    #: Weibull shape of the time in post (hazard rising slowly with time).
    weibull_shape: float = 1.15
    #: Time stretch for women (Abelsen et al.: contracts of women last longer).
    women_time_ratio: float = 1.08
    #: Time stretch per year of age at start above 37 (older doctors stay longer).
    age_time_ratio_per_year: float = 1.01
    #: Mean list length (patients) by size class (NSDM 2018: 587 least, 1,184 most central).
    mean_list_size: tuple = (550, 750, 900, 1050, 1150)
    #: Probability that a new holder takes over without a vacant month, by size class.
    immediate_takeover: tuple = (0.25, 0.45, 0.55, 0.65, 0.75)
    #: Mean length (months) of a vacancy when there is one, by size class, before 2020.
    mean_vacancy_months: tuple = (12.0, 6.0, 4.0, 3.0, 2.0)
    #: Vacancies grow by this fraction per year after 2019 (lists without a GP: 2.5 % in 2019, 6 % in 2023).
    vacancy_growth_per_year: float = 0.8
    #: Probability of fastlønn at start in 2019, by size class.
    fastlonn_at_start_2019: tuple = (0.66, 0.50, 0.36, 0.24, 0.15)
    #: Change of the log-odds of fastlønn at start per calendar year (salaried GPs 14 % 2019, 20.5 % 2023).
    fastlonn_log_odds_per_year: float = 0.15
    #: Probability that a fastlønn holder still in post after 2 years switches to næring at 2-4 years.
    fastlonn_to_naering: float = 0.30
    #: Probability that a næring holder switches to fastlønn some time in post.
    naering_to_fastlonn: float = 0.02
    #: Share of women among new holders in 2000 and the yearly rise.
    women_share_2000: float = 0.30
    women_share_rise_per_year: float = 0.011
    #: Share of new holders who held another list in the last 12 months (doctors moving between lists).
    moving_doctor_share: float = 0.15
    #: Share of holdings with one month without a registered holder inside (bridged by the gap rule).
    interior_gap_share: float = 0.03
    #: Age at which every holder has left the list.
    retirement_age: int = 70
    #: Years simulated before the extract starts (the lists are in a steady state at its start).
    burn_in_years: int = 30
    sources: dict = field(default_factory=lambda: {
        "median_years": "Abelsen, Gaski, Brandstorp, Tidsskr Nor Legeforen 2015 (ends); middle classes tuned",
        "mean_list_size": "NSDM 2018, Fastlegetjenesten i Nord-Norge",
        "vacancy": "BRIEF: lists without a permanent GP 2.5 % (2019) to 6.0 % (2023), 16-18 % under 2,000",
        "fastlonn": "BRIEF: salaried GPs 14 % (2019) to 20.5 % (2023); more common in small municipalities",
    })


def _size_class_index(population: np.ndarray) -> np.ndarray:
    return np.clip(np.searchsorted(np.asarray(SIZE_CLASS_BREAKS, dtype=float), population, side="right") - 1,
                   0, len(SIZE_CLASS_LABELS) - 1)


def _parse_end(end: str) -> int:
    try:
        year, month = (int(part) for part in str(end).split("-"))
        if not 1 <= month <= 12:
            raise ValueError
    except ValueError:
        raise AlisError(f"end {end!r}: expected a month YYYY-MM, e.g. 2024-12") from None
    return (year - _MONTH_EPOCH_YEAR) * 12 + month - 1


def _codes_by_year(codes_2024, history: pd.DataFrame) -> dict[str, list[list[str]]]:
    """Candidate codes in force for each 2024 municipality in each year 2018-2024 (a split code when no other).

    The history is filtered once per year, not once per municipality and year (that took seconds)."""
    valid_from, valid_to = history["valid_from"].fillna(0), history["valid_to"].fillna(9999)
    split_into = history["split_into"].fillna("").astype(str)
    candidates: dict[str, list[list[str]]] = {code: [] for code in codes_2024}
    for year in range(FIRST_CODE_YEAR, 2025):
        in_force = (valid_from <= year) & (valid_to >= year)
        own: dict = {}
        split: dict = {}
        for code, code_2024, parts in zip(history["code"][in_force], history["code_2024"][in_force],
                                          split_into[in_force]):
            own.setdefault(code_2024, []).append(code)
            for part in set(parts.split(";")):
                split.setdefault(part, []).append(code)
        for code_2024, per_year in candidates.items():
            found = sorted(own.get(code_2024) or split.get(code_2024, []))
            if not found:
                raise AlisError(f"code history: no code in force in {year} for municipality {code_2024}")
            per_year.append(found)
    return candidates


def _allocate_lists(lists: int, weights: np.ndarray) -> np.ndarray:
    """At least one list per municipality, the rest by largest remainder of the weights."""
    if lists < len(weights):
        raise AlisError(f"--lists must be at least {len(weights)} (one per municipality), got {lists}")
    share = weights / weights.sum() * (lists - len(weights))
    counts = np.floor(share).astype(np.int64)
    remainder = lists - len(weights) - counts.sum()
    order = np.lexsort((np.arange(len(weights)), -(share - counts)))
    counts[order[:remainder]] += 1
    return counts + 1


def synthesize_register(seed: int, *, lists: int = 5000, years: int = 25, end: str = "2024-12",
                        params: RegisterParameters | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Draw a synthetic register extract.

    Parameters
    ----------
    seed
        Seed of the random generator; the same seed gives the same frames.
    lists
        Number of GP lists (at least one per municipality, 357).
    years
        Length of the extract in years (months ``end`` - 12·years + 1 … ``end``).
    end
        Last month, ``YYYY-MM``.

    Returns
    -------
    snapshots, doctors
        ``snapshots``: text columns ``month``, ``list_id``, ``doctor_id`` (empty for
        a month without a holder), ``municipality`` (code in force that month),
        ``list_size``, ``practice_form``, ordered by month and list; ``doctors``:
        ``doctor_id``, ``sex``, ``birth_year``.
    """
    from ..reference import load_code_history, load_municipalities
    from .register_timeline import reference_lookups

    params = params or RegisterParameters()
    if years < 1:
        raise AlisError(f"--years must be at least 1, got {years}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise AlisError(f"--seed must be a non-negative integer, got {seed!r}")
    rng = np.random.default_rng(seed)
    last_month = _parse_end(end)
    first_month = last_month - 12 * years + 1
    origin = first_month - 12 * params.burn_in_years

    lookups = reference_lookups()
    population = lookups["population"]
    municipalities = load_municipalities().sort_values("code_2024")
    codes = municipalities["code_2024"].to_numpy(dtype=object)
    pop_years = population.columns.to_numpy()
    grid = population.reindex(codes).to_numpy(dtype=float)
    end_year = min(max(1970 + last_month // 12, pop_years[0]), pop_years[-1])
    pop_end = grid[:, end_year - pop_years[0]]
    mean_size = np.asarray(params.mean_list_size, dtype=float)
    counts = _allocate_lists(lists, pop_end / mean_size[_size_class_index(pop_end)])
    list_muni = np.repeat(np.arange(len(codes)), counts)
    n_lists = len(list_muni)
    base_size = np.maximum(50, np.round(mean_size[_size_class_index(pop_end[list_muni])]
                                        * rng.lognormal(0.0, 0.2, n_lists))).astype(np.int64)

    spells = _draw_holdings(rng, params, list_muni, grid, pop_years, origin, last_month)
    doctors = _assign_doctors(rng, params, spells)
    rows = _monthly_rows(rng, params, spells, doctors, list_muni, base_size, first_month, last_month)

    history = load_code_history()
    by_code = _codes_by_year(codes, history)
    by_year = [by_code[code] for code in codes]
    pick = rng.random(n_lists)
    code_table = np.empty((n_lists, 2025 - FIRST_CODE_YEAR), dtype=object)
    for lst in range(n_lists):
        for column, candidates in enumerate(by_year[list_muni[lst]]):
            code_table[lst, column] = candidates[int(pick[lst] * len(candidates))]
    year_column = np.clip(1970 + rows["month"] // 12 - FIRST_CODE_YEAR, 0, code_table.shape[1] - 1)

    width = max(4, len(str(n_lists)))
    list_labels = np.array([f"L{number:0{width}d}" for number in range(1, n_lists + 1)], dtype=object)
    months = np.arange(first_month, last_month + 1)
    month_labels = np.array([f"{1970 + m // 12:04d}-{m % 12 + 1:02d}" for m in months], dtype=object)
    doctor_width = max(6, len(str(len(doctors["sex"]))))
    doctor_labels = np.array([f"D{number:0{doctor_width}d}" for number in range(1, len(doctors["sex"]) + 1)] + [""],
                             dtype=object)
    snapshots = pd.DataFrame({
        "month": month_labels[rows["month"] - first_month],
        "list_id": list_labels[rows["list"]],
        "doctor_id": doctor_labels[rows["doctor"]],
        "municipality": code_table[rows["list"], year_column],
        "list_size": rows["list_size"].astype(str),
        "practice_form": np.array(["fastlønn", "næring", ""], dtype=object)[rows["form"]],
    })
    used = np.unique(rows["doctor"][rows["doctor"] >= 0])
    doctor_table = pd.DataFrame({
        "doctor_id": doctor_labels[used],
        "sex": np.array(["K", "M"], dtype=object)[doctors["sex"][used]],
        "birth_year": doctors["birth_year"][used].astype(str),
    })
    return snapshots, doctor_table


def _draw_holdings(rng, params, list_muni, grid, pop_years, origin, last_month) -> dict:
    """Holders one after another on every list, in rounds (each round one vacancy + one holding per list)."""
    n_lists = len(list_muni)
    shape = params.weibull_shape
    scales = np.asarray(params.median_years) / math.log(2.0) ** (1.0 / shape)
    takeover = np.asarray(params.immediate_takeover)
    vacancy = np.asarray(params.mean_vacancy_months)
    cursor = np.full(n_lists, origin, dtype=np.int64)
    out = {name: [] for name in ("list", "start", "end", "size_class", "woman", "age")}
    active = np.arange(n_lists)
    first_round = True
    while len(active):
        year = 1970 + cursor[active] // 12
        pop = grid[list_muni[active], np.clip(year - pop_years[0], 0, len(pop_years) - 1)]
        klass = _size_class_index(pop)
        growth = 1.0 + params.vacancy_growth_per_year * np.clip(year - 2019, 0, None)
        mean_gap = vacancy[klass] * growth
        gap = np.where(rng.random(len(active)) < takeover[klass], 0,
                       rng.geometric(1.0 / np.maximum(mean_gap, 1.0)))
        if first_round:
            gap[:] = 0
            first_round = False
        start = cursor[active] + gap
        start_year = 1970 + start // 12
        pop = grid[list_muni[active], np.clip(start_year - pop_years[0], 0, len(pop_years) - 1)]
        klass = _size_class_index(pop)
        women_share = np.clip(params.women_share_2000 + params.women_share_rise_per_year * (start_year - 2000),
                              0.05, 0.75)
        woman = rng.random(len(active)) < women_share
        age = np.clip(np.round(28 + rng.gamma(2.0, 4.5, len(active))), 26, 66).astype(np.int64)
        stretch = np.where(woman, params.women_time_ratio, 1.0) * params.age_time_ratio_per_year ** (age - 37)
        years_in_post = scales[klass] * stretch * rng.weibull(shape, len(active))
        months_in_post = np.maximum(1, np.round(years_in_post * 12)).astype(np.int64)
        # nobody holds a list past 70 (retirement)
        months_in_post = np.maximum(1, np.minimum(months_in_post, (params.retirement_age - age) * 12))
        end = start + months_in_post - 1
        for name, values in (("list", active), ("start", start), ("end", end), ("size_class", klass),
                             ("woman", woman), ("age", age)):
            out[name].append(values)
        cursor[active] = end + 1
        active = active[cursor[active] <= last_month]
    spells = {name: np.concatenate(values) for name, values in out.items()}
    keep = spells["start"] <= last_month
    spells = {name: values[keep] for name, values in spells.items()}
    order = np.lexsort((spells["list"], spells["start"]))
    return {name: values[order] for name, values in spells.items()}


def _assign_doctors(rng, params, spells) -> dict:
    """A doctor per holding: mostly new, sometimes one who left another list in the last 12 months."""
    n = len(spells["start"])
    doctor = np.empty(n, dtype=np.int64)
    moving = rng.random(n) < params.moving_doctor_share
    sexes, births = [], []
    free: deque = deque()  # (end month, doctor) of doctors whose holding ended, in end order
    pending = np.argsort(spells["end"], kind="stable")
    released = 0
    for index in range(n):  # holdings are in start order
        start = spells["start"][index]
        while released < n and spells["end"][pending[released]] < start:
            done = pending[released]
            if done < index:
                free.append((int(spells["end"][done]), int(doctor[done])))
            released += 1
        chosen = None
        if moving[index]:
            while free and free[0][0] < start - 12:
                free.popleft()
            if free:
                chosen = free.popleft()[1]
                year_of_birth = births[chosen]
                if 1970 + start // 12 - year_of_birth > 55:
                    chosen = None  # doctors near retirement do not take a new list
                else:
                    # the moving doctor's own age decides retirement, not the one drawn for the holding
                    retire = (year_of_birth + params.retirement_age - 1970) * 12 - 1
                    spells["end"][index] = max(start, min(spells["end"][index], retire))
        if chosen is None:
            chosen = len(sexes)
            sexes.append(0 if spells["woman"][index] else 1)
            births.append(int(1970 + start // 12 - spells["age"][index]))
        doctor[index] = chosen
    return {"doctor": doctor, "sex": np.asarray(sexes, dtype=np.int64), "birth_year": np.asarray(births, dtype=np.int64)}


def _monthly_rows(rng, params, spells, doctors, list_muni, base_size, first_month, last_month) -> dict:
    """One row per list and month of the extract: the holder (or none), list size and practice form."""
    n_lists = len(list_muni)
    n_months = last_month - first_month + 1
    lst = np.repeat(np.arange(n_lists), n_months)
    month = np.tile(np.arange(first_month, last_month + 1), n_lists)
    order = np.lexsort((spells["start"], spells["list"]))
    s_list, s_start, s_end = spells["list"][order], spells["start"][order], spells["end"][order]
    span = last_month + 1 - (spells["start"].min() if len(s_start) else 0) + 1
    offset = spells["start"].min() if len(s_start) else 0
    spell_key = s_list * span + (s_start - offset)
    row_key = lst * span + (month - offset)
    position = np.searchsorted(spell_key, row_key, side="right") - 1
    valid = position >= 0
    position = np.maximum(position, 0)
    held = valid & (s_list[position] == lst) & (s_end[position] >= month)

    n_spells = len(s_start)
    klass = spells["size_class"][order]
    start_year = 1970 + s_start // 12
    odds = np.asarray(params.fastlonn_at_start_2019)[klass]
    log_odds = np.log(odds / (1 - odds)) + params.fastlonn_log_odds_per_year * (start_year - 2019)
    fastlonn = rng.random(n_spells) < 1 / (1 + np.exp(-log_odds))
    length = s_end - s_start + 1
    switch_at = np.full(n_spells, np.iinfo(np.int64).max)
    to_naering = fastlonn & (length > 24) & (rng.random(n_spells) < params.fastlonn_to_naering)
    switch_at[to_naering] = s_start[to_naering] + rng.integers(24, 49, to_naering.sum())
    to_fastlonn = ~fastlonn & (length > 12) & (rng.random(n_spells) < params.naering_to_fastlonn)
    switch_at[to_fastlonn] = s_start[to_fastlonn] + (rng.random(to_fastlonn.sum()) * (length[to_fastlonn] - 1)
                                                     ).astype(np.int64) + 1
    interior = (length >= 6) & (rng.random(n_spells) < params.interior_gap_share)
    gap_month = np.where(interior, s_start + 1 + (rng.random(n_spells) * (length - 2)).astype(np.int64), -1)
    start_fraction = rng.uniform(0.6, 0.95, n_spells)

    spell_doctor = doctors["doctor"][order]
    doctor = np.where(held, spell_doctor[position], -1)
    in_gap = held & (gap_month[position] == month)
    doctor[in_gap] = -1
    form_start = np.where(fastlonn, 0, 1)[position]
    switched = held & (month >= switch_at[position])
    form = np.where(held, np.where(switched, 1 - form_start, form_start), 2)
    form[in_gap] = 2
    elapsed = np.clip(month - s_start[position], 0, 36)
    growth = start_fraction[position] + (1 - start_fraction[position]) * elapsed / 36
    size = np.where(held, base_size[lst] * growth, base_size[lst] * 0.95)
    size = np.round(size * rng.normal(1.0, 0.01, len(size))).astype(np.int64)
    by_month = np.lexsort((lst, month))
    return {"month": month[by_month], "list": lst[by_month], "doctor": doctor[by_month],
            "list_size": np.maximum(size[by_month], 0), "form": form[by_month]}


def write_register(out, snapshots: pd.DataFrame, doctors: pd.DataFrame, metadata: dict) -> Path:
    """Write an extract folder atomically (UTF-8, ``,``, ``\\n`` line ends)."""
    out = Path(out)
    with io.atomic_output_dir(out) as tmp:
        io.atomic_write_text(tmp / "snapshots.csv", snapshots.to_csv(index=False, lineterminator="\n"))
        io.atomic_write_text(tmp / "doctors.csv", doctors.to_csv(index=False, lineterminator="\n"))
        io.atomic_write_text(tmp / "dataset.json", json.dumps(metadata, ensure_ascii=False, indent=2,
                                                              sort_keys=True) + "\n")
    return out
