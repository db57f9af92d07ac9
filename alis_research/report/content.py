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

from .. import io as alis_io
from ..config import DEFAULT_MIN_CELL
from ..disclosure import SuppressionEntry, primary_mark

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

    def figure(self, figure_id: str, fig, caption: str) -> None:
        """Add a matplotlib figure (closed after conversion to SVG)."""
        svg = fig if isinstance(fig, str) else figure_to_svg(fig)
        self.blocks.append({"type": "figure", "id": figure_id, "caption": caption, "svg": svg})

    # -- display in a notebook
    def _repr_html_(self) -> str:
        from .blocks import blocks_to_html

        return f"<h2>{html.escape(self.title)}</h2>\n" + blocks_to_html(self.blocks, inline_svg=True)

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
        return "\n".join(lines)


def _csv_text(block: dict) -> str:
    return pd.DataFrame(block["rows"], columns=block["columns"]).to_csv(index=False, lineterminator="\n")


def read_content(output_dir) -> dict:
    """The ``content.json`` of a report folder (an empty document if none yet)."""
    path = Path(output_dir) / CONTENT_FILE
    if not path.exists():
        return {"schema": CONTENT_SCHEMA, "meta": {}, "sections": [], "suppression": [], "facts": {}}
    return json.loads(path.read_text(encoding="utf-8"))


def _dump(document: dict) -> str:
    return json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True, allow_nan=False) + "\n"


def write_meta(output_dir, meta: dict) -> Path | None:
    """Record the report's metadata (title-page facts) in ``content.json``."""
    if not output_dir:
        return None
    document = read_content(output_dir)
    document["meta"] = dict(meta)
    path = Path(output_dir) / CONTENT_FILE
    alis_io.atomic_write_text(path, _dump(document))
    return path


def _published_facts(value, min_cell: int):
    """A section's facts as ``content.json`` publishes them: a count 1 … ``min_cell − 1`` shows as ``<5``.

    The facts feed the summary in memory unchanged; the sections keep derived numbers
    (rates, shares, survival) out of them where the report withholds those.
    """
    if isinstance(value, dict):
        return {k: _published_facts(v, min_cell) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_published_facts(v, min_cell) for v in value]
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value < min_cell:
        return primary_mark(min_cell)
    return value


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
            relative = f"{TABLES_DIR}/{block['id']}.csv"
            alis_io.atomic_write_text(output_dir / relative, _csv_text(block))
            block["file"] = relative
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
    min_cell = int(document.get("meta", {}).get("min_cell") or DEFAULT_MIN_CELL)
    document.setdefault("facts", {})[section.key] = _published_facts(section.facts, min_cell)
    path = output_dir / CONTENT_FILE
    alis_io.atomic_write_text(path, _dump(document))
    return path


def write_results(output_dir, document: dict) -> Path | None:
    """Write the internal ``results.json`` (``alis-research/results/1``) into ``output_dir``."""
    from ..results import dumps

    if not output_dir:
        return None
    document = dict(document)
    document["dataset"] = {**document["dataset"], "publishable": False}
    path = Path(output_dir) / "results.json"
    alis_io.atomic_write_text(path, dumps(document))
    return path
