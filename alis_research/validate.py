"""The raw-data contract: check a dataset folder and report every problem at once.

A dataset is a folder holding ``episodes.csv`` (or ``.xlsx``), optionally
``events.csv`` (or ``.xlsx``), ``supervision.csv`` (or ``.xlsx``, checked against the
episodes once they are valid) and ``dataset.json``. :func:`validate_dataset`
reads them through :mod:`alis_research.io`, checks every cell and every
cross-row rule, and returns *all* problems found, each naming the file, the
row as a spreadsheet shows it (header = row 1), the column, the value and
what was expected. When there are none it also returns the cleaned, typed
frames (canonical values, 2024 municipality codes) described in
``docs/architecture.md``. The rules and the decisions behind them are written
up in ``docs/data_dictionary.md``.
"""
from __future__ import annotations

import datetime as _dt
import difflib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from . import io
from .config import DEFAULT_PROGRAMME, END_REASONS, EVENT_TYPES
from .errors import AlisError, DataValidationError
from .result import input_table, require_columns

# --------------------------------------------------------------------------- the contract
EPISODES = "episodes"
EVENTS = "events"
#: Columns every episodes table must have (``end_date``/``end_reason`` cells may be empty).
EPISODE_REQUIRED_COLUMNS = ("person_id", "municipality", "contract_type", "start_date", "end_date", "end_reason")
EPISODE_OPTIONAL_COLUMNS = ("programme", "sex", "birth_year", "scheme", "list_size")
#: Episode cells that may never be empty.
EPISODE_NONEMPTY = ("person_id", "municipality", "contract_type", "start_date")
EVENT_REQUIRED_COLUMNS = ("person_id", "date", "event")
EVENT_OPTIONAL_COLUMNS = ("new_contract_type", "note")
EVENT_NONEMPTY = ("person_id", "date", "event")

#: Birth years accepted as plausible for a doctor in GP specialist training.
BIRTH_YEAR_RANGE = (1940, 2005)
#: Dates outside these years are typing errors (and would overflow datetime64[ns]).
DATE_YEAR_RANGE = (1900, 2100)
#: An unknown column this similar to a missing known one is reported as a misspelling.
MISSPELLING_CUTOFF = 0.75
#: Norwegian headers common in municipal extracts: suggested (never silently accepted) for a missing column.
HEADER_HINTS = {
    "lege": "person_id", "lege_id": "person_id", "person": "person_id", "id": "person_id", "løpenummer": "person_id",
    "kommune": "municipality", "kommunenummer": "municipality", "kommunenr": "municipality",
    "kontrakt": "contract_type", "kontrakttype": "contract_type", "avtaletype": "contract_type",
    "avtale": "contract_type", "tilknytning": "contract_type",
    "startdato": "start_date", "start": "start_date", "fra": "start_date", "fra_dato": "start_date",
    "sluttdato": "end_date", "slutt": "end_date", "til": "end_date", "til_dato": "end_date",
    "sluttårsak": "end_reason", "årsak": "end_reason",
    "program": "programme", "kjønn": "sex", "fødselsår": "birth_year", "ordning": "scheme",
    "listelengde": "list_size", "listestørrelse": "list_size",
    "dato": "date", "hendelse": "event", "ny_kontrakttype": "new_contract_type", "merknad": "note",
    "kommentar": "note", "begrunnelse": "note",
}

DATE_EXPECTED = "expected YYYY-MM-DD or DD.MM.YYYY"

_CONTRACT_SYNONYMS = {
    "fastlønn": (
        "f", "fast", "fastlønn", "fastlonn", "fastloenn", "fast lønn", "fast lonn", "fast loenn",
        "fastlønnet", "fastlonnet", "fastlønnsavtale", "fastlønn kommune", "kommunal", "kommunalt ansatt",
        "ansatt", "ansatt i kommunen", "kommunalt", "lønnet", "salaried", "salary", "employed",
    ),
    "næring": (
        "n", "næring", "naering", "naring", "nering", "næringsdrivende", "naeringsdrivende",
        "selvstendig", "selvstendig næringsdrivende", "selvstendig naeringsdrivende",
        "selvstendig naringsdrivende", "privat", "privat hjemmel", "privat praksis", "privatpraksis",
        "privat avtale", "næringsavtale", "naeringsavtale", "self employed", "private",
    ),
}
_CONTRACT_LOOKUP = {synonym: canonical for canonical, words in _CONTRACT_SYNONYMS.items() for synonym in words}

_END_REASON_SYNONYMS = {
    "ukjent": "unknown",
    "annet": "other",
    "annen": "other",
    "pensjon": "retired",
    "pensjonert": "retired",
    "pensjonist": "retired",
    "sykehus": "hospital",
}
_SCHEME_SYNONYMS = {
    "old": "old", "new": "new", "gammel": "old", "gamle": "old", "ny": "new", "nye": "new",
    "old_scheme": "old", "new_scheme": "new", "gammel_ordning": "old", "ny_ordning": "new",
    "gamle_regler": "old", "nye_regler": "new",
}
_SEX_SYNONYMS = {"k": "K", "m": "M", "kvinne": "K", "mann": "M"}
_KNOWN_PROGRAMMES = {"alis-nord": "ALIS-Nord", "alis nord": "ALIS-Nord", "alis-vest": "ALIS-Vest",
                     "alis vest": "ALIS-Vest"}
_BOOLEAN_WORDS = {"ja": True, "j": True, "yes": True, "y": True, "true": True, "sann": True, "1": True,
                  "nei": False, "n": False, "no": False, "false": False, "usann": False, "0": False}

_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$")
_NORWEGIAN_DATE = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")
_ID_WEIGHTS_1 = np.array([3, 7, 6, 1, 8, 9, 4, 5, 2])
_ID_WEIGHTS_2 = np.array([5, 4, 3, 2, 7, 6, 5, 4, 3, 2])


# --------------------------------------------------------------------------- problems and results
@dataclass(frozen=True)
class Problem:
    """One breach of the raw-data contract.

    ``row`` is the row a spreadsheet shows (header = 1, first data row = 2),
    ``None`` for a problem with the whole file or a column.
    """

    file: str
    row: int | None
    column: str | None
    value: str | None
    message: str

    def to_dict(self) -> dict:
        """The problem as a JSON-ready dict with keys file, row, column, value, message."""
        return {"file": self.file, "row": self.row, "column": self.column, "value": self.value,
                "message": self.message}

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", row {self.row}"
        if self.column is not None:
            where += f", column {self.column}"
        value = f"value '{self.value}': " if self.value is not None else ""
        return f"{where}: {value}{self.message}"


@dataclass
class ValidatedData:
    """A dataset that passed validation: typed, canonical frames and the input fingerprints."""

    dataset_dir: Path
    episodes: pd.DataFrame
    events: pd.DataFrame
    input_files: dict[str, str] = field(default_factory=dict)
    synthetic: bool = False
    #: The optional supervision.csv (``source_row, person_id, month, hours``); empty when absent.
    supervision: pd.DataFrame | None = None


# --------------------------------------------------------------------------- value parsers
def parse_date(text) -> pd.Timestamp | None:
    """Parse a raw date cell; ``None`` when it is not a valid date.

    Accepts ``YYYY-MM-DD`` (also with a time part, as XLSX datetimes are
    rendered), ``DD.MM.YYYY`` and ``D.M.YYYY``. Years outside
    :data:`DATE_YEAR_RANGE` are refused as typing errors.
    """
    if text is None or (not isinstance(text, str) and pd.isna(text)):
        return None
    if isinstance(text, (_dt.date, pd.Timestamp)):
        return pd.Timestamp(text).normalize()
    text = str(text).strip()
    match = _ISO_DATE.match(text)
    if match:
        year, month, day = (int(part) for part in match.groups())
    else:
        match = _NORWEGIAN_DATE.match(text)
        if not match:
            return None
        day, month, year = (int(part) for part in match.groups())
    if not DATE_YEAR_RANGE[0] <= year <= DATE_YEAR_RANGE[1]:
        return None
    try:
        return pd.Timestamp(_dt.date(year, month, day))
    except ValueError:
        return None


def _normalise_word(text: str) -> str:
    return re.sub(r"\s+", " ", str(text).strip().lower().replace("_", " ").replace("-", " ")).strip()


def canonical_contract_type(text) -> str | None:
    """``'fastlønn'`` or ``'næring'`` for a raw contract-type cell, ``None`` if unrecognised.

    Case, spaces, hyphens and underscores and an ``ALIS`` prefix are ignored, so
    ``f``, ``Fastlonn``, ``ALIS-fastlønn``, ``fast lønn``, ``kommunal``,
    ``ansatt`` give fastlønn and ``n``, ``naering``, ``ALIS-næring``,
    ``privat``, ``privat hjemmel``, ``selvstendig næringsdrivende`` give næring.
    """
    if text is None or (not isinstance(text, str) and pd.isna(text)):
        return None
    word = _normalise_word(text)
    word = re.sub(r"^alis\s*", "", word)
    return _CONTRACT_LOOKUP.get(word)


def canonical_end_reason(text) -> str | None:
    """Canonical end reason (one of ``config.END_REASONS``) or ``None``."""
    word = _normalise_word(text).replace(" ", "_")
    if word in END_REASONS:
        return word
    return _END_REASON_SYNONYMS.get(word)


def canonical_event(text) -> str | None:
    """Canonical event type (one of ``config.EVENT_TYPES``) or ``None``."""
    word = _normalise_word(text).replace(" ", "_")
    return word if word in EVENT_TYPES else None


def parse_bool(text) -> bool | None:
    """``True``/``False`` for ``Ja``/``Nei`` (and yes/no, true/false, 1/0); ``None`` otherwise."""
    if isinstance(text, bool):
        return text
    return _BOOLEAN_WORDS.get(str(text).strip().lower())


def is_norwegian_national_id(text) -> bool:
    """Whether ``text`` is 11 digits whose two mod-11 check digits are valid.

    This covers the fødselsnummer, the D-number (day + 40) and the H-number
    (month + 40), since all share the check-digit rule. The date part is
    deliberately not checked: refusing every checksum-valid number errs on the
    side of privacy.
    """
    digits = re.sub(r"\s", "", str(text)) if text is not None else ""
    if len(digits) != 11 or not digits.isascii() or not digits.isdigit():
        return False
    return bool(national_id_mask(pd.Series([digits])).iloc[0])


def national_id_mask(values: pd.Series) -> pd.Series:
    """Vectorised :func:`is_norwegian_national_id` over a Series of strings."""
    compact = values.astype(str).str.replace(r"\s", "", regex=True)
    candidate = compact.str.fullmatch(r"[0-9]{11}")
    result = pd.Series(False, index=values.index)
    if not candidate.any():
        return result
    digits = np.array([list(map(int, s)) for s in compact[candidate]], dtype=np.int64)
    check1 = 11 - (digits[:, :9] @ _ID_WEIGHTS_1) % 11
    check1 = np.where(check1 == 11, 0, check1)
    check2 = 11 - (np.column_stack([digits[:, :9], check1]) @ _ID_WEIGHTS_2) % 11
    check2 = np.where(check2 == 11, 0, check2)
    valid = (check1 != 10) & (check2 != 10) & (check1 == digits[:, 9]) & (check2 == digits[:, 10])
    result[candidate] = valid
    return result


def mask_national_id(text: str) -> str:
    """Show only the first six digits of an identity number: ``'010190*****'``."""
    digits = re.sub(r"\s", "", str(text))
    return digits[:6] + "*" * (len(digits) - 6)


# --------------------------------------------------------------------------- checking one table
class _Table:
    """One raw table being checked: its stripped cells, file name and the problems found."""

    def __init__(self, frame: pd.DataFrame, file: str, problems: list[Problem]):
        self.cells = frame.rename_axis(None)  # cells arrive stripped; the index is the spreadsheet row
        self.file = file
        self.problems = problems
        self.id_rows = pd.Series(False, index=frame.index)  # rows whose person_id is an identity number
        self._people: dict | None = None
        self._id_row_set: set = set()

    def has(self, column: str) -> bool:
        return column in self.cells.columns

    def add(self, row, column, value, message) -> None:
        self.problems.append(Problem(self.file, None if row is None else int(row), column,
                                     None if value is None else str(value), message))

    def flag(self, mask: pd.Series, column: str, message, *, value_from: str | None = None) -> None:
        """Add one problem per row where ``mask`` holds; ``message`` may be a function of the value."""
        source = self.cells[value_from or column]
        for row, value in source[mask.fillna(False).astype(bool)].items():
            self.add(row, column, value, message(value) if callable(message) else message)

    def person_label(self, row) -> str:
        """The person_id of a row for use in a message, masked if it is an identity number."""
        if self._people is None:
            self._people = self.cells["person_id"].to_dict()
            self._id_row_set = set(self.id_rows.index[self.id_rows])
        value = self._people[row]
        return mask_national_id(value) if row in self._id_row_set else value


def column_problems(present: list[str], required, optional, hints: dict[str, str]) -> list[tuple[str, str]]:
    """Misspelt and missing columns of a header, as ``(column, message)`` pairs.

    An unknown column close to a missing known one (or named in ``hints``) gets a
    "did you mean" message; each required column neither present nor so claimed is
    reported missing. Unknown extra columns are otherwise ignored.
    """
    required, optional = tuple(required), tuple(optional)
    known = required + optional
    missing = [name for name in known if name not in present]
    claimed: set[str] = set()
    found: list[tuple[str, str]] = []
    for name in (n for n in present if n not in known):
        candidates = [m for m in missing if m not in claimed]
        hint = hints.get(name.replace(" ", "_"))
        match = [hint] if hint in candidates else difflib.get_close_matches(name, candidates, n=1,
                                                                             cutoff=MISSPELLING_CUTOFF)
        if match:
            claimed.add(match[0])
            kind = "required" if match[0] in required else "optional"
            found.append((name, f"unknown column '{name}': did you mean '{match[0]}'? "
                                f"(a {kind} column; rename the header)"))
    for name in required:
        if name not in present and name not in claimed:
            found.append((name, f"missing required column '{name}' (required columns: {', '.join(required)})"))
    return found


def _check_columns(table: _Table, required: tuple[str, ...], optional: tuple[str, ...]) -> None:
    """Missing and misspelt columns; unknown extra columns are ignored."""
    for column, message in column_problems(list(table.cells.columns), required, optional, HEADER_HINTS):
        table.add(None, column, None, message)


def _check_nonempty(table: _Table, columns: tuple[str, ...]) -> None:
    for column in columns:
        if table.has(column):
            table.flag(table.cells[column] == "", column, "empty cell; a value is required")


#: Why a person_id that is an identity number is refused (episodes, events, supervision.csv).
NATIONAL_ID_PROBLEM = ("looks like a Norwegian national identity number (fødselsnummer/D-number); identity "
                       "numbers must never enter the analysis data: run `alis-research pseudonymise IN OUT "
                       "--key-env VAR` first")


def _check_person_ids(table: _Table) -> None:
    if not table.has("person_id"):
        return
    table.id_rows = national_id_mask(table.cells["person_id"])
    for row in table.id_rows[table.id_rows].index:
        table.add(row, "person_id", mask_national_id(table.cells.at[row, "person_id"]), NATIONAL_ID_PROBLEM)


def _parse_dates(table: _Table, column: str) -> pd.Series:
    """Parse a date column (cached per distinct value); flag the unparseable non-empty cells."""
    if not table.has(column):
        return pd.Series(pd.NaT, index=table.cells.index, dtype="datetime64[ns]")
    raw = table.cells[column]
    lookup = {text: parse_date(text) for text in raw.unique() if text != ""}
    parsed = pd.to_datetime(raw.map(lookup), errors="coerce").astype("datetime64[ns]")
    table.flag((raw != "") & parsed.isna(), column, f"not a valid date ({DATE_EXPECTED})")
    return parsed


def _map_values(table: _Table, column: str, canonical, message) -> pd.Series:
    """Map a column through ``canonical`` (per distinct value); flag unknown non-empty cells."""
    if not table.has(column):
        return pd.Series(pd.NA, index=table.cells.index, dtype=object)
    raw = table.cells[column]
    lookup = {text: canonical(text) for text in raw.unique() if text != ""}
    mapped = raw.map(lookup).astype(object)
    table.flag((raw != "") & mapped.isna(), column, message)
    return mapped.where(mapped.notna(), pd.NA)


def _parse_integers(table: _Table, column: str, *, low: int | None, high: int | None, expected: str) -> pd.Series:
    if not table.has(column):
        return pd.Series(pd.NA, index=table.cells.index, dtype="Int64")
    raw = table.cells[column]
    compact = raw.str.replace(r"[\s\u00a0]", "", regex=True)
    numbers = pd.to_numeric(compact.where(compact.str.fullmatch(r"[0-9]+")), errors="coerce").astype("Int64")
    bad = (raw != "") & numbers.isna()
    if low is not None:
        bad |= numbers.lt(low).fillna(False)
    if high is not None:
        bad |= numbers.gt(high).fillna(False)
    table.flag(bad, column, f"not {expected}")
    return numbers.where(~bad, pd.NA)


def _check_duplicates(table: _Table) -> pd.Series:
    """Flag exact duplicate rows (the later one, naming the first); return the duplicate mask."""
    cells = table.cells
    if cells.empty or not len(cells.columns):
        return pd.Series(False, index=cells.index)
    duplicated = cells.duplicated(keep="first")
    if duplicated.any():
        group = cells.groupby(list(cells.columns), sort=False, dropna=False).ngroup()
        first_row = pd.Series(cells.index, index=cells.index).groupby(group).transform("min")
        for row in duplicated[duplicated].index:
            table.add(row, None, None, f"exact duplicate of row {first_row[row]}; delete one of them")
    return duplicated


def _resolve_municipalities(table: _Table) -> tuple[pd.Series, pd.Series]:
    """2024 code and name per row through the reference tables; flag unknown ones."""
    from .reference import resolve_municipality  # the reference tables load on first use

    index = table.cells.index
    if not table.has("municipality"):
        return pd.Series(pd.NA, index=index, dtype=object), pd.Series(pd.NA, index=index, dtype=object)
    raw = table.cells["municipality"]
    codes: dict[str, str] = {}
    names: dict[str, str] = {}
    errors: dict[str, str] = {}
    for text in raw.unique():
        if text == "":
            continue
        try:
            match = resolve_municipality(text)
        except AlisError as exc:
            errors[text] = str(exc)
            continue
        codes[text], names[text] = match.code_2024, match.name
    for row, text in raw[raw.isin(list(errors))].items():
        table.add(row, "municipality", text, errors[text])
    code = raw.map(codes).astype(object)
    name = raw.map(names).astype(object)
    return code.where(code.notna(), pd.NA), name.where(name.notna(), pd.NA)


# --------------------------------------------------------------------------- episodes
def _check_episodes(table: _Table, as_of: pd.Timestamp | None) -> tuple[pd.DataFrame, pd.Series]:
    """Check the episodes table; return the parsed frame and a mask of rows fit for cross-row checks."""
    _check_columns(table, EPISODE_REQUIRED_COLUMNS, EPISODE_OPTIONAL_COLUMNS)
    _check_nonempty(table, EPISODE_NONEMPTY)
    _check_person_ids(table)
    cells = table.cells
    index = cells.index
    code, name = _resolve_municipalities(table)
    contract = _map_values(table, "contract_type", canonical_contract_type,
                           "unknown contract type (expected fastlønn or næring, or a synonym such as "
                           "f, n, fastlonn, naering, privat, selvstendig næringsdrivende)")
    start = _parse_dates(table, "start_date")
    end = _parse_dates(table, "end_date")
    end_reason = _map_values(table, "end_reason", canonical_end_reason,
                             f"unknown end reason (expected one of {', '.join(END_REASONS)})")
    sex = _map_values(table, "sex", lambda t: _SEX_SYNONYMS.get(t.lower()), "not a valid sex (expected K or M)")
    scheme = _map_values(table, "scheme", lambda t: _SCHEME_SYNONYMS.get(_normalise_word(t).replace(" ", "_")),
                         "not a valid scheme (expected old or new specialist rules)")
    birth_year = _parse_integers(table, "birth_year", low=BIRTH_YEAR_RANGE[0], high=BIRTH_YEAR_RANGE[1],
                                 expected=f"a plausible birth year (expected a whole year "
                                          f"{BIRTH_YEAR_RANGE[0]}–{BIRTH_YEAR_RANGE[1]})")
    list_size = _parse_integers(table, "list_size", low=0, high=None,
                                expected="a non-negative whole number of patients")
    if table.has("programme"):
        raw_programme = cells["programme"]
        programme = raw_programme.map(lambda t: _KNOWN_PROGRAMMES.get(_normalise_word(t).replace(" ", "-"), t))
        programme = programme.where(raw_programme != "", DEFAULT_PROGRAMME).astype(object)
    else:
        programme = pd.Series(DEFAULT_PROGRAMME, index=index, dtype=object)

    end_before_start = end.notna() & start.notna() & (end <= start)
    same_day = end_before_start & (end == start)
    table.flag(same_day, "end_date", "end_date is the same day as start_date (expected a date after "
                                     "start_date; an episode of zero length cannot be analysed)")
    table.flag(end_before_start & ~same_day, "end_date", "end_date is before start_date "
                                                         "(expected a date after start_date)")
    if table.has("end_reason") and table.has("end_date"):
        raw_end = cells["end_date"]
        table.flag((raw_end == "") & (cells["end_reason"] != ""), "end_reason",
                   "end_reason given for an ongoing episode (end_date is empty); fill in end_date or "
                   "clear end_reason")
        if as_of is not None:
            ended = end.notna() & (end <= as_of)
            table.flag(ended & (cells["end_reason"] == ""), "end_reason",
                       f"empty end_reason for an episode that ended on or before the as-of date "
                       f"{as_of.date().isoformat()} (expected one of {', '.join(END_REASONS)})")

    duplicated = _check_duplicates(table)
    parsed = pd.DataFrame({
        "source_row": pd.Series(index, index=index, dtype="int64"),
        "person_id": cells["person_id"] if table.has("person_id") else pd.Series("", index=index),
        "municipality_code": code,
        "municipality_name": name,
        "contract_type": contract,
        "start_date": start,
        "end_date": end,
        "end_reason": end_reason,
        "programme": programme,
        "sex": sex,
        "birth_year": birth_year,
        "list_size": list_size,
        "scheme": scheme,
    }, index=index)
    # rows whose person and dates are sound take part in the overlap and event checks
    usable = (parsed["person_id"] != "") & start.notna() & ~duplicated & ~end_before_start
    if table.has("end_date"):
        usable &= (cells["end_date"] == "") | end.notna()
    _check_overlaps(table, parsed[usable])
    return parsed, usable


def _check_overlaps(table: _Table, episodes: pd.DataFrame) -> None:
    """Flag an episode starting before an earlier episode of the same person has ended.

    Episodes that touch (one ends the day the next starts) do not overlap; an
    ongoing episode (empty end_date) runs for ever.
    """
    if episodes.empty:
        return
    ordered = episodes.sort_values(["person_id", "start_date", "source_row"], kind="mergesort")
    open_end = ordered["end_date"].fillna(pd.Timestamp.max.normalize())
    running_end = open_end.groupby(ordered["person_id"], sort=False).cummax()
    previous_end = running_end.groupby(ordered["person_id"], sort=False).shift(1)
    overlapping = ordered["start_date"] < previous_end
    if not overlapping.any():
        return
    # name the earlier episode: walk only the people concerned, in start order
    concerned = ordered["person_id"].isin(set(ordered.loc[overlapping, "person_id"]))
    earlier_episodes: dict[str, list[tuple[pd.Timestamp, int]]] = {}
    for row, person, start, end, flagged in zip(ordered.index[concerned], ordered.loc[concerned, "person_id"],
                                                ordered.loc[concerned, "start_date"], open_end[concerned],
                                                overlapping[concerned]):
        seen = earlier_episodes.setdefault(person, [])
        if flagged:
            earlier_row = next(source for other_end, source in seen if other_end > start)
            table.add(row, "start_date", table.cells.at[row, "start_date"],
                      f"episode of person {table.person_label(row)} overlaps the episode in row {earlier_row} "
                      "(expected one position at a time: a start_date on or after the earlier end_date)")
        seen.append((end, row))


# --------------------------------------------------------------------------- events
def _check_events(table: _Table, episodes: pd.DataFrame | None, episodes_usable: pd.Series | None) -> pd.DataFrame:
    """Check the events table against itself and (when readable) the episodes."""
    _check_columns(table, EVENT_REQUIRED_COLUMNS, EVENT_OPTIONAL_COLUMNS)
    _check_nonempty(table, EVENT_NONEMPTY)
    _check_person_ids(table)
    cells = table.cells
    index = cells.index
    date = _parse_dates(table, "date")
    event = _map_values(table, "event", canonical_event,
                        f"unknown event type (expected one of {', '.join(EVENT_TYPES)})")
    new_contract = (_map_values(table, "new_contract_type", canonical_contract_type,
                                "unknown contract type (expected fastlønn or næring, or a synonym)")
                    if table.has("new_contract_type") else pd.Series(pd.NA, index=index, dtype=object))
    note = cells["note"].where(cells["note"] != "", pd.NA).astype(object) if table.has("note") \
        else pd.Series(pd.NA, index=index, dtype=object)
    person = cells["person_id"] if table.has("person_id") else pd.Series("", index=index)
    parsed = pd.DataFrame({"source_row": pd.Series(index, index=index, dtype="int64"), "person_id": person,
                           "date": date, "event": event, "new_contract_type": new_contract, "note": note},
                          index=index)
    duplicated = _check_duplicates(table)

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
    return parsed


def _check_events_against_episodes(table: _Table, events: pd.DataFrame, episodes: pd.DataFrame,
                                   episodes_usable: pd.Series) -> None:
    """Unknown people, dates outside every episode, and the contract switches.

    People with an episode row that could not be checked (a bad date, an
    overlap candidate removed as duplicate) are left out of the date checks,
    so one typing error in episodes does not cascade into events problems.
    """
    unknown = ~events["person_id"].isin(set(episodes["person_id"]))
    for row in unknown[unknown].index:
        table.add(row, "person_id", table.person_label(row),
                  "person not found in the episodes table (expected the person_id of an episode)")
    unsure = set(episodes.loc[~episodes_usable, "person_id"])
    events = events[~unknown & ~events["person_id"].isin(unsure)]
    episodes = episodes[episodes_usable]
    if events.empty:
        return
    spans = episodes[["person_id", "start_date", "end_date", "contract_type", "source_row"]].rename(
        columns={"source_row": "episode_row"})
    pairs = events[["source_row", "person_id", "date"]].merge(spans, on="person_id", how="inner")
    inside = (pairs["date"] >= pairs["start_date"]) & (pairs["end_date"].isna() | (pairs["date"] <= pairs["end_date"]))
    within = pairs[inside].drop_duplicates("source_row", keep="first").set_index("source_row")
    outside = ~events["source_row"].isin(within.index)
    for row in outside[outside].index:
        table.add(row, "date", table.cells.at[row, "date"],
                  f"date outside every episode of person {table.person_label(row)} "
                  "(expected a date between an episode's start_date and end_date)")
    _check_switches(table, events[~outside], within)


def _check_switches(table: _Table, events: pd.DataFrame, within: pd.DataFrame) -> None:
    """A switch must change the contract type current at its date, and not on the episode's first day."""
    switches = events[events["event"].eq("contract_switch").fillna(False) & events["new_contract_type"].notna()]
    if switches.empty:
        return
    switches = switches.join(within[["episode_row", "start_date", "contract_type"]], on="source_row")
    switches = switches.sort_values(["episode_row", "date", "source_row"], kind="mergesort")
    current: dict[int, str] = {}
    columns = ["episode_row", "date", "start_date", "contract_type", "new_contract_type"]
    for row, episode_row, date, start_date, contract_type, new_type in zip(
            switches.index, *(switches[column] for column in columns)):
        if date == start_date:
            table.add(row, "date", table.cells.at[row, "date"],
                      f"contract_switch on the first day of the episode in row {episode_row} of the episodes "
                      "table (expected a date after its start_date; put the contract type at start in "
                      "episodes.contract_type instead)")
            continue
        type_now = current.get(episode_row, contract_type)
        if pd.isna(type_now):
            continue  # the episode's own contract type is already reported as unknown
        if new_type == type_now:
            table.add(row, "new_contract_type", table.cells.at[row, "new_contract_type"],
                      f"switch to {type_now}, which is already the current contract type "
                      f"(episode in row {episode_row} of the episodes table); expected the other type")
        current[episode_row] = new_type


def _check_pairs(table: _Table, events: pd.DataFrame, start_event: str, end_event: str) -> None:
    """Pair start/end events per person in date order: an end needs an open start before it."""
    pairs = events[events["event"].isin([start_event, end_event])]
    if pairs.empty:
        return
    # on one day a start sorts before an end, so a same-day end finds its start
    pairs = pairs.assign(_is_end=pairs["event"].eq(end_event))
    pairs = pairs.sort_values(["person_id", "date", "_is_end", "source_row"], kind="mergesort")
    open_start: dict[str, tuple[int, pd.Timestamp]] = {}
    starts: dict[str, list[tuple[pd.Timestamp, int]]] = {}
    for row, pid, date, is_end in zip(pairs.index, pairs["person_id"], pairs["date"], pairs["_is_end"]):
        if not is_end:
            starts.setdefault(pid, []).append((date, row))
    for row, pid, date, is_end in zip(pairs.index, pairs["person_id"], pairs["date"], pairs["_is_end"]):
        if not is_end:
            if pid in open_start:
                table.add(row, "event", start_event,
                          f"{start_event} while the one in row {open_start[pid][0]} has no {end_event} yet "
                          f"(expected a {end_event} in between)")
            open_start[pid] = (row, date)
            continue
        if pid not in open_start:
            later = [start_row for start_date, start_row in starts.get(pid, []) if start_date > date]
            hint = f"; the {start_event} in row {later[0]} is dated after it" if later else ""
            table.add(row, "event", end_event,
                      f"{end_event} on {date.date().isoformat()} without an earlier {start_event} of this person"
                      f"{hint} (expected the end after its start)")
            continue
        start_row, start_date = open_start.pop(pid)
        if date == start_date:
            table.add(row, "date", table.cells.at[row, "date"],
                      f"{end_event} on the same day as the {start_event} in row {start_row} "
                      "(expected a date after the start)")


# --------------------------------------------------------------------------- the whole dataset
def _parse_as_of(as_of) -> pd.Timestamp | None:
    if as_of is None or (isinstance(as_of, str) and not as_of.strip()):
        return None
    parsed = parse_date(as_of) if isinstance(as_of, str) else pd.Timestamp(as_of).normalize()
    if parsed is None:
        raise AlisError(f"as-of date '{as_of}': not a valid date (expected YYYY-MM-DD)")
    return parsed


def _read(path: Path, problems: list[Problem]) -> pd.DataFrame | None:
    try:
        return io.read_table(path)
    except io.TableFormatError as exc:
        problems.append(Problem(path.name, exc.row, exc.column, None, exc.detail))
        return None
    except AlisError as exc:
        problems.append(Problem(path.name, None, None, None, without_file_prefix(str(exc), path.name)))
        return None


def without_file_prefix(message: str, file: str) -> str:
    """Drop a leading ``'<file>: '`` from an error message (the Problem already names the file)."""
    prefix = f"{file}: "
    return message[len(prefix):] if message.startswith(prefix) else message


def validate_dataset(dataset_dir, *, as_of=None) -> tuple[list[Problem], ValidatedData | None]:
    """Check a raw dataset folder against the contract.

    Parameters
    ----------
    dataset_dir
        The folder holding ``episodes.csv``/``.xlsx`` and optionally
        ``events.csv``/``.xlsx`` and ``dataset.json``.
    as_of
        The as-of date (``YYYY-MM-DD`` text, date or Timestamp). Only when it
        is given is an ended episode (``end_date`` on or before it) required to
        have an ``end_reason``.

    Returns
    -------
    problems, data
        Every problem found (empty when the dataset is clean) and, only when
        there are none, the :class:`ValidatedData`. Data problems are never
        raised; a missing folder or an invalid ``as_of`` raise
        :class:`~alis_research.errors.AlisError`.
    """
    folder = Path(dataset_dir)
    if not folder.is_dir():
        raise AlisError(f"{folder}: dataset folder not found")
    as_of_date = _parse_as_of(as_of)
    problems: list[Problem] = []
    input_files: dict[str, str] = {}

    def locate(stem: str) -> Path | None:
        try:
            return io.find_table(folder, stem)
        except AlisError as exc:
            problems.append(Problem(f"{stem}.csv", None, None, None, str(exc)))
            return None

    episodes_path, events_path = locate(EPISODES), locate(EVENTS)
    metadata: dict = {}
    if (folder / io.METADATA_FILE).is_file():
        input_files[io.METADATA_FILE] = io.sha256_file(folder / io.METADATA_FILE)
        try:
            metadata = io.read_dataset_metadata(folder)
        except AlisError as exc:
            problems.append(Problem(io.METADATA_FILE, None, None, None, without_file_prefix(str(exc), io.METADATA_FILE)))
    synthetic = parse_bool(metadata.get("synthetic", False))
    if synthetic is None:
        problems.append(Problem(io.METADATA_FILE, None, "synthetic", str(metadata.get("synthetic")),
                                "not a yes/no value (expected true or false)"))

    episodes = episodes_usable = None
    if episodes_path is None:
        if not any(p.file == f"{EPISODES}.csv" for p in problems):
            problems.append(Problem(f"{EPISODES}.csv", None, None, None,
                                    "missing required file (expected episodes.csv or episodes.xlsx)"))
    else:
        input_files[episodes_path.name] = io.sha256_file(episodes_path)
        frame = _read(episodes_path, problems)
        if frame is not None:
            episode_table = _Table(frame, episodes_path.name, problems)
            episodes, episodes_usable = _check_episodes(episode_table, as_of_date)

    events = None
    if events_path is not None:
        input_files[events_path.name] = io.sha256_file(events_path)
        frame = _read(events_path, problems)
        if frame is not None:
            # cross-checks only against an episodes table whose key columns could be read
            comparable = episodes is not None and {"person_id", "start_date"} <= set(episode_table.cells.columns)
            events = _check_events(_Table(frame, events_path.name, problems),
                                   episodes if comparable else None, episodes_usable)

    if problems:
        return _sorted(problems, episodes_path, events_path), None
    if events is None:
        events = _empty_events()
    data = ValidatedData(dataset_dir=folder, episodes=_finish_episodes(episodes), events=_finish_events(events),
                         input_files=input_files, synthetic=bool(synthetic))
    # the optional supervision.csv is checked against the episodes, so only once they are valid
    try:
        supervision_problems, data.supervision = validate_supervision(folder, data)
        supervision_path = io.find_table(folder, SUPERVISION)
    except AlisError as exc:  # unreadable, or both supervision.csv and .xlsx
        return [Problem(f"{SUPERVISION}.csv", None, None, None, without_file_prefix(str(exc), f"{SUPERVISION}.csv"))], None
    if supervision_problems:
        return supervision_problems, None
    if supervision_path is not None:
        data.input_files[supervision_path.name] = io.sha256_file(supervision_path)
    return [], data


def _sorted(problems: list[Problem], *paths: Path | None) -> list[Problem]:
    """Order problems by file (episodes, events, other), then row; stable within a row."""
    rank = {path.name: position for position, path in enumerate(paths) if path is not None}
    return sorted(problems, key=lambda p: (rank.get(p.file, len(rank)), p.file, p.row or 0))


def _finish_episodes(episodes: pd.DataFrame) -> pd.DataFrame:
    result = episodes.reset_index(drop=True)
    for column in ("person_id", "municipality_code", "municipality_name", "contract_type", "programme"):
        result[column] = result[column].astype(object)
    return result


def _finish_events(events: pd.DataFrame) -> pd.DataFrame:
    result = events.reset_index(drop=True)
    result["date"] = result["date"].astype("datetime64[ns]")
    result["source_row"] = result["source_row"].astype("int64")
    return result


def _empty_events() -> pd.DataFrame:
    return pd.DataFrame({
        "source_row": pd.Series(dtype="int64"), "person_id": pd.Series(dtype=object),
        "date": pd.Series(dtype="datetime64[ns]"), "event": pd.Series(dtype=object),
        "new_contract_type": pd.Series(dtype=object), "note": pd.Series(dtype=object),
    })


def load_validated(dataset_dir, *, as_of=None) -> ValidatedData:
    """Validate and return the cleaned data; raise :class:`DataValidationError` listing every problem."""
    problems, data = validate_dataset(dataset_dir, as_of=as_of)
    if problems:
        lines = "\n".join(f"  {problem}" for problem in problems[:50])
        more = f"\n  … and {len(problems) - 50} more" if len(problems) > 50 else ""
        raise DataValidationError(
            problems,
            f"{len(problems)} problem(s) in {dataset_dir}:\n{lines}{more}\n"
            f"Run `alis-research validate {dataset_dir}"
            + (f" --as-of {_parse_as_of(as_of):%Y-%m-%d}" if _parse_as_of(as_of) is not None else "")
            + "` for the full list.",
        )
    return data


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
        Every :class:`~alis_research.validate.Problem` found (file, spreadsheet row,
        column, value, what was expected) and, when there are none, the table
        ``source_row, person_id, month`` (first day of the month) ``, hours``;
        empty when the file is absent.
    """
    folder = Path(dataset_dir)
    empty = pd.DataFrame({"source_row": pd.Series(dtype="int64"), "person_id": pd.Series(dtype=object),
                          "month": pd.Series(dtype="datetime64[ns]"), "hours": pd.Series(dtype=float)})
    path = io.find_table(folder, SUPERVISION)
    if path is None:
        return [], empty
    frame = io.read_table(path)
    file = path.name
    problems: list[Problem] = []
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
    known = set(spans["person_id"])
    seen: dict[tuple, int] = {}
    rows = []
    for row, cells in frame.iterrows():
        person, month_text, hours_text = cells["person_id"], cells["month"], cells["hours"]
        ok = True
        for column, value in (("person_id", person), ("month", month_text), ("hours", hours_text)):
            if value == "":
                problems.append(Problem(file, row, column, None, f"empty cell (every row needs a {column})"))
                ok = False
        if person and is_norwegian_national_id(person):
            problems.append(Problem(file, row, "person_id", mask_national_id(person), NATIONAL_ID_PROBLEM))
            ok = False
        elif person and person not in known:
            problems.append(Problem(file, row, "person_id", person,
                                    "unknown person: no episode in episodes.csv has this person_id"))
            ok = False
        month = _parse_supervision_month(month_text) if month_text else None
        if month_text and month is None:
            problems.append(Problem(file, row, "month", month_text, "not a month (expected YYYY-MM, e.g. 2020-03)"))
            ok = False
        hours = _parse_supervision_hours(hours_text) if hours_text else None
        if hours_text and hours is None:
            problems.append(Problem(file, row, "hours", hours_text, "not a number (expected hours such as 3 or 2.5)"))
            ok = False
        elif hours is not None and not (0 <= hours <= MAX_HOURS_PER_MONTH):
            problems.append(Problem(file, row, "hours", hours_text,
                                    f"hours must lie between 0 and {MAX_HOURS_PER_MONTH:g} a month"))
            ok = False
        if month is not None and person in known:
            month_end = month + pd.offsets.MonthEnd(0)
            own = spans[spans["person_id"] == person]
            if not ((own["start"] <= month_end) & (own["stop"] >= month)).any():
                periods = "; ".join(f"{s.date()} to {'ongoing' if e == pd.Timestamp.max else e.date()}"
                                    for s, e in zip(own["start"], own["stop"]))
                problems.append(Problem(file, row, "month", month_text,
                                        f"outside every episode of {person} (in post {periods})"))
                ok = False
        if person and month is not None:
            key = (person, month)
            if key in seen:
                problems.append(Problem(file, row, "month", month_text,
                                        f"duplicate: {person} already has hours for this month in row {seen[key]} "
                                        "(expected one row per person and month)"))
                ok = False
            else:
                seen[key] = row
        if ok:
            rows.append({"source_row": int(row), "person_id": person, "month": month, "hours": float(hours)})
    if problems:
        return sorted(problems, key=lambda p: (p.row or 0)), empty
    table = pd.DataFrame(rows, columns=list(empty.columns)).astype({"source_row": "int64", "hours": float})
    table["month"] = pd.to_datetime(table["month"])
    return [], table


def load_supervision(dataset_dir, episodes) -> pd.DataFrame:
    """:func:`validate_supervision`, raising :class:`DataValidationError` listing every problem."""
    problems, table = validate_supervision(dataset_dir, episodes)
    if problems:
        lines = "\n".join(f"  {p}" for p in problems[:50])
        raise DataValidationError(problems, f"{len(problems)} problem(s) in the supervision table of {dataset_dir}:\n{lines}")
    return table
