"""GP-register extracts: validation, episodes and intervals, the synthetic extract and its calibration."""
from __future__ import annotations

import hashlib
import json
from argparse import Namespace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alis_research.data import register
from alis_research.cli.data import synthesize_register as cli_synthesize_register
from alis_research.cli.data import validate_register as cli_validate_register
from alis_research.data.register import validate_register
from alis_research.data.register_extract import MAX_PROBLEMS_PER_KIND
from alis_research.data.register_timeline import register_episodes, register_episodes_loop, register_intervals
from alis_research.data.register_synthetic import RegisterParameters, synthesize_register, write_register

FIXTURE = Path(__file__).parent / "fixtures" / "register_small"
HEADER = "month,list_id,doctor_id,municipality,list_size,practice_form\n"


def write_extract(folder: Path, snapshots: str, doctors: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "snapshots.csv").write_text(snapshots, encoding="utf-8")
    if doctors is not None:
        (folder / "doctors.csv").write_text(doctors, encoding="utf-8")
    return folder


def messages(problems):
    return [(p.file, p.row, p.column, p.value) for p in problems]


# --------------------------------------------------------------------------- the hand-made extract
@pytest.fixture(scope="module")
def small():
    problems, frame = validate_register(FIXTURE)
    assert problems == []
    return frame


def test_small_extract_validates_with_typed_columns(small):
    assert len(small) == 27
    assert small["source_row"].tolist()[:3] == [2, 3, 4]
    # 1902 (2019), 5401 (2020-2023) and 5501 (2024) are all Tromsø; 1507 of list L6 is Haram by its 2024 rows
    assert small.loc[small["list_id"] == "L1", "municipality_code"].unique().tolist() == ["5501"]
    assert small.loc[small["list_id"] == "L6", "municipality_code"].unique().tolist() == ["1580"]
    assert small.loc[small["municipality"] == "0301", "municipality_code"].iloc[0] == "0301"  # zero kept
    assert small["doctor_id"].isna().sum() == 1  # L4, 2021-04: no holder
    assert set(small["practice_form"].dropna()) == {"fastlønn", "næring"}  # 'n', 'f', 'Næring' canonical
    assert small.loc[small["doctor_id"] == "D04", "birth_year"].unique().tolist() == [1960]  # from doctors.csv
    assert small.attrs["synthetic"] is True


def test_small_extract_episodes_by_hand(small):
    episodes = register_episodes(small)
    got = episodes[["doctor_id", "list_id", "municipality_code", "start_month", "end_month", "exit",
                    "cohort", "contract_type_end", "n_switches", "list_size"]].values.tolist()
    # extract: 2019-11 .. 2024-02 (the last month of any row)
    assert got == [
        # a reform code change (1902 -> 5401) does not end the episode; ended before 2024-02: exit
        ["D01", "L1", "5501", "2019-11", "2020-02", 1, "næring", "næring", 0, 1100],
        # 5421 -> 5530 in 2024, still on the list in the last month: censored
        ["D02", "L2", "5530", "2023-11", "2024-02", 0, "fastlønn", "fastlønn", 0, 700],
        # 2020-02 -> 2020-06 misses 3 months (= max_gap_months): bridged; 2020-06 -> 2020-11 misses 4: new episode
        ["D03", "L3", "1804", "2020-01", "2020-06", 1, "næring", "næring", 0, 900],
        ["D03", "L3", "1804", "2020-11", "2020-12", 1, "næring", "næring", 0, 880],
        # D04 leaves L4 (a vacant month follows) and takes L5 in Bergen: two episodes
        ["D04", "L4", "0301", "2021-01", "2021-03", 1, "næring", "næring", 0, 1200],
        ["D04", "L5", "4601", "2021-05", "2021-06", 1, "næring", "næring", 0, 1000],
        # D05 is L4's next holder, fastlønn then næring from 2021-07
        ["D05", "L4", "0301", "2021-05", "2021-08", 1, "fastlønn", "næring", 1, 600],
        # split code 1507 (Ålesund 2020-2023) resolved to Haram by the list's 2024 rows; censored
        ["D06", "L6", "1580", "2023-12", "2024-02", 0, "næring", "næring", 0, 950],
        # last seen 2024-01, one month before the extract's end (≤ max_gap_months): it could go on, so censored
        ["D07", "L7", "5601", "2024-01", "2024-01", 0, "fastlønn", "fastlønn", 0, 500],
    ]
    assert episodes["episode_id"].tolist() == [f"R{n:06d}" for n in range(1, 10)]
    first = episodes.iloc[0]
    assert first["start_date"] == pd.Timestamp("2019-11-01") and first["stop_date"] == pd.Timestamp("2020-03-01")
    assert first["duration"] == pytest.approx(121 / 365.25)  # 30 + 31 + 31 + 29 days
    assert bool(first["started_before_extract"]) is True  # first month of the extract: true start unknown
    # D03 first appears in 2020-01, two months into the extract: it may bridge an older holding
    assert episodes["started_before_extract"].tolist() == [True, False, True] + [False] * 6
    # D03's first episode runs 2020-01-01 to 2020-07-01 including the bridged months: 182 days
    assert episodes.iloc[2]["duration"] == pytest.approx(182 / 365.25)
    # attributes: Tromsø population 1 Jan 2019 (SSB 07459) 76,649; Senja 2023 14,851; Haram has no 2020-2023
    # figure (part of Ålesund then) so the nearest earlier year, 2019 (9,383), is used
    assert episodes["population"].tolist()[:2] == [76649, 14851]
    assert episodes.iloc[7]["population"] == 9383 and episodes.iloc[7]["size_class"] == "5000-9999"
    assert episodes["size_class"].tolist()[:2] == [">=50000", "10000-49999"]
    assert episodes["age_at_start"].tolist() == [39, 48, 30, 30, 61, 61, 36, 53, 32]
    assert episodes["area"].tolist()[:3] == ["UNN", "UNN", "Nordland"]
    assert pd.isna(episodes.iloc[4]["area"]) and episodes.iloc[4]["centrality"] == 3


@pytest.mark.parametrize("gap, expected", [(2, 3), (3, 2), (4, 1)])
def test_gap_rule_missing_months_strictly_greater_end_the_episode(small, gap, expected):
    # D03 misses 3 months, then 4 months
    episodes = register_episodes(small, max_gap_months=gap)
    assert (episodes["doctor_id"] == "D03").sum() == expected


def test_extract_end_can_be_given(small):
    episodes = register_episodes(small, extract_end="2024-06")
    assert episodes["exit"].sum() == 9  # nobody is on a list in 2024-06


def test_intervals_split_at_a_change_of_practice_form(small):
    intervals = register_intervals(small)
    d05 = intervals[intervals["doctor_id"] == "D05"]
    assert d05[["contract_type", "cohort", "exit"]].values.tolist() == [["fastlønn", "fastlønn", 0],
                                                                       ["næring", "fastlønn", 1]]
    # 2021-05-01 -> 2021-07-01 = 61 days, -> 2021-09-01 = 123 days
    assert d05["start"].tolist() == pytest.approx([0.0, 61 / 365.25])
    assert d05["stop"].tolist() == pytest.approx([61 / 365.25, 123 / 365.25])
    assert len(intervals) == 10
    # person-time is conserved: intervals sum to the episode durations
    episodes = register_episodes(small)
    total = (intervals["stop"] - intervals["start"]).groupby(intervals["episode_id"]).sum()
    assert total.to_numpy() == pytest.approx(episodes.set_index("episode_id").loc[total.index, "duration"].to_numpy())
    assert intervals.groupby("episode_id")["exit"].sum().tolist() == episodes["exit"].tolist()


def test_loop_version_gives_the_same_episodes(small):
    for gap in (0, 3, 5):
        pd.testing.assert_frame_equal(register_episodes(small, max_gap_months=gap),
                                      register_episodes_loop(small, max_gap_months=gap))


_rows = st.lists(
    st.tuples(st.integers(0, 3), st.integers(0, 3), st.integers(0, 4), st.integers(0, 30), st.booleans(),
              st.booleans()),
    min_size=1, max_size=60,
)


@pytest.mark.slow
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=_rows, gap=st.integers(0, 4))
def test_vectorised_and_loop_versions_agree_on_random_snapshots(rows, gap):
    codes = ["5501", "1804", "0301"]
    frame = pd.DataFrame({
        "month": [pd.Timestamp(2019, 1, 1) + pd.DateOffset(months=m) for _, _, _, m, _, _ in rows],
        "list_id": pd.Categorical([f"L{l}" for _, l, _, _, _, _ in rows]),
        "doctor_id": pd.Categorical([None if d == 0 else f"D{d}" for d, _, _, _, _, _ in rows]),
        "municipality_code": pd.Categorical([codes[c % 3] for _, _, c, _, _, _ in rows]),
        "list_size": np.arange(len(rows), dtype=np.int64) * 10,
        "practice_form": pd.Categorical([None if d == 0 else ("fastlønn" if f else "næring")
                                         for d, _, _, _, f, _ in rows]),
        "sex": pd.Categorical(["K" if s else "M" for *_, s in rows], categories=["K", "M"]),
        "birth_year": pd.array([1980] * len(rows), dtype="Int64"),
    })
    # one holder per (list, month) as validation guarantees; the first row wins
    frame = frame.drop_duplicates(["list_id", "month"]).drop_duplicates(["doctor_id", "list_id", "month",
                                                                         "municipality_code"])
    frame = frame[~frame.duplicated(["doctor_id", "list_id", "month"]) | frame["doctor_id"].isna()]
    frame = frame.reset_index(drop=True)
    vectorised = register_episodes(frame, max_gap_months=gap)
    pd.testing.assert_frame_equal(vectorised, register_episodes_loop(frame, max_gap_months=gap))
    if len(vectorised):
        intervals = register_intervals(frame, max_gap_months=gap, episodes=vectorised)
        lengths = (intervals["stop"] - intervals["start"]).groupby(intervals["episode_id"]).sum()
        assert lengths.to_numpy() == pytest.approx(vectorised.set_index("episode_id").loc[lengths.index,
                                                                                            "duration"].to_numpy())
        assert (intervals["stop"] > intervals["start"]).all()


# --------------------------------------------------------------------------- validation errors
def test_every_kind_of_problem_with_file_row_column(tmp_path):
    folder = write_extract(tmp_path / "bad", HEADER + "\n".join([
        "2020-01,L1,D1,5401,900,næring",          # row 2: fine
        "2020-13,L1,D1,5401,900,næring",          # row 3: bad month
        "2020-02,L1,D2,5401,900,næring",          # row 4: fine
        "2020-02,L1,D3,5401,900,næring",          # row 5: second holder of L1 in 2020-02
        "2020-03,L2,D4,9999,900,næring",          # row 6: unknown code
        "2020-03,L3,D5,1601,900,næring",          # row 7: pre-2018 Trondheim code
        "2020-03,L4,D6,5401,-5,næring",           # row 8: negative list size
        "2020-03,L5,D7,5401,900,kommunal lege",   # row 9: unknown practice form
        "2020-03,L6,01017000027,5401,900,f",      # row 10: identity number (valid check digits)
        "2020-03,L7,D8,301,900,f",                # row 11: code lost its leading zero
        "2020-03,L8,D9,5401,many,f",              # row 12: not a number
        "2020-03,L9,D10,5401,800,",               # row 13: doctor without practice form
        "2020-03,L10,D11,1507,800,n",             # row 14: split code, list has no other row
    ]) + "\n")
    problems, frame = validate_register(folder)
    assert frame is None
    got = messages(problems)
    assert got == [
        ("snapshots.csv", 3, "month", "2020-13"),
        ("snapshots.csv", 5, "doctor_id", "D3"),
        ("snapshots.csv", 6, "municipality", "9999"),
        ("snapshots.csv", 7, "municipality", "1601"),
        ("snapshots.csv", 8, "list_size", "-5"),
        ("snapshots.csv", 9, "practice_form", "kommunal lege"),
        ("snapshots.csv", 10, "doctor_id", "***********"),
        ("snapshots.csv", 11, "municipality", "301"),
        ("snapshots.csv", 12, "list_size", "many"),
        ("snapshots.csv", 13, "practice_form", ""),
        ("snapshots.csv", 14, "municipality", "1507"),
    ]
    text = {p.row: p.message for p in problems}
    assert "expected YYYY-MM" in text[3]
    assert "already has holder 'D2' in 2020-02 (row 4)" in text[5]
    assert "older code" in text[7] and "2018" in text[7]
    assert text[8].startswith("negative list size")
    assert "expected fastlønn or næring" in text[9]
    assert "identity number" in text[10] and "01017000027" not in str(problems)
    assert "did you mean 0301" in text[11]
    assert "1508 Ålesund or 1580 Haram" in text[14] and "list L10" in text[14]


def test_missing_and_misspelt_columns(tmp_path):
    folder = write_extract(tmp_path / "cols", "måned,list_id,lege_id,kommune,list_size\n2020-01,L1,D1,5401,900\n")
    problems, _ = validate_register(folder)
    assert [(p.column, p.message) for p in problems] == [
        ("måned", "unknown column 'måned': did you mean 'month'? (a required column; rename the header)"),
        ("lege_id", "unknown column 'lege_id': did you mean 'doctor_id'? (a required column; rename the header)"),
        ("kommune", "unknown column 'kommune': did you mean 'municipality'? (a required column; rename the header)"),
        ("practice_form", "missing required column 'practice_form' (required columns: month, list_id, doctor_id, "
                          "municipality, list_size, practice_form)"),
    ]
    assert all(p.file == "snapshots.csv" and p.row is None for p in problems)


def test_missing_file_and_bad_dataset_json(tmp_path):
    folder = tmp_path / "empty"
    folder.mkdir()
    (folder / "dataset.json").write_text('{"synthetic": "kanskje"}')
    problems, _ = validate_register(folder)
    assert messages(problems) == [("snapshots.csv", None, None, None), ("dataset.json", None, "synthetic", "kanskje")]
    with pytest.raises(register.AlisError, match="not found"):
        validate_register(tmp_path / "nowhere")


def test_doctor_attributes_must_agree(tmp_path):
    folder = write_extract(
        tmp_path / "attrs",
        HEADER.strip() + ",sex\n2020-01,L1,D1,5401,900,n,K\n2020-02,L1,D1,5401,900,n,M\n2020-01,L2,D2,0301,900,n,X\n",
        "doctor_id,sex,birth_year\nD1,K,1970\nD1,K,1971\nD2,M,1850\n",
    )
    problems, _ = validate_register(folder)
    assert messages(problems) == [
        ("snapshots.csv", 3, "sex", "M"),  # differs from doctors.csv
        ("snapshots.csv", 3, "sex", "M"),  # differs from the doctor's earlier row
        ("snapshots.csv", 4, "sex", "X"),
        ("doctors.csv", 3, "doctor_id", "D1"),
        ("doctors.csv", 4, "birth_year", "1850"),
    ]
    assert problems[1].message == "doctor D1 has sex K at row 2: a doctor's sex cannot change"


def test_thousands_of_problems_are_capped_with_a_count(tmp_path):
    lines = [f"2020-{(i % 12) + 1:02d},L{i},D{i},5401,-1,n" for i in range(3000)]
    folder = write_extract(tmp_path / "many", HEADER + "\n".join(lines) + "\n")
    problems, _ = validate_register(folder)
    assert len(problems) == MAX_PROBLEMS_PER_KIND + 1
    assert [p.row for p in problems[:3]] == [2, 3, 4]
    summary = problems[-1]
    assert summary.row is None and summary.column == "list_size"
    assert summary.message.startswith(f"… and {3000 - MAX_PROBLEMS_PER_KIND:,} more row(s) with the same problem")


def test_semicolon_windows_1252_and_empty_lines_keep_row_numbers(tmp_path):
    text = ("month;list_id;doctor_id;municipality;list_size;practice_form\r\n2020-01;L1;D1;5401;900;næring\r\n"
            "\r\n2020-02;L1;D1;5401;9x0;Næring\r\n")
    folder = tmp_path / "cp1252"
    folder.mkdir()
    (folder / "snapshots.csv").write_bytes(text.encode("cp1252"))
    problems, _ = validate_register(folder)
    # 'næring'/'Næring' in Windows-1252 read correctly; the empty line 3 still counts
    assert messages(problems) == [("snapshots.csv", 4, "list_size", "9x0")]


def test_cli_validate_register(capsys, tmp_path):
    assert cli_validate_register(Namespace(dataset=str(FIXTURE), json=False)) == 0
    assert "no problems found; 27 monthly row(s), 7 list(s), 7 doctor(s), 2019-11 to 2024-02" in capsys.readouterr().out
    bad = write_extract(tmp_path / "bad", HEADER + "2020-01,L1,D1,5401,-3,n\n")
    assert cli_validate_register(Namespace(dataset=str(bad), json=True)) == 1
    assert json.loads(capsys.readouterr().out) == [{
        "file": "snapshots.csv", "row": 2, "column": "list_size", "value": "-3",
        "message": "negative list size (expected the number of patients on the list, 0 or more)"}]


# --------------------------------------------------------------------------- the synthetic extract
@pytest.fixture(scope="module")
def national(tmp_path_factory):
    """The default synthetic national extract (5,000 lists, 25 years), validated, with its episodes."""
    folder = tmp_path_factory.mktemp("register") / "national"
    snapshots, doctors = synthesize_register(2015)
    write_register(folder, snapshots, doctors, {"synthetic": True})
    problems, frame = validate_register(folder)
    assert problems == []
    return snapshots, frame, register_episodes(frame)


@pytest.mark.slow
def test_synthesizer_is_deterministic_and_marked_synthetic(tmp_path):

    digests = []
    for name in ("a", "b"):
        assert cli_synthesize_register(Namespace(seed=7, out=str(tmp_path / name), lists=400, years=6)) == 0
        digests.append({f: hashlib.sha256((tmp_path / name / f).read_bytes()).hexdigest()
                        for f in ("snapshots.csv", "doctors.csv", "dataset.json")})
    assert digests[0] == digests[1]
    other, _ = synthesize_register(8, lists=400, years=6)
    assert hashlib.sha256(other.to_csv().encode()).hexdigest() != digests[0]["snapshots.csv"]
    metadata = json.loads((tmp_path / "a" / "dataset.json").read_text())
    assert metadata["synthetic"] is True and metadata["seed"] == 7
    problems, frame = validate_register(tmp_path / "a")
    assert problems == [] and frame.attrs["synthetic"] is True
    assert len(frame) == 400 * 72


def test_synthetic_extract_shape_and_code_vintages(national):
    snapshots, frame, _ = national
    assert len(snapshots) == 5000 * 300
    assert snapshots["month"].iloc[0] == "2000-01" and snapshots["month"].iloc[-1] == "2024-12"
    tromso = frame[frame["municipality_code"] == "5501"]
    by_year = tromso.groupby(tromso["month"].dt.year)["municipality"].agg(lambda s: set(s.astype(str)))
    assert by_year[2019] == {"1902"} and by_year[2020] == {"5401"} and by_year[2024] == {"5501"}
    # Haram: Ålesund's split code 1507 in 2020-2023, resolved through the lists' 2024 rows
    haram = frame[frame["municipality_code"] == "1580"]
    assert set(haram.loc[haram["month"].dt.year == 2022, "municipality"].astype(str)) == {"1507"}
    # lists in proportion to population: Oslo holds ~13 % of Norway and about that share of lists
    lists = frame.drop_duplicates("list_id")["municipality_code"].astype(str)
    assert 0.10 < (lists == "0301").mean() < 0.16
    assert lists.nunique() == 357


def test_synthetic_practice_form_and_vacancy_trends(national):
    _, frame, _ = national
    held = frame["doctor_id"].notna()
    year = frame["month"].dt.year
    share = {y: (frame.loc[held & (year == y), "practice_form"] == "fastlønn").mean() for y in (2019, 2023)}
    # BRIEF: salaried GPs 14 % (2019) -> 20.5 % (2023); accept +-3 percentage points
    assert 0.11 < share[2019] < 0.17 and 0.175 < share[2023] < 0.235
    vacant = {y: (~held[year == y]).mean() for y in (2019, 2023)}
    assert vacant[2023] > vacant[2019] > 0.01


def test_calibration_against_abelsen_2015(national):
    """Kaplan–Meier medians of contracts signed 1 May 2001 - 1 May 2014 (the study's window).

    Tolerance ±10 %: with ~600 contracts in municipalities under 2,000 inhabitants the KM
    median's standard error is about 0.12 years (4-5 %), so ±10 % is about two standard errors.
    """
    from lifelines import KaplanMeierFitter

    _, _, episodes = national
    window = episodes[(episodes["start_date"] >= "2001-05-01") & (episodes["start_date"] < "2014-05-01")]

    def median(frame):
        return KaplanMeierFitter().fit(frame["duration"], frame["exit"]).median_survival_time_

    small_median = median(window[window["size_class"] == "<2000"])
    large_median = median(window[window["size_class"] == ">=50000"])
    national_median = median(window)
    assert small_median == pytest.approx(2.75, rel=0.10)
    assert national_median == pytest.approx(5.91, rel=0.10)
    assert large_median == pytest.approx(8.37, rel=0.10)
    assert small_median < national_median < large_median


def test_parameters_are_documented():
    params = RegisterParameters()
    assert len(params.median_years) == 5 and params.median_years[0] < params.median_years[-1]


def test_synthesize_register_refuses_a_negative_seed(tmp_path, capsys):
    from alis_research.cli import main

    assert main(["synthesize-register", "--seed", "-1", "--out", str(tmp_path / "x"), "--lists", "400",
                 "--years", "2"]) == 1
    err = capsys.readouterr().err
    assert "--seed must be a non-negative integer, got -1" in err and "Traceback" not in err
    assert not (tmp_path / "x").exists()
