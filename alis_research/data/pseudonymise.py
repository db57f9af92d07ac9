"""Keyed pseudonymisation of a raw dataset (HMAC-SHA-256).

``person_id`` in the episodes and events tables is replaced by
``'P' + HMAC-SHA-256(key, person_id)`` truncated to 16 hex digits, so that the
same person gets the same pseudonym in both tables and in every later extract
made with the same key, while nobody without the key can go back. Norwegian
identity numbers found in any other cell (a free-text ``note``, say) are
replaced by the pseudonym of that number too, whether written plain
(``15038545660``) or with a hyphen or space after the date part (``150385-45660``,
``150385 45660``). The key is read from an environment variable, must be long
and varied enough (:func:`check_key`), and is never written anywhere.
"""
from __future__ import annotations

import csv
import hashlib
import hmac
import io as _stdio
import json
from collections import Counter
from pathlib import Path

import pandas as pd

from . import io
from ..errors import AlisError
from ..identity import cells_with_national_id, compact_national_id, is_national_id, replace_national_ids
from .contract import EPISODES, EVENTS
from .event_checks import SUPERVISION

#: Hex digits of the HMAC kept in a pseudonym (64 bits: collisions are negligible for registers of this size).
PSEUDONYM_HEX_DIGITS = 16
#: Prefix that marks a pseudonym (and keeps it from ever being an 11-digit number).
PSEUDONYM_PREFIX = "P"
#: Shortest key accepted, in bytes of its UTF-8 encoding: identity numbers are few enough
#: (about 10^10 checksum-valid ones) to try them all against a short or guessable key.
MIN_KEY_LENGTH = 16
#: Fewest distinct byte values a key must hold ('0000000000000000', sixteen spaces and
#: 'ææææææææ' have one or two).
MIN_KEY_DISTINCT_BYTES = 8
#: Share of equal steps between consecutive bytes above which a key is a run such as 'abcdefghijklmnop'.
MAX_KEY_SAME_STEP_SHARE = 0.75
KEY_ADVICE = "use a long random secret, e.g. the output of `openssl rand -hex 32`"


def check_key(key: bytes) -> None:
    """Refuse a key that is short or guessable, in one line that never shows the key.

    The rule, measured in bytes (a key from the environment is UTF-8 encoded first):
    at least :data:`MIN_KEY_LENGTH` bytes; at least :data:`MIN_KEY_DISTINCT_BYTES`
    distinct byte values; and not a run whose steps between consecutive bytes are
    mostly one and the same (``abcdefghijklmnop``, ``1234567812345678``).
    """
    if not key or len(key) < MIN_KEY_LENGTH:
        raise AlisError(f"the key must be at least {MIN_KEY_LENGTH} bytes long in UTF-8 "
                        f"(this one has {len(key or b'')}); {KEY_ADVICE}")
    distinct = len(set(key))
    if distinct < MIN_KEY_DISTINCT_BYTES:
        raise AlisError(f"the key is too uniform: it holds only {distinct} distinct byte value(s), at least "
                        f"{MIN_KEY_DISTINCT_BYTES} are required (a repeated character or pattern is easy to guess); "
                        f"{KEY_ADVICE}")
    steps = Counter((b - a) % 256 for a, b in zip(key, key[1:]))
    if steps.most_common(1)[0][1] > MAX_KEY_SAME_STEP_SHARE * (len(key) - 1):
        raise AlisError(f"the key is a run of consecutive characters (such as abcdefgh… or 12345678…), "
                        f"which is easy to guess; {KEY_ADVICE}")


def pseudonym(person_id: str, key: bytes) -> str:
    """The pseudonym of one person_id: ``'P'`` + the first 16 hex digits of HMAC-SHA-256.

    Surrounding whitespace is ignored, and whitespace inside an identity
    number (``'010190 12345'``) too, so that both spellings map alike.
    """
    text = person_id.strip()
    if is_national_id(text):
        text = compact_national_id(text)
    digest = hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()
    return PSEUDONYM_PREFIX + digest[:PSEUDONYM_HEX_DIGITS]


def _replace_ids_in_text(values: pd.Series, key: bytes) -> tuple[pd.Series, int]:
    """Replace identity numbers inside free text by their pseudonyms; return the count replaced.

    Every form is caught: plain, with a hyphen or space after the date part, or a
    whole cell spaced out; the count is of numbers replaced (two in one cell count two).
    """
    hits = cells_with_national_id(values.to_numpy(dtype=object))
    if not hits.any():
        return values, 0
    result = values.copy()
    count = 0
    for index, text in values[hits].items():
        result[index], replaced = replace_national_ids(text, lambda digits: pseudonym(digits, key))
        count += replaced
    return result, count


def _replace_ids_in_json(node, key: bytes) -> tuple[object, int]:
    """``dataset.json`` content with identity numbers in keys and strings replaced; and the count."""
    if isinstance(node, dict):
        result, count = {}, 0
        for name, value in node.items():
            new_name, found = replace_national_ids(str(name), lambda digits: pseudonym(digits, key))
            result[new_name], inner = _replace_ids_in_json(value, key)
            count += found + inner
        return result, count
    if isinstance(node, list):
        pairs = [_replace_ids_in_json(value, key) for value in node]
        return [value for value, _ in pairs], sum(found for _, found in pairs)
    if isinstance(node, int) and not isinstance(node, bool) and is_national_id(str(node)):
        return pseudonym(str(node), key), 1
    if isinstance(node, str):
        return replace_national_ids(node, lambda digits: pseudonym(digits, key))
    return node, 0


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
        Secret HMAC key, checked by :func:`check_key` (at least :data:`MIN_KEY_LENGTH`
        bytes, varied enough).

    Returns
    -------
    dict
        Per file written: rows, distinct people and identity numbers replaced.
    """
    input_dir, output_dir = Path(input_dir), Path(output_dir)
    check_key(key)
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
        identity_numbers = int(cells_with_national_id(ids.to_numpy(dtype=object)).sum())
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
    # dataset.json is copied byte for byte, unless it holds an identity number: then rewritten with its pseudonym
    metadata_content, metadata_replaced = _replace_ids_in_json(io.read_dataset_metadata(input_dir), key)
    with io.atomic_output_dir(output_dir) as tmp_dir:
        for name, text in outputs.items():
            io.atomic_write_text(tmp_dir / name, text)
        if metadata_replaced:
            io.atomic_write_text(tmp_dir / io.METADATA_FILE, json.dumps(metadata_content, ensure_ascii=False,
                                                                         indent=2) + "\n")
            summary[io.METADATA_FILE] = {"source": io.METADATA_FILE, "copied": False,
                                         "identity_numbers_replaced": metadata_replaced}
        elif metadata.is_file():
            io.atomic_write_bytes(tmp_dir / io.METADATA_FILE, metadata.read_bytes())
            summary[io.METADATA_FILE] = {"source": io.METADATA_FILE, "copied": True}
    return summary
