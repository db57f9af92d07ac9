"""The published report: build, PDF/HTML content, reproducibility, leaks, failures.

The PDF's text is extracted with ``pypdf`` when installed, else with
``pdftotext`` (poppler-utils); without either the PDF-text tests are skipped
(the HTML, which holds the same content, is still checked).
"""
from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from alis_research import config
from alis_research.disclosure import check_no_leaks
from alis_research.errors import AlisError
from alis_research.report import ReportFailed, build_report, report_inputs_key
from alis_research.report.text import fmt_number, fmt_p, fmt_percent, fmt_years

FIXTURES = Path(__file__).parent / "fixtures"
SMALL = FIXTURES / "report_small"
AS_OF = "2024-12-31"


# --------------------------------------------------------------------------- helpers
def pdf_pages(path: Path) -> list[str]:
    """Text of each page of a PDF."""
    try:
        import pypdf
    except ImportError:
        pypdf = None
    if pypdf is not None:
        return [page.extract_text() for page in pypdf.PdfReader(str(path)).pages]
    if shutil.which("pdftotext") is None:
        pytest.skip("neither pypdf nor pdftotext is available to read the PDF")
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True,
                          text=True).stdout
    return [page for page in text.split("\f") if page.strip()]


def html_text(path: Path) -> str:
    """Visible text of the HTML report (tags and inline SVG removed)."""
    page = path.read_text(encoding="utf-8")
    page = re.sub(r"<svg.*?</svg>", " ", page, flags=re.S)
    page = re.sub(r"<style.*?</style>", " ", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


# demo_report and small_report: the session's shared reports (tests/conftest.py)


# --------------------------------------------------------------------------- number style
def test_norwegian_and_english_number_style():
    assert fmt_years(8.37, "nb") == "8,37 år"
    assert fmt_years(8.37, "en") == "8.37 years"
    assert fmt_number(12345.6, 1, "nb") == "12\u202f345,6"
    assert fmt_number(12345.6, 1, "en") == "12,345.6"
    assert fmt_number(-0.5, 2, "nb") == "−0,50"
    assert fmt_percent(0.834, "nb") == "83\u00a0%"
    assert fmt_p(0.0004, "nb") == "<0,001"
    assert fmt_years(float("nan"), "en") == "not reached"


# --------------------------------------------------------------------------- the demo report
def test_demo_report_publishes_every_file(demo_report):
    folder = demo_report.path
    assert folder.name.endswith("_all_nb")
    for name in ("report.pdf", "report.html", "manifest.json", "content.json", "output_check.json",
                 "output_check.md"):
        assert (folder / name).is_file(), name
    # unprotected results, the executed notebook and the ledger stay in the restricted working folder
    for name in ("results.json", "notebooks/evaluation_report.ipynb", "content.json"):
        assert (demo_report.restricted / name).is_file(), name
    assert not (folder / "results.json").exists() and not (folder / "notebooks").exists()
    assert not demo_report.restricted.resolve().is_relative_to(folder.parent.resolve())
    # figures whose steps could give back a count are withheld; those published are SVG
    svgs = list((folder / "figures").glob("*.svg"))
    assert all(p.read_text(encoding="utf-8").lstrip().startswith("<?xml") for p in svgs)
    assert not any(p.name.startswith(".") for p in folder.parent.iterdir()), "temporary folder left behind"


def test_results_json_is_marked_internal(demo_report):
    document = json.loads(demo_report.results_json.read_text(encoding="utf-8"))
    assert document["schema"] == "alis-research/results/1"
    assert document["dataset"]["publishable"] is False
    assert document["dataset"]["synthetic"] is True


def test_manifest_records_inputs_parameters_and_timings(demo_report, demo_dataset):
    manifest = json.loads(demo_report.manifest.read_text(encoding="utf-8"))
    assert manifest["parameters"] == {"dataset": demo_dataset.resolve().name, "as_of": AS_OF, "area": "all",
                                      "language": "nb", "min_cell": 5}
    assert set(manifest["input_files"]) >= {"episodes.csv"}
    assert all(re.fullmatch(r"[0-9a-f]{64}", sha) for sha in manifest["input_files"].values())
    assert re.fullmatch(r"[0-9a-f]{64}", manifest["notebooks"]["evaluation_report.ipynb"]["template_sha256"])
    assert manifest["inputs_key"] == report_inputs_key(demo_dataset, as_of=AS_OF, area="all", language="nb", min_cell=5)
    assert {"prepare", "kernel_start", "analyses", "pdf", "html", "total"} <= set(manifest["timings_seconds"])
    # the executed notebook is the audit log: parameters injected, every code cell ran
    nb = nbformat.read(demo_report.restricted / "notebooks" / "evaluation_report.ipynb", as_version=4)
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1 and "area = \"all\"" in injected[0].source
    assert all(c.execution_count for c in nb.cells if c.cell_type == "code")


def test_inputs_key_changes_with_parameters(demo_dataset):
    base = report_inputs_key(demo_dataset, as_of=AS_OF)
    assert base == report_inputs_key(demo_dataset, as_of=AS_OF)
    assert base != report_inputs_key(demo_dataset, as_of=AS_OF, language="en")
    assert base != report_inputs_key(demo_dataset, as_of=AS_OF, min_cell=3)
    assert base != report_inputs_key(demo_dataset, as_of="2023-12-31")


def test_inputs_key_changes_with_a_byte_of_the_package_code(monkeypatch, tmp_path, demo_dataset):
    """Issue 12 item 8: a fix to an analysis or to disclosure control rebuilds the reports."""
    from alis_research.report import inputs

    copy = tmp_path / "alis_research"
    shutil.copytree(inputs.PACKAGE_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(inputs, "PACKAGE_DIR", copy)
    base = report_inputs_key(demo_dataset, as_of=AS_OF)
    for changed in (copy / "disclosure.py", copy / "report" / "templates" / "report.typ"):
        original = changed.read_bytes()
        changed.write_bytes(original[:-1] + bytes([original[-1] ^ 1]))  # one byte, same size
        assert report_inputs_key(demo_dataset, as_of=AS_OF) != base, changed.name
        changed.write_bytes(original)
        assert report_inputs_key(demo_dataset, as_of=AS_OF) == base
    (copy / "report" / "__pycache__").mkdir(exist_ok=True)
    (copy / "report" / "__pycache__" / "build.cpython-311.pyc").write_bytes(b"compiled")
    assert report_inputs_key(demo_dataset, as_of=AS_OF) == base  # compiled files follow from the sources


def test_executed_notebook_records_the_published_folder(demo_report):
    """Issue 12 item 9: not the staging folder it ran in, which no longer exists."""
    # the executed notebook holds unprotected numbers: it lives in the restricted working folder
    executed = demo_report.restricted / "notebooks" / "evaluation_report.ipynb"
    nb = nbformat.read(executed, as_version=4)
    (injected,) = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert f"output_dir = {json.dumps(str(demo_report.restricted))}" in injected.source
    assert nb.metadata.papermill.parameters.output_dir == str(demo_report.restricted)
    assert nb.metadata.alis_research.output_dir == str(demo_report.restricted)
    assert ".tmp-" not in executed.read_text(encoding="utf-8")
    assert not (demo_report.path / "notebooks").exists()


def test_next_report_recovers_what_a_killed_report_left(tmp_path, monkeypatch):
    """Issue 12 item 7: killed between its two renames, the next ``report`` puts the previous one back
    and removes the dead build's staging folder (before running anything)."""
    from test_publish import killed_publish, previous_report

    from alis_research.report import build

    previous_report(tmp_path)
    killed_publish(tmp_path, "between-renames")
    assert not (tmp_path / "r_all_nb").exists()

    def stop(*args, **kwargs):
        raise AlisError("stopped before the kernel (test)")

    monkeypatch.setattr(build, "execute_notebook", stop)
    with pytest.raises(AlisError, match="stopped before the kernel"):
        build_report(SMALL, as_of=AS_OF, out_dir=tmp_path)
    assert (tmp_path / "r_all_nb" / "report.pdf").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r_all_nb"]


def test_a_warm_kernel_gives_the_same_report_as_a_fresh_one(demo_report, demo_dataset, tmp_path):
    """Reports built one after another on one kernel (as a regenerate worker does) come out byte for byte
    as on a fresh kernel: the namespace is reset and the package keeps no state between reports."""
    from alis_research.report.build import shutdown_warm_kernel

    try:
        first = build_report(SMALL, as_of=AS_OF, area="UNN", language="en", out_dir=tmp_path, reuse_kernel=True)
        again = build_report(demo_dataset, as_of=AS_OF, out_dir=tmp_path, reuse_kernel=True)
    finally:
        shutdown_warm_kernel()
    assert first.timings["kernel_start"] > again.timings["kernel_start"]
    assert again.results_json.read_bytes() == demo_report.results_json.read_bytes()
    for name in ("report.html", "report.pdf"):
        assert (again.path / name).read_bytes() == (demo_report.path / name).read_bytes(), name
    for sub in ("figures", "tables"):
        for path in (demo_report.path / sub).iterdir():
            assert (again.path / sub / path.name).read_bytes() == path.read_bytes(), f"{sub}/{path.name}"
    nb = nbformat.read(again.restricted / "notebooks" / "evaluation_report.ipynb", as_version=4)
    counts = [c.execution_count for c in nb.cells if c.cell_type == "code"]
    assert counts == list(range(1, len(counts) + 1))  # a fresh execution counter, like a fresh kernel


def test_a_kernel_killed_mid_report_is_replaced_and_the_report_built(tmp_path):
    """kill -9 of the warm kernel while a cell runs: the builder notices (no hang), starts a fresh
    kernel once and builds the report from nothing."""
    import os
    import signal
    import threading
    import time

    from alis_research.report import build

    killed = []

    def kill_the_kernel_mid_run():
        deadline = time.time() + 300
        while time.time() < deadline:
            kernel = next(iter(build.running_warm_kernels()), None)
            restricted = config.restricted_dir_for(tmp_path)  # the notebook writes into the restricted folder
            if kernel is not None and list(restricted.glob(".report_small_all_nb.tmp-*/content.json")):
                os.kill(kernel.manager.provisioner.process.pid, signal.SIGKILL)
                killed.append(kernel)
                return
            time.sleep(0.05)

    killer = threading.Thread(target=kill_the_kernel_mid_run)
    killer.start()
    try:
        outcome = build_report(SMALL, as_of=AS_OF, out_dir=tmp_path, reuse_kernel=True)
        assert killed and build.running_warm_kernels()[0] is not killed[0]  # a fresh kernel built it
    finally:
        killer.join()
        build.shutdown_warm_kernel()
    assert (outcome.path / "report.pdf").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report_small_all_nb"]


def test_demo_pdf_text(demo_report):
    pages = pdf_pages(demo_report.pdf)
    assert len(pages) >= 5
    for number, page in enumerate(pages, start=1):
        assert "SYNTETISKE DATA – ikke reelle resultater" in page, f"page {number} lacks the synthetic banner"
    text = "\n".join(pages)
    assert " år" in text
    assert re.search(r"\d,\d\d", text), "no decimal comma in the Norwegian report"
    assert not re.search(r"\b0\.\d\d\b", text), "a decimal point in the Norwegian report"
    for heading in ("Innhold", "Sammendrag", "Metode", "Hvor lenge legene blir", "Turnover", "Avtalevarighet",
                    "Forbehold og begrensninger", "Vedlegg"):
        assert heading in text
    assert "Side 2" in text or "Side 2 /" in text.replace("\u2009", " ")
    assert "import " not in text and "report." not in text, "code shown in the PDF"


def test_summary_has_no_register_bullets_without_an_extract(demo_report, demo_dataset):
    """The demo has no register/ folder: no comparison section, no register facts, no register bullets."""
    from alis_research.report import read_content

    assert not (demo_dataset / "register").exists()
    assert "comparison_groups" not in read_content(demo_report.restricted)["facts"]
    content = read_content(demo_report.path)
    summary = next(s for s in content["sections"] if s["key"] == "summary")
    items = [item for block in summary["blocks"] for item in block.get("items", [])]
    assert items and not any("fastlegeregisteret" in item or "Forskjell-i-forskjeller" in item for item in items)
    folded = lambda text: re.sub(r"[\s\-\u00ad]", "", text)  # a phrase may wrap and be hyphenated in the PDF
    text = folded(" ".join(pdf_pages(demo_report.pdf)))
    assert folded("Sammendrag") in text
    for phrase in ("Forskjell-i-forskjeller i fastlegeregisteret", "ALIS mot andre fastleger",
                   "parallelle trender", "Sammenligningsgrupper"):
        assert folded(phrase) not in text


def test_demo_html_has_the_same_content(demo_report):
    text = html_text(demo_report.html)
    assert text.count("SYNTETISKE DATA – ikke reelle resultater") >= 2
    content = json.loads((demo_report.path / "content.json").read_text(encoding="utf-8"))
    for section in content["sections"]:
        assert section["title"] in text
    page = demo_report.html.read_text(encoding="utf-8")
    assert "src=\"figures/" not in page, "figures must be inline"
    assert page.count("<svg") == len(list((demo_report.path / "figures").glob("*.svg")))


@pytest.mark.slow
def test_report_is_reproducible(demo_report, demo_dataset, tmp_path):
    again = build_report(demo_dataset, as_of=AS_OF, out_dir=tmp_path)
    first, second = demo_report.path, again.path
    assert demo_report.results_json.read_bytes() == again.results_json.read_bytes()
    assert (first / "output_check.md").read_text() == (second / "output_check.md").read_text()
    for sub in ("figures", "tables"):
        names = sorted(p.name for p in (first / sub).iterdir())
        assert names == sorted(p.name for p in (second / sub).iterdir())
        for name in names:
            assert (first / sub / name).read_bytes() == (second / sub / name).read_bytes(), f"{sub}/{name} differs"
    a = json.loads((first / "content.json").read_text(encoding="utf-8"))
    b = json.loads((second / "content.json").read_text(encoding="utf-8"))
    a["meta"].pop("made"), b["meta"].pop("made")
    assert a == b


# --------------------------------------------------------------------------- small cells and leaks
def test_small_cells_do_not_leak(small_report):
    episodes = pd.read_csv(SMALL / "episodes.csv", dtype=str)
    identifiers = episodes["person_id"].tolist()
    made = json.loads((small_report.path / "content.json").read_text(encoding="utf-8"))["meta"]["made"]
    allowed = [AS_OF, made]
    pages = pdf_pages(small_report.pdf)
    for text in ("\n".join(pages), html_text(small_report.html)):
        assert check_no_leaks(text, identifiers, 5, allowed_dates=allowed) == []
        for date in pd.concat([episodes["start_date"], episodes["end_date"]]).dropna():
            assert date not in text
        assert "<5" not in text  # one mark for everything withheld: ":"
    # every count shown in Table 1 is 0, withheld or at least 5
    content = json.loads((small_report.path / "content.json").read_text(encoding="utf-8"))
    blocks = {b["id"]: b for s in content["sections"] for b in s["blocks"] if b["type"] == "table"}
    table1 = blocks["table1"]
    for row in table1["rows"]:
        if "(" in "".join(row[1:]) or "," in "".join(row[1:]):
            continue  # medians and person-years, not counts
        for cell in row[1:]:
            assert cell in ("0", ":", "–") or int(cell.replace("\u00a0", "")) >= 5, row
    for row in blocks["rates"]["rows"]:
        if row[1] == ":":
            assert row[2] == ":" and row[3] == ":", "a rate or person-time from a withheld count must be withheld"
    appendix = next(s for s in content["sections"] if s["key"] == "appendix")
    assert any(b.get("id") == "withheld" for b in appendix["blocks"])


def test_rate_ratio_is_withheld_with_suppressed_exits(small_report, demo_report):
    """The crude rate ratio and the shown person-years give back suppressed exit counts."""
    internal = json.loads(small_report.results_json.read_text(encoding="utf-8"))["turnover"]
    exits = {r["contract_type"]: r["exits"] for r in internal["rates"]}
    person_years = {r["contract_type"]: r["person_years"] for r in internal["rates"]}
    assert all(0 < e < 5 for e in exits.values())  # the fixture's premise: both exit counts are suppressed
    # recomputed by hand from the counts: what a reader could invert (4 and 3 exits)
    crude = (exits["næring"] / person_years["næring"]) / (exits["fastlønn"] / person_years["fastlønn"])
    assert f"{crude:.2f}".replace(".", ",") == "0,69"
    for text in ("\n".join(pdf_pages(small_report.pdf)), html_text(small_report.html)):
        flat = " ".join(text.replace("\u00ad", "").split())
        assert "0,69 (" not in flat and "0,69," not in flat and "rateratio 0,69" not in flat
    small_html = " ".join(html_text(small_report.html).split())
    assert "Rateratioen næring mot fastlønn er utelatt" in small_html
    assert "log personår som offset):" not in small_html
    # on the demo the ratio is published only if the whole-report protection leaves its exits shown
    demo = json.loads((demo_report.path / "content.json").read_text(encoding="utf-8"))
    rates = next(b for s in demo["sections"] for b in s["blocks"] if b.get("id") == "rates")
    demo_html = " ".join(html_text(demo_report.html).split())
    if any(row[1] == ":" for row in rates["rows"]):
        assert "Rateratio næring mot fastlønn (Poisson-regresjon med log personår som offset):" not in demo_html


def _integers(value):
    if isinstance(value, dict):
        for v in value.values():
            yield from _integers(v)
    elif isinstance(value, list):
        for v in value:
            yield from _integers(v)
    elif isinstance(value, int) and not isinstance(value, bool):
        yield value


def test_content_json_facts_publish_no_small_counts(small_report):
    """The published content.json carries neither the facts nor the ledger: those stay restricted."""
    published = json.loads((small_report.path / "content.json").read_text(encoding="utf-8"))
    assert "facts" not in published and "ledger" not in published
    assert [i for i in _integers(published) if 0 < i < 5 and i != published["meta"]["min_cell"]] == []
    content = json.loads((small_report.restricted / "content.json").read_text(encoding="utf-8"))
    facts = content["facts"]
    # the restricted side keeps the truth
    assert facts["data_quality"]["exits"] == 7 and facts["retention"]["n"] == {"fastlønn": 6, "næring": 6}
    # 4 of the 6 fastlønn episodes are in municipalities under 5,000: the published summary gives no share
    assert len(pd.read_csv(SMALL / "episodes.csv", dtype=str)) == 12
    summary = next(s for s in published["sections"] if s["key"] == "summary")
    items = " ".join(item for block in summary["blocks"] for item in block.get("items", []))
    assert not re.search(r"\d+\s%\s*av fastlønnsforløpene", items)


def _published_items(*sections, min_cell):
    """The summary's bullets as published: the sections' ledgers protected together."""
    from alis_research.report.audit import protect
    from alis_research.report.ledger import Ledger, resolve_text

    ledger = Ledger()
    for section in sections:
        ledger.merge(section.ledger)
    protection = protect(ledger, min_cell)
    return [resolve_text(item, ledger, protection) for item in sections[-1].blocks[-1]["items"]]


def test_small_municipality_shares_only_when_both_parts_are_publishable(demo_dataset):
    from alis_research.report import cohort_section, load_for_report, summary_section

    prepared = load_for_report(demo_dataset, as_of=AS_OF)
    ep = prepared.episodes
    small = ep["size_class"].isin(["<2000", "2000-4999"])
    # the demo: 18 of 31 fastlønn, 3 of 23 næring in municipalities under 5,000 -> the 3 would leak
    assert int((small & (ep["cohort"] == "næring")).sum()) == 3
    cohort = cohort_section(prepared, language="nb", min_cell=5)
    summary = summary_section(prepared, {"cohort_description": cohort.facts}, language="nb", min_cell=5)
    items = _published_items(cohort, summary, min_cell=5)
    assert not any("13\u00a0%" in item for item in items)
    # at min_cell 3 both parts of both cohorts may be shown: the summary states the shares
    cohort = cohort_section(prepared, language="nb", min_cell=3)
    summary = summary_section(prepared, {"cohort_description": cohort.facts}, language="nb", min_cell=3)
    items = _published_items(cohort, summary, min_cell=3)
    assert "58\u00a0% av fastlønnsforløpene og 13\u00a0% av næringsforløpene er i kommuner under 5\u202f000 innbyggere; " \
           "les derfor de justerte anslagene." in items


def test_real_data_report_has_no_synthetic_banner(small_report):
    text = "\n".join(pdf_pages(small_report.pdf))
    assert "SYNTETISKE" not in text


@pytest.fixture(scope="module")
def finnmark_by_cli(tmp_path_factory):
    """``alis-research report`` on the small fixture for Finnmark in English: (exit code, stdout, folder).

    One build for the CLI test and the few-episodes test.
    """
    import contextlib
    import io

    from alis_research.cli import main

    out = tmp_path_factory.mktemp("finnmark")
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = main(["report", str(SMALL), "--as-of", AS_OF, "--area", "Finnmark", "--language", "en",
                     "--out", str(out)])
    return code, printed.getvalue(), out / "report_small_Finnmark_en"


@pytest.mark.slow
def test_area_with_too_few_episodes_gives_an_honest_report(finnmark_by_cli):
    code, _, folder = finnmark_by_cli
    assert code == 0
    text = "\n".join(pdf_pages(folder / "report.pdf"))
    assert "Finnmark" in text
    assert "not estimable" in text or "left out" in text
    assert re.search(r"\d\.\d\d", text) and "SYNTHETIC" not in text


# --------------------------------------------------------------------------- errors
def test_user_errors_raise_before_any_kernel(tmp_path):
    with pytest.raises(AlisError, match="does not exist"):
        build_report(tmp_path / "nothing", as_of=AS_OF, out_dir=tmp_path)
    with pytest.raises(AlisError, match="area must be one of"):
        build_report(SMALL, as_of=AS_OF, area="Troms", out_dir=tmp_path)
    with pytest.raises(AlisError, match="language"):
        build_report(SMALL, as_of=AS_OF, language="se", out_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_failing_cell_names_the_cell_and_keeps_the_previous_report(tmp_path, monkeypatch, small_report):
    out = small_report.path.parent
    before = (small_report.path / "report.pdf").read_bytes()
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('dataset = ""\nas_of = ""\narea = "all"\nlanguage = "nb"\nmin_cell = 5\noutput_dir = ""')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell("x = 1"), nbformat.v4.new_code_cell("1 / 0  # boom")]
    nbformat.write(nb, notebooks / "evaluation_report.ipynb")
    monkeypatch.setattr(config, "NOTEBOOKS", notebooks)
    with pytest.raises(ReportFailed) as caught:
        build_report(SMALL, as_of=AS_OF, out_dir=out)
    message = str(caught.value)
    assert "evaluation_report.ipynb" in message and "1 / 0  # boom" in message and "ZeroDivisionError" in message
    kept = small_report.restricted.parent / (small_report.path.name + ".failed") / "evaluation_report.ipynb"
    assert kept.is_file() and caught.value.kept == kept
    assert (small_report.path / "report.pdf").read_bytes() == before, "previous report must stay intact"


@pytest.mark.slow
def test_cli_report(finnmark_by_cli, tmp_path):
    from alis_research.cli import main

    code, output, folder = finnmark_by_cli
    assert code == 0
    assert str(folder) in output and "timings" in output
    assert main(["report", str(tmp_path / "missing"), "--as-of", AS_OF, "--out", str(tmp_path)]) == 1


# --------------------------------------------------------------------------- costs, pathway, precision (issue 6)
def _plain(text: str) -> str:
    """PDF text with the no-break and narrow no-break spaces as plain spaces."""
    return text.replace("\u202f", " ").replace("\u00a0", " ")


def test_demo_pdf_has_costs_pathway_and_the_minimal_detectable_effect(demo_report, demo_dataset):
    from alis_research.report import detectable_effect, load_for_report

    text = _plain("\n".join(pdf_pages(demo_report.pdf)))
    for heading in ("Hva en ALIS som blir, koster", "Kostnad per beholdt legeår", "Spesialiseringsløpet og veiledning",
                    "Tid til spesialistgodkjenning", "Sykehusåret", "Veiledning"):
        assert heading in text, heading
    # seed 003, by hand: 1,069,125 in year 1, 569,125 in years 2-5, 208,325 more than a private list's 360,800
    for amount in ("360 800", "1 069 125", "569 125", "208 325"):
        assert amount in text, amount
    # the limitations quote power.py's minimal detectable hazard ratio for the data's design
    up, down = detectable_effect(load_for_report(demo_dataset, as_of=AS_OF))
    hr = up.effects.set_index("test").loc["log-rank", "hazard_ratio"]
    limitations = text[text.rindex("Forbehold og begrensninger"):]
    assert f"hasardratioen er minst {hr:.2f}".replace(".", ",") in _plain(limitations).replace("\n", " ")
    assert json.loads((demo_report.restricted / "content.json").read_text(encoding="utf-8"))[
        "facts"]["limitations"]["mde_hr"] == pytest.approx(hr)
    content = json.loads((demo_report.path / "content.json").read_text(encoding="utf-8"))
    assert {"costs", "pathway"} <= {s["key"] for s in content["sections"]}


def test_small_report_costs_and_pathway_show_no_small_counts(small_report):
    content = json.loads((small_report.path / "content.json").read_text(encoding="utf-8"))
    sections = {s["key"]: s for s in content["sections"]}
    not_counts = {"År", "Utdanningsår"}  # years, not counts of people
    for key in ("costs", "pathway"):
        for block in sections[key]["blocks"]:
            if block["type"] == "table":
                for row in block["rows"]:
                    for column, cell in zip(block["columns"], row):
                        if column not in not_counts and re.fullmatch(r"\d+", cell):
                            assert cell == "0" or int(cell) >= 5, (key, block["id"], column, row)
            for line in [block.get("text", "")] + block.get("items", []):
                assert check_no_leaks(line, [], 5) == [], line
    hospital = next(b for b in sections["pathway"]["blocks"] if b.get("id") == "hospital_year")
    assert ":" in [c for row in hospital["rows"] for c in row]  # the one hospital year is withheld
    text = "\n".join(pdf_pages(small_report.pdf))
    assert "Hva en ALIS som blir, koster" in text and "Spesialiseringsløpet og veiledning" in text


def test_bokmal_report_text_has_no_english_abbreviations_or_iso_dates(demo_report):
    """Issue 13: the running text of the bokmål demo report (paragraphs, lists, captions, table notes, column
    headings) has no English abbreviation without its Norwegian form and writes dates as Norwegians do."""
    from alis_research.report.content import read_content

    from test_messages import ENGLISH_ABBREVIATIONS

    content = read_content(demo_report.path)
    parts = []
    for section in content["sections"]:
        for block in section["blocks"]:
            parts += [block.get("text") or "", *block.get("items", []), block.get("caption") or "",
                      *block.get("notes", []), *block.get("columns", [])]
    text = "\n".join(parts)
    assert "31. desember 2024" in text
    abbreviation = re.compile(r"(?<![\w-])(" + "|".join(ENGLISH_ABBREVIATIONS) + r")(?![\w-])")
    assert abbreviation.findall(text) == []
    assert re.findall(r"\b\d{4}-\d{2}-\d{2}\b", text) == []
    assert "Følgeevaluering" in (demo_report.path / "report.html").read_text(encoding="utf-8")
