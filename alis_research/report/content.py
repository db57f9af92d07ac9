"""The report's content model and the only way notebooks write report files.

A notebook builds :class:`Section` objects (through
:mod:`alis_research.report.sections`) and hands them to :func:`write_section`,
which writes the section's figures (SVG) and tables (CSV) into the report's
output folder and records the section in ``content.json``. The renderer
(:mod:`alis_research.report.render`) turns ``content.json`` into PDF and HTML
outside the kernel.

``content.json`` (schema ``alis-research/report-content/1``)::

    {"schema": ..., "meta": {language, area, as_of, min_cell, fingerprint, synthetic,
                             package_version, dataset, made},
     "sections": [{"key", "title", "blocks": [...]}],   # in SECTION_ORDER
     "suppression": [{"table", "row", "column", "reason"}],
     "facts": {section key: {...}}}   # counts 1 … min_cell − 1 as "<5"

Block types: ``paragraph`` (``text``), ``list`` (``items``), ``heading``
(``text``), ``table`` (``id``, ``caption``, ``columns``, ``rows`` of display
strings, ``notes``, ``file``), ``figure`` (``id``, ``caption``, ``file``).
Everything in a block is already suppressed and formatted: the renderer only
lays it out.
"""
from __future__ import annotations

import html
import io as _stdio
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import pandas as pd

from ..data import io as alis_io
from ..config import DEFAULT_MIN_CELL
from ..disclosure import SuppressionEntry
from .ledger import Ledger, strip_tokens

CONTENT_SCHEMA = "alis-research/report-content/1"
CONTENT_FILE = "content.json"
FIGURES_DIR = "figures"
TABLES_DIR = "tables"

#: Order of the sections in the publication, whatever order they are written in.
SECTION_ORDER = (
    "summary",
    "methods",
    "data_quality",
    "cohort_description",
    "retention",
    "turnover",
    "contract_duration",
    "robustness",
    "small_cohorts",
    "costs",
    "pathway",
    "comparison_groups",
    "limitations",
    "references",
    "appendix",
)


def figure_to_svg(fig) -> str:
    """A matplotlib figure as deterministic SVG text (text as paths, fixed ids, no date)."""
    import matplotlib
    import matplotlib.pyplot as plt

    buffer = _stdio.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": "alis-research", "svg.fonttype": "path"}):
        fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None}, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


@dataclass
class Section:
    """One section of the report: an ordered list of blocks plus facts for the summary.

    Attributes
    ----------
    key : str
        One of :data:`SECTION_ORDER`.
    title : str
    blocks : list of dict
    suppression : list of SuppressionEntry
        Suppression applied to this section's tables (for the appendix).
    facts : dict
        Plain numbers the summary of findings is written from (JSON-safe).
    """

    key: str
    title: str
    blocks: list[dict] = field(default_factory=list)
    suppression: list[SuppressionEntry] = field(default_factory=list)
    facts: dict = field(default_factory=dict)
    ledger: Ledger = field(default_factory=Ledger)

    # -- numbers: every count and every number computed from counts goes through the ledger
    def count(self, members, *, universe: str = "episodes", label: str = "") -> str:
        """The reference to print where the size of ``members`` goes (see :mod:`.ledger`)."""
        return self.ledger.count(members, universe=universe, label=label)

    def group(self, members, *, universe: str = "episodes", label: str = "") -> str:
        """Register a set a derived number depends on (not printed); returns its key."""
        return self.ledger.group(members, universe=universe, label=label)

    def derived(self, text: str, *, depends=(), label: str = "", reveals=()) -> str:
        """The reference to print for ``text`` (a rate, share, estimate …) computed from ``depends``;
        ``reveals``: the sets whose exact size it gives away (see :meth:`.ledger.Ledger.derived_number`)."""
        return self.ledger.derived_number(text, depends=depends, label=label, reveals=reveals)

    def protected_blocks(self, min_cell: int = DEFAULT_MIN_CELL, *, language: str = "nb") -> list[dict]:
        """The blocks as this section alone would publish them (its own ledger protected).

        For tests and notebook displays; the report protects all sections together,
        which can only withhold more.
        """
        from .audit import protect
        from .ledger import resolve_text

        protection = protect(self.ledger, min_cell)
        thousands = "\u00a0" if language == "nb" else ","
        text = json.dumps([{k: v for k, v in b.items() if k != "svg"} for b in self.blocks], ensure_ascii=False)
        blocks = json.loads(resolve_text(text, self.ledger, protection, thousands=thousands))
        for block, original in zip(blocks, self.blocks):
            if "svg" in original:
                block["svg"] = original["svg"]
        return blocks

    def guard_numbers(self, depends, *, label: str = "") -> None:
        """Register every number this section prints as a derived number resting on ``depends``.

        For sections that publish only estimates (robustness analyses) and were written
        without the ledger: each paragraph, list item and table cell with a digit, and
        each figure, is withheld when a set in ``depends`` must be (see ``docs/architecture.md``).
        """
        def guarded(text):
            text = str(text)
            if any(ch.isdigit() for ch in strip_tokens(text, self.ledger)):
                return self.derived(text, depends=depends, label=label or self.title)
            return text

        for block in self.blocks:
            kind = block["type"]
            if kind == "paragraph":
                block["text"] = guarded(block["text"])
            elif kind == "list":
                block["items"] = [guarded(i) for i in block["items"]]
            elif kind == "table":
                block["rows"] = [[guarded(c) for c in row] for row in block["rows"]]
            elif kind == "figure":
                block["guard"] = self.derived(block["id"], depends=depends, label=f"figure {block['id']}")

    def plain(self, text: str) -> str:
        """``text`` with unprotected values, for display inside the (restricted) notebook only."""
        return strip_tokens(text, self.ledger)

    # -- building
    def heading(self, text: str) -> None:
        self.blocks.append({"type": "heading", "text": text})

    def paragraph(self, text: str) -> None:
        self.blocks.append({"type": "paragraph", "text": text})

    def items(self, items: Iterable[str]) -> None:
        items = [str(i) for i in items]
        if items:
            self.blocks.append({"type": "list", "items": items})

    def table(self, table_id: str, frame: pd.DataFrame, caption: str, notes: Iterable[str] = (),
              suppression: Iterable[SuppressionEntry] = ()) -> None:
        """Add a table whose cells are already display strings (suppressed, formatted)."""
        rows = [["" if pd.isna(v) else str(v) for v in row] for row in frame.itertuples(index=False)]
        self.blocks.append({
            "type": "table", "id": table_id, "caption": caption,
            "columns": [str(c) for c in frame.columns], "rows": rows, "notes": list(notes),
        })
        self.suppression.extend(suppression)

    def figure(self, figure_id: str, fig, caption: str, *, depends=(), reveals=()) -> None:
        """Add a matplotlib figure (closed after conversion to SVG).

        ``depends``: the sets the drawn data rest on; the figure is left out of the
        publication when one of them must be withheld. ``reveals``: those whose exact
        size the drawing gives away (see :meth:`derived`).
        """
        svg = fig if isinstance(fig, str) else figure_to_svg(fig)
        guard = self.derived(figure_id, depends=depends, reveals=reveals, label=f"figure {figure_id}")
        self.blocks.append({"type": "figure", "id": figure_id, "caption": caption, "svg": svg, "guard": guard})

    # -- display in a notebook
    def _repr_html_(self) -> str:
        from .blocks import blocks_to_html

        blocks = json.loads(strip_tokens(json.dumps(self.blocks, ensure_ascii=False), self.ledger))
        return f"<h2>{html.escape(self.title)}</h2>\n" + blocks_to_html(blocks, inline_svg=True)

    def __str__(self) -> str:
        lines = [self.title, "=" * len(self.title)]
        for block in self.blocks:
            if block["type"] in ("paragraph", "heading"):
                lines.append(block["text"])
            elif block["type"] == "list":
                lines.extend(f"  - {item}" for item in block["items"])
            elif block["type"] == "table":
                lines.append(f"[{block['caption']}]")
                frame = pd.DataFrame(block["rows"], columns=block["columns"])
                lines.append(frame.to_string(index=False))
            elif block["type"] == "figure":
                lines.append(f"[figure: {block['caption']}]")
        return self.plain("\n".join(lines))


def _csv_text(block: dict) -> str:
    return pd.DataFrame(block["rows"], columns=block["columns"]).to_csv(index=False, lineterminator="\n")


def read_content(output_dir) -> dict:
    """The ``content.json`` of a report folder (an empty document if none yet)."""
    path = Path(output_dir) / CONTENT_FILE
    if not path.exists():
        return {"schema": CONTENT_SCHEMA, "meta": {}, "sections": [], "suppression": [], "facts": {},
                "ledger": {"cells": {}, "derived": {}}}
    return json.loads(path.read_text(encoding="utf-8"))


def _dump(document: dict) -> str:
    # Compact: the working file is rewritten after every section, and only the C encoder (no
    # indent) keeps that in milliseconds. The published content.json is indented (protection.py).
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"), sort_keys=True, allow_nan=False) + "\n"


def write_meta(output_dir, meta: dict) -> Path | None:
    """Record the report's metadata (title-page facts) in ``content.json``."""
    if not output_dir:
        return None
    document = read_content(output_dir)
    document["meta"] = dict(meta)
    path = Path(output_dir) / CONTENT_FILE
    alis_io.atomic_write_text(path, _dump(document))
    return path


def write_section(output_dir, section: Section) -> Path | None:
    """Write a section's figures and tables into ``output_dir`` and record it in ``content.json``.

    Writing the same section again replaces it; sections are kept in
    :data:`SECTION_ORDER`. Returns the path of ``content.json``; with an
    empty ``output_dir`` (a notebook run for exploration) nothing is written.
    """
    if not output_dir:
        return None
    output_dir = Path(output_dir)
    blocks = []
    for block in section.blocks:
        block = dict(block)
        if block["type"] == "figure":
            relative = f"{FIGURES_DIR}/{block['id']}.svg"
            alis_io.atomic_write_text(output_dir / relative, block.pop("svg"))
            block["file"] = relative
        elif block["type"] == "table":
            block["file"] = f"{TABLES_DIR}/{block['id']}.csv"  # written by the protection step
        blocks.append(block)
    document = read_content(output_dir)
    sections = [s for s in document["sections"] if s["key"] != section.key]
    sections.append({"key": section.key, "title": section.title, "blocks": blocks})
    rank = {key: i for i, key in enumerate(SECTION_ORDER)}
    sections.sort(key=lambda s: rank.get(s["key"], len(rank)))
    document["sections"] = sections
    document["suppression"] = [e for e in document["suppression"] if e.get("section") != section.key] + [
        {**entry.as_dict(), "section": section.key} for entry in section.suppression
    ]
    document.setdefault("facts", {})[section.key] = section.facts  # restricted: the working folder only
    ledger = Ledger.from_dict(document.get("ledger"))
    ledger.merge(section.ledger)
    document["ledger"] = ledger.as_dict()
    path = output_dir / CONTENT_FILE
    alis_io.atomic_write_text(path, _dump(document))
    return path


def write_results(output_dir, document: dict) -> Path | None:
    """Write the internal ``results.json`` (``alis-research/results/1``) into ``output_dir``."""
    from ..analysis.results import dumps

    if not output_dir:
        return None
    document = dict(document)
    document["dataset"] = {**document["dataset"], "publishable": False}
    path = Path(output_dir) / "results.json"
    alis_io.atomic_write_text(path, dumps(document))
    return path
