"""The protection step between the notebook and the published folder.

The notebook writes into a *restricted working folder*: ``content.json`` with
references (tokens) where numbers go, the report's whole :class:`~.ledger.Ledger`
(the sets behind every count), the sections' facts, figures, ``results.json``
and the executed notebook. :func:`protect_content` runs the whole-report
suppression and the attacker audit (:func:`~.ledger.protect`) and writes into
the *published folder* only what passed: ``content.json`` with the protected
numbers filled in (no ledger, no facts), the tables as CSV, the figures that
are not withheld, and the output-checking record (``output_check.json`` and
``output_check.md``). The PDF and the HTML are rendered from that folder, so
a renderer can only ever see protected numbers.
"""
from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pandas as pd

from ..data import io as alis_io
from ..errors import AlisError
from .content import CONTENT_FILE, CONTENT_SCHEMA, read_content
from .audit import protect
from .ledger import WITHHELD, Ledger, Protection, has_tokens, resolve_text

OUTPUT_CHECK_JSON = "output_check.json"
OUTPUT_CHECK_MD = "output_check.md"
OUTPUT_CHECK_SCHEMA = "alis-research/output-check/1"

#: Texts of the protection step (nb, en).
_TEXT = {
    "figure_withheld": ("Figuren er holdt tilbake: tallene bak den ville kunne avsløre et antall under {m}.",
                        "The figure is withheld: the numbers behind it could reveal a count below {m}."),
    "record_intro": (
        "Alle tall i rapporten er kontrollert samlet før publisering. «:» betyr holdt tilbake. "
        "{n} antall og {d} avledede tall er holdt tilbake (regel: minste viste antall {m}); revisjonen fant "
        "ingen skjult antall som kan regnes tilbake til 1–{m1} fra det som er publisert.",
        "Every number in the report was checked together before publication. ':' means withheld. "
        "{n} counts and {d} derived numbers are withheld (rule: smallest count shown {m}); the audit found "
        "no hidden count that can be worked back to 1–{m1} from what is published."),
    "cap_withheld": ("Holdt tilbake (alle av samme grunn: for å verne små antall)",
                     "Withheld (all for one reason: to protect small counts)"),
    "col_what": ("Hva", "What"),
}

#: The one reason the published record gives for every withheld number. Why a number is withheld
#: (below the threshold, protecting another, derived from one) would tell the reader which
#: withheld counts are 1 … min_cell − 1 and which are not; those reasons stay in the restricted
#: folder (``withheld_reasons.json``).
PUBLISHED_REASON = "withheld (below the threshold, or to protect another number)"


def _t(key: str, language: str, **kwargs) -> str:
    nb, en = _TEXT[key]
    return (en if language == "en" else nb).format(**kwargs)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def table_csv_text(block: dict) -> str:
    return pd.DataFrame(block["rows"], columns=block["columns"]).to_csv(index=False, lineterminator="\n")


def withheld_rows(ledger: Ledger, protection: Protection, language: str) -> list[list[str]]:
    """One row per withheld number: what it counts (its label), counts first; never why (see
    :data:`PUBLISHED_REASON`)."""
    rows = [[ledger.cells[k]["label"] or k] for k in sorted(protection.withheld, key=lambda k: ledger.cells[k]["label"])]
    labels = sorted({ledger.derived[k]["label"] or k for k in protection.derived_withheld})
    return rows + [[label] for label in labels]


def protect_content(work_dir, publish_dir, *, min_cell: int | None = None) -> Protection:
    """Protect the working folder's report and write the publishable content into ``publish_dir``.

    Raises :class:`~.ledger.DisclosureAuditFailed` (nothing written) when the
    audit fails, and :class:`AlisError` when a token is left unresolved.
    """
    work_dir, publish_dir = Path(work_dir), Path(publish_dir)
    document = read_content(work_dir)
    meta = document.get("meta") or {}
    if not meta or not document.get("sections"):
        raise AlisError(f"{work_dir / CONTENT_FILE} has no report content to protect")
    language = meta.get("language", "nb")
    min_cell = int(min_cell if min_cell is not None else meta.get("min_cell"))
    ledger = Ledger.from_dict(document.get("ledger"))
    protection = protect(ledger, min_cell)
    for sub in ("figures", "tables"):  # present even when every figure is withheld
        (publish_dir / sub).mkdir(parents=True, exist_ok=True)
    thousands = "\u00a0" if language == "nb" else ","

    def res(text):
        return resolve_text(str(text), ledger, protection, thousands=thousands)

    sections = []
    for section in document["sections"]:
        blocks = []
        for block in section["blocks"]:
            kind = block["type"]
            block = dict(block)
            if kind in ("paragraph", "heading"):
                block["text"] = res(block["text"])
            elif kind == "list":
                block["items"] = [res(i) for i in block["items"]]
            elif kind == "table":
                if not block["columns"] or not block["rows"]:
                    continue  # an analysis that gave no rows (e.g. a small area): nothing to lay out
                block["caption"] = res(block["caption"])
                block["columns"] = [res(c) for c in block["columns"]]
                block["rows"] = [[res(c) for c in row] for row in block["rows"]]
                block["notes"] = [res(n) for n in block.get("notes", [])]
                alis_io.atomic_write_text(publish_dir / block["file"], table_csv_text(block))
            elif kind == "figure":
                guard = block.pop("guard", None)
                if guard is not None and res(guard) == WITHHELD:
                    block = {"type": "paragraph", "text": _t("figure_withheld", language, m=min_cell)}
                else:
                    block["caption"] = res(block["caption"])
                    target = publish_dir / block["file"]
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(work_dir / block["file"], target)
            elif kind == "withheld_record":
                rows = withheld_rows(ledger, protection, language)
                blocks.append({"type": "paragraph", "text": _t(
                    "record_intro", language, n=len(protection.withheld), d=len(protection.derived_withheld),
                    m=min_cell, m1=min_cell - 1)})
                if rows:
                    block = {"type": "table", "id": "withheld", "caption": _t("cap_withheld", language),
                             "columns": [_t("col_what", language)], "rows": rows,
                             "notes": [], "file": "tables/withheld.csv"}
                    alis_io.atomic_write_text(publish_dir / block["file"], table_csv_text(block))
                else:
                    continue
            blocks.append(block)
        sections.append({"key": section["key"], "title": res(section["title"]), "blocks": blocks})
    published = {"schema": CONTENT_SCHEMA, "meta": meta, "sections": sections}
    text = json.dumps(published, ensure_ascii=False, indent=2, sort_keys=True, allow_nan=False) + "\n"
    if has_tokens(text):
        raise AlisError("a number reference was left unresolved in the published content")
    alis_io.atomic_write_text(publish_dir / CONTENT_FILE, text)
    return protection


def write_output_check(work_dir, publish_dir, protection: Protection, *, extra: dict | None = None) -> Path:
    """The output-checking record: every published file with its SHA-256, the checks, what was withheld and why.

    Written beside the report as ``output_check.json`` (for tools) and
    ``output_check.md`` (for the person who checks outputs). The record holds
    no count: withheld cells are named by what they count, with the attacker's
    interval only as "at least min_cell − 1 wide" (the exact interval stays in
    the restricted copy of the record).
    """
    work_dir, publish_dir = Path(work_dir), Path(publish_dir)
    ledger = Ledger.from_dict(read_content(work_dir).get("ledger"))
    meta = read_content(publish_dir).get("meta") or {}
    language = meta.get("language", "nb")
    files = {p.relative_to(publish_dir).as_posix(): _sha256(p) for p in sorted(publish_dir.rglob("*"))
             if p.is_file() and p.name not in (OUTPUT_CHECK_JSON, OUTPUT_CHECK_MD, "manifest.json")}
    m = protection.min_cell
    withheld = [{"what": ledger.cells[k]["label"] or k, "reason": PUBLISHED_REASON,
                 "audit": f"attacker range at least {m - 1} wide"} for k in sorted(
                     protection.withheld, key=lambda k: ledger.cells[k]["label"])]
    derived = [(label, PUBLISHED_REASON) for label in
               sorted({ledger.derived[k]["label"] or k for k in protection.derived_withheld})]
    record = {
        "schema": OUTPUT_CHECK_SCHEMA,
        "min_cell": m,
        "language": language,
        "area": meta.get("area"),
        "checks": [
            "primary: every count from 1 to min_cell-1 withheld",
            "derived: every rate, share, estimate, person-time and figure withheld when a count behind it is "
            "1..min_cell-1 or withheld; the sets a published estimate gives away (a survival estimate: the "
            "exits by its time) count as published in the audit",
            "secondary: whole-report suppression over every relation between the report's counts "
            "(same set = same cell; sums, margins, differences follow from set algebra); numbers no "
            "estimate rests on are withheld first",
            "audit: integer linear programming (HiGHS) gives the attacker's range for every withheld count, "
            "every difference of nested counts and every remainder of a group after disjoint parts of it, "
            f"from all sums and nestings between the report's counts; each range is at least {m - 1} wide",
            "published folder holds only protected artefacts (no results.json, no notebooks, no logs)",
        ],
        "audit": {"passed": protection.audit.passed, "targets_checked": protection.audit.n_targets,
                  "integer_programs_solved": protection.audit.n_programs, "rounds": protection.rounds},
        "withheld_counts": withheld,
        "withheld_derived": [{"what": w, "reason": r} for w, r in derived],
        "published_files": files,
        **(extra or {}),
    }
    alis_io.atomic_write_text(publish_dir / OUTPUT_CHECK_JSON,
                              json.dumps(record, ensure_ascii=False, indent=2, sort_keys=True) + "\n")
    lines = [f"# Output-checking record ({meta.get('area', '')}, {language})", "",
             f"Rule: smallest count shown {m}; one mark `{WITHHELD}` for every withheld number.", "",
             "## Checks applied", *[f"- {c}" for c in record["checks"]], "",
             f"## Audit: {'passed' if protection.audit.passed else 'FAILED'} "
             f"({protection.audit.n_targets} targets, {protection.audit.n_programs} integer programs, "
             f"{protection.rounds} rounds)", "", "## Withheld counts", "",
             "| What | Reason | Audit |", "|---|---|---|",
             *[f"| {w['what']} | {w['reason']} | {w['audit']} |" for w in withheld], "",
             "## Withheld derived numbers", "", "| What | Reason |", "|---|---|",
             *[f"| {w} | {r} |" for w, r in derived], "", "## Published files (SHA-256)", "",
             *[f"- `{name}` {sha}" for name, sha in files.items()], ""]
    alis_io.atomic_write_text(publish_dir / OUTPUT_CHECK_MD, "\n".join(lines))
    # the exact intervals stay on the restricted side
    # [low, high] the attacker can prove; a count of min_cell or more is recorded as [value, inf]
    # (safe by construction), and the low end of a wide range may be the true value (one program)
    exact = {ledger.cells[k]["label"] or k: list(map(lambda x: "inf" if x == float("inf") else int(x), v))
             for k, v in protection.audit.intervals.items()}
    alis_io.atomic_write_text(work_dir / "audit_intervals.json",
                              json.dumps(exact, ensure_ascii=False, indent=2, sort_keys=True) + "\n")
    reasons = {"counts": {ledger.cells[k]["label"] or k: r for k, r in protection.withheld.items()},
               "derived": {ledger.derived[k]["label"] or k: r for k, r in protection.derived_withheld.items()}}
    alis_io.atomic_write_text(work_dir / "withheld_reasons.json",
                              json.dumps(reasons, ensure_ascii=False, indent=2, sort_keys=True) + "\n")
    return publish_dir / OUTPUT_CHECK_JSON


#: Sections of the in-process build, in the notebook's order.
IN_PROCESS_SECTIONS = ("methods", "data_quality", "cohort", "retention", "turnover", "duration",
                       "comparison_groups", "costs", "pathway", "limitations", "summary", "appendix")


def write_content_in_process(prepared, work_dir, *, dataset="synthetic", area: str = "all", language: str = "nb",
                             min_cell: int = 5, register=None, sections=IN_PROCESS_SECTIONS,
                             made: str = "2000-01-01") -> Path:
    """Write a report's working ``content.json`` the way the notebook does, in this process.

    For tests and benchmarks of the protection (no kernel, no PDF); the
    published report is always made by the notebook (:func:`~.build.build_report`).
    """
    from . import sections as sec
    from . import sections_appendix, sections_cohort, sections_costs, sections_duration, sections_methods
    from . import sections_register, sections_retention
    from .content import write_meta, write_section

    work_dir = Path(work_dir)
    write_meta(work_dir, sec.report_meta(prepared, dataset=dataset, area=area, language=language,
                                         min_cell=min_cell, made=made))
    kwargs = {"language": language, "min_cell": min_cell}
    built = {}
    calls = {
        "methods": lambda: sections_methods.methods_section(prepared, **kwargs),
        "data_quality": lambda: sections_cohort.data_quality_section(prepared, **kwargs),
        "cohort": lambda: sections_cohort.cohort_section(prepared, **kwargs),
        "retention": lambda: sections_retention.retention_section(prepared, **kwargs),
        "turnover": lambda: sections_retention.turnover_section(prepared, **kwargs),
        "duration": lambda: sections_duration.contract_duration_section(prepared, **kwargs),
        "comparison_groups": lambda: (None if register is None else sections_register.comparison_groups_section(
            sections_register.load_comparison(prepared, dataset=dataset, register=register, area=area), **kwargs)),
        "costs": lambda: sections_costs.costs_section(prepared, **kwargs),
        "pathway": lambda: sections_costs.pathway_section(prepared, dataset=dataset, **kwargs),
        "limitations": lambda: sections_methods.limitations_section(prepared, **kwargs),
        "summary": lambda: sec.summary_section(prepared, {s.key: s.facts for s in built.values() if s}, **kwargs),
        "appendix": lambda: sections_appendix.appendix_section(prepared, dataset=dataset, area=area, **kwargs),
    }
    for name in sections:
        section = calls[name]()
        built[name] = section
        if section is not None:
            write_section(work_dir, section)
    return work_dir / CONTENT_FILE
