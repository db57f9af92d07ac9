"""The GP-register extract's contract: column names, readers and the column-level checks.

Every text column is factorised once (:class:`RegisterColumn`) and each *distinct* value is
parsed once; :class:`RegisterProblems` collects the problems, listed up to
:data:`MAX_PROBLEMS_PER_KIND` per kind. :mod:`alis_research.data.register` puts the checks
together; the contract and the decisions behind it are written up in ``docs/register.md``.
"""
from __future__ import annotations

import csv
import io as _stdio
import re
from pathlib import Path

import numpy as np
import pandas as pd

from . import io
from ..errors import AlisError
from ..identity import cells_with_national_id
from .contract import Problem, mask_national_id
from .raw_table import column_problems

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
class RegisterProblems:
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
class RegisterColumn:
    """A text column as integer codes into its distinct stripped values (code -1 never occurs)."""

    __slots__ = ("codes", "values")

    def __init__(self, codes: np.ndarray, values: np.ndarray):
        self.codes, self.values = codes, values

    @classmethod
    def from_raw(cls, raw: pd.Series) -> "RegisterColumn":
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
        The cells (not yet stripped: :class:`RegisterColumn` strips per distinct value)
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


def parse_count(text: str):
    """A whole number (spaces as thousands separators allowed); negative numbers returned as such."""
    compact = re.sub(r"[\s\u00a0]", "", text)
    if re.fullmatch(r"-?[0-9]+", compact):
        return int(compact)
    return None


def month_label(index: int) -> str:
    return f"{1970 + index // 12:04d}-{index % 12 + 1:02d}"


# --------------------------------------------------------------------------- checks
def check_register_columns(problems: RegisterProblems, file: str, present: list[str], required, optional) -> bool:
    """Missing and misspelt columns; return whether every required column is present."""
    for column, message in column_problems(present, required, optional, REGISTER_HEADER_HINTS):
        problems.add(file, None, column, None, message)
    return all(name in present for name in required)


def code_history_index() -> dict[str, dict]:
    from ..reference import load_code_history

    history = load_code_history()
    return {row["code"]: row for row in history.to_dict("records")}


def resolve_municipality_values(values: np.ndarray):
    """Resolve each distinct municipality value once.

    Returns the 2024 code per value (``None`` if unresolved), the error message
    per failing value, and the parts per split code (``'1507'`` -> ``('1508', '1580')``).
    """
    from ..reference import UnknownMunicipality, resolve_municipality

    history = code_history_index()
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


def resolve_split_codes(problems, file, rows, list_col: RegisterColumn, muni_col: RegisterColumn, row_code: np.ndarray,
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


def parse_sex_and_birth_year(problems, file, rows, table: pd.DataFrame):
    """Sex and birth year columns (optional): canonical values or None, flagging invalid cells."""
    result = {}
    if "sex" in table.columns:
        column = RegisterColumn.from_raw(table["sex"])
        sex = column.parsed(lambda v: _SEX_SYNONYMS.get(v.lower()) if v else None)
        bad = (sex == None) & ~column.empty()  # noqa: E711
        problems.rows(file, rows[bad], "sex", column.text()[bad], "not a valid sex (expected K or M)")
        result["sex"] = sex
    if "birth_year" in table.columns:
        column = RegisterColumn.from_raw(table["birth_year"])
        low, high = REGISTER_BIRTH_YEAR_RANGE
        years = column.parsed(lambda v: (lambda n: n if n is not None and low <= n <= high else None)(parse_count(v))
                              if v else None)
        bad = (years == None) & ~column.empty()  # noqa: E711
        problems.rows(file, rows[bad], "birth_year", column.text()[bad],
                      f"not a whole year {low}-{high} (a plausible birth year for a GP)")
        result["birth_year"] = years
    return result


def check_column_identity_numbers(problems, file, rows, column: RegisterColumn, name: str) -> np.ndarray:
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


def check_duplicate_months(problems, file, rows, month: np.ndarray, list_col: RegisterColumn,
                           doctor_col: RegisterColumn, usable: np.ndarray) -> None:
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
    month_text = np.array([month_label(m) for m in month[positions]], dtype=object)
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
