"""Analysis notes and internal values as published (alis_research/report/notes.py).

Notes are data (a code of the message catalogue plus values, alis_research/messages/note.py);
these tests check how the report writes them in each language and what it masks.
"""
from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from alis_research import config
from alis_research.disclosure import SuppressionEntry
from alis_research.messages.note import Note
from alis_research.report import notes
from alis_research.report.notes import (
    publish_note,
    publish_notes,
    scheme_label,
    size_class_label,
    suppression_rows,
    term_label,
)
from alis_research.report.text import THIN_SPACE, T

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).parent / "fixtures"
AS_OF = "2024-12-31"
NB_2000 = f"2{THIN_SPACE}000"


def unstable(events, k):
    return Note("cox_unstable", events=events, coefficients=k, minimum=10)


# --------------------------------------------------------------------------- masking only counts
def test_the_one_of_a_hazard_ratio_and_thresholds_are_not_masked():
    note = unstable(3, 2)
    assert publish_note(note, "en", 5) == ("Unstable: <5 exits for 2 coefficient(s) (fewer than 10 per coefficient); "
                                           "estimates may be biased away from 1")
    assert publish_note(note, "nb", 5) == ("Ustabil modell: <5 avganger for 2 koeffisient(er) (færre enn 10 per "
                                           "koeffisient); anslagene kan være skjeve i retning bort fra 1")
    # the count is known as a count from the catalogue entry, not guessed from the text
    assert note.counts() == {"events": 3}
    assert note.as_dict() == {"code": "cox_unstable", "values": {"events": 3, "coefficients": 2, "minimum": 10},
                              "context": [], "counts": ["events"]}


def test_counts_at_or_above_min_cell_are_shown():
    assert publish_note(unstable(22, 5), "nb", 5).startswith("Ustabil modell: 22 avganger for 5 ")
    few = Note("parametric_few_exits", group="cohort", level="næring", events=2, minimum=3)
    assert publish_note(few, "nb", 5) == "Næring: kan ikke anslås, <5 avgang(er) (trenger minst 3)"
    assert publish_note(few, "en", 2) == "Self-employed (næring): not estimable, 2 exit(s) (need at least 3)"
    # without min_cell (a notebook), nothing is masked
    assert str(few) == "self-employed (næring): not estimable, 2 exit(s) (need at least 3)"


def test_years_degrees_of_freedom_and_p_values_keep_their_digits():
    note = Note("km_beyond_follow_up", label="fastlønn", time=5.0, follow_up=4.3712)
    assert publish_note(note, "nb", 5) == ("Fastlønn: andelen som blir etter 5 år kan ikke anslås, ingen er fulgt så "
                                           "lenge (lengste oppfølging 4,37 år)")
    note = Note("ph_violated", term="size_class", p=0.0123)
    assert publish_note(note, "nb", 5) == ("Hasardratioen for kommunestørrelse ser ut til å endre seg over tid "
                                           "(p = 0,012); les den som et gjennomsnitt over oppfølgingstiden")
    note = Note("cox_few_clusters", clusters=3, variable="municipality_code", minimum=5)
    assert publish_note(note, "en", 5).startswith("Only 3 cluster(s) of municipality: ")
    assert "fewer than 5;" in publish_note(note, "en", 5)


def test_group_labels_are_the_reports_labels():
    assert publish_note(Note("size_class_median", size_class_group=">=50000"), "nb") == \
        f"Kommunestørrelse 50{THIN_SPACE}000 og over: medianen er ikke nådd (kurven holder seg over 0,5)"
    assert publish_note(Note("size_class_median", size_class_group="2000-4999"), "en") == \
        "Municipality size 2,000–4,999: median not reached (the curve stays above 0.5)"
    assert publish_note(Note("size_class_median", size_class_group="all"), "en") == \
        "All municipality sizes together: median not reached (the curve stays above 0.5)"
    assert publish_note(Note("cox_reference", variable="size_class", level="<2000"), "nb") == \
        f"Referansenivå for kommunestørrelse: under {NB_2000}"
    assert publish_note(Note("km_few_events", label="fastlønn, <2000", events=2), "en") == \
        "Salaried (fastlønn), under 2,000: only <5 event(s): estimates are unstable"


def test_unit_names_and_ids_are_data_not_text():
    note = Note("vacancy_overlap", unit="Bodø legesenter", positions=2, days=3)
    for language in ("nb", "en"):
        assert "Bodø" not in publish_note(note, language)
    assert note.values["unit"] == "Bodø legesenter"  # the researcher still has it
    left_out = Note("strata_missing", n=2, variable="area", ids=["E001", "E002"])
    assert "E001" not in publish_note(left_out, "nb") and left_out.values["ids"] == ("E001", "E002")


def test_a_note_must_be_a_catalogue_code():
    with pytest.raises(KeyError, match="no note 'a brand-new caveat'"):
        Note("a brand-new caveat")
    with pytest.raises(TypeError, match="a note must be a Note"):
        publish_note("a brand-new caveat about 3 episodes", "nb", 5)


def test_notes_passed_on_keep_their_structure_and_gain_a_context():
    note = unstable(3, 2).within("cox")
    assert note.code == "cox_unstable" and note.context == ("cox",)
    assert publish_note(note, "nb", 5).startswith("Cox-modell: ustabil modell: <5 avganger for 2 koeffisient(er)")
    km = Note("km_few_events", label="næring", events=2).within("km")
    assert publish_note(km, "en") == "Kaplan–Meier: self-employed (næring): only <5 event(s): estimates are unstable"
    assert str(km) == "Kaplan–Meier: self-employed (næring): only 2 event(s): estimates are unstable"


def test_notes_identical_once_written_are_listed_once():
    published = publish_notes([Note("vacancy_no_episodes", unit="A"), Note("vacancy_no_episodes", unit="B")], "en")
    assert published == ["A unit without episodes is left out of the vacancy"]


def test_notes_equal_by_code_and_values_and_as_english_text():
    import pickle

    note = Note("cox_reference", variable="sex", level="K")
    assert note == Note("cox_reference", variable="sex", level="K") != Note("cox_reference", variable="sex", level="M")
    assert note == "reference level for sex: women" and "reference level for sex: women" in [note]
    assert pickle.loads(pickle.dumps(note)) == note and pickle.loads(pickle.dumps(note)).values == note.values
    assert repr(note) == "Note('cox_reference', variable='sex', level='K')"


# --------------------------------------------------------------------------- the register comparisons
def _comparison_notes() -> list[Note]:
    """Notes and not-estimable reasons of comparison.py, produced by running it on tiny hand-made data."""
    import pandas as pd

    from alis_research.analysis import comparison as cmp
    from alis_research.errors import AlisError

    found = []
    rows = [{"municipality_code": f"{g}{i}", "group": "participating" if g == "P" else "rejected", "year": year,
             "vacancy_share": 0.1 + 0.01 * i + 0.002 * (year - 2016) ** 2}
            for g in "PR" for i in range(3) for year in range(2016, 2021)]
    panel = pd.DataFrame(rows)
    for kwargs in ({}, {"min_clusters": 3}):  # too few municipalities; then "only 6 clusters"
        found += cmp.difference_in_differences(panel, outcomes=["vacancy_share"], controls=["rejected"],
                                               **kwargs).notes
    found += cmp.difference_in_differences(panel[panel["year"] != 2018], outcomes=["vacancy_share"],
                                           controls=["rejected"], min_clusters=3).notes
    alis = pd.DataFrame({"person_id": ["p1", "p2"], "municipality_code": ["1815", "5501"], "start_year": [2019, 2019],
                         "size_class": ["<2000", ">=50000"],
                         "start_date": pd.to_datetime(["2019-09-01", "2019-10-01"]),
                         "stop_date": pd.to_datetime(["2021-09-01", "2022-01-01"]), "exit": [1, 1]})
    register = pd.DataFrame({"doctor_id": ["g1"], "municipality_code": ["1815"], "start_year": [2015],
                             "size_class": ["<2000"], "start_date": pd.to_datetime(["2015-03-01"]),
                             "stop_date": pd.to_datetime(["2020-03-01"]), "exit": [1], "started_before_extract": False})
    for frame in (alis, register):
        frame["duration"] = (frame["stop_date"] - frame["start_date"]).dt.days / 365.25
    found += cmp.alis_versus_gps(alis, register, as_of="2024-12-31").notes  # not linked, no list, no GP
    for call in (lambda: cmp.alis_versus_gps(alis, register, as_of="2024-12-31", follow_up_end="2019-01-01"),
                 lambda: cmp.abelsen_replication(register, window=("1990-01-01", "1991-01-01"))):
        with pytest.raises(AlisError) as error:  # the not-estimable reasons the section prints: Notes
            call()
        found.append(error.value.args[0])
    # two notes these data cannot reach: made as comparison.py and sections_register.py make them
    found += [Note("abelsen_no_size_class", n=3), Note("did_no_panel")]
    return found


def test_every_comparison_note_is_a_catalogue_note():
    found = {note.code: note for note in _comparison_notes()}
    expected = {"did_few_municipalities", "did_few_clusters", "did_years_missing", "did_parallel_trends",
                "alis_not_linked", "alis_municipalities_missing", "alis_no_other_gps", "alis_no_episodes_in_extract",
                "abelsen_no_contracts", "abelsen_no_size_class", "did_no_panel"}
    assert expected <= set(found)
    for note in found.values():
        for language in ("nb", "en"):
            published = publish_note(note, language, 5)
            assert "vacancy_share" not in published and "docs/" not in published and "person_id" not in published
    assert publish_note(found["did_few_municipalities"], "nb", 5) == (
        "Andel uten fast lege, deltakende kommuner mot avslåtte søkere: kan ikke anslås: 3 deltakende kommuner og "
        "3 avslåtte søkere med data; den klyngerobuste standardfeilen trenger minst 5 kommuner i hver gruppe")
    assert publish_note(found["did_few_clusters"], "en", 5) == (
        "Share without a permanent GP, participating municipalities vs rejected applicants: only 6 municipalities "
        "(clusters); the cluster-robust intervals may still be too narrow")
    # contracts are counted (masked); municipalities, years and thresholds are not
    assert publish_note(found["abelsen_no_size_class"], "nb", 5) == "<5 avtale(r) uten kjent kommunestørrelse er holdt utenfor"
    assert publish_note(found["alis_municipalities_missing"], "en", 5) == \
        "1 ALIS municipality(ies) have no list in the register extract"
    assert publish_note(found["did_years_missing"], "nb", 5).endswith("fra 2019, også referanseåret 2018")
    # dates in running text as Norwegians write them
    assert publish_note(found["abelsen_no_contracts"], "nb", 5) == \
        "Ingen avtale i registeruttrekket starter mellom 1. januar 1990 og 1. januar 1991 (tidsvinduet til Abelsen mfl.)"
    assert publish_note(found["abelsen_no_contracts"], "en", 5) == \
        "No contract in the register extract starts between 1 January 1990 and 1 January 1991 (the window of Abelsen et al.)"


def test_register_groups_and_levels_in_words():
    km = Note("km_median_not_reached", label="other GPs").within("km")
    assert publish_note(km, "nb") == \
        "Kaplan–Meier: andre fastleger: median bli-tid er ikke nådd (andelen som blir, holder seg over 0,5)"
    reference = Note("cox_reference", variable="sex", level="K").within("cox")
    assert publish_note(reference, "nb") == "Cox-modell: referansenivå for kjønn: kvinner"
    assert publish_note(reference, "en") == "Cox model: reference level for sex: women"


# --------------------------------------------------------------------------- value labels
def test_value_labels():
    assert size_class_label("<2000", "nb") == f"under {NB_2000}"
    assert size_class_label("2000-4999", "nb") == f"{NB_2000}–4{THIN_SPACE}999"
    assert size_class_label("10000-49999", "en") == "10,000–49,999"
    assert size_class_label(">=50000", "en") == "50,000 and over"
    assert term_label("size_class=2000-4999", "nb") == f"Kommunestørrelse {NB_2000}–4{THIN_SPACE}999"
    assert term_label("size_class=>=50000", "en") == "Municipality size 50,000 and over"
    assert term_label("næring", "en") == "self-employed (næring)"
    assert term_label("size_class", "nb") == "Kommunestørrelse"
    assert scheme_label("new", "nb") == "ny ordning" and scheme_label("old", "nb") == "gammel ordning"
    assert scheme_label("new", "en") == "new rules" and scheme_label("old", "en") == "old rules"


def test_suppression_log_of_the_pathway_tables_in_words():
    entries = [SuppressionEntry("pathway_outcomes", "fastlønn", "approved", "primary"),
               SuppressionEntry("hospital_year", "næring", "returned_share", "derived"),
               SuppressionEntry("supervision_cohort", "fastlønn", "left_within_window", "primary")]
    rows = suppression_rows(entries, "nb")
    assert [r["table"] for r in rows] == ["Utfall i spesialiseringsløpet etter kohort", "Sykehusåret etter kohort",
                                         "Veiledning levert mot lovet, etter kohort"]
    assert [r["column"] for r in rows] == ["Godkjent", "Andel tilbake av dem med kjent utfall",
                                          "Sluttet innen 3 måneder etter"]
    assert suppression_rows(entries, "en")[1]["column"] == "Share back of those with a known outcome"


def test_suppression_log_in_words():
    entries = [SuppressionEntry("start_year", "row 2020", "total", "total"),
               SuppressionEntry("table1", "Kommunestørrelse (innbyggere): under 2 000", "næring", "primary"),
               SuppressionEntry("abelsen", ">=50000", "events", "primary"),
               {"table": "rates_contract_type", "row": "fastlønn", "column": "_rate", "reason": "derived"},
               {"table": "some_new_table", "row": "column fastlønn", "column": "total", "reason": "total"}]
    assert suppression_rows(entries, "nb") == [
        {"table": T("cap_start_year", "nb"), "row": "2020", "column": "Totalt", "reason": "sum skjermet"},
        {"table": T("cap_table1", "nb"), "row": "Kommunestørrelse (innbyggere): under 2 000", "column": "næring",
         "reason": "primær (1–4)"},
        {"table": T("cap_abelsen", "nb"), "row": f"50{THIN_SPACE}000 og over", "column": "Hendelser",
         "reason": "primær (1–4)"},
        {"table": "Turnover etter gjeldende avtaleform", "row": "fastlønn", "column": "Per 100 personår (95 % KI)",
         "reason": "avledet tall (rate) skjermet"},
        {"table": "Some new table", "row": "Totalt", "column": "fastlønn", "reason": "sum skjermet"},
    ]
    english = suppression_rows(entries, "en")
    assert english[0] == {"table": "Episodes by start year and contract type at start", "row": "2020",
                          "column": "Total", "reason": "total withheld"}
    assert english[3]["row"] == "salaried (fastlønn)"


# --------------------------------------------------------------------------- the sections
@pytest.fixture(scope="module")
def demo_prepared(demo_dataset):
    from alis_research.report import load_for_report

    return load_for_report(demo_dataset, as_of=AS_OF)


def _table(section, table_id):
    return next(b for b in section.protected_blocks() if b["type"] == "table" and b["id"] == table_id)


def _text(section) -> str:
    parts = []
    for block in section.protected_blocks():
        parts += [block.get("text") or "", *block.get("items", []), block.get("caption", ""),
                  *block.get("notes", []), *("|".join(r) for r in block.get("rows", []))]
    return "\n".join(parts)


@pytest.mark.parametrize("language", ["nb", "en"])
def test_cox_table_shows_size_classes_in_words(demo_prepared, language):
    from alis_research.report import contract_duration_section

    section = contract_duration_section(demo_prepared, language=language, min_cell=5)
    terms = [row[0] for row in _table(section, "cox")["rows"]]
    if language == "nb":
        assert terms == ["næring", f"Kommunestørrelse 2{THIN_SPACE}000–4{THIN_SPACE}999",
                         f"Kommunestørrelse 5{THIN_SPACE}000–9{THIN_SPACE}999",
                         f"Kommunestørrelse 10{THIN_SPACE}000–49{THIN_SPACE}999",
                         f"Kommunestørrelse 50{THIN_SPACE}000 og over"]
    else:
        assert terms == ["self-employed (næring)", "Municipality size 2,000–4,999", "Municipality size 5,000–9,999",
                         "Municipality size 10,000–49,999", "Municipality size 50,000 and over"]
    text = _text(section)
    assert "size_class" not in text and ">=50000" not in text and "weibull" not in text
    assert "biased away from <" not in text
    if language == "nb":
        assert "(på engelsk)" not in text and "Merknader fra analysene:" in text
        assert "away from" not in text and "reference level" not in text
        # a note carrying a count of exits ("22 avganger ... færre enn 10") is kept out of the publication:
        # its presence and its numbers narrow counts the report may withhold (docs/reports.md)
        assert "22 avganger" not in text and "anslagene kan være skjeve i retning bort fra 1" not in text


@pytest.mark.parametrize("language", ["nb", "en"])
def test_table1_shows_schemes_and_size_classes_in_words(demo_prepared, language):
    from alis_research.report import cohort_section

    labels = [row[0] for row in _table(cohort_section(demo_prepared, language=language, min_cell=5), "table1")["rows"]]
    if language == "nb":
        assert "Ordning: ny ordning" in labels and "Ordning: gammel ordning" in labels
        assert "Kjønn: kvinner" in labels and "Kjønn: menn" in labels
        assert f"Kommunestørrelse (innbyggere): 50{THIN_SPACE}000 og over" in labels
    else:
        assert "Scheme: new rules" in labels and "Scheme: old rules" in labels
        assert "Sex: women" in labels and "Sex: men" in labels
        assert "Municipality size (inhabitants): 2,000–4,999" in labels
    assert not any(label.endswith((": new", ": old", "<2000", "-4999")) for label in labels)


@pytest.mark.parametrize("language", ["nb", "en"])
def test_appendix_suppression_log_uses_captions(demo_prepared, language, tmp_path):
    """The appendix's list of withheld numbers names them as the report does (no internal names)."""
    from alis_research.report import appendix_section, cohort_section, data_quality_section
    from alis_research.report.content import read_content, write_meta, write_section
    from alis_research.report.protection import protect_content

    work, published = tmp_path / "work", tmp_path / "published"
    write_meta(work, {"language": language, "area": "all", "min_cell": 5, "as_of": "2024-12-31"})
    for section in (data_quality_section(demo_prepared, language=language, min_cell=5),
                    cohort_section(demo_prepared, language=language, min_cell=5),
                    appendix_section(demo_prepared, dataset="synthetic", area="all", language=language, min_cell=5)):
        write_section(work, section)
    protect_content(work, published, min_cell=5)
    appendix = next(s for s in read_content(published)["sections"] if s["key"] == "appendix")
    table = next(b for b in appendix["blocks"] if b["type"] == "table" and b["id"] == "withheld")
    labels = [row[0] for row in table["rows"]]
    assert labels and not any(label.startswith(("row ", "column ")) for label in labels)
    assert not any(word in " ".join(labels) for word in ("start_year", "table1", "size_class", "fastlønn_"))
    assert any(T("t1_size_class", language) in label for label in labels)
    parameters = next(b for b in appendix["blocks"] if b.get("id") == "parameters")["rows"]
    assert [T("area", language), T("all_areas", language)] in parameters


# --------------------------------------------------------------------------- completeness
def _run_report_notebook(dataset: Path, area: str, language: str = "nb") -> None:
    """Execute the evaluation-report notebook's code in this process (nothing written: output_dir = "")."""
    nb = nbformat.read(ROOT / "notebooks" / "evaluation_report.ipynb", as_version=4)
    cells = [c.source for c in nb.cells if c.cell_type == "code"]
    namespace: dict = {}
    exec(cells[0], namespace)  # the parameters cell
    namespace.update(dataset=str(dataset), as_of=AS_OF, area=area, language=language, min_cell=5, output_dir="")
    for source in cells[1:]:
        if "build_results(" in source:
            continue  # the internal results.json: not published
        exec(source, namespace)


RUNS = [(config.DATA_RAW / config.DEMO_DATASET, "all"), (FIXTURES / "good_small", "all")] + [
    (FIXTURES / "report_small", area) for area in ("all", *config.HEALTH_TRUST_AREAS)] + [
    # with a GP-register extract: the comparison-groups section (Nordland: no rejected applicant, DiD not estimable)
    (FIXTURES / "report_register", area) for area in ("all", "Nordland")]


@pytest.mark.slow
@pytest.mark.parametrize("dataset, area", RUNS, ids=[f"{d.name}-{a}" for d, a in RUNS])
def test_every_published_note_is_a_catalogue_note_in_both_languages(dataset, area, monkeypatch):
    """Every note a report publishes is a Note of the catalogue, written differently in bokmål and English."""
    import matplotlib.pyplot as plt

    if not (dataset / "episodes.csv").exists():
        pytest.skip(f"{dataset} not present")
    seen: list = []
    original_notes, original_reason = notes.publish_notes, notes.exclusion_reason

    def recording_notes(messages, language="nb", min_cell=config.DEFAULT_MIN_CELL):
        messages = list(messages)
        seen.extend(messages)
        return original_notes(messages, language, min_cell)

    def recording_reason(reason, language="nb"):
        assert str(reason) in notes.EXCLUSION_CODES, reason
        return original_reason(reason, language)

    monkeypatch.setattr(notes, "publish_notes", recording_notes)
    monkeypatch.setattr(notes, "exclusion_reason", recording_reason)
    try:
        _run_report_notebook(dataset, area)
    finally:
        plt.close("all")
    assert seen, "no note reached the recorder: the sections no longer publish through notes.publish_notes"
    assert all(isinstance(note, Note) for note in seen)
    for note in seen:
        assert note.text("nb", 5) != note.text("en", 5), note
