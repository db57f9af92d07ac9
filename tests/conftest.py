"""Fixtures shared across test modules, and the ``slow`` marker.

Building a report starts a Jupyter kernel and runs every analysis (10-20 s on the 2-core
reference machine), so a built report is made once per test session and shared: take it as
an argument instead of calling ``build_report`` again. The session fixtures:

``demo_dataset``
    Path of the bundled demo dataset (``data/raw/synthetic``), written afresh by the
    synthesizer into a temporary folder if it is missing.
``demo_prepared``
    ``cohort.prepare_dataset(demo_dataset, as_of=DEMO_AS_OF)``: the prepared demo (episodes,
    intervals, exclusions) for tests that call section or analysis functions directly.
``demo_report``
    ``build_report(demo_dataset, as_of=DEMO_AS_OF)`` in Norwegian (area ``all``, min_cell 5):
    a :class:`~alis_research.report.ReportOutcome` whose ``path`` holds report.pdf/.html,
    results.json, content.json, manifest.json and the executed notebook.
``small_report``
    ``build_report(tests/fixtures/report_small, as_of=DEMO_AS_OF, min_cell=5)``: the
    small-cell fixture report (counts 1-4 that must never be published).

Shared means read-only: a test that changes files in a shared report, or needs a second
build (reproducibility, failures, other parameters), builds its own into ``tmp_path``.
Tests that build a report or run a notebook (a kernel start each) are marked
``@pytest.mark.slow`` (the marker is registered in ``pyproject.toml``); a test that takes
one of the shared reports (any fixture in :data:`SLOW_FIXTURES`) is marked slow here
automatically. ``pytest -m "not slow"`` is the fast tier for development (under a minute);
plain ``pytest`` (CI, ``.ci/run``) runs both.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from alis_research import config

FIXTURES = Path(__file__).parent / "fixtures"
SMALL_REPORT_DATASET = FIXTURES / "report_small"


@pytest.fixture(scope="session")
def demo_dataset(tmp_path_factory) -> Path:
    """The bundled demo dataset (data/raw/synthetic), written afresh by the synthesizer if it is missing."""
    shipped = config.DATA_RAW / config.DEMO_DATASET
    if (shipped / "episodes.csv").exists():
        return shipped
    from alis_research.data.synthetic import write_synthetic

    target = tmp_path_factory.mktemp("data") / "synthetic"
    write_synthetic(target, seed=2019)
    return target


@pytest.fixture(scope="session")
def demo_prepared(demo_dataset):
    """The demo dataset prepared as of the demo date (read-only: do not modify its tables)."""
    from alis_research.data.cohort import prepare_dataset

    return prepare_dataset(demo_dataset, as_of=config.DEMO_AS_OF)


@pytest.fixture(scope="session")
def demo_report(demo_dataset, tmp_path_factory):
    """One Norwegian demo report for the whole session (read-only)."""
    from alis_research.report import build_report

    return build_report(demo_dataset, as_of=config.DEMO_AS_OF, out_dir=tmp_path_factory.mktemp("demo_reports"))


@pytest.fixture(scope="session")
def small_report(tmp_path_factory):
    """One Norwegian report on the small-cell fixture for the whole session (read-only)."""
    from alis_research.report import build_report

    return build_report(SMALL_REPORT_DATASET, as_of=config.DEMO_AS_OF, min_cell=5,
                        out_dir=tmp_path_factory.mktemp("small_reports"))


#: Fixtures that take seconds (a report build, a register-scale extract): a test taking one is slow
#: (marked in :func:`pytest_collection_modifyitems`). Besides the two above: ``register_report`` and
#: ``fixture_document`` (tests/test_comparison.py), ``national`` (tests/test_register.py).
SLOW_FIXTURES = frozenset({"demo_report", "small_report", "register_report", "fixture_document", "national",
                           "published"})


def pytest_collection_modifyitems(config, items):
    for item in items:
        if SLOW_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
