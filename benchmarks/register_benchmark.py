"""Register-scale benchmark: validation + episode building on the synthetic national extract.

Generates the default synthetic extract (seed 2015: 5,000 lists x 300 months = 1.5 million
monthly rows) into a temporary folder, then times, in this process:

1. ``validate_register`` (reading the CSV, every check),
2. ``register_episodes`` and ``register_intervals`` (vectorised),
3. ``register_episodes_loop`` (the plain per-doctor loop) on the same frame, and checks that
   it gives the identical table,

and reports the peak resident memory of the process (``resource.getrusage``; the generation
runs in a child process so that its memory does not count). Targets (issue 5): validation +
episodes <= 5 s on this 2-core machine, peak memory <= 1.5 GB.

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

    from alis_research.register import (
        register_episodes,
        register_episodes_loop,
        register_intervals,
        validate_register,
    )

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "register"
        generate_seconds = _generate(folder, args.seed, args.lists, args.years)
        size_mb = (folder / "snapshots.csv").stat().st_size / 1e6

        # warm the reference tables (loaded once per process, not part of the per-extract cost)
        from alis_research.register import _reference_lookups
        _reference_lookups()

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
    if loop_seconds is not None:
        print(f"register_episodes_loop   {loop_seconds:6.2f} s   identical result; "
              f"vectorised is {loop_seconds / episodes_seconds:.0f}x faster")
    return 0


if __name__ == "__main__":
    sys.exit(main())
