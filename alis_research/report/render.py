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

from ..data import io as alis_io
from ..errors import AlisError
from .blocks import blocks_to_html
from .content import CONTENT_FILE, read_content
from .publication import Publication
from .text import T, fmt_date

TEMPLATE_NAME = "report.typ"
PDF_FILE = "report.pdf"
HTML_FILE = "report.html"


def template_files() -> dict[str, bytes]:
    """Name -> bytes of every shipped template (their hash is part of a report's inputs key)."""
    folder = resources.files("alis_research.report") / "templates"
    return {entry.name: entry.read_bytes() for entry in sorted(folder.iterdir(), key=lambda e: e.name)
            if entry.is_file() and not entry.name.startswith(".")}


def labels(meta: dict, publication: Publication | None = None) -> dict:
    """Fixed texts of the page layout (title page, header, footer, document metadata) in the report's language."""
    language = meta["language"]
    publication = publication or Publication()
    area = meta.get("area", "all")
    area_value = T("all_areas", language) if area == "all" else area
    not_stated = T("not_stated", language)
    as_of = meta.get("as_of", "")
    as_of_text = fmt_date(as_of, language) if as_of else ""
    first_year = meta.get("follow_up_from")
    follow_up = T("follow_up_value", language, first_year=int(first_year), as_of=as_of) if first_year else as_of_text
    made = meta.get("made", "")
    status = T(f"status_{publication.status}", language)
    facts = [
        (T("institution", language), publication.institution or not_stated),
        (T("authors", language), "; ".join(publication.authors) or not_stated),
        (T("commissioner", language), publication.commissioner or not_stated),
        (T("report_status", language), T("status_version", language, status=status, version=publication.version)),
        (T("area", language), area_value),
        (T("follow_up_period", language), follow_up),
        (T("made", language), fmt_date(made, language) if made else ""),
        (T("fingerprint", language), str(meta.get("fingerprint", ""))[:12]),
        (T("package_version", language), meta.get("package_version", "")),
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
        # document metadata (PDF info dictionary, HTML <meta>)
        "authors": list(publication.authors) or [publication.institution or T("programme", language)],
        "description": f"{T('report_subtitle', language)}. {T('area', language)}: {area_value}. "
                       f"{T('follow_up_period', language)}: {follow_up}. {status}, {publication.version}.",
        "keywords": [k.strip() for k in T("report_keywords", language).split(";")],
        "institution": publication.institution,
        "commissioner": publication.commissioner,
        "status": publication.status,
        "version": publication.version,
        "made": made,
    }


EMPTY_CELLS = {"", ":", "–", "-", "..", "—"}


def is_empty_table(block: dict) -> bool:
    """A table with no rows, or whose cells beside the row labels hold nothing to read."""
    rows = block.get("rows") or []
    return not rows or all(str(cell).strip() in EMPTY_CELLS for row in rows for cell in row[1:])


def layout_blocks(blocks: list[dict], language: str) -> list[dict]:
    """The blocks as laid out: an empty table becomes one sentence saying it was left out."""
    laid_out = []
    for block in blocks:
        if block.get("type") == "table" and is_empty_table(block):
            laid_out.append({"type": "paragraph", "text": T("table_left_out_empty", language, caption=block["caption"])})
        else:
            laid_out.append(block)
    return laid_out


def layout_document(document: dict) -> dict:
    """``content.json`` as the renderers lay it out (see :func:`layout_blocks`)."""
    language = (document.get("meta") or {}).get("language", "nb")
    sections = [{**s, "blocks": layout_blocks(s.get("blocks", []), language)} for s in document.get("sections", [])]
    return {**document, "sections": sections}


def render_pdf(output_dir, publication: Publication | None = None) -> Path:
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
            sys_inputs={"document": json.dumps(layout_document(document), ensure_ascii=False),
                        "labels": json.dumps(labels(meta, publication), ensure_ascii=False)},
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
h1,h2,h3,caption,figcaption{hyphens:manual;text-align:left}
@page{size:A4;margin:20mm 18mm}
@media print{body{max-width:none;margin:0;font-size:10.5pt}.banner{position:static}
 figure,table{break-inside:avoid}h2,h3{break-after:avoid}nav{break-after:page}}
figure{margin:1em 0} figure svg{max-width:100%;height:auto}
figcaption{font-size:.9em}
.note{font-size:.85em;color:#444;margin:.1em 0}
dl.facts{display:grid;grid-template-columns:max-content auto;gap:.3em 1.2em}
dl.facts dt{font-weight:bold}
"""


def render_html(output_dir, publication: Publication | None = None) -> Path:
    """Write ``report.html``: the same content as the PDF in one self-contained file."""
    output_dir = Path(output_dir)
    document = read_content(output_dir)
    meta = document.get("meta") or {}
    if not meta:
        raise AlisError(f"{output_dir / CONTENT_FILE} has no report metadata to render")
    lab = labels(meta, publication)
    document = layout_document(document)
    esc = html.escape
    banner = f"<div class=\"banner\">{esc(lab['banner'])}</div>" if meta.get("synthetic") else ""
    toc = "".join(f"<li><a href=\"#{esc(s['key'])}\">{esc(s['title'])}</a></li>" for s in document["sections"])
    facts = "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in lab["title_facts"])
    sections = "".join(
        f"<section id=\"{esc(s['key'])}\"><h2>{i}. {esc(s['title'])}</h2>"
        + blocks_to_html(s["blocks"], root=output_dir) + "</section>"
        for i, s in enumerate(document["sections"], start=1)
    )
    metadata = {
        "author": "; ".join(lab["authors"]),
        "description": lab["description"],
        "keywords": ", ".join(lab["keywords"]),
        "dcterms.publisher": lab["institution"],
        "dcterms.contributor": lab["commissioner"],
        "dcterms.date": lab["made"],
        "report-status": lab["status"],
        "report-version": lab["version"],
        "generator": f"alis_research {meta.get('package_version', '')}".strip(),
    }
    head_meta = "".join(f"<meta name=\"{esc(k)}\" content=\"{esc(str(v))}\">" for k, v in metadata.items() if v)
    page = (
        f"<!DOCTYPE html>\n<html lang=\"{esc(meta['language'])}\"><head><meta charset=\"utf-8\">"
        f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">{head_meta}"
        f"<title>{esc(lab['title'])}</title><style>{_CSS}</style></head><body>{banner}"
        f"<header><p>{esc(lab['programme'])}</p><h1>{esc(lab['title'])}</h1><p>{esc(lab['subtitle'])}</p>"
        f"<dl class=\"facts\">{facts}</dl></header>"
        f"<nav><h2>{esc(lab['contents'])}</h2><ol>{toc}</ol></nav><main>{sections}</main>{banner}</body></html>\n"
    )
    path = output_dir / HTML_FILE
    alis_io.atomic_write_text(path, page)
    return path
