"""Keyed pseudonymisation of a raw dataset (HMAC-SHA-256).

``person_id`` in the episodes and events tables is replaced by
``'P' + HMAC-SHA-256(key, person_id)`` truncated to 16 hex digits, so that the
same person gets the same pseudonym in both tables and in every later extract
made with the same key, while nobody without the key can go back. Norwegian
identity numbers found in any other cell (a free-text ``note``, say) are
replaced by the pseudonym of that number too. The key is read from an
environment variable and is never written anywhere.
"""
from __future__ import annotations

import csv
import hashlib
import hmac
import io as _stdio
import re
from pathlib import Path

import pandas as pd

from . import io
from .errors import AlisError
from .pathway import SUPERVISION
from .validate import EPISODES, EVENTS, national_id_mask, is_norwegian_national_id

#: Hex digits of the HMAC kept in a pseudonym (64 bits: collisions are negligible for registers of this size).
PSEUDONYM_HEX_DIGITS = 16
#: Prefix that marks a pseudonym (and keeps it from ever being an 11-digit number).
PSEUDONYM_PREFIX = "P"
#: Shortest key accepted: identity numbers are few enough to try them all against a short key.
MIN_KEY_LENGTH = 16

_ID_IN_TEXT = re.compile(r"(?<!\d)\d{6}\s?\d{5}(?!\d)")


def pseudonym(person_id: str, key: bytes) -> str:
    """The pseudonym of one person_id: ``'P'`` + the first 16 hex digits of HMAC-SHA-256.

    Surrounding whitespace is ignored, and whitespace inside an identity
    number (``'010190 12345'``) too, so that both spellings map alike.
    """
    text = person_id.strip()
    if is_norwegian_national_id(text):
        text = re.sub(r"\s", "", text)
    digest = hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()
    return PSEUDONYM_PREFIX + digest[:PSEUDONYM_HEX_DIGITS]


def _replace_ids_in_text(values: pd.Series, key: bytes) -> tuple[pd.Series, int]:
    """Replace identity numbers inside free text by their pseudonyms; return the count replaced."""
    has_digits = values.str.contains(_ID_IN_TEXT, regex=True)
    count = 0
    if not has_digits.any():
        return values, 0
    result = values.copy()
    for index, text in values[has_digits].items():
        def substitute(match: re.Match) -> str:
            nonlocal count
            if is_norwegian_national_id(match.group(0)):
                count += 1
                return pseudonym(match.group(0), key)
            return match.group(0)

        result[index] = _ID_IN_TEXT.sub(substitute, text)
    return result, count


def _to_csv(frame: pd.DataFrame) -> str:
    buffer = _stdio.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(list(frame.columns))
    writer.writerows(frame.itertuples(index=False, name=None))
    return buffer.getvalue()


def _check_output_dir(input_dir: Path, output_dir: Path) -> None:
    source, target = input_dir.resolve(), output_dir.resolve()
    if target == source or source in target.parents:
        raise AlisError(f"{output_dir}: is (inside) the input folder {input_dir}; write the pseudonymised "
                        "dataset to a new folder so the original stays untouched")
    if target in source.parents:
        raise AlisError(f"{output_dir}: contains the input folder {input_dir}; choose a new, separate folder")
    if output_dir.exists() and (not output_dir.is_dir() or any(output_dir.iterdir())):
        raise AlisError(f"{output_dir}: already exists and is not empty; choose a new folder "
                        "(existing data are never overwritten)")


def pseudonymise_dataset(input_dir, output_dir, key: bytes) -> dict:
    """Write a pseudonymised copy of a raw dataset folder.

    Parameters
    ----------
    input_dir
        Raw dataset folder (episodes and optionally events and supervision as CSV
        or XLSX, and ``dataset.json``); it is only read.
    output_dir
        New folder to create (it may exist only if empty). Tables are written
        as UTF-8 CSV with ``,`` (``episodes.csv``, ``events.csv``), all cells
        as read; ``dataset.json`` is copied byte for byte. Written atomically.
    key
        Secret HMAC key (at least :data:`MIN_KEY_LENGTH` bytes).

    Returns
    -------
    dict
        Per file written: rows, distinct people and identity numbers replaced.
    """
    input_dir, output_dir = Path(input_dir), Path(output_dir)
    if not key or len(key) < MIN_KEY_LENGTH:
        raise AlisError(f"the key must be at least {MIN_KEY_LENGTH} characters long (use a long random secret)")
    if not input_dir.is_dir():
        raise AlisError(f"{input_dir}: dataset folder not found")
    _check_output_dir(input_dir, output_dir)
    # supervision.csv (optional) is keyed by person_id too: pseudonymised alike, or it would no longer match
    tables = {stem: io.find_table(input_dir, stem) for stem in (EPISODES, EVENTS, SUPERVISION)}
    if tables[EPISODES] is None:
        raise AlisError(f"{input_dir}: no episodes.csv or episodes.xlsx to pseudonymise")

    summary: dict[str, dict] = {}
    outputs: dict[str, str] = {}
    for stem, path in tables.items():
        if path is None:
            continue
        frame = io.read_table(path)
        if "person_id" not in frame.columns:
            raise AlisError(f"{path.name}: no person_id column to pseudonymise "
                            "(run `alis-research validate` to see the column problems)")
        ids = frame["person_id"].str.strip()
        identity_numbers = int(national_id_mask(ids).sum())
        distinct = {value: pseudonym(value, key) for value in ids.unique() if value != ""}
        frame["person_id"] = ids.map(lambda value: distinct.get(value, value))
        in_text = 0
        for column in frame.columns.drop("person_id"):
            frame[column], replaced = _replace_ids_in_text(frame[column], key)
            in_text += replaced
        outputs[f"{stem}.csv"] = _to_csv(frame)
        summary[f"{stem}.csv"] = {"source": path.name, "rows": len(frame), "people": len(distinct),
                                  "identity_numbers_in_person_id": identity_numbers,
                                  "identity_numbers_in_other_cells": in_text}

    metadata = input_dir / io.METADATA_FILE
    with io.atomic_output_dir(output_dir) as tmp_dir:
        for name, text in outputs.items():
            io.atomic_write_text(tmp_dir / name, text)
        if metadata.is_file():
            io.atomic_write_bytes(tmp_dir / io.METADATA_FILE, metadata.read_bytes())
            summary[io.METADATA_FILE] = {"source": io.METADATA_FILE, "copied": True}
    return summary
