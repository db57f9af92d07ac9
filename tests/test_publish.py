"""Publishing a report folder and repairing what a killed run left (``report/publish.py``).

The killed runs are real: a child process publishes through
:func:`staged_output` and is killed with SIGKILL at the moment under test.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from alis_research.report.publish import PUBLISH_LOCK_NAME, recover_interrupted, staged_output

pytestmark = pytest.mark.skipif(os.name == "nt", reason="kills processes with SIGKILL")

# A child that publishes <out>/r_all_nb (new version) and kills itself at a chosen moment.
KILLED_PUBLISH = textwrap.dedent("""
    import os, shutil, signal, sys, time
    from pathlib import Path
    from alis_research.report import publish

    out, moment = Path(sys.argv[1]), sys.argv[2]
    real_replace = os.replace
    replaced = []

    def replace(source, target):
        real_replace(source, target)
        replaced.append(target)
        if moment == "between-renames" and len(replaced) == 1:
            os.kill(os.getpid(), signal.SIGKILL)

    def rmtree(path, **kwargs):  # the aside's clean-up, after the second rename
        if moment == "after-renames":
            os.kill(os.getpid(), signal.SIGKILL)
        shutil.rmtree(path, **kwargs)

    publish.os.replace = replace
    publish.shutil.rmtree = rmtree
    with publish.staged_output(out / "r_all_nb") as tmp:
        (tmp / "report.pdf").write_text("new")
        (tmp / "manifest.json").write_text("{}")
        if moment == "while-building":
            (out / "building").touch()
            time.sleep(60)
    """)


def previous_report(out: Path) -> None:
    folder = out / "r_all_nb"
    folder.mkdir(parents=True)
    (folder / "report.pdf").write_text("old")
    (folder / "manifest.json").write_text("{}")


def killed_publish(out: Path, moment: str) -> None:
    done = subprocess.run([sys.executable, "-c", KILLED_PUBLISH, str(out), moment], timeout=60)
    assert done.returncode == -signal.SIGKILL


def names(out: Path) -> list[str]:
    return sorted(p.name for p in out.iterdir() if p.name != PUBLISH_LOCK_NAME)


def test_killed_between_the_two_renames_the_next_run_restores_the_previous_report(tmp_path):
    previous_report(tmp_path)
    killed_publish(tmp_path, "between-renames")
    left = names(tmp_path)
    assert "r_all_nb" not in left
    assert any(n.startswith(".r_all_nb.old-") for n in left) and any(n.startswith(".r_all_nb.tmp-") for n in left)
    messages: list[str] = []
    recover_interrupted(tmp_path, None, messages.append)
    assert (tmp_path / "r_all_nb" / "report.pdf").read_text() == "old"
    assert names(tmp_path) == ["r_all_nb"]  # the aside put back, the dead build's staging folder gone
    assert messages[0] == "RESTORED r_all_nb: the previous report was left aside by an interrupted run"
    assert messages[1].startswith("CLEANED .r_all_nb.tmp-") and "its process is gone" in messages[1]


def test_killed_after_the_second_rename_the_next_run_removes_the_aside(tmp_path):
    previous_report(tmp_path)
    killed_publish(tmp_path, "after-renames")
    assert (tmp_path / "r_all_nb" / "report.pdf").read_text() == "new"
    assert any(n.startswith(".r_all_nb.old-") for n in names(tmp_path))
    messages: list[str] = []
    recover_interrupted(tmp_path, ["r_all_nb"], messages.append)
    assert names(tmp_path) == ["r_all_nb"]
    assert (tmp_path / "r_all_nb" / "report.pdf").read_text() == "new"
    assert messages == [m for m in messages if m.startswith("CLEANED .r_all_nb.old-")] and len(messages) == 1


def test_a_live_builds_staging_folder_is_never_removed_and_a_dead_ones_is(tmp_path):
    previous_report(tmp_path)
    child = subprocess.Popen([sys.executable, "-c", KILLED_PUBLISH, str(tmp_path), "while-building"])
    try:
        deadline = time.time() + 60
        while not (tmp_path / "building").exists() and time.time() < deadline:
            time.sleep(0.02)
        staging = [p for p in tmp_path.iterdir() if p.is_dir() and ".tmp-" in p.name]
        assert len(staging) == 1
        messages: list[str] = []
        # even long after it was made: the owner holds its lock, so the folder is in use
        recover_interrupted(tmp_path, None, messages.append, now=time.time() + 10 * 3600)
        assert staging[0].is_dir() and messages == []
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    recover_interrupted(tmp_path, None, messages.append)
    assert not staging[0].exists() and not staging[0].with_name(staging[0].name + ".owner").exists()
    assert names(tmp_path) == ["building", "r_all_nb"]
    assert (tmp_path / "r_all_nb" / "report.pdf").read_text() == "old"


def test_staged_output_publishes_and_leaves_nothing_beside(tmp_path):
    previous_report(tmp_path)
    with staged_output(tmp_path / "r_all_nb") as tmp:
        (tmp / "report.pdf").write_text("new")
    assert names(tmp_path) == ["r_all_nb"]
    with pytest.raises(ZeroDivisionError):
        with staged_output(tmp_path / "r_all_nb") as tmp:
            (tmp / "report.pdf").write_text("half")
            1 / 0
    assert names(tmp_path) == ["r_all_nb"]
    assert (tmp_path / "r_all_nb" / "report.pdf").read_text() == "new"
