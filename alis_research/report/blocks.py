"""HTML of a section's content blocks: for the notebook display and for the published HTML.

Kept apart from :mod:`~alis_research.report.content` (which makes the blocks) and
:mod:`~alis_research.report.render` (which writes the report) so that neither imports the other.
"""
from __future__ import annotations

import html
from pathlib import Path


def _strip_xml_header(svg: str) -> str:
    start = svg.find("<svg")
    return svg[start:] if start >= 0 else svg


def _accessible_svg(svg: str, caption: str) -> str:
    """Inline SVG announced as one image whose alternative text is the figure caption."""
    svg = _strip_xml_header(svg)
    if not svg.startswith("<svg"):
        return svg
    label = html.escape(caption, quote=True)
    head_end = svg.index(">") + 1
    head = svg[:head_end]
    head = head[:-1].rstrip("/") + f' role="img" aria-label="{label}">'
    return head + f"<title>{html.escape(caption)}</title>" + svg[head_end:]


def blocks_to_html(blocks: list[dict], *, inline_svg: bool = True, root: Path | None = None) -> str:
    """HTML of content blocks; figures inline (from ``svg`` in memory or ``file`` under ``root``)."""
    parts = []
    esc = html.escape
    for block in blocks:
        kind = block["type"]
        if kind == "paragraph":
            parts.append(f"<p>{esc(block['text'])}</p>")
        elif kind == "heading":
            parts.append(f"<h3>{esc(block['text'])}</h3>")
        elif kind == "list":
            parts.append("<ul>" + "".join(f"<li>{esc(i)}</li>" for i in block["items"]) + "</ul>")
        elif kind == "table":
            head = "".join(f"<th>{esc(c)}</th>" for c in block["columns"])
            body = "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>" for row in block["rows"])
            parts.append(f"<table><caption>{esc(block['caption'])}</caption><thead><tr>{head}</tr></thead>"
                         f"<tbody>{body}</tbody></table>")
            parts.extend(f"<p class=\"note\">{esc(n)}</p>" for n in block.get("notes", []))
        elif kind == "figure":
            svg = block.get("svg")
            if svg is None and root is not None:
                svg = (Path(root) / block["file"]).read_text(encoding="utf-8")
            parts.append(f"<figure>{_accessible_svg(svg or '', block['caption'])}"
                         f"<figcaption>{esc(block['caption'])}</figcaption></figure>")
    return "\n".join(parts)
