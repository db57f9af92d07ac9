"""The raw-data contract: check a dataset folder and report every problem at once.

A dataset is a folder holding ``episodes.csv`` (or ``.xlsx``), optionally
``events.csv`` (or ``.xlsx``), ``supervision.csv`` (or ``.xlsx``, checked against the
episodes once they are valid) and ``dataset.json``. :func:`validate_dataset`
reads them through :mod:`alis_research.data.io`, checks every cell and every
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
from ..identity import (
    NATIONAL_ID_MASK,
    contains_national_id,
    is_national_id,
    mask_national_ids,
    values_with_national_id,
)
from ..config import DEFAULT_PROGRAMME, END_REASONS, EVENT_TYPES
from ..errors import AlisError, DataValidationError
from ..result import input_table, require_columns

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

#: Problems listed per file, column and kind of problem; the rest are counted in one more problem.
MAX_PROBLEMS_PER_KIND = 20
#: Problems listed in all (a hostile file could otherwise make millions of kinds x rows).
MAX_PROBLEMS_LISTED = 1000
#: Events paired with their person's episodes per slice (bounds the memory of the join).
EVENTS_PER_JOIN = 200_000
#: Longest value echoed in a problem; a longer one is cut, with its length said.
MAX_VALUE_ECHO = 200


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
    #: For a line that stands for problems not listed: how many it stands for (0 for an ordinary problem).
    more: int = 0

    def __post_init__(self) -> None:
        # identity numbers are never echoed, whatever check found the value; huge cells are cut short
        value = self.value
        if isinstance(value, str) and len(value) > MAX_VALUE_ECHO:
            value = f"{value[:MAX_VALUE_ECHO]}… ({len(value):,} characters)"
        object.__setattr__(self, "value", mask_national_ids(value))
        object.__setattr__(self, "message", mask_national_ids(self.message))
        object.__setattr__(self, "column", mask_national_ids(self.column))

    def to_dict(self) -> dict:
        """The problem as a JSON-ready dict with keys file, row, column, value, message (and ``more``
        for a line standing for problems not listed)."""
        result = {"file": self.file, "row": self.row, "column": self.column, "value": self.value,
                  "message": self.message}
        if self.more:
            result["more"] = self.more
        return result

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
    (month + 40), since all share the check-digit rule, written plain or with a
    hyphen or space after the date part. The date part is deliberately not
    checked: refusing every checksum-valid number errs on the side of privacy.
    See :mod:`alis_research.identity`.
    """
    return is_national_id(text)


def national_id_mask(values: pd.Series) -> pd.Series:
    """Vectorised :func:`is_norwegian_national_id` over a Series of strings (whole cells, once per distinct value)."""
    codes, uniques = pd.factorize(values.astype(object), use_na_sentinel=True)
    hits = np.array([is_national_id(u) for u in uniques], dtype=bool)
    mask = np.zeros(len(values), dtype=bool)
    known = codes >= 0
    if hits.any():
        mask[known] = hits[codes[known]]
    return pd.Series(mask, index=values.index)


def mask_national_id(text: str) -> str:
    """An identity number as shown anywhere: :data:`~alis_research.identity.NATIONAL_ID_MASK`
    (nothing of the number kept); identity numbers inside longer text are masked alike."""
    return NATIONAL_ID_MASK if is_national_id(text) else mask_national_ids(str(text))


# --------------------------------------------------------------------------- checking one table
class _Table:
    """One raw table being checked: its stripped cells, file name and the problems found."""

    def __init__(self, frame: pd.DataFrame, file: str, problems: list[Problem],
                 coded: dict[str, io.CodedColumn] | None = None):
        self.cells = frame.rename_axis(None, copy=False)  # cells arrive stripped; the index is the spreadsheet row
        self._coded = dict(coded or {})
        self.file = file
        self.problems = problems
        self.id_rows = pd.Series(False, index=frame.index)  # rows whose person_id is an identity number
        # per column, the cells holding an identity number: reported once, and by no other check
        self.id_cells: dict[str, np.ndarray] = {}
        self._id_cell_set: set[tuple[int, str]] = set()
        self.hidden: dict[tuple[str | None, str], int] = {}  # problems beyond the cap, per (column, kind)
        self._shown: dict[tuple[str | None, str], int] = {}
        self._people: dict | None = None
        self._id_row_set: set = set()

    def has(self, column: str) -> bool:
        return column in self.cells.columns

    def coded(self, column: str) -> io.CodedColumn:
        """The column as codes into its distinct values (from the reader, or factorised once here)."""
        if column not in self._coded:
            codes, values = pd.factorize(self.cells[column].to_numpy(dtype=object))
            self._coded[column] = io.CodedColumn(codes, np.asarray(values, dtype=object))
        return self._coded[column]

    def per_value(self, column: str, function) -> tuple[np.ndarray, io.CodedColumn]:
        """``function`` applied once per distinct non-empty value (``None`` for empty cells), and the codes:
        ``result[coded.codes]`` spreads it over the rows."""
        coded = self.coded(column)
        return np.array([None if value == "" else function(value) for value in coded.values] + [None],
                        dtype=object)[:-1], coded

    def filled(self, column: str) -> pd.Series:
        """Which cells of a column are not empty (all False for a missing column)."""
        if not self.has(column):
            return pd.Series(False, index=self.cells.index)
        return pd.Series(self.coded(column).nonempty(), index=self.cells.index)

    def series(self, values: np.ndarray, dtype=None) -> pd.Series:
        return pd.Series(values, index=self.cells.index, dtype=dtype)

    def add(self, row, column, value, message, *, kind: str | None = None) -> None:
        """Add a problem; with ``kind``, only the first :data:`MAX_PROBLEMS_PER_KIND` of that
        column and kind are kept and the rest counted (see :meth:`finish`)."""
        if row is not None and (int(row), column) in self._id_cell_set:
            return  # the cell holds an identity number: that is its one problem
        if kind is not None:
            key = (column, kind)
            if self._shown.get(key, 0) >= MAX_PROBLEMS_PER_KIND:
                self.hidden[key] = self.hidden.get(key, 0) + 1
                return
            self._shown[key] = self._shown.get(key, 0) + 1
        self.problems.append(Problem(self.file, None if row is None else int(row), column,
                                     None if value is None else str(value), message))

    def flag(self, mask: pd.Series, column: str, message, *, value_from: str | None = None) -> None:
        """Add one problem per row where ``mask`` holds; ``message`` may be a function of the value.

        At most :data:`MAX_PROBLEMS_PER_KIND` rows are listed (the first ones); the
        rest are counted in one more problem. Cells holding an identity number
        are left out (they have their own problem).
        """
        selected = (mask.fillna(False).to_numpy(dtype=bool) if isinstance(mask, pd.Series)
                    else np.asarray(mask, dtype=bool))
        if column in self.id_cells:
            selected = selected & ~self.id_cells[column]
        if not selected.any():
            return
        source = self.cells[value_from or column]
        positions = np.flatnonzero(selected)
        for row, value in source.iloc[positions[:MAX_PROBLEMS_PER_KIND]].items():
            self.add(row, column, value, message(value) if callable(message) else message)
        hidden = len(positions) - MAX_PROBLEMS_PER_KIND
        if hidden > 0:
            first = source.iloc[positions[0]]
            text = message(first) if callable(message) else message
            self.problems.append(Problem(
                self.file, None, column, None,
                f"… and {hidden:,} more row(s) with the same problem ({text}); {len(positions):,} row(s) in all, "
                f"the first {MAX_PROBLEMS_PER_KIND} listed above", more=hidden))

    def add_capped(self, rows, column, kind: str, describe) -> None:
        """Problems for ``rows`` (first ones first), ``describe(row)`` giving ``(value, message)``;
        only the listed ones are described, the rest are counted."""
        rows = list(rows)
        for row in rows[:MAX_PROBLEMS_PER_KIND]:
            value, message = describe(row)
            self.add(row, column, value, message, kind=kind)
        if len(rows) > MAX_PROBLEMS_PER_KIND:
            self.count_more(column, kind, len(rows) - MAX_PROBLEMS_PER_KIND)

    def count_more(self, column, kind: str, count: int) -> None:
        """Count ``count`` problems of a kind without listing them (reported by :meth:`finish`)."""
        if count > 0:
            key = (column, kind)
            self._shown.setdefault(key, 0)
            self.hidden[key] = self.hidden.get(key, 0) + count

    def finish(self) -> None:
        """One problem per capped kind, counting the problems not listed."""
        for (column, kind), hidden in self.hidden.items():
            shown = self._shown[(column, kind)]
            self.problems.append(Problem(
                self.file, None, column, None,
                f"… and {hidden:,} more {kind}; {hidden + shown:,} in all, the first {shown} listed above",
                more=hidden))
        self.hidden.clear()

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
            table.flag(~table.coded(column).nonempty(), column, "empty cell; a value is required")


#: Why a person_id that is an identity number is refused (episodes, events, supervision.csv).
NATIONAL_ID_PROBLEM = ("looks like a Norwegian national identity number (fødselsnummer/D-number); identity "
                       "numbers must never enter the analysis data: run `alis-research pseudonymise IN OUT "
                       "--key-env VAR` first")


#: Why any other cell holding an identity number is refused (free text such as a note included).
NATIONAL_ID_IN_CELL_PROBLEM = (
    "holds a Norwegian national identity number (fødselsnummer/D-number, shown masked); identity numbers "
    "must never enter the analysis data: delete it from the cell, or run `alis-research pseudonymise IN OUT "
    "--key-env VAR`, which replaces it by its pseudonym")


def _check_identity_numbers(table: _Table) -> None:
    """Refuse an identity number in any cell of any column (known or not), written plain or with a
    separator after the date part, alone or inside text; the value is shown masked."""
    for column in table.cells.columns:
        coded = table.coded(column)
        per_value = values_with_national_id(coded.values)
        if not per_value.any():
            continue
        hits = per_value[coded.codes]
        message = NATIONAL_ID_PROBLEM if column == "person_id" else NATIONAL_ID_IN_CELL_PROBLEM
        # through flag, so the listing is capped like every other kind of problem
        table.flag(pd.Series(hits, index=table.cells.index), column, message)
        table.id_cells[column] = hits
        rows = table.cells.index.to_numpy()[hits]
        table._id_cell_set.update((int(row), column) for row in rows)
        if column == "person_id":
            table.id_rows = pd.Series(hits, index=table.cells.index)


def _parse_dates(table: _Table, column: str) -> pd.Series:
    """Parse a date column (once per distinct value); flag the unparseable non-empty cells."""
    if not table.has(column):
        return pd.Series(pd.NaT, index=table.cells.index, dtype="datetime64[ns]")
    coded = table.coded(column)
    dates = _parse_distinct_dates(coded.values)
    bad = (coded.values != "") & np.isnat(dates)
    table.flag(bad[coded.codes], column, f"not a valid date ({DATE_EXPECTED})")
    return table.series(dates[coded.codes], "datetime64[ns]")


def _parse_distinct_dates(values: np.ndarray) -> np.ndarray:
    """:func:`parse_date` over distinct texts as datetime64[ns] (NaT where invalid or empty).

    Plain ``YYYY-MM-DD`` texts, nearly all of a large extract, are parsed in one vectorised
    call; the rest (Norwegian dates, times, single digits) one by one.
    """
    texts = pd.Series(values, dtype=object)
    iso = texts.str.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}").fillna(False).to_numpy(dtype=bool)
    dates = np.full(len(texts), np.datetime64("NaT"), dtype="datetime64[ns]")
    if iso.any():
        fast = pd.to_datetime(texts[iso], format="%Y-%m-%d", errors="coerce")
        in_range = fast.dt.year.between(*DATE_YEAR_RANGE).fillna(False).to_numpy(dtype=bool)
        dates[np.flatnonzero(iso)[in_range]] = fast.to_numpy(dtype="datetime64[ns]")[in_range]
    for position in np.flatnonzero(~iso):
        parsed = parse_date(values[position]) if values[position] != "" else None
        if parsed is not None:
            dates[position] = np.datetime64(parsed.to_datetime64(), "ns")
    return dates


def _map_values(table: _Table, column: str, canonical, message) -> pd.Series:
    """Map a column through ``canonical`` (once per distinct value); flag unknown non-empty cells."""
    if not table.has(column):
        return pd.Series(pd.NA, index=table.cells.index, dtype=object)
    mapped, coded = table.per_value(column, canonical)
    unknown = (coded.values != "") & pd.isna(mapped)
    table.flag(unknown[coded.codes], column, message)
    mapped = np.where(pd.isna(mapped), pd.NA, mapped).astype(object)
    return table.series(mapped[coded.codes], object)


def _whole_number(text: str) -> int | None:
    compact = re.sub(r"[\s\u00a0]", "", text)
    # more than 18 digits cannot be a count or a year (and would overflow int64)
    return int(compact) if re.fullmatch(r"[0-9]{1,18}", compact) else None


def _parse_integers(table: _Table, column: str, *, low: int | None, high: int | None, expected: str) -> pd.Series:
    if not table.has(column):
        return pd.Series(pd.NA, index=table.cells.index, dtype="Int64")
    parsed, coded = table.per_value(column, _whole_number)
    missing = pd.isna(parsed)
    numbers = np.where(missing, 0, parsed).astype(np.int64)
    bad = (coded.values != "") & missing
    if low is not None:
        bad |= ~missing & (numbers < low)
    if high is not None:
        bad |= ~missing & (numbers > high)
    table.flag(bad[coded.codes], column, f"not {expected}")
    return table.series(pd.arrays.IntegerArray(numbers[coded.codes], (missing | bad)[coded.codes]), "Int64")


def _check_duplicates(table: _Table) -> pd.Series:
    """Flag exact duplicate rows (the later one, naming the first); return the duplicate mask."""
    cells = table.cells
    if cells.empty or not len(cells.columns):
        return pd.Series(False, index=cells.index)
    # Candidates first: rows equal in the two columns with the most distinct values (person_id and a
    # date, typically) are few; only those are compared in every column. Integer codes, no string hashing.
    by_variety = sorted(cells.columns, key=lambda column: -len(table.coded(column).values))
    group = np.zeros(len(cells), dtype=np.int64)
    candidates = np.ones(len(cells), dtype=bool)
    for step, column in enumerate(by_variety):
        codes = table.coded(column).codes.astype(np.int64)
        if step == 2:
            candidates = pd.Series(group).duplicated(keep=False).to_numpy()
            if not candidates.any():
                break
        if candidates.all():
            group = pd.factorize(group * (int(codes.max()) + 1) + codes)[0].astype(np.int64)
        else:
            sub = group[candidates] * (int(codes.max()) + 1) + codes[candidates]
            group = group.copy()
            group[candidates] = pd.factorize(sub)[0] + len(cells)  # apart from the non-candidates' groups
    if not candidates.any():
        return pd.Series(False, index=cells.index)
    duplicated = pd.Series(group, index=cells.index).duplicated(keep="first")
    if duplicated.any():
        first_row = pd.Series(cells.index, index=cells.index).groupby(group).transform("min")
        table.add_capped(duplicated[duplicated].index, None, "exact duplicate row(s)",
                         lambda row: (None, f"exact duplicate of row {first_row[row]}; delete one of them"))
    return duplicated


def _resolve_municipalities(table: _Table) -> tuple[pd.Series, pd.Series]:
    """2024 code and name per row through the reference tables; flag unknown ones."""
    from ..reference import resolve_municipality  # the reference tables load on first use

    index = table.cells.index
    if not table.has("municipality"):
        return pd.Series(pd.NA, index=index, dtype=object), pd.Series(pd.NA, index=index, dtype=object)
    def resolve(text: str):
        try:
            match = resolve_municipality(text)
        except AlisError as exc:
            return str(exc)
        return match.code_2024, match.name

    resolved, coded = table.per_value("municipality", resolve)
    failed = np.array([isinstance(result, str) for result in resolved], dtype=bool)
    code = np.array([result[0] if isinstance(result, tuple) else pd.NA for result in resolved] + [None],
                    dtype=object)[:-1]
    name = np.array([result[1] if isinstance(result, tuple) else pd.NA for result in resolved] + [None],
                    dtype=object)[:-1]
    if failed.any():
        rows = table.cells.index[failed[coded.codes]]
        row_codes = pd.Series(coded.codes, index=table.cells.index)
        table.add_capped(rows, "municipality", "municipalities not recognised",
                         lambda row: (coded.values[row_codes[row]], resolved[row_codes[row]]))
    return table.series(code[coded.codes], object), table.series(name[coded.codes], object)


# --------------------------------------------------------------------------- episodes
def _check_episodes(table: _Table, as_of: pd.Timestamp | None) -> tuple[pd.DataFrame, pd.Series]:
    """Check the episodes table; return the parsed frame and a mask of rows fit for cross-row checks."""
    _check_columns(table, EPISODE_REQUIRED_COLUMNS, EPISODE_OPTIONAL_COLUMNS)
    _check_identity_numbers(table)
    _check_nonempty(table, EPISODE_NONEMPTY)
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
        spelled, coded = table.per_value("programme",
                                         lambda t: _KNOWN_PROGRAMMES.get(_normalise_word(t).replace(" ", "-"), t))
        spelled = np.where(coded.values == "", DEFAULT_PROGRAMME, spelled).astype(object)
        programme = table.series(spelled[coded.codes], object)
    else:
        programme = pd.Series(DEFAULT_PROGRAMME, index=index, dtype=object)

    end_before_start = end.notna() & start.notna() & (end <= start)
    same_day = end_before_start & (end == start)
    table.flag(same_day, "end_date", "end_date is the same day as start_date (expected a date after "
                                     "start_date; an episode of zero length cannot be analysed)")
    table.flag(end_before_start & ~same_day, "end_date", "end_date is before start_date "
                                                         "(expected a date after start_date)")
    if table.has("end_reason") and table.has("end_date"):
        table.flag(~table.filled("end_date") & table.filled("end_reason"), "end_reason",
                   "end_reason given for an ongoing episode (end_date is empty); fill in end_date or "
                   "clear end_reason")
        if as_of is not None:
            ended = end.notna() & (end <= as_of)
            table.flag(ended & ~table.filled("end_reason"), "end_reason",
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
    }, index=index, copy=False)  # no copy into one block: a million rows make that a costly step
    # rows whose person and dates are sound take part in the overlap and event checks
    usable = table.filled("person_id") & start.notna() & ~duplicated & ~end_before_start
    if table.has("end_date"):
        usable &= ~table.filled("end_date") | end.notna()
    if usable.any():
        person_codes = table.coded("person_id").codes[usable.to_numpy()]
        _check_overlaps(table, parsed.loc[usable, ["source_row", "person_id", "start_date", "end_date"]], person_codes)
    table.finish()
    return parsed, usable


def _check_overlaps(table: _Table, episodes: pd.DataFrame, person_codes: np.ndarray) -> None:
    """Flag an episode starting before an earlier episode of the same person has ended.

    Episodes that touch (one ends the day the next starts) do not overlap; an
    ongoing episode (empty end_date) runs for ever.
    """
    if episodes.empty:
        return
    # sorted by the person's code (not the text: integers sort many times faster), start, row
    order = np.lexsort((episodes["source_row"].to_numpy(), episodes["start_date"].to_numpy().view(np.int64),
                        person_codes))
    ordered = episodes[["person_id", "start_date", "end_date"]].iloc[order]
    person = person_codes[order]
    open_end = ordered["end_date"].fillna(pd.Timestamp.max.normalize())
    running_end = open_end.groupby(person, sort=False).cummax()
    previous_end = running_end.groupby(person, sort=False).shift(1)
    overlapping = ordered["start_date"] < previous_end
    if not overlapping.any():
        return
    # name the earlier episode: walk only the people concerned, in start order
    concerned = ordered["person_id"].isin(set(ordered.loc[overlapping, "person_id"]))
    earlier_episodes: dict[str, list[tuple[pd.Timestamp, int]]] = {}
    total, listed = int(overlapping.sum()), 0
    for row, person, start, end, flagged in zip(ordered.index[concerned], ordered.loc[concerned, "person_id"],
                                                ordered.loc[concerned, "start_date"], open_end[concerned],
                                                overlapping[concerned]):
        if listed == MAX_PROBLEMS_PER_KIND:
            # the rest are counted, not walked (one person with a million overlapping rows would be quadratic)
            table.count_more("start_date", "overlapping episode(s)", total - listed)
            break
        seen = earlier_episodes.setdefault(person, [])
        if flagged:
            earlier_row = next(source for other_end, source in seen if other_end > start)
            table.add(row, "start_date", table.cells.at[row, "start_date"],
                      f"episode of person {table.person_label(row)} overlaps the episode in row {earlier_row} "
                      "(expected one position at a time: a start_date on or after the earlier end_date)",
                      kind="overlapping episode(s)")
            listed += 1
        seen.append((end, row))


# --------------------------------------------------------------------------- events
def _check_events(table: _Table, episodes: pd.DataFrame | None, episodes_usable: pd.Series | None) -> pd.DataFrame:
    """Check the events table against itself and (when readable) the episodes."""
    _check_columns(table, EVENT_REQUIRED_COLUMNS, EVENT_OPTIONAL_COLUMNS)
    _check_identity_numbers(table)
    _check_nonempty(table, EVENT_NONEMPTY)
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
    table.finish()
    return parsed


def _check_events_against_episodes(table: _Table, events: pd.DataFrame, episodes: pd.DataFrame,
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


def _check_switches(table: _Table, events: pd.DataFrame, within: pd.DataFrame) -> None:
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


def _check_pairs(table: _Table, events: pd.DataFrame, start_event: str, end_event: str) -> None:
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


# --------------------------------------------------------------------------- the whole dataset
def _parse_as_of(as_of) -> pd.Timestamp | None:
    if as_of is None or (isinstance(as_of, str) and not as_of.strip()):
        return None
    parsed = parse_date(as_of) if isinstance(as_of, str) else pd.Timestamp(as_of).normalize()
    if parsed is None:
        raise AlisError(f"as-of date '{as_of}': not a valid date (expected YYYY-MM-DD)")
    return parsed


def read_table_or_problem(path: Path, problems: list[Problem]) -> pd.DataFrame | None:
    """:func:`alis_research.data.io.read_table`, or ``None`` with the reason added to ``problems``
    (one problem naming the file, and the row and column where known)."""
    return _read(path, problems)


def _read(path: Path, problems: list[Problem]) -> pd.DataFrame | None:
    return _read_coded(path, problems)[0]


def _read_coded(path: Path, problems: list[Problem]) -> tuple[pd.DataFrame | None, dict]:
    try:
        return io.read_table_coded(path)
    except io.TableFormatError as exc:
        problems.append(Problem(path.name, exc.row, exc.column, None, exc.detail))
        return None, {}
    except AlisError as exc:
        problems.append(Problem(path.name, None, None, None, without_file_prefix(str(exc), path.name)))
        return None, {}


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
        problems.extend(metadata_identity_problems(metadata))
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
        frame, coded = _read_coded(episodes_path, problems)
        if frame is not None:
            episode_table = _Table(frame, episodes_path.name, problems, coded)
            del frame, coded
            episodes, episodes_usable = _check_episodes(episode_table, as_of_date)

    events = None
    if events_path is not None:
        input_files[events_path.name] = io.sha256_file(events_path)
        frame, coded = _read_coded(events_path, problems)
        if frame is not None:
            # cross-checks only against an episodes table whose key columns could be read
            comparable = episodes is not None and {"person_id", "start_date"} <= set(episode_table.cells.columns)
            events = _check_events(_Table(frame, events_path.name, problems, coded),
                                   episodes if comparable else None, episodes_usable)

    if problems:
        return capped(_sorted(problems, episodes_path, events_path)), None
    if events is None:
        events = _empty_events()
    data = ValidatedData(dataset_dir=folder, episodes=_finish_episodes(episodes), events=_finish_events(events),
                         input_files=input_files, synthetic=bool(synthetic))
    # the optional supervision.csv is checked against the episodes, so only once they are valid
    try:
        supervision_problems, data.supervision = validate_supervision(folder, data)
        supervision_path = io.find_table(folder, SUPERVISION)
    except AlisError as exc:  # both supervision.csv and .xlsx
        return [Problem(f"{SUPERVISION}.csv", None, None, None, without_file_prefix(str(exc), f"{SUPERVISION}.csv"))], None
    if supervision_problems:
        return supervision_problems, None
    if supervision_path is not None:
        data.input_files[supervision_path.name] = io.sha256_file(supervision_path)
    return [], data


def metadata_identity_problems(metadata, file: str = io.METADATA_FILE) -> list[Problem]:
    """Identity numbers in ``dataset.json`` (any key or string or whole number, at any depth),
    one problem each naming the key path, the value masked."""
    found: list[Problem] = []

    def walk(node, path: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                where = f"{path}.{key}" if path else str(key)
                if contains_national_id(str(key)):
                    found.append(Problem(file, None, where, str(key), NATIONAL_ID_IN_CELL_PROBLEM))
                walk(value, where)
        elif isinstance(node, list):
            for position, value in enumerate(node):
                walk(value, f"{path}[{position}]")
        elif isinstance(node, (str, int)) and not isinstance(node, bool) and contains_national_id(str(node)):
            found.append(Problem(file, None, path or None, str(node), NATIONAL_ID_IN_CELL_PROBLEM))

    walk(metadata, "")
    return found


def capped(problems: list[Problem]) -> list[Problem]:
    """At most :data:`MAX_PROBLEMS_LISTED` problems, and one more counting the rest."""
    if len(problems) <= MAX_PROBLEMS_LISTED:
        return problems
    rest = problems[MAX_PROBLEMS_LISTED:]
    hidden = sum(p.more or 1 for p in rest)
    return problems[:MAX_PROBLEMS_LISTED] + [Problem(
        rest[0].file, None, None, None,
        f"… and {hidden:,} more problem(s) not listed; fix the ones above and validate again", more=hidden)]


def problem_count(problems: list[Problem]) -> int:
    """How many problems a (capped) list stands for: listed ones plus those counted in ``more``."""
    return sum(p.more if p.more else 1 for p in problems)


def _sorted(problems: list[Problem], *paths: Path | None) -> list[Problem]:
    """Order problems by file (episodes, events, other), then row; stable within a row."""
    rank = {path.name: position for position, path in enumerate(paths) if path is not None}
    # a line counting problems not listed comes after the listed ones of its file
    return sorted(problems, key=lambda p: (rank.get(p.file, len(rank)), p.file, p.more > 0, p.row or 0))


def _finish_episodes(episodes: pd.DataFrame) -> pd.DataFrame:
    # the parsed frame is this module's own: relabel its rows instead of copying a million of them
    result = episodes.copy(deep=False)
    result.index = pd.RangeIndex(len(result))
    for column in ("person_id", "municipality_code", "municipality_name", "contract_type", "programme"):
        result[column] = result[column].astype(object, copy=False)
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
        more = f"\n  … and {len(problems) - 50} more line(s)" if len(problems) > 50 else ""
        raise DataValidationError(
            problems,
            f"{problem_count(problems)} problem(s) in {dataset_dir}:\n{lines}{more}\n"
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
        Every :class:`~alis_research.data.validate.Problem` found (file, spreadsheet row,
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
