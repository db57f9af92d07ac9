"""The parameterised notebooks: shape (tier 1) and end-to-end execution (tier 2)."""
from __future__ import annotations

import ast
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from alis_research.report import read_content, resolve_kernel

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK_DIR = ROOT / "notebooks"
SMALL = Path(__file__).parent / "fixtures" / "report_small"
GOOD_SMALL = Path(__file__).parent / "fixtures" / "good_small"
EXPECTED = {"data_quality.ipynb", "cohort_description.ipynb", "retention.ipynb", "turnover.ipynb",
            "contract_duration.ipynb", "costs.ipynb", "specialist_pathway.ipynb", "evaluation_report.ipynb"}
TOPICS = sorted(EXPECTED - {"evaluation_report.ipynb"})
PARAMETER_NAMES = ["dataset", "as_of", "area", "language", "min_cell", "output_dir"]
#: Notebooks that can use a GP-register extract take its folder as one more parameter (issue 5).
REGISTER_NOTEBOOKS = {"evaluation_report.ipynb", "comparison_groups.ipynb"}


def _read(name: str) -> nbformat.NotebookNode:
    return nbformat.read(NOTEBOOK_DIR / name, as_version=4)


# --------------------------------------------------------------------------- tier 1: shape
def test_every_notebook_is_there():
    assert EXPECTED <= {p.name for p in NOTEBOOK_DIR.glob("*.ipynb")}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_one_parameters_cell_of_plain_literals(name):
    nb = _read(name)
    nbformat.validate(nb)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, "exactly one cell tagged 'parameters'"
    tree = ast.parse(tagged[0].source)
    names = []
    for node in tree.body:
        assert isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant), \
            f"parameters cell must hold plain literal assignments, found: {ast.unparse(node)}"
        names.append(node.targets[0].id)
    assert names == PARAMETER_NAMES + (["register"] if name in REGISTER_NOTEBOOKS else [])
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code[0] is tagged[0], "the parameters cell comes first"
    assert code[1].source.startswith(("import ", "from ")), "then one import cell"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_committed_without_outputs_or_kernelspec(name):
    raw = json.loads((NOTEBOOK_DIR / name).read_text(encoding="utf-8"))
    assert "kernelspec" not in raw["metadata"]
    assert "papermill" not in raw["metadata"]
    for cell in raw["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_notebooks_define_nothing_and_open_no_files(name):
    for cell in _read(name).cells:
        if cell.cell_type != "code":
            continue
        for node in ast.walk(ast.parse(cell.source)):
            assert not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda))
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id != "open", "notebooks write files only through the package"


def test_notebooks_equal_what_the_generator_writes():
    spec = importlib.util.spec_from_file_location("make_notebooks", ROOT / "scripts" / "make_notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for name, nb in module.all_notebooks().items():
        assert (NOTEBOOK_DIR / name).read_text(encoding="utf-8") == module.render(nb), \
            f"{name} differs from scripts/make_notebooks.py: run it and commit the result"


# --------------------------------------------------------------------------- tier 2: execution
@pytest.fixture(scope="module")
def kernel() -> str:
    return resolve_kernel()


@pytest.mark.slow
@pytest.mark.parametrize("name", TOPICS)
def test_topic_notebook_runs_with_the_papermill_command_on_the_demo(name, kernel, demo_dataset, tmp_path):
    out = tmp_path / "out"
    executed = tmp_path / name
    command = [sys.executable, "-m", "papermill", str(NOTEBOOK_DIR / name), str(executed), "-k", kernel,
               "-r", "dataset", str(demo_dataset), "-r", "as_of", "2024-12-31", "-r", "area", "all",
               "-r", "language", "en", "-r", "output_dir", str(out), "--cwd", str(ROOT), "--no-progress-bar"]
    run = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    content = read_content(out)
    assert len(content["sections"]) == 1
    assert content["sections"][0]["blocks"], "the section has content"
    nb = nbformat.read(executed, as_version=4)
    assert all(c.execution_count for c in nb.cells if c.cell_type == "code")


# every notebook on the small-cell fixture; the validation engineer's fixture through the
# evaluation notebook, which runs every section
SMALL_RUNS = [(name, SMALL) for name in sorted(EXPECTED)] + [("evaluation_report.ipynb", GOOD_SMALL)]


@pytest.mark.parametrize(("name", "dataset"), SMALL_RUNS,
                         ids=[f"{n.removesuffix('.ipynb')}-{d.name}" for n, d in SMALL_RUNS])
@pytest.mark.slow
def test_every_notebook_runs_on_small_hand_made_data(name, dataset, kernel, tmp_path):
    if not (dataset / "episodes.csv").exists():
        pytest.skip(f"fixture {dataset.name} not present")
    import papermill as pm

    out = tmp_path / "out"
    out.mkdir()
    pm.execute_notebook(str(NOTEBOOK_DIR / name), str(tmp_path / name), kernel_name=kernel, cwd=str(ROOT),
                        progress_bar=False, parameters={"dataset": str(dataset), "as_of": "2024-12-31",
                                                         "area": "all", "language": "nb", "min_cell": 5,
                                                         "output_dir": str(out)})
    content = read_content(out)
    assert content["sections"]
    if name == "evaluation_report.ipynb":
        keys = [s["key"] for s in content["sections"]]
        assert keys == ["summary", "methods", "data_quality", "cohort_description", "retention", "turnover",
                        "contract_duration", "robustness", "small_cohorts", "costs", "pathway", "limitations",
                        "references", "appendix"]
        assert (out / "results.json").is_file()
