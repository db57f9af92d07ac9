"""Snapshots to contract episodes to counting-process intervals.

:func:`register_episodes` turns validated register snapshots (:func:`alis_research.data.register.load_register`)
into contract episodes (one doctor on one list in one harmonised 2024 municipality over
contiguous months) with a sort, a difference and a cumulative sum; :func:`register_intervals`
gives the counting-process intervals (one row per stretch of one practice form), the shape of
``docs/architecture.md``. :func:`register_episodes_loop` is the plain per-doctor loop kept as a
reference for tests and the benchmark. Definitions: ``docs/register.md``.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..config import DAYS_PER_YEAR, SIZE_CLASS_BREAKS, SIZE_CLASS_LABELS
from ..errors import AlisError
from .register_extract import month_label

# --------------------------------------------------------------------------- episodes
#: Default bridge: up to this many missing months inside a doctor's run on a list do not end the episode.
DEFAULT_MAX_GAP_MONTHS = 3
EPISODE_COLUMNS = (
    "episode_id", "doctor_id", "list_id", "municipality_code", "municipality_name", "start_month", "end_month",
    "start_date", "stop_date", "exit", "duration", "started_before_extract", "cohort", "contract_type_end",
    "n_switches", "list_size", "sex", "birth_year", "age_at_start", "start_year", "population", "size_class",
    "centrality", "area",
)
INTERVAL_COLUMNS = (
    "episode_id", "doctor_id", "list_id", "municipality_code", "area", "cohort", "contract_type", "start", "stop",
    "start_date", "stop_date", "exit", "size_class", "population", "centrality", "sex", "age_at_start", "list_size",
)


def _month_index(months: pd.Series) -> np.ndarray:
    """Months since January 1970 of a datetime64 (or ``YYYY-MM`` text) column."""
    if not pd.api.types.is_datetime64_any_dtype(months):
        months = pd.to_datetime(months.astype(str), format="%Y-%m")
    return months.to_numpy().astype("datetime64[M]").astype(np.int64)


def _ranked_codes(column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes whose order is the lexicographic order of the values (NaN -> -1), and the labels."""
    categorical = column if isinstance(column.dtype, pd.CategoricalDtype) else column.astype("category")
    categories = np.asarray(categorical.cat.categories.astype(str), dtype=object)
    order = np.argsort(categories, kind="stable")
    rank = np.empty(len(categories), dtype=np.int64)
    rank[order] = np.arange(len(categories))
    codes = categorical.cat.codes.to_numpy().astype(np.int64)
    ranked = np.where(codes >= 0, rank[np.maximum(codes, 0)] if len(rank) else -1, -1)
    return ranked, categories[order]


def _extract_bounds(snapshots: pd.DataFrame, extract_end) -> tuple[int, int]:
    months = _month_index(snapshots["month"])
    first = int(months.min())
    last = int(months.max()) if extract_end is None else int(np.datetime64(str(extract_end)[:7], "M").astype(np.int64))
    return first, last


def _segment(snapshots: pd.DataFrame, max_gap_months: int):
    """Sort held rows by (doctor, list, municipality, month) and number the episodes and practice-form runs."""
    if max_gap_months < 0:
        raise AlisError(f"max_gap_months must be 0 or more, got {max_gap_months}")
    held = snapshots["doctor_id"].notna().to_numpy()
    doctor, doctor_labels = _ranked_codes(snapshots["doctor_id"])
    list_id, list_labels = _ranked_codes(snapshots["list_id"])
    muni, muni_labels = _ranked_codes(snapshots["municipality_code"])
    form, form_labels = _ranked_codes(snapshots["practice_form"])
    month = _month_index(snapshots["month"])
    rows = np.flatnonzero(held)
    order = rows[np.lexsort((month[rows], muni[rows], list_id[rows], doctor[rows]))]
    d, li, mu, mo, fo = doctor[order], list_id[order], muni[order], month[order], form[order]
    new = np.ones(len(order), dtype=bool)
    if len(order) > 1:
        # missing months strictly greater than max_gap_months end the episode
        new[1:] = (d[1:] != d[:-1]) | (li[1:] != li[:-1]) | (mu[1:] != mu[:-1]) | (mo[1:] - mo[:-1] - 1 > max_gap_months)
    run_new = new.copy()
    if len(order) > 1:
        run_new[1:] |= fo[1:] != fo[:-1]
    return {
        "order": order, "new": new, "run_new": run_new, "doctor": d, "list": li, "muni": mu, "month": mo,
        "form": fo, "labels": {"doctor": doctor_labels, "list": list_labels, "muni": muni_labels,
                               "form": form_labels},
    }


def _core_from_segments(snapshots: pd.DataFrame, seg: dict) -> pd.DataFrame:
    """One row per episode: identity, first and last month, attributes at start, practice forms."""
    order, new = seg["order"], seg["new"]
    starts = np.flatnonzero(new)
    ends = np.append(starts[1:] - 1, len(order) - 1) if len(starts) else starts
    labels = seg["labels"]
    changes = (seg["run_new"] & ~new).astype(np.int64)
    first_rows = order[starts]
    return pd.DataFrame({
        "doctor_id": labels["doctor"][seg["doctor"][starts]] if len(starts) else np.array([], dtype=object),
        "list_id": labels["list"][seg["list"][starts]] if len(starts) else np.array([], dtype=object),
        "municipality_code": labels["muni"][seg["muni"][starts]] if len(starts) else np.array([], dtype=object),
        "start_month": seg["month"][starts],
        "end_month": seg["month"][ends],
        "cohort": labels["form"][seg["form"][starts]] if len(starts) else np.array([], dtype=object),
        "contract_type_end": labels["form"][seg["form"][ends]] if len(starts) else np.array([], dtype=object),
        "n_switches": np.add.reduceat(changes, starts) if len(starts) else np.array([], dtype=np.int64),
        "list_size": snapshots["list_size"].to_numpy()[first_rows],
        "sex": _column_or_na(snapshots, "sex", first_rows),
        "birth_year": _column_or_na(snapshots, "birth_year", first_rows),
    })


def _column_or_na(snapshots: pd.DataFrame, name: str, rows: np.ndarray) -> np.ndarray:
    if name not in snapshots.columns:
        return np.full(len(rows), None, dtype=object)
    values = snapshots[name].to_numpy(dtype=object, na_value=None) if name == "birth_year" else \
        np.asarray(snapshots[name].astype(object), dtype=object)
    return values[rows]


def reference_lookups() -> dict:
    """Municipality attributes and a (code, year) population grid with gaps filled from the nearest year."""
    from ..reference import load_municipalities, load_population

    municipalities = load_municipalities().set_index("code_2024")
    population = load_population().pivot(index="code_2024", columns="year", values="population")
    population = population.reindex(columns=range(population.columns.min(), population.columns.max() + 1))
    population = population.ffill(axis=1).bfill(axis=1)
    return {"municipalities": municipalities, "population": population}


def _finish_episodes(core: pd.DataFrame, first_month: int, last_month: int, max_gap_months: int) -> pd.DataFrame:
    """Order, number and describe episodes (shared by the vectorised and the loop version).

    The extract's edges are treated like the gap rule: an episode whose last month is within
    ``max_gap_months`` of the extract's last month could continue after it (the missing months
    would be bridged), so it is censored, not an exit; one whose first month is within
    ``max_gap_months`` of the extract's first month could continue an older holding, so its
    true start is unknown (``started_before_extract``).
    """
    core = core.sort_values(["doctor_id", "start_month", "list_id", "municipality_code"], kind="stable")
    core = core.reset_index(drop=True)
    width = max(6, len(str(len(core))))
    episodes = pd.DataFrame({"episode_id": [f"R{number:0{width}d}" for number in range(1, len(core) + 1)]})
    for name in ("doctor_id", "list_id", "municipality_code"):
        episodes[name] = core[name].astype(object)
    lookups = reference_lookups()
    municipalities = lookups["municipalities"]
    episodes["municipality_name"] = municipalities["name"].reindex(core["municipality_code"]).to_numpy(dtype=object)
    start_month = core["start_month"].to_numpy(np.int64)
    end_month = core["end_month"].to_numpy(np.int64)
    episodes["start_month"] = [month_label(m) for m in start_month]
    episodes["end_month"] = [month_label(m) for m in end_month]
    start = start_month.astype("datetime64[M]").astype("datetime64[ns]")
    stop = (end_month + 1).astype("datetime64[M]").astype("datetime64[ns]")
    episodes["start_date"] = start
    episodes["stop_date"] = stop
    episodes["exit"] = (last_month - end_month > max_gap_months).astype(np.int64)
    episodes["duration"] = (stop - start).astype("timedelta64[D]").astype(np.int64) / DAYS_PER_YEAR
    episodes["started_before_extract"] = start_month - first_month <= max_gap_months
    episodes["cohort"] = core["cohort"].astype(object).to_numpy()
    episodes["contract_type_end"] = core["contract_type_end"].astype(object).to_numpy()
    episodes["n_switches"] = core["n_switches"].to_numpy(np.int64)
    episodes["list_size"] = core["list_size"].to_numpy(np.int64)
    episodes["sex"] = pd.Series(core["sex"].to_numpy(dtype=object)).where(core["sex"].notna().to_numpy(), pd.NA)
    episodes["birth_year"] = pd.array(core["birth_year"].to_numpy(dtype=object), dtype="Int64")
    start_year = 1970 + start_month // 12
    episodes["age_at_start"] = pd.array(start_year, dtype="Int64") - episodes["birth_year"]
    episodes["start_year"] = start_year
    population = lookups["population"]
    code_position = population.index.get_indexer(core["municipality_code"])
    years = population.columns.to_numpy()
    year_position = np.clip(start_year - years[0], 0, len(years) - 1)
    grid = population.to_numpy()
    values = np.where(code_position >= 0, grid[np.maximum(code_position, 0), year_position], np.nan)
    episodes["population"] = pd.array(np.where(np.isnan(values), None, values).tolist(), dtype="Int64")
    episodes["size_class"] = size_classes(values)
    episodes["centrality"] = municipalities["centrality"].reindex(core["municipality_code"]).to_numpy()
    episodes["centrality"] = episodes["centrality"].astype("Int64")
    area = municipalities["health_trust_area"].reindex(core["municipality_code"]).to_numpy(dtype=object)
    episodes["area"] = pd.Series(area).where(pd.notna(area), pd.NA)
    return episodes[list(EPISODE_COLUMNS)]


def size_classes(population) -> pd.Series:
    """Vectorised :func:`alis_research.reference.size_class` (NA for a missing population)."""
    values = np.asarray(population, dtype=float)
    position = np.searchsorted(np.asarray(SIZE_CLASS_BREAKS, dtype=float), values, side="right") - 1
    labels = np.array(SIZE_CLASS_LABELS, dtype=object)
    result = labels[np.clip(position, 0, len(labels) - 1)]
    return pd.Series(np.where(np.isnan(values) | (values < 0), None, result), dtype=object).where(
        ~(np.isnan(values) | (values < 0)), pd.NA)


def register_episodes(snapshots: pd.DataFrame, *, max_gap_months: int = DEFAULT_MAX_GAP_MONTHS,
                      extract_end=None) -> pd.DataFrame:
    """Contract episodes from validated register snapshots, fully vectorised.

    An episode is one doctor on one list in one (harmonised 2024) municipality
    over contiguous months: the rows are sorted by doctor, list, municipality and
    month, and a new episode begins where any of the first three changes or where
    more than ``max_gap_months`` months are missing between two rows (a gap of
    exactly ``max_gap_months`` missing months is bridged). A change of code by a
    municipal reform does not end an episode, since the codes are 2024 codes.

    Parameters
    ----------
    snapshots
        The frame of :func:`validate_register` (or any frame with ``month``,
        ``list_id``, ``doctor_id`` (NaN = no holder), ``municipality_code``,
        ``list_size``, ``practice_form`` and optionally ``sex``, ``birth_year``).
    max_gap_months
        Missing months bridged inside an episode (default 3).
    extract_end
        Last month of the extract (``'YYYY-MM'``); default the latest month in
        ``snapshots`` (vacant rows included).

    Returns
    -------
    DataFrame
        One row per episode, columns :data:`EPISODE_COLUMNS`, ordered by
        (``doctor_id``, ``start_month``, ``list_id``), ids ``R000001``…;
        ``start_date`` is the first day of the first month, ``stop_date`` the first
        day of the month after the last; ``exit`` is 1 when more than ``max_gap_months``
        months separate the last month from the extract's last month, else 0 (censored: the
        holding could continue after the extract); ``duration`` =
        days / 365.25; ``cohort`` is the practice form at start and
        ``contract_type_end`` the one in the last month.
    """
    first, last = _extract_bounds(snapshots, extract_end)
    seg = _segment(snapshots, max_gap_months)
    return _finish_episodes(_core_from_segments(snapshots, seg), first, last, max_gap_months)


def register_intervals(snapshots: pd.DataFrame, *, max_gap_months: int = DEFAULT_MAX_GAP_MONTHS,
                       extract_end=None, episodes: pd.DataFrame | None = None) -> pd.DataFrame:
    """Counting-process intervals: one row per stretch of one practice form within an episode.

    A change of practice form inside an episode (fastlønn to næring or back)
    splits the episode like a contract switch does in ``docs/architecture.md``:
    the new form counts from the first day of the first month it is recorded
    (months bridged across a gap stay with the earlier form). ``start`` and
    ``stop`` are years since the episode's start; ``exit`` is 1 only on the last
    interval of an exited episode; ``contract_type`` is the current form and
    ``cohort`` the form at start. Pass ``episodes`` (from
    :func:`register_episodes` with the same settings) to avoid rebuilding them.

    Returns
    -------
    DataFrame
        Columns :data:`INTERVAL_COLUMNS`, ordered by ``episode_id`` then ``start``.
    """
    first, last = _extract_bounds(snapshots, extract_end)
    seg = _segment(snapshots, max_gap_months)
    if episodes is None:
        episodes = _finish_episodes(_core_from_segments(snapshots, seg), first, last, max_gap_months)
    new, run_new = seg["new"], seg["run_new"]
    episode_number = np.cumsum(new) - 1
    ep_starts = np.flatnonzero(new)
    ep_ends = np.append(ep_starts[1:] - 1, len(new) - 1) if len(ep_starts) else ep_starts
    runs = np.flatnonzero(run_new)
    run_episode = episode_number[runs]
    run_start = seg["month"][runs]
    last_run = np.append(run_episode[1:] != run_episode[:-1], True) if len(runs) else np.array([], dtype=bool)
    next_start = np.append(run_start[1:], 0) if len(runs) else run_start
    run_stop = np.where(last_run, seg["month"][ep_ends][run_episode] + 1, next_start)
    labels = seg["labels"]
    # the segment order is (doctor, list, municipality, start); map it to the episode table's order by key
    key = pd.MultiIndex.from_arrays([labels["doctor"][seg["doctor"][ep_starts]],
                                     labels["list"][seg["list"][ep_starts]],
                                     labels["muni"][seg["muni"][ep_starts]],
                                     seg["month"][ep_starts]]) if len(ep_starts) else None
    table_key = pd.MultiIndex.from_arrays([episodes["doctor_id"], episodes["list_id"], episodes["municipality_code"],
                                           _month_index(pd.Series(episodes["start_date"]))])
    position = table_key.get_indexer(key) if key is not None else np.array([], dtype=np.int64)
    row = position[run_episode]
    base = episodes.iloc[row].reset_index(drop=True)
    start_date = run_start.astype("datetime64[M]").astype("datetime64[ns]")
    stop_date = run_stop.astype("datetime64[M]").astype("datetime64[ns]")
    origin = base["start_date"].to_numpy()
    intervals = pd.DataFrame({
        "episode_id": base["episode_id"], "doctor_id": base["doctor_id"], "list_id": base["list_id"],
        "municipality_code": base["municipality_code"], "area": base["area"], "cohort": base["cohort"],
        "contract_type": labels["form"][seg["form"][runs]] if len(runs) else np.array([], dtype=object),
        "start": (start_date - origin).astype("timedelta64[D]").astype(np.int64) / DAYS_PER_YEAR,
        "stop": (stop_date - origin).astype("timedelta64[D]").astype(np.int64) / DAYS_PER_YEAR,
        "start_date": start_date, "stop_date": stop_date,
        "exit": np.where(last_run, base["exit"].to_numpy(), 0).astype(np.int64),
        "size_class": base["size_class"], "population": base["population"], "centrality": base["centrality"],
        "sex": base["sex"], "age_at_start": base["age_at_start"], "list_size": base["list_size"],
    })
    intervals = intervals.sort_values(["episode_id", "start"], kind="stable").reset_index(drop=True)
    return intervals[list(INTERVAL_COLUMNS)]


def register_episodes_loop(snapshots: pd.DataFrame, *, max_gap_months: int = DEFAULT_MAX_GAP_MONTHS,
                           extract_end=None) -> pd.DataFrame:
    """The same episodes as :func:`register_episodes`, by a plain loop over doctors.

    Kept only as an independent reference for tests and the benchmark: it walks
    each doctor's rows in (list, municipality, month) order and opens a new
    episode whenever the list or municipality changes or more than
    ``max_gap_months`` months are missing.
    """
    if max_gap_months < 0:
        raise AlisError(f"max_gap_months must be 0 or more, got {max_gap_months}")
    first, last = _extract_bounds(snapshots, extract_end)
    held = snapshots[snapshots["doctor_id"].notna()]
    month = _month_index(held["month"])
    has_sex, has_birth = "sex" in held.columns, "birth_year" in held.columns
    records = []
    for doctor, group in held.assign(_month=month).groupby(held["doctor_id"].astype(str), sort=True):
        rows = sorted(zip(group["list_id"].astype(str), group["municipality_code"].astype(str), group["_month"],
                          group["practice_form"].astype(str), group["list_size"],
                          group["sex"].astype(object) if has_sex else [None] * len(group),
                          group["birth_year"].astype(object) if has_birth else [None] * len(group)))
        current = None
        for list_id, code, month_index, form, size, sex, birth in rows:
            if (current is None or list_id != current["list_id"] or code != current["municipality_code"]
                    or month_index - current["end_month"] - 1 > max_gap_months):
                current = {"doctor_id": doctor, "list_id": list_id, "municipality_code": code,
                           "start_month": month_index, "end_month": month_index, "cohort": form,
                           "contract_type_end": form, "n_switches": 0, "list_size": size,
                           "sex": None if pd.isna(sex) else sex, "birth_year": None if pd.isna(birth) else birth}
                records.append(current)
                continue
            if form != current["contract_type_end"]:
                current["n_switches"] += 1
            current["end_month"], current["contract_type_end"] = month_index, form
    core = pd.DataFrame.from_records(records, columns=[
        "doctor_id", "list_id", "municipality_code", "start_month", "end_month", "cohort", "contract_type_end",
        "n_switches", "list_size", "sex", "birth_year"])
    return _finish_episodes(core, first, last, max_gap_months)


def register_episodes_and_intervals(snapshots: pd.DataFrame, *, max_gap_months: int = DEFAULT_MAX_GAP_MONTHS,
                                    extract_end=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Both tables in one pass (the segmentation is shared)."""
    episodes = register_episodes(snapshots, max_gap_months=max_gap_months, extract_end=extract_end)
    intervals = register_intervals(snapshots, max_gap_months=max_gap_months, extract_end=extract_end,
                                   episodes=episodes)
    return episodes, intervals


# --------------------------------------------------------------------------- synthetic extracts
