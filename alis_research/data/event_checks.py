"""The checks of ``events.csv`` (against the episodes) and of the optional ``supervision.csv``."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from . import io
from ..config import EVENT_TYPES
from ..errors import DataValidationError
from ..result import input_table, require_columns
from .contract import (
    EVENTS_PER_JOIN,
    EVENT_NONEMPTY,
    EVENT_OPTIONAL_COLUMNS,
    EVENT_REQUIRED_COLUMNS,
    MAX_PROBLEMS_PER_KIND,
    Problem,
    canonical_contract_type,
    canonical_event,
)
from .raw_table import (
    NATIONAL_ID_IN_CELL_PROBLEM,
    NATIONAL_ID_PROBLEM,
    Table,
    capped,
    check_columns,
    check_duplicates,
    check_identity_numbers,
    check_nonempty,
    map_values,
    parse_dates,
    read_table_or_problem,
)

# --------------------------------------------------------------------------- events
def check_events(table: Table, episodes: pd.DataFrame | None, episodes_usable: pd.Series | None) -> pd.DataFrame:
    """Check the events table against itself and (when readable) the episodes."""
    check_columns(table, EVENT_REQUIRED_COLUMNS, EVENT_OPTIONAL_COLUMNS)
    check_identity_numbers(table)
    check_nonempty(table, EVENT_NONEMPTY)
    cells = table.cells
    index = cells.index
    date = parse_dates(table, "date")
    event = map_values(table, "event", canonical_event,
                        f"unknown event type (expected one of {', '.join(EVENT_TYPES)})")
    new_contract = (map_values(table, "new_contract_type", canonical_contract_type,
                                "unknown contract type (expected fastlønn or næring, or a synonym)")
                    if table.has("new_contract_type") else pd.Series(pd.NA, index=index, dtype=object))
    note = cells["note"].where(cells["note"] != "", pd.NA).astype(object) if table.has("note") \
        else pd.Series(pd.NA, index=index, dtype=object)
    person = cells["person_id"] if table.has("person_id") else pd.Series("", index=index)
    parsed = pd.DataFrame({"source_row": pd.Series(index, index=index, dtype="int64"), "person_id": person,
                           "date": date, "event": event, "new_contract_type": new_contract, "note": note},
                          index=index)
    duplicated = check_duplicates(table)

    is_switch = parsed["event"].eq("contract_switch").fillna(False).astype(bool)
    if not table.has("event"):
        pass  # the missing column is already reported
    elif not table.has("new_contract_type"):
        table.flag(is_switch, "new_contract_type",
                   "contract_switch needs a new_contract_type column (fastlønn or næring)", value_from="event")
    else:
        table.flag(is_switch & (cells["new_contract_type"] == ""), "new_contract_type",
                   "empty new_contract_type for a contract_switch (expected fastlønn or næring)")

    if episodes is not None:
        usable = (person != "") & date.notna() & ~duplicated
        _check_events_against_episodes(table, parsed[usable], episodes, episodes_usable)
    usable_pairs = (person != "") & date.notna() & ~duplicated & parsed["event"].notna()
    _check_pairs(table, parsed[usable_pairs], "hospital_year_start", "hospital_year_end")
    _check_pairs(table, parsed[usable_pairs], "leave_start", "leave_end")
    table.finish()
    return parsed


def _check_events_against_episodes(table: Table, events: pd.DataFrame, episodes: pd.DataFrame,
                                   episodes_usable: pd.Series) -> None:
    """Unknown people, dates outside every episode, and the contract switches.

    People with an episode row that could not be checked (a bad date, an
    overlap candidate removed as duplicate) are left out of the date checks,
    so one typing error in episodes does not cascade into events problems.
    """
    unknown = ~events["person_id"].isin(set(episodes["person_id"]))
    table.add_capped(unknown[unknown].index, "person_id", "event(s) of people not in the episodes table",
                     lambda row: (table.person_label(row),
                                  "person not found in the episodes table (expected the person_id of an episode)"))
    unsure = set(episodes.loc[~episodes_usable, "person_id"])
    events = events[~unknown & ~events["person_id"].isin(unsure)]
    episodes = episodes.loc[episodes_usable, ["person_id", "start_date", "end_date", "contract_type", "source_row"]]
    if events.empty:
        return
    # each event against its person's episodes, joined on integer codes of the person (not the text)
    codes = pd.factorize(np.concatenate([episodes["person_id"].to_numpy(dtype=object),
                                         events["person_id"].to_numpy(dtype=object)]))[0]
    spans = pd.DataFrame({"person": codes[:len(episodes)], "start_date": episodes["start_date"].to_numpy(),
                          "end_date": episodes["end_date"].to_numpy(), "episode_row": episodes["source_row"].to_numpy()})
    asked = pd.DataFrame({"source_row": events["source_row"].to_numpy(), "person": codes[len(episodes):],
                          "date": events["date"].to_numpy()})
    pieces = []
    for first in range(0, len(asked), EVENTS_PER_JOIN):  # in slices: a person has several episodes to pair with
        pairs = asked.iloc[first:first + EVENTS_PER_JOIN].merge(spans, on="person", how="inner")
        inside = (pairs["date"] >= pairs["start_date"]) & (pairs["end_date"].isna() | (pairs["date"] <= pairs["end_date"]))
        pieces.append(pairs.loc[inside, ["source_row", "episode_row", "start_date"]]
                      .drop_duplicates("source_row", keep="first"))
        del pairs, inside
    within = pd.concat(pieces).set_index("source_row").join(episodes.set_index("source_row")["contract_type"], on="episode_row")
    outside = ~events["source_row"].isin(within.index)
    table.add_capped(outside[outside].index, "date", "event(s) outside every episode",
                     lambda row: (table.cells.at[row, "date"],
                                  f"date outside every episode of person {table.person_label(row)} "
                                  "(expected a date between an episode's start_date and end_date)"))
    _check_switches(table, events[~outside], within)


def _check_switches(table: Table, events: pd.DataFrame, within: pd.DataFrame) -> None:
    """A switch must change the contract type current at its date, and not on the episode's first day.

    The type current at a switch is the new type of the episode's previous switch (a switch on the
    first day, already a problem, does not count), else the episode's own contract type; an episode
    whose own type is unknown (already a problem) is not checked. One vectorised pass.
    """
    switches = events[events["event"].eq("contract_switch").fillna(False) & events["new_contract_type"].notna()]
    if switches.empty:
        return
    switches = switches.join(within[["episode_row", "start_date", "contract_type"]], on="source_row")
    switches = switches.sort_values(["episode_row", "date", "source_row"], kind="mergesort")
    first_day = (switches["date"] == switches["start_date"]).to_numpy()
    table.add_capped(switches.index[first_day], "date", "switch(es) on an episode's first day",
                     lambda row: (table.cells.at[row, "date"],
                                  f"contract_switch on the first day of the episode in row "
                                  f"{switches.at[row, 'episode_row']} of the episodes table (expected a date after "
                                  "its start_date; put the contract type at start in episodes.contract_type instead)"))
    rest = switches[~first_day]
    previous = rest.groupby("episode_row", sort=False)["new_contract_type"].shift(1)
    type_now = previous.where(previous.notna(), rest["contract_type"])
    same = (rest["contract_type"].notna() & (rest["new_contract_type"] == type_now)).fillna(False).to_numpy(dtype=bool)
    table.add_capped(rest.index[same], "new_contract_type", "switch(es) to the current contract type",
                     lambda row: (table.cells.at[row, "new_contract_type"],
                                  f"switch to {type_now[row]}, which is already the current contract type "
                                  f"(episode in row {rest.at[row, 'episode_row']} of the episodes table); expected "
                                  "the other type"))


def _check_pairs(table: Table, events: pd.DataFrame, start_event: str, end_event: str) -> None:
    """Pair start/end events per person in date order: an end needs an open start before it.

    In date order (on one day a start before an end, so a same-day end finds its start) a start is
    open exactly when the person's previous event is a start, whatever came before; so one pass
    over the sorted events, comparing each with the one before, finds every problem.
    """
    pairs = events[events["event"].isin([start_event, end_event])]
    if pairs.empty:
        return
    person = pd.factorize(pairs["person_id"].to_numpy(dtype=object))[0]
    is_end = pairs["event"].eq(end_event).to_numpy(dtype=bool)
    dates = pairs["date"].to_numpy(dtype="datetime64[ns]")
    rows = pairs.index.to_numpy()
    order = np.lexsort((pairs["source_row"].to_numpy(), is_end, dates.view(np.int64), person))
    person, is_end, dates, rows = person[order], is_end[order], dates[order], rows[order]
    after_start = np.zeros(len(rows), dtype=bool)
    after_start[1:] = (person[1:] == person[:-1]) & ~is_end[:-1]
    previous_row = dict(zip(rows[1:], rows[:-1]))
    position_of = {row: position for position, row in enumerate(rows)}

    table.add_capped(rows[~is_end & after_start], "event", f"repeated {start_event}(s)",
                     lambda row: (start_event, f"{start_event} while the one in row {previous_row[row]} has no "
                                               f"{end_event} yet (expected a {end_event} in between)"))

    def orphan(row):
        position = position_of[row]
        later = np.flatnonzero((person == person[position]) & ~is_end & (dates > dates[position]))
        hint = f"; the {start_event} in row {rows[later[0]]} is dated after it" if len(later) else ""
        day = pd.Timestamp(dates[position]).date().isoformat()
        return end_event, (f"{end_event} on {day} without an earlier {start_event} of this person{hint} "
                           "(expected the end after its start)")

    table.add_capped(rows[is_end & ~after_start], "event", f"{end_event}(s) without a start", orphan)
    same_day = np.zeros(len(rows), dtype=bool)
    same_day[1:] = is_end[1:] & after_start[1:] & (dates[1:] == dates[:-1])
    table.add_capped(rows[same_day], "date", f"{end_event}(s) on the start day",
                     lambda row: (table.cells.at[row, "date"],
                                  f"{end_event} on the same day as the {start_event} in row {previous_row[row]} "
                                  "(expected a date after the start)"))


# --------------------------------------------------------------------------- supervision.csv (optional)
#: The optional raw table of supervision hours.
SUPERVISION = "supervision"
SUPERVISION_COLUMNS = ("person_id", "month", "hours")
#: Hours in one month above this are taken for a typing error.
MAX_HOURS_PER_MONTH = 40.0

_SUPERVISION_MONTH = re.compile(r"^(\d{4})-(\d{1,2})(?:-(\d{1,2}))?$")


def _parse_supervision_month(text: str) -> pd.Timestamp | None:
    """``YYYY-MM`` (or an Excel date ``YYYY-MM-DD``) to the first day of the month."""
    match = _SUPERVISION_MONTH.match(text)
    if not match:
        return None
    year, month = int(match.group(1)), int(match.group(2))
    if not (1900 <= year <= 2100 and 1 <= month <= 12):
        return None
    return pd.Timestamp(year=year, month=month, day=1)


def _parse_supervision_hours(text: str) -> float | None:
    try:
        value = float(text.replace(",", ".").replace("\u00a0", "").replace(" ", ""))
    except ValueError:
        return None
    return value if np.isfinite(value) else None


def validate_supervision(dataset_dir, episodes) -> tuple[list, pd.DataFrame]:
    """Check the optional supervision table of a dataset folder against the contract.

    Parameters
    ----------
    dataset_dir : path
        The raw dataset folder; ``supervision.csv`` or ``supervision.xlsx`` is optional.
    episodes : PreparedDataset, ValidatedData or DataFrame
        Episodes with ``person_id``, ``start_date`` and ``stop_date`` (or ``end_date``).

    Returns
    -------
    problems, supervision
        Every :class:`~alis_research.data.contract.Problem` found (file, spreadsheet row,
        column, value, what was expected) and, when there are none, the table
        ``source_row, person_id, month`` (first day of the month) ``, hours``;
        empty when the file is absent.
    """
    from ..identity import cells_with_national_id

    folder = Path(dataset_dir)
    empty = pd.DataFrame({"source_row": pd.Series(dtype="int64"), "person_id": pd.Series(dtype=object),
                          "month": pd.Series(dtype="datetime64[ns]"), "hours": pd.Series(dtype=float)})
    path = io.find_table(folder, SUPERVISION)
    if path is None:
        return [], empty
    file = path.name
    problems: list[Problem] = []
    frame = read_table_or_problem(path, problems)
    if frame is None:
        return problems, empty
    # an identity number in any cell is refused (masked); that cell gets no other problem
    id_masks: dict[str, np.ndarray] = {}
    for column in frame.columns:
        hits = cells_with_national_id(frame[column].to_numpy(dtype=object))
        if hits.any():
            id_masks[column] = hits
            for row in frame.index[hits][:MAX_PROBLEMS_PER_KIND]:
                problems.append(Problem(file, row, column, frame.at[row, column], NATIONAL_ID_PROBLEM
                                        if column == "person_id" else NATIONAL_ID_IN_CELL_PROBLEM))
            if hits.sum() > MAX_PROBLEMS_PER_KIND:
                hidden = int(hits.sum()) - MAX_PROBLEMS_PER_KIND
                problems.append(Problem(file, None, column, None, f"… and {hidden:,} more identity number(s) in "
                                        "this column", more=hidden))
    missing = [c for c in SUPERVISION_COLUMNS if c not in frame.columns]
    for column in missing:
        problems.append(Problem(file, 1, column, None,
                                f"missing required column '{column}' (expected columns: {', '.join(SUPERVISION_COLUMNS)})"))
    if missing:
        return problems, empty
    episodes = input_table(episodes, "episodes")
    require_columns(episodes, ("person_id", "start_date"), "episodes")
    stop = episodes["stop_date"] if "stop_date" in episodes.columns else episodes["end_date"]
    spans = pd.DataFrame({"person_id": episodes["person_id"].astype(str), "start": episodes["start_date"],
                          "stop": stop.fillna(pd.Timestamp.max)})
    checked = _check_supervision_rows(frame, spans, id_masks)
    for column, kind, mask, message in checked.kinds:
        if column in id_masks:
            mask = mask & ~id_masks[column]
        positions = np.flatnonzero(mask)
        for position in positions[:MAX_PROBLEMS_PER_KIND]:
            row = int(frame.index[position])
            value = None if kind.startswith("empty") else frame[column].iat[position]
            problems.append(Problem(file, row, column, value, message(position) if callable(message) else message))
        if len(positions) > MAX_PROBLEMS_PER_KIND:
            hidden = len(positions) - MAX_PROBLEMS_PER_KIND
            problems.append(Problem(file, None, column, None,
                                    f"… and {hidden:,} more {kind}; {len(positions):,} in all, the first "
                                    f"{MAX_PROBLEMS_PER_KIND} listed above", more=hidden))
    if problems:
        # by row (the checks of one row in the order above); lines counting the rest last
        return capped(sorted(problems, key=lambda p: (p.more > 0, p.row or 0))), empty
    ok = checked.ok
    table = pd.DataFrame({"source_row": frame.index.to_numpy()[ok].astype("int64"),
                          "person_id": frame["person_id"].to_numpy(dtype=object)[ok],
                          "month": checked.month[ok], "hours": checked.hours[ok].astype(float)},
                         columns=list(empty.columns))
    table["month"] = pd.to_datetime(table["month"])
    return [], table


@dataclass
class _SupervisionChecks:
    """Row masks of :func:`validate_supervision`'s checks, in the order their problems are listed."""

    kinds: list  # (column, kind, row mask, message or function of the row position)
    ok: np.ndarray
    month: np.ndarray
    hours: np.ndarray


def _check_supervision_rows(frame: pd.DataFrame, spans: pd.DataFrame, id_masks: dict) -> _SupervisionChecks:
    """Every row check of the supervision table at once (each parser runs once per distinct value)."""
    person = frame["person_id"].to_numpy(dtype=object)
    month_text = frame["month"].to_numpy(dtype=object)
    hours_text = frame["hours"].to_numpy(dtype=object)
    empty = {name: values == "" for name, values in
             (("person_id", person), ("month", month_text), ("hours", hours_text))}
    is_id = id_masks.get("person_id", np.zeros(len(frame), dtype=bool))
    known = pd.Series(person).isin(set(spans["person_id"])).to_numpy()
    unknown = ~empty["person_id"] & ~is_id & ~known

    codes, values = pd.factorize(month_text)
    month = pd.to_datetime(pd.Series([_parse_supervision_month(v) if v else None for v in values] + [None],
                                     dtype=object)).to_numpy(dtype="datetime64[ns]")[:-1][codes]
    has_month = ~np.isnat(month)
    bad_month = ~empty["month"] & ~has_month
    codes, values = pd.factorize(hours_text)
    parsed_hours = [_parse_supervision_hours(v) if v else None for v in values]
    hours = np.array([np.nan if h is None else h for h in parsed_hours] + [np.nan], dtype=float)[:-1][codes]
    bad_hours = ~empty["hours"] & np.isnan(hours)
    out_of_range = ~np.isnan(hours) & ~((hours >= 0) & (hours <= MAX_HOURS_PER_MONTH))

    # a month must overlap an episode of the person: one merge of the rows with the person's spans
    check = has_month & known
    positions = np.flatnonzero(check)
    asked = pd.DataFrame({"position": positions, "person_id": person[positions], "month": month[positions]})
    asked["month_end"] = asked["month"] + pd.offsets.MonthEnd(0)
    pairs = asked.merge(spans, on="person_id", how="inner")
    covered = pairs.loc[(pairs["start"] <= pairs["month_end"]) & (pairs["stop"] >= pairs["month"]), "position"]
    outside = check.copy()
    outside[covered.to_numpy(dtype=np.int64)] = False

    keyed = ~empty["person_id"] & has_month
    keys = pd.DataFrame({"person_id": person, "month": month})[keyed]
    repeated = keys.duplicated(keep="first")
    duplicate = np.zeros(len(frame), dtype=bool)
    duplicate[np.flatnonzero(keyed)[repeated.to_numpy()]] = True
    rows = frame.index.to_numpy()
    first_row = pd.Series(rows[keyed]).groupby([keys["person_id"].to_numpy(), keys["month"].to_numpy()],
                                               sort=False).transform("min").to_numpy()
    first_of = dict(zip(np.flatnonzero(keyed), first_row))

    def periods(position: int) -> str:
        own = spans[spans["person_id"] == person[position]]
        text = "; ".join(f"{s.date()} to {'ongoing' if e == pd.Timestamp.max else e.date()}"
                         for s, e in zip(own["start"], own["stop"]))
        return f"outside every episode of {person[position]} (in post {text})"

    kinds = [(name, f"empty {name} cell(s)", empty[name], f"empty cell (every row needs a {name})")
             for name in ("person_id", "month", "hours")]
    kinds += [
        ("person_id", "unknown person(s)", unknown, "unknown person: no episode in episodes.csv has this person_id"),
        ("month", "invalid month(s)", bad_month, "not a month (expected YYYY-MM, e.g. 2020-03)"),
        ("hours", "invalid hours", bad_hours, "not a number (expected hours such as 3 or 2.5)"),
        ("hours", "hours out of range", out_of_range, f"hours must lie between 0 and {MAX_HOURS_PER_MONTH:g} a month"),
        ("month", "month(s) outside every episode", outside, periods),
        ("month", "duplicate month(s)", duplicate,
         lambda position: f"duplicate: {person[position]} already has hours for this month in row "
                          f"{first_of[position]} (expected one row per person and month)"),
    ]
    failed = is_id.copy()
    for _, _, mask, _ in kinds:
        failed |= mask
    return _SupervisionChecks(kinds, ~failed, month, hours)


def load_supervision(dataset_dir, episodes) -> pd.DataFrame:
    """:func:`validate_supervision`, raising :class:`DataValidationError` listing every problem."""
    problems, table = validate_supervision(dataset_dir, episodes)
    if problems:
        lines = "\n".join(f"  {p}" for p in problems[:50])
        raise DataValidationError(problems, f"{len(problems)} problem(s) in the supervision table of {dataset_dir}:\n{lines}")
    return table
