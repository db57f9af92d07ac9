"""GP-register extracts: the second raw-data contract, its validation, and contract episodes.

A register extract is a folder holding ``snapshots.csv`` (monthly snapshots of
GP list holders, about 1.5 million rows for a national extract over 25 years),
optionally ``doctors.csv`` (one row per doctor: sex, birth year) and
``dataset.json``. :func:`validate_register` checks it with the same standard
as :mod:`alis_research.data.validate` (every problem at once, each naming the file,
the spreadsheet row, the column, the value and what was expected) but works on
whole columns at a time: every text column is factorised once and each
*distinct* value is parsed once, so the cost grows with the number of distinct
months, codes and ids, not with the number of rows.

:func:`register_episodes` turns the snapshots into contract episodes (one doctor
on one list in one harmonised 2024 municipality over contiguous months) with a
sort, a difference and a cumulative sum; :func:`register_intervals` gives the
counting-process intervals (one row per stretch of one practice form), the shape
of ``docs/architecture.md``. :func:`register_episodes_loop` is the plain
per-doctor loop kept as a reference for tests and the benchmark.

The contract and the decisions behind it are written up in ``docs/register.md``.
"""
from __future__ import annotations

import csv
import io as _stdio
import re
from pathlib import Path

import numpy as np
import pandas as pd

from . import io
from ..config import DAYS_PER_YEAR, SIZE_CLASS_BREAKS, SIZE_CLASS_LABELS
from ..errors import AlisError, DataValidationError
from ..identity import NATIONAL_ID_MASK, cells_with_national_id
from .validate import (
    NATIONAL_ID_IN_CELL_PROBLEM,
    Problem,
    canonical_contract_type,
    column_problems,
    mask_national_id,
    metadata_identity_problems,
    parse_bool,
    without_file_prefix,
)

# --------------------------------------------------------------------------- the contract
SNAPSHOTS = "snapshots"
DOCTORS = "doctors"
SNAPSHOT_REQUIRED_COLUMNS = ("month", "list_id", "doctor_id", "municipality", "list_size", "practice_form")
SNAPSHOT_OPTIONAL_COLUMNS = ("sex", "birth_year")
DOCTOR_REQUIRED_COLUMNS = ("doctor_id",)
DOCTOR_OPTIONAL_COLUMNS = ("sex", "birth_year")
#: Birth years accepted for a GP in a register extract (holders of lists since the 1990s included).
REGISTER_BIRTH_YEAR_RANGE = (1920, 2005)
#: Months outside these years are typing errors (the Norwegian list-patient system began in 2001).
MONTH_YEAR_RANGE = (1990, 2100)
#: Default bridge: up to this many missing months inside a doctor's run on a list do not end the episode.
DEFAULT_MAX_GAP_MONTHS = 3
#: At most this many problems of one kind are listed; the rest are counted in one summary problem.
MAX_PROBLEMS_PER_KIND = 20
#: Norwegian register headers suggested (never silently accepted) for a missing column.
REGISTER_HEADER_HINTS = {
    "måned": "month", "maaned": "month", "mnd": "month", "periode": "month", "aarmnd": "month",
    "liste": "list_id", "liste_id": "list_id", "listeid": "list_id", "listenummer": "list_id", "avtale_id": "list_id",
    "lege": "doctor_id", "lege_id": "doctor_id", "legeid": "doctor_id", "person_id": "doctor_id",
    "fastlege": "doctor_id", "hpr": "doctor_id",
    "kommune": "municipality", "kommunenummer": "municipality", "kommunenr": "municipality", "knr": "municipality",
    "listelengde": "list_size", "listestørrelse": "list_size", "antall_pasienter": "list_size",
    "praksisform": "practice_form", "tilknytning": "practice_form", "avtaletype": "practice_form",
    "contract_type": "practice_form", "kontrakttype": "practice_form",
    "kjønn": "sex", "kjonn": "sex", "fødselsår": "birth_year", "fodselsar": "birth_year",
}
PRACTICE_FORM_EXPECTED = ("unknown practice form (expected fastlønn or næring, or a synonym such as "
                          "f, n, fastlonn, naering, privat, selvstendig næringsdrivende)")
_MONTH_PATTERN = re.compile(r"^(\d{4})-(\d{1,2})(?:-01)?$")
_SEX_SYNONYMS = {"k": "K", "m": "M", "kvinne": "K", "mann": "M"}


# --------------------------------------------------------------------------- problems
class _Problems:
    """Problems of one validation run, listed up to :data:`MAX_PROBLEMS_PER_KIND` per kind and counted beyond."""

    def __init__(self) -> None:
        self.items: list[Problem] = []

    def add(self, file, row, column, value, message) -> None:
        self.items.append(Problem(file, None if row is None else int(row), column,
                                  None if value is None else str(value), message))

    def rows(self, file: str, rows: np.ndarray, column: str | None, values, message, *, messages=None) -> None:
        """One problem per row (first rows first), capped at :data:`MAX_PROBLEMS_PER_KIND`.

        ``message`` is the text of the kind (or a function of the value); ``messages``
        optionally gives each row its own text (the summary line uses ``message``).
        """
        rows = np.asarray(rows)
        if not len(rows):
            return
        values = np.asarray(values, dtype=object)
        order = np.argsort(rows, kind="stable")
        shown = order[:MAX_PROBLEMS_PER_KIND]
        for position in shown:
            value = values[position]
            if messages is not None:
                text = messages[position]
            else:
                text = message(value) if callable(message) else message
            self.add(file, rows[position], column, value, text)
        hidden = len(rows) - len(shown)
        if hidden:
            text = message(values[order[0]]) if callable(message) else message
            self.add(file, None, column, None,
                     f"… and {hidden:,} more row(s) with the same problem ({text}); "
                     f"{len(rows):,} row(s) in all, the first {len(shown)} listed above")


# --------------------------------------------------------------------------- fast reading
class _Column:
    """A text column as integer codes into its distinct stripped values (code -1 never occurs)."""

    __slots__ = ("codes", "values")

    def __init__(self, codes: np.ndarray, values: np.ndarray):
        self.codes, self.values = codes, values

    @classmethod
    def from_raw(cls, raw: pd.Series) -> "_Column":
        if isinstance(raw.dtype, pd.CategoricalDtype):
            codes, uniques = raw.cat.codes.to_numpy(), np.asarray(raw.cat.categories, dtype=object)
        else:
            codes, uniques = pd.factorize(raw, use_na_sentinel=False)
        stripped = np.array(["" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v).strip()
                             for v in uniques], dtype=object)
        values, inverse = np.unique(stripped.astype(str), return_inverse=True)
        return cls(inverse.astype(np.int64)[codes], values.astype(object))

    def parsed(self, parse) -> np.ndarray:
        """``parse`` applied once per distinct value, spread over the rows."""
        return np.array([parse(v) for v in self.values], dtype=object)[self.codes]

    def empty(self) -> np.ndarray:
        hits = np.flatnonzero(self.values == "")
        return np.isin(self.codes, hits) if len(hits) else np.zeros(len(self.codes), dtype=bool)

    def text(self) -> np.ndarray:
        return self.values[self.codes]

    def at(self, mask: np.ndarray) -> np.ndarray:
        """The text of the rows selected by ``mask``."""
        return self.values[self.codes[mask]]


def _read_header(text_head: str, separator: str, file: str) -> list[str]:
    record = next(csv.reader([text_head], delimiter=separator), [])
    header = [str(name).replace("\ufeff", "").strip().lower() for name in record]
    while header and header[-1] == "":
        header.pop()
    if not header:
        raise io.TableFormatError(file, 1, None, "the first row must hold the column names, but it is empty")
    seen: dict[str, int] = {}
    for position, name in enumerate(header, start=1):
        if name == "":
            raise io.TableFormatError(file, 1, None, f"column {position} has no name in the header row")
        if name in seen:
            raise io.TableFormatError(file, 1, name, f"column '{name}' appears twice in the header row "
                                      f"(columns {seen[name]} and {position}); keep one")
        seen[name] = position
    return header


def read_register_table(path: str | Path) -> tuple[pd.DataFrame, np.ndarray]:
    """Read a large register CSV quickly, every cell as text.

    Same encodings and separators as :func:`alis_research.data.io.read_table` (UTF-8
    with or without BOM, UTF-16 with BOM, Windows-1252; ``,``, ``;`` or tab
    sniffed from the header), parsed by Arrow's multi-threaded CSV reader into
    dictionary-encoded (categorical) columns; pandas' C reader takes over when the
    file has empty lines (Arrow would skip them and shift the row numbers) or a
    row Arrow cannot parse (pandas names the row).

    Returns
    -------
    frame, source_rows
        The cells (not yet stripped: :class:`_Column` strips per distinct value)
        with lower-cased, stripped column names, and the row number a spreadsheet
        shows for each (header = 1; completely empty rows are dropped but counted).

    Raises
    ------
    io.TableFormatError, AlisError
        Unreadable file or malformed header/row (the message names the row).
    """
    path = Path(path)
    if path.suffix.lower() != ".csv":
        raise AlisError(f"{path.name}: register extracts are read as .csv (a national extract exceeds "
                        "Excel's 1,048,576 rows); save the sheet as CSV")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise AlisError(f"{path.name}: cannot be read ({exc.strerror or exc})") from exc
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        raw = io.decode_text(raw, path).encode("utf-8")  # UTF-16 or Windows-1252: re-encode once
    else:
        if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
            raw = io.decode_text(raw, path).encode("utf-8")
    io.check_text(raw[: 1 << 20].decode("utf-8", errors="ignore"), path)  # binary data: one line, not garbage rows
    first_line = raw[:65536].split(b"\n", 1)[0].rstrip(b"\r").decode("utf-8", errors="replace")
    separator = io.sniff_separator(first_line)
    header = _read_header(first_line, separator, path.name)
    body_start = raw.find(b"\n") + 1 if b"\n" in raw else len(raw)
    frame = None
    if body_start < len(raw) and not re.search(rb"\n[ \t]*\r?\n", raw[body_start - 1:]):
        frame = _read_with_arrow(raw[body_start:], header, separator)
    if frame is None:
        frame = _read_with_pandas(raw[body_start:], header, separator, path.name)
    source_rows = np.arange(2, len(frame) + 2, dtype=np.int64)
    if len(frame):
        blank = np.ones(len(frame), dtype=bool)
        for name in header:
            blank &= _blank(frame[name])
        if blank.any():
            keep = ~blank
            frame, source_rows = frame.loc[keep].reset_index(drop=True), source_rows[keep]
    return frame, source_rows


def _read_with_arrow(body: bytes, header: list[str], separator: str) -> pd.DataFrame | None:
    """Arrow's CSV reader with every column dictionary-encoded text; ``None`` if it cannot parse the body."""
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    text_type = pa.dictionary(pa.int32(), pa.string())
    try:
        table = pa_csv.read_csv(
            _stdio.BytesIO(body),
            read_options=pa_csv.ReadOptions(column_names=header, encoding="utf8"),
            parse_options=pa_csv.ParseOptions(delimiter=separator, newlines_in_values=True),
            convert_options=pa_csv.ConvertOptions(column_types={name: text_type for name in header},
                                                   strings_can_be_null=False, quoted_strings_can_be_null=False),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    return table.to_pandas()


def _read_with_pandas(body: bytes, header: list[str], separator: str, file: str) -> pd.DataFrame:
    if not body.strip():
        return pd.DataFrame({name: pd.Series(dtype=object) for name in header})
    try:
        frame = pd.read_csv(_stdio.BytesIO(body), sep=separator, header=None, names=header, dtype=str,
                            encoding="utf-8", keep_default_na=False, na_filter=False,
                            skip_blank_lines=False, engine="c", index_col=False)
    except pd.errors.ParserError as exc:
        match = re.search(r"line (\d+), saw (\d+)", str(exc))
        if match:
            raise io.TableFormatError(file, int(match.group(1)) + 1, None,
                                      f"{match.group(2)} fields but the header has {len(header)} "
                                      "(check the separator and the quoting of that row)") from exc
        raise AlisError(f"{file}: not a readable CSV file ({exc})") from exc
    return frame


def _blank(column: pd.Series) -> np.ndarray:
    if isinstance(column.dtype, pd.CategoricalDtype):
        codes, uniques = column.cat.codes.to_numpy(), column.cat.categories
    else:
        codes, uniques = pd.factorize(column)
    empty = np.array([str(u).strip() == "" for u in uniques], dtype=bool)
    return empty[codes] if empty.any() else np.zeros(len(column), dtype=bool)


# --------------------------------------------------------------------------- value parsers
def parse_month(text) -> int | None:
    """Months since January 1970 for a ``YYYY-MM`` cell (also ``YYYY-M`` and ``YYYY-MM-01``); ``None`` if invalid."""
    match = _MONTH_PATTERN.match(str(text).strip())
    if not match:
        return None
    year, month = int(match.group(1)), int(match.group(2))
    if not (MONTH_YEAR_RANGE[0] <= year <= MONTH_YEAR_RANGE[1] and 1 <= month <= 12):
        return None
    return (year - 1970) * 12 + month - 1


def _parse_count(text: str):
    """A whole number (spaces as thousands separators allowed); negative numbers returned as such."""
    compact = re.sub(r"[\s\u00a0]", "", text)
    if re.fullmatch(r"-?[0-9]+", compact):
        return int(compact)
    return None


def _month_label(index: int) -> str:
    return f"{1970 + index // 12:04d}-{index % 12 + 1:02d}"


# --------------------------------------------------------------------------- checks
def _check_columns(problems: _Problems, file: str, present: list[str], required, optional) -> bool:
    """Missing and misspelt columns; return whether every required column is present."""
    for column, message in column_problems(present, required, optional, REGISTER_HEADER_HINTS):
        problems.add(file, None, column, None, message)
    return all(name in present for name in required)


def _code_history_index() -> dict[str, dict]:
    from ..reference import load_code_history

    history = load_code_history()
    return {row["code"]: row for row in history.to_dict("records")}


def _resolve_municipality_values(values: np.ndarray):
    """Resolve each distinct municipality value once.

    Returns the 2024 code per value (``None`` if unresolved), the error message
    per failing value, and the parts per split code (``'1507'`` -> ``('1508', '1580')``).
    """
    from ..reference import UnknownMunicipality, resolve_municipality

    history = _code_history_index()
    codes = np.full(len(values), None, dtype=object)
    errors: dict[int, str] = {}
    splits: dict[int, tuple[str, ...]] = {}
    for position, value in enumerate(values):
        if value == "":
            continue
        row = history.get(value)
        if row is not None and row["split"]:
            splits[position] = tuple(str(row["split_into"]).split(";"))
            continue
        try:
            codes[position] = resolve_municipality(value).code_2024
        except UnknownMunicipality as exc:
            message = str(exc)
            if re.fullmatch(r"\d{4}", value):
                message += ("; the shipped code history covers codes in force 2018-2024, so an older code "
                            "(e.g. a Trøndelag 16xx/17xx code before 2018) must be recoded to its 2018 code first")
            errors[position] = message
    return codes, errors, splits


def _resolve_split_codes(problems, file, rows, list_col: _Column, muni_col: _Column, row_code: np.ndarray,
                         code_labels: np.ndarray, splits: dict[int, tuple[str, ...]],
                         history_names: dict[str, str]) -> None:
    """Give rows carrying a split code (e.g. Ålesund 1507 of 2020-2023) the part their list is in.

    The part is read from the same list's rows with an unsplit code; a list with
    no such row, or rows in several parts, cannot be harmonised and is a problem.
    ``row_code`` (positions in ``code_labels``) is updated in place.
    """
    split_rows = np.isin(muni_col.codes, list(splits))
    if not split_rows.any():
        return
    lists_concerned = np.unique(list_col.codes[split_rows])
    known = (row_code >= 0) & np.isin(list_col.codes, lists_concerned)
    pairs = pd.DataFrame({"list": list_col.codes[known], "code": row_code[known]}).drop_duplicates()
    parts_of_list = {key: set(code_labels[group]) for key, group in pairs.groupby("list")["code"]}
    position_of = {label: position for position, label in enumerate(code_labels)}
    todo = pd.DataFrame({"list": list_col.codes[split_rows], "muni": muni_col.codes[split_rows],
                         "row": np.flatnonzero(split_rows)})
    for (list_code, muni_code), group in todo.groupby(["list", "muni"], sort=True):
        parts = splits[muni_code]
        found = sorted(parts_of_list.get(list_code, set()) & set(parts))
        if len(found) == 1:
            row_code[group["row"].to_numpy()] = position_of[found[0]]
            continue
        value = muni_col.values[muni_code]
        listed = " or ".join(f"{p} {history_names.get(p, '')}".strip() for p in parts)
        why = ("rows of that list in several of the parts" if found else
               "no row of that list with the code of one of the parts")
        problems.rows(file, rows[group["row"].to_numpy()], "municipality", np.full(len(group), value, dtype=object),
                      f"code {value} belongs to a municipality that was split ({listed}); list "
                      f"{list_col.values[list_code]} has {why}, so the part cannot be told: give the 2024 code")


def _parse_sex_and_birth_year(problems, file, rows, table: pd.DataFrame):
    """Sex and birth year columns (optional): canonical values or None, flagging invalid cells."""
    result = {}
    if "sex" in table.columns:
        column = _Column.from_raw(table["sex"])
        sex = column.parsed(lambda v: _SEX_SYNONYMS.get(v.lower()) if v else None)
        bad = (sex == None) & ~column.empty()  # noqa: E711
        problems.rows(file, rows[bad], "sex", column.text()[bad], "not a valid sex (expected K or M)")
        result["sex"] = sex
    if "birth_year" in table.columns:
        column = _Column.from_raw(table["birth_year"])
        low, high = REGISTER_BIRTH_YEAR_RANGE
        years = column.parsed(lambda v: (lambda n: n if n is not None and low <= n <= high else None)(_parse_count(v))
                              if v else None)
        bad = (years == None) & ~column.empty()  # noqa: E711
        problems.rows(file, rows[bad], "birth_year", column.text()[bad],
                      f"not a whole year {low}-{high} (a plausible birth year for a GP)")
        result["birth_year"] = years
    return result


def _check_identity_numbers(problems, file, rows, column: _Column, name: str) -> np.ndarray:
    """Refuse identity numbers (vectorised over distinct values); return the row mask."""
    is_id = cells_with_national_id(column.values)
    if not is_id.any():
        return np.zeros(len(column.codes), dtype=bool)
    mask = is_id[column.codes]
    masked = np.array([mask_national_id(v) if hit else v for v, hit in zip(column.values, is_id)], dtype=object)
    problems.rows(file, rows[mask], name, masked[column.codes][mask],
                  "looks like a Norwegian national identity number (fødselsnummer/D-number); identity "
                  "numbers must never enter the analysis data: pseudonymise the extract first")
    return mask


def _check_duplicate_months(problems, file, rows, month: np.ndarray, list_col: _Column, doctor_col: _Column,
                            usable: np.ndarray) -> None:
    """A list has one holder per month: flag the later of two rows for the same (month, list_id)."""
    index = np.flatnonzero(usable)
    span = int(month[index].max() - month[index].min() + 1) if len(index) else 1
    key = list_col.codes[index] * span + (month[index] - (month[index].min() if len(index) else 0))
    duplicated = pd.Series(key).duplicated(keep=False).to_numpy()
    if not duplicated.any():
        return
    sub = pd.DataFrame({"key": key[duplicated], "row": rows[index[duplicated]],
                        "doctor": doctor_col.codes[index[duplicated]]}).sort_values(["key", "row"])
    first_row = sub.groupby("key")["row"].transform("min").to_numpy()
    first_doctor = sub.groupby("key")["doctor"].transform("first").to_numpy()
    later = sub["row"].to_numpy() != first_row
    same = later & (sub["doctor"].to_numpy() == first_doctor)
    other = later & ~same
    positions = np.searchsorted(rows, sub["row"].to_numpy())
    month_text = np.array([_month_label(m) for m in month[positions]], dtype=object)
    list_text = list_col.values[list_col.codes[positions]]
    doctor_text = doctor_col.values[doctor_col.codes[positions]]
    if other.any():
        first_doctor_text = doctor_col.values[first_doctor[other]]
        messages = [f"list {lst} already has holder '{d0 or '(vacant)'}' in {m} (row {r0}); a list has one "
                    "holder per month: keep one row"
                    for lst, d0, m, r0 in zip(list_text[other], first_doctor_text, month_text[other], first_row[other])]
        problems.rows(file, sub["row"].to_numpy()[other], "doctor_id", doctor_text[other],
                      "a second holder of the same list in the same month; a list has one holder per month",
                      messages=messages)
    if same.any():
        messages = [f"list {lst} in {m} appears twice (first at row {r0}); delete one of the rows"
                    for lst, m, r0 in zip(list_text[same], month_text[same], first_row[same])]
        problems.rows(file, sub["row"].to_numpy()[same], "list_id", list_text[same],
                      "the same list and month twice; delete one of the rows", messages=messages)


# --------------------------------------------------------------------------- validation
def _read_checked(problems: _Problems, path: Path, required, optional):
    """Read one register table and check its columns: ``(table, rows)``, or None with the problem recorded."""
    file = path.name
    try:
        table, rows = read_register_table(path)
    except io.TableFormatError as exc:
        problems.add(file, exc.row, exc.column, None, exc.detail)
        return None
    except AlisError as exc:
        problems.add(file, None, None, None, without_file_prefix(str(exc), file))
        return None
    if not _check_columns(problems, file, list(table.columns), required, optional):
        return None
    # an identity number in any other column (known or not) is refused too; doctor_id has its own check
    for name in table.columns:
        if name == "doctor_id":
            continue
        hits = cells_with_national_id(table[name])
        if hits.any():
            problems.rows(file, rows[hits], name, np.full(int(hits.sum()), NATIONAL_ID_MASK, dtype=object),
                          NATIONAL_ID_IN_CELL_PROBLEM)
    return table, rows


def _check_snapshots(problems: _Problems, path: Path, doctor_attributes: pd.DataFrame | None):
    file = path.name
    read = _read_checked(problems, path, SNAPSHOT_REQUIRED_COLUMNS, SNAPSHOT_OPTIONAL_COLUMNS)
    if read is None:
        return None
    table, rows = read
    if not len(table):
        problems.add(file, None, None, None, "no data rows")
        return None

    month_col = _Column.from_raw(table.pop("month"))
    list_col = _Column.from_raw(table.pop("list_id"))
    doctor_col = _Column.from_raw(table.pop("doctor_id"))
    muni_col = _Column.from_raw(table.pop("municipality"))
    size_col = _Column.from_raw(table.pop("list_size"))
    form_col = _Column.from_raw(table.pop("practice_form"))

    month_values = np.array([parse_month(v) if v else None for v in month_col.values], dtype=object)
    month_ok = month_values != None  # noqa: E711
    month = np.where(month_ok, month_values, -1).astype(np.int64)[month_col.codes]
    bad = ~month_ok[month_col.codes]
    month_empty = month_col.empty()
    problems.rows(file, rows[month_empty], "month", month_col.at(month_empty), "empty cell; a value is required")
    bad_month = bad & ~month_empty
    problems.rows(file, rows[bad_month], "month", month_col.at(bad_month),
                  f"not a valid month (expected YYYY-MM, e.g. 2019-08; years {MONTH_YEAR_RANGE[0]}-{MONTH_YEAR_RANGE[1]})")

    list_empty = list_col.empty()
    problems.rows(file, rows[list_empty], "list_id", list_col.at(list_empty), "empty cell; a value is required")
    vacant = doctor_col.empty()
    id_rows = _check_identity_numbers(problems, file, rows, doctor_col, "doctor_id")

    codes_by_value, errors, splits = _resolve_municipality_values(muni_col.values)
    muni_empty = muni_col.empty()
    problems.rows(file, rows[muni_empty], "municipality", muni_col.at(muni_empty), "empty cell; a value is required")
    if errors:
        error_codes = np.array(sorted(errors))
        error_rows = np.isin(muni_col.codes, error_codes)
        for value_code in error_codes:
            hit = error_rows & (muni_col.codes == value_code)
            problems.rows(file, rows[hit], "municipality", muni_col.at(hit), errors[int(value_code)])
    parts = {part for split in splits.values() for part in split}
    code_labels = np.array(sorted({c for c in codes_by_value if c is not None} | parts), dtype=object)
    position_of = {label: position for position, label in enumerate(code_labels)}
    value_position = np.array([position_of.get(c, -1) if c is not None else -1 for c in codes_by_value],
                              dtype=np.int64)
    row_code = value_position[muni_col.codes] if len(value_position) else np.full(len(rows), -1, dtype=np.int64)
    if splits:
        history = _code_history_index()
        names = {code: row["name"] for code, row in history.items()}
        _resolve_split_codes(problems, file, rows, list_col, muni_col, row_code, code_labels, splits, names)

    size_values = np.array([_parse_count(v) if v else None for v in size_col.values], dtype=object)
    size_empty = size_col.empty()
    problems.rows(file, rows[size_empty], "list_size", size_col.at(size_empty), "empty cell; a value is required")
    not_number = (size_values == None)[size_col.codes] & ~size_empty  # noqa: E711
    problems.rows(file, rows[not_number], "list_size", size_col.at(not_number),
                  "not a whole number (expected the number of patients on the list, 0 or more)")
    negative_values = np.array([v is not None and v < 0 for v in size_values], dtype=bool)
    negative = negative_values[size_col.codes]
    problems.rows(file, rows[negative], "list_size", size_col.at(negative),
                  "negative list size (expected the number of patients on the list, 0 or more)")
    list_size = np.where(size_values == None, -1, size_values).astype(np.int64)[size_col.codes]  # noqa: E711

    form_values = np.array([canonical_contract_type(v) if v else None for v in form_col.values], dtype=object)
    form_empty = form_col.empty()
    need_form = form_empty & ~vacant
    problems.rows(file, rows[need_form], "practice_form", form_col.at(need_form),
                  "empty cell; a row with a doctor needs its practice form (fastlønn or næring)")
    bad_form = (form_values == None)[form_col.codes] & ~form_empty  # noqa: E711
    problems.rows(file, rows[bad_form], "practice_form", form_col.at(bad_form), PRACTICE_FORM_EXPECTED)

    usable = ~bad & ~list_empty
    _check_duplicate_months(problems, file, rows, month, list_col, doctor_col, usable)

    attributes = _parse_sex_and_birth_year(problems, file, rows, table)
    _check_doctor_attributes(problems, file, rows, doctor_col, vacant, attributes, doctor_attributes)

    form_position = np.array([{"fastlønn": 0, "næring": 1}.get(v, -1) for v in form_values], dtype=np.int64)
    frame = pd.DataFrame({
        "source_row": rows,
        "month": month.astype("datetime64[M]").astype("datetime64[ns]"),
        "list_id": pd.Categorical.from_codes(list_col.codes, categories=list_col.values),
        "doctor_id": _without_empty(doctor_col),
        "municipality": pd.Categorical.from_codes(muni_col.codes, categories=muni_col.values),
        "municipality_code": pd.Categorical.from_codes(row_code, categories=code_labels),
        "list_size": list_size,
        "practice_form": pd.Categorical.from_codes(form_position[form_col.codes], categories=["fastlønn", "næring"]),
    })
    return frame, doctor_col, vacant, attributes, id_rows


def _without_empty(column: _Column) -> pd.Categorical:
    """A categorical of the column with the empty value as missing (NaN)."""
    keep = column.values != ""
    remap = np.where(keep, np.cumsum(keep) - 1, -1)
    return pd.Categorical.from_codes(remap[column.codes], categories=column.values[keep])


def _check_doctor_attributes(problems, file, rows, doctor_col: _Column, vacant, attributes, doctors) -> None:
    """Sex and birth year must be constant per doctor, within the snapshots and against doctors.csv."""
    if not attributes or not (~vacant).any():
        return
    held = np.flatnonzero(~vacant)
    data = {"doctor": doctor_col.values[doctor_col.codes[held]], "row": rows[held]}
    for name, values in attributes.items():
        data[name] = values[held]
    sub = pd.DataFrame(data)
    for name in attributes:
        observed = sub.loc[sub[name].notna(), ["doctor", name, "row"]]
        if doctors is not None and name in doctors.columns:
            given = doctors.loc[doctors[name].notna(), ["doctor_id", name]].rename(columns={"doctor_id": "doctor",
                                                                                           name: "given"})
            joined = observed.merge(given, on="doctor", how="inner")
            clash = joined[joined[name].astype(str) != joined["given"].astype(str)]
            problems.rows(file, clash["row"].to_numpy(), name, clash[name].to_numpy(dtype=object),
                          lambda v, n=name: f"differs from the {n} given for this doctor in doctors.csv")
        distinct = observed.drop_duplicates(["doctor", name])
        clashing = distinct["doctor"][distinct["doctor"].duplicated()]
        if len(clashing):
            firsts = observed.groupby("doctor")[[name, "row"]].first()
            conflict = observed[observed["doctor"].isin(set(clashing))]
            first_value = firsts.loc[conflict["doctor"], name].to_numpy()
            bad = conflict[conflict[name].to_numpy() != first_value]
            first_row = firsts.loc[bad["doctor"], "row"].to_numpy()
            messages = [f"doctor {d} has {name} {v0} at row {r0}: a doctor's {name} cannot change"
                        for d, v0, r0 in zip(bad["doctor"], firsts.loc[bad["doctor"], name], first_row)]
            problems.rows(file, bad["row"].to_numpy(), name, bad[name].to_numpy(dtype=object),
                          f"a doctor's {name} cannot change between rows", messages=messages)


def _check_doctors(problems: _Problems, path: Path) -> pd.DataFrame | None:
    """The optional doctors table: one row per doctor with sex and birth year."""
    file = path.name
    read = _read_checked(problems, path, DOCTOR_REQUIRED_COLUMNS, DOCTOR_OPTIONAL_COLUMNS)
    if read is None:
        return None
    table, rows = read
    doctor_col = _Column.from_raw(table.pop("doctor_id"))
    empty = doctor_col.empty()
    problems.rows(file, rows[empty], "doctor_id", doctor_col.at(empty), "empty cell; a value is required")
    _check_identity_numbers(problems, file, rows, doctor_col, "doctor_id")
    duplicated = pd.Series(doctor_col.codes).duplicated().to_numpy() & ~empty
    if duplicated.any():
        first = pd.Series(rows).groupby(doctor_col.codes).transform("min").to_numpy()
        messages = [f"doctor {d} already has a row (row {r0}); doctors.csv holds one row per doctor"
                    for d, r0 in zip(doctor_col.at(duplicated), first[duplicated])]
        problems.rows(file, rows[duplicated], "doctor_id", doctor_col.at(duplicated),
                      "a second row for the same doctor; doctors.csv holds one row per doctor", messages=messages)
    attributes = _parse_sex_and_birth_year(problems, file, rows, table)
    frame = pd.DataFrame({"doctor_id": doctor_col.text(), **attributes})
    return frame[~empty & ~duplicated].reset_index(drop=True)


def _find_csv(folder: Path, stem: str, problems: _Problems) -> Path | None:
    found = [entry for entry in sorted(folder.iterdir())
             if entry.is_file() and entry.name.lower().startswith(stem + ".") and not entry.name.startswith(".")]
    csv_files = [entry for entry in found if entry.suffix.lower() == ".csv"]
    if csv_files:
        return csv_files[0]
    if found:
        problems.add(f"{stem}.csv", None, None, None,
                     f"found {found[0].name} but register extracts are read as CSV (.csv); save it as CSV")
    return None


def validate_register(dataset_dir) -> tuple[list[Problem], pd.DataFrame | None]:
    """Check a GP-register extract folder against the register contract.

    Parameters
    ----------
    dataset_dir
        Folder holding ``snapshots.csv``, optionally ``doctors.csv`` and ``dataset.json``.

    Returns
    -------
    problems, snapshots
        Every problem found, listed up to :data:`MAX_PROBLEMS_PER_KIND` per
        kind with one more problem counting the rest; and, only when there are
        none, the typed snapshots: ``source_row`` (int), ``month`` (datetime64,
        first day), ``list_id``, ``doctor_id`` (NaN for a month without a
        holder), ``municipality`` (as given), ``municipality_code`` (2024),
        ``practice_form`` (``fastlønn``/``næring``, NaN when vacant), ``sex``
        (``K``/``M``/NaN) as categoricals, ``list_size`` (int64) and
        ``birth_year`` (Int64). ``frame.attrs`` holds ``synthetic`` (bool) and
        ``input_files`` (file name -> SHA-256).

    Raises
    ------
    AlisError
        If the folder does not exist (data problems are returned, never raised).
    """
    folder = Path(dataset_dir)
    if not folder.is_dir():
        raise AlisError(f"{folder}: register extract folder not found")
    problems = _Problems()
    input_files: dict[str, str] = {}
    metadata: dict = {}
    if (folder / io.METADATA_FILE).is_file():
        input_files[io.METADATA_FILE] = io.sha256_file(folder / io.METADATA_FILE)
        try:
            metadata = io.read_dataset_metadata(folder)
        except AlisError as exc:
            problems.add(io.METADATA_FILE, None, None, None, without_file_prefix(str(exc), io.METADATA_FILE))
        problems.items.extend(metadata_identity_problems(metadata))
    synthetic = parse_bool(metadata.get("synthetic", False))
    if synthetic is None:
        problems.add(io.METADATA_FILE, None, "synthetic", str(metadata.get("synthetic")),
                     "not a yes/no value (expected true or false)")

    doctors = None
    doctors_path = _find_csv(folder, DOCTORS, problems)
    if doctors_path is not None:
        input_files[doctors_path.name] = io.sha256_file(doctors_path)
        doctors = _check_doctors(problems, doctors_path)
    snapshots_path = _find_csv(folder, SNAPSHOTS, problems)
    checked = None
    if snapshots_path is None:
        if not any(p.file == f"{SNAPSHOTS}.csv" for p in problems.items):
            problems.add(f"{SNAPSHOTS}.csv", None, None, None, "missing required file (expected snapshots.csv)")
    else:
        input_files[snapshots_path.name] = io.sha256_file(snapshots_path)
        checked = _check_snapshots(problems, snapshots_path, doctors)

    rank = {f"{SNAPSHOTS}.csv": 0, f"{DOCTORS}.csv": 1}
    ordered = sorted(problems.items, key=lambda p: (rank.get(p.file, 2), p.file, p.row is None, p.row or 0))
    if ordered or checked is None:
        return ordered, None
    frame, doctor_col, vacant, attributes, _ = checked
    frame = _attach_doctor_attributes(frame, attributes, doctors)
    frame.attrs["synthetic"] = bool(synthetic)
    frame.attrs["input_files"] = input_files
    return [], frame


def _attach_doctor_attributes(frame: pd.DataFrame, attributes: dict, doctors: pd.DataFrame | None) -> pd.DataFrame:
    """``sex`` and ``birth_year`` per row: from the snapshot columns, else from doctors.csv."""
    sex = attributes.get("sex")
    birth = attributes.get("birth_year")
    if doctors is not None and len(doctors):
        lookup = doctors.set_index("doctor_id")
        codes = frame["doctor_id"].cat.codes.to_numpy()
        categories = frame["doctor_id"].cat.categories
        for name in ("sex", "birth_year"):
            if name not in lookup.columns:
                continue
            per_category = lookup[name].reindex(categories).to_numpy(dtype=object)
            from_table = np.where(codes >= 0, per_category[np.maximum(codes, 0)], None)
            current = sex if name == "sex" else birth
            merged = from_table if current is None else np.where(current == None, from_table, current)  # noqa: E711
            if name == "sex":
                sex = merged
            else:
                birth = merged
    rows = len(frame)
    sex = np.full(rows, None, dtype=object) if sex is None else sex
    birth = np.full(rows, None, dtype=object) if birth is None else birth
    frame["sex"] = pd.Categorical(pd.Series(sex, dtype=object), categories=["K", "M"])
    frame["birth_year"] = pd.array(pd.Series(birth, dtype=object).to_numpy(dtype=object), dtype="Int64")
    return frame


def load_register(dataset_dir) -> pd.DataFrame:
    """Validate an extract and return its typed snapshots; raise :class:`DataValidationError` on any problem."""
    problems, frame = validate_register(dataset_dir)
    if problems:
        lines = "\n".join(f"  {problem}" for problem in problems[:50])
        more = f"\n  … and {len(problems) - 50} more" if len(problems) > 50 else ""
        raise DataValidationError(problems, f"{len(problems)} problem(s) in {dataset_dir}:\n{lines}{more}\n"
                                            f"Run `alis-research validate-register {dataset_dir}` for the full list.")
    return frame


# --------------------------------------------------------------------------- episodes
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
    episodes["start_month"] = [_month_label(m) for m in start_month]
    episodes["end_month"] = [_month_label(m) for m in end_month]
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
