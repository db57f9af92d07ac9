"""Reading raw tables as municipalities send them, and writing outputs atomically.

This is the only module (besides the loaders of the shipped reference tables)
that touches the disk. Raw extracts come from municipal HR systems and Excel,
so :func:`read_table` accepts CSV with ``,``, ``;`` or tab separators, in UTF-8
(with or without a byte-order mark), UTF-16 with a BOM, or Windows-1252, and
XLSX workbooks. Every cell is returned as text so that codes keep their leading
zeros; interpretation (dates, numbers, synonyms) is the job of
:mod:`alis_research.data.validate`.

Hostile or broken files are refused in one line naming the file and what was
expected, never with a traceback: binary data (:func:`check_text`), a workbook
that is not a complete zip archive or that would expand beyond
:data:`MAX_XLSX_UNCOMPRESSED_BYTES` (:func:`check_xlsx_archive`, read before
openpyxl parses anything), and a cell longer than :data:`MAX_CELL_CHARS`
(named by row and column). Large CSV files are parsed by Arrow's multi-threaded
reader with dictionary-encoded columns; the exact row-by-row reader takes over
for any file Arrow cannot parse, so both give the same table.
"""
from __future__ import annotations

import codecs
import contextlib
import csv
import datetime as _dt
import hashlib
import io as _stdio
import json
import os
import re
import shutil
import tempfile
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import AlisError

#: File suffixes :func:`read_table` understands (lower case).
TABLE_SUFFIXES = (".csv", ".xlsx")
#: Optional metadata file of a dataset folder.
METADATA_FILE = "dataset.json"

_SEPARATORS = (",", ";", "\t")

#: Longest cell accepted, in characters: Excel's own limit per cell. A longer one is almost always
#: an unclosed quote that swallowed the rest of the file, or a hostile file.
MAX_CELL_CHARS = 32_767
#: Most columns read from a table: HR extracts carry many unknown columns, but not thousands
#: (Excel allows 16,384; each column is checked for identity numbers).
MAX_COLUMNS = 2_000
#: Most bytes an XLSX workbook may expand to when unpacked (about 40,000 rows of the episodes
#: table); a larger table belongs in a CSV file. Checked from the zip directory, before parsing:
#: openpyxl parses about 1.6 MB of sheet XML per CPU second, so this bounds a workbook to ~10 s.
MAX_XLSX_UNCOMPRESSED_BYTES = 16 * 2**20
#: Highest compression ratio accepted for a member of a workbook above 1 MB: spreadsheet XML
#: compresses about 5 to 20 times; a decompression bomb hundreds of times.
MAX_XLSX_COMPRESSION_RATIO = 100
#: Most members a workbook may hold (a real one holds a few dozen).
MAX_XLSX_MEMBERS = 10_000
#: Share of control characters (other than tab, CR, LF, form feed) above which a file is binary.
MAX_CONTROL_SHARE = 0.01
#: What a CSV file is expected to be, said in every message about an unreadable one.
CSV_EXPECTED = ("expected a CSV text file (UTF-8, UTF-16 with a byte-order mark, or Windows-1252) "
                "whose first row holds the column names")
#: White space at either end of a value, as Python's str.strip() sees it (in RE2 syntax, for Arrow).
_WHITE = (r"\t\n\x0b\x0c\r\x1c-\x1f \x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}"
          r"\x{205f}\x{3000}")
_EDGE_SPACE = f"^[{_WHITE}]|[{_WHITE}]$"
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


class TableFormatError(AlisError):
    """A table whose layout cannot be read; carries the file, row and column for the problem list."""

    def __init__(self, file: str, row: int | None, column: str | None, message: str):
        self.file, self.row, self.column, self.detail = file, row, column, message
        where = file + (f", row {row}" if row is not None else "") + (f", column {column}" if column else "")
        super().__init__(f"{where}: {message}")


# --------------------------------------------------------------------------- reading
def check_text(text: str, path: Path) -> None:
    """Refuse binary data posing as a CSV file (NUL bytes, or many control characters), in one line."""
    head = text[: 1 << 20]
    if "\x00" in head:
        if head.count("\x00") * 3 > len(head):
            detail = "every other byte is zero: UTF-16 or UTF-32 without a byte-order mark? Save it as UTF-8"
        else:
            detail = "it holds NUL bytes: binary data, not text"
        raise AlisError(f"{path.name}: not a readable CSV file ({detail}); {CSV_EXPECTED}")
    controls = len(_CONTROL_CHARS.findall(head))
    if controls > MAX_CONTROL_SHARE * len(head):
        raise AlisError(f"{path.name}: not a readable CSV file ({controls:,} control characters in its first "
                        f"{len(head):,}: binary data, not text); {CSV_EXPECTED}")


def decode_text(raw: bytes, path: Path) -> str:
    """Decode a CSV file: UTF-16 (BOM), UTF-8 (with/without BOM), else Windows-1252.

    Binary data is refused (:func:`check_text`): Windows-1252 with its Latin-1
    fallback would otherwise 'decode' anything.
    """
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text = raw.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise AlisError(f"{path.name}: starts with a UTF-16 byte-order mark but is not valid UTF-16 "
                            f"({exc.reason} at byte {exc.start:,}); {CSV_EXPECTED}") from exc
        check_text(text, path)
        return text
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = raw.decode("cp1252")
        except UnicodeDecodeError:
            # cp1252 leaves five byte values undefined; Latin-1 maps every byte,
            # and agrees with cp1252 on all Norwegian letters (æ ø å Æ Ø Å).
            text = raw.decode("latin-1")
    check_text(text, path)
    return text


def sniff_separator(text: str) -> str:
    """The separator of a CSV text: the most frequent of ``, ; TAB`` in the header line."""
    header = text.split("\n", 1)[0]
    counts = {sep: 0 for sep in _SEPARATORS}
    in_quotes = False
    for char in header:
        if char == '"':
            in_quotes = not in_quotes
        elif not in_quotes and char in counts:
            counts[char] += 1
    best = max(_SEPARATORS, key=lambda sep: counts[sep])
    return best if counts[best] > 0 else ","


def _normalise_header(name: object) -> str:
    return str(name if name is not None else "").replace("\ufeff", "").strip().lower()


def _oversize_cell(path: Path, row: int, column: str | None, length: int | None) -> TableFormatError:
    size = f"{length:,} characters" if length is not None else "too many characters"
    return TableFormatError(path.name, row, column or None,
                            f"a cell of {size}, more than the {MAX_CELL_CHARS:,} a cell may hold (Excel's own "
                            "limit); expected short values: check the quoting of that row (an unclosed quote "
                            "swallows the lines after it)")


class CodedColumn:
    """A text column as integer codes into its distinct stripped values (read once, checked per value)."""

    __slots__ = ("codes", "values")

    def __init__(self, codes: np.ndarray, values: np.ndarray):
        self.codes, self.values = codes, values

    def __len__(self) -> int:
        return len(self.codes)

    def __getitem__(self, position: int) -> str:
        return self.values[self.codes[position]]

    def rows(self, start: int = 0, keep: np.ndarray | None = None) -> "CodedColumn":
        codes = self.codes[start:]
        return CodedColumn(codes if keep is None else codes[keep], self.values)

    def nonempty(self) -> np.ndarray:
        return (self.values != "")[self.codes] if len(self.values) else np.zeros(len(self.codes), dtype=bool)

    def text(self) -> np.ndarray:
        return self.values[self.codes]


def _columns_to_frame(columns: list, path: Path) -> pd.DataFrame:
    """:func:`_coded_columns_to_frame` without the codes."""
    return _coded_columns_to_frame(columns, path)[0]


def _coded_columns_to_frame(columns: list, path: Path) -> tuple[pd.DataFrame, dict[str, CodedColumn]]:
    """Build the string frame from stripped text columns whose first cell is the header.

    The index holds the row number a spreadsheet shows (header = 1); rows whose
    cells are all empty are dropped but do not shift the numbering. Columns given
    as :class:`CodedColumn` are returned coded too (column name -> codes of the kept rows).
    """
    if not columns or all(not str(column[0]).strip() for column in columns):
        raise TableFormatError(path.name, 1, None, "the first row must hold the column names, but it is empty")
    if len(columns) > MAX_COLUMNS:
        raise TableFormatError(path.name, 1, None, f"{len(columns):,} columns in the header row, more than the "
                               f"{MAX_COLUMNS:,} read; expected the columns of the data dictionary (and a few others)")
    header = [_normalise_header(column[0]) for column in columns]
    data = [column.rows(1) if isinstance(column, CodedColumn) else column[1:] for column in columns]

    def nonempty(column) -> np.ndarray:
        return column.nonempty() if isinstance(column, CodedColumn) else column != ""

    # Excel often leaves empty trailing header cells; drop them when their columns are empty too.
    while header and header[-1] == "":
        if nonempty(data[-1]).any():
            break
        header.pop()
        data.pop()
    seen: dict[str, int] = {}
    for position, name in enumerate(header, start=1):
        if name == "":
            raise TableFormatError(path.name, 1, None, f"column {position} has no name in the header row")
        if name in seen:
            raise TableFormatError(path.name, 1, name, f"column '{name}' appears twice in the header row "
                                   f"(columns {seen[name]} and {position}); keep one")
        seen[name] = position
    rows = len(data[0]) if data else 0
    filled = np.zeros(rows, dtype=bool)
    for column in data:
        filled |= nonempty(column)
    keep = None if filled.all() else filled
    coded: dict[str, CodedColumn] = {}
    cells: dict[str, np.ndarray] = {}
    for name, column in zip(header, data):
        if isinstance(column, CodedColumn):
            coded[name] = column.rows(0, keep)
            cells[name] = coded[name].text()
        else:
            cells[name] = column if keep is None else column[keep]
    frame = pd.DataFrame(cells, dtype=object, copy=False)
    numbers = np.arange(2, rows + 2, dtype=np.int64)
    frame.index = pd.Index(numbers if keep is None else numbers[keep], dtype="int64", name="source_row")
    return frame, coded


def _records_to_columns(records, path: Path) -> list[np.ndarray]:
    """Stripped text columns from records (header first), streaming: a row with more non-empty
    fields than the header stops the reading at that row."""
    iterator = iter(records)
    header = next(iterator, None)
    if header is None:
        raise TableFormatError(path.name, 1, None, "the first row must hold the column names, but it is empty")
    width = len(header)
    collected: list[list[str]] = [[str(cell).strip()] for cell in header]
    for number, record in enumerate(iterator, start=2):
        cells = [str(cell).strip() for cell in record]
        if len(cells) > width:
            if any(cells[width:]):
                raise TableFormatError(path.name, number, None,
                                       f"{len(cells)} fields but the header has {width} "
                                       "(check the separator and the quoting of that row)")
            cells = cells[:width]
        elif len(cells) < width:
            cells = cells + [""] * (width - len(cells))
        for column, cell in zip(collected, cells):
            column.append(cell)
    return [np.array(column, dtype=object) for column in collected]


def _records_to_frame(records: list[list[str]], path: Path) -> pd.DataFrame:
    """The string frame of records whose first one is the header (the exact, row-by-row reader)."""
    return _columns_to_frame(_records_to_columns(records, path), path)


def _csv_records(text: str, separator: str, path: Path) -> Iterator[list[str]]:
    """csv.reader over the text; a cell above :data:`MAX_CELL_CHARS` is refused naming its row."""
    reader = csv.reader(_stdio.StringIO(text, newline=""), delimiter=separator)
    previous_limit = csv.field_size_limit(MAX_CELL_CHARS)
    number = 0
    try:
        for number, record in enumerate(reader, start=1):
            yield record
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):
            raise _oversize_cell(path, number + 1, None, None) from exc
        raise AlisError(f"{path.name}: not a readable CSV file (row {number + 1}: {exc}); {CSV_EXPECTED}") from exc
    finally:
        csv.field_size_limit(previous_limit)


def _read_csv_exact(text: str, separator: str, path: Path) -> pd.DataFrame:
    """The row-by-row reader: any layout the csv module reads, with exact row numbers."""
    with contextlib.closing(_csv_records(text, separator, path)) as records:  # restores the field limit
        return _columns_to_frame(_records_to_columns(records, path), path)


def _read_csv_arrow(body: bytes, separator: str, width: int,
                    path: Path) -> tuple[pd.DataFrame, dict[str, CodedColumn]] | None:
    """Arrow's CSV reader on UTF-8 bytes, every column dictionary-encoded text; ``None`` when it cannot
    parse the file exactly as the csv module would (ragged rows, say), so the exact reader decides."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pa_csv

    names = [f"c{position}" for position in range(width)]
    text_type = pa.dictionary(pa.int32(), pa.string())
    try:
        table = pa_csv.read_csv(
            _stdio.BytesIO(body),
            read_options=pa_csv.ReadOptions(column_names=names),
            # empty lines are kept as rows of empty cells, so row numbers stay those a spreadsheet shows
            parse_options=pa_csv.ParseOptions(delimiter=separator, newlines_in_values=True, ignore_empty_lines=False),
            convert_options=pa_csv.ConvertOptions(column_types={name: text_type for name in names},
                                                   strings_can_be_null=False, quoted_strings_can_be_null=False),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return None
    columns: list[CodedColumn] = []
    for name in names:
        column = table.column(name).unify_dictionaries()
        chunks = [chunk for chunk in column.chunks if len(chunk)]
        if not chunks:
            columns.append(CodedColumn(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=object)))
            continue
        dictionary = chunks[0].dictionary
        codes = np.concatenate([chunk.indices.to_numpy(zero_copy_only=False) for chunk in chunks])  # int32
        lengths = pc.utf8_length(dictionary).to_numpy(zero_copy_only=False)
        if len(lengths) and lengths.max() > MAX_CELL_CHARS:
            longest = int(np.argmax(lengths))
            row = int(np.flatnonzero(codes == longest)[0]) + 1
            header = dictionary[int(codes[0])].as_py()
            raise _oversize_cell(path, row, _normalise_header(header) if row > 1 else None, int(lengths[longest]))
        values = dictionary.to_numpy(zero_copy_only=False).astype(object)
        # cells are stripped as str.strip() does; only values starting or ending with white space need it,
        # and then ' a' and 'a' become one value
        padded = np.flatnonzero(pc.match_substring_regex(dictionary, _EDGE_SPACE).to_numpy(zero_copy_only=False))
        if len(padded):
            for position in padded:
                values[position] = values[position].strip()
            merged, values = pd.factorize(values)
            codes = merged[codes]
        columns.append(CodedColumn(codes, np.asarray(values, dtype=object)))
    del table
    return _coded_columns_to_frame(columns, path)


def _read_csv(path: Path) -> tuple[pd.DataFrame, dict[str, CodedColumn]]:
    raw = path.read_bytes()
    utf16 = raw.startswith((b"\xff\xfe", b"\xfe\xff"))
    if utf16 or not _is_utf8(raw):
        text = decode_text(raw, path)
        body = text.encode("utf-8")  # UTF-16 or Windows-1252: the decoded text re-encoded once, for Arrow
    else:
        # UTF-8: Arrow reads the file's own bytes; only the head is decoded here, for the checks
        text = None
        body = raw[3:] if raw.startswith(b"\xef\xbb\xbf") else raw
        check_text(body[: 1 << 20].decode("utf-8", errors="ignore"), path)
    del raw
    head = text[: 1 << 20] if text is not None else body[: 1 << 20].decode("utf-8", errors="ignore")
    separator = sniff_separator(head)
    first_line = re.split(r"\r\n|\r|\n", head, maxsplit=1)[0]
    if first_line.count('"') % 2 == 0:  # an odd count: a quoted header cell runs onto the next line
        width = len(next(csv.reader([first_line], delimiter=separator), []))
        read = _read_csv_arrow(body, separator, width, path) if width else None
        if read is not None:
            return read
    if text is None:
        text = body.decode("utf-8")
    del body
    return _read_csv_exact(text, separator, path), {}


def _is_utf8(data: bytes) -> bool:
    """Whether ``data`` is valid UTF-8, checked a megabyte at a time (no second copy of a big file)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    view = memoryview(data)
    try:
        for start in range(0, len(data), 1 << 20):
            decoder.decode(view[start:start + (1 << 20)])
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _excel_cell_text(value: object) -> str:
    """Render an XLSX cell as the text a user typed: dates as ISO, whole numbers without '.0'."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, _dt.datetime):
        if value.time() == _dt.time(0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, _dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def check_xlsx_archive(path: Path) -> None:
    """Refuse, from the zip directory alone, a workbook that is not a complete zip archive or that
    would expand beyond :data:`MAX_XLSX_UNCOMPRESSED_BYTES` (a decompression bomb), before any parsing."""
    expected = "expected an .xlsx workbook saved by Excel or LibreOffice"
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as exc:
        raise AlisError(f"{path.name}: not a readable XLSX workbook (not a complete zip archive: truncated, "
                        f"or not a workbook at all: {exc}); {expected}") from exc
    if len(members) > MAX_XLSX_MEMBERS:
        raise AlisError(f"{path.name}: not a plausible XLSX workbook ({len(members):,} parts in the archive, "
                        f"at most {MAX_XLSX_MEMBERS:,} accepted); {expected}")
    total = sum(member.file_size for member in members)
    if total > MAX_XLSX_UNCOMPRESSED_BYTES:
        raise AlisError(f"{path.name}: the workbook expands to {total / 2**20:,.0f} MB when unpacked, more than the "
                        f"{MAX_XLSX_UNCOMPRESSED_BYTES / 2**20:.0f} MB read from a workbook (about 40,000 rows); "
                        "save a table that large as CSV")
    for member in members:
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size > 2**20 and ratio > MAX_XLSX_COMPRESSION_RATIO:
            raise AlisError(f"{path.name}: part {member.filename} expands {ratio:,.0f} times "
                            f"({member.compress_size:,} to {member.file_size:,} bytes), more than the "
                            f"{MAX_XLSX_COMPRESSION_RATIO} times of any real spreadsheet (a decompression bomb?); "
                            f"{expected}")


def _read_xlsx_records(path: Path) -> list[list[str]]:
    import openpyxl  # imported lazily: only needed for Excel input

    check_xlsx_archive(path)
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for corrupt files
        raise AlisError(f"{path.name}: not a readable XLSX workbook ({type(exc).__name__}: {exc}); "
                        "expected an .xlsx workbook saved by Excel or LibreOffice") from exc
    records: list[list[str]] = []
    try:
        sheet = workbook.worksheets[0]
        for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
            record = [_excel_cell_text(value) for value in row]
            for position, cell in enumerate(record):
                if len(cell) > MAX_CELL_CHARS:
                    header = records[0] if records else record
                    name = _normalise_header(header[position]) if position < len(header) else None
                    raise _oversize_cell(path, number, name if number > 1 else None, len(cell))
            records.append(record)
    except AlisError:
        raise
    except Exception as exc:  # a corrupt part shows only while its rows are read
        raise AlisError(f"{path.name}: not a readable XLSX workbook (row {len(records) + 1}: "
                        f"{type(exc).__name__}: {exc}); expected an .xlsx workbook saved by Excel or "
                        "LibreOffice") from exc
    finally:
        workbook.close()
    return records


def read_table(path: str | os.PathLike) -> pd.DataFrame:
    """Read a CSV or XLSX table as text; see :func:`read_table_coded` (this is its frame)."""
    return read_table_coded(path)[0]


def read_table_coded(path: str | os.PathLike) -> tuple[pd.DataFrame, dict[str, CodedColumn]]:
    """Read a CSV or XLSX table as text.

    Parameters
    ----------
    path
        A ``.csv`` or ``.xlsx`` file. CSV: separator ``,``, ``;`` or tab (sniffed
        from the header line); UTF-8 with or without BOM, UTF-16 with BOM, or
        Windows-1252. XLSX: the first worksheet; dates become ``YYYY-MM-DD``.

    Returns
    -------
    frame : pandas.DataFrame
        Every cell a ``str`` with surrounding whitespace removed (empty cells
        are ``''``); column names stripped and
        lower-cased; the index is the row number a spreadsheet shows (header =
        row 1). Rows whose cells are all empty are left out.
    coded : dict
        For the columns the fast CSV reader gave coded, column name ->
        :class:`CodedColumn` (codes of the frame's rows into distinct values),
        so that checks run once per distinct value; empty otherwise.

    Raises
    ------
    AlisError
        The file is missing, unreadable, or its header row is malformed; the
        message names the file.
    """
    path = Path(path)
    if not path.is_file():
        raise AlisError(f"{path}: file not found")
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            return _read_csv(path)
        if suffix == ".xlsx":
            return _records_to_frame(_read_xlsx_records(path), path), {}
        raise AlisError(f"{path.name}: unsupported file type '{suffix}' (expected .csv or .xlsx)")
    except OSError as exc:
        raise AlisError(f"{path.name}: cannot be read ({exc.strerror or exc})") from exc
    except MemoryError as exc:
        raise AlisError(f"{path.name}: too large to read into memory; {CSV_EXPECTED}") from exc


def find_table(dataset_dir: str | os.PathLike, stem: str) -> Path | None:
    """Find ``<stem>.csv`` or ``<stem>.xlsx`` in a dataset folder (names compared case-insensitively).

    Returns ``None`` when neither exists. Raises :class:`AlisError` when both
    exist (which one is meant is ambiguous) or when only an old ``.xls`` exists.
    """
    folder = Path(dataset_dir)
    if not folder.is_dir():
        raise AlisError(f"{folder}: dataset folder not found")
    found: dict[str, Path] = {}
    for entry in sorted(folder.iterdir()):
        name = entry.name.lower()
        if entry.is_file() and name.startswith(stem.lower() + "."):
            found[name[len(stem) :]] = entry
    tables = [found[s] for s in TABLE_SUFFIXES if s in found]
    if len(tables) > 1:
        names = " and ".join(p.name for p in tables)
        raise AlisError(f"both {names} exist in {folder}; keep only one {stem} table")
    if tables:
        return tables[0]
    if ".xls" in found:
        raise AlisError(f"{found['.xls'].name}: old Excel format (.xls) is not read; save it as .xlsx or .csv")
    return None


def read_dataset_metadata(dataset_dir: str | os.PathLike) -> dict:
    """Read the optional ``dataset.json`` of a dataset folder (``{}`` when absent)."""
    path = Path(dataset_dir) / METADATA_FILE
    if not path.is_file():
        return {}
    try:
        metadata = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise AlisError(f"{METADATA_FILE}: not valid JSON ({exc})") from exc
    if not isinstance(metadata, dict):
        raise AlisError(f"{METADATA_FILE}: expected a JSON object such as {{\"synthetic\": true}}")
    return metadata


def sha256_file(path: str | os.PathLike) -> str:
    """SHA-256 hex digest of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# --------------------------------------------------------------------------- writing
def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file in the same folder and ``os.replace``.

    A reader never sees a half-written file; an interrupted write leaves the
    previous file intact.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        # mkstemp makes the file 0600; give it the permissions a plain open() would
        current_umask = os.umask(0)
        os.umask(current_umask)
        os.fchmod(descriptor, 0o666 & ~current_umask)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise


def atomic_write_text(path: str | os.PathLike, text: str, encoding: str = "utf-8") -> None:
    """Write text atomically (UTF-8 by default, ``\\n`` line ends as given)."""
    atomic_write_bytes(path, text.encode(encoding))


def atomic_replace_dir(tmp_dir: str | os.PathLike, final_dir: str | os.PathLike) -> None:
    """Move a fully written folder ``tmp_dir`` to ``final_dir``, replacing any previous one.

    The previous folder is renamed aside first and deleted only after the new
    one is in place, so at every moment one complete version exists on disk
    (the old one, possibly under its aside name, or the new one). ``tmp_dir``
    must be on the same file system as ``final_dir`` (create it beside it).
    """
    tmp_dir, final_dir = Path(tmp_dir), Path(final_dir)
    final_dir.parent.mkdir(parents=True, exist_ok=True)
    aside = None
    if final_dir.exists():
        aside = final_dir.with_name(f".{final_dir.name}.old-{uuid.uuid4().hex[:8]}")
        os.replace(final_dir, aside)
    try:
        os.replace(tmp_dir, final_dir)
    except BaseException:
        if aside is not None:
            os.replace(aside, final_dir)
        raise
    if aside is not None:
        shutil.rmtree(aside, ignore_errors=True)


@contextlib.contextmanager
def atomic_output_dir(final_dir: str | os.PathLike) -> Iterator[Path]:
    """Context manager yielding a temporary folder beside ``final_dir``.

    Write everything into the yielded folder; when the ``with`` block ends
    without an exception it replaces ``final_dir`` (see
    :func:`atomic_replace_dir`). On an exception (or Ctrl-C) the temporary
    folder is removed and ``final_dir`` is left as it was.
    """
    final_dir = Path(final_dir)
    final_dir.parent.mkdir(parents=True, exist_ok=True)
    # mkdir (not mkdtemp) so the folder gets the user's usual permissions, not 0700
    tmp_dir = final_dir.with_name(f".{final_dir.name}.tmp-{uuid.uuid4().hex[:12]}")
    tmp_dir.mkdir()
    try:
        yield tmp_dir
    except BaseException:
        shutil.rmtree(tmp_dir, ignore_errors=True)
        raise
    atomic_replace_dir(tmp_dir, final_dir)
