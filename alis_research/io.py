"""Reading raw tables as municipalities send them, and writing outputs atomically.

This is the only module (besides the loaders of the shipped reference tables)
that touches the disk. Raw extracts come from municipal HR systems and Excel,
so :func:`read_table` accepts CSV with ``,``, ``;`` or tab separators, in UTF-8
(with or without a byte-order mark), UTF-16 with a BOM, or Windows-1252, and
XLSX workbooks. Every cell is returned as text so that codes keep their leading
zeros; interpretation (dates, numbers, synonyms) is the job of
:mod:`alis_research.validate`.
"""
from __future__ import annotations

import contextlib
import csv
import datetime as _dt
import hashlib
import io as _stdio
import json
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from .errors import AlisError

#: File suffixes :func:`read_table` understands (lower case).
TABLE_SUFFIXES = (".csv", ".xlsx")
#: Optional metadata file of a dataset folder.
METADATA_FILE = "dataset.json"

_SEPARATORS = (",", ";", "\t")


class TableFormatError(AlisError):
    """A table whose layout cannot be read; carries the file, row and column for the problem list."""

    def __init__(self, file: str, row: int | None, column: str | None, message: str):
        self.file, self.row, self.column, self.detail = file, row, column, message
        where = file + (f", row {row}" if row is not None else "") + (f", column {column}" if column else "")
        super().__init__(f"{where}: {message}")


# --------------------------------------------------------------------------- reading
def decode_text(raw: bytes, path: Path) -> str:
    """Decode a CSV file: UTF-16 (BOM), UTF-8 (with/without BOM), else Windows-1252."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise AlisError(f"{path.name}: starts with a UTF-16 byte-order mark but is not valid UTF-16 ({exc})") from exc
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("cp1252")
    except UnicodeDecodeError:
        # cp1252 leaves five byte values undefined; Latin-1 maps every byte,
        # and agrees with cp1252 on all Norwegian letters (æ ø å Æ Ø Å).
        return raw.decode("latin-1")


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


def _records_to_frame(records: list[list[str]], path: Path) -> pd.DataFrame:
    """Build the string frame from records whose first one is the header.

    The index holds the row number a spreadsheet shows (header = 1); rows whose
    cells are all empty are dropped but do not shift the numbering.
    """
    if not records or all(not str(cell).strip() for cell in records[0]):
        raise TableFormatError(path.name, 1, None, "the first row must hold the column names, but it is empty")
    header = [_normalise_header(name) for name in records[0]]
    # Excel often leaves empty trailing header cells; drop them when their columns are empty too.
    while header and header[-1] == "":
        width = len(header) - 1
        if any(len(rec) > width and str(rec[width]).strip() for rec in records[1:]):
            break
        header.pop()
    seen: dict[str, int] = {}
    for position, name in enumerate(header, start=1):
        if name == "":
            raise TableFormatError(path.name, 1, None, f"column {position} has no name in the header row")
        if name in seen:
            raise TableFormatError(path.name, 1, name, f"column '{name}' appears twice in the header row "
                                   f"(columns {seen[name]} and {position}); keep one")
        seen[name] = position
    width = len(header)
    rows: list[list[str]] = []
    row_numbers: list[int] = []
    for number, record in enumerate(records[1:], start=2):
        cells = [cell.strip() for cell in record]
        if not any(cells):
            continue
        if len(cells) > width:
            if any(cell.strip() for cell in cells[width:]):
                raise TableFormatError(path.name, number, None,
                                       f"{len(cells)} fields but the header has {width} "
                                       "(check the separator and the quoting of that row)")
            cells = cells[:width]
        elif len(cells) < width:
            cells = cells + [""] * (width - len(cells))
        rows.append(cells)
        row_numbers.append(number)
    frame = pd.DataFrame(rows, columns=header, dtype=object)
    frame.index = pd.Index(row_numbers, dtype="int64", name="source_row")
    return frame


def _read_csv_records(path: Path) -> list[list[str]]:
    text = decode_text(path.read_bytes(), path)
    separator = sniff_separator(text)
    try:
        return list(csv.reader(_stdio.StringIO(text, newline=""), delimiter=separator))
    except csv.Error as exc:
        raise AlisError(f"{path.name}: not a readable CSV file ({exc})") from exc


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


def _read_xlsx_records(path: Path) -> list[list[str]]:
    import openpyxl  # imported lazily: only needed for Excel input

    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for corrupt files
        raise AlisError(f"{path.name}: not a readable XLSX workbook ({type(exc).__name__}: {exc})") from exc
    try:
        sheet = workbook.worksheets[0]
        return [[_excel_cell_text(value) for value in row] for row in sheet.iter_rows(values_only=True)]
    finally:
        workbook.close()


def read_table(path: str | os.PathLike) -> pd.DataFrame:
    """Read a CSV or XLSX table as text.

    Parameters
    ----------
    path
        A ``.csv`` or ``.xlsx`` file. CSV: separator ``,``, ``;`` or tab (sniffed
        from the header line); UTF-8 with or without BOM, UTF-16 with BOM, or
        Windows-1252. XLSX: the first worksheet; dates become ``YYYY-MM-DD``.

    Returns
    -------
    pandas.DataFrame
        Every cell a ``str`` with surrounding whitespace removed (empty cells
        are ``''``); column names stripped and
        lower-cased; the index is the row number a spreadsheet shows (header =
        row 1). Rows whose cells are all empty are left out.

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
            records = _read_csv_records(path)
        elif suffix == ".xlsx":
            records = _read_xlsx_records(path)
        else:
            raise AlisError(f"{path.name}: unsupported file type '{suffix}' (expected .csv or .xlsx)")
    except OSError as exc:
        raise AlisError(f"{path.name}: cannot be read ({exc.strerror or exc})") from exc
    return _records_to_frame(records, path)


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
