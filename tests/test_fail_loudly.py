"""Report sections catch only the package's own errors; a programming error stops the report (issue 11).

A ``TypeError`` inside an analysis must not become "not estimable" in a published
PDF: the section raises, the notebook cell fails, and nothing is published.
"""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from alis_research import report

from alis_research.analysis import retention
from alis_research.errors import NotEstimable
from alis_research.report import ReportFailed, build_report

SMALL = Path(__file__).parent / "fixtures" / "report_small"
AS_OF = "2024-12-31"


@pytest.fixture(scope="module")
def prepared():
    return report.load_for_report(SMALL, as_of=AS_OF)


def _broken(*args, **kwargs):
    raise TypeError("unsupported operand type(s) for +: 'int' and 'str'")


def _not_estimable(*args, **kwargs):
    raise NotEstimable("too few people to compare")


def test_a_programming_error_in_an_analysis_propagates(prepared, monkeypatch):
    monkeypatch.setattr(retention, "rmst", _broken)
    with pytest.raises(TypeError, match="unsupported operand"):
        report.retention_section(prepared, language="en")


def test_not_estimable_still_becomes_a_sentence(prepared, monkeypatch, capsys):
    monkeypatch.setattr(retention, "rmst", _not_estimable)
    section = report.retention_section(prepared, language="en")
    texts = [block.get("text", "") for block in section.blocks]
    assert any("not estimable" in text.lower() for text in texts)
    assert "too few people to compare" not in " ".join(texts)  # the reason goes to the log only
    assert "NotEstimable: too few people to compare" in capsys.readouterr().err


@pytest.mark.slow  # a kernel runs the notebook until the failing cell
def test_a_type_error_in_a_section_stops_the_report_and_publishes_nothing(tmp_path, monkeypatch):
    # the kernel is another process: break the analysis there through a sitecustomize module
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(textwrap.dedent("""
        import alis_research.analysis.retention as retention

        def _broken(*args, **kwargs):
            raise TypeError("injected programming error")

        retention.rmst = _broken
    """), encoding="utf-8")
    monkeypatch.setenv("PYTHONPATH", str(hook))
    out = tmp_path / "reports"
    with pytest.raises(ReportFailed) as caught:
        build_report(SMALL, as_of=AS_OF, out_dir=out)
    assert "TypeError: injected programming error" in str(caught.value)
    published = [p.name for p in out.iterdir()] if out.exists() else []
    assert all(name.endswith(".failed") for name in published), published
    kept = caught.value.kept
    assert kept is not None and "injected programming error" in kept.read_text(encoding="utf-8")
