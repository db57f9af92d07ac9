"""The report section on small cohorts (report/sections_small_cohorts.py)."""
from __future__ import annotations

import json
import re
import warnings

import pytest

from alis_research import config, report
from alis_research.report import content

NUMBER_CELL = re.compile(r"^(<?\d+[.,]\d{3}|\d+[.,]\d{2} \(\d+[.,]\d{2}–(\d+[.,]\d{2}|–)\)|–|not estimable|kan ikke anslås)$")


@pytest.fixture(scope="module")
def demo():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return report.load_for_report(config.DEMO_DATASET, as_of=config.DEMO_AS_OF)


@pytest.mark.parametrize("language", ["nb", "en"])
def test_section_publishes_only_estimates_and_p_values(demo, language):
    section = report.small_cohorts_section(demo, language=language, min_cell=5)
    assert section.key == "small_cohorts"
    tables = {b["id"]: b for b in section.protected_blocks() if b["type"] == "table"}
    assert set(tables) == {"small_cohorts_logrank", "small_cohorts_firth", "small_cohorts_competing"}
    labels = {"Whole dataset", "Hele datasettet", *config.HEALTH_TRUST_AREAS}
    for table in tables.values():
        for row in table["rows"]:
            assert row[0] in labels
            numbers = [cell for cell in row[1:] if re.search(r"\d", cell) and not cell.startswith("Monte Carlo")]
            assert all(NUMBER_CELL.match(cell) for cell in numbers), row  # no count anywhere
    firth = tables["small_cohorts_firth"]["rows"]
    nordland = next(r for r in firth if r[0] == "Nordland")
    assert nordland[-1] == ("no finite estimate" if language == "en" else "uten endelig anslag")
    assert nordland[1] == ("0.38 (0.00–3.42)" if language == "en" else "0,38 (0,00–3,42)")
    competing = tables["small_cohorts_competing"]["rows"]
    finnmark = [r for r in competing if r[0] == "Finnmark"]
    assert all(cell == ("not estimable" if language == "en" else "kan ikke anslås") for r in finnmark for cell in r[2:])
    logrank = {r[0]: r for r in tables["small_cohorts_logrank"]["rows"]}
    assert logrank["Nordland"][1:3] == (["exact", "0.076"] if language == "en" else ["eksakt", "0,076"])
    text = " ".join(b["text"] for b in section.protected_blocks() if b["type"] == "paragraph")
    assert ("In Nordland the ordinary Cox model has no finite estimate" in text if language == "en"
            else "I Nordland har den vanlige Cox-modellen ikke noe endelig anslag" in text)
    assert section.facts["firth"]["ordinary_monotone"] is False
    assert section.facts["logrank_permutation"]["method"] == "monte_carlo"


def test_area_report_uses_the_area_as_scope_and_is_written_in_order(demo, tmp_path):
    nordland = report.select_area(demo, "Nordland")
    section = report.small_cohorts_section(nordland, language="en", min_cell=5)
    rows = [b for b in section.protected_blocks() if b["type"] == "table"][0]["rows"]
    assert [r[0] for r in rows] == ["Nordland"]
    assert section.facts["firth"]["ordinary_monotone"] is True
    report.write_section(tmp_path, report.limitations_section(nordland, language="en", min_cell=5))
    report.write_section(tmp_path, section)
    document = json.loads((tmp_path / content.CONTENT_FILE).read_text(encoding="utf-8"))
    assert [s["key"] for s in document["sections"]] == ["small_cohorts", "limitations"]
    # tables are written as CSV only by the protection step, into the published folder
    files = {b["file"] for b in document["sections"][0]["blocks"] if b["type"] == "table"}
    assert "tables/small_cohorts_firth.csv" in files


def test_empty_area_says_not_estimable(demo):
    empty = report.select_area(demo, "Finnmark")
    empty = type(empty)(**{**empty.__dict__, "episodes": empty.episodes.head(0), "intervals": empty.intervals.head(0)})
    section = report.small_cohorts_section(empty, language="nb", min_cell=5)
    cells = [c for b in section.protected_blocks() if b["type"] == "table" for r in b["rows"] for c in r[1:]]
    assert cells and "kan ikke anslås" in cells and not any(re.search(r"\d", c) for c in cells)
