"""Norwegian national identity numbers: find them in any text, and never show them.

A fødselsnummer, D-number (day + 40) or H-number (month + 40) is 11 digits whose
last two are mod-11 check digits. People write it plain (``15038545660``) or with
one separator after the six-digit date part (``150385-45660``, ``150385 45660``).
Only the check digits are tested, not the date part: when in doubt a number is
treated as personal.

The scalar functions here use nothing but :mod:`re`, so that the error classes
can mask every message without importing the data stack; the vectorised
:func:`values_with_national_id` and :func:`cells_with_national_id` import pandas
and pyarrow when called.
"""
from __future__ import annotations

import re

#: What is shown instead of an identity number, everywhere (messages, JSON, logs, exceptions).
#: Eleven asterisks: not even the date part is kept, since a birth date narrows a small cohort down.
NATIONAL_ID_MASK = "***********"

_WEIGHTS_1 = (3, 7, 6, 1, 8, 9, 4, 5, 2)
_WEIGHTS_2 = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)
#: An 11-digit number, optionally split once after the date part (hyphen, space or no-break space),
#: not inside a longer run of digits.
ID_PATTERN = re.compile(r"(?<![0-9])[0-9]{6}[ \u00a0-]?[0-9]{5}(?![0-9])")
#: A pseudonym as :mod:`alis_research.data.pseudonymise` writes it ('P' + 16 hex digits of an HMAC). About one
#: in 10,000 holds, by chance, a run of exactly 11 digits with valid check digits; it is not a person's
#: number, so a whole pseudonym token is skipped (otherwise a pseudonymised extract could be refused).
PSEUDONYM_TOKEN = r"(?<![0-9A-Za-z])P[0-9a-f]{16}(?![0-9A-Za-z])"
_ID_OR_PSEUDONYM = re.compile(f"{PSEUDONYM_TOKEN}|{ID_PATTERN.pattern}")
#: The same without look-arounds (RE2, used by Arrow, has none): a cheap pre-filter.
_CANDIDATE_PATTERN = r"[0-9]{6}[ \x{a0}-]?[0-9]{5}"
_QUICK_CHECK = re.compile(r"[0-9]{6}[ \u00a0-]?[0-9]{5}")


def check_digits_valid(digits: str) -> bool:
    """Whether 11 ASCII digits carry valid mod-11 check digits (k1 and k2 of the fødselsnummer)."""
    if len(digits) != 11 or not digits.isascii() or not digits.isdigit():
        return False
    numbers = [ord(char) - 48 for char in digits]
    k1 = 11 - sum(w * d for w, d in zip(_WEIGHTS_1, numbers)) % 11
    k1 = 0 if k1 == 11 else k1
    if k1 == 10 or k1 != numbers[9]:
        return False
    k2 = 11 - sum(w * d for w, d in zip(_WEIGHTS_2, numbers)) % 11
    k2 = 0 if k2 == 11 else k2
    return k2 != 10 and k2 == numbers[10]


def compact_national_id(text: str) -> str:
    """The 11 digits of a written identity number: whitespace and one hyphen after the date part removed."""
    compact = re.sub(r"\s", "", str(text))
    if len(compact) == 12 and compact[6] == "-":
        compact = compact[:6] + compact[7:]
    return compact


def is_national_id(text) -> bool:
    """Whether a whole cell is one identity number (plain, or with a separator after the date part)."""
    if text is None:
        return False
    return check_digits_valid(compact_national_id(text))


def find_national_ids(text) -> list[str]:
    """Every identity number written inside ``text`` (as written, separators included)."""
    if text is None:
        return []
    text = str(text)
    if not _QUICK_CHECK.search(text):
        return []
    return [m.group(0) for m in _ID_OR_PSEUDONYM.finditer(text)
            if not m.group(0).startswith("P") and check_digits_valid(compact_national_id(m.group(0)))]


def contains_national_id(text) -> bool:
    """Whether ``text`` holds an identity number anywhere (or is one, spaced out)."""
    return bool(find_national_ids(text)) or is_national_id(text)


def replace_national_ids(text: str, replacement) -> tuple[str, int]:
    """Replace each identity number inside ``text``; ``replacement`` is a string or a function of the
    compact 11 digits. Returns the new text and how many were replaced."""
    count = 0
    if is_national_id(text) and not find_national_ids(text):
        # a whole cell spaced out irregularly ('010 190 12480'): the whole cell is the number
        return (replacement(compact_national_id(text)) if callable(replacement) else replacement), 1

    def substitute(match: re.Match) -> str:
        nonlocal count
        digits = compact_national_id(match.group(0))
        if match.group(0).startswith("P") or not check_digits_valid(digits):  # a pseudonym, or no valid number
            return match.group(0)
        count += 1
        return replacement(digits) if callable(replacement) else replacement

    if not _QUICK_CHECK.search(text):
        return text, 0
    return _ID_OR_PSEUDONYM.sub(substitute, text), count


def mask_national_ids(text):
    """``text`` with every identity number in it replaced by :data:`NATIONAL_ID_MASK`; other values as given."""
    if not isinstance(text, str):
        return text
    return replace_national_ids(text, NATIONAL_ID_MASK)[0]


def values_with_national_id(values):
    """Boolean numpy mask over an array of distinct text values: which hold an identity number.

    Arrow's vectorised regex sorts out the few candidates first; only those are
    checked digit by digit, so a million distinct values cost well under a second.
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    hit = np.zeros(len(values), dtype=bool)
    if not len(values):
        return hit
    try:
        texts = pa.array(values, type=pa.string(), from_pandas=True)
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        texts = pa.array([value if isinstance(value, str) else str(value) for value in values], type=pa.string())
    candidate = pc.fill_null(pc.match_substring_regex(texts, _CANDIDATE_PATTERN), False).to_numpy(zero_copy_only=False)
    for position in np.flatnonzero(candidate):
        hit[position] = contains_national_id(values[position])
    # irregular spacing of a whole cell ('010 190 12480') escapes the pattern: check short digit-and-space cells
    spaced = pc.fill_null(pc.match_substring_regex(texts, r"^[0-9][0-9 \x{a0}]{10,20}$"), False)
    spaced = spaced.to_numpy(zero_copy_only=False)
    for position in np.flatnonzero(spaced & ~hit):
        hit[position] = is_national_id(values[position])
    return hit


def cells_with_national_id(values):
    """Boolean numpy mask: which cells of a text column (array, Series or categorical) hold an
    identity number anywhere; checked once per distinct value (:func:`values_with_national_id`)."""
    import numpy as np
    import pandas as pd

    if isinstance(values, pd.Series) and isinstance(values.dtype, pd.CategoricalDtype):
        codes, uniques = values.cat.codes.to_numpy(), np.asarray(values.cat.categories, dtype=object)
    else:
        codes, uniques = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=True)
    hit = values_with_national_id(np.asarray(uniques, dtype=object))
    result = np.zeros(len(codes), dtype=bool)
    if hit.any():
        known = codes >= 0
        result[known] = hit[codes[known]]
    return result
