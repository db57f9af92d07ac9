"""The research notebooks: their shape (tier 1) and an end-to-end run of every one (tier 2).

The notebooks are edited in JupyterLab and committed as saved there, without outputs.
The checks are the ones that matter for papermill and for review: one ``parameters``
cell of plain literals, then one import cell; no function or class definitions (code
that two notebooks need belongs in the package); no committed outputs or execution
counts; the project kernelspec in the metadata.  Every notebook is executed with
papermill with the kernel named explicitly (a kernel name that is not installed
fails, PITFALLS): each topic notebook through the ``papermill`` command on a fresh kernel, and every
notebook on the small hand-made fixtures on one warm kernel (as ``regenerate`` runs them).
"""
from __future__ import annotations

import ast
import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from alis_research.report import read_content, resolve_kernel

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK_DIR = ROOT / "notebooks"
FIXTURES = Path(__file__).parent / "fixtures"
SMALL = FIXTURES / "report_small"
GOOD_SMALL = FIXTURES / "good_small"
REGISTER = FIXTURES / "report_register"
TOPICS = ["cohort_description.ipynb", "comparison_groups.ipynb", "contract_duration.ipynb", "costs.ipynb",
          "data_quality.ipynb", "retention.ipynb", "specialist_pathway.ipynb", "turnover.ipynb"]
EXPECTED = set(TOPICS) | {"evaluation_report.ipynb"}
ALL = sorted(p.name for p in NOTEBOOK_DIR.glob("*.ipynb"))
PARAMETER_NAMES = ["dataset", "as_of", "area", "language", "min_cell", "output_dir"]
#: Notebooks that can use a GP-register extract take its folder as one more parameter (issue 5).
REGISTER_NOTEBOOKS = {"evaluation_report.ipynb", "comparison_groups.ipynb"}
KERNELSPEC = {"name": "alis-research", "display_name": "Python (alis-research)"}


def notebook_problems(raw: dict, *, register: bool = False) -> list[str]:
    """What is wrong with a notebook file's JSON for this project (empty when nothing is)."""
    problems = []
    try:
        nb = nbformat.from_dict(copy.deepcopy(raw))
        nbformat.validate(nb)
    except Exception as exc:  # nbformat raises several types for a malformed notebook
        return [f"not a valid notebook: {exc}"]
    kernelspec = raw["metadata"].get("kernelspec", {})
    if {k: kernelspec.get(k) for k in KERNELSPEC} != KERNELSPEC:
        problems.append(f"kernelspec must be {KERNELSPEC}, found {kernelspec or 'none'}")
    if "papermill" in raw["metadata"]:
        problems.append("papermill metadata committed: save the template, not an executed copy")
    code = [c for c in raw["cells"] if c["cell_type"] == "code"]
    for index, cell in enumerate(code):
        if cell.get("outputs") or cell.get("execution_count") is not None:
            problems.append(f"code cell {index} has outputs or an execution count: clear them before committing")
    tagged = [c for c in raw["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
    if len(tagged) != 1:
        return problems + [f"expected exactly one cell tagged 'parameters', found {len(tagged)}"]
    names = []
    for node in ast.parse(_source(tagged[0])).body:
        if not (isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
                and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)):
            problems.append(f"parameters cell must hold plain literal assignments, found: {ast.unparse(node)}")
            continue
        names.append(node.targets[0].id)
    expected = PARAMETER_NAMES + (["register"] if register else [])
    if names != expected:
        problems.append(f"parameters must be {expected}, found {names}")
    if not code or code[0] is not tagged[0]:
        problems.append("the parameters cell must be the first code cell")
    elif len(code) < 2 or not _source(code[1]).startswith(("import ", "from ")):
        problems.append("the second code cell must be the imports")
    for index, cell in enumerate(code):
        for node in ast.walk(ast.parse(_source(cell))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
                problems.append(f"code cell {index} defines a function or class: put it in the package")
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "open":
                problems.append(f"code cell {index} opens a file: notebooks write files only through the package")
    return problems


def _source(cell: dict) -> str:
    source = cell["source"]
    return "".join(source) if isinstance(source, list) else source


def _raw(name: str) -> dict:
    return json.loads((NOTEBOOK_DIR / name).read_text(encoding="utf-8"))


# --------------------------------------------------------------------------- tier 1: shape
def test_every_notebook_is_there_and_checked():
    assert set(ALL) == EXPECTED, "a new notebook must be added to the checks and runs below"


@pytest.mark.parametrize("name", ALL)
def test_notebook_passes_the_checks(name):
    assert notebook_problems(_raw(name), register=name in REGISTER_NOTEBOOKS) == []


def _as_saved_by_jupyterlab() -> dict:
    """A notebook as JupyterLab 4 writes it after editing and clearing outputs."""
    return {
        "cells": [
            {"cell_type": "markdown", "id": "3f1c2a9e-5b7d-4c1e-9a3b-2d4e6f8a0b1c", "metadata": {},
             "source": ["# Retention, my way\n", "\n", "A note written in JupyterLab."]},
            {"cell_type": "code", "execution_count": None, "id": "a7d9e0b2-1c3f-4e5a-8b6d-0f2e4c6a8b0d",
             "metadata": {"tags": ["parameters"]}, "outputs": [],
             "source": ["dataset = \"synthetic\"\n", "as_of = \"2024-12-31\"\n", "area = \"all\"\n",
                        "language = \"nb\"\n", "min_cell = 5\n", "output_dir = \"\""]},
            {"cell_type": "code", "execution_count": None, "id": "c4e6a8b0-2d4f-4a6c-8e0b-1a3c5e7a9b1d",
             "metadata": {"scrolled": True}, "outputs": [],
             "source": ["import alis_research as ar"]},
            {"cell_type": "code", "execution_count": None, "id": "e8a0c2d4-6f8b-4c0e-9a2c-4e6a8c0e2a4b",
             "metadata": {}, "outputs": [],
             "source": ["data = ar.load_dataset(dataset, as_of=as_of, area=area)\n",
                        "ar.plot_kaplan_meier(ar.kaplan_meier(data))"]},
        ],
        "metadata": {
            "kernelspec": {"display_name": "Python (alis-research)", "language": "python", "name": "alis-research"},
            "language_info": {"codemirror_mode": {"name": "ipython", "version": 3}, "file_extension": ".py",
                              "mimetype": "text/x-python", "name": "python", "nbconvert_exporter": "python",
                              "pygments_lexer": "ipython3", "version": "3.11.7"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def test_a_notebook_saved_from_jupyterlab_passes_the_checks():
    assert notebook_problems(_as_saved_by_jupyterlab()) == []


def test_the_checks_catch_what_matters():
    executed = _as_saved_by_jupyterlab()
    executed["cells"][3]["execution_count"] = 3
    executed["cells"][3]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": ["E001 P17\n"]}]
    executed["metadata"]["papermill"] = {"parameters": {}}
    assert any("outputs" in p for p in notebook_problems(executed))
    assert any("papermill" in p for p in notebook_problems(executed))
    two = _as_saved_by_jupyterlab()
    two["cells"][3]["metadata"]["tags"] = ["parameters"]
    assert notebook_problems(two) == ["expected exactly one cell tagged 'parameters', found 2"]
    derived = _as_saved_by_jupyterlab()
    derived["cells"][1]["source"].append("\nyears = 2024 - 2019")
    assert any("plain literal" in p for p in notebook_problems(derived))
    helper = _as_saved_by_jupyterlab()
    helper["cells"][3]["source"] = ["def median(x):\n", "    return x\n"]
    assert any("defines a function" in p for p in notebook_problems(helper))
    no_kernel = _as_saved_by_jupyterlab()
    del no_kernel["metadata"]["kernelspec"]
    assert any("kernelspec" in p for p in notebook_problems(no_kernel))


def test_kaplan_meier_and_cox_in_under_ten_lines():
    """The retention notebook answers its question with the public API in a handful of lines."""
    code = [c for c in _raw("retention.ipynb")["cells"] if c["cell_type"] == "code"][1:]  # after the parameters
    lines = [line for c in code for line in _source(c).splitlines() if line.strip() and not line.lstrip().startswith("#")]
    cox_line = next(i for i, line in enumerate(lines) if "ar.cox_model(" in line)
    assert any("ar.kaplan_meier(" in line for line in lines[:cox_line])
    assert cox_line + 1 < 10, lines[: cox_line + 1]


# --------------------------------------------------------------------------- tier 2: execution
@pytest.fixture(scope="module")
def kernel() -> str:
    return resolve_kernel()


def _dataset_for(name: str, demo_dataset: Path) -> Path:
    return REGISTER if name == "comparison_groups.ipynb" else demo_dataset


@pytest.mark.slow
@pytest.mark.parametrize("name", TOPICS)
def test_topic_notebook_runs_with_the_papermill_command(name, kernel, demo_dataset, tmp_path):
    out = tmp_path / "out"
    executed = tmp_path / name
    command = [sys.executable, "-m", "papermill", str(NOTEBOOK_DIR / name), str(executed), "-k", kernel,
               "-r", "dataset", str(_dataset_for(name, demo_dataset)), "-r", "as_of", "2024-12-31",
               "-r", "area", "all", "-r", "language", "en", "-r", "output_dir", str(out), "--cwd", str(ROOT),
               "--no-progress-bar"]
    # The kernel draws inline, as in JupyterLab; an MPLBACKEND from the caller (CI exports Agg for
    # the in-process plots) would make it draw off-screen and the notebook would show no figures.
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    run = subprocess.run(command, capture_output=True, text=True, timeout=600, env=env)
    assert run.returncode == 0, run.stderr[-3000:]
    content = read_content(out)
    assert len(content["sections"]) == 1
    assert content["sections"][0]["blocks"], "the published section has content"
    nb = nbformat.read(executed, as_version=4)
    assert all(c.execution_count for c in nb.cells if c.cell_type == "code")
    assert any(o.get("output_type") == "display_data" and "image/png" in o.get("data", {})
               for c in nb.cells if c.cell_type == "code" for o in c.outputs) or name in (
        "data_quality.ipynb", "cohort_description.ipynb"), "the analyses draw their figures"


# every notebook on the small-cell fixture; the validation engineer's fixture through the
# evaluation notebook, which runs every section
SMALL_RUNS = [(name, SMALL) for name in sorted(EXPECTED)] + [("evaluation_report.ipynb", GOOD_SMALL)]


@pytest.fixture(scope="module")
def warm_kernel(kernel):
    """The small-data runs share one warm kernel (per xdist worker), reset between notebooks as a
    ``regenerate`` worker's is: a kernel start is seconds and is checked by the papermill-command runs
    above, which start their own."""
    from alis_research.report.build import shutdown_warm_kernel

    yield kernel
    shutdown_warm_kernel()


@pytest.mark.parametrize(("name", "dataset"), SMALL_RUNS,
                         ids=[f"{n.removesuffix('.ipynb')}-{d.name}" for n, d in SMALL_RUNS])
@pytest.mark.slow
def test_every_notebook_runs_on_small_hand_made_data(name, dataset, warm_kernel, tmp_path):
    if not (dataset / "episodes.csv").exists():
        pytest.skip(f"fixture {dataset.name} not present")
    from alis_research.report.build import execute_notebook

    out = tmp_path / "out"
    out.mkdir()
    # papermill on this worker's warm kernel; a failing cell raises ReportFailed naming the cell
    execute_notebook(NOTEBOOK_DIR / name, tmp_path / name, {"dataset": str(dataset), "as_of": "2024-12-31",
                                                            "area": "all", "language": "nb", "min_cell": 5,
                                                            "output_dir": str(out)},
                     kernel_name=warm_kernel, cwd=ROOT, reuse_kernel=True)
    content = read_content(out)
    if name == "comparison_groups.ipynb":  # no register extract in the fixture: nothing to publish
        assert content["sections"] == []
        return
    assert content["sections"]
    if name == "evaluation_report.ipynb":
        keys = [s["key"] for s in content["sections"]]
        assert keys == ["summary", "methods", "data_quality", "cohort_description", "retention", "turnover",
                        "contract_duration", "robustness", "small_cohorts", "costs", "pathway", "limitations",
                        "references", "appendix"]
        assert (out / "results.json").is_file()
