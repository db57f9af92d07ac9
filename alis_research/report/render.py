"""Render a report folder's ``content.json`` to ``report.pdf`` (Typst) and ``report.html``.

Runs outside the Jupyter kernel, after a clean notebook run. The PDF is
compiled by the ``typst`` package from PyPI with the fonts built into it
(``ignore_system_fonts=True``: the same fonts on every machine, nothing
downloaded) from ``templates/report.typ``, which reads ``content.json`` as
data, so no text from the data is ever parsed as markup. Figures are SVG,
embedded as vectors. The HTML page holds the same blocks with the SVGs
inline, so it is one self-contained file.
"""
from __future__ import annotations

import datetime as _dt
import html
import json
from importlib import resources
from pathlib import Path

from .. import io as alis_io
from ..errors import AlisError
from .blocks import blocks_to_html
from .content import CONTENT_FILE, read_content
from .text import T

TEMPLATE_NAME = "report.typ"
PDF_FILE = "report.pdf"
HTML_FILE = "report.html"


def template_files() -> dict[str, bytes]:
    """Name -> bytes of every shipped template (their hash is part of a report's inputs key)."""
    folder = resources.files("alis_research.report") / "templates"
    return {entry.name: entry.read_bytes() for entry in sorted(folder.iterdir(), key=lambda e: e.name)
            if entry.is_file() and not entry.name.startswith(".")}


def labels(meta: dict) -> dict:
    """Fixed texts of the page layout (title page, header, footer) in the report's language."""
    language = meta["language"]
    area = meta.get("area", "all")
    area_value = T("all_areas", language) if area == "all" else area
    facts = [
        (T("area", language), area_value),
        (T("as_of", language), meta.get("as_of", "")),
        (T("fingerprint", language), str(meta.get("fingerprint", ""))[:12]),
        (T("package_version", language), meta.get("package_version", "")),
        (T("made", language), meta.get("made", "")),
        (T("min_cell", language), str(meta.get("min_cell", ""))),
    ]
    return {
        "programme": T("programme", language),
        "title": T("report_title", language),
        "subtitle": T("report_subtitle", language),
        "banner": T("synthetic_banner", language),
        "contents": T("contents", language),
        "page": T("page", language),
        "area_value": f"{T('area', language)}: {area_value}",
        "title_facts": [list(f) for f in facts],
    }


def render_pdf(output_dir) -> Path:
    """Compile ``content.json`` in ``output_dir`` to ``report.pdf`` (written atomically)."""
    import typst

    output_dir = Path(output_dir)
    document = read_content(output_dir)
    meta = document.get("meta") or {}
    if not meta or not document.get("sections"):
        raise AlisError(f"{output_dir / CONTENT_FILE} has no report content to render")
    template = template_files()[TEMPLATE_NAME]
    made = meta.get("made")
    # A fixed timestamp (the day the report was made) keeps the PDF byte-stable for a day.
    stamp = _dt.datetime.fromisoformat(made) if made else None
    try:
        pdf = typst.compile(
            template,
            root=str(output_dir),
            sys_inputs={"content": CONTENT_FILE, "labels": json.dumps(labels(meta), ensure_ascii=False)},
            ignore_system_fonts=True,
            timestamp=int(stamp.replace(tzinfo=_dt.timezone.utc).timestamp()) if stamp else None,
        )
    except Exception as exc:  # typst.TypstError carries the Typst diagnostic
        raise AlisError(f"rendering {output_dir / PDF_FILE} with Typst failed: {exc}") from exc
    path = output_dir / PDF_FILE
    alis_io.atomic_write_bytes(path, pdf)
    return path


# --------------------------------------------------------------------------- HTML
_CSS = """
body{font-family:"Libertinus Serif",Georgia,serif;max-width:46em;margin:2em auto;padding:0 1em;line-height:1.45;color:#111}
.banner{position:sticky;top:0;background:#fff;color:#b00020;font-weight:bold;text-align:center;padding:.3em;border-bottom:1px solid #b00020;z-index:1}
table{border-collapse:collapse;margin:.5em 0;font-size:.9em}
th,td{padding:.2em .6em;border-bottom:1px solid #ddd;text-align:right}
th:first-child,td:first-child{text-align:left}
th{border-bottom:1.5px solid #333}
caption{caption-side:top;text-align:left;font-size:.95em;padding-bottom:.3em}
figure{margin:1em 0} figure svg{max-width:100%;height:auto}
figcaption{font-size:.9em}
.note{font-size:.85em;color:#444;margin:.1em 0}
dl.facts{display:grid;grid-template-columns:max-content auto;gap:.3em 1.2em}
dl.facts dt{font-weight:bold}
"""


def render_html(output_dir) -> Path:
    """Write ``report.html``: the same content as the PDF in one self-contained file."""
    output_dir = Path(output_dir)
    document = read_content(output_dir)
    meta = document.get("meta") or {}
    if not meta:
        raise AlisError(f"{output_dir / CONTENT_FILE} has no report metadata to render")
    lab = labels(meta)
    esc = html.escape
    banner = f"<div class=\"banner\">{esc(lab['banner'])}</div>" if meta.get("synthetic") else ""
    toc = "".join(f"<li><a href=\"#{esc(s['key'])}\">{esc(s['title'])}</a></li>" for s in document["sections"])
    facts = "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in lab["title_facts"])
    sections = "".join(
        f"<section id=\"{esc(s['key'])}\"><h2>{i}. {esc(s['title'])}</h2>"
        + blocks_to_html(s["blocks"], root=output_dir) + "</section>"
        for i, s in enumerate(document["sections"], start=1)
    )
    page = (
        f"<!DOCTYPE html>\n<html lang=\"{esc(meta['language'])}\"><head><meta charset=\"utf-8\">"
        f"<title>{esc(lab['title'])}</title><style>{_CSS}</style></head><body>{banner}"
        f"<header><p>{esc(lab['programme'])}</p><h1>{esc(lab['title'])}</h1><p>{esc(lab['subtitle'])}</p>"
        f"<dl class=\"facts\">{facts}</dl></header>"
        f"<nav><h2>{esc(lab['contents'])}</h2><ol>{toc}</ol></nav>{sections}{banner}</body></html>\n"
    )
    path = output_dir / HTML_FILE
    alis_io.atomic_write_text(path, page)
    return path
