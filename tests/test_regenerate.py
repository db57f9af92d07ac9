"""``alis-research regenerate``: report matrix, skipping, parallel builds, locking, failure handling.

Most tests inject a fake builder (``fake_build``) that writes a report folder
the way the real one does (temporary folder, then moved into place, manifest
with ``inputs_key``) in milliseconds, so they test the regeneration logic, not
the notebooks. One end-to-end test uses the real builder on the demo data.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from alis_research import config
from alis_research.errors import AlisError
from alis_research.data.io import atomic_output_dir
from alis_research.cli.report import regenerate as cli_regenerate
from alis_research.report import regenerate as regen
from alis_research.report.matrix import load_matrix
from alis_research.report.publish import staged_output
from alis_research.report.regenerate import (
    EXIT_LOCKED,
    RegenerationLocked,
    recover_interrupted,
    regenerate,
    stale_reason,
)

PYTHON = sys.executable
AREAS = ["all", "Finnmark", "UNN", "Nordland", "Helgeland"]


# --------------------------------------------------------------------------- the fake builder
def fake_key(dataset, *, as_of, area, language, min_cell):
    """Inputs key as the real one is made: data file hashes + parameters (no kernel)."""
    digest = hashlib.sha256()
    for path in sorted(Path(dataset).glob("*.csv")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    digest.update(json.dumps([as_of, area, language, min_cell]).encode())
    return digest.hexdigest()


class FakeReportFailed(AlisError):
    """Like the real ReportFailed: a constructor that is not ``(message,)`` (does not unpickle)."""

    def __init__(self, report, notebook, cell):
        super().__init__(f"{report}: notebook {notebook} failed in cell {cell}")
        self.notebook = notebook
        self.cell = cell


def _control(dataset: Path) -> dict:
    path = dataset / "control.json"
    return json.loads(path.read_text()) if path.exists() else {}


def fake_build(dataset, *, as_of, area="all", language="nb", min_cell=5, out_dir=None, kernel_name=None):
    """Write ``<out_dir>/<dataset>_<area>_<language>/`` atomically, as the real builder does.

    ``<dataset>/control.json`` steers it: ``fail`` (report names that raise half-way,
    after writing report.html into the temporary folder), ``sleep`` (seconds), ``die``
    (report names whose build process kills itself with SIGKILL) and ``hold`` (report
    names whose first build writes ``pid-<name>`` and waits to be killed).
    Every call appends ``name start end`` to ``<dataset>/calls.log``.
    """
    dataset = Path(dataset)
    control = _control(dataset)
    name = f"{dataset.name}_{area}_{language}"
    final = Path(out_dir) / name
    started = time.time()
    try:
        with staged_output(final) as tmp:
            (tmp / "report.html").write_text(f"<h1>{name}</h1>")
            time.sleep(control.get("sleep", 0))
            if control.get("chatter"):  # a kernel inherits the worker's stderr and writes to it
                subprocess.run([sys.executable, "-c", f"import sys; sys.stderr.write('[kernel] chatter {name}\\n')"],
                               check=True)
            if name in control.get("die", []):  # as the out-of-memory killer would, on every attempt
                os.kill(os.getpid(), signal.SIGKILL)
            if name in control.get("hold", []) and not (dataset / f"pid-{name}").exists():
                (dataset / f"pid-{name}").write_text(str(os.getpid()))  # first attempt: wait to be killed
                time.sleep(60)
            if name in control.get("fail", []):
                kept = Path(out_dir) / f"{name}.failed"
                kept.mkdir(exist_ok=True)
                (kept / "retention.ipynb").write_text("{}")
                raise FakeReportFailed(name, "retention.ipynb", "7 (km = kaplan_meier(...))")
            key = fake_key(dataset, as_of=as_of, area=area, language=language, min_cell=min_cell)
            (tmp / "report.pdf").write_bytes(b"%PDF-1.7 " + key.encode())
            (tmp / "output_check.json").write_text(json.dumps({"key": key}))
            (tmp / "manifest.json").write_text(json.dumps({"inputs_key": key, "files": ["report.pdf"]}))
    finally:
        with open(dataset / "calls.log", "a") as log:
            log.write(f"{name} {started:.4f} {time.time():.4f}\n")
    return SimpleNamespace(path=final, timings={"kernel_start": 0.01, "total": time.time() - started})


def calls(dataset: Path) -> list[str]:
    path = dataset / "calls.log"
    return [line.split()[0] for line in path.read_text().splitlines()] if path.exists() else []


@pytest.fixture
def project(tmp_path):
    """A project folder: data/raw/demo (one CSV) and reports/reports.toml (demo matrix, 10 reports)."""
    dataset = tmp_path / "data" / "raw" / "demo"
    dataset.mkdir(parents=True)
    (dataset / "episodes.csv").write_text("person_id,start_date\nP1,2019-08-01\n")
    reports = tmp_path / "reports"
    reports.mkdir()
    config_path = reports / "reports.toml"
    config_path.write_text(textwrap.dedent(f"""\
        areas = {json.dumps(AREAS)}
        languages = ["nb", "en"]

        [defaults]
        as_of = 2024-12-31
        min_cell = 5
        out_dir = "."

        [[datasets]]
        name = "demo"
        path = "../data/raw/demo"
        """))
    return SimpleNamespace(root=tmp_path, dataset=dataset, reports=reports, config=config_path)


def run(project, **kwargs):
    kwargs.setdefault("builder", fake_build)
    kwargs.setdefault("key_fn", fake_key)
    kwargs.setdefault("executor", "thread")
    return regenerate(load_matrix(project.config), **kwargs)


# --------------------------------------------------------------------------- the matrix file
def test_demo_matrix_file_lists_the_ten_demo_reports():
    matrix = load_matrix(config.PROJECT_ROOT / "reports" / "reports.toml")
    names = [spec.name for spec in matrix.reports]
    assert len(names) == 10
    assert names[:3] == ["synthetic_all_nb", "synthetic_all_en", "synthetic_Finnmark_nb"]
    assert names[-1] == "synthetic_Helgeland_en"
    assert {spec.as_of for spec in matrix.reports} == {"2024-12-31"}
    assert {spec.min_cell for spec in matrix.reports} == {5}
    assert matrix.reports[0].dataset_path == (config.PROJECT_ROOT / "data" / "raw" / "synthetic").resolve()
    assert matrix.out_dir == (config.PROJECT_ROOT / "reports").resolve()


def test_relative_paths_resolve_against_the_config_folder_not_the_working_directory(project, monkeypatch):
    monkeypatch.chdir(project.dataset)  # somewhere unrelated, as cron would
    matrix = load_matrix(project.config)
    assert matrix.reports[0].dataset_path == project.dataset.resolve()
    assert matrix.out_dir == project.reports.resolve()


def test_dataset_overrides_and_missing_path_defaults_to_data_raw(tmp_path):
    path = tmp_path / "m.toml"
    path.write_text(textwrap.dedent("""\
        areas = ["UNN"]
        languages = ["en"]
        [defaults]
        as_of = "2023-06-30"
        [[datasets]]
        name = "synthetic"
        [[datasets]]
        name = "nord"
        path = "nord"
        as_of = 2024-12-31
        min_cell = 3
        """))
    matrix = load_matrix(path)
    first, second = matrix.reports
    assert (first.dataset_path, first.as_of, first.min_cell) == (
        (config.DATA_RAW / "synthetic").resolve(), "2023-06-30", config.DEFAULT_MIN_CELL)
    assert (second.dataset_path, second.as_of, second.min_cell) == ((tmp_path / "nord").resolve(), "2024-12-31", 3)
    assert matrix.out_dir == tmp_path.resolve()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('areas = ["Troms"]\nlanguages = ["nb"]\n[[datasets]]\nname = "d"\npath = "d"\nas_of = 2024-12-31\n',
         "areas[1] = 'Troms': expected a non-empty list of distinct values from ['all', 'Finnmark', 'UNN', "
         "'Nordland', 'Helgeland']"),
        ('areas = ["all"]\nlanguages = ["nb", "nb"]\n[[datasets]]\nname = "d"\npath = "d"\nas_of = 2024-12-31\n',
         "languages[2] = 'nb' is listed twice"),
        ('areas = ["all"]\nlanguages = ["nb"]\n[[datasets]]\nname = "d"\npath = "d"\nas_of = "31.12.2024"\n',
         "[[datasets]] #1 as_of = '31.12.2024': expected a date YYYY-MM-DD"),
        ('areas = ["all"]\nlanguages = ["nb"]\n[[datasets]]\nname = "d"\npath = "d"\nas_of = "2024-02-30"\n',
         "[[datasets]] #1 as_of = '2024-02-30': expected a date YYYY-MM-DD"),
        ('areas = ["all"]\nlanguages = ["nb"]\n[defaults]\nmin_cell = 0\nas_of = 2024-12-31\n'
         '[[datasets]]\nname = "d"\npath = "d"\n',
         "[defaults] min_cell = 0 (int): expected a whole number ≥ 1"),
        ('areas = ["all"]\nlanguages = ["nb"]\n[defaults]\nas_of = 2024-12-31\nmincell = 3\n'
         '[[datasets]]\nname = "d"\npath = "d"\n',
         "[defaults]: unknown key 'mincell' (allowed: as_of, min_cell, out_dir)"),
        ('areas = ["all"]\nlanguages = ["nb"]\n[[datasets]]\nname = "d"\npath = "d"\n',
         "[[datasets]] #1 (d): no as_of: give as_of here or in [defaults]"),
        ('areas = ["all"]\nlanguages = ["nb"]\n[[datasets]]\nname = "nord"\npath = "data/x"\nas_of = 2024-12-31\n',
         "[[datasets]] #1 name = 'nord' but path 'data/x' ends in 'x'"),
        ('areas = ["all"]\nlanguages = ["nb"]\n[defaults]\nas_of = 2024-12-31\n',
         "datasets = None (NoneType): expected at least one [[datasets]] table"),
        ('areas = ["all"]\nlanguages = ["nb"]\n[defaults]\nas_of = 2024-12-31\n[[datasets]]\nname = "d"\n'
         '[[datasets]]\npath = "x/d"\n',
         "[[datasets]] #2 name = 'd': another [[datasets]] has the same name"),
        ('areas = ["all"]\nlanguages = ["nb"]\n[[datasets]]\nname = "d"\nas_of = 2024-12-31T10:00:00\n',
         "[[datasets]] #1 as_of = 2024-12-31T10:00:00: expected a date YYYY-MM-DD without a time"),
        ('areas = ["all"\n', "not a valid TOML file"),
    ],
)
def test_config_errors_name_file_key_value_and_expectation(tmp_path, text, expected):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(AlisError) as info:
        load_matrix(path)
    message = str(info.value)
    assert str(path) in message
    assert expected in message


def test_config_lists_every_problem_at_once(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('areas = []\nlanguages = ["de"]\ncolour = "red"\n[[datasets]]\nname = "a b"\nas_of = 2024\n')
    with pytest.raises(AlisError) as info:
        load_matrix(path)
    message = str(info.value)
    assert "5 problem(s)" in message
    assert "[[datasets]] #1 as_of = 2024 (int): expected a date YYYY-MM-DD" in message
    assert "areas = [] (list)" in message
    assert "languages[1] = 'de'" in message
    assert "top level: unknown key 'colour'" in message
    assert "name = 'a b'" in message


def test_missing_config_file_says_how_to_fix(tmp_path):
    with pytest.raises(AlisError, match=r"report matrix file not found .*--config FILE"):
        load_matrix(tmp_path / "nope.toml")


# --------------------------------------------------------------------------- skipping and rebuilding
def test_first_run_builds_all_second_run_skips_all(project):
    first = run(project, jobs=2)
    assert first.exit_status == 0
    assert (first.count("built"), first.count("skipped"), first.count("failed")) == (10, 0, 0)
    assert sorted(calls(project.dataset)) == sorted(f"demo_{a}_{lang}" for a in AREAS for lang in ("nb", "en"))
    for area in AREAS:
        assert (project.reports / f"demo_{area}_nb" / "report.pdf").is_file()

    second = run(project, jobs=2)
    assert (second.count("built"), second.count("skipped")) == (0, 10)
    assert len(calls(project.dataset)) == 10  # the builder was not called again
    log = second.log_path.read_text()
    assert log.count(" SKIPPED demo_") == 10
    assert "inputs unchanged" in log


def test_changed_data_rebuilds_and_force_rebuilds_everything(project):
    run(project)
    (project.dataset / "episodes.csv").write_text("person_id,start_date\nP1,2019-08-01\nP2,2020-01-01\n")
    after_change = run(project)
    assert after_change.count("built") == 10
    assert "reason='inputs changed'" in after_change.log_path.read_text()
    forced = run(project, force=True)
    assert forced.count("built") == 10
    assert len(calls(project.dataset)) == 30


def test_changed_parameter_rebuilds_only_what_it_touches(project):
    run(project)
    text = project.config.read_text().replace('languages = ["nb", "en"]', 'languages = ["nb", "en"]\n')
    text = text.replace('name = "demo"', 'name = "demo"\nmin_cell = 3')
    project.config.write_text(text)
    result = run(project)
    assert result.count("built") == 10  # min_cell enters every report's key


def test_a_missing_or_empty_report_file_is_rebuilt(project):
    run(project)
    (project.reports / "demo_UNN_en" / "report.pdf").unlink()
    (project.reports / "demo_all_nb" / "output_check.json").write_text("")
    result = run(project)
    built = sorted(item.spec.name for item in result.statuses if item.status == "built")
    assert built == ["demo_UNN_en", "demo_all_nb"]
    assert "reason='report.pdf missing or empty'" in result.log_path.read_text()


def test_stale_reason_checks_key_and_listed_files(tmp_path):
    folder = tmp_path / "r"
    assert stale_reason(folder, "k") == "not built yet"
    folder.mkdir()
    assert stale_reason(folder, "k") == "manifest.json missing or unreadable"
    for name in ("report.pdf", "report.html", "output_check.json"):
        (folder / name).write_text("x")
    (folder / "manifest.json").write_text(json.dumps({
        "inputs_key": "k", "files": {"figures/km.svg": "abc"},
        "notebooks": {"evaluation_report.ipynb": {"executed": "notebooks/evaluation_report.ipynb"}}}))
    assert stale_reason(folder, "other") == "inputs changed"
    assert stale_reason(folder, "k") == "notebooks/evaluation_report.ipynb missing or empty"
    (folder / "notebooks").mkdir()
    (folder / "notebooks" / "evaluation_report.ipynb").write_text("{}")
    assert stale_reason(folder, "k") == "figures/km.svg missing or empty"
    (folder / "figures").mkdir()
    (folder / "figures" / "km.svg").write_text("<svg/>")
    assert stale_reason(folder, "k") is None


# --------------------------------------------------------------------------- parallelism
def test_at_most_jobs_builds_run_at_once(project):
    (project.dataset / "control.json").write_text(json.dumps({"sleep": 0.15}))
    run(project, jobs=3)
    spans = [tuple(map(float, line.split()[1:])) for line in (project.dataset / "calls.log").read_text().splitlines()]
    assert len(spans) == 10
    events = sorted([(start, 1) for start, _ in spans] + [(end, -1) for _, end in spans], key=lambda e: (e[0], e[1]))
    running = peak = 0
    for _, change in events:
        running += change
        peak = max(peak, running)
    assert peak == 3  # ran in parallel, never more than --jobs


@pytest.mark.slow
def test_process_workers_build_and_carry_failures_back(project, capfd):
    (project.dataset / "control.json").write_text(json.dumps({"fail": ["demo_Nordland_nb"], "chatter": True}))
    result = run(project, jobs=2, executor="process")
    assert (result.count("built"), result.count("failed")) == (9, 1)
    (failed,) = result.failed
    assert failed.notebook == "retention.ipynb"
    assert failed.cell == "7 (km = kaplan_meier(...))"
    # what the workers' kernels print goes to the run's log, not into a cron mail
    assert "[kernel] chatter" not in capfd.readouterr().err
    log = result.log_path.read_text()
    assert all(f"[kernel] chatter demo_{area}_nb" in log for area in AREAS)
    assert log.splitlines()[-1].split(" ", 1)[1].startswith("END FAILED demo_Nordland_nb")


# --------------------------------------------------------------------------- dead workers (issue 12, item 6)
@pytest.mark.slow  # spawns build processes
def test_a_worker_killed_with_kill_9_mid_run_is_retried_in_a_fresh_worker_and_the_others_complete(project):
    import threading

    (project.dataset / "control.json").write_text(json.dumps({"hold": ["demo_UNN_nb"]}))
    pid_file = project.dataset / "pid-demo_UNN_nb"

    def kill_the_worker():
        deadline = time.time() + 60
        while not pid_file.exists() and time.time() < deadline:
            time.sleep(0.02)
        time.sleep(0.1)
        os.kill(int(pid_file.read_text()), signal.SIGKILL)

    killer = threading.Thread(target=kill_the_worker)
    killer.start()
    result = run(project, jobs=2, executor="process")
    killer.join()
    assert (result.count("built"), result.count("failed")) == (10, 0), result.summary()
    log = result.log_path.read_text()
    assert "RETRY demo_UNN_nb: its build process died (killed by SIGKILL)" in log
    assert log.count("RETRY") == 1
    assert (project.reports / "demo_UNN_nb" / "manifest.json").is_file()


@pytest.mark.slow  # spawns build processes
def test_a_report_whose_worker_dies_twice_fails_alone(project):
    (project.dataset / "control.json").write_text(json.dumps({"die": ["demo_Nordland_en"]}))
    result = run(project, jobs=2, executor="process")
    assert (result.count("built"), result.count("failed")) == (9, 1), result.summary()
    (failed,) = result.failed
    assert failed.spec.name == "demo_Nordland_en"
    assert "the build process died (killed by SIGKILL) on each of 2 attempts" in failed.message
    assert result.log_path.read_text().count("RETRY demo_Nordland_en") == 1
    assert result.exit_status == 1
    assert not (project.reports / "demo_Nordland_en").exists()
    # the killed builds' staging folders are removed by the next run (their owner is gone)
    (project.dataset / "control.json").unlink()
    assert run(project).count("built") == 1
    assert not [p.name for p in project.reports.iterdir() if ".tmp-" in p.name]


# --------------------------------------------------------------------------- failures
def test_one_failure_leaves_the_old_report_and_the_others(project):
    run(project)
    old_pdf = (project.reports / "demo_UNN_nb" / "report.pdf").read_bytes()
    (project.dataset / "episodes.csv").write_text("person_id,start_date\nP9,2021-01-01\n")
    (project.dataset / "control.json").write_text(json.dumps({"fail": ["demo_UNN_nb"]}))
    result = run(project, jobs=2)
    assert result.exit_status == 1
    assert (result.count("built"), result.count("failed")) == (9, 1)
    # the builder raised half-way: the published report is the previous one, byte for byte
    assert (project.reports / "demo_UNN_nb" / "report.pdf").read_bytes() == old_pdf
    assert not any(p.name.startswith(".demo_UNN_nb.tmp-") for p in project.reports.iterdir())
    summary = result.summary()
    assert "10 report(s): 9 built, 0 up to date, 1 failed" in summary
    kept = project.reports / "demo_UNN_nb.failed"
    assert (f"FAILED demo_UNN_nb: demo_UNN_nb: notebook retention.ipynb failed in cell 7 (km = kaplan_meier(...)); "
            f"executed notebook kept in {kept}") in summary
    log = result.log_path.read_text()
    assert "FAILED demo_UNN_nb" in log and "BUILT demo_UNN_en" in log
    # the failed report is retried on the next run (its old manifest has the old key)
    (project.dataset / "control.json").unlink()
    retry = run(project)
    assert [item.spec.name for item in retry.statuses if item.status == "built"] == ["demo_UNN_nb"]


def test_a_bug_in_the_builder_is_reported_with_its_traceback(project):
    def broken(dataset, **kwargs):
        raise ZeroDivisionError("division by zero")

    result = run(project, builder=broken, jobs=1)
    assert result.count("failed") == 10
    assert result.failed[0].message == "ZeroDivisionError: division by zero"
    log = result.log_path.read_text()
    assert "Traceback (most recent call last)" in log


def test_a_dataset_whose_key_cannot_be_computed_fails_alone(project, tmp_path):
    other = tmp_path / "data" / "raw" / "gone"
    other.mkdir()
    (other / "episodes.csv").write_text("x\n1\n")
    project.config.write_text(project.config.read_text() + '\n[[datasets]]\nname = "gone"\npath = "../data/raw/gone"\n')

    def key_or_missing(dataset, **kwargs):
        if Path(dataset).name == "gone":
            raise AlisError(f"{dataset}: dataset folder not found")
        return fake_key(dataset, **kwargs)

    result = run(project, key_fn=key_or_missing)
    assert (result.count("built"), result.count("failed")) == (10, 10)
    assert result.failed[0].message.endswith("gone: dataset folder not found")


# --------------------------------------------------------------------------- lock and logs
LOCK_HOLDER = """
import sys, time, filelock
lock = filelock.FileLock(sys.argv[1], timeout=0)
lock.acquire()
print("locked", flush=True)
time.sleep(30)
"""


def test_a_second_run_while_one_is_busy_exits_with_status_75(project, capsys, monkeypatch):
    holder = subprocess.Popen([PYTHON, "-c", LOCK_HOLDER, str(project.reports / regen.LOCK_FILE_NAME)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(RegenerationLocked, match="another regenerate run is busy"):
            run(project)
        monkeypatch.setattr(regen, "_default_builder", lambda: fake_build)
        monkeypatch.setattr(regen, "_default_key_fn", lambda: fake_key)
        status = cli_regenerate(argparse.Namespace(config=str(project.config), jobs=1, force=False,
                                                         progress=False))
        assert status == EXIT_LOCKED == 75
        assert "another regenerate run is busy" in capsys.readouterr().err
        assert calls(project.dataset) == []
    finally:
        holder.kill()
        holder.wait()
    assert run(project).count("built") == 10  # the lock is free once the holder is gone


@pytest.mark.slow
def test_cli_prints_summary_and_returns_status(project, capsys, monkeypatch):
    from alis_research.cli import main

    monkeypatch.setattr(regen, "_default_builder", lambda: fake_build)
    monkeypatch.setattr(regen, "_default_key_fn", lambda: fake_key)
    argv = ["regenerate", "--config", str(project.config), "--jobs", "2"]
    (project.dataset / "control.json").write_text(json.dumps({"fail": ["demo_all_en"]}))
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "FAILED demo_all_en" in err and "executed notebook kept in" in err
    assert "%|" not in err  # no progress bar when standard error is not a terminal (cron mail, CI logs)
    (project.dataset / "control.json").unlink()
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "10 report(s): 1 built, 9 up to date, 0 failed" in out
    assert main([*argv[:3], "--jobs", "0"]) == 1
    assert "--jobs 0: expected a whole number ≥ 1" in capsys.readouterr().err


def test_each_run_has_its_own_log_and_latest_points_to_the_newest(project):
    first = run(project)
    second = run(project)
    assert first.log_path != second.log_path
    assert first.log_path.parent == config.restricted_dir_for(project.reports) / "logs"
    assert first.log_path.name.startswith("regenerate-") and first.log_path.name.endswith(".log")
    latest = config.restricted_dir_for(project.reports) / "logs" / "latest.log"
    assert latest.read_text() == second.log_path.read_text()
    lines = first.log_path.read_text().splitlines()
    assert " START alis-research " in lines[0]
    assert " END 10 report(s): 10 built" in lines[-1]
    built = [line for line in lines if " BUILT demo_" in line]
    assert len(built) == 10 and all("kernel_start=0.01" in line for line in built)


# --------------------------------------------------------------------------- killed runs
KILLABLE_RUN = """
import sys, time
from pathlib import Path
from alis_research.data.io import atomic_output_dir
from alis_research.report.matrix import load_matrix
from alis_research.report.regenerate import regenerate
sys.path.insert(0, sys.argv[2])
from test_regenerate import fake_key

def slow_build(dataset, *, as_of, area, language, min_cell, out_dir, **kwargs):
    final = Path(out_dir) / f"{Path(dataset).name}_{area}_{language}"
    with atomic_output_dir(final) as tmp:
        (tmp / "report.pdf").write_bytes(b"new half-written")
        (Path(out_dir) / f"started-{final.name}").touch()
        time.sleep(60)

regenerate(load_matrix(sys.argv[1]), builder=slow_build, key_fn=fake_key, executor="thread", force=True)
"""


@pytest.mark.slow
def test_a_run_killed_mid_build_leaves_every_previous_report_intact(project):
    run(project)
    before = {p.relative_to(project.reports): p.read_bytes()
              for p in project.reports.rglob("*") if p.is_file() and "logs" not in p.parts}
    process = subprocess.Popen([PYTHON, "-c", KILLABLE_RUN, str(project.config), str(Path(__file__).parent)])
    try:
        # wait until both workers (jobs=2) have written half a report into their temporary folders
        deadline = time.time() + 60
        while len(list(project.reports.glob("started-*"))) < 2 and time.time() < deadline:
            time.sleep(0.02)
        assert len(list(project.reports.glob("started-*"))) == 2
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    after = {p.relative_to(project.reports): p.read_bytes()
             for p in project.reports.rglob("*") if p.is_file() and "logs" not in p.parts
             and not p.name.startswith("started-")
             and not p.relative_to(project.reports).parts[0].startswith(".")}
    assert after == {k: v for k, v in before.items() if not str(k).startswith(".")}
    leftovers = [p.name for p in project.reports.iterdir() if ".tmp-" in p.name]
    assert len(leftovers) == 2  # jobs=2: two builds were cut off
    # the next run sees nothing changed, and a later one cleans the stale temporary folders
    assert run(project).count("skipped") == 10
    old = time.time() - regen.STALE_TEMP_SECONDS - 10
    for name in leftovers:
        os.utime(project.reports / name, (old, old))
    result = run(project)
    assert not [p for p in project.reports.iterdir() if ".tmp-" in p.name]
    assert result.log_path.read_text().count("CLEANED .demo_") == 2


def test_a_report_left_aside_by_a_kill_is_put_back(project):
    run(project)
    # a kill between the two renames of io.atomic_replace_dir leaves only the aside copy
    os.replace(project.reports / "demo_all_nb", project.reports / ".demo_all_nb.old-1a2b3c4d")
    result = run(project)
    assert result.count("skipped") == 10
    assert (project.reports / "demo_all_nb" / "manifest.json").is_file()
    assert "RESTORED demo_all_nb" in result.log_path.read_text()


def test_young_temporary_folders_are_kept(tmp_path):
    young = tmp_path / ".r_all_nb.tmp-abc123"
    young.mkdir()
    messages = []
    recover_interrupted(tmp_path, ["r_all_nb"], messages.append)
    assert young.is_dir() and messages == []
    recover_interrupted(tmp_path, ["r_all_nb"], messages.append, now=time.time() + regen.STALE_TEMP_SECONDS + 1)
    assert not young.exists() and messages == ["CLEANED .r_all_nb.tmp-abc123: temporary folder of an interrupted build"]


@pytest.mark.slow
def test_sigterm_stops_workers_and_removes_their_temporary_folders(project, tmp_path):
    helper = tmp_path / "helper_builders.py"
    helper.write_text(textwrap.dedent("""
        import time
        from pathlib import Path
        from alis_research.data.io import atomic_output_dir

        def slow_build(dataset, *, as_of, area, language, min_cell, out_dir, **kwargs):
            final = Path(out_dir) / f"{Path(dataset).name}_{area}_{language}"
            with atomic_output_dir(final) as tmp:
                (tmp / "report.pdf").write_bytes(b"half")
                (Path(out_dir) / f"started-{final.name}").touch()
                time.sleep(60)
        """))
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(tmp_path)!r}); sys.path.insert(0, {str(Path(__file__).parent)!r})
        import argparse
        from alis_research.cli.report import regenerate as cli_regenerate
        from alis_research.report import regenerate as regen
        from helper_builders import slow_build
        from test_regenerate import fake_key
        regen._default_builder = lambda: slow_build
        regen._default_key_fn = lambda: fake_key
        try:
            cli_regenerate(argparse.Namespace(config={str(project.config)!r}, jobs=2, force=True,
                                                    progress=False))
        except KeyboardInterrupt:
            sys.exit(130)
        """)
    process = subprocess.Popen([PYTHON, "-c", script])
    deadline = time.time() + 60
    while len(list(project.reports.glob("started-*"))) < 2 and time.time() < deadline:
        time.sleep(0.05)
    assert len(list(project.reports.glob("started-*"))) == 2
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 130
    time.sleep(0.5)  # the terminated workers finish their clean-up
    assert not [p.name for p in project.reports.iterdir() if ".tmp-" in p.name]
    assert not list(project.reports.glob("demo_*"))  # nothing half-made was published
    log = (config.restricted_dir_for(project.reports) / "logs" / "latest.log").read_text()
    assert "INTERRUPTED" in log


# --------------------------------------------------------------------------- end to end
def _real_builder_available() -> bool:
    try:
        from alis_research.report import build_report, report_inputs_key  # noqa: F401
    except ImportError:
        return False
    return (config.DATA_RAW / config.DEMO_DATASET / "episodes.csv").exists()


@pytest.mark.skipif(not _real_builder_available(),
                    reason="alis_research.report.build_report (or the demo data) is not available yet")
@pytest.mark.slow
def test_end_to_end_one_real_report_then_nothing_to_do(tmp_path):
    path = tmp_path / "reports.toml"
    path.write_text(textwrap.dedent(f"""\
        areas = ["all"]
        languages = ["nb"]
        [defaults]
        as_of = 2024-12-31
        out_dir = "out"
        [[datasets]]
        name = "synthetic"
        path = {json.dumps(str(config.DATA_RAW / config.DEMO_DATASET))}
        """))
    matrix = load_matrix(path)
    first = regenerate(matrix, jobs=1)
    assert first.count("built") == 1, first.summary()
    report = tmp_path / "out" / "synthetic_all_nb"
    assert stale_reason(report, first.statuses[0].inputs_key) is None
    started = time.perf_counter()
    second = regenerate(matrix, jobs=1)
    assert second.count("skipped") == 1
    assert time.perf_counter() - started < 3.0
