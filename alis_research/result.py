"""The common shape of every analysis result.

A result holds tidy DataFrames (one row per group/time/term), the
parameters it was computed with, and notes on caveats (not estimable,
unstable, extrapolated) recorded as data: a catalogue code plus values
(:class:`~alis_research.messages.note.Note`), which read as English text.  It renders itself as text and
in a notebook.  Subclasses add the tables they need as attributes and
list them in ``_tables``.
"""
from __future__ import annotations

import html
import warnings
from dataclasses import dataclass, field
from typing import Any, ClassVar, Sequence

import pandas as pd

from .errors import AlisError, AlisWarning
from .messages.note import Note


@dataclass
class AnalysisResult:
    """Base class: ``params`` and ``notes`` plus the tables named in ``_tables``."""

    params: dict[str, Any] = field(default_factory=dict)
    notes: list[Note] = field(default_factory=list)

    title: ClassVar[str] = "Result"
    _tables: ClassVar[tuple[str, ...]] = ()

    def add_note(self, code: "str | Note", /, *, warn: bool = True, **values) -> Note:
        """Record a caveat as data and, by default, emit it as an AlisWarning.

        ``code`` names a message of the catalogue's ``note`` table (``alis_research/messages/en.toml``)
        and ``values`` fill it, e.g. ``add_note("cox_unstable", events=3, coefficients=2, minimum=10)``;
        a :class:`~alis_research.messages.note.Note` (passed on from another analysis) is recorded as it is.
        """
        note = code if isinstance(code, Note) else Note(code, **values)
        if note not in self.notes:
            self.notes.append(note)
        if warn:
            warnings.warn(str(note), AlisWarning, stacklevel=3)
        return note

    def tables(self) -> dict[str, pd.DataFrame]:
        return {name: getattr(self, name) for name in self._tables if getattr(self, name) is not None}

    def __str__(self) -> str:
        parts = [self.title, "=" * len(self.title)]
        if self.params:
            parts.append("parameters: " + ", ".join(f"{k}={v}" for k, v in self.params.items()))
        with pd.option_context("display.width", 120, "display.max_columns", 30):
            for name, table in self.tables().items():
                parts.append(f"\n{name}:\n{table.to_string(index=False)}")
        if self.notes:
            parts.append("\nnotes:")
            parts.extend(f"  - {n}" for n in self.notes)
        return "\n".join(parts)

    def _repr_html_(self) -> str:
        parts = [f"<h4>{html.escape(self.title)}</h4>"]
        if self.params:
            parts.append(
                "<p><small>"
                + html.escape(", ".join(f"{k}={v}" for k, v in self.params.items()))
                + "</small></p>"
            )
        for name, table in self.tables().items():
            parts.append(f"<p><b>{html.escape(name)}</b></p>")
            parts.append(table.to_html(index=False, na_rep="–", float_format=lambda x: f"{x:.4g}"))
        if self.notes:
            parts.append("<ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in self.notes) + "</ul>")
        return "\n".join(parts)


def input_table(data: Any, name: str) -> pd.DataFrame:
    """The DataFrame ``name`` of a dataset object (``PreparedDataset.episodes`` …), or ``data`` itself
    if it is a DataFrame: what every analysis function accepts as its input."""
    frame = getattr(data, name, data)
    if not isinstance(frame, pd.DataFrame):
        raise AlisError(f"expected a prepared dataset or a DataFrame of {name}, got {type(data).__name__}")
    return frame


def require_columns(frame: pd.DataFrame, columns: Sequence[str], table: str) -> None:
    """Raise a user error naming the columns ``table`` lacks (and the ones it has)."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise AlisError(
            f"the {table} table has no column(s) {', '.join(repr(c) for c in missing)}; "
            f"expected the prepared-dataset columns (docs/architecture.md), found: {', '.join(map(str, frame.columns))}"
        )
