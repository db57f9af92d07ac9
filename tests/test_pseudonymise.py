"""Keyed pseudonymisation: identity numbers out, same person same pseudonym, inputs untouched, key never written."""
from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

import pandas as pd
import pytest

from alis_research.data import pseudonymise as pseudo
from alis_research.cli import main
from alis_research.errors import AlisError
from alis_research.data.validate import validate_dataset

TESTS = Path(__file__).resolve().parent
GOOD_SMALL = TESTS / "fixtures" / "good_small"
NATIONAL_ID_CASE = TESTS / "bad_inputs" / "national_id_person"
KEY = "correct horse battery staple 2019"
FODSELSNUMMER = "01019012480"  # check digits derived by hand in test_validate.py


def file_hashes(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def all_output_text(folder: Path) -> str:
    return "".join(p.read_text(encoding="utf-8") for p in sorted(folder.iterdir()))


def test_pseudonym_is_the_truncated_hmac_sha256():
    # RFC 4231, test case 2: HMAC-SHA-256(key "Jefe", "what do ya want for nothing?")
    #   = 5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843
    assert pseudo.pseudonym("what do ya want for nothing?", b"Jefe") == "P5bdcc146bf60754e"
    assert pseudo.pseudonym("  what do ya want for nothing? ", b"Jefe") == "P5bdcc146bf60754e"
    assert pseudo.pseudonym("010190 12480", b"k") == pseudo.pseudonym("01019012480", b"k")


def test_good_small_pseudonymised_validates_and_links_the_tables(tmp_path):
    before = file_hashes(GOOD_SMALL)
    out = tmp_path / "pseudo"
    summary = pseudo.pseudonymise_dataset(GOOD_SMALL, out, KEY.encode())
    assert file_hashes(GOOD_SMALL) == before  # input untouched
    assert sorted(p.name for p in out.iterdir()) == ["dataset.json", "episodes.csv", "events.csv"]
    assert (out / "dataset.json").read_bytes() == (GOOD_SMALL / "dataset.json").read_bytes()
    assert summary["episodes.csv"]["rows"] == 6 and summary["episodes.csv"]["people"] == 5

    original = pd.read_csv(GOOD_SMALL / "episodes.csv", dtype=str, keep_default_na=False)
    result = pd.read_csv(out / "episodes.csv", dtype=str, keep_default_na=False)
    expected_ids = ["P" + hmac.new(KEY.encode(), pid.encode(), "sha256").hexdigest()[:16]
                    for pid in original["person_id"]]
    assert result["person_id"].tolist() == expected_ids
    pd.testing.assert_frame_equal(result.drop(columns="person_id"), original.drop(columns="person_id"))

    problems, data = validate_dataset(out, as_of="2024-12-31")
    assert problems == []
    events = pd.read_csv(out / "events.csv", dtype=str, keep_default_na=False)
    assert set(events["person_id"]) <= set(result["person_id"])  # same person, same pseudonym in both tables
    assert "A02" not in all_output_text(out)
    assert KEY not in all_output_text(out)


def test_same_key_same_pseudonyms_other_key_other_pseudonyms(tmp_path):
    pseudo.pseudonymise_dataset(GOOD_SMALL, tmp_path / "a", KEY.encode())
    pseudo.pseudonymise_dataset(GOOD_SMALL, tmp_path / "b", KEY.encode())
    pseudo.pseudonymise_dataset(GOOD_SMALL, tmp_path / "c", (KEY + "!").encode())
    assert file_hashes(tmp_path / "a") == file_hashes(tmp_path / "b")
    ids = {name: set(pd.read_csv(tmp_path / name / "episodes.csv", dtype=str)["person_id"]) for name in "ac"}
    assert ids["a"].isdisjoint(ids["c"])


def test_identity_numbers_are_replaced_everywhere(tmp_path):
    source = tmp_path / "raw"
    source.mkdir()
    for file in ("episodes.csv", "events.csv"):
        (source / file).write_bytes((NATIONAL_ID_CASE / file).read_bytes())
    with open(source / "events.csv", "a", encoding="utf-8") as handle:
        handle.write(f"A01,2020-01-01,leave_start,,asked by {FODSELSNUMMER[:6]} {FODSELSNUMMER[6:]} (not 01019012481)\n")
    assert validate_dataset(source)[0]  # refused before pseudonymisation
    summary = pseudo.pseudonymise_dataset(source, tmp_path / "out", KEY.encode())
    assert summary["episodes.csv"]["identity_numbers_in_person_id"] == 1
    assert summary["events.csv"]["identity_numbers_in_person_id"] == 3
    assert summary["events.csv"]["identity_numbers_in_other_cells"] == 1
    text = all_output_text(tmp_path / "out")
    assert FODSELSNUMMER not in text and FODSELSNUMMER[6:] not in text
    assert "01019012481" in text  # not a valid identity number: left as written
    assert f"asked by {pseudo.pseudonym(FODSELSNUMMER, KEY.encode())}" in text
    assert validate_dataset(tmp_path / "out")[0] == []


def test_xlsx_input_is_written_as_utf8_csv(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    source = tmp_path / "raw"
    source.mkdir()
    workbook = openpyxl.Workbook()
    workbook.active.append(["person_id", "municipality", "contract_type", "start_date", "end_date", "end_reason"])
    workbook.active.append(["Kari", "Målselv", "næring", pd.Timestamp("2019-08-01").to_pydatetime(), None, None])
    workbook.save(source / "episodes.xlsx")
    pseudo.pseudonymise_dataset(source, tmp_path / "out", KEY.encode())
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["episodes.csv"]
    text = (tmp_path / "out" / "episodes.csv").read_text(encoding="utf-8")
    assert text == ("person_id,municipality,contract_type,start_date,end_date,end_reason\n"
                    f"{pseudo.pseudonym('Kari', KEY.encode())},Målselv,næring,2019-08-01,,\n")


def test_refuses_to_write_into_the_input_or_a_non_empty_folder(tmp_path):
    source = tmp_path / "raw"
    source.mkdir()
    (source / "episodes.csv").write_bytes((GOOD_SMALL / "episodes.csv").read_bytes())
    before = file_hashes(source)
    with pytest.raises(AlisError, match="input folder"):
        pseudo.pseudonymise_dataset(source, source, KEY.encode())
    with pytest.raises(AlisError, match="input folder"):
        pseudo.pseudonymise_dataset(source, source / "pseudo", KEY.encode())
    with pytest.raises(AlisError, match="contains the input folder"):
        pseudo.pseudonymise_dataset(source, tmp_path, KEY.encode())
    occupied = tmp_path / "occupied"
    occupied.mkdir()
    (occupied / "keep.txt").write_text("mine")
    with pytest.raises(AlisError, match="already exists and is not empty"):
        pseudo.pseudonymise_dataset(source, occupied, KEY.encode())
    assert (occupied / "keep.txt").read_text() == "mine" and len(list(occupied.iterdir())) == 1
    empty = tmp_path / "empty"
    empty.mkdir()
    pseudo.pseudonymise_dataset(source, empty, KEY.encode())  # an existing empty folder is fine
    assert (empty / "episodes.csv").is_file()
    assert file_hashes(source) == before


def test_interrupted_write_leaves_no_output(tmp_path, monkeypatch):
    calls = []

    def failing_write(path, text, encoding="utf-8"):
        calls.append(path)
        if len(calls) == 2:
            raise KeyboardInterrupt
        Path(path).write_text(text, encoding=encoding)

    monkeypatch.setattr(pseudo.io, "atomic_write_text", failing_write)
    with pytest.raises(KeyboardInterrupt):
        pseudo.pseudonymise_dataset(GOOD_SMALL, tmp_path / "out", KEY.encode())
    assert list(tmp_path.iterdir()) == []  # neither the output nor a temporary folder


def test_short_or_empty_keys_are_refused(tmp_path):
    for key in (b"", b"short"):
        with pytest.raises(AlisError, match="at least 16 bytes"):
            pseudo.pseudonymise_dataset(GOOD_SMALL, tmp_path / "out", key)
    assert not (tmp_path / "out").exists()


def test_cli_reads_the_key_from_the_environment_and_never_prints_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ALIS_TEST_KEY", KEY)
    out = tmp_path / "out"
    assert main(["pseudonymise", str(GOOD_SMALL), str(out), "--key-env", "ALIS_TEST_KEY"]) == 0
    captured = capsys.readouterr()
    assert "6 row(s), 5 person(s)" in captured.out
    assert KEY not in captured.out + captured.err + all_output_text(out)


@pytest.mark.parametrize("value", [None, ""])
def test_cli_unset_key_is_a_clean_error(tmp_path, monkeypatch, capsys, value):
    if value is None:
        monkeypatch.delenv("ALIS_TEST_KEY", raising=False)
    else:
        monkeypatch.setenv("ALIS_TEST_KEY", value)
    assert main(["pseudonymise", str(GOOD_SMALL), str(tmp_path / "out"), "--key-env", "ALIS_TEST_KEY"]) == 1
    captured = capsys.readouterr()
    assert "environment variable ALIS_TEST_KEY is not set or empty" in captured.err
    assert "Traceback" not in captured.err
    assert not (tmp_path / "out").exists()


def test_supervision_table_is_pseudonymised_with_the_same_key(tmp_path):
    """supervision.csv is keyed by person_id: left behind (or copied raw) it would no longer match."""
    from alis_research.analysis import pathway
    from alis_research.data.cohort import prepare
    from alis_research.data.validate import load_validated

    source = TESTS / "fixtures" / "supervision"
    out = tmp_path / "pseudo"
    summary = pseudo.pseudonymise_dataset(source, out, KEY.encode())
    assert sorted(p.name for p in out.iterdir()) == ["dataset.json", "episodes.csv", "events.csv", "supervision.csv"]
    original = pd.read_csv(source / "supervision.csv", dtype=str, keep_default_na=False)
    result = pd.read_csv(out / "supervision.csv", dtype=str, keep_default_na=False)
    expected = ["P" + hmac.new(KEY.encode(), pid.encode(), "sha256").hexdigest()[:16] for pid in original["person_id"]]
    assert result["person_id"].tolist() == expected
    assert summary["supervision.csv"]["rows"] == len(original) == 33
    # the pseudonymised folder still links: every supervision row finds its episode
    validated = load_validated(out, as_of="2024-12-31")
    problems, table = pathway.validate_supervision(out, prepare(validated, "2024-12-31"))
    assert problems == [] and len(table) == 33
    assert "P1," not in (out / "supervision.csv").read_text(encoding="utf-8")


def test_an_identity_number_in_supervision_is_refused_and_masked(tmp_path):
    import shutil

    from alis_research.data.validate import validate_dataset

    folder = tmp_path / "data"
    shutil.copytree(TESTS / "fixtures" / "supervision", folder)
    with (folder / "supervision.csv").open("a", encoding="utf-8") as handle:
        handle.write(f"{FODSELSNUMMER},2020-01,3\n")
    problems, data = validate_dataset(folder, as_of="2024-12-31")  # supervision.csv is part of the contract
    assert data is None
    assert len(problems) == 1
    problem = problems[0]
    assert (problem.file, problem.row, problem.column, problem.value) == ("supervision.csv", 35, "person_id", "***********")
    assert "national identity number" in problem.message and "pseudonymise" in problem.message
    assert FODSELSNUMMER not in str(problem)
