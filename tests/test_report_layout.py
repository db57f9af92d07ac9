"""The published report as a reader meets it: title page and metadata, page numbers, tables,
number typography, and the HTML in a real (headless) browser.

The browser checks drive Debian's Chromium (``/usr/bin/chromium``, installed by ``.ci/run``)
through Playwright, with no browser download; they are skipped, with the reason, only where no
Chromium is installed.
"""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from alis_research.report import Publication, publication_from_mapping
from alis_research.report.matrix import load_matrix
from alis_research.report.render import is_empty_table, layout_blocks

from conftest import PUBLICATION

pypdf = pytest.importorskip("pypdf")


@pytest.fixture(scope="module", params=["nb", "en"])
def published(request):
    """The demo report in one language, with publication metadata set (the session's shared
    ``demo_published_nb``/``_en``, tests/conftest.py)."""
    return request.param, request.getfixturevalue(f"demo_published_{request.param}")


def _pages(pdf_path: Path) -> list[str]:
    return [page.extract_text() for page in pypdf.PdfReader(str(pdf_path)).pages]


# --------------------------------------------------------------------------- title page and metadata
def test_pdf_metadata_says_who_what_and_when(published):
    language, outcome = published
    info = pypdf.PdfReader(str(outcome.pdf)).metadata
    assert info["/Author"] == "Kari Nordmann, Ola Nordmann"
    assert info["/Title"]
    period = "fra 2019 til 31. desember 2024" if language == "nb" else "2019 to 31 December 2024"
    assert period in info["/Subject"]
    assert ("Endelig" if language == "nb" else "Final") in info["/Subject"]
    assert "ALIS" in info["/Keywords"]


def test_title_page_names_institution_authors_commissioner_status_and_period(published):
    language, outcome = published
    title_page = _pages(outcome.pdf)[0]
    for text in ("Nasjonalt senter for distriktsmedisin (NSDM), UiT", "Kari Nordmann; Ola Nordmann",
                 "Helsedirektoratet", "1.2"):
        assert text in title_page
    if language == "nb":
        assert "Endelig, versjon 1.2" in title_page and "fra 2019 til 31. desember 2024" in title_page
    else:
        assert "Final, version 1.2" in title_page and "2019 to 31 December 2024" in title_page


def test_html_head_carries_the_metadata(published):
    _language, outcome = published
    page = outcome.html.read_text(encoding="utf-8")
    assert '<meta name="author" content="Kari Nordmann; Ola Nordmann">' in page
    assert '<meta name="dcterms.publisher" content="Nasjonalt senter for distriktsmedisin (NSDM), UiT">' in page
    assert '<meta name="report-status" content="final">' in page
    assert '<meta name="report-version" content="1.2">' in page
    assert re.search(r'<meta name="description" content="[^"]+2019[^"]+">', page)


def test_publication_is_part_of_the_inputs_key(demo_dataset):
    from alis_research.report import report_inputs_key

    base = report_inputs_key(demo_dataset, as_of="2024-12-31")
    assert report_inputs_key(demo_dataset, as_of="2024-12-31", publication=Publication()) == base
    assert report_inputs_key(demo_dataset, as_of="2024-12-31", publication=PUBLICATION) != base
    newer = Publication(**{**PUBLICATION.as_dict(), "authors": PUBLICATION.authors, "version": "1.3"})
    assert report_inputs_key(demo_dataset, as_of="2024-12-31", publication=newer) != \
        report_inputs_key(demo_dataset, as_of="2024-12-31", publication=PUBLICATION)


def test_publication_metadata_is_checked_all_at_once():
    with pytest.raises(Exception) as caught:
        publication_from_mapping({"status": "published", "authors": 7, "edition": "2"})
    message = str(caught.value)
    assert "status = 'published'" in message and "authors = 7" in message and "edition" in message
    assert publication_from_mapping({"authors": "A. Author; B. Author", "version": 2}).authors == ("A. Author", "B. Author")


def test_report_matrix_takes_a_shared_and_a_per_dataset_publication(tmp_path, demo_dataset):
    config_file = tmp_path / "reports.toml"
    config_file.write_text(
        'areas = ["all"]\nlanguages = ["nb"]\n\n[defaults]\nas_of = 2024-12-31\n\n'
        f'[[datasets]]\nname = "{demo_dataset.name}"\npath = "{demo_dataset.as_posix()}"\n'
        '[datasets.publication]\nversion = "2.0"\n\n'
        '[publication]\ninstitution = "NSDM"\nauthors = ["A. Author"]\nstatus = "final"\n',
        encoding="utf-8")
    spec = load_matrix(config_file).reports[0]
    assert spec.publication == Publication(institution="NSDM", authors=("A. Author",), status="final", version="2.0")
    config_file.write_text(config_file.read_text().replace('status = "final"', 'status = "done"'), encoding="utf-8")
    with pytest.raises(Exception, match=r"\[publication\] status = 'done'"):
        load_matrix(config_file)


# --------------------------------------------------------------------------- pages and tables
def test_footer_page_numbers_match_the_pdf_pages(published):
    language, outcome = published
    pages = _pages(outcome.pdf)
    word = "Side" if language == "nb" else "Page"
    for number, text in enumerate(pages[1:], start=2):
        assert f"{word} {number} / {len(pages)}" in text, f"page {number} has the wrong footer"


def test_no_empty_tables_and_no_dash_only_intervals(published):
    _language, outcome = published
    page = outcome.html.read_text(encoding="utf-8")
    text = " ".join(_pages(outcome.pdf))
    assert "(–––)" not in text and "(–––)" not in page
    for table in re.findall(r"<tbody>(.*?)</tbody>", page, flags=re.S):
        rows = re.findall(r"<tr>(.*?)</tr>", table, flags=re.S)
        assert rows, "a table without rows was published"
        cells = [re.sub(r"<[^>]+>", "", c).strip() for row in rows for c in re.findall(r"<td>(.*?)</td>", row)[1:]]
        assert any(c not in {"", ":", "–", ".."} for c in cells), "a table with nothing to read was published"


def test_an_empty_table_becomes_one_sentence():
    blocks = [{"type": "table", "caption": "Tabell 9: Tom", "columns": ["a", "b"], "rows": []},
              {"type": "table", "caption": "Tabell 10: Skjult", "columns": ["a", "b"], "rows": [["x", ":"], ["y", ""]]},
              {"type": "table", "caption": "Tabell 11", "columns": ["a", "b"], "rows": [["x", "12"]]}]
    assert [is_empty_table(b) for b in blocks] == [True, True, False]
    laid_out = layout_blocks(blocks, "nb")
    assert laid_out[0] == {"type": "paragraph",
                           "text": "Tabell 9: Tom: tabellen er utelatt fordi den ikke har tall som kan vises."}
    assert laid_out[1]["type"] == "paragraph" and laid_out[2] is blocks[2]


def test_numbers_use_true_minus_signs_and_no_hyphen_ranges(published):
    _language, outcome = published
    text = " ".join(_pages(outcome.pdf))
    text = re.sub(r"\b\d{4}-\d{2}-\d{2}\b", "", text)  # ISO dates are checked with the wording
    text = re.sub(r"\b[0-9a-f]{12,64}\b", "", text)  # fingerprints and file hashes
    assert not re.search(r"(^|[\s(=])-\d", text), "a negative number is written with a hyphen"
    assert not re.search(r"\d-\d", text), "a number range is written with a hyphen"


def test_figure_tick_labels_use_minus_signs_and_narrow_spaces():
    from alis_research.figures import format_number

    assert format_number(-1.5, "nb") == "\u22121,5"
    assert format_number(60000, "nb") == "60\u202f000"
    assert format_number(-2000, "en") == "\u22122,000"
    assert format_number(-0.0, "nb") == "0" and format_number(-0.0001, "nb", 2) == "0,00"


# --------------------------------------------------------------------------- the HTML in a browser
def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is a dev dependency (pip install -e .[dev])")
    executable = _chromium()
    if executable is None:
        pytest.skip("no Chromium on this machine (Debian: apt-get install chromium; .ci/run installs it)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable,
            # offline machine: no background networking, no component updates, no sandbox as root
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        )
        yield browser
        browser.close()


def test_html_renders_offline_without_console_errors(published, browser):
    _language, outcome = published
    page = browser.new_page()
    errors, requests = [], []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("request", lambda request: requests.append(request.url))
    page.goto(outcome.html.resolve().as_uri(), wait_until="load")
    assert errors == []
    assert [url for url in requests if not url.startswith(("file:", "data:"))] == [], "the page fetched something"
    source = outcome.html.read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)\s*=\s*["']https?:""", source), "the page refers to the network"
    assert "@import" not in source and "<script" not in source
    page.close()


def test_every_figure_has_alternative_text(published, browser):
    _language, outcome = published
    page = browser.new_page()
    page.goto(outcome.html.resolve().as_uri())
    figures = page.evaluate("""() => Array.from(document.querySelectorAll('figure')).map(f => {
        const g = f.querySelector('svg, img');
        if (!g) return null;
        return g.tagName.toLowerCase() === 'img' ? g.getAttribute('alt') : (g.getAttribute('role') === 'img' ? g.getAttribute('aria-label') : null);
    })""")
    assert figures, "the demo report has figures"
    assert all(label and label.strip() for label in figures), figures
    page.close()


def test_headings_form_an_outline(published, browser):
    _language, outcome = published
    page = browser.new_page()
    page.goto(outcome.html.resolve().as_uri())
    levels = page.evaluate("() => Array.from(document.querySelectorAll('h1,h2,h3,h4,h5,h6')).map(h => +h.tagName[1])")
    assert levels[0] == 1 and levels.count(1) == 1
    for before, after in zip(levels, levels[1:]):
        assert after <= before + 1, f"heading level jumps from h{before} to h{after}"
    page.close()


def test_html_prints_to_a4_without_overflow(published, browser, tmp_path):
    _language, outcome = published
    page = browser.new_page()
    page.goto(outcome.html.resolve().as_uri())
    page.emulate_media(media="print")
    page.set_viewport_size({"width": 794, "height": 1123})  # A4 at 96 dpi
    overflow = page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 1, f"the printed page is {overflow}px wider than A4"
    pdf_path = tmp_path / "printed.pdf"
    page.pdf(path=str(pdf_path), prefer_css_page_size=True, print_background=True)
    reader = pypdf.PdfReader(str(pdf_path))
    assert len(reader.pages) >= 5
    for sheet in reader.pages:
        width, height = float(sheet.mediabox.width), float(sheet.mediabox.height)
        assert abs(width - 595.3) < 2 and abs(height - 841.9) < 2, (width, height)
    page.close()


def test_an_estimate_without_interval_prints_alone():
    # survival 1 before anyone has left has no interval: "1,00", not "1,00 (–––)"
    from alis_research.report.text import fmt_ci

    assert fmt_ci(1.0, float("nan"), float("nan"), "nb") == "1,00"
    assert fmt_ci(1.0, None, None, "en") == "1.00"
    assert fmt_ci(0.8, 0.2, 0.97, "nb") == "0,80 (0,20–0,97)"


# --------------------------------------------------------------------------- content of issue 13 (no extra build)
def test_conclusion_references_price_year_and_provenance_in_the_pdf(published):
    """The summary opens with the conclusion; the references come before the appendix; costs name
    the price year; the appendix gives every input's full SHA-256 (tests/test_report_content.py)."""
    from alis_research.data.io import sha256_file
    from alis_research.report.text import T

    language, outcome = published
    text = " ".join(" ".join(_pages(outcome.pdf)).split())
    assert T("c_heading", language) in text and T("c_question", language) in text
    assert T("s_hr_none", language) in text  # the demo's headline interval includes 1
    assert ("2019-kroner" if language == "nb" else "2019 NOK") in text
    references, appendix = T("references", language), T("appendix", language)
    assert text.rfind(references) < text.rfind(appendix) and "Varighet av fastlegeavtaler" in text
    dataset = Path(outcome.path)  # the inputs' hashes as the appendix prints them
    manifest = json.loads((dataset / "manifest.json").read_text(encoding="utf-8"))
    for name, sha in manifest["input_files"].items():
        assert sha in text.replace(" ", ""), name
