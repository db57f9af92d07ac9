"""Time the protection step (whole-report suppression + attacker audit) of a demo report.

    .venv/bin/python benchmarks/disclosure_benchmark.py [--area all] [--language nb] [--min-cell 5] [--runs 3]

Builds the report's working content in process once (the sections, as the
notebook does; not timed), then times ``report.protection.protect_content`` —
the ledger's primary and secondary suppression, the integer-programming audit
and writing the protected content — and prints the median, the number of
withheld counts and the programs solved. Target (issue #10): at most 1 s.
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

from alis_research import config


def demo_dataset(scratch: Path) -> Path:
    shipped = config.DATA_RAW / config.DEMO_DATASET
    if (shipped / "episodes.csv").exists():
        return shipped
    from alis_research.data.synthetic import write_synthetic

    return write_synthetic(scratch / "synthetic", seed=2019)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--area", default="all")
    parser.add_argument("--language", default="nb")
    parser.add_argument("--min-cell", type=int, default=5)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    from alis_research.report.protection import protect_content, write_content_in_process
    from alis_research.report.sections import load_for_report
    import scipy.optimize  # noqa: F401  (imported by every report anyway: not part of the step)

    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        dataset = demo_dataset(scratch)
        prepared = load_for_report(dataset, as_of="2024-12-31", area=args.area)
        work = scratch / "work"
        work.mkdir()
        t0 = time.perf_counter()
        write_content_in_process(prepared, work, dataset=str(dataset), area=args.area, language=args.language,
                                 min_cell=args.min_cell)
        print(f"sections (not timed): {time.perf_counter() - t0:.1f} s")
        times = []
        for run in range(args.runs):
            published = scratch / f"published{run}"
            published.mkdir()
            t = time.perf_counter()
            protection = protect_content(work, published, min_cell=args.min_cell)
            times.append(time.perf_counter() - t)
            shutil.rmtree(published)
            print(f"run {run + 1}: {times[-1]:.2f} s, {len(protection.withheld)} counts withheld "
                  f"({sum(r == 'primary' for r in protection.withheld.values())} primary), "
                  f"{len(protection.derived_withheld)} derived withheld, {protection.audit.n_programs} programs "
                  f"solved, {protection.rounds} rounds")
    median = statistics.median(times)
    print(f"protection + audit: median {median:.2f} s over {args.runs} run(s); target (issue 10) at most 1 s: "
          f"{'met' if median <= 1.0 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
