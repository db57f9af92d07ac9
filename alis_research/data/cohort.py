"""The statistical definitions: episodes, censoring, exclusions and counting-process intervals.

This is the one place where the follow-up of an ALIS position is defined; every
analysis reads the :class:`PreparedDataset` made here and never re-derives time
at risk itself.

Definitions (also in ``docs/methods.md``; :data:`DEFINITIONS` is written into the
manifest):

* An episode is at risk from its ``start_date``. It ends in an **exit**
  (``exit = 1``, ``stop_date = end_date``) when ``end_date`` is on or before the
  as-of date; otherwise it is **censored** at the as-of date (``exit = 0``,
  ``stop_date = as_of``), planned end dates after the as-of date included.
* Excluded (listed with a reason, counted in the manifest): episodes starting after
  the as-of date; episodes starting on it (no follow-up); episodes ending on the
  day they start (no follow-up).
* Time is in years: ``duration = (stop_date - start_date).days / 365.25``.
* The **cohort** is the contract type at start. The **current contract type**
  changes at each ``contract_switch`` event strictly inside
  ``(start_date, stop_date)``; the episode is then split into counting-process
  intervals. A switch to the type already current is ignored; of several switches
  on one date the last one listed counts.
* Hospital year, leave and specialist approval neither end an episode nor stop
  the clock.
"""
from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from .. import __version__, config
from ..errors import AlisError
from .io import METADATA_FILE, atomic_output_dir, find_table, sha256_file

#: Identifies the layout of ``manifest.json``; bump when the prepared schema changes.
MANIFEST_SCHEMA = "alis-research/prepared/2"
MANIFEST_FILE = "manifest.json"
EPISODES_FILE = "episodes.parquet"
INTERVALS_FILE = "intervals.parquet"
EXCLUSIONS_FILE = "exclusions.parquet"
EVENTS_FILE = "events.parquet"
SUPERVISION_FILE = "supervision.parquet"
#: The health-trust areas a dataset can be restricted to (``all`` = every episode).
AREAS = ("all",) + tuple(config.HEALTH_TRUST_AREAS)

REASON_STARTS_AFTER_AS_OF = "starts after the as-of date"
REASON_STARTS_ON_AS_OF = "starts on the as-of date (no follow-up)"
REASON_ENDS_ON_START = "ends on its start date (no follow-up)"
#: Every exclusion reason, in the order they are tested and reported.
EXCLUSION_REASONS = (REASON_STARTS_AFTER_AS_OF, REASON_STARTS_ON_AS_OF, REASON_ENDS_ON_START)

SWITCH_EVENT = "contract_switch"
HOSPITAL_YEAR_START_EVENT = "hospital_year_start"

#: The definitions in words, as written into every manifest.
DEFINITIONS = {
    "time_unit": "years = days / 365.25",
    "at_risk_from": "start_date",
    "exit": "end_date on or before the as-of date: exit = 1, stop_date = end_date",
    "censoring": "otherwise censored at the as-of date: exit = 0, stop_date = as-of date "
    "(planned end dates after the as-of date included)",
    "duration": "(stop_date - start_date).days / 365.25",
    "cohort": "contract type at start",
    "current_contract_type": "changes at each contract_switch strictly inside (start_date, stop_date); "
    "a switch to the type already current is ignored; of several switches on one date the last listed counts",
    "intervals": "counting process: start, stop in years since the episode's start; exit = 1 only on the "
    "last interval of an exited episode",
    "not_ending_events": "hospital year, leave and specialist approval do not end an episode nor stop the clock",
    "exclusions": "; ".join(EXCLUSION_REASONS),
    "municipality": "2024 code; population on 1 January of the start year (SSB 07459)",
    "age_at_start": "start year - birth year",
    "episode_id": "E001... in order of (person_id, start_date) over all input episodes",
    "events_used": "events dated within the observed follow-up [start_date, stop_date] of an analysed episode",
}

EPISODE_COLUMNS = [
    "episode_id", "person_id", "programme", "municipality_code", "municipality_name",
    "unit", "area", "population", "size_class", "centrality", "sami_area", "cohort",
    "start_date", "end_date", "stop_date", "exit", "end_reason", "duration", "start_year",
    "sex", "birth_year", "age_at_start", "scheme", "list_size", "n_switches", "hospital_year",
]
INTERVAL_COLUMNS = [
    "episode_id", "person_id", "municipality_code", "unit", "area", "cohort", "contract_type",
    "start", "stop", "start_date", "stop_date", "exit",
    "size_class", "population", "centrality", "sex", "age_at_start", "scheme", "end_reason",
]
EXCLUSION_COLUMNS = ["episode_id", "person_id", "reason"]

_AS_OF_PATTERN = re.compile(r"\d{4}-\d{2}-\d{2}")


# --------------------------------------------------------------------------- reference
@dataclass(frozen=True)
class MunicipalityReference:
    """The reference look-ups an episode needs, injectable so tests can use small tables.

    Parameters
    ----------
    municipalities
        One row per 2024 municipality: ``code_2024``, ``health_trust_area``,
        ``centrality``, ``sami_area``.
    unit_for_municipality
        ``code_2024 -> (unit, area)`` for municipalities in the ALIS-Nord roster, else ``None``.
    population_at
        ``(code_2024, year) -> inhabitants on 1 January`` (raises or returns ``None`` if unknown).
    size_class
        ``population -> label`` (one of ``config.SIZE_CLASS_LABELS``).
    """

    municipalities: pd.DataFrame
    unit_for_municipality: Callable[[str], tuple[str, str] | None]
    population_at: Callable[[str, int], int | None]
    size_class: Callable[[int], str]


def default_reference() -> MunicipalityReference:
    """The shipped reference tables of :mod:`alis_research.reference`."""
    from .. import reference

    return MunicipalityReference(
        municipalities=reference.load_municipalities(),
        unit_for_municipality=reference.unit_for_municipality,
        population_at=reference.population_at,
        size_class=reference.size_class,
    )


def _population_or_na(reference, code: str, year: int):
    # A year outside SSB's table (e.g. a start in the current year) is unknown, not an error.
    try:
        value = reference.population_at(code, int(year))
    except (KeyError, LookupError, ValueError, AlisError):
        return pd.NA
    return pd.NA if value is None or pd.isna(value) else int(value)


def _municipality_attributes(episodes: pd.DataFrame, reference: MunicipalityReference) -> pd.DataFrame:
    """unit, area, population, size_class, centrality, sami_area for each episode row."""
    table = reference.municipalities.copy()
    table["code_2024"] = table["code_2024"].astype(str)
    table = table.drop_duplicates("code_2024").set_index("code_2024")
    codes = episodes["municipality_code"].astype(str)
    years = episodes["start_date"].dt.year

    units, roster_areas = [], []
    for code in codes:
        found = reference.unit_for_municipality(code)
        units.append(found[0] if found else pd.NA)
        roster_areas.append(found[1] if found else pd.NA)
    populations = [_population_or_na(reference, code, year) for code, year in zip(codes, years)]
    area = codes.map(table["health_trust_area"]) if "health_trust_area" in table else pd.Series(pd.NA, index=codes.index)
    # The municipality table is the authority for the area; the roster only fills gaps.
    area = area.where(area.notna(), pd.Series(roster_areas, index=codes.index))

    out = pd.DataFrame(index=episodes.index)
    out["unit"] = pd.Series(units, index=episodes.index, dtype="object")
    out["area"] = area.astype("object").where(area.notna(), pd.NA)
    out["population"] = pd.array(populations, dtype="Int64")
    out["size_class"] = pd.Series(
        [pd.NA if pd.isna(p) else reference.size_class(int(p)) for p in populations],
        index=episodes.index, dtype="object",
    )
    out["centrality"] = pd.array(codes.map(table["centrality"]) if "centrality" in table else [pd.NA] * len(codes),
                                 dtype="Int64")
    sami = codes.map(table["sami_area"]) if "sami_area" in table else pd.Series(pd.NA, index=codes.index)
    out["sami_area"] = sami.astype("boolean")
    return out


# --------------------------------------------------------------------------- episodes
def parse_as_of(text) -> pd.Timestamp:
    """Parse an as-of date given as ``YYYY-MM-DD`` (or already a date).

    Raises
    ------
    AlisError
        When the text is not a real calendar date in ``YYYY-MM-DD`` form.
    """
    if isinstance(text, (pd.Timestamp, datetime)):
        return pd.Timestamp(text).normalize()
    if hasattr(text, "isoformat") and not isinstance(text, str):  # datetime.date
        return pd.Timestamp(text)
    value = str(text).strip()
    try:
        if not _AS_OF_PATTERN.fullmatch(value):
            raise ValueError
        return pd.Timestamp(datetime.strptime(value, "%Y-%m-%d"))
    except ValueError:
        raise AlisError(
            f"as-of date {text!r} is not a date in the form YYYY-MM-DD (for example 2024-12-31)"
        ) from None


def _episode_ids(n: int) -> list[str]:
    width = max(3, len(str(n)))
    return [f"E{i:0{width}d}" for i in range(1, n + 1)]


def _order_and_number(validated_episodes: pd.DataFrame) -> pd.DataFrame:
    """Sort by (person_id, start_date) and give every input episode its id."""
    keys = ["person_id", "start_date"] + (["source_row"] if "source_row" in validated_episodes else [])
    ordered = validated_episodes.sort_values(keys, kind="mergesort").reset_index(drop=True)
    ordered.insert(0, "episode_id", _episode_ids(len(ordered)))
    return ordered


def _exclusion_reason(start: pd.Timestamp, end, as_of: pd.Timestamp):
    if start > as_of:
        return REASON_STARTS_AFTER_AS_OF
    if start == as_of:
        return REASON_STARTS_ON_AS_OF
    if pd.notna(end) and end == start:
        return REASON_ENDS_ON_START
    return None


def _events_in_episodes(episodes: pd.DataFrame, events: pd.DataFrame, *, strictly_inside: bool) -> pd.DataFrame:
    """Events joined to the episode whose observed follow-up holds their date.

    ``strictly_inside`` keeps dates in ``(start_date, stop_date)``, otherwise in
    ``[start_date, stop_date]``.
    """
    if events is None or len(events) == 0:
        return pd.DataFrame(columns=["episode_id", "date", "event", "new_contract_type", "event_order"])
    ev = events.reset_index(drop=True).copy()
    ev["event_order"] = ev["source_row"] if "source_row" in ev else np.arange(len(ev))
    keep = ["person_id", "date", "event", "new_contract_type", "event_order"]
    ev = ev[[c for c in keep if c in ev]]
    joined = episodes[["episode_id", "person_id", "start_date", "stop_date"]].merge(ev, on="person_id")
    if strictly_inside:
        inside = (joined["date"] > joined["start_date"]) & (joined["date"] < joined["stop_date"])
    else:
        inside = (joined["date"] >= joined["start_date"]) & (joined["date"] <= joined["stop_date"])
    return joined.loc[inside].drop(columns=["person_id", "start_date", "stop_date"])


def applied_switches(episodes: pd.DataFrame, events: pd.DataFrame) -> pd.DataFrame:
    """The contract switches that change the current contract type, one row per switch.

    A switch counts when it lies strictly inside ``(start_date, stop_date)`` and
    names a type other than the one current; of several switches on one date the
    last one listed (by ``source_row``) counts.

    Returns
    -------
    DataFrame
        ``episode_id``, ``date``, ``contract_type`` (the new current type), sorted
        by episode and date.
    """
    inside = _events_in_episodes(episodes, events, strictly_inside=True)
    switches = inside.loc[inside["event"] == SWITCH_EVENT] if len(inside) else inside
    missing = switches["new_contract_type"].isna() if len(switches) else pd.Series(dtype=bool)
    if missing.any():
        first = switches.loc[missing].iloc[0]
        raise AlisError(
            f"events: contract_switch on {first['date']:%Y-%m-%d} (row {first['event_order']}) has no "
            f"new_contract_type; expected one of {', '.join(config.CONTRACT_TYPES)} (run alis-research validate)"
        )
    switches = switches.sort_values(["episode_id", "date", "event_order"], kind="mergesort")
    last_of_day = switches.drop_duplicates(["episode_id", "date"], keep="last")
    cohort = episodes.set_index("episode_id")["cohort"]
    rows = []
    for episode_id, group in last_of_day.groupby("episode_id", sort=True):
        current = cohort[episode_id]
        for date, new_type in zip(group["date"], group["new_contract_type"]):
            if new_type != current:
                rows.append((episode_id, date, new_type))
                current = new_type
    return pd.DataFrame(rows, columns=["episode_id", "date", "contract_type"]).astype(
        {"episode_id": "object", "date": "datetime64[ns]", "contract_type": "object"}
    )


def build_episodes(
    validated_episodes: pd.DataFrame,
    events: pd.DataFrame,
    as_of,
    *,
    reference: MunicipalityReference | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Apply the follow-up definitions to validated episodes.

    Parameters
    ----------
    validated_episodes, events
        Frames in the "Validated data" schema (``docs/architecture.md``).
    as_of
        The as-of date (``YYYY-MM-DD`` or a timestamp): follow-up is censored here.
    reference
        Municipality look-ups; the shipped tables when ``None``.

    Returns
    -------
    (episodes, exclusions)
        One row per analysed episode in the "Prepared dataset" schema, and the
        excluded episodes with ``episode_id``, ``person_id``, ``reason``.

    Notes
    -----
    .. math:: \\text{duration} = (\\text{stop\\_date} - \\text{start\\_date})_{\\text{days}} / 365.25
    """
    as_of = parse_as_of(as_of)
    if reference is None:
        reference = default_reference()
    ordered = _order_and_number(validated_episodes)
    reasons = [_exclusion_reason(s, e, as_of) for s, e in zip(ordered["start_date"], ordered["end_date"])]
    reasons = pd.Series(reasons, index=ordered.index, dtype="object")
    excluded = ordered.loc[reasons.notna(), ["episode_id", "person_id"]].copy()
    excluded["reason"] = reasons[reasons.notna()]
    exclusions = excluded.reset_index(drop=True)[EXCLUSION_COLUMNS]

    ep = ordered.loc[reasons.isna()].reset_index(drop=True)
    exited = ep["end_date"].notna() & (ep["end_date"] <= as_of)
    ep["exit"] = exited.astype("int64")
    ep["stop_date"] = ep["end_date"].where(exited, as_of).astype("datetime64[ns]")
    ep["end_reason"] = ep["end_reason"].where(exited, pd.NA) if "end_reason" in ep else pd.NA
    # Whole days first, then one division: the same arithmetic as the interval split.
    ep["duration"] = (ep["stop_date"] - ep["start_date"]).dt.days / config.DAYS_PER_YEAR
    ep["cohort"] = ep["contract_type"]
    ep["start_year"] = ep["start_date"].dt.year.astype("int64")
    for optional, dtype in (("programme", "object"), ("sex", "object"), ("scheme", "object"),
                            ("birth_year", "Int64"), ("list_size", "Int64"), ("municipality_name", "object")):
        if optional not in ep:
            ep[optional] = pd.Series(pd.NA, index=ep.index, dtype=dtype)
    ep["programme"] = ep["programme"].where(ep["programme"].notna(), config.DEFAULT_PROGRAMME)
    ep["birth_year"] = ep["birth_year"].astype("Int64")
    ep["list_size"] = ep["list_size"].astype("Int64")
    ep["age_at_start"] = (ep["start_year"].astype("Int64") - ep["birth_year"]).astype("Int64")
    ep = pd.concat([ep, _municipality_attributes(ep, reference)], axis=1)

    switches = applied_switches(ep, events)
    ep["n_switches"] = ep["episode_id"].map(switches.groupby("episode_id").size()).fillna(0).astype("int64")
    observed = _events_in_episodes(ep, events, strictly_inside=False)
    hospital = set(observed.loc[observed["event"] == HOSPITAL_YEAR_START_EVENT, "episode_id"]) if len(observed) else set()
    ep["hospital_year"] = ep["episode_id"].isin(hospital)
    return _missing_as_none(ep[EPISODE_COLUMNS]), _missing_as_none(exclusions)


def _missing_as_none(frame: pd.DataFrame) -> pd.DataFrame:
    """Missing values in text (object) columns as ``None``: what Parquet gives back, so a
    written and re-read dataset equals the one in memory."""
    frame = frame.copy()
    for column in frame.columns[frame.dtypes == object]:
        values = frame[column]
        frame[column] = values.astype(object).where(values.notna(), None)
    return frame


# --------------------------------------------------------------------------- intervals
def split_intervals(episodes: pd.DataFrame, events: pd.DataFrame) -> pd.DataFrame:
    """Split episodes into counting-process intervals at each applied contract switch.

    Each interval runs ``(start, stop]`` in years since the episode's start with the
    contract type current in it; ``exit`` is 1 only on the last interval of an
    exited episode. Boundaries are whole-day counts divided once by 365.25, so the
    last ``stop`` equals the episode's ``duration`` exactly and the day counts of
    the intervals add up to the episode's.

    Parameters
    ----------
    episodes
        Output of :func:`build_episodes`.
    events
        Validated events (only ``contract_switch`` rows matter).
    """
    switches = applied_switches(episodes, events)
    by_episode = {k: g for k, g in switches.groupby("episode_id", sort=False)}
    rows = []
    for ep in episodes.itertuples(index=False):
        group = by_episode.get(ep.episode_id)
        cut_dates = [] if group is None else list(group["date"])
        types = [ep.cohort] + ([] if group is None else list(group["contract_type"]))
        bounds = [ep.start_date, *cut_dates, ep.stop_date]
        for i, contract_type in enumerate(types):
            last = i == len(types) - 1
            rows.append({
                "episode_id": ep.episode_id,
                "contract_type": contract_type,
                "start_day": (bounds[i] - ep.start_date).days,
                "stop_day": (bounds[i + 1] - ep.start_date).days,
                "start_date": bounds[i],
                "stop_date": bounds[i + 1],
                "exit": int(ep.exit) if last else 0,
                "is_last": last,
            })
    iv = pd.DataFrame(rows, columns=["episode_id", "contract_type", "start_day", "stop_day",
                                     "start_date", "stop_date", "exit", "is_last"])
    iv["start"] = iv["start_day"].astype("float64") / config.DAYS_PER_YEAR
    iv["stop"] = iv["stop_day"].astype("float64") / config.DAYS_PER_YEAR
    iv["exit"] = iv["exit"].astype("int64")
    iv["start_date"] = iv["start_date"].astype("datetime64[ns]")
    iv["stop_date"] = iv["stop_date"].astype("datetime64[ns]")
    carried = ["episode_id", "person_id", "municipality_code", "unit", "area", "cohort",
               "size_class", "population", "centrality", "sex", "age_at_start", "scheme", "end_reason"]
    iv = iv.merge(episodes[carried], on="episode_id", how="left", validate="many_to_one")
    iv["end_reason"] = iv["end_reason"].where(iv["is_last"] & (iv["exit"] == 1), pd.NA)
    return _missing_as_none(iv[INTERVAL_COLUMNS].reset_index(drop=True))


# --------------------------------------------------------------------------- prepared dataset
@dataclass
class PreparedDataset:
    """The analysis dataset: episodes, counting-process intervals, exclusions and manifest."""

    episodes: pd.DataFrame
    intervals: pd.DataFrame
    exclusions: pd.DataFrame
    as_of: pd.Timestamp
    fingerprint: str
    synthetic: bool
    manifest: dict = field(default_factory=dict)
    #: The validated events (every person's, also after :func:`select_area`): the pathway
    #: analyses read hospital years and specialist approvals from them.
    events: pd.DataFrame = field(default_factory=lambda: empty_events())
    #: The validated supervision.csv (``source_row, person_id, month, hours``); empty when absent.
    supervision: pd.DataFrame = field(default_factory=lambda: empty_supervision())

    @property
    def has_supervision(self) -> bool:
        """Whether the raw dataset had a supervision.csv (recorded in the input files)."""
        return any(name.lower().startswith("supervision.") for name in self.manifest.get("input_files", {}))

    def summary(self) -> str:
        """A short printable summary of what went in, what was excluded and what is analysed."""
        ep = self.episodes
        rows = self.manifest.get("rows", {})
        lines = [
            f"Prepared dataset {self.manifest.get('dataset', '')} as of {self.as_of:%Y-%m-%d}"
            + (" (SYNTHETIC data)" if self.synthetic else ""),
            f"  episodes in:        {rows.get('episodes_in', len(ep) + len(self.exclusions))}",
            f"  excluded:           {len(self.exclusions)}",
        ]
        for reason, count in self.exclusions["reason"].value_counts(sort=False).items():
            lines.append(f"    - {reason}: {count}")
        lines += [
            f"  analysed:           {len(ep)} episodes of {ep['person_id'].nunique()} persons",
            f"  exits:              {int(ep['exit'].sum())}",
            f"  censored:           {int((ep['exit'] == 0).sum())}",
            f"  intervals:          {len(self.intervals)} ({_plural(int(ep['n_switches'].sum()), 'contract switch')})",
            "  person-years by cohort:",
        ]
        for cohort, years in ep.groupby("cohort", sort=True)["duration"].sum().items():
            lines.append(f"    - {cohort}: {years:.2f}")
        lines.append(f"  fingerprint:        {self.fingerprint[:16]}…")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.summary()


def empty_events() -> pd.DataFrame:
    """An events table with no rows and the validated columns."""
    return pd.DataFrame({
        "source_row": pd.Series(dtype="int64"), "person_id": pd.Series(dtype=object),
        "date": pd.Series(dtype="datetime64[ns]"), "event": pd.Series(dtype=object),
        "new_contract_type": pd.Series(dtype=object), "note": pd.Series(dtype=object),
    })


def empty_supervision() -> pd.DataFrame:
    """A supervision table with no rows and the validated columns."""
    return pd.DataFrame({"source_row": pd.Series(dtype="int64"), "person_id": pd.Series(dtype=object),
                         "month": pd.Series(dtype="datetime64[ns]"), "hours": pd.Series(dtype=float)})


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else ("es" if noun.endswith(("s", "ch")) else "s"))


def dataset_fingerprint(input_files: dict[str, str]) -> str:
    """SHA-256 over the sorted lines ``"name:sha256\\n"`` of the input files.

    Identifies the raw data a prepared dataset (and every result) was made from,
    independent of the order the files were read in.
    """
    text = "".join(f"{name}:{sha}\n" for name, sha in sorted(input_files.items()))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _exclusion_counts(exclusions: pd.DataFrame) -> list[dict]:
    counts = exclusions["reason"].value_counts()
    return [{"reason": reason, "count": int(counts[reason])} for reason in EXCLUSION_REASONS if reason in counts]


def prepare(validated, as_of, *, reference: MunicipalityReference | None = None) -> PreparedDataset:
    """Build the prepared dataset from a ``ValidatedData`` (see :mod:`alis_research.data.validate`).

    Parameters
    ----------
    validated
        Has ``dataset_dir``, ``episodes``, ``events``, ``input_files``, ``synthetic``.
    as_of
        The as-of date.
    reference
        Municipality look-ups; the shipped tables when ``None``.
    """
    as_of = parse_as_of(as_of)
    events = validated.events
    if events is None:
        events = empty_events()
    supervision = getattr(validated, "supervision", None)
    if supervision is None:
        supervision = empty_supervision()
    episodes, exclusions = build_episodes(validated.episodes, events, as_of, reference=reference)
    intervals = split_intervals(episodes, events)
    input_files = dict(sorted(validated.input_files.items()))
    fingerprint = dataset_fingerprint(input_files)
    observed = _events_in_episodes(episodes, events, strictly_inside=False)
    manifest = {
        "schema": MANIFEST_SCHEMA,
        "dataset": Path(validated.dataset_dir).resolve().name,
        "as_of": f"{as_of:%Y-%m-%d}",
        "package_version": __version__,
        "input_files": input_files,
        "fingerprint": fingerprint,
        "synthetic": bool(validated.synthetic),
        "rows": {
            "episodes_in": int(len(validated.episodes)),
            "episodes_analysed": int(len(episodes)),
            "intervals": int(len(intervals)),
            "events_in": int(len(events)),
            "events_used": int(len(observed)),
            "contract_switches_applied": int(episodes["n_switches"].sum()),
        },
        "exclusions": _exclusion_counts(exclusions),
        "definitions": dict(DEFINITIONS),
    }
    return PreparedDataset(episodes, intervals, exclusions, as_of, fingerprint, bool(validated.synthetic), manifest,
                           events=_missing_as_none(events), supervision=_missing_as_none(supervision))


def prepare_dataset(dataset_dir, *, as_of, reference: MunicipalityReference | None = None) -> PreparedDataset:
    """Validate the raw dataset folder (raising on any problem) and prepare it."""
    from .validate import load_validated

    as_of = parse_as_of(as_of)
    path = config.dataset_dir(dataset_dir)
    if not Path(path).is_dir():
        raise AlisError(f"dataset folder {path} does not exist; expected a folder holding episodes.csv or episodes.xlsx")
    validated = load_validated(path, as_of=as_of)
    return prepare(validated, as_of, reference=reference)


# --------------------------------------------------------------------------- writing and reading
def _inside(path: Path, folder: Path) -> bool:
    try:
        Path(path).resolve().relative_to(Path(folder).resolve())
    except ValueError:
        return False
    return True


def _refuse_foreign_folder(out_dir: Path) -> None:
    """Refuse to replace anything but an empty folder or an earlier prepared dataset.

    Writing swaps the whole folder, so ``--out`` pointing at a folder of other files
    would delete them.
    """
    if not out_dir.exists():
        return
    if not out_dir.is_dir():
        raise AlisError(f"{out_dir} is a file, not a folder; choose a folder for the prepared dataset")
    contents = sorted(p.name for p in out_dir.iterdir())
    if not contents:
        return
    try:
        schema = json.loads((out_dir / MANIFEST_FILE).read_text(encoding="utf-8")).get("schema")
    except (OSError, ValueError, AttributeError):
        schema = None
    if schema != MANIFEST_SCHEMA:
        shown = ", ".join(contents[:5]) + (" …" if len(contents) > 5 else "")
        raise AlisError(f"{out_dir} already holds files that are not a prepared dataset ({shown}); "
                        "refusing to replace it. Choose an empty or new folder with --out.")


def write_prepared(prepared: PreparedDataset, out_dir) -> Path:
    """Write ``episodes``, ``intervals``, ``exclusions`` (Parquet) and ``manifest.json`` atomically.

    Everything is written into a temporary folder beside ``out_dir`` and swapped in
    at the end, so an interrupted run leaves the previous output intact. Only an
    empty folder or an earlier prepared dataset is ever replaced.

    Returns
    -------
    Path
        The output folder.
    """
    out_dir = Path(out_dir)
    if _inside(out_dir, config.DATA_RAW):
        raise AlisError(f"refusing to write the prepared dataset into {out_dir}: data/raw/ is read-only; "
                        "choose a folder under data/processed/")
    _refuse_foreign_folder(out_dir)
    with atomic_output_dir(out_dir) as tmp:
        tmp = Path(tmp)
        prepared.episodes.to_parquet(tmp / EPISODES_FILE, index=False)
        prepared.intervals.to_parquet(tmp / INTERVALS_FILE, index=False)
        prepared.exclusions.to_parquet(tmp / EXCLUSIONS_FILE, index=False)
        prepared.events.to_parquet(tmp / EVENTS_FILE, index=False)
        prepared.supervision.to_parquet(tmp / SUPERVISION_FILE, index=False)
        text = json.dumps(prepared.manifest, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
        (tmp / MANIFEST_FILE).write_text(text, encoding="utf-8")
    return out_dir


def load_prepared(out_dir) -> PreparedDataset:
    """Read a prepared dataset written by :func:`write_prepared`.

    Raises
    ------
    AlisError
        When the folder or its manifest is missing, or the manifest has another schema.
    """
    out_dir = Path(out_dir)
    manifest_path = out_dir / MANIFEST_FILE
    if not manifest_path.is_file():
        raise AlisError(f"{manifest_path} not found: run `alis-research prepare DATASET --as-of DATE` first")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise AlisError(f"{manifest_path} is not valid JSON ({exc}); run `alis-research prepare` again") from None
    if manifest.get("schema") != MANIFEST_SCHEMA:
        raise AlisError(f"{manifest_path}: schema {manifest.get('schema')!r}, expected {MANIFEST_SCHEMA!r}; "
                        "run `alis-research prepare` again with this version of the package")
    for name in (EPISODES_FILE, INTERVALS_FILE):
        if not (out_dir / name).is_file():
            raise AlisError(f"{out_dir / name} is missing; run `alis-research prepare` again")
    episodes = pd.read_parquet(out_dir / EPISODES_FILE)
    intervals = pd.read_parquet(out_dir / INTERVALS_FILE)
    if (out_dir / EXCLUSIONS_FILE).is_file():
        exclusions = pd.read_parquet(out_dir / EXCLUSIONS_FILE)
    else:
        exclusions = pd.DataFrame({c: pd.Series(dtype="object") for c in EXCLUSION_COLUMNS})
    events = pd.read_parquet(out_dir / EVENTS_FILE) if (out_dir / EVENTS_FILE).is_file() else empty_events()
    supervision = (pd.read_parquet(out_dir / SUPERVISION_FILE) if (out_dir / SUPERVISION_FILE).is_file()
                   else empty_supervision())
    return PreparedDataset(
        episodes=episodes,
        intervals=intervals,
        exclusions=exclusions,
        as_of=pd.Timestamp(manifest["as_of"]),
        fingerprint=manifest["fingerprint"],
        synthetic=bool(manifest["synthetic"]),
        manifest=manifest,
        events=events,
        supervision=supervision,
    )


# --------------------------------------------------------------------------- the start of every analysis
def check_area(area: str) -> str:
    """``area`` if it is ``all`` or a health-trust area, else a user error listing them."""
    if area not in AREAS:
        raise AlisError(f"area must be one of {', '.join(AREAS)}, got {area!r}")
    return area


def select_area(prepared: PreparedDataset, area: str = "all") -> PreparedDataset:
    """The prepared dataset restricted to one health-trust area (``'all'`` = unchanged).

    Exclusions carry no area; an area's dataset lists those of the persons who
    have an analysed episode in the area.  Events and supervision stay whole: they
    are matched to episodes by person and date.
    """
    check_area(area)
    if area == "all":
        return prepared
    episodes = prepared.episodes[prepared.episodes["area"] == area].reset_index(drop=True)
    intervals = prepared.intervals[prepared.intervals["episode_id"].isin(episodes["episode_id"])].reset_index(drop=True)
    exclusions = prepared.exclusions[prepared.exclusions["person_id"].isin(episodes["person_id"])].reset_index(drop=True)
    manifest = {**prepared.manifest, "area": area}
    return replace(prepared, episodes=episodes, intervals=intervals, exclusions=exclusions, manifest=manifest)


def raw_input_files(dataset_dir) -> dict[str, str]:
    """SHA-256 of the raw files a prepared dataset is made from, as its manifest records them."""
    from .contract import EPISODES, EVENTS
    from .event_checks import SUPERVISION

    folder = Path(dataset_dir)
    files: dict[str, str] = {}
    if (folder / METADATA_FILE).is_file():
        files[METADATA_FILE] = sha256_file(folder / METADATA_FILE)
    for stem in (EPISODES, EVENTS, SUPERVISION):
        path = find_table(folder, stem)
        if path is not None:
            files[path.name] = sha256_file(path)
    return dict(sorted(files.items()))


def processed_is_current(processed: Path, dataset_dir, as_of) -> bool:
    """Whether ``processed`` holds the prepared dataset of these raw files, this as-of date and
    this package version (its manifest's input-file hashes equal the raw files' hashes now)."""
    try:
        manifest = json.loads((Path(processed) / MANIFEST_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (isinstance(manifest, dict) and manifest.get("schema") == MANIFEST_SCHEMA
            and manifest.get("as_of") == f"{parse_as_of(as_of):%Y-%m-%d}"
            and manifest.get("package_version") == __version__
            and manifest.get("input_files") == raw_input_files(dataset_dir)
            and all((Path(processed) / name).is_file() for name in (EPISODES_FILE, INTERVALS_FILE, EVENTS_FILE)))


def load_dataset(dataset, *, as_of, area: str = "all", processed=None) -> PreparedDataset:
    """The analysis dataset of a raw dataset (a folder, or a name under ``data/raw/``), for one area.

    Reads ``data/processed/<name>/`` (or ``processed``) when it is current: made by this
    package version, for this as-of date, from raw files with the same SHA-256 hashes.
    Otherwise the raw folder is validated (every problem at once, supervision.csv included)
    and prepared.  Nothing is written: ``alis-research prepare`` writes the processed folder.
    """
    check_area(area)
    as_of = parse_as_of(as_of)
    path = config.dataset_dir(dataset)
    if not Path(path).is_dir():
        raise AlisError(f"dataset folder {path} does not exist; expected a folder holding episodes.csv or episodes.xlsx")
    processed = Path(processed) if processed is not None else config.processed_dir(path)
    if processed_is_current(processed, path, as_of):
        prepared = load_prepared(processed)
    else:
        prepared = prepare_dataset(path, as_of=as_of)
    return select_area(prepared, area)
