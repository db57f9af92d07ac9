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

With ``--before REV`` the code of git revision REV (``git archive`` into the output
folder, run through ``PYTHONPATH``) and this code take turns, one report and one full
run each per round, so that before and after are measured under the same load.
Besides wall-clock seconds each step's CPU seconds (the process and every child it
waited for: workers, kernels) are printed: on a shared machine the CPU ratio says what
the code costs, the wall-clock ratio what the user waits.

The reports go to a temporary folder (``--out`` to keep them), never into
``reports/``.  ``--no-change-only`` skips the full run and times the skip path
against fake report folders whose manifests carry the real inputs keys (for
when the builder is not usable yet).

Usage::

    .venv/bin/python benchmarks/regenerate_benchmark.py [--jobs 2] [--out DIR] [--no-change-only]
                                                        [--before REV [--rounds N]]
"""
from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
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


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed_run(config_path: Path, *extra: str, env: dict | None = None) -> tuple[float, int, str, float]:
    """Run ``alis-research regenerate``: (wall seconds, exit status, output, CPU seconds of it and its children)."""
    cpu, started = _children_cpu(), time.perf_counter()
    done = subprocess.run([str(BIN), "regenerate", "--config", str(config_path), "--no-progress", *extra],
                          capture_output=True, text=True, env=env)
    return time.perf_counter() - started, done.returncode, (done.stdout + done.stderr).strip(), _children_cpu() - cpu


def one_report(out_dir: Path, env: dict | None = None) -> tuple[float, int, float]:
    """``alis-research report`` on the demo (all, nb): (wall seconds, exit status, CPU seconds)."""
    demo = load_matrix(out_dir / "reports.toml").reports[0]
    cpu, started = _children_cpu(), time.perf_counter()
    done = subprocess.run([str(BIN), "report", str(demo.dataset_path), "--as-of", demo.as_of,
                           "--out", str(out_dir / "one")], capture_output=True, text=True, env=env)
    return time.perf_counter() - started, done.returncode, _children_cpu() - cpu


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


def export_revision(revision: str, target: Path) -> Path:
    """The package as committed at ``revision`` (``git archive``), for a before/after run side by side."""
    target.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "-C", str(config.PROJECT_ROOT), "archive", "--format=tar", revision],
                             capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    return target


def full_run(label: str, out_dir: Path, jobs: int, env: dict | None = None) -> dict:
    """One report, then the whole matrix (``--force``), of one version of the code; prints both."""
    out_dir.mkdir(parents=True, exist_ok=True)
    config_path = write_config(out_dir)
    one_wall, one_status, one_cpu = one_report(out_dir, env)
    print(f"[{label}] one report (alis-research report, all, nb): {one_wall:.1f} s, CPU {one_cpu:.1f} s, "
          f"exit status {one_status}")
    wall, status, output, cpu = timed_run(config_path, "--force", "--jobs", str(jobs), env=env)
    print(f"[{label}] full run (--force --jobs {jobs}): {wall:.1f} s, CPU {cpu:.1f} s, exit status {status}")
    if status != 0:
        print(output)
    for match in log_lines(out_dir):
        print(f"  {match['status']:<8} {match['name']:<28} {match['seconds'] or '':>7} s {match['rest'].strip()}")
    return {"one": one_wall, "one_cpu": one_cpu, "matrix": wall, "matrix_cpu": cpu,
            "ok": one_status == 0 and status == 0}


def verdict(ratio: float) -> str:
    return f"target ≤ {TARGET_MATRIX_OVER_ONE:.0f}×: {'met' if ratio <= TARGET_MATRIX_OVER_ONE else 'NOT met'}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--out", help="publish here instead of a temporary folder")
    parser.add_argument("--no-change-only", action="store_true", help="time only the skip path (fake reports)")
    parser.add_argument("--before", metavar="REV",
                        help="also time the code of git revision REV, alternating with this code (before/after)")
    parser.add_argument("--rounds", type=int, default=1, help="before/after rounds with --before (default 1)")
    args = parser.parse_args()
    out_dir = Path(args.out or tempfile.mkdtemp(prefix="regenerate-bench-")).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    config_path = write_config(out_dir)
    print(f"demo matrix: 10 reports, jobs={args.jobs}, output {out_dir}")
    print(f"load average at start: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")

    if args.before:
        code = export_revision(args.before, out_dir / "before-code")
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(code), os.environ.get("PYTHONPATH")]))}
        rows = []
        for round_ in range(1, args.rounds + 1):
            before = full_run(f"before {args.before} #{round_}", out_dir / f"before{round_}", args.jobs, env)
            after = full_run(f"after #{round_}", out_dir / f"after{round_}", args.jobs)
            rows.append((before, after))
        print(f"\nload average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
        print(f"{'round':<7}{'code':<8}{'one report':>12}{'matrix':>10}{'matrix/one':>12}"
              f"{'CPU one':>10}{'CPU matrix':>12}{'CPU ratio':>11}")
        for round_, pair in enumerate(rows, start=1):
            for label, r in zip(("before", "after"), pair):
                print(f"{round_:<7}{label:<8}{r['one']:>11.1f}s{r['matrix']:>9.1f}s{r['matrix'] / r['one']:>11.2f}×"
                      f"{r['one_cpu']:>9.1f}s{r['matrix_cpu']:>11.1f}s{r['matrix_cpu'] / r['one_cpu']:>10.2f}×")
        after_ratio = statistics.median(a["matrix"] / a["one"] for _, a in rows)
        before_ratio = statistics.median(b["matrix"] / b["one"] for b, _ in rows)
        print(f"matrix (10 reports, --jobs {args.jobs}) / one report: before {before_ratio:.2f}×, "
              f"after {after_ratio:.2f}× (median of {len(rows)}; {verdict(after_ratio)})")
        return 0 if all(r["ok"] for pair in rows for r in pair) else 1

    matrix_seconds = one_seconds = None
    if args.no_change_only:
        fake_reports(config_path)
        print("full run: not timed (--no-change-only: fake report folders with the real inputs keys)")
    else:
        result = full_run("this code", out_dir, args.jobs)
        one_seconds, matrix_seconds = result["one"], result["matrix"]
        cpu_ratio = result["matrix_cpu"] / result["one_cpu"]

    no_op = []
    for attempt in (1, 2, 3):
        seconds, status, output, _ = timed_run(config_path, "--jobs", str(args.jobs))
        no_op.append(seconds)
        print(f"no-change run #{attempt}: {seconds:.2f} s, exit status {status} -- {output.splitlines()[0]}")
    print()
    print(f"load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    if matrix_seconds is not None:
        ratio = matrix_seconds / one_seconds
        print(f"matrix (10 reports, --jobs {args.jobs}) / one report: {ratio:.2f}× ({verdict(ratio)}); "
              f"CPU seconds: {cpu_ratio:.2f}× (the matrix's two workers share the cores with whatever else runs)")
    best = min(no_op)
    print(f"no-op regeneration: {best:.2f} s (best of 3; target ≤ {TARGET_NO_OP_SECONDS} s: "
          f"{'met' if best <= TARGET_NO_OP_SECONDS else 'NOT met'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
