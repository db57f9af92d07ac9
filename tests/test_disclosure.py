"""Small-cell helpers outside the ledger: counts formatted for figures, leak checks.

The per-table rule (``suppress_counts``) and its tests are gone: every table of the report
registers its counts in the ledger (tests/test_ledger.py, tests/test_attacker.py).
"""
from __future__ import annotations

from alis_research.disclosure import check_no_leaks, format_at_risk, format_count


def test_format_count_and_at_risk():
    assert [format_at_risk(n) for n in (0, 1, 4, 5, 31)] == ["0", "<5", "<5", "5", "31"]
    assert format_count(12345) == "12\u00a0345"
    assert format_count(3, min_cell=3) == "3"


def test_check_no_leaks_finds_ids_dates_and_small_counts():
    text = "Rapport per 2024-12-31. Person QX7701 sluttet 15.03.2022; n = 3 i gruppen; QX77010 er ikke en id."
    problems = check_no_leaks(text, ["QX7701", "QX7702"], 5, allowed_dates=["2024-12-31"])
    assert problems == [
        "identifier 'QX7701' appears in the text",
        "individual date '15.03.2022' appears in the text",
        "small count 'n = 3' appears in the text",
    ]
    assert check_no_leaks("n = 12, per 2024-12-31", ["QX7701"], 5, allowed_dates=["2024-12-31"]) == []
