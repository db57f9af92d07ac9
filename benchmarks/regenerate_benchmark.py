"""Time ``alis-research regenerate`` on the demo matrix (10 reports: 5 areas × nb/en).

Prints the wall-clock time of, in one run and each as a fresh ``alis-research``
process (as the user sees it):

1. one report (``alis-research report`` on the demo data, area ``all``, nb);
2. a full run (``--force --jobs 2``: every report built), with the per-report
   build times and the builder's own timings read back from the run's log;
3. a run with nothing changed (every report skipped);

and the ratios issue 15 sets beside their targets: the matrix at most 3× one
report, a no-op run at most 0.3 s. The machine may be shared: compare the
ratios of one run, not seconds across runs.

The reports go to a temporary folder (``--out`` to keep them), never into
``reports/``.  ``--no-change-only`` skips the full run and times the skip path
against fake report folders whose manifests carry the real inputs keys (for
when the builder is not usable yet).

Usage::

    .venv/bin/python benchmarks/regenerate_benchmark.py [--jobs 2] [--out DIR] [--no-change-only]
"""
from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from alis_research import config
from alis_research.report.matrix import load_matrix

BIN = Path(sys.executable).parent / "alis-research"
#: Issue 15: the demo matrix (10 reports, --jobs 2) in at most this many times one report.
TARGET_MATRIX_OVER_ONE = 3.0
#: Issue 15: a run with nothing to do, in seconds.
TARGET_NO_OP_SECONDS = 0.3
LINE = re.compile(r"^\S+ (?P<status>BUILT|FAILED|SKIPPED) (?P<name>[^\s:]+)(?=\s)(?: (?P<seconds>[\d.]+) s)?(?P<rest>.*)$")


def write_config(out_dir: Path) -> Path:
    """The demo matrix of ``reports/reports.toml``, publishing into ``out_dir``."""
    demo = load_matrix(config.REPORTS / "reports.toml")
    dataset = demo.reports[0].dataset_path
    path = out_dir / "reports.toml"
    path.write_text(
        'areas = ["all", "Finnmark", "UNN", "Nordland", "Helgeland"]\nlanguages = ["nb", "en"]\n'
        f'[defaults]\nas_of = {demo.reports[0].as_of}\nmin_cell = 5\nout_dir = "."\n'
        f'[[datasets]]\nname = "{dataset.name}"\npath = {json.dumps(str(dataset))}\n',
        encoding="utf-8",
    )
    return path


def timed_run(config_path: Path, *extra: str) -> tuple[float, int, str]:
    started = time.perf_counter()
    done = subprocess.run([str(BIN), "regenerate", "--config", str(config_path), "--no-progress", *extra],
                          capture_output=True, text=True)
    return time.perf_counter() - started, done.returncode, (done.stdout + done.stderr).strip()


def log_lines(out_dir: Path) -> list[re.Match]:
    from alis_research.config import restricted_dir_for

    text = (restricted_dir_for(out_dir) / "logs" / "latest.log").read_text(encoding="utf-8")
    return [m for m in map(LINE.match, text.splitlines()) if m]


def fake_reports(config_path: Path) -> None:
    """Report folders with the real inputs keys and placeholder files (skip path only)."""
    from alis_research.report import report_inputs_key
    from alis_research.report.regenerate import REQUIRED_REPORT_FILES

    matrix = load_matrix(config_path)
    for spec in matrix.reports:
        key = report_inputs_key(str(spec.dataset_path), as_of=spec.as_of, area=spec.area,
                                language=spec.language, min_cell=spec.min_cell)
        folder = matrix.out_dir / spec.name
        folder.mkdir(parents=True, exist_ok=True)
        for name in REQUIRED_REPORT_FILES:
            (folder / name).write_text("placeholder")
        (folder / "manifest.json").write_text(json.dumps({"inputs_key": key}))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--out", help="publish here instead of a temporary folder")
    parser.add_argument("--no-change-only", action="store_true", help="time only the skip path (fake reports)")
    args = parser.parse_args()
    out_dir = Path(args.out or tempfile.mkdtemp(prefix="regenerate-bench-")).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    config_path = write_config(out_dir)
    print(f"demo matrix: 10 reports, jobs={args.jobs}, output {out_dir}")

    matrix_seconds = one_seconds = None
    if args.no_change_only:
        fake_reports(config_path)
        print("full run: not timed (--no-change-only: fake report folders with the real inputs keys)")
    else:
        demo = load_matrix(config_path).reports[0]
        started = time.perf_counter()
        done = subprocess.run([str(BIN), "report", str(demo.dataset_path), "--as-of", demo.as_of,
                               "--out", str(out_dir / "one")], capture_output=True, text=True)
        one_seconds = time.perf_counter() - started
        print(f"one report (alis-research report, all, nb): {one_seconds:.1f} s, exit status {done.returncode}")
        matrix_seconds, status, output = timed_run(config_path, "--force", "--jobs", str(args.jobs))
        print(f"full run (--force --jobs {args.jobs}): {matrix_seconds:.1f} s, exit status {status}")
        if status != 0:
            print(output)
        for match in log_lines(out_dir):
            print(f"  {match['status']:<8} {match['name']:<28} {match['seconds'] or '':>7} s {match['rest'].strip()}")

    no_op = []
    for attempt in (1, 2, 3):
        seconds, status, output = timed_run(config_path, "--jobs", str(args.jobs))
        no_op.append(seconds)
        print(f"no-change run #{attempt}: {seconds:.2f} s, exit status {status} -- {output.splitlines()[0]}")
    print()
    if matrix_seconds is not None:
        ratio = matrix_seconds / one_seconds
        print(f"matrix (10 reports, --jobs {args.jobs}) / one report: {ratio:.2f}× "
              f"(target ≤ {TARGET_MATRIX_OVER_ONE:.0f}×: {'met' if ratio <= TARGET_MATRIX_OVER_ONE else 'NOT met'})")
    best = min(no_op)
    print(f"no-op regeneration: {best:.2f} s (best of 3; target ≤ {TARGET_NO_OP_SECONDS} s: "
          f"{'met' if best <= TARGET_NO_OP_SECONDS else 'NOT met'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
