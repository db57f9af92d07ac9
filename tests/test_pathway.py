"""Tests of alis_research.analysis.pathway on the hand-made fixture tests/fixtures/supervision (see its README)."""
from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alis_research.analysis import pathway
from alis_research.data.cohort import prepare
from alis_research.errors import DataValidationError, NotEstimableWarning
from alis_research.data.validate import load_validated

FIXTURE = Path(__file__).parent / "fixtures" / "supervision"
AS_OF = "2024-12-31"


@pytest.fixture(scope="module")
def data():
    validated = load_validated(FIXTURE, as_of=AS_OF)
    return validated, prepare(validated, AS_OF)


def _estimate(result, cohort, cause, time):
    est = result.estimates
    return est[(est["cohort"] == cohort) & (est["cause"] == cause) & (est["time"] == time)].iloc[0]


def test_aalen_johansen_by_hand(data):
    validated, prepared = data
    result = pathway.time_to_specialist(prepared, validated)
    # fastlønn: P2 leaves at 1.50 (3 at risk: S = 2/3, F_exit = 1/3), P1 approved at 4.0
    # (2 at risk: F_approved = 2/3 x 1/2 = 1/3), P3 censored at 5.33.
    assert _estimate(result, "fastlønn", "approved", 3)["cumulative_incidence"] == 0
    assert _estimate(result, "fastlønn", "approved", 4)["cumulative_incidence"] == pytest.approx(1 / 3)
    assert _estimate(result, "fastlønn", "exit_before_approval", 2)["cumulative_incidence"] == pytest.approx(1 / 3)
    assert _estimate(result, "fastlønn", "approved", 5)["cumulative_incidence"] == pytest.approx(1 / 3)
    # næring: P6 approved after 730 days = 1.9986 years (1/3), P5 leaves at 3.12 (1/3), P4 approved at 4.50
    # (1/3): nobody censored, so the curve is complete and the 5-year share is 2/3
    assert _estimate(result, "næring", "approved", 1)["cumulative_incidence"] == 0
    assert _estimate(result, "næring", "approved", 2)["cumulative_incidence"] == pytest.approx(1 / 3)
    assert _estimate(result, "næring", "exit_before_approval", 3)["cumulative_incidence"] == 0
    assert _estimate(result, "næring", "exit_before_approval", 4)["cumulative_incidence"] == pytest.approx(1 / 3)
    assert _estimate(result, "næring", "approved", 5)["cumulative_incidence"] == pytest.approx(2 / 3)
    assert _estimate(result, "næring", "exit_before_approval", 5)["cumulative_incidence"] == pytest.approx(1 / 3)
    # first step, 1 of 3: the infinitesimal-jackknife SE is the binomial sqrt((1/3)(2/3)/3) = 0.2722 (R survfit)
    assert _estimate(result, "fastlønn", "exit_before_approval", 2)["std_err"] == pytest.approx(np.sqrt(2) / 3 / np.sqrt(3), rel=1e-6)
    counts = result.counts.set_index("cohort")
    assert counts.loc["fastlønn"].to_dict() == {"episodes": 3, "approved": 1, "approved_within_5_years": 1,
                                                "exit_before_approval": 1, "censored": 1}
    assert counts.loc["næring", "approved"] == 2
    # deterministic: the same answer twice
    again = pathway.time_to_specialist(prepared, validated)
    pd.testing.assert_frame_equal(result.estimates, again.estimates)


def test_ties_of_both_causes_enter_in_one_step():
    episodes = pd.DataFrame({"episode_id": ["E1", "E2", "E3", "E4"], "person_id": ["a", "b", "c", "d"],
                             "cohort": ["fastlønn"] * 4, "start_date": pd.to_datetime(["2020-01-01"] * 4),
                             "stop_date": pd.to_datetime(["2022-01-01", "2022-01-01", "2024-12-31", "2024-12-31"]),
                             "duration": [731 / 365.25, 731 / 365.25, 5.0, 5.0], "exit": [0, 1, 0, 0]})
    events = pd.DataFrame({"person_id": ["a"], "date": pd.to_datetime(["2022-01-01"]), "event": ["specialist_approved"]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotEstimableWarning)
        result = pathway.time_to_specialist(episodes, events, times=(3,))
    # at 2.0014 years: 4 at risk, 1 approved and 1 exit tied -> 1/4 each, whatever the order
    assert _estimate(result, "fastlønn", "approved", 3)["cumulative_incidence"] == pytest.approx(0.25)
    assert _estimate(result, "fastlønn", "exit_before_approval", 3)["cumulative_incidence"] == pytest.approx(0.25)


def test_not_estimable_paths_for_approval(data):
    validated, prepared = data
    only_fastlonn = prepared.episodes[prepared.episodes["cohort"] == "fastlønn"]
    with pytest.warns(NotEstimableWarning, match=r"self-employed \(næring\): no episodes"):
        result = pathway.time_to_specialist(only_fastlonn, validated)
    assert np.isnan(_estimate(result, "næring", "approved", 1)["cumulative_incidence"])
    no_events = validated.events.iloc[0:0]
    with pytest.warns(NotEstimableWarning, match="no specialist approvals"):
        pathway.time_to_specialist(prepared, no_events)


def test_hospital_year_by_hand(data):
    validated, prepared = data
    result = pathway.hospital_year_summary(prepared, validated)
    per = result.episodes.set_index("episode_id")
    # P1 (E001): starts 2021-09-01, 731 days after 2019-09-01; still in post at as-of -> returned
    assert per.loc["E001", "start_years"] == pytest.approx(731 / 365.25)
    assert per.loc["E001", "outcome"] == "returned"
    # P4 (E004) started the hospital year after 366 days; P5 (E005) left 2022-10-15, 1.5 months after 2022-08-31
    assert per.loc["E004", "start_years"] == pytest.approx(366 / 365.25)
    assert per.loc["E005", "outcome"] == "left_within_window"
    summary = result.summary.set_index("cohort")
    assert summary.loc["næring", "with_hospital_year"] == 2
    assert summary.loc["næring", "returned_share"] == pytest.approx(0.5)
    assert summary.loc["næring", "start_years_median"] == pytest.approx((366 + 731) / 2 / 365.25)
    assert summary.loc["fastlønn", "returned_share"] == 1.0
    # a return window of 1 month makes P5 (left 1.5 months after) count as returned
    short = pathway.hospital_year_summary(prepared, validated, return_window_months=1)
    assert short.episodes.set_index("episode_id").loc["E005", "outcome"] == "returned"


def test_hospital_year_not_yet_known_and_ongoing(data):
    validated, prepared = data
    early = prepared.episodes.copy()
    # pretend the as-of date was 2022-10-01: P1 came back 2022-08-31 but 3 months have not passed
    early.loc[early["episode_id"] == "E001", "stop_date"] = pd.Timestamp("2022-10-01")
    events = validated.events[~((validated.events["person_id"] == "P4") & (validated.events["event"] == "hospital_year_end"))]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotEstimableWarning)
        result = pathway.hospital_year_summary(early, events)
    per = result.episodes.set_index("episode_id")
    assert per.loc["E001", "outcome"] == "not_yet_known"
    assert per.loc["E004", "outcome"] == "ongoing"
    with pytest.warns(NotEstimableWarning, match=r"salaried \(fastlønn\): no completed hospital year"):
        result = pathway.hospital_year_summary(early, events)
    assert np.isnan(result.summary.set_index("cohort").loc["fastlønn", "returned_share"])


def test_supervision_validation_clean(data):
    _, prepared = data
    problems, table = pathway.validate_supervision(FIXTURE, prepared)
    assert problems == []
    assert len(table) == 33
    assert table.loc[table["person_id"] == "P6", "hours"].iloc[0] == 1.5  # decimal comma "1,5"
    assert table["month"].min() == pd.Timestamp("2020-01-01")
    absent_problems, absent = pathway.validate_supervision(FIXTURE.parent / "good_small", prepared)
    assert absent_problems == [] and absent.empty


def test_supervision_validation_problems(data, tmp_path):
    _, prepared = data
    folder = tmp_path / "bad"
    shutil.copytree(FIXTURE, folder)
    (folder / "supervision.csv").write_text(
        "person_id,month,hours\n"
        "P1,2020-01,3\n"      # row 2: fine
        "P9,2020-01,3\n"      # row 3: unknown person
        "P1,2020-13,3\n"      # row 4: not a month
        "P1,2020-02,-1\n"     # row 5: negative
        "P1,2020-03,tre\n"    # row 6: not a number
        "P1,2020-01,2\n"      # row 7: duplicate of row 2
        "P6,2019-12,3\n"      # row 8: before P6 started (2020-03-01)
        "P2,,3\n",            # row 9: empty month
        encoding="utf-8")
    problems, table = pathway.validate_supervision(folder, prepared)
    assert table.empty
    found = {(p.row, p.column): p for p in problems}
    assert found[(3, "person_id")].message.startswith("unknown person")
    assert found[(3, "person_id")].value == "P9"
    assert "expected YYYY-MM" in found[(4, "month")].message
    assert found[(5, "hours")].value == "-1" and "between 0 and 40" in found[(5, "hours")].message
    assert "not a number" in found[(6, "hours")].message
    assert "row 2" in found[(7, "month")].message and "duplicate" in found[(7, "month")].message
    assert "outside every episode of P6" in found[(8, "month")].message
    assert "2020-03-01 to 2024-12-31" in found[(8, "month")].message
    assert "empty cell" in found[(9, "month")].message
    assert all(p.file == "supervision.csv" for p in problems)
    assert len(problems) == 7
    with pytest.raises(DataValidationError, match="7 problem"):
        pathway.load_supervision(folder, prepared)
    (folder / "supervision.csv").write_text("person_id,maned,hours\nP1,2020-01,3\n", encoding="utf-8")
    problems, _ = pathway.validate_supervision(folder, prepared)
    assert [(p.row, p.column) for p in problems] == [(1, "month")]
    assert "missing required column 'month'" in problems[0].message


def test_validate_command_checks_supervision_too(tmp_path, capsys):
    from alis_research.cli import main

    folder = tmp_path / "bad"
    shutil.copytree(FIXTURE, folder)
    assert main(["validate", str(folder), "--as-of", AS_OF]) == 0
    (folder / "supervision.csv").write_text("person_id,month,hours\nP9,2020-01,3\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["validate", str(folder), "--as-of", AS_OF]) == 1
    out = capsys.readouterr().out
    assert "supervision.csv" in out and "P9" in out and "unknown person" in out


def test_supervision_fidelity_arithmetic(data):
    validated, prepared = data
    supervision = pathway.load_supervision(FIXTURE, prepared)
    result = pathway.supervision_fidelity(prepared, supervision, validated)
    per = result.per_episode.set_index("person_id")
    # window 2020-01 .. 2020-12; promise 3 x 10.5 / 12 = 2.625 h per month in post
    # P1: 12 months, 10 x 3 h = 30 h against 31.5
    assert per.loc["P1", "months_in_post"] == 12
    assert per.loc["P1", "fidelity"] == pytest.approx(30 / 31.5)
    # P2: 6 x 2 h = 12 h against 31.5
    assert per.loc["P2", "delivered_hours"] == 12
    # P4: hospital year from 2020-09-01 -> 8 months in post, 7 x 3 = 21 h against 8 x 2.625 = 21
    assert per.loc["P4", "months_in_post"] == 8
    assert per.loc["P4", "fidelity"] == pytest.approx(1.0)
    # P6: from 2020-03 -> 10 months, 10 x 1.5 = 15 h against 26.25
    assert per.loc["P6", "promised_hours"] == pytest.approx(26.25)
    assert "P3" not in per.index and "P5" not in per.index  # no data
    cohort = result.by_cohort.set_index("group")
    assert cohort.loc["fastlønn", "fidelity"] == pytest.approx(42 / 63)
    assert cohort.loc["næring", "fidelity"] == pytest.approx(36 / 47.25)
    assert cohort.loc["næring", "hours_per_year"] == pytest.approx(36 / 18 * 12)
    assert result.params["promised_hours_per_year"] == 31.5
    # without events the hospital year is not taken out: P4 has 12 months in post
    plain = pathway.supervision_fidelity(prepared, supervision)
    assert plain.per_episode.set_index("person_id").loc["P4", "months_in_post"] == 12


def test_supervision_by_unit_checked_by_hand(data):
    """The analyst's view is not suppressed (the report's ledger protects what is published,
    tests/test_report_costs.py); one unit per person in the fixture, numbers worked out by hand."""
    validated, prepared = data
    supervision = pathway.load_supervision(FIXTURE, prepared)
    result = pathway.supervision_fidelity(prepared, supervision, validated)
    unit = result.by_unit.set_index("group")
    assert sorted(unit.index) == ["Beiarn", "Bodø", "Steigen", "Tromsø"]  # P3 (Vega), P5 (Rana): no data
    assert unit["episodes"].tolist() == [1, 1, 1, 1]
    # Beiarn = P2: 12 months, 6 x 2 = 12 h of 12 x 2.625 = 31.5 -> 12 h a year, 12 / 31.5
    assert unit.loc["Beiarn", "hours_per_year"] == pytest.approx(12.0)
    assert unit.loc["Beiarn", "fidelity"] == pytest.approx(12 / 31.5)
    # Tromsø = P6: 10 months, 15 h of 26.25 -> 18 h a year
    assert unit.loc["Tromsø", "hours_per_year"] == pytest.approx(15 / 10 * 12)
    assert unit.loc["Tromsø", "fidelity"] == pytest.approx(15 / 26.25)
    cohort = result.by_cohort.set_index("group")
    assert cohort["episodes"].to_dict() == {"fastlønn": 2, "næring": 2}
    assert cohort.loc["fastlønn", "months_in_post"] == pytest.approx(24)
    # a pooled group is summed the same way: all four episodes, 78 h of 110.25
    pooled = pathway.supervision_numbers(result.per_episode)
    assert pooled["episodes"] == 4 and pooled["fidelity"] == pytest.approx(78 / 110.25)


def test_supervision_not_estimable_without_table(data):
    _, prepared = data
    empty = pathway.validate_supervision(FIXTURE.parent / "good_small", prepared)[1]
    with pytest.warns(NotEstimableWarning, match="no supervision table"):
        result = pathway.supervision_fidelity(prepared, empty)
    assert result.by_cohort is None


def test_plot_time_to_specialist(data):
    # the report section itself is tested in tests/test_report_costs.py
    import matplotlib.pyplot as plt

    validated, prepared = data
    result = pathway.time_to_specialist(prepared, validated)
    fig, ax = plt.subplots()
    pathway.plot_time_to_specialist(result, ax=ax)
    assert len(ax.lines) == 3  # two cohort curves + the 5-year line
    assert ax.get_ylabel() == "Kumulativ andel godkjent spesialist"
    fig.canvas.draw()
    assert "0,2" in [t.get_text() for t in ax.get_yticklabels()]  # Norwegian decimal comma
    plt.close(fig)


def test_supervision_hours_in_a_month_wholly_on_the_hospital_year_are_not_counted(data):
    """P4's hospital year runs from 2020-09-01: nothing is promised for 2020-09 .. 2020-12, so hours
    recorded there must not count either (they inflated the fidelity above the promise)."""
    validated, prepared = data
    supervision = pathway.load_supervision(FIXTURE, prepared)
    extra = pd.DataFrame({"source_row": [99, 100], "person_id": ["P4", "P4"],
                          "month": pd.to_datetime(["2020-10-01", "2020-11-01"]), "hours": [3.0, 3.0]})
    with_extra = pd.concat([supervision, extra], ignore_index=True)
    result = pathway.supervision_fidelity(prepared, with_extra, validated)
    per = result.per_episode.set_index("person_id")
    assert per.loc["P4", "months_in_post"] == 8
    assert per.loc["P4", "delivered_hours"] == 21  # 7 x 3 h before the hospital year, not 27
    assert per.loc["P4", "fidelity"] == pytest.approx(1.0)
