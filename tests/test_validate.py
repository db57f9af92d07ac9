"""The raw-data contract: every problem reported at once, with its file, row and column."""
from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import pandas as pd
import pytest

from alis_research.cli import main
from alis_research.errors import DataValidationError
from alis_research.data.contract import Problem, canonical_contract_type, is_norwegian_national_id, parse_date
from alis_research.data.validate import load_validated, validate_dataset

TESTS = Path(__file__).resolve().parent
BAD_INPUTS = TESTS / "bad_inputs"
GOOD_SMALL = TESTS / "fixtures" / "good_small"
CASES = sorted(path.name for path in BAD_INPUTS.iterdir() if (path / "expected.json").is_file())

# A valid fødselsnummer built by hand (born 01.01.90, individual number 124):
#   digits d1..d9 = 0 1 0 1 9 0 1 2 4
#   k1: 3*0 + 7*1 + 6*0 + 1*1 + 8*9 + 9*0 + 4*1 + 5*2 + 2*4 = 102; 102 mod 11 = 3; k1 = 11 - 3 = 8
#   k2: 5*0 + 4*1 + 3*0 + 2*1 + 7*9 + 6*0 + 5*1 + 4*2 + 3*4 + 2*8 = 110; 110 mod 11 = 0; k2 = 11 -> 0
FODSELSNUMMER = "01019012480"
# The matching D-number (day + 40: first digit 0 -> 4):
#   k1: 102 + 3*4 = 114; 114 mod 11 = 4; k1 = 7
#   k2: 5*4 + 4*1 + 2*1 + 7*9 + 5*1 + 4*2 + 3*4 + 2*7 = 128; 128 mod 11 = 7; k2 = 4
D_NUMBER = "41019012474"


def file_hashes(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


# --------------------------------------------------------------------------- the bad-input corpus
def test_the_corpus_has_at_least_twenty_cases():
    assert len(CASES) >= 20


@pytest.mark.parametrize("case", CASES)
def test_bad_input_reports_exactly_the_expected_problems(case):
    folder = BAD_INPUTS / case
    expected = json.loads((folder / "expected.json").read_text(encoding="utf-8"))
    before = file_hashes(folder)
    problems, data = validate_dataset(folder, as_of=expected["as_of"])
    assert data is None
    reported = sorted((p.file, p.row or 0, p.column or "") for p in problems)
    wanted = sorted((file, row or 0, column or "") for file, row, column in expected["problems"])
    assert reported == wanted, "\n".join(map(str, problems))
    text = "\n".join(map(str, problems))
    for fragment in expected["message_contains"]:
        assert fragment in text
    assert file_hashes(folder) == before  # the inputs are never modified


def test_all_problems_at_once_are_listed_in_file_then_row_order():
    problems, _ = validate_dataset(BAD_INPUTS / "all_problems_at_once", as_of="2024-12-31")
    assert [(p.file, p.row) for p in problems] == [
        ("episodes.csv", None), ("episodes.csv", 2), ("episodes.csv", 3), ("episodes.csv", 4),
        ("episodes.csv", 5), ("episodes.csv", 6), ("events.csv", 2), ("events.csv", 3), ("events.csv", 4),
        ("events.csv", 5),
    ]


def test_problem_text_and_dict():
    problem = Problem("episodes.csv", 7, "end_date", "31.02.2020",
                      "not a valid date (expected YYYY-MM-DD or DD.MM.YYYY)")
    assert str(problem) == ("episodes.csv, row 7, column end_date: value '31.02.2020': "
                            "not a valid date (expected YYYY-MM-DD or DD.MM.YYYY)")
    assert problem.to_dict() == {"file": "episodes.csv", "row": 7, "column": "end_date", "value": "31.02.2020",
                                 "message": "not a valid date (expected YYYY-MM-DD or DD.MM.YYYY)"}
    assert str(Problem("episodes.csv", None, None, None, "missing")) == "episodes.csv: missing"


# --------------------------------------------------------------------------- decisions
def test_missing_end_reason_is_only_checked_with_an_as_of_date():
    folder = BAD_INPUTS / "missing_end_reason_as_of"
    problems, data = validate_dataset(folder)
    assert problems == [] and data is not None
    # an episode ending exactly on the as-of date has ended
    problems, _ = validate_dataset(folder, as_of="2022-07-31")
    assert [(p.row, p.column) for p in problems] == [(2, "end_reason")]
    # ... and one ending the day after has not (planned end)
    problems, _ = validate_dataset(folder, as_of="2022-07-30")
    assert problems == []


def test_touching_episodes_do_not_overlap(tmp_path):
    (tmp_path / "episodes.csv").write_text(
        "person_id,municipality,contract_type,start_date,end_date,end_reason\n"
        "A01,Bodø,f,2019-01-01,2020-06-30,other_gp_same_region\n"
        "A01,Bodø,n,2020-06-30,,\n", encoding="utf-8")
    assert validate_dataset(tmp_path)[0] == []


def test_identity_number_is_never_echoed(tmp_path, capsys):
    (tmp_path / "episodes.csv").write_text(
        "person_id,municipality,contract_type,start_date,end_date,end_reason\n"
        f"{FODSELSNUMMER},Bodø,f,2019-01-01,,\n"
        f"{FODSELSNUMMER},Bodø,n,2019-06-01,,\n"  # overlaps: the message names the person
        f"{D_NUMBER},Bodø,n,2019-06-01,2019-05-01,\n", encoding="utf-8")
    (tmp_path / "events.csv").write_text(f"person_id,date,event\n{FODSELSNUMMER},2018-01-01,leave_start\n",
                                         encoding="utf-8")
    problems, _ = validate_dataset(tmp_path)
    assert {(p.file, p.row, p.column) for p in problems} >= {
        ("episodes.csv", 2, "person_id"), ("episodes.csv", 3, "person_id"), ("episodes.csv", 4, "person_id"),
        ("episodes.csv", 3, "start_date"), ("events.csv", 2, "person_id"), ("events.csv", 2, "date")}
    assert main(["validate", str(tmp_path)]) == 1
    assert main(["validate", str(tmp_path), "--json"]) == 1
    output = capsys.readouterr()
    assert "value '***********'" in output.out  # nothing of the number is kept, not even its date part
    for number in (FODSELSNUMMER, D_NUMBER, FODSELSNUMMER[:6], D_NUMBER[:6], FODSELSNUMMER[6:], D_NUMBER[6:]):
        assert number not in output.out + output.err


# --------------------------------------------------------------------------- the clean data
def test_good_small_gives_typed_canonical_frames():
    before = file_hashes(GOOD_SMALL)
    problems, data = validate_dataset(GOOD_SMALL, as_of="2024-12-31")
    assert problems == []
    episodes, events = data.episodes, data.events
    assert list(episodes.columns) == ["source_row", "person_id", "municipality_code", "municipality_name",
                                      "contract_type", "start_date", "end_date", "end_reason", "programme",
                                      "sex", "birth_year", "list_size", "scheme"]
    assert episodes["source_row"].tolist() == [2, 3, 4, 5, 6, 7]
    # 5607 Vadsø as given; Bodø by name; 1902 (Tromsø 2018) and 1931 (Lenvik) harmonised to 2024
    assert episodes["municipality_code"].tolist() == ["5607", "1804", "5501", "5503", "5530", "5603"]
    assert episodes["municipality_name"].tolist() == ["Vadsø", "Bodø", "Tromsø", "Harstad", "Senja", "Hammerfest"]
    assert episodes["contract_type"].tolist() == ["fastlønn", "næring", "fastlønn", "næring", "næring", "fastlønn"]
    assert episodes["programme"].tolist() == ["ALIS-Nord"] * 6  # default filled in rows 4 and 5
    assert str(episodes["start_date"].dtype) == "datetime64[ns]" and str(episodes["end_date"].dtype) == "datetime64[ns]"
    assert episodes["end_date"].isna().tolist() == [False, True, False, True, False, False]
    assert episodes.at[4, "end_date"] == pd.Timestamp("2025-06-30")  # planned end kept
    assert str(episodes["birth_year"].dtype) == "Int64" and str(episodes["list_size"].dtype) == "Int64"
    assert episodes["birth_year"].isna().tolist() == [False] * 5 + [True]
    assert episodes["list_size"].tolist()[:5] == [600, 800, 700, 750, 650]
    assert episodes["sex"].isna().sum() == 1 and set(episodes["sex"].dropna()) == {"K", "M"}
    assert episodes["end_reason"].tolist()[0] == "left_region" and pd.isna(episodes["end_reason"].iloc[1])
    assert episodes["scheme"].tolist() == ["new", "new", "new", "new", "old", "new"]

    assert list(events.columns) == ["source_row", "person_id", "date", "event", "new_contract_type", "note"]
    assert str(events["date"].dtype) == "datetime64[ns]"
    assert events["event"].tolist() == ["contract_switch", "hospital_year_start", "hospital_year_end",
                                        "leave_start", "leave_end", "specialist_approved"]
    assert events.at[0, "new_contract_type"] == "fastlønn" and pd.isna(events.at[1, "new_contract_type"])
    assert events.at[0, "note"].startswith("Kommunen tilbød") and pd.isna(events.at[1, "note"])

    assert data.input_files == {name: digest for name, digest in before.items() if name != "README.md"}
    assert data.synthetic is True
    assert file_hashes(GOOD_SMALL) == before


def test_xlsx_input_gives_the_same_data_as_csv(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    csv_frame = pd.read_csv(GOOD_SMALL / "episodes.csv", dtype=str, keep_default_na=False)
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(list(csv_frame.columns))
    for record in csv_frame.itertuples(index=False):
        cells = list(record)
        # dates as real Excel dates, years and list sizes as numbers, as HR systems export them
        for position in (3, 4):
            cells[position] = pd.Timestamp(cells[position]).to_pydatetime() if cells[position] else None
        for position in (8, 10):
            cells[position] = int(cells[position]) if cells[position] else None
        sheet.append(cells)
    workbook.save(tmp_path / "episodes.xlsx")
    problems, data = validate_dataset(tmp_path, as_of="2024-12-31")
    assert problems == []
    _, reference = validate_dataset(GOOD_SMALL, as_of="2024-12-31")
    pd.testing.assert_frame_equal(data.episodes, reference.episodes)
    assert list(data.input_files) == ["episodes.xlsx"]
    assert data.synthetic is False and len(data.events) == 0


def test_xlsx_problems_name_the_xlsx_file_and_spreadsheet_row(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["person_id", "municipality", "contract_type", "start_date", "end_date", "end_reason"])
    sheet.append(["A01", "Bodø", "f", pd.Timestamp("2019-08-01").to_pydatetime(), None, None])
    sheet.append(["A02", "Tromsø", "fast", "2019-02-30", None, None])
    workbook.save(tmp_path / "episodes.xlsx")
    problems, _ = validate_dataset(tmp_path)
    assert [(p.file, p.row, p.column, p.value) for p in problems] == [("episodes.xlsx", 3, "start_date", "2019-02-30")]


def test_load_validated_raises_with_every_problem():
    with pytest.raises(DataValidationError) as info:
        load_validated(BAD_INPUTS / "all_problems_at_once", as_of="2024-12-31")
    assert len(info.value.problems) == 10
    assert "10 problem(s)" in str(info.value) and "alis-research validate" in str(info.value)
    assert load_validated(GOOD_SMALL).episodes.shape == (6, 13)


@pytest.mark.slow
def test_sixty_thousand_rows_validate_in_seconds(tmp_path):
    header = "person_id,municipality,contract_type,start_date,end_date,end_reason,sex,birth_year,scheme,list_size"
    towns = ["5607", "Bodø", "1902", "Harstad", "1931", "Hammerfest", "Alta", "5605"]
    lines, events = [header], ["person_id,date,event,new_contract_type,note"]
    for i in range(30_000):
        year = 2010 + i % 10
        lines.append(f"P{i:06d},{towns[i % 8]},f,{year}-01-{1 + i % 28:02d},{year + 3}-06-30,left_region,K,1980,new,600")
        lines.append(f"P{i:06d},{towns[(i + 1) % 8]},næring,{year + 4}-01-01,,,M,1981,old,700")
        events.append(f"P{i:06d},{year + 1}-03-01,hospital_year_start,,")
        events.append(f"P{i:06d},{year + 5}-01-01,contract_switch,fastlønn,offered a salary")
    (tmp_path / "episodes.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (tmp_path / "events.csv").write_text("\n".join(events) + "\n", encoding="utf-8")
    started = time.perf_counter()
    problems, data = validate_dataset(tmp_path, as_of="2030-12-31")
    elapsed = time.perf_counter() - started
    assert problems == [] and len(data.episodes) == 60_000 and len(data.events) == 60_000
    assert elapsed < 20, f"validation of 60,000 rows took {elapsed:.1f} s"  # ~3-5 s on a 2-core machine


# --------------------------------------------------------------------------- value parsers
@pytest.mark.parametrize("text, expected", [
    ("2020-02-29", "2020-02-29"), ("29.02.2020", "2020-02-29"), ("1.9.2019", "2019-09-01"),
    ("2019-08-01 00:00:00", "2019-08-01"), ("2019-08-01T00:00:00", "2019-08-01"), (" 2019-8-1 ", "2019-08-01"),
    ("31.02.2020", None), ("2019-02-29", None), ("2019-13-01", None), ("01/02/2020", None), ("", None),
    ("20190801", None), ("1.9.19", None), ("1850-01-01", None), (None, None),
])
def test_parse_date(text, expected):
    result = parse_date(text)
    assert (result.date().isoformat() if result is not None else None) == expected


@pytest.mark.parametrize("text, expected", [
    ("fastlønn", "fastlønn"), ("f", "fastlønn"), ("F", "fastlønn"), ("fastlonn", "fastlønn"),
    ("ALIS-fastlønn", "fastlønn"), ("fast lønn", "fastlønn"), ("kommunal", "fastlønn"), ("Ansatt", "fastlønn"),
    ("næring", "næring"), ("n", "næring"), ("naering", "næring"), ("ALIS-næring", "næring"),
    ("ALIS næring", "næring"), ("privat", "næring"), ("Privat hjemmel", "næring"),
    ("selvstendig næringsdrivende", "næring"), ("Selvstendig_naeringsdrivende", "næring"),
    ("vikar", None), ("", None), ("fn", None), (None, None),
])
def test_canonical_contract_type(text, expected):
    assert canonical_contract_type(text) == expected


@pytest.mark.parametrize("text, expected", [
    (FODSELSNUMMER, True), (D_NUMBER, True), ("010190 12480", True),
    ("01019012481", False),  # second check digit wrong
    ("01019012470", False),  # first check digit wrong (7 instead of 8)
    ("01019012380", False),  # individual number 123 gives k1 = 10: no valid number exists
    ("0101901248", False), ("010190124800", False), ("A1019012480", False), ("", False), (None, False),
])
def test_is_norwegian_national_id(text, expected):
    assert is_norwegian_national_id(text) is expected


# --------------------------------------------------------------------------- the command
def test_cli_clean_dataset_exits_zero(capsys):
    assert main(["validate", str(GOOD_SMALL), "--as-of", "2024-12-31"]) == 0
    out = capsys.readouterr().out
    assert "no problems found" in out and "6 episode(s), 6 event(s)" in out


def test_cli_lists_every_problem_and_a_count(capsys):
    status = main(["validate", str(BAD_INPUTS / "all_problems_at_once"), "--as-of", "2024-12-31"])
    captured = capsys.readouterr()
    assert status == 1
    lines = captured.out.strip().splitlines()
    assert len(lines) == 11
    assert lines[2] == ("episodes.csv, row 3, column start_date: value '2019-99-01': "
                        "not a valid date (expected YYYY-MM-DD or DD.MM.YYYY)")
    assert lines[-1].startswith("10 problem(s) found in ")
    assert "Traceback" not in captured.err


def test_cli_json_is_a_list_of_problem_objects(capsys):
    status = main(["validate", str(BAD_INPUTS / "invalid_date"), "--json"])
    assert status == 1
    problems = json.loads(capsys.readouterr().out)
    assert problems == [{"file": "episodes.csv", "row": 3, "column": "end_date", "value": "31.02.2020",
                         "message": "not a valid date (expected YYYY-MM-DD or DD.MM.YYYY)"}]
    assert main(["validate", str(GOOD_SMALL), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


@pytest.mark.parametrize("argv, fragment", [
    (["validate", "{missing}"], "dataset folder not found"),
    (["validate", "{good}", "--as-of", "2024-31-12"], "not a valid date"),
])
def test_cli_user_errors_have_no_traceback(tmp_path, capsys, argv, fragment):
    argv = [arg.format(missing=tmp_path / "nope", good=GOOD_SMALL) for arg in argv]
    assert main(argv) == 1
    captured = capsys.readouterr()
    assert fragment in captured.err
    assert "Traceback" not in captured.err + captured.out
