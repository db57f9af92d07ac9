"""A caveat note of an analysis as data: a catalogue code plus values.

An analysis records ``result.add_note("cox_unstable", events=3, coefficients=2, minimum=10)``;
the note is the code ``note.cox_unstable`` of the message catalogue and its values.
A :class:`Note` is also the English sentence (it subclasses ``str``, rendered once
from ``en.toml``), so ``str(result)``, ``print`` and JSON keep working and a notebook
reads plain English; the report renders the same note in its own language with
:meth:`Note.text`, masking only the values the catalogue entry marks ``count``.

A note an analysis passes on from an analysis it ran keeps its structure and gains
a *context* (``note.within("cox")`` -> "Cox model: …"), from ``label.context``.
Values the message does not name (a unit's name, ids) stay in :attr:`Note.values`
for the researcher but are never published.
"""
from __future__ import annotations

from typing import Any

from . import capitalise, count_placeholders, has_message, message, uncapitalise


def _frozen(value):
    if isinstance(value, (list, tuple)):
        return tuple(_frozen(v) for v in value)
    return value


class Note(str):
    """One caveat: ``code`` (a key of the catalogue's ``note`` table), ``values`` and ``context``.

    The string value is the English text (capitalised as a sentence is not: notes are list items).
    Two notes are equal when code, values and context are; a note equals a plain string with its text.
    """

    code: str
    values: dict[str, Any]
    context: tuple[str, ...]

    def __new__(cls, code: str, /, *, context: tuple[str, ...] = (), **values) -> "Note":
        if not has_message(f"note.{code}"):
            raise KeyError(f"no note {code!r} in the message catalogue (alis_research/messages/*.toml, table [note])")
        values = {k: _frozen(v) for k, v in values.items()}
        self = super().__new__(cls, _render(code, values, tuple(context), "en", None))
        self.code, self.values, self.context = code, values, tuple(context)
        return self

    def text(self, language: str = "en", min_cell: int | None = None) -> str:
        """The note in ``language``; with ``min_cell``, its counts below ``min_cell`` are written ``<min_cell``."""
        return _render(self.code, self.values, self.context, language, min_cell)

    def within(self, context: str) -> "Note":
        """The same note passed on by an analysis that ran another (``context``: a ``label.context`` code)."""
        return Note(self.code, context=(context, *self.context), **self.values)

    def counts(self) -> dict[str, Any]:
        """The values that count people, episodes or events (the entry's ``count`` placeholders)."""
        return {k: v for k, v in self.values.items() if k in count_placeholders(f"note.{self.code}")}

    def as_dict(self) -> dict[str, Any]:
        """The note as data: ``{"code", "values", "context", "counts"}`` (counts: names of the count values)."""
        return {"code": self.code, "values": dict(self.values), "context": list(self.context),
                "counts": sorted(self.counts())}

    def __eq__(self, other) -> bool:
        if isinstance(other, Note):
            return (self.code, self.values, self.context) == (other.code, other.values, other.context)
        return str.__eq__(self, other)

    def __ne__(self, other) -> bool:
        return not self == other

    __hash__ = str.__hash__

    def __repr__(self) -> str:
        context = f", context={self.context!r}" if self.context else ""
        values = "".join(f", {k}={v!r}" for k, v in self.values.items())
        return f"Note({self.code!r}{values}{context})"

    def __reduce__(self):
        return (_rebuild, (self.code, self.values, self.context))


def _rebuild(code, values, context):
    return Note(code, context=context, **values)


def _render(code: str, values: dict, context: tuple[str, ...], language: str, min_cell: int | None) -> str:
    text = message(f"note.{code}", language, min_cell=min_cell, **values)
    for name in reversed(context):
        text = f"{message(f'label.context.{name}', language)}: {uncapitalise(text)}"
    return text


def as_note(note) -> Note:
    """``note`` if it is a :class:`Note`; a plain string is refused (notes are codes, not sentences)."""
    if isinstance(note, Note):
        return note
    raise TypeError(f"a note must be a Note (a code of the message catalogue), got {type(note).__name__}: {note!r}")


__all__ = ["Note", "as_note", "capitalise"]
