"""Time the analyses of one demo report in this process, section by section (no kernel, no PDF).

    .venv/bin/python benchmarks/analyses_benchmark.py [--runs 2] [--area all] [--language nb] [--profile out.prof]
                                                      [--languages nb,en] [--no-memo]

Runs exactly the calls of ``notebooks/evaluation_report.ipynb`` after its import cell (load and
prepare the dataset, every ``*_section``, the facts, the summary, the appendix and
``build_results``), writing into a temporary report folder, and prints the wall and CPU seconds
of each step. The first run pays the first-call costs of the process (matplotlib's font cache
and first figure, reference tables); later runs show what a warm kernel pays. As in a report kernel, the analyses' memo
(:mod:`alis_research.analysis.memo`) is on (``--no-memo``: off); ``--languages nb,en``
alternates the languages from run to run, as a ``regenerate`` worker builds an area. ``--profile``
writes a ``cProfile`` file of the first run (``python -m pstats out.prof``).

This is the "analyses" part of ``benchmarks/report_benchmark.py`` without papermill around it:
the number issue 15 asks to bring down by vectorising the bootstrap and the simulations and
computing each estimate once.
"""
from __future__ import annotations

import argparse
import cProfile
import sys
import tempfile
import time
from pathlib import Path

from alis_research import config


def demo_dataset(scratch: Path) -> Path:
    shipped = config.DATA_RAW / config.DEMO_DATASET
    if (shipped / "episodes.csv").exists():
        return shipped
    from alis_research.data.synthetic import write_synthetic

    return write_synthetic(scratch / "synthetic", seed=2019)


def one_report(dataset: Path, output_dir: Path, *, area: str, language: str, min_cell: int = config.DEFAULT_MIN_CELL,
               register: str = "") -> list[tuple[str, float, float]]:
    """The notebook's cells after the imports; returns (step, wall seconds, CPU seconds) per step."""
    from alis_research import report
    from alis_research.analysis.results import build_results

    timings: list[tuple[str, float, float]] = []
    done: dict = {}

    def step(name, function):
        wall, cpu = time.perf_counter(), time.process_time()
        done[name] = value = function()
        timings.append((name, time.perf_counter() - wall, time.process_time() - cpu))
        return value

    def section(name, function, **kwargs):
        return step(name, lambda: _written(report, output_dir,
                                           function(prepared, language=language, min_cell=min_cell, **kwargs)))

    prepared = step("load_for_report", lambda: report.load_for_report(dataset, as_of=config.DEMO_AS_OF, area=area))
    step("meta", lambda: report.write_meta(output_dir, report.report_meta(prepared, dataset=dataset, area=area,
                                                                           language=language, min_cell=min_cell)))
    methods = section("methods", report.methods_section)
    data_quality = section("data_quality", report.data_quality_section)
    cohort = section("cohort", report.cohort_section)
    retention = section("retention", report.retention_section)
    turnover = section("turnover", report.turnover_section)
    duration = section("contract_duration", report.contract_duration_section)
    robustness = section("robustness", report.robustness_section)
    small_cohorts = section("small_cohorts", report.small_cohorts_section)
    comparison = step("load_comparison", lambda: report.load_comparison(prepared, dataset=dataset, register=register,
                                                                        area=area))
    extra = []
    if comparison is not None:
        extra = [step("comparison_groups", lambda: _written(report, output_dir, report.comparison_groups_section(
            comparison, language=language, min_cell=min_cell)))]
    costs = section("costs", report.costs_section)
    pathway = section("pathway", report.pathway_section, dataset=dataset)
    limitations = section("limitations", report.limitations_section)
    facts = report.collect_facts(data_quality, cohort, retention, turnover, duration, robustness, costs, pathway,
                                 limitations, *extra)
    step("summary", lambda: _written(report, output_dir, report.summary_section(prepared, facts, language=language,
                                                                               min_cell=min_cell)))
    step("references", lambda: _written(report, output_dir, report.references_section(
        prepared, language=language, min_cell=min_cell)))
    suppression = report.collect_suppression(data_quality, cohort, retention, turnover, duration, robustness, costs,
                                             pathway, *extra)
    step("appendix", lambda: _written(report, output_dir, report.appendix_section(
        prepared, dataset=dataset, area=area, language=language, min_cell=min_cell, suppression=suppression,
        comparison=comparison)))
    step("results", lambda: report.write_results(output_dir, build_results(prepared, comparison=comparison)))
    del methods, small_cohorts
    return timings


def _written(report, output_dir: Path, section):
    report.write_section(output_dir, section)
    return section


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--area", default="all")
    parser.add_argument("--language", default="nb")
    parser.add_argument("--languages", help="comma-separated languages taken in turn by the runs (overrides --language)")
    parser.add_argument("--no-memo", action="store_true", help="compute every analysis afresh (the memo off)")
    parser.add_argument("--profile", type=Path, help="write a cProfile file of the first run here")
    args = parser.parse_args(argv)

    wall, cpu = time.perf_counter(), time.process_time()
    import alis_research.report  # noqa: F401  (the notebook's import cell)
    import alis_research.analysis.results  # noqa: F401

    print(f"imports (as the notebook's import cell): {time.perf_counter() - wall:.2f} s wall, "
          f"{time.process_time() - cpu:.2f} s CPU")
    from alis_research.analysis import memo

    languages = args.languages.split(",") if args.languages else [args.language]
    with tempfile.TemporaryDirectory() as scratch, (memo.disabled() if args.no_memo else memo.enabled()):
        dataset = demo_dataset(Path(scratch))
        runs = []
        for run in range(args.runs):
            output_dir = Path(scratch) / f"report{run}"
            output_dir.mkdir()
            profiler = cProfile.Profile() if args.profile and run == 0 else None
            if profiler:
                profiler.enable()
            runs.append(one_report(dataset, output_dir, area=args.area, language=languages[run % len(languages)]))
            if profiler:
                profiler.disable()
                profiler.dump_stats(args.profile)
    print(f"{'step':<20}" + "".join(f"{f'run {r + 1} wall':>14}{'CPU':>8}" for r in range(len(runs))))
    for i, (name, _, _) in enumerate(runs[0]):
        print(f"{name:<20}" + "".join(f"{r[i][1]:>13.3f}s{r[i][2]:>7.3f}s" for r in runs))
    print(f"{'analyses total':<20}" + "".join(f"{sum(t[1] for t in r):>13.3f}s{sum(t[2] for t in r):>7.3f}s"
                                              for r in runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
