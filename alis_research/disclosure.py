"""Small-cell helpers for everything that is published.

The report's counts are protected as a whole by the ledger in
:mod:`alis_research.report.ledger` (one cell per counted set, secondary
suppression over every relation of the report, an integer-programming audit);
see ``docs/reports.md``. This module keeps what the ledger builds on:
coarsened Kaplan–Meier steps for figures (:func:`coarsened_km`), the rule for
printing hazard and rate ratios (:func:`ratio_estimable`), leak checks for
published text (:func:`check_no_leaks`), and the per-table rule below, still
used for the supervision tables and by code outside the report.

Rules (``min_cell`` = *m*, default 5):

* **Primary suppression.** A count from 1 to *m* − 1 is shown as ``"<m"``.
  Zero stays ``0`` (an empty cell tells the reader nothing about a person).
* **Secondary suppression.** When a reader knows a line's total (a row total,
  or a column total such as the N of a cohort shown in the header), one
  suppressed cell in that line could be recovered by subtraction. For each
  such line (rows and/or columns, as named by ``totals``):

  1. if exactly one cell of the line is suppressed, the smallest non-zero
     unsuppressed cell of the line is suppressed too (ties: the first one);
  2. if several cells are suppressed but their values are pinned down by their
     sum (all equal to 1, or all equal to *m* − 1), the smallest non-zero
     unsuppressed cell is suppressed as well;
  3. if no non-zero cell is left to suppress, the line's *total* itself must
     be withheld; this is recorded in :attr:`SuppressedTable.suppressed_totals`
     and the caller shows the total as suppressed.

  Rows and columns are revisited until nothing changes (each pass can only add
  suppressions, so this ends). Secondarily suppressed cells show as ``":"``
  (Statistics Norway's sign for "withheld for confidentiality").
* **Derived numbers.** A rate or proportion computed from a suppressed count
  would give the count away, so columns linked to a count (``linked``) are
  suppressed in the same rows.

The log of what was suppressed (:class:`SuppressionEntry`) feeds the report's
appendix "suppression applied".
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from .config import DEFAULT_MIN_CELL
from .errors import AlisError

#: Shown for a cell withheld only to protect another (secondary suppression).
SECONDARY_MARK = ":"


def primary_mark(min_cell: int) -> str:
    """Text shown for a count from 1 to ``min_cell - 1``, e.g. ``'<5'``."""
    return f"<{int(min_cell)}"


def is_small(n, min_cell: int = DEFAULT_MIN_CELL) -> bool:
    """True for a count that must not be shown (1 .. ``min_cell - 1``)."""
    if n is None or (isinstance(n, float) and np.isnan(n)) or pd.isna(n):
        return False
    return 0 < n < min_cell


def format_count(n, min_cell: int = DEFAULT_MIN_CELL, *, thousands: str = "\u00a0") -> str:
    """One count as published: ``'0'``, ``'<5'`` or the number (thousands separated)."""
    if n is None or pd.isna(n):
        return "–"
    value = int(round(float(n)))
    if value < 0:
        raise AlisError(f"a count cannot be negative, got {n}")
    if is_small(value, min_cell):
        return primary_mark(min_cell)
    return f"{value:,}".replace(",", thousands)


def format_at_risk(n, min_cell: int = DEFAULT_MIN_CELL) -> str:
    """A number at risk under a Kaplan–Meier curve, suppressed like any count."""
    return format_count(n, min_cell)


@dataclass(frozen=True)
class SuppressionEntry:
    """One suppressed cell: which table, which row and column, and why."""

    table: str
    row: str
    column: str
    reason: str  # "primary" | "secondary" | "derived" | "total"

    def as_dict(self) -> dict:
        return {"table": self.table, "row": self.row, "column": self.column, "reason": self.reason}


@dataclass
class SuppressedTable:
    """A table ready to publish plus what was withheld.

    Attributes
    ----------
    table : DataFrame
        Same shape as the input; count columns (and linked columns) hold
        display strings (``'0'``, ``'<5'``, ``':'``, ``'12'``); other columns
        are unchanged.
    mask : DataFrame of bool
        True where a count cell was withheld (primary or secondary).
    log : list of SuppressionEntry
    suppressed_totals : list of str
        Line totals that must be withheld too (``'row <label>'``/``'column <name>'``).
    """

    table: pd.DataFrame
    mask: pd.DataFrame
    log: list[SuppressionEntry] = field(default_factory=list)
    suppressed_totals: list[str] = field(default_factory=list)

    @property
    def n_suppressed(self) -> int:
        return int(self.mask.to_numpy().sum())


def _line_needs_more(values: np.ndarray, suppressed: np.ndarray, min_cell: int, *, sum_check: bool = True) -> bool:
    """Whether the suppressed cells of one line (with a known total) can be recovered."""
    k = int(suppressed.sum())
    if k == 0:
        return False
    if k == 1:
        return True
    if not sum_check:  # the line's total is itself hidden: the hidden cells' sum is unknown
        return False
    hidden = values[suppressed]
    # only primary-size cells: their sum pins them down when all are 1 or all m-1
    if np.all((hidden > 0) & (hidden < min_cell)):
        total = hidden.sum()
        return bool(total == k or total == k * (min_cell - 1))
    return False


def suppress_counts(
    table: pd.DataFrame,
    count_columns: Sequence[str],
    *,
    min_cell: int = DEFAULT_MIN_CELL,
    totals: str | None = None,
    linked: Mapping[str, Iterable[str]] | None = None,
    name: str = "table",
    label_column: str | None = None,
    total_column: str | None = None,
) -> SuppressedTable:
    """Apply primary and secondary small-cell suppression to the count columns of a table.

    Parameters
    ----------
    table : DataFrame
        One row per category; the count columns hold non-negative integers (NA allowed).
    count_columns : sequence of str
        Columns holding counts of people or episodes.
    min_cell : int
        Smallest count shown; 1 .. ``min_cell - 1`` are withheld.
    totals : {None, "rows", "columns", "both"}
        Which line totals a reader knows (shown in the table, in a header, or
        elsewhere in the report). Secondary suppression protects these lines.
    linked : mapping, optional
        ``{count_column: [derived columns]}``: a rate, share or interval
        computed from that count is withheld in every row where the count is.
    name : str
        Table name used in the suppression log.
    label_column : str, optional
        Column whose value names a row in the log (default: the index).
    total_column : str, optional
        One of ``count_columns`` holding each row's total, shown in the table.
        Each row is then a line whose cells (the total included) are tied by
        "cells sum to the total", so a row with one hidden cell, be it the
        total, gets a second one; with ``totals="columns"`` the total column
        is protected against the grand total like any other column.

    Returns
    -------
    SuppressedTable
    """
    if min_cell < 1:
        raise AlisError(f"min_cell must be at least 1, got {min_cell}")
    if totals not in (None, "rows", "columns", "both"):
        raise AlisError(f"totals must be None, 'rows', 'columns' or 'both', got {totals!r}")
    count_columns = list(count_columns)
    missing = [c for c in count_columns if c not in table.columns]
    if missing:
        raise AlisError(f"table '{name}' has no column(s) {missing}; it has {list(table.columns)}")
    linked = {k: list(v) for k, v in (linked or {}).items()}

    values = table[count_columns].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    finite = ~np.isnan(values)
    if np.any(values[finite] < 0):
        raise AlisError(f"table '{name}': counts cannot be negative")
    vals = np.where(finite, values, 0.0)
    primary = finite & (vals > 0) & (vals < min_cell)
    suppressed = primary.copy()
    total_flags: list[str] = []

    def candidate(line_vals, line_supp):
        choices = np.where((~line_supp) & (line_vals > 0))[0]
        if len(choices) == 0:
            return None
        return choices[np.argmin(line_vals[choices])]  # first of equal values

    if total_column is not None and total_column not in count_columns:
        raise AlisError(f"table '{name}': total_column '{total_column}' must be one of the count columns")
    check_rows = totals in ("rows", "both") or total_column is not None
    check_cols = totals in ("columns", "both")
    labels = (
        table[label_column].astype(str).tolist() if label_column else [str(i) for i in table.index]
    )
    changed = True
    while changed:
        changed = False
        lines = []
        if check_rows:
            lines += [("row", i, (i, slice(None))) for i in range(vals.shape[0])]
        if check_cols:
            lines += [("column", j, (slice(None), j)) for j in range(vals.shape[1])]
        for kind, idx, sl in lines:
            line_vals, line_supp = vals[sl], suppressed[sl]
            pinned_ok = kind == "row" and total_column is not None and line_supp[count_columns.index(total_column)]
            if not _line_needs_more(line_vals, line_supp, min_cell, sum_check=not pinned_ok):
                continue
            pick = candidate(line_vals, line_supp)
            if pick is None:
                tag = f"{kind} {labels[idx] if kind == 'row' else count_columns[idx]}"
                if tag not in total_flags:
                    total_flags.append(tag)
                continue
            if kind == "row":
                suppressed[idx, pick] = True
            else:
                suppressed[pick, idx] = True
            changed = True

    out = table.copy()
    log: list[SuppressionEntry] = []
    withheld: set[tuple[int, str]] = set()  # a derived cell linked to several hidden counts is logged once
    for j, column in enumerate(count_columns):
        shown = []
        for i in range(vals.shape[0]):
            if not finite[i, j]:
                shown.append("–")
            elif primary[i, j]:
                shown.append(primary_mark(min_cell))
                log.append(SuppressionEntry(name, labels[i], column, "primary"))
            elif suppressed[i, j]:
                shown.append(SECONDARY_MARK)
                log.append(SuppressionEntry(name, labels[i], column, "secondary"))
            else:
                shown.append(format_count(vals[i, j], min_cell))
        out[column] = shown
        for derived in linked.get(column, []):
            if derived not in out.columns:
                raise AlisError(f"table '{name}': linked column '{derived}' not found")
            out[derived] = out[derived].astype(object)
            for i in np.where(suppressed[:, j])[0]:
                out.iat[i, out.columns.get_loc(derived)] = SECONDARY_MARK
                if (i, derived) not in withheld:
                    withheld.add((i, derived))
                    log.append(SuppressionEntry(name, labels[i], derived, "derived"))
    for tag in total_flags:
        log.append(SuppressionEntry(name, tag, "total", "total"))
    mask = pd.DataFrame(suppressed, index=table.index, columns=count_columns)
    return SuppressedTable(table=out, mask=mask, log=log, suppressed_totals=total_flags)


_SMALL_INTEGER = re.compile(r"(?<![\w.,\-−])(\d+)(?![\w]|[.,]\d)")


def mask_small_numbers(text: str, min_cell: int = DEFAULT_MIN_CELL) -> str:
    """Replace every stand-alone integer 1 .. ``min_cell - 1`` in free text by ``'<m'``.

    Used for caveat notes written by the analyses (e.g. "only 3 events"),
    which are published in the report: a count in prose must not escape
    suppression. Decimals (``0.5``, ``8,37``) and numbers inside words are kept.
    """
    def replace(match: re.Match) -> str:
        value = int(match.group(1))
        return primary_mark(min_cell) if 0 < value < min_cell else match.group(0)

    return _SMALL_INTEGER.sub(replace, text)


# --------------------------------------------------------------------------- leak checks
_ISO_DATE = re.compile(r"\b(19|20)\d\d-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])\b")
_NOR_DATE = re.compile(r"\b(0?[1-9]|[12]\d|3[01])\.(0?[1-9]|1[0-2])\.(19|20)\d\d\b")
_N_EQUALS = re.compile(r"\b[nN]\s*=\s*(\d+)\b")


def check_no_leaks(
    text: str,
    identifiers: Iterable[str],
    min_cell: int = DEFAULT_MIN_CELL,
    *,
    allowed_dates: Iterable[str] = (),
) -> list[str]:
    """List what in a published text could identify a person (empty list = clean).

    Looks for (1) any of ``identifiers`` (person ids, names) as a whole word,
    (2) calendar dates (``YYYY-MM-DD`` or ``DD.MM.YYYY``) other than
    ``allowed_dates`` (the as-of date, the date the report was made), and
    (3) counts written as ``n = k`` with 1 <= k < ``min_cell``.
    """
    problems: list[str] = []
    for ident in sorted({str(i) for i in identifiers if str(i).strip()}):
        if re.search(rf"(?<![\w-]){re.escape(ident)}(?![\w-])", text):
            problems.append(f"identifier {ident!r} appears in the text")
    allowed = set(allowed_dates)
    for pattern in (_ISO_DATE, _NOR_DATE):
        for match in pattern.finditer(text):
            if match.group(0) not in allowed:
                problems.append(f"individual date {match.group(0)!r} appears in the text")
    for match in _N_EQUALS.finditer(text):
        if 0 < int(match.group(1)) < min_cell:
            problems.append(f"small count {match.group(0)!r} appears in the text")
    return problems


# --------------------------------------------------------------------------- curves and ratios
#: Grid (years) on which Kaplan–Meier and cumulative-incidence steps may be drawn: no individual times.
CURVE_GRID = 0.25


def ratio_estimable(exits_by_group, min_cell: int = DEFAULT_MIN_CELL, *, lower=None, upper=None) -> bool:
    """Whether a hazard or rate ratio may be printed.

    Rule (docs/reports.md): every group compared has at least
    ``max(min_cell, 5)`` exits, and the 95 % interval is finite with
    upper/lower below 100. Otherwise the ratio is "not estimable": with a
    handful of exits the interval (e.g. 0.01–89.53) says nothing and the
    point estimate is noise.
    """
    need = max(int(min_cell), 5)
    if any(int(e) < need for e in exits_by_group):
        return False
    if lower is not None and upper is not None:
        lo, hi = float(lower), float(upper)
        if not (np.isfinite(lo) and np.isfinite(hi)) or lo <= 0 or hi / lo >= 100:
            return False
    return True


@dataclass
class CurveStep:
    """One drawn step of a coarsened Kaplan–Meier curve over ``(start, end]``."""

    start: float
    end: float
    survival: float     # the estimate at ``end``
    events: list        # ids of those who left in (start, end]
    censored: list      # ids censored in (start, end]
    still_in: list      # ids still in post after ``end``


def coarsened_km(ids, durations, exits, min_cell: int = DEFAULT_MIN_CELL, *, grid: float = CURVE_GRID) -> list[CurveStep]:
    """Kaplan–Meier steps coarsened for publication.

    The estimate is evaluated on a grid of ``grid`` years (no individual
    exit or censoring time is drawn); a step is drawn only when at least
    ``min_cell`` exits have accumulated since the previous step; the curve
    stops at the last grid time where at least ``min_cell`` are still in
    post. No censoring marks. Returns the drawn steps (start at 0, S = 1).
    """
    ids = np.asarray([str(i) for i in ids])
    t = np.asarray(durations, dtype=float)
    d = np.asarray(exits, dtype=int)
    if len(t) == 0:
        return []
    event_times = np.unique(t[d == 1])
    factors = {et: 1.0 - ((t == et) & (d == 1)).sum() / (t >= et).sum() for et in event_times}

    def survival(at: float) -> float:
        return float(np.prod([f for et, f in factors.items() if et <= at])) if factors else 1.0

    steps: list[CurveStep] = []
    last = 0.0
    g = grid
    horizon = float(t.max())
    while g <= horizon + grid:
        if (t > g).sum() < min_cell:
            break
        in_step = (t > last) & (t <= g)
        n_events = int((in_step & (d == 1)).sum())
        if n_events >= min_cell:
            steps.append(CurveStep(last, g, survival(g), ids[in_step & (d == 1)].tolist(),
                                   ids[in_step & (d == 0)].tolist(), ids[t > g].tolist()))
            last = g
        g = round(g + grid, 10)
    return steps
