"""Report commands: report, regenerate (a matrix of reports, safe from cron), demo."""
from __future__ import annotations

import contextlib
import signal
import sys
from pathlib import Path

from .. import config


def report(args) -> int:
    """``alis-research report DIR --as-of DATE [--area] [--language] [--min-cell] [--out] [--register]
    [--institution] [--authors] [--commissioner] [--status] [--report-version]``."""
    from ..report import build_report, publication_from_mapping

    publication = publication_from_mapping({
        key: value for key, value in (
            ("institution", getattr(args, "institution", None)), ("authors", getattr(args, "authors", None)),
            ("commissioner", getattr(args, "commissioner", None)), ("status", getattr(args, "status", None)),
            ("version", getattr(args, "report_version", None)),
        ) if value is not None
    })
    outcome = build_report(args.dataset, as_of=args.as_of, area=args.area, language=args.language,
                           min_cell=args.min_cell, out_dir=args.out, register=getattr(args, "register", None),
                           publication=publication)
    for line in outcome.repairs:
        print(line)
    print(f"report written to {outcome.path}")
    for label, path in (("PDF", outcome.pdf), ("HTML", outcome.html), ("record", outcome.output_check),
                        ("manifest", outcome.manifest), ("restricted", outcome.restricted)):
        print(f"  {label:<9} {path}")
    print("timings (s): " + ", ".join(f"{k} {v:.1f}" for k, v in outcome.timings.items()))
    return 0


def regenerate(args) -> int:
    """``alis-research regenerate [--config FILE] [--jobs N] [--force] [--no-progress]``.

    Exit status: 0 all reports up to date; 1 a report failed or the config is
    wrong; :data:`~alis_research.report.regenerate.EXIT_LOCKED` (75) another run
    holds the lock. The progress bar is drawn only when standard error is a
    terminal (never into cron mail).
    """
    from ..report.matrix import load_matrix
    from ..report.regenerate import CONFIG_FILE_NAME, EXIT_LOCKED, RegenerationLocked
    from ..report.regenerate import regenerate as run_matrix

    config_path = Path(args.config) if getattr(args, "config", None) else config.REPORTS / CONFIG_FILE_NAME
    matrix = load_matrix(config_path)
    show_progress = bool(getattr(args, "progress", True)) and sys.stderr.isatty()
    previous_sigterm = signal.getsignal(signal.SIGTERM)

    def _sigterm_as_interrupt(signum, frame):  # systemd/cron stop: clean up like Ctrl-C
        raise KeyboardInterrupt

    with contextlib.suppress(ValueError):  # not in the main thread (e.g. called from a test runner thread)
        signal.signal(signal.SIGTERM, _sigterm_as_interrupt)
    try:
        run = run_matrix(matrix, jobs=getattr(args, "jobs", 2), force=bool(getattr(args, "force", False)),
                         progress=show_progress)
    except RegenerationLocked as exc:
        print(f"alis-research regenerate: {exc}", file=sys.stderr)
        return EXIT_LOCKED
    finally:
        with contextlib.suppress(ValueError, TypeError):
            signal.signal(signal.SIGTERM, previous_sigterm)
    stream = sys.stderr if run.failed else sys.stdout
    print(run.summary(), file=stream)
    return run.exit_status


def demo_publication():
    """The publication metadata of the scheduled reports (``reports/reports.toml``), if it sets one."""
    from ..report.publication import Publication
    from ..report.matrix import load_matrix
    from ..report.regenerate import CONFIG_FILE_NAME

    matrix_file = config.REPORTS / CONFIG_FILE_NAME
    if not matrix_file.is_file():
        return Publication()
    return load_matrix(matrix_file).reports[0].publication


def demo(args) -> int:
    """``alis-research demo [--out DIR]``: the main job on the bundled synthetic data, ending in a published PDF."""
    from ..report import build_report
    from ..data.synthetic import write_synthetic

    dataset = config.DATA_RAW / config.DEMO_DATASET
    if not (dataset / "episodes.csv").exists():
        print(f"no demo data in {dataset}: synthesizing it (seed 2019)")
        write_synthetic(dataset, seed=2019)
    outcome = build_report(dataset, as_of=config.DEMO_AS_OF, area="all", language="nb",
                           min_cell=config.DEFAULT_MIN_CELL, out_dir=args.out, publication=demo_publication())
    print(f"published: {outcome.pdf}")
    print(f"           {outcome.html}")
    return 0
