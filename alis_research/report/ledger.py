"""One ledger of every count a report publishes (the suppression and the audit are in :mod:`.audit`).

Why a ledger: a reader who wants to know combines *every* number of a report
(tables, running text, figure annotations, CSV files). Suppressing table by
table cannot see that a total in the text, a margin in another table and a
number at risk under a curve fix a hidden cell. So a section never prints a
count itself: it registers the count in the ledger and puts a *reference*
(a token) where the number goes. After the notebook has run, the whole
report's ledger is protected at once (:func:`~.audit.protect`) and the tokens
are replaced by the protected numbers (or the single withheld mark ``:``).

**A count is defined by the set it counts.** A cell is registered with its
*members* (episode ids, person ids, register contract ids ...) in a
*universe* (``"episodes"``, ``"persons"`` ...). Two cells counting the same
set are one cell, whatever their labels: "8 episodes on fastlønn" in the
summary and the fastlønn column of Table 1 are the same cell, so withholding
one withholds the other. Every linear relation between cells (a total is the
sum of its parts, at risk at year 1 minus at risk at year 2 is the number who
left in between, N − 30 = the rest) follows from set algebra, so no section
has to declare relations by hand, and none can be forgotten.

**Derived numbers** (rates, shares, survival, medians, person-years,
hazard ratios, figures) are registered with the sets whose sizes they give
away. The audit assumes that a published derived number tells the attacker
the exact size of every set it depends on, so a section lists exactly those
sets: a survival estimate at *t* depends on its cohort and the exits by *t*
(not on the numbers at risk, which it does not give away; when those are
printed beside it they are counts of their own). A derived number is withheld
when one of its sets has 1 … ``min_cell − 1`` members or is a withheld count.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Iterable, Mapping

from ..errors import AlisError

#: The one mark for a withheld number (Statistics Norway's sign for "confidential").
WITHHELD = ":"

_TOKEN = re.compile("\u27e6([cd]):([0-9a-f]{16})(?:\\|([^\u27e7]*))?\u27e7")


class DisclosureAuditFailed(AlisError):
    """The attacker audit found a count it can narrow to 1 … min_cell − 1; nothing is published."""

    def __init__(self, failures: list[dict], min_cell: int):
        self.failures = failures
        lines = [f"  - {f['label']}: the published numbers fix it to {f['interval'][0]}–{f['interval'][1]} "
                 f"(needs a range of at least {min_cell - 1})" for f in failures[:20]]
        more = f"\n  … and {len(failures) - 20} more" if len(failures) > 20 else ""
        super().__init__(f"disclosure audit failed for {len(failures)} count(s) with min_cell={min_cell}; "
                         "the report is not published:\n" + "\n".join(lines) + more)


def _key(universe: str, members: Iterable) -> str:
    text = json.dumps([universe, sorted(str(m) for m in members)], ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def count_token(key: str, style: str = "") -> str:
    """The reference a block holds where a count goes (``style``: ``""`` plain, ``"n"`` for "N = …")."""
    return f"\u27e6c:{key}{'|' + style if style else ''}\u27e7"


def derived_token(key: str) -> str:
    return f"\u27e6d:{key}\u27e7"


def has_tokens(text: str) -> bool:
    return bool(_TOKEN.search(text))


@dataclass
class Ledger:
    """Counts (as sets) and derived numbers registered by the sections of one report.

    ``cells``: key -> {"universe", "members", "label", "shown"}; ``shown`` is
    True when the count itself is displayed somewhere, False when the set is
    only registered (a dependency of a derived number, or a set whose size a
    reader could work out, such as a group whose parts are all shown).
    ``derived``: key -> {"text", "depends", "label"}.
    """

    cells: dict = field(default_factory=dict)
    derived: dict = field(default_factory=dict)

    # -- registering
    def _cell(self, members, universe: str, label: str, shown: bool) -> str:
        members = sorted({str(m) for m in members})
        key = _key(universe, members)
        cell = self.cells.get(key)
        if cell is None:
            self.cells[key] = {"universe": universe, "members": members, "label": label, "shown": shown}
        else:
            if shown and not cell["shown"] and label:  # a printed count is named as printed
                cell["label"] = label
            cell["shown"] = cell["shown"] or shown
            if not cell["label"]:
                cell["label"] = label
        return key

    def count(self, members, *, universe: str = "episodes", label: str = "", style: str = "") -> str:
        """Register a displayed count (the size of ``members``) and return the token to print."""
        return count_token(self._cell(members, universe, label, True), style)

    def group(self, members, *, universe: str = "episodes", label: str = "") -> str:
        """Register a set that is not displayed (a dependency); returns its key."""
        return self._cell(members, universe, label, False)

    def derived_number(self, text: str, *, depends: Iterable[str] = (), label: str = "",
                       reveals: Iterable[str] = ()) -> str:
        """Register a derived number shown as ``text``; withheld when a set in ``depends`` must be.

        ``depends`` holds keys from :meth:`group` or tokens from :meth:`count`.
        ``reveals``: the sets among them whose exact size the number gives away
        (a survival estimate: the exits by its time). The audit counts them as
        published while the number is; a set that is only in ``depends`` withholds
        the number when it is small or withheld, but is not taken as known.
        """
        def keys(refs):
            return sorted({_TOKEN.fullmatch(d).group(2) if _TOKEN.fullmatch(d) else d for d in refs})

        shown_sets = keys(reveals)
        deps = sorted(set(keys(depends)) | set(shown_sets))
        unknown = [d for d in deps if d not in self.cells]
        if unknown:
            raise AlisError(f"derived number {label!r} depends on unregistered sets {unknown}")
        identity = [text, deps, label] + ([shown_sets] if shown_sets else [])
        key = hashlib.sha256(json.dumps(identity, ensure_ascii=False).encode()).hexdigest()[:16]
        self.derived[key] = {"text": str(text), "depends": deps, "label": label, "reveals": shown_sets}
        return derived_token(key)

    # -- merging and storage
    def merge(self, other: "Ledger") -> None:
        for key, cell in other.cells.items():
            mine = self.cells.get(key)
            if mine is None:
                self.cells[key] = dict(cell)
            else:
                if cell["shown"] and not mine["shown"] and cell["label"]:
                    mine["label"] = cell["label"]
                mine["shown"] = mine["shown"] or cell["shown"]
                mine["label"] = mine["label"] or cell["label"]
        self.derived.update({k: dict(v) for k, v in other.derived.items()})

    def as_dict(self) -> dict:
        return {"cells": self.cells, "derived": self.derived}

    @classmethod
    def from_dict(cls, document: Mapping | None) -> "Ledger":
        document = document or {}
        return cls(cells={k: dict(v) for k, v in document.get("cells", {}).items()},
                   derived={k: dict(v) for k, v in document.get("derived", {}).items()})

    def value(self, key: str) -> int:
        return len(self.cells[key]["members"])


# --------------------------------------------------------------------------- the outcome
@dataclass
class Protection:
    """The outcome of :func:`~.audit.protect`: what is shown, what is withheld and why, and the audit."""

    min_cell: int
    shown: dict            # cell key -> display value (int) for published counts
    withheld: dict         # cell key -> reason ("primary" | "secondary")
    derived_withheld: dict  # derived key -> reason ("derived: …" | "secondary …")
    audit: object          # the final :class:`~.audit.AuditResult`
    rounds: int = 0

    def display_count(self, key: str) -> str:
        return WITHHELD if key in self.withheld else str(self.shown[key])


# --------------------------------------------------------------------------- resolving tokens
def resolve_text(text: str, ledger: Ledger, protection: Protection, *, thousands: str = "\u00a0") -> str:
    """Replace every token in ``text`` with its protected value (or the withheld mark)."""

    def replace(match: re.Match) -> str:
        kind, key = match.group(1), match.group(2)
        if kind == "c":
            if key not in ledger.cells:
                raise AlisError(f"report text refers to an unregistered count {key}")
            if key in protection.withheld:
                return WITHHELD
            return f"{protection.shown[key]:,}".replace(",", thousands)
        if key not in ledger.derived:
            raise AlisError(f"report text refers to an unregistered derived number {key}")
        if key in protection.derived_withheld:
            return WITHHELD
        return resolve_text(ledger.derived[key]["text"], ledger, protection, thousands=thousands)

    return _TOKEN.sub(replace, text)


def tokens_in(text: str) -> list[tuple[str, str]]:
    return [(m.group(1), m.group(2)) for m in _TOKEN.finditer(text)]


def strip_tokens(text: str, ledger: Ledger) -> str:
    """``text`` with the *unprotected* values (for displays inside the restricted kernel only)."""

    def replace(match: re.Match) -> str:
        kind, key = match.group(1), match.group(2)
        if kind == "c":
            return str(ledger.value(key)) if key in ledger.cells else "?"
        d = ledger.derived.get(key)
        return strip_tokens(d["text"], ledger) if d else "?"

    return _TOKEN.sub(replace, text)
