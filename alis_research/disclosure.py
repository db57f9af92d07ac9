"""Small-cell helpers for everything that is published.

The report's counts are protected as a whole by the ledger in
:mod:`alis_research.report.ledger` (one cell per counted set, secondary
suppression over every relation of the report, an integer-programming audit);
see ``docs/reports.md``. This module keeps what the ledger builds on:
coarsened Kaplan–Meier steps for figures (:func:`coarsened_km`), the rule for
printing hazard and rate ratios (:func:`ratio_estimable`), leak checks for
published text (:func:`check_no_leaks`), a count formatted outside the
ledger (:func:`format_count`, :func:`format_at_risk`: a figure's numbers at
risk, the design of a power simulation; 1 … ``min_cell − 1`` shows as
``"<m"``) and :class:`SuppressionEntry`, a withheld cell in the appendix's
log.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

import numpy as np
import pandas as pd

from .config import DEFAULT_MIN_CELL
from .errors import AlisError


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
