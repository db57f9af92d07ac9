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


def _notebook(name: str, title: str, what: str, body: list[tuple[str, str]]) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata = {"language_info": {"name": "python"}}
    cells = [nbformat.v4.new_markdown_cell(INTRO.format(title=title, what=what, name=name))]
    params = nbformat.v4.new_code_cell(PARAMETERS)
    params.metadata["tags"] = ["parameters"]
    cells += [params, nbformat.v4.new_code_cell(IMPORTS), nbformat.v4.new_code_cell(LOAD)]
    for kind, source in body:
        cells.append(nbformat.v4.new_markdown_cell(source) if kind == "markdown" else nbformat.v4.new_code_cell(source))
    for index, cell in enumerate(cells):
        cell["id"] = f"{Path(name).stem.replace('_', '-')}-{index:02d}"  # stable ids: identical files every run
    nb.cells = cells
    return nb


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
        ("markdown", "## Limitations"),
        *_section("limitations", "limitations_section"),
        ("markdown", "## Summary of findings (written from the numbers above)"),
        ("code", "facts = report.collect_facts(data_quality, cohort, retention, turnover, duration, limitations)\n"
                 "summary = report.summary_section(prepared, facts, language=language, min_cell=min_cell)\n"
                 "report.write_section(output_dir, summary)\nsummary"),
        ("markdown", "## Appendix: provenance and the suppression applied"),
        ("code", "suppression = report.collect_suppression(data_quality, cohort, retention, turnover, duration)\n"
                 "appendix = report.appendix_section(prepared, dataset=dataset, area=area, language=language,\n"
                 "                                   min_cell=min_cell, suppression=suppression)\n"
                 "report.write_section(output_dir, appendix)\nappendix"),
        ("markdown", "## Machine-readable results (internal: unsuppressed, `publishable: false`)"),
        ("code", "from alis_research.results import build_results\n\n"
                 "results = build_results(prepared)\nreport.write_results(output_dir, results)"),
    ]
    return _notebook("evaluation_report.ipynb", "Evaluation report: fastlønn vs næring",
                     "Assembles the publication: every section is computed and written to the report folder "
                     "through `alis_research.report`; `alis-research report` then renders the PDF and HTML.", body)


def all_notebooks() -> dict[str, nbformat.NotebookNode]:
    notebooks = {name: _notebook(name, title, what, [c for var, fn in sections for c in _section(var, fn)])
                 for name, (title, what, sections) in TOPICS.items()}
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
