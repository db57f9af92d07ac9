"""Time one full demo report and say where the time goes.

    .venv/bin/python benchmarks/report_benchmark.py [--runs 2] [--area all] [--language nb]

Prints, per run: prepare (validate + prepare in the calling process), kernel
start (papermill start until the first cell runs), imports (the notebook's
import cell), analyses (all other cells), notebook overhead (papermill saving
the notebook, kernel shutdown), PDF (Typst) and HTML, and the total. Target
(issue 4): one report in <= 30 s on the 2-core reference machine.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from alis_research import config


def demo_dataset(scratch: Path) -> Path:
    shipped = config.DATA_RAW / config.DEMO_DATASET
    if (shipped / "episodes.csv").exists():
        return shipped
    from alis_research.synthetic import write_synthetic

    return write_synthetic(scratch / "synthetic", seed=2019)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--area", default="all")
    parser.add_argument("--language", default="nb")
    args = parser.parse_args(argv)

    t_import = time.perf_counter()
    from alis_research.report import build_report

    print(f"import alis_research.report in the calling process: {time.perf_counter() - t_import:.2f} s")
    with tempfile.TemporaryDirectory() as scratch:
        dataset = demo_dataset(Path(scratch))
        steps = ("prepare", "kernel_start", "imports", "analyses", "overhead", "pdf", "html", "total")
        print(" run " + "".join(f"{s:>13}" for s in steps))
        for run in range(1, args.runs + 1):
            outcome = build_report(dataset, as_of=config.DEMO_AS_OF, area=args.area, language=args.language,
                                   out_dir=Path(scratch) / "reports")
            t = dict(outcome.timings)
            t["overhead"] = t["notebook_total"] - t.get("kernel_start", 0) - t.get("imports", 0) - t.get("analyses", 0)
            print(f"{run:>4} " + "".join(f"{t.get(s, float('nan')):>12.2f}s" for s in steps))
    return 0


if __name__ == "__main__":
    sys.exit(main())
