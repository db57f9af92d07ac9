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
``demo_published_nb``, ``demo_published_en``
    The demo report in each language with the publication metadata :data:`PUBLICATION`
    (title page, document metadata): the layout and browser checks, and (English) the attacker.
``demo_rebuilt``
    ``(first, again)``: on one warm kernel, the small fixture for UNN in English, then the demo
    as ``demo_report`` once more: the warm-kernel check and the reproducibility check.

Shared means read-only: a test that changes files in a shared report, or needs a build with
other parameters or a failure, builds its own into ``tmp_path``.
Tests that build a report or run a notebook (a kernel start each) are marked
``@pytest.mark.slow`` (the marker is registered in ``pyproject.toml``); a test that takes
one of the shared reports (any fixture in :data:`SLOW_FIXTURES`) is marked slow here
automatically. ``pytest -n auto -m "not slow"`` is the fast tier for development (under a
minute); ``pytest -n auto`` (CI, ``.ci/run``, the README) runs both.

With pytest-xdist (``-n auto``, ``--dist loadgroup`` from ``pyproject.toml``) every test that
takes a shared build joins one ``xdist_group`` with every other test sharing a build with it
(:func:`pytest_collection_modifyitems`), so each build is made once, on one worker; each
worker has its own ``tmp_path_factory`` folder, and no test writes into the project's
``reports/``, ``restricted/`` or ``data/processed/``.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from alis_research import config
from alis_research.report.publication import Publication

FIXTURES = Path(__file__).parent / "fixtures"
SMALL_REPORT_DATASET = FIXTURES / "report_small"
#: Publication metadata of the layout checks' reports (``demo_published_nb`` / ``_en``).
PUBLICATION = Publication(institution="Nasjonalt senter for distriktsmedisin (NSDM), UiT",
                          authors=("Kari Nordmann", "Ola Nordmann"), commissioner="Helsedirektoratet",
                          status="final", version="1.2")


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


def _published(language, demo_dataset, tmp_path_factory):
    from alis_research.report import build_report

    return build_report(demo_dataset, as_of=config.DEMO_AS_OF, language=language,
                        out_dir=tmp_path_factory.mktemp(f"published_{language}"), publication=PUBLICATION)


@pytest.fixture(scope="session")
def demo_published_nb(demo_dataset, tmp_path_factory):
    """The Norwegian demo report with :data:`PUBLICATION` (read-only)."""
    return _published("nb", demo_dataset, tmp_path_factory)


@pytest.fixture(scope="session")
def demo_published_en(demo_dataset, tmp_path_factory):
    """The English demo report with :data:`PUBLICATION` (read-only)."""
    return _published("en", demo_dataset, tmp_path_factory)


@pytest.fixture(scope="session")
def demo_rebuilt(demo_dataset, tmp_path_factory):
    """Two reports built one after the other on one warm kernel (as a regenerate worker does): the
    small fixture for UNN in English, then the demo with ``demo_report``'s parameters (read-only)."""
    from alis_research.report import build_report
    from alis_research.report.build import shutdown_warm_kernel

    out = tmp_path_factory.mktemp("rebuilt")
    try:
        first = build_report(SMALL_REPORT_DATASET, as_of=config.DEMO_AS_OF, area="UNN", language="en", out_dir=out,
                             reuse_kernel=True)
        again = build_report(demo_dataset, as_of=config.DEMO_AS_OF, out_dir=out, reuse_kernel=True)
    finally:
        shutdown_warm_kernel()
    return first, again


#: Fixtures that take seconds (a report build, a register-scale extract): a test taking one is slow
#: and joins the xdist group of its build (both in :func:`pytest_collection_modifyitems`). Besides
#: those above: ``register_report`` and ``fixture_document`` (tests/test_comparison.py), ``national``
#: (tests/test_register.py), ``published`` (tests/test_report_layout.py: ``demo_published_nb``/``_en``
#: by its parameter), ``full_build`` (tests/test_attacker.py: ``demo_published_en``) and
#: ``finnmark_by_cli`` (tests/test_report.py).
SLOW_FIXTURES = frozenset({"demo_report", "small_report", "demo_published_nb", "demo_published_en", "demo_rebuilt",
                           "register_report", "fixture_document", "national", "published", "full_build",
                           "finnmark_by_cli"})


#: Module fixtures that take a second or more without a kernel (the fast tier): their tests are kept
#: on one xdist worker too, so that the fixture is made once, but they are not marked slow.
SHARED_IN_MODULE = frozenset({"simulated", "demo_costs", "small_work"})


def _builds(item) -> set[str]:
    """The shared builds an item needs (fixtures that only hand a session build on, resolved to it)."""
    names = set(SLOW_FIXTURES.intersection(getattr(item, "fixturenames", ())))
    if "published" in names:  # module fixture of test_report_layout, parametrised by language
        names.discard("published")
        names.add(f"demo_published_{item.callspec.params['published']}")
    if "full_build" in names:  # test_attacker's English build is the shared published one
        names.discard("full_build")
        names.add("demo_published_en")
    return names


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups and before -m deselects
def pytest_collection_modifyitems(config, items):
    # Union-find over the builds: tests that share any build, directly or through another test,
    # run on one xdist worker, so that no build is made twice.
    parent: dict[str, str] = {}

    def root(name: str) -> str:
        while parent.setdefault(name, name) != name:
            name = parent[name]
        return name

    needs = {}
    for item in items:
        builds = _builds(item)
        if builds:
            item.add_marker(pytest.mark.slow)
        builds |= {f"{item.nodeid.split('::')[0]}::{name}"
                   for name in SHARED_IN_MODULE.intersection(getattr(item, "fixturenames", ()))}
        needs[item] = builds
        if builds:
            first, *rest = sorted(builds)
            root(first)
            for other in rest:
                parent[root(other)] = root(first)
    members: dict[str, set[str]] = {}
    for name in list(parent):
        members.setdefault(root(name), set()).add(name)
    groups = {}
    for item, builds in needs.items():
        if builds:
            group = groups[item.nodeid] = "+".join(sorted(members[root(next(iter(builds)))]))
            item.add_marker(pytest.mark.xdist_group(name=group))
    _tell_the_scheduler(config, groups)


# --------------------------------------------------------------------------- pytest-xdist
# xdist's own loadgroup passes a test's group to the scheduler by appending "@group" to its node id,
# which pytest 9.2 no longer lets a plugin do (pytest-xdist issue #1386): the groups are silently
# ignored. So each worker writes the groups to a file the controller names, and the controller's
# scheduler (LoadGroupScheduling, which reads that file) keeps each group on one worker.
_GROUPS_KEY = "alis_test_groups_file"
_GROUPS_DIR = pytest.StashKey[Path]()  # (controller) the folder of that file, removed at the end


def _tell_the_scheduler(config, groups: dict[str, str]) -> None:
    """(xdist worker) Write the node id -> group map for the controller (every worker writes the same)."""
    target = getattr(config, "workerinput", {}).get(_GROUPS_KEY)
    if target:
        handle, temporary = tempfile.mkstemp(dir=Path(target).parent, suffix=".tmp")
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            json.dump(groups, stream)
        os.replace(temporary, target)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node):
    """(xdist controller) Name the file each worker writes its groups to."""
    stash = node.config.stash
    if _GROUPS_DIR not in stash:
        stash[_GROUPS_DIR] = Path(tempfile.mkdtemp(prefix="alis-test-groups-"))
    node.workerinput[_GROUPS_KEY] = str(stash[_GROUPS_DIR] / "groups.json")


@pytest.hookimpl(optionalhook=True, tryfirst=True)
def pytest_xdist_make_scheduler(config, log):
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadGroupScheduling

    class SharedBuildScheduling(LoadGroupScheduling):
        """``--dist loadgroup`` with the groups of :func:`pytest_collection_modifyitems`."""

        _groups = None

        def _split_scope(self, nodeid: str) -> str:
            if self._groups is None:  # read once all workers have collected (when scheduling starts)
                path = config.stash.get(_GROUPS_DIR, None)
                path = path / "groups.json" if path else None
                self._groups = json.loads(path.read_text(encoding="utf-8")) if path and path.exists() else {}
            return self._groups.get(nodeid) or super()._split_scope(nodeid)

    return SharedBuildScheduling(config, log)


def pytest_unconfigure(config):
    folder = config.stash.get(_GROUPS_DIR, None)
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)
