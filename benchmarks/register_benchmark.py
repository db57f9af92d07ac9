"""Register-scale benchmark: validation + episode building on the synthetic national extract.

Generates the default synthetic extract (seed 2015: 5,000 lists x 300 months = 1.5 million
monthly rows) into a temporary folder, then times, in this process:

1. ``validate_register`` (reading the CSV, every check),
2. ``register_episodes`` and ``register_intervals`` (vectorised),
3. ``register_episodes_loop`` (the plain per-doctor loop) on the same frame, and checks that
   it gives the identical table,
4. the analyses at scale: Kaplan–Meier medians by size class
   (``duration.median_by_size_class``) plus the Cox model of the Abelsen replication (sex, age at
   start, list size, size class; Efron; sandwich clustered by municipality) over about 60,000
   episodes: the extract's own ~20,000 and those of two more seeds (2016, 2017), built in child
   processes so that they do not count in this process's memory,

and reports the peak resident memory of the process (``resource.getrusage``; the generation
runs in a child process so that its memory does not count). Targets (issue 5): validation +
episodes <= 5 s on this 2-core machine, KM + clustered Cox over 60,000 episodes <= 3 s, peak
memory <= 1.5 GB. That the clustered errors equal R's ``coxph(..., cluster =)`` is checked by
``tests/test_comparison.py`` against ``tests/reference/results/register_cox.csv``
(``tests/reference/register.R``).

Run: ``.venv/bin/python benchmarks/register_benchmark.py [--seed 2015] [--lists 5000] [--years 25]``
"""
from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_SECONDS = 5.0
TARGET_PEAK_GB = 1.5
TARGET_ANALYSIS_SECONDS = 3.0
EXTRA_SEEDS = (2016, 2017)

_CHILD_EPISODES = """
import sys, tempfile
from pathlib import Path
from alis_research.data.register import load_register
from alis_research.data.register_timeline import register_episodes
from alis_research.data.register_synthetic import synthesize_register, write_register
seed, lists, years, out = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
snapshots, doctors = synthesize_register(seed, lists=lists, years=years)
with tempfile.TemporaryDirectory() as tmp:
    write_register(Path(tmp) / "r", snapshots, doctors, {"synthetic": True})
    episodes = register_episodes(load_register(Path(tmp) / "r"))
episodes.to_pickle(out)
"""


def _episodes_in_child(seed: int, lists: int, years: int, out: Path):
    """Episodes of another synthetic extract, built in a child process (its memory does not count here)."""
    subprocess.run([sys.executable, "-c", _CHILD_EPISODES, str(seed), str(lists), str(years), str(out)], check=True)
    import pandas as pd

    return pd.read_pickle(out)


def _analyses(episodes):
    """KM medians by size class + the Abelsen Cox model clustered by municipality; (seconds, result)."""
    import warnings

    from alis_research.analysis.comparison import ABELSEN_COVARIATES
    from alis_research.analysis.duration import cox_model, median_by_size_class

    frame = episodes.dropna(subset=["size_class", "sex", "age_at_start"])
    frame = frame.assign(start=0.0, stop=frame["duration"].astype(float),
                         list_size_100=frame["list_size"] / 100.0, age_at_start=frame["age_at_start"].astype(float))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        started = time.perf_counter()
        km = median_by_size_class(frame)
        cox = cox_model(frame, covariates=list(ABELSEN_COVARIATES), cluster="municipality_code", contract_term=False)
        seconds = time.perf_counter() - started
    return seconds, len(frame), km, cox


def _generate(folder: Path, seed: int, lists: int, years: int) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "alis_research.cli", "synthesize-register", "--seed", str(seed),
                    "--out", str(folder), "--lists", str(lists), "--years", str(years)], check=True)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=2015)
    parser.add_argument("--lists", type=int, default=5000)
    parser.add_argument("--years", type=int, default=25)
    parser.add_argument("--skip-loop", action="store_true", help="do not time the per-doctor loop")
    args = parser.parse_args(argv)

    import pandas as pd

    from alis_research.data.register import validate_register
    from alis_research.data.register_timeline import register_episodes, register_episodes_loop, register_intervals

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "register"
        generate_seconds = _generate(folder, args.seed, args.lists, args.years)
        size_mb = (folder / "snapshots.csv").stat().st_size / 1e6

        # warm the reference tables (loaded once per process, not part of the per-extract cost)
        from alis_research.data.register_timeline import reference_lookups
        reference_lookups()

        started = time.perf_counter()
        problems, frame = validate_register(folder)
        validate_seconds = time.perf_counter() - started
        if problems:
            print("\n".join(str(p) for p in problems[:20]))
            return 1
        started = time.perf_counter()
        episodes = register_episodes(frame)
        episodes_seconds = time.perf_counter() - started
        started = time.perf_counter()
        intervals = register_intervals(frame, episodes=episodes)
        intervals_seconds = time.perf_counter() - started
        peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2  # Linux: KiB

        others = [_episodes_in_child(seed, args.lists, args.years, Path(tmp) / f"episodes_{seed}.pkl")
                  for seed in EXTRA_SEEDS]
        pooled = pd.concat([episodes, *others], ignore_index=True)
        analysis_seconds, analysed, km, cox = _analyses(pooled)
        peak_all_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2

        loop_seconds = None
        if not args.skip_loop:
            started = time.perf_counter()
            looped = register_episodes_loop(frame)
            loop_seconds = time.perf_counter() - started
            pd.testing.assert_frame_equal(episodes, looped)

    total = validate_seconds + episodes_seconds + intervals_seconds
    print(f"synthetic extract (seed {args.seed}): {len(frame):,} monthly rows, {size_mb:.0f} MB CSV, "
          f"generated in {generate_seconds:.1f} s (separate process)")
    print(f"validate_register        {validate_seconds:6.2f} s")
    print(f"register_episodes        {episodes_seconds:6.2f} s   {len(episodes):,} episodes")
    print(f"register_intervals       {intervals_seconds:6.2f} s   {len(intervals):,} intervals")
    print(f"validation + episodes + intervals {total:6.2f} s   (target <= {TARGET_SECONDS:.0f} s: "
          f"{'met' if total <= TARGET_SECONDS else 'NOT met'})")
    print(f"peak memory (max RSS)    {peak_gb:6.2f} GB  (target <= {TARGET_PEAK_GB} GB: "
          f"{'met' if peak_gb <= TARGET_PEAK_GB else 'NOT met'})")
    clusters = int(cox.summary.loc[0, "clusters"])
    print(f"KM by size class + Cox (4 covariates, Efron, clustered by municipality) over {analysed:,} episodes "
          f"({len(EXTRA_SEEDS) + 1} extracts, {clusters} clusters): {analysis_seconds:6.2f} s   "
          f"(target <= {TARGET_ANALYSIS_SECONDS:.0f} s: {'met' if analysis_seconds <= TARGET_ANALYSIS_SECONDS else 'NOT met'})")
    print(f"peak memory incl. analyses {peak_all_gb:6.2f} GB  (target <= {TARGET_PEAK_GB} GB: "
          f"{'met' if peak_all_gb <= TARGET_PEAK_GB else 'NOT met'})")
    if loop_seconds is not None:
        print(f"register_episodes_loop   {loop_seconds:6.2f} s   identical result; "
              f"vectorised is {loop_seconds / episodes_seconds:.0f}x faster")
    return 0


if __name__ == "__main__":
    sys.exit(main())
