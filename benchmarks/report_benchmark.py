"""Time one full demo report against a bare papermill run, side by side, and say where the time goes.

    .venv/bin/python benchmarks/report_benchmark.py [--runs 2] [--area all] [--language nb]

Each run times, one right after the other in this process and on the same
kernel (``alis-research``):

* **bare**: ``papermill.execute_notebook`` of a notebook that only imports the
  package (a parameters cell, then one cell importing every module of
  ``alis_research``), with papermill's defaults: the floor of any report run
  through a kernel;
* **report**: ``build_report`` on the demo data (all sections), split into
  prepare (validate + prepare in the calling process), kernel start (until the
  first cell runs), imports, analyses (all other cells), notebook overhead
  (papermill saving the notebook; the kernel is stopped in the background), protection (its own
  time: it starts beside the notebook's last cell, see ``build.EarlyProtection``), protect_wait
  (what the builder still waited for it after the notebook), PDF (Typst), HTML, and total: the
  wall time of the whole ``build_report`` call.

It prints the ratio report total / bare beside its target (issue 15: at most
2×). The machine may be shared: compare the ratio of one run, not absolute
seconds across runs.
"""
from __future__ import annotations

import argparse
import pkgutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import alis_research
from alis_research import config

#: Issue 15: one report in at most this many times a bare papermill run of an import-only notebook.
TARGET_REPORT_OVER_BARE = 2.0


def demo_dataset(scratch: Path) -> Path:
    shipped = config.DATA_RAW / config.DEMO_DATASET
    if (shipped / "episodes.csv").exists():
        return shipped
    from alis_research.data.synthetic import write_synthetic

    return write_synthetic(scratch / "synthetic", seed=2019)


def import_only_notebook(path: Path) -> Path:
    """A notebook with the report's parameters cell and one cell importing every module of the package."""
    import nbformat

    modules = sorted(info.name for info in pkgutil.walk_packages(alis_research.__path__, "alis_research.")
                     if not info.name.endswith(("__main__", ".cli")))
    parameters = nbformat.v4.new_code_cell('dataset = "synthetic"\nas_of = "2024-12-31"\narea = "all"\n'
                                           'language = "nb"\nmin_cell = 5\noutput_dir = ""\nregister = ""')
    parameters.metadata["tags"] = ["parameters"]
    nb = nbformat.v4.new_notebook(cells=[parameters, nbformat.v4.new_code_cell(
        "import importlib\n" + "\n".join(f"importlib.import_module({name!r})" for name in modules))])
    nbformat.write(nb, path)
    return path


def bare_run(notebook: Path, output: Path, kernel: str) -> float:
    import papermill as pm

    started = time.perf_counter()
    pm.execute_notebook(str(notebook), str(output), kernel_name=kernel, cwd=str(config.PROJECT_ROOT),
                        language="python", progress_bar=False, parameters={"area": "all"})
    return time.perf_counter() - started


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--area", default="all")
    parser.add_argument("--language", default="nb")
    args = parser.parse_args(argv)

    t_import = time.perf_counter()
    from alis_research.report import build_report, resolve_kernel

    print(f"import alis_research.report in the calling process: {time.perf_counter() - t_import:.2f} s")
    kernel = resolve_kernel()
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        dataset = demo_dataset(scratch)
        notebook = import_only_notebook(scratch / "import_only.ipynb")
        steps = ("prepare", "kernel_start", "imports", "analyses", "overhead", "protect", "protect_wait", "pdf", "html",
                 "total")
        print(" run " + f"{'bare':>10}" + "".join(f"{s:>13}" for s in steps) + f"{'report/bare':>13}")
        ratios = []
        for run in range(1, args.runs + 1):
            bare = bare_run(notebook, scratch / "import_only.out.ipynb", kernel)
            started = time.perf_counter()
            outcome = build_report(dataset, as_of=config.DEMO_AS_OF, area=args.area, language=args.language,
                                   out_dir=scratch / "reports")
            t = dict(outcome.timings)
            t["overhead"] = t["notebook_total"] - t.get("kernel_start", 0) - t.get("imports", 0) - t.get("analyses", 0)
            t["total"] = time.perf_counter() - started  # the whole call, publishing and kernel shutdown included
            ratios.append(t["total"] / bare)
            print(f"{run:>4} {bare:>9.2f}s" + "".join(f"{t.get(s, float('nan')):>12.2f}s" for s in steps)
                  + f"{ratios[-1]:>12.2f}×")
        ratio = statistics.median(ratios)
        verdict = "met" if ratio <= TARGET_REPORT_OVER_BARE else "NOT met"
        print(f"one report / bare import-only papermill run: {ratio:.2f}× (median of {len(ratios)}), "
              f"target ≤ {TARGET_REPORT_OVER_BARE:.0f}× — {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
