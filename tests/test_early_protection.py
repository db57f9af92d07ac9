"""The builder protects a report while its notebook's last cells run (``build.EarlyProtection``).

What it must never do: publish a protection of content that changed after it started, keep
working in a folder the builder is about to empty, or swallow an audit failure.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat
import pytest

from alis_research import config
from alis_research.report.build import CONTENT_COMPLETE_TAG, EarlyProtection, notebook_path
from alis_research.report.content import read_content, write_meta
from alis_research.report.ledger import DisclosureAuditFailed
from alis_research.report.protection import protect_content, write_content_in_process
from alis_research.report.sections import load_for_report

SMALL = Path(__file__).parent / "fixtures" / "report_small"
OK = {"content": {"status": "ok"}}
TAGGED = {"metadata": {"tags": [CONTENT_COMPLETE_TAG]}}


@pytest.fixture(scope="module")
def small_work(tmp_path_factory):
    """The small-cell fixture's working folder, written as the notebook writes it (read-only)."""
    work = tmp_path_factory.mktemp("early") / "work"
    work.mkdir()
    prepared = load_for_report(SMALL, as_of=config.DEMO_AS_OF)
    write_content_in_process(prepared, work, dataset=str(SMALL), min_cell=5)
    return work


def _copy(work: Path, tmp_path: Path) -> tuple[Path, Path]:
    copy, published = tmp_path / "work", tmp_path / "published"
    shutil.copytree(work, copy)
    published.mkdir()
    return copy, published


def _published(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_the_template_tags_the_cell_after_which_the_content_is_complete():
    nb = nbformat.read(notebook_path(), as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    tagged = [i for i, c in enumerate(code) if CONTENT_COMPLETE_TAG in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    # the appendix is the last section written; the cells after it write restricted files only
    assert "write_section(output_dir, appendix)" in code[tagged[0]].source
    assert not any("write_section" in c.source or "write_meta" in c.source for c in code[tagged[0] + 1:])


def test_an_early_protection_publishes_what_a_protection_after_the_notebook_publishes(small_work, tmp_path):
    work, published = _copy(small_work, tmp_path / "early")
    early = EarlyProtection(work, published, 5)
    early.cell_executed(cell=TAGGED, cell_index=40, execute_reply=OK)
    protection = early.result()
    reference_work, reference = _copy(small_work, tmp_path / "after")
    expected = protect_content(reference_work, reference, min_cell=5)
    assert protection.withheld == expected.withheld
    assert _published(published) == _published(reference)
    assert early.seconds > 0


def test_content_changed_after_the_start_is_protected_again(small_work, tmp_path):
    work, published = _copy(small_work, tmp_path)
    early = EarlyProtection(work, published, 5)
    early.cell_executed(cell=TAGGED, cell_index=40, execute_reply=OK)
    # a later cell rewrites the content (here the title-page facts)
    meta = read_content(work)["meta"]
    write_meta(work, {**meta, "made": "2001-02-03"})
    early.result()
    assert json.loads((published / "content.json").read_text(encoding="utf-8"))["meta"]["made"] == "2001-02-03"


@pytest.mark.parametrize("cell, reply", [({"metadata": {}}, OK), (TAGGED, {"content": {"status": "error"}})])
def test_no_early_start_without_the_tag_or_after_an_error(small_work, tmp_path, cell, reply):
    work, published = _copy(small_work, tmp_path)
    early = EarlyProtection(work, published, 5)
    early.cell_executed(cell=cell, cell_index=3, execute_reply=reply)
    assert early._thread is None
    assert not any(published.iterdir())
    early.result()  # protects the finished content now
    assert (published / "content.json").is_file()


def test_an_audit_failure_in_the_thread_is_raised_to_the_builder(small_work, tmp_path, monkeypatch):
    from alis_research.report import protection as protection_module

    def failing(*args, **kwargs):
        raise DisclosureAuditFailed([{"label": "x", "reason": "withheld", "interval": [1, 2]}], 5)

    monkeypatch.setattr(protection_module, "protect_content", failing)
    work, published = _copy(small_work, tmp_path)
    early = EarlyProtection(work, published, 5)
    early.cell_executed(cell=TAGGED, cell_index=40, execute_reply=OK)
    with pytest.raises(DisclosureAuditFailed):
        early.result()


def test_forget_waits_for_the_thread_and_drops_its_result(small_work, tmp_path):
    work, published = _copy(small_work, tmp_path)
    early = EarlyProtection(work, published, 5)
    early.cell_executed(cell=TAGGED, cell_index=40, execute_reply=OK)
    thread = early._thread
    early.forget()
    assert not thread.is_alive() and early._thread is None


def test_forget_empties_what_the_thread_wrote(small_work, tmp_path):
    work, published = _copy(small_work, tmp_path)
    early = EarlyProtection(work, published, 5)
    early.cell_executed(cell=TAGGED, cell_index=40, execute_reply=OK)
    early.forget()
    assert not any(published.iterdir())


@pytest.mark.slow
def test_an_interrupt_after_the_notebook_leaves_no_staging_folder(tmp_path, monkeypatch):
    # the reviewer's race: Ctrl-C after the notebook, while the protection thread still wrote into the
    # staging folder, left protected files in an orphaned staging folder beside the reports
    import threading
    import time

    from alis_research.report import build, protection as protection_module

    real = protection_module.protect

    def slow_protection(*args, **kwargs):  # the content is read; the folder is written after this
        time.sleep(1.5)
        return real(*args, **kwargs)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(protection_module, "protect", slow_protection)
    monkeypatch.setattr(build, "notebook_timings", interrupted)
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        build.build_report(SMALL, as_of=config.DEMO_AS_OF, out_dir=out)
    for thread in threading.enumerate():  # a protection left running would write now
        if thread.name == "alis-protection":
            thread.join()
    assert not out.exists() or not any(out.iterdir()), sorted(p.name for p in out.iterdir())
