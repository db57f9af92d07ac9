"""Write the parameterised notebooks in notebooks/ from the definitions below.

The notebooks are generated (not hand-edited) so that they stay thin,
reviewable and identical on every run: no outputs, no execution counts, no
kernelspec in the metadata (papermill and the tests name the kernel
explicitly). Run after changing a notebook's cells:

    .venv/bin/python scripts/make_notebooks.py

``tests/test_notebooks.py`` checks that the committed notebooks equal what
this script writes.
"""
from __future__ import annotations

import sys
from pathlib import Path

import nbformat

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"

PARAMETERS = '''dataset = "synthetic"
as_of = "2024-12-31"
area = "all"
language = "nb"
min_cell = 5
output_dir = ""'''

IMPORTS = '''from alis_research import report'''

#: The notebooks that can use a GP-register extract take one more parameter: its folder
#: ("" = the dataset's register/ subfolder when present, else no register section).
PARAMETERS_REGISTER = PARAMETERS + '''
register = ""'''

COMPARISON_SECTION = (
    "comparison = report.load_comparison(prepared, dataset=dataset, register=register, area=area)\n"
    "comparison_groups = None if comparison is None else report.comparison_groups_section(\n"
    "    comparison, language=language, min_cell=min_cell)\n"
    "if comparison_groups is not None:  # only with a register extract\n"
    "    report.write_section(output_dir, comparison_groups)\n"
    "comparison_groups")

LOAD = '''prepared = report.load_for_report(dataset, as_of=as_of, area=area)
print(prepared.summary())'''


def _section(variable: str, function: str) -> list[tuple[str, str]]:
    return [
        ("code", f"{variable} = report.{function}(prepared, language=language, min_cell=min_cell)\n"
                 f"report.write_section(output_dir, {variable})\n{variable}"),
    ]


TOPICS = {
    "data_quality.ipynb": ("Data quality and the flow of episodes",
                           "How many episodes came in, how many were excluded and why, and what is analysed.",
                           [("data_quality", "data_quality_section")]),
    "cohort_description.ipynb": ("Cohort description",
                                 "Table 1: the fastlønn and næring cohorts (contract type at start), with suppression.",
                                 [("cohort", "cohort_section")]),
    "retention.ipynb": ("Retention", "Kaplan–Meier retention, survival at 1/2/3/5 years, median, log-rank and RMST.",
                        [("retention", "retention_section")]),
    "turnover.ipynb": ("Turnover", "Exits per 100 person-years by current contract type, rate ratio, vacancy.",
                       [("turnover", "turnover_section")]),
    "contract_duration.ipynb": ("Contract duration",
                                "Cox models crude and adjusted for size class, PH check, competing risks, "
                                "parametric medians, and the Abelsen et al. 2015 view.",
                                [("duration", "contract_duration_section")]),
}

INTRO = """# {title}

{what}

Parameters (first cell, tagged `parameters`; papermill injects overrides after it):
`dataset` (folder or name under `data/raw/`), `as_of` (YYYY-MM-DD), `area` (`all`, `Finnmark`, `UNN`,
`Nordland`, `Helgeland`), `language` (`nb`/`en`), `min_cell` (smallest count shown), `output_dir`
(report folder to write into through the package; empty = write nothing).

Everything is computed by the `alis_research` package; this notebook only calls it and shows the result.
Run it top to bottom with the project kernel, or e.g.
`papermill notebooks/{name} out.ipynb -k alis-research -r as_of 2024-12-31 -r area Nordland`."""


def _notebook(name: str, title: str, what: str, body: list[tuple[str, str]], imports: str = IMPORTS,
              parameters: str = PARAMETERS) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata = {"language_info": {"name": "python"}}
    cells = [nbformat.v4.new_markdown_cell(INTRO.format(title=title, what=what, name=name))]
    params = nbformat.v4.new_code_cell(parameters)
    params.metadata["tags"] = ["parameters"]
    cells += [params, nbformat.v4.new_code_cell(imports), nbformat.v4.new_code_cell(LOAD)]
    for kind, source in body:
        cells.append(nbformat.v4.new_markdown_cell(source) if kind == "markdown" else nbformat.v4.new_code_cell(source))
    for index, cell in enumerate(cells):
        cell["id"] = f"{Path(name).stem.replace('_', '-')}-{index:02d}"  # stable ids: identical files every run
    nb.cells = cells
    return nb


PATHWAY_SECTION = ("pathway = report.pathway_section(prepared, dataset=dataset, language=language, min_cell=min_cell)\n"
                   "report.write_section(output_dir, pathway)\npathway")


def costs_notebook() -> nbformat.NotebookNode:
    body: list[tuple[str, str]] = [
        ("markdown", "## The cost model: yearly municipal cost per contract model (2019 NOK, no person data)\n\n"
                     "Seed 003's table for 800 patients: 360,800 (private list), 1,069,125 (ALIS year 1), "
                     "569,125 (years 2–5), extra cost 208,325 a year. Lines marked `*` are documented assumptions."),
        ("code", "print(costs.format_cost_table(costs.yearly_costs(report.sections_costs.COST_PATIENTS)))"),
        ("markdown", "## Cost per retained GP-year by cohort, and the sensitivity table (the report section)"),
        *_section("cost", "costs_section"),
        ("markdown", "## Precision: power of the ALIS-Nord design (17 + 15, 2019–2024) by simulation"),
        ("code", "power.simulate_power(hazard_ratio=[1.0, 1.5, 2.0, 2.5, 3.0, 4.0], simulations=1000, seed=2019,\n"
                 "                     **power.design_parameters(\"alis-nord\"))"),
        ("markdown", "## The minimal detectable hazard ratio of the design these data describe\n\n"
                     "Cohort sizes, start dates and follow-up to `as_of`; the sentence the report's limitations "
                     "section quotes."),
        ("code", "effects = report.detectable_effect(prepared)\n"
                 "if effects is not None:\n"
                 "    print(power.limitations_text(effects[0], decrease=effects[1], language=language, min_cell=min_cell))\n"
                 "effects"),
    ]
    return _notebook("costs.ipynb", "What a retained GP costs, and how precise the evaluation can be",
                     "The municipal cost model (seeds 003 and 004), the cost per retained GP-year by cohort with "
                     "bootstrap intervals, its sensitivity to list size and horizon, and the power and minimal "
                     "detectable hazard ratio of the design.", body,
                     imports="from alis_research import costs, power, report")


def specialist_pathway_notebook() -> nbformat.NotebookNode:
    body: list[tuple[str, str]] = [
        ("markdown", "## The pathway section\n\nTime to specialist approval (exit before approval competing), the "
                     "share approved within the normed 5 years, the hospital year, and supervision fidelity when "
                     "the dataset has `supervision.csv`. Counts below `min_cell` are suppressed."),
        ("code", PATHWAY_SECTION),
    ]
    return _notebook("specialist_pathway.ipynb", "The specialisation pathway and supervision",
                     "Time to specialist approval per cohort, the hospital year and the promised supervision "
                     "(3 hours a month for 10.5 months a year).", body)


def evaluation_report() -> nbformat.NotebookNode:
    body: list[tuple[str, str]] = [
        ("code", "report.write_meta(output_dir, report.report_meta(prepared, dataset=dataset, area=area,\n"
                 "                                                   language=language, min_cell=min_cell))"),
        ("markdown", "## Methods"),
        ("code", "methods = report.methods_section(prepared, language=language, min_cell=min_cell)\n"
                 "report.write_section(output_dir, methods)"),
        ("markdown", "## Data quality and the flow of episodes"),
        *_section("data_quality", "data_quality_section"),
        ("markdown", "## Cohort description"),
        *_section("cohort", "cohort_section"),
        ("markdown", "## Retention"),
        *_section("retention", "retention_section"),
        ("markdown", "## Turnover"),
        *_section("turnover", "turnover_section"),
        ("markdown", "## Contract duration"),
        *_section("duration", "contract_duration_section"),
        ("markdown", "## Robustness: confounding-adjusted contrasts, E-value, pooled programmes"),
        *_section("robustness", "robustness_section"),
        ("markdown", "## Small cohorts: exact log-rank, Firth-penalised Cox, competing exits"),
        *_section("small_cohorts", "small_cohorts_section"),
        ("markdown", "## Comparison groups (only when a GP-register extract is present)"),
        ("code", COMPARISON_SECTION),
        ("markdown", "## What a retained GP costs"),
        *_section("costs", "costs_section"),
        ("markdown", "## The specialisation pathway and supervision"),
        ("code", PATHWAY_SECTION),
        ("markdown", "## Limitations (quotes the minimal detectable hazard ratio of the design)"),
        *_section("limitations", "limitations_section"),
        ("markdown", "## Summary of findings (written from the numbers above)"),
        ("code", "facts = report.collect_facts(data_quality, cohort, retention, turnover, duration, robustness, costs,\n"
                 "                             pathway, limitations, *[s for s in [comparison_groups] if s])\n"
                 "summary = report.summary_section(prepared, facts, language=language, min_cell=min_cell)\n"
                 "report.write_section(output_dir, summary)\nsummary"),
        *_section("references", "references_section"),
        ("markdown", "## Appendix: provenance and the suppression applied"),
        ("code", "suppression = report.collect_suppression(data_quality, cohort, retention, turnover, duration,\n"
                 "                                         robustness, costs, pathway,\n"
                 "                                         *[s for s in [comparison_groups] if s])\n"
                 "appendix = report.appendix_section(prepared, dataset=dataset, area=area, language=language,\n"
                 "                                   min_cell=min_cell, suppression=suppression,\n"
                 "                                   comparison=comparison)\n"
                 "report.write_section(output_dir, appendix)\nappendix"),
        ("markdown", "## Machine-readable results (internal: unsuppressed, `publishable: false`)"),
        ("code", "from alis_research.results import build_results\n\n"
                 "results = build_results(prepared, comparison=comparison)\nreport.write_results(output_dir, results)"),
    ]
    return _notebook("evaluation_report.ipynb", "Evaluation report: fastlønn vs næring",
                     "Assembles the publication: every section is computed and written to the report folder "
                     "through `alis_research.report`; `alis-research report` then renders the PDF and HTML.", body,
                     parameters=PARAMETERS_REGISTER)


def comparison_groups_notebook() -> nbformat.NotebookNode:
    body: list[tuple[str, str]] = [
        ("markdown", "## The register comparisons (the report section)\n\n"
                     "Needs a GP-register extract: `register` or the dataset's `register/` folder "
                     "(docs/register.md). Without one the cell shows `None`."),
        ("code", COMPARISON_SECTION),
        ("markdown", "## The analyses behind it (internal: unsuppressed)"),
        ("code", "if comparison is not None:\n"
                 "    display(comparison.abelsen, comparison.alis_vs_gps, comparison.did)"),
        ("code", "if comparison is not None:\n"
                 "    display(comparison.did.event_study)"),
    ]
    return _notebook("comparison_groups.ipynb", "Comparison groups from the GP register",
                     "The Abelsen et al. 2015 replication, ALIS versus other GPs of the same municipalities and "
                     "years, and participating versus rejected-applicant versus non-applicant municipalities "
                     "(difference in differences with an event study).", body, parameters=PARAMETERS_REGISTER)


def all_notebooks() -> dict[str, nbformat.NotebookNode]:
    notebooks = {name: _notebook(name, title, what, [c for var, fn in sections for c in _section(var, fn)])
                 for name, (title, what, sections) in TOPICS.items()}
    notebooks["costs.ipynb"] = costs_notebook()
    notebooks["specialist_pathway.ipynb"] = specialist_pathway_notebook()
    notebooks["comparison_groups.ipynb"] = comparison_groups_notebook()
    notebooks["evaluation_report.ipynb"] = evaluation_report()
    return notebooks


def render(nb: nbformat.NotebookNode) -> str:
    return nbformat.writes(nb) + "\n"


def main(argv: list[str] | None = None) -> int:
    NOTEBOOKS.mkdir(exist_ok=True)
    for name, nb in all_notebooks().items():
        nbformat.validate(nb)
        (NOTEBOOKS / name).write_text(render(nb), encoding="utf-8")
        print(f"wrote notebooks/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
