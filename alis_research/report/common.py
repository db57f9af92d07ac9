"""Helpers every report section uses: run an analysis, publish its notes, format a number.

Public so that :mod:`.sections` and the other ``sections_*`` modules share them without
importing each other.
"""
from __future__ import annotations

import math
import re
import sys
import warnings
from typing import Callable

import pandas as pd

from .. import config
from ..errors import AlisError, AlisWarning, NotEstimableWarning
from . import notes as note_text
from .content import Section
from .text import T, contract_label, fmt_number, fmt_percent

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
    return attempt_saying("analysis_not_estimable", section, language, what, func, *args, **kwargs)


def attempt_saying(message: str, section: Section, language: str, what: str, func: Callable, /, *args, **kwargs):
    """:func:`attempt` with the section's own catalogue ``message`` (placeholder ``what``) on failure."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", AlisWarning)
            warnings.simplefilter("ignore", NotEstimableWarning)
            warnings.simplefilter("ignore", RuntimeWarning)
            return func(*args, **kwargs)
    except AlisError as exc:
        print(f"[{section.key}] {what}: not estimable ({type(exc).__name__}: {exc})", file=sys.stderr)
        section.paragraph(T(message, language, what=what))
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


# --------------------------------------------------------------------------- figures and ledger sets
def add_figure(section: Section, lang: str, figure_id: str, caption: str, plot: str, result, /, *,
               figsize, depends=(), reveals=(), **kwargs) -> None:
    """Draw ``figures.<plot>(result, ax=..., **kwargs)`` into the section; leave it out if it fails."""
    import matplotlib.pyplot as plt

    from .. import figures

    fig, ax = plt.subplots(figsize=figsize)
    if attempt(section, lang, caption, getattr(figures, plot), result, ax=ax, **kwargs) is not None:
        section.figure(figure_id, fig, caption, depends=depends, reveals=reveals)
    else:
        plt.close(fig)


def small_group_caveat(section: Section, counts: dict, language: str, min_cell: int) -> None:
    """A caveat naming the cohorts with fewer than twice ``min_cell`` episodes."""
    small = [contract_label(k, language) for k, n in counts.items() if n < 2 * min_cell]
    if small:
        section.paragraph(T("few_episodes_caveat", language, groups=", ".join(small), twice=2 * min_cell))


def persons_cell(section: Section, episodes: pd.DataFrame, mask, label: str) -> str:
    """The number of persons among the episodes where ``mask``, protected through the episodes.

    Persons and episodes are different units, so the audit cannot tie them by sets; but
    episodes − persons is the number of repeat episodes, a count a reader gets by
    subtraction. The number of persons is therefore published as a number derived from
    the episodes' count (withheld with it) and from the repeat episodes (withheld when
    there are 1 … min_cell − 1 of them).
    """
    part = episodes[mask]
    ids = part["episode_id"].astype(str)
    repeats = ids[part["person_id"].astype(str).duplicated()]
    text = str(int(part["person_id"].nunique()))
    return section.derived(text, depends=[section.group(ids, label=f"{label}: episodes"),
                                          section.group(repeats, label=f"{label}: repeat episodes")], label=label)


def cohort_exit_groups(section: Section, episodes: pd.DataFrame, language: str) -> list[str]:
    """The sets every estimate comparing the cohorts rests on: each cohort's exits and those still in post."""
    exited = episodes["exit"] == 1
    return [section.group(episode_ids(episodes, (episodes["cohort"] == c) & m),
                          label=f"{contract_label(c, language)}, {T('dq_exits', language) if i == 0 else T('dq_censored', language)}")
            for c in config.CONTRACT_TYPES for i, m in enumerate((exited, ~exited))]
