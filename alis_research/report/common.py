"""Helpers every report section uses: run an analysis, publish its notes, format a number.

Public so that :mod:`.sections`, :mod:`.sections_costs` and :mod:`.sections_register`
share them without importing each other.
"""
from __future__ import annotations

import math
import re
import sys
import warnings
from typing import Callable

import pandas as pd

from ..errors import AlisError, AlisWarning, NotEstimableWarning
from . import notes as note_text
from .content import Section
from .text import T, fmt_number, fmt_percent

#: At most this many caveat notes of one analysis are listed; the rest are counted.
MAX_NOTES = 6


def attempt(section: Section, language: str, what: str, func: Callable, /, *args, **kwargs):
    """Run one analysis; when it is not estimable, say so in the section and return None.

    Only the package's own errors (:class:`~alis_research.errors.AlisError`, of which
    :class:`~alis_research.errors.NotEstimable` says "not estimable from these data") are
    turned into a "not estimable" paragraph: a small area must still give an honest report.
    Any other exception is a programming error and propagates: the notebook cell fails,
    papermill marks it, and the report is not published (the traceback is in the log).
    The reason goes to the notebook's output (the audit log), not into the publication,
    because exception messages may quote data.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", AlisWarning)
            warnings.simplefilter("ignore", NotEstimableWarning)
            warnings.simplefilter("ignore", RuntimeWarning)
            return func(*args, **kwargs)
    except AlisError as exc:
        print(f"[{section.key}] {what}: not estimable ({type(exc).__name__}: {exc})", file=sys.stderr)
        section.paragraph(T("analysis_not_estimable", language, what=what))
        return None


#: A whole number in a note (not part of a decimal such as 0,5 or of a name such as G−1).
INTEGER_IN_TEXT = re.compile(r"(?<![\w.,\-−])\d+(?![\w]|[.,]\d)")


def publish_result_notes(section: Section, result, language: str, min_cell: int) -> None:
    """Publish an analysis's caveat notes that carry no number.

    A note is written because a condition on the data holds ("fewer than 3
    exits"), so its mere presence narrows a count, and a masked count beside
    a threshold ("<5 exits (needs at least 3)") narrows it more. Notes with a
    number in them therefore go to the notebook's output (restricted) only.
    """
    if result is None or not getattr(result, "notes", None):
        return
    notes = note_text.publish_notes(result.notes, language, 1)  # translated, nothing masked
    withheld = [n for n in notes if INTEGER_IN_TEXT.search(n)]
    for note in withheld:
        print(f"[{section.key}] note kept out of the publication: {note}", file=sys.stderr)
    notes = [n for n in notes if n not in withheld]
    if not notes:
        return
    if len(notes) > MAX_NOTES:
        notes = notes[:MAX_NOTES] + [T("more_notes", language, n=len(notes) - MAX_NOTES)]
    section.paragraph(T("analysis_notes", language))
    section.items(notes)


def number(value, decimals=2, language="nb") -> str:
    """``value`` with ``decimals`` decimals in the report language."""
    return fmt_number(value, decimals, language)


def is_missing(value) -> bool:
    """None, NaN or pandas' NA."""
    return value is None or (isinstance(value, float) and math.isnan(value)) or bool(pd.isna(value))


def safe_float(value):
    """``value`` as a float, or None when it is missing."""
    return None if is_missing(value) else float(value)


def episode_ids(frame: pd.DataFrame, mask=None) -> list[str]:
    """Episode ids of ``frame`` (rows where ``mask``): the members of a count in the ledger."""
    ids = frame["episode_id"].astype(str)
    return ids[mask].tolist() if mask is not None else ids.tolist()


def percent_ci(value, lower=None, upper=None, *, language: str = "nb") -> str:
    """``'62 % (45–76 %)'``; the share alone when it has no interval."""
    if is_missing(value):
        return T("not_estimable", language)
    if is_missing(lower) or is_missing(upper):
        return fmt_percent(value, language)
    return f"{fmt_percent(value, language)} ({fmt_percent(lower, language)}–{fmt_percent(upper, language)})"
