"""Reading raw tables as municipalities send them, and atomic writing."""
from __future__ import annotations

import datetime as dt
import hashlib
import os

import pytest

from alis_research.data import io
from alis_research.errors import AlisError


def write(path, text, encoding="utf-8"):
    path.write_bytes(text.encode(encoding))
    return path


# --------------------------------------------------------------------------- read_table: CSV
def test_comma_csv_keeps_codes_as_text_and_empty_cells_as_empty_strings(tmp_path):
    path = write(tmp_path / "t.csv", "person_id,municipality,end_date\nA01,0301,\nA02,1804,2020-01-31\n")
    frame = io.read_table(path)
    assert list(frame.columns) == ["person_id", "municipality", "end_date"]
    assert frame["municipality"].tolist() == ["0301", "1804"]  # leading zero kept
    assert frame["end_date"].tolist() == ["", "2020-01-31"]
    assert frame.index.tolist() == [2, 3]  # spreadsheet rows: header is row 1


def test_semicolon_windows_1252_is_decoded(tmp_path):
    path = write(tmp_path / "t.csv", "Person_ID;Kommune\r\nB01;Sør-Varanger\r\nB02;Målselv\r\n", encoding="cp1252")
    frame = io.read_table(path)
    assert list(frame.columns) == ["person_id", "kommune"]
    assert frame["kommune"].tolist() == ["Sør-Varanger", "Målselv"]


def test_utf8_bom_is_removed_from_the_first_header(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes(b"\xef\xbb\xbf" + "person_id,contract_type\nA01,næring\n".encode("utf-8"))
    frame = io.read_table(path)
    assert list(frame.columns) == ["person_id", "contract_type"]
    assert frame.at[2, "contract_type"] == "næring"


def test_utf16_with_bom_and_tabs(tmp_path):
    path = write(tmp_path / "t.csv", "person_id\tsex\nA01\tK\n", encoding="utf-16")
    assert io.read_table(path).to_dict("list") == {"person_id": ["A01"], "sex": ["K"]}


def test_header_names_are_stripped_and_lower_cased(tmp_path):
    path = write(tmp_path / "t.csv", "  Person_ID , START_DATE\nA01,2020-01-01\n")
    assert list(io.read_table(path).columns) == ["person_id", "start_date"]


def test_blank_lines_are_dropped_but_still_counted_as_rows(tmp_path):
    # rows: 1 header, 2 A01, 3 blank, 4 all-empty cells, 5 A02
    path = write(tmp_path / "t.csv", "person_id,sex\nA01,K\n\n,\nA02,M\n")
    frame = io.read_table(path)
    assert frame.index.tolist() == [2, 5]
    assert frame["person_id"].tolist() == ["A01", "A02"]


def test_quoted_cells_may_hold_separators_and_line_breaks(tmp_path):
    path = write(tmp_path / "t.csv", 'person_id,note\nA01,"line one\nline two, still the note"\nA02,x\n')
    frame = io.read_table(path)
    assert frame.at[2, "note"] == "line one\nline two, still the note"
    assert frame.index.tolist() == [2, 3]  # a multi-line cell is one spreadsheet row


def test_short_rows_are_padded_and_trailing_empty_fields_ignored(tmp_path):
    path = write(tmp_path / "t.csv", "a,b,c\n1,2\n4,5,6,,\n")
    frame = io.read_table(path)
    assert frame.to_dict("list") == {"a": ["1", "4"], "b": ["2", "5"], "c": ["", "6"]}


def test_a_row_with_too_many_fields_names_its_row(tmp_path):
    path = write(tmp_path / "episodes.csv", "a,b\n1,2\n3,4,5\n")
    with pytest.raises(io.TableFormatError) as info:
        io.read_table(path)
    assert (info.value.file, info.value.row, info.value.column) == ("episodes.csv", 3, None)
    assert "3 fields but the header has 2" in str(info.value)


def test_duplicate_header_is_refused(tmp_path):
    path = write(tmp_path / "t.csv", "a,b,A\n1,2,3\n")
    with pytest.raises(io.TableFormatError, match="column 'a' appears twice"):
        io.read_table(path)


@pytest.mark.parametrize("text", ["", "\n\n", ",,\n1,2,3\n"])
def test_empty_header_row_is_refused(tmp_path, text):
    with pytest.raises(AlisError, match="t.csv"):
        io.read_table(write(tmp_path / "t.csv", text))


def test_missing_and_unsupported_files(tmp_path):
    with pytest.raises(AlisError, match="file not found"):
        io.read_table(tmp_path / "nope.csv")
    with pytest.raises(AlisError, match="unsupported file type '.txt'"):
        io.read_table(write(tmp_path / "t.txt", "a\n1\n"))


# --------------------------------------------------------------------------- read_table: XLSX
def test_xlsx_cells_come_back_as_the_text_a_user_typed(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["Person_ID", "municipality", "start_date", "end_date", "birth_year", "list_size", "flag"])
    sheet.append(["A01", "0301", dt.datetime(2019, 8, 1), None, 1988, 600.0, True])
    sheet.append([None, None, None, None, None, None, None])  # an empty row 3
    sheet.append(["A02", 1804, dt.date(2020, 1, 15), "31.12.2022", 1990.5, 0, False])
    path = tmp_path / "episodes.xlsx"
    workbook.save(path)
    frame = io.read_table(path)
    assert list(frame.columns) == ["person_id", "municipality", "start_date", "end_date", "birth_year",
                                   "list_size", "flag"]
    assert frame.index.tolist() == [2, 4]
    assert frame.loc[2].tolist() == ["A01", "0301", "2019-08-01", "", "1988", "600", "TRUE"]
    assert frame.loc[4].tolist() == ["A02", "1804", "2020-01-15", "31.12.2022", "1990.5", "0", "FALSE"]


def test_corrupt_xlsx_is_a_user_error(tmp_path):
    path = tmp_path / "episodes.xlsx"
    path.write_bytes(b"not a zip file")
    with pytest.raises(AlisError, match="episodes.xlsx: not a readable XLSX workbook"):
        io.read_table(path)


# --------------------------------------------------------------------------- find_table
def test_find_table(tmp_path):
    assert io.find_table(tmp_path, "episodes") is None
    (tmp_path / "Episodes.CSV").write_text("a\n")
    assert io.find_table(tmp_path, "episodes").name == "Episodes.CSV"
    (tmp_path / "episodes.xlsx").write_bytes(b"")
    with pytest.raises(AlisError, match="keep only one episodes table"):
        io.find_table(tmp_path, "episodes")
    (tmp_path / "events.xls").write_bytes(b"")
    with pytest.raises(AlisError, match=r"save it as \.xlsx or \.csv"):
        io.find_table(tmp_path, "events")
    with pytest.raises(AlisError, match="dataset folder not found"):
        io.find_table(tmp_path / "missing", "episodes")


# --------------------------------------------------------------------------- metadata and hashes
def test_read_dataset_metadata(tmp_path):
    assert io.read_dataset_metadata(tmp_path) == {}
    (tmp_path / "dataset.json").write_text('{"synthetic": true, "seed": 2019}')
    assert io.read_dataset_metadata(tmp_path) == {"synthetic": True, "seed": 2019}
    (tmp_path / "dataset.json").write_text("[1, 2]")
    with pytest.raises(AlisError, match="expected a JSON object"):
        io.read_dataset_metadata(tmp_path)
    (tmp_path / "dataset.json").write_text("{oops")
    with pytest.raises(AlisError, match="dataset.json: not valid JSON"):
        io.read_dataset_metadata(tmp_path)


def test_sha256_file_matches_the_published_test_vector(tmp_path):
    path = tmp_path / "abc.txt"
    path.write_bytes(b"abc")
    # FIPS 180-2, appendix B.1: SHA-256("abc")
    assert io.sha256_file(path) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    big = tmp_path / "big.bin"
    big.write_bytes(b"x" * (3 << 20))  # more than one read block
    assert io.sha256_file(big) == hashlib.sha256(b"x" * (3 << 20)).hexdigest()


# --------------------------------------------------------------------------- atomic writing
def test_atomic_write_text_replaces_and_leaves_no_temporary_files(tmp_path):
    target = tmp_path / "sub" / "out.txt"
    io.atomic_write_text(target, "first")
    io.atomic_write_text(target, "second ø")
    assert target.read_text(encoding="utf-8") == "second ø"
    assert [p.name for p in target.parent.iterdir()] == ["out.txt"]
    current_umask = os.umask(0)
    os.umask(current_umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~current_umask  # not mkstemp's private 0600


def test_atomic_write_bytes_failure_keeps_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "out.bin"
    io.atomic_write_bytes(target, b"old")

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(io.os, "replace", broken_replace)
    with pytest.raises(OSError):
        io.atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.bin"]


def test_atomic_output_dir_swaps_in_only_on_success(tmp_path):
    final = tmp_path / "processed" / "demo"
    with io.atomic_output_dir(final) as work:
        assert work.parent == final.parent and work != final
        (work / "a.txt").write_text("v1")
        assert not final.exists()  # nothing visible until the block ends
    assert (final / "a.txt").read_text() == "v1"

    with pytest.raises(RuntimeError):
        with io.atomic_output_dir(final) as work:
            (work / "a.txt").write_text("half-written v2")
            raise RuntimeError("interrupted")
    assert (final / "a.txt").read_text() == "v1"
    assert sorted(p.name for p in final.parent.iterdir()) == ["demo"]  # no temp folder left

    with io.atomic_output_dir(final) as work:
        (work / "b.txt").write_text("v3")
    assert sorted(p.name for p in final.iterdir()) == ["b.txt"]  # old contents replaced, not merged
    assert sorted(p.name for p in final.parent.iterdir()) == ["demo"]  # the old copy was removed


def test_atomic_replace_dir_restores_the_old_folder_if_the_move_fails(tmp_path, monkeypatch):
    final, new = tmp_path / "out", tmp_path / "new"
    final.mkdir()
    (final / "keep.txt").write_text("old")
    new.mkdir()
    real_replace = io.os.replace

    def failing_second_move(src, dst):
        if str(src) == str(new):
            raise OSError("cross-device")
        return real_replace(src, dst)

    monkeypatch.setattr(io.os, "replace", failing_second_move)
    with pytest.raises(OSError):
        io.atomic_replace_dir(new, final)
    assert (final / "keep.txt").read_text() == "old"
