"""``alis-research demo``: the main job on the bundled synthetic data, ending in a published PDF."""
from __future__ import annotations

from . import config


def _demo_publication():
    """The publication metadata of the scheduled reports (``reports/reports.toml``), if it sets one."""
    from .report.publication import Publication
    from .report.regenerate import CONFIG_FILE_NAME, load_matrix

    matrix_file = config.REPORTS / CONFIG_FILE_NAME
    if not matrix_file.is_file():
        return Publication()
    return load_matrix(matrix_file).reports[0].publication


def cli_demo(args) -> int:
    from .report import build_report
    from .synthetic import write_synthetic

    dataset = config.DATA_RAW / config.DEMO_DATASET
    if not (dataset / "episodes.csv").exists():
        print(f"no demo data in {dataset}: synthesizing it (seed 2019)")
        write_synthetic(dataset, seed=2019)
    outcome = build_report(dataset, as_of=config.DEMO_AS_OF, area="all", language="nb",
                           min_cell=config.DEFAULT_MIN_CELL, out_dir=args.out, publication=_demo_publication())
    print(f"published: {outcome.pdf}")
    print(f"           {outcome.html}")
    return 0
