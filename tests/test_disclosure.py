"""Small-cell suppression: primary, secondary (checked by hand), derived rates, leak checks."""
from __future__ import annotations

import pandas as pd
import pytest

from alis_research.disclosure import (
    SECONDARY_MARK,
    check_no_leaks,
    format_at_risk,
    format_count,
    mask_small_numbers,
    suppress_counts,
)
from alis_research.errors import AlisError


def _table(rows, columns=("f", "n")):
    frame = pd.DataFrame(rows, columns=list(columns))
    frame.insert(0, "label", [f"r{i}" for i in range(len(frame))])
    return frame


def test_primary_suppression_keeps_zero_and_large_counts():
    out = suppress_counts(_table([[0, 3], [7, 5]]), ["f", "n"], min_cell=5)
    assert out.table["f"].tolist() == ["0", "7"]
    assert out.table["n"].tolist() == ["<5", "5"]
    assert [(e.row, e.column, e.reason) for e in out.log] == [("0", "n", "primary")]


def test_threshold_follows_min_cell():
    out = suppress_counts(_table([[9, 10]]), ["f", "n"], min_cell=10)
    assert out.table.loc[0, ["f", "n"]].tolist() == ["<10", "10"]


def test_secondary_suppression_in_rows_hides_the_next_smallest_cell():
    # row r0 = [3, 10, 12] with a known row total 25: 3 is suppressed; without
    # more, 25 - 10 - 12 = 3 gives it away, so the next-smallest (10) goes too.
    frame = _table([[3, 10, 12], [6, 8, 9]], columns=("a", "b", "c"))
    out = suppress_counts(frame, ["a", "b", "c"], min_cell=5, totals="rows", label_column="label")
    assert out.table.loc[0, ["a", "b", "c"]].tolist() == ["<5", SECONDARY_MARK, "12"]
    assert out.table.loc[1, ["a", "b", "c"]].tolist() == ["6", "8", "9"]
    assert ("r0", "b", "secondary") in [(e.row, e.column, e.reason) for e in out.log]


def test_secondary_suppression_with_row_and_column_totals_cascades():
    # [[3, 10], [6, 8]], row and column totals known. By hand:
    #   row r0: only (r0,a)=3 hidden -> hide (r0,b)=10
    #   column a: only (r0,a) hidden -> hide (r1,a)=6
    #   column b: only (r0,b) hidden -> hide (r1,b)=8
    #   row r1: (r1,a), (r1,b) hidden, neither primary-sized alone -> done.
    out = suppress_counts(_table([[3, 10], [6, 8]]), ["f", "n"], min_cell=5, totals="both")
    assert out.table[["f", "n"]].values.tolist() == [["<5", ":"], [":", ":"]]
    assert out.n_suppressed == 4


def test_columns_only_totals_leave_rows_alone():
    out = suppress_counts(_table([[3, 10], [6, 8]]), ["f", "n"], min_cell=5, totals="columns")
    # column f: 3 hidden -> 6 hidden; column n untouched
    assert out.table[["f", "n"]].values.tolist() == [["<5", "10"], [":", "8"]]


def test_two_ones_with_a_known_total_are_not_safe():
    # [1, 1, 20] with total 22: two '<5' cells summing to 2 must both be 1.
    out = suppress_counts(_table([[1, 1, 20]], columns=("a", "b", "c")), ["a", "b", "c"], min_cell=5, totals="rows")
    assert out.table.loc[0, ["a", "b", "c"]].tolist() == ["<5", "<5", ":"]


def test_two_different_small_cells_are_safe_without_more_suppression():
    # [2, 3, 20] with total 25: the hidden pair sums to 5 -> (1,4), (2,3), (3,2), (4,1): not unique.
    out = suppress_counts(_table([[2, 3, 20]], columns=("a", "b", "c")), ["a", "b", "c"], min_cell=5, totals="rows")
    assert out.table.loc[0, ["a", "b", "c"]].tolist() == ["<5", "<5", "20"]


def test_a_line_with_nothing_left_to_hide_withholds_its_total():
    # [3, 0]: the only other cell is 0 (zeros stay shown), so the row total itself must go.
    out = suppress_counts(_table([[3, 0]]), ["f", "n"], min_cell=5, totals="rows", label_column="label")
    assert out.table.loc[0, ["f", "n"]].tolist() == ["<5", "0"]
    assert out.suppressed_totals == ["row r0"]
    assert ("row r0", "total", "total") in [(e.row, e.column, e.reason) for e in out.log]


def test_rates_from_suppressed_counts_are_withheld():
    frame = pd.DataFrame({"group": ["fastlønn", "næring"], "exits": [2, 9], "rate": [4.1, 12.3]})
    out = suppress_counts(frame, ["exits"], min_cell=5, linked={"exits": ["rate"]}, label_column="group")
    assert out.table["exits"].tolist() == ["<5", "9"]
    assert out.table["rate"].tolist() == [SECONDARY_MARK, 12.3]


def test_a_share_linked_to_two_hidden_counts_is_logged_once():
    # the hospital-year share: returned / (returned + left), both 1-4 in one row -> one withheld share
    frame = pd.DataFrame({"group": ["fastlønn", "næring"], "returned": [2, 7], "left": [3, 6],
                          "share": [0.4, 7 / 13]})
    out = suppress_counts(frame, ["returned", "left"], min_cell=5, label_column="group",
                          linked={"returned": ["share"], "left": ["share"]})
    assert out.table["share"].tolist() == [SECONDARY_MARK, 7 / 13]
    derived = [(e.row, e.column) for e in out.log if e.reason == "derived"]
    assert derived == [("fastlønn", "share")]


def test_missing_counts_and_bad_input():
    out = suppress_counts(pd.DataFrame({"n": [None, 4]}), ["n"])
    assert out.table["n"].tolist() == ["–", "<5"]
    with pytest.raises(AlisError, match="no column"):
        suppress_counts(pd.DataFrame({"n": [1]}), ["x"])
    with pytest.raises(AlisError, match="negative"):
        suppress_counts(pd.DataFrame({"n": [-1]}), ["n"])
    with pytest.raises(AlisError, match="totals"):
        suppress_counts(pd.DataFrame({"n": [1]}), ["n"], totals="diagonal")


def test_input_is_not_mutated():
    frame = _table([[3, 10]])
    before = frame.copy()
    suppress_counts(frame, ["f", "n"], totals="both")
    pd.testing.assert_frame_equal(frame, before)


def test_format_count_and_at_risk():
    assert [format_at_risk(n) for n in (0, 1, 4, 5, 31)] == ["0", "<5", "<5", "5", "31"]
    assert format_count(12345) == "12\u00a0345"
    assert format_count(3, min_cell=3) == "3"


def test_mask_small_numbers_in_prose():
    text = "fastlønn: only 3 events in 12 months; 0.5 years, 8,37 år, size class 2000-4999"
    assert mask_small_numbers(text) == "fastlønn: only <5 events in 12 months; 0.5 years, 8,37 år, size class 2000-4999"


def test_check_no_leaks_finds_ids_dates_and_small_counts():
    text = "Rapport per 2024-12-31. Person QX7701 sluttet 15.03.2022; n = 3 i gruppen; QX77010 er ikke en id."
    problems = check_no_leaks(text, ["QX7701", "QX7702"], 5, allowed_dates=["2024-12-31"])
    assert problems == [
        "identifier 'QX7701' appears in the text",
        "individual date '15.03.2022' appears in the text",
        "small count 'n = 3' appears in the text",
    ]
    assert check_no_leaks("n = 12, per 2024-12-31", ["QX7701"], 5, allowed_dates=["2024-12-31"]) == []


def test_a_shown_total_column_is_part_of_each_row():
    # rows a = [3, 10 | 13], b = [6, 8 | 14]; row totals shown, column totals (9, 18, 27) known. By hand:
    #   row a: 3 hidden -> the smallest other non-zero cell, 10, hidden (13 stays: a + b = 13 now has 2 unknowns)
    #   column f: (a,f) hidden -> (b,f)=6 hidden; column n: (a,n) hidden -> (b,n)=8 hidden
    #   row b: 6 and 8 hidden with 14 shown: 6 + 8 = 14 has many solutions within the ranges -> done
    frame = pd.DataFrame({"label": ["a", "b"], "f": [3, 6], "n": [10, 8], "total": [13, 14]})
    out = suppress_counts(frame, ["f", "n", "total"], min_cell=5, totals="columns", total_column="total",
                          label_column="label")
    assert out.table[["f", "n", "total"]].values.tolist() == [["<5", ":", "13"], [":", ":", "14"]]


def test_a_row_whose_other_cells_are_zero_hides_its_total():
    # [3, 0 | 3]: the total would give the 3 away, so the total (itself small) is hidden too; with
    # the total hidden the row holds two unknowns and needs nothing more.
    frame = pd.DataFrame({"label": ["a", "b"], "f": [3, 9], "n": [0, 7], "total": [3, 16]})
    out = suppress_counts(frame, ["f", "n", "total"], min_cell=5, total_column="total", label_column="label")
    assert out.table[["f", "n", "total"]].values.tolist() == [["<5", "0", "<5"], ["9", "7", "16"]]
