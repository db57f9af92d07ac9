"""Published reports: sections for the notebooks, one papermill run per report, PDF and HTML.

Notebooks use this module's functions to compute the report's sections
(``*_section``) and to write them (``write_meta``, ``write_section``,
``write_results``): notebooks write no files themselves. ``build_report``
runs the evaluation-report notebook once and renders the PDF (Typst) and
the HTML from what it wrote; ``cli_report`` is ``alis-research report``.
"""
from __future__ import annotations

from .build import (
    ReportFailed,
    ReportOutcome,
    build_report,
    report_inputs_key,
    report_name,
    resolve_kernel,
)
from .content import Section, read_content, write_meta, write_results, write_section
from .render import render_html, render_pdf
from .sections import (
    appendix_section,
    cohort_section,
    contract_duration_section,
    data_quality_section,
    limitations_section,
    load_for_report,
    methods_section,
    report_meta,
    retention_section,
    select_area,
    summary_section,
    turnover_section,
)
from .sections_register import comparison_groups_section, load_comparison
from .sections_costs import (
    PathwayInputs,
    costs_section,
    design_from_data,
    detectable_effect,
    load_pathway_inputs,
    pathway_section,
)

__all__ = [
    "ReportFailed", "ReportOutcome", "Section", "appendix_section", "build_report", "cli_report",
    "cohort_section", "collect_facts", "collect_suppression", "contract_duration_section",
    "data_quality_section", "limitations_section", "load_for_report", "methods_section", "read_content",
    "render_html", "render_pdf", "report_inputs_key", "report_meta", "report_name", "resolve_kernel",
    "retention_section", "select_area", "summary_section", "turnover_section", "write_meta",
    "write_results", "write_section",
    # comparison groups from a GP-register extract (sections_register)
    "comparison_groups_section", "load_comparison",
    # costs, pathway and precision (sections_costs)
    "PathwayInputs", "costs_section", "design_from_data", "detectable_effect", "load_pathway_inputs",
    "pathway_section",
]


def collect_facts(*sections: Section) -> dict:
    """``{section key: facts}`` of computed sections, for :func:`summary_section`."""
    return {s.key: s.facts for s in sections}


def collect_suppression(*sections: Section) -> list[dict]:
    """Every suppression entry of the given sections (for the appendix)."""
    return [entry.as_dict() for s in sections for entry in s.suppression]


def cli_report(args) -> int:
    """``alis-research report DIR --as-of DATE [--area] [--language] [--min-cell] [--out]``."""
    outcome = build_report(args.dataset, as_of=args.as_of, area=args.area, language=args.language,
                           min_cell=args.min_cell, out_dir=args.out, register=getattr(args, "register", None))
    print(f"report written to {outcome.path}")
    for label, path in (("PDF", outcome.pdf), ("HTML", outcome.html), ("record", outcome.output_check),
                        ("manifest", outcome.manifest), ("restricted", outcome.restricted)):
        print(f"  {label:<9} {path}")
    print("timings (s): " + ", ".join(f"{k} {v:.1f}" for k, v in outcome.timings.items()))
    return 0
