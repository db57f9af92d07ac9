"""Published reports: sections for the notebooks, one papermill run per report, PDF and HTML.

Notebooks use this module's functions to compute the report's sections
(``*_section``) and to write them (``write_meta``, ``write_section``,
``write_results``): notebooks write no files themselves. ``build_report``
runs the evaluation-report notebook once and renders the PDF (Typst) and
the HTML from what it wrote (``alis-research report``, :mod:`alis_research.cli.report`).
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .content import Section

# Public names -> the submodule defining them. Imported on first use (PEP 562), so that
# ``regenerate`` with nothing to do, and ``alis-research --help``, do not load pandas,
# matplotlib, lifelines or Jupyter.
_EXPORTS = {
    **dict.fromkeys(("ReportFailed", "ReportOutcome", "build_report", "resolve_kernel"), ".build"),
    **dict.fromkeys(("report_inputs_key", "report_name"), ".inputs"),
    **dict.fromkeys(("Section", "read_content", "write_meta", "write_results", "write_section"), ".content"),
    **dict.fromkeys(("render_html", "render_pdf"), ".render"),
    **dict.fromkeys(("load_for_report", "report_meta", "select_area", "summary_section"), ".sections"),
    **dict.fromkeys(("cohort_section", "data_quality_section"), ".sections_cohort"),
    **dict.fromkeys(("retention_section", "turnover_section"), ".sections_retention"),
    "contract_duration_section": ".sections_duration",
    **dict.fromkeys(("limitations_section", "methods_section", "references_section"), ".sections_methods"),
    "appendix_section": ".sections_appendix",
    **dict.fromkeys(("Publication", "publication_from_mapping"), ".publication"),
    **dict.fromkeys(("comparison_groups_section", "load_comparison"), ".sections_register"),
    "robustness_section": ".sections_robustness",
    "small_cohorts_section": ".sections_small_cohorts",
    **dict.fromkeys(("PathwayInputs", "costs_section", "design_from_data", "detectable_effect",
                     "load_pathway_inputs", "pathway_section"), ".sections_costs"),
}


#: Submodules reachable as attributes (``report.sections_costs.COST_PATIENTS`` in the costs notebook).
_SUBMODULES = frozenset({"build", "content", "inputs", "notes", "publication", "publish", "regenerate", "render",
                         "matrix", "sections", "sections_appendix", "sections_cohort", "sections_duration",
                         "sections_methods", "sections_retention",
                         "sections_costs", "sections_register", "sections_robustness", "sections_small_cohorts",
                         "text"})


def __getattr__(name: str):
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))


__all__ = [
    "Publication", "ReportFailed", "ReportOutcome", "Section", "publication_from_mapping", "appendix_section", "build_report",
    "cohort_section", "collect_facts", "collect_suppression", "contract_duration_section",
    "data_quality_section", "limitations_section", "load_for_report", "methods_section", "read_content",
    "references_section",
    "render_html", "render_pdf", "report_inputs_key", "report_meta", "report_name", "resolve_kernel",
    "retention_section", "select_area", "summary_section", "turnover_section", "write_meta",
    "write_results", "write_section",
    # comparison groups from a GP-register extract (sections_register)
    "comparison_groups_section", "load_comparison",
    # costs, pathway and precision (sections_costs)
    "PathwayInputs", "costs_section", "design_from_data", "detectable_effect", "load_pathway_inputs",
    "pathway_section",
    # robustness: IPW, E-value, pooled programmes (sections_robustness)
    "robustness_section",
    # exact tests, Firth Cox and competing exits for small cohorts (sections_small_cohorts)
    "small_cohorts_section",
]


def collect_facts(*sections: Section) -> dict:
    """``{section key: facts}`` of computed sections, for :func:`summary_section`."""
    return {s.key: s.facts for s in sections}


def collect_suppression(*sections: Section) -> list[dict]:
    """Every suppression entry of the given sections (for the appendix)."""
    return [entry.as_dict() for s in sections for entry in s.suppression]
