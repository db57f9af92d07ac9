"""Reading and checking one raw table cell by cell.

:class:`Table` holds a table's stripped cells and the problems found in it (capped per column
and kind); the functions here check columns, empty cells, identity numbers, dates, canonical
words, whole numbers and duplicate rows, and read a table into problems rather than errors.
"""
from __future__ import annotations

import difflib
import re
from pathlib import Path

import numpy as np
import pandas as pd

from . import io
from ..identity import values_with_national_id
from ..errors import AlisError
from .contract import (
    DATE_EXPECTED,
    DATE_YEAR_RANGE,
    HEADER_HINTS,
    MAX_PROBLEMS_LISTED,
    MAX_PROBLEMS_PER_KIND,
    MISSPELLING_CUTOFF,
    Problem,
    mask_national_id,
    parse_date,
)

# --------------------------------------------------------------------------- checking one table
class Table:
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


def check_columns(table: Table, required: tuple[str, ...], optional: tuple[str, ...]) -> None:
    """Missing and misspelt columns; unknown extra columns are ignored."""
    for column, message in column_problems(list(table.cells.columns), required, optional, HEADER_HINTS):
        table.add(None, column, None, message)


def check_nonempty(table: Table, columns: tuple[str, ...]) -> None:
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


def check_identity_numbers(table: Table) -> None:
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


def parse_dates(table: Table, column: str) -> pd.Series:
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


def map_values(table: Table, column: str, canonical, message) -> pd.Series:
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


def parse_integers(table: Table, column: str, *, low: int | None, high: int | None, expected: str) -> pd.Series:
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


def check_duplicates(table: Table) -> pd.Series:
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



def read_table_or_problem(path: Path, problems: list[Problem]) -> pd.DataFrame | None:
    """:func:`alis_research.data.io.read_table`, or ``None`` with the reason added to ``problems``
    (one problem naming the file, and the row and column where known)."""
    return _read(path, problems)


def _read(path: Path, problems: list[Problem]) -> pd.DataFrame | None:
    return read_coded_table_or_problem(path, problems)[0]


def read_coded_table_or_problem(path: Path, problems: list[Problem]) -> tuple[pd.DataFrame | None, dict]:
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
