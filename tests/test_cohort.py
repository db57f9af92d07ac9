"""Tests of the follow-up definitions in alis_research.data.cohort.

Every expected number is worked out by hand in a comment beside it: days are
counted on the calendar, then divided by 365.25.
"""
from __future__ import annotations

import hashlib
import json
from datetime import date, timedelta
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alis_research.data import cohort

from alis_research import config
from alis_research.data.cohort import (
    EPISODE_COLUMNS,
    INTERVAL_COLUMNS,
    MunicipalityReference,
    PreparedDataset,
    build_episodes,
    dataset_fingerprint,
    load_prepared,
    parse_as_of,
    prepare,
    split_intervals,
    write_prepared,
)
from alis_research.errors import AlisError

AS_OF = "2024-12-31"


# --------------------------------------------------------------------------- helpers
def _size_class(population: int) -> str:
    for upper, label in zip(config.SIZE_CLASS_BREAKS[1:], config.SIZE_CLASS_LABELS):
        if population < upper:
            return label
    return config.SIZE_CLASS_LABELS[-1]


#: A two-municipality reference: Tromsø (roster unit, UNN) and Beiarn (small, Nordland);
#: 3401 Kongsvinger stands for a municipality outside the north (no area, no unit).
#: Populations as in SSB 07459 (befolkning_2024.csv), except Kongsvinger's (made up).
_POPULATION = {("5501", 2020): 76_974, ("5501", 2022): 77_544, ("1839", 2020): 1_017, ("3401", 2020): 17_900}
FAKE_REFERENCE = MunicipalityReference(
    municipalities=pd.DataFrame({
        "code_2024": ["5501", "1839", "3401"],
        "name": ["Tromsø", "Beiarn", "Kongsvinger"],
        "health_trust_area": ["UNN", "Nordland", None],
        "centrality": [3, 0, 2],
        "sami_area": [True, False, False],
    }),
    unit_for_municipality=lambda code: {"5501": ("Tromsø", "UNN"), "1839": ("Beiarn", "Nordland")}.get(code),
    population_at=lambda code, year: _POPULATION[(code, year)],
    size_class=_size_class,
)


def episodes_frame(*rows: dict) -> pd.DataFrame:
    """Validated-shaped episodes from short dicts: person, start, end, type, reason, municipality."""
    records = []
    for i, row in enumerate(rows):
        records.append({
            "source_row": i + 2,
            "person_id": row.get("person", f"P{i + 1:02d}"),
            "municipality_code": row.get("municipality", "5501"),
            "municipality_name": {"5501": "Tromsø", "1839": "Beiarn", "3401": "Kongsvinger"}[row.get("municipality", "5501")],
            "contract_type": row.get("type", "fastlønn"),
            "start_date": pd.Timestamp(row["start"]),
            "end_date": pd.Timestamp(row["end"]) if row.get("end") else pd.NaT,
            "end_reason": row.get("reason", "left_region" if row.get("end") else None),
            "programme": "ALIS-Nord",
            "sex": row.get("sex", "K"),
            "birth_year": row.get("birth_year", 1990),
            "list_size": row.get("list_size", 600),
            "scheme": "new",
        })
    frame = pd.DataFrame.from_records(records)
    frame["start_date"] = frame["start_date"].astype("datetime64[ns]")
    frame["end_date"] = frame["end_date"].astype("datetime64[ns]")
    frame["birth_year"] = frame["birth_year"].astype("Int64")
    frame["list_size"] = frame["list_size"].astype("Int64")
    return frame


def events_frame(*rows: tuple) -> pd.DataFrame:
    """Validated-shaped events from (person, date, event, new_contract_type) tuples."""
    frame = pd.DataFrame(
        [{"source_row": i + 2, "person_id": p, "date": pd.Timestamp(d), "event": e,
          "new_contract_type": t, "note": "documented reason" if e == "contract_switch" else None}
         for i, (p, d, e, t) in enumerate(rows)],
        columns=["source_row", "person_id", "date", "event", "new_contract_type", "note"],
    )
    frame["date"] = frame["date"].astype("datetime64[ns]")
    return frame


NO_EVENTS = events_frame()


def build(episodes, events=NO_EVENTS, as_of=AS_OF):
    return build_episodes(episodes, events, as_of, reference=FAKE_REFERENCE)


def one(episodes, events=NO_EVENTS, as_of=AS_OF):
    """The single analysed episode and its intervals."""
    built, exclusions = build(episodes, events, as_of)
    assert len(built) == 1 and len(exclusions) == 0
    return built.iloc[0], split_intervals(built, events)


# --------------------------------------------------------------------------- censoring and exits
def test_ongoing_episode_is_censored_at_as_of():
    # 2022-01-01 .. 2024-12-31: 365 (2022) + 365 (2023) + 365 (2024-01-01 to 2024-12-31) = 1095 days
    # 1095 / 365.25 = 2.997946611909651
    ep, iv = one(episodes_frame({"start": "2022-01-01"}))
    assert ep["exit"] == 0
    assert ep["stop_date"] == pd.Timestamp(AS_OF)
    assert ep["duration"] == pytest.approx(2.997946611909651, abs=1e-15)
    assert pd.isna(ep["end_reason"])
    assert len(iv) == 1 and iv["exit"].tolist() == [0]


def test_planned_end_after_as_of_is_censored_and_reason_dropped():
    # planned end 2025-06-30 is after the as-of date: censored at 2024-12-31.
    # 2023-01-01 .. 2024-12-31 = 365 + 365 = 730 days; 730 / 365.25 = 1.998631074606434
    ep, iv = one(episodes_frame({"start": "2023-01-01", "end": "2025-06-30", "reason": "left_region"}))
    assert ep["exit"] == 0
    assert ep["stop_date"] == pd.Timestamp("2024-12-31")
    assert ep["end_date"] == pd.Timestamp("2025-06-30")  # the planned end is kept for reference
    assert ep["duration"] == pytest.approx(730 / 365.25, abs=1e-15)
    assert ep["duration"] == pytest.approx(1.998631074606434, abs=1e-12)
    assert pd.isna(ep["end_reason"])
    assert iv["end_reason"].isna().all()


def test_end_exactly_on_as_of_is_an_exit():
    # 2024-01-01 .. 2024-12-31 = 365 days (2024 is a leap year, Dec 31 is day 366) = 0.999315537303217 years
    ep, iv = one(episodes_frame({"start": "2024-01-01", "end": "2024-12-31", "reason": "other_gp_same_region"}))
    assert ep["exit"] == 1
    assert ep["stop_date"] == pd.Timestamp("2024-12-31")
    assert ep["duration"] == pytest.approx(0.999315537303217, abs=1e-12)
    assert ep["end_reason"] == "other_gp_same_region"
    assert iv["exit"].tolist() == [1]
    assert iv["end_reason"].tolist() == ["other_gp_same_region"]


def test_end_one_day_after_as_of_is_censored():
    ep, _ = one(episodes_frame({"start": "2024-01-01", "end": "2025-01-01"}))
    assert ep["exit"] == 0 and ep["stop_date"] == pd.Timestamp(AS_OF)


def test_leap_year_day_count():
    # 2020-01-01 .. 2021-01-01 = 366 days (2020 has a 29 February) = 1.002053388090349 years
    ep, iv = one(episodes_frame({"start": "2020-01-01", "end": "2021-01-01"}))
    assert ep["duration"] == pytest.approx(1.002053388090349, abs=1e-12)
    assert ep["duration"] == 366 / 365.25
    assert iv["stop"].tolist() == [366 / 365.25]
    # the same calendar span a year later has 365 days: 0.999315537303217 years
    ep2, _ = one(episodes_frame({"start": "2021-01-01", "end": "2022-01-01"}))
    assert ep2["duration"] == 365 / 365.25


# --------------------------------------------------------------------------- exclusions
def test_exclusions_start_after_and_on_as_of_and_zero_length():
    episodes = episodes_frame(
        {"person": "A", "start": "2020-01-01"},                        # analysed
        {"person": "B", "start": "2025-01-01"},                        # starts after the as-of date
        {"person": "C", "start": "2024-12-31"},                        # starts on the as-of date
        {"person": "D", "start": "2022-03-01", "end": "2022-03-01"},   # ends the day it starts
        {"person": "E", "start": "2025-02-01", "end": "2025-03-01"},   # after, with a planned end
    )
    built, exclusions = build(episodes)
    assert built["person_id"].tolist() == ["A"]
    assert exclusions.columns.tolist() == ["episode_id", "person_id", "reason"]
    assert exclusions.set_index("person_id")["reason"].to_dict() == {
        "B": "starts after the as-of date",
        "C": "starts on the as-of date (no follow-up)",
        "D": "ends on its start date (no follow-up)",
        "E": "starts after the as-of date",
    }
    # ids are given over all input episodes, so an exclusion points at its row
    assert exclusions["episode_id"].tolist() == ["E002", "E003", "E004", "E005"]
    assert built["episode_id"].tolist() == ["E001"]


def test_manifest_counts_exclusions_and_rows():
    validated = SimpleNamespace(
        dataset_dir=Path("/tmp/some/demo"),
        episodes=episodes_frame({"person": "A", "start": "2020-01-01"}, {"person": "B", "start": "2025-01-01"},
                                {"person": "C", "start": "2025-06-01"}, {"person": "D", "start": "2024-12-31"}),
        events=events_frame(("A", "2021-01-01", "contract_switch", "næring"),
                            ("A", "2022-01-01", "hospital_year_start", None),
                            ("B", "2025-03-01", "leave_start", None)),
        input_files={"episodes.csv": "ab" * 32, "events.csv": "cd" * 32},
        synthetic=True,
    )
    prepared = prepare(validated, AS_OF, reference=FAKE_REFERENCE)
    m = prepared.manifest
    assert m["schema"] == "alis-research/prepared/2"
    assert m["dataset"] == "demo"
    assert m["as_of"] == "2024-12-31"
    assert m["synthetic"] is True and prepared.synthetic is True
    assert m["exclusions"] == [{"reason": "starts after the as-of date", "count": 2},
                               {"reason": "starts on the as-of date (no follow-up)", "count": 1}]
    # A: one switch -> 2 intervals; events used: the switch and hospital year of A (B's leave is excluded)
    assert m["rows"] == {"episodes_in": 4, "episodes_analysed": 1, "intervals": 2, "events_in": 3,
                         "events_used": 2, "contract_switches_applied": 1}
    assert m["definitions"]["time_unit"] == "years = days / 365.25"
    assert m["fingerprint"] == prepared.fingerprint == dataset_fingerprint(validated.input_files)
    assert len(prepared.exclusions) == 3
    text = prepared.summary()
    assert "starts after the as-of date: 2" in text and "SYNTHETIC" in text
    # person-years: 2020-01-01..2024-12-31 = 366 + 365*3 + 365 = 1826 days = 4.999315537... years
    assert "fastlønn: 5.00" in text and "analysed:           1 episodes of 1 persons" in text


# --------------------------------------------------------------------------- contract switches
def test_switch_splits_episode_into_two_intervals():
    # fastlønn from 2020-01-01, switch to næring 2021-01-01, exit 2022-01-01.
    # day of switch: 366 (2020 is leap) -> 1.002053388090349 years
    # exit day: 366 + 365 = 731 -> 2.001368925393566 years
    episodes = episodes_frame({"person": "A", "start": "2020-01-01", "end": "2022-01-01", "reason": "left_region"})
    events = events_frame(("A", "2021-01-01", "contract_switch", "næring"))
    ep, iv = one(episodes, events)
    assert ep["cohort"] == "fastlønn" and ep["n_switches"] == 1
    assert iv["contract_type"].tolist() == ["fastlønn", "næring"]
    assert iv["cohort"].tolist() == ["fastlønn", "fastlønn"]
    assert iv["start"].tolist() == [0.0, 366 / 365.25]
    assert iv["stop"].tolist() == [366 / 365.25, 731 / 365.25]
    assert iv["stop"].iloc[1] == pytest.approx(2.001368925393566, abs=1e-12)
    assert iv["start_date"].tolist() == [pd.Timestamp("2020-01-01"), pd.Timestamp("2021-01-01")]
    assert iv["stop_date"].tolist() == [pd.Timestamp("2021-01-01"), pd.Timestamp("2022-01-01")]
    assert iv["exit"].tolist() == [0, 1]
    assert iv["end_reason"].isna().tolist() == [True, False]
    assert iv["stop"].iloc[-1] == ep["duration"]


def test_two_switches_three_intervals_censored():
    # næring from 2020-01-01; to fastlønn 2020-07-01 (day 31+29+31+30+31+30 = 182);
    # back to næring 2021-07-01 (day 182 + 365 = 547); censored 2024-12-31
    # (day 366 + 365 + 365 + 365 + 365 = 1826).
    episodes = episodes_frame({"person": "A", "start": "2020-01-01", "type": "næring"})
    events = events_frame(("A", "2021-07-01", "contract_switch", "næring"),   # listed out of order on purpose
                          ("A", "2020-07-01", "contract_switch", "fastlønn"))
    ep, iv = one(episodes, events)
    assert ep["n_switches"] == 2
    assert iv["contract_type"].tolist() == ["næring", "fastlønn", "næring"]
    assert (iv["start"] * 365.25).round(9).tolist() == [0, 182, 547]
    assert (iv["stop"] * 365.25).round(9).tolist() == [182, 547, 1826]
    assert iv["exit"].tolist() == [0, 0, 0]
    assert ep["duration"] == 1826 / 365.25


def test_switch_after_as_of_and_on_stop_date_ignored():
    # A: ongoing, switch dated after the as-of date -> ignored (one interval)
    # B: exits 2023-06-30 with a switch the same day -> not strictly inside -> ignored
    # C: switch on the start date -> not strictly inside -> ignored (the row gives the type at start)
    episodes = episodes_frame({"person": "A", "start": "2023-01-01"},
                              {"person": "B", "start": "2022-01-01", "end": "2023-06-30"},
                              {"person": "C", "start": "2022-01-01"})
    events = events_frame(("A", "2025-03-01", "contract_switch", "næring"),
                          ("B", "2023-06-30", "contract_switch", "næring"),
                          ("C", "2022-01-01", "contract_switch", "næring"))
    built, _ = build(episodes, events)
    iv = split_intervals(built, events)
    assert built["n_switches"].tolist() == [0, 0, 0]
    assert iv.groupby("person_id").size().to_dict() == {"A": 1, "B": 1, "C": 1}
    assert set(iv["contract_type"]) == {"fastlønn"}


def test_switch_to_current_type_ignored_and_same_day_last_counts():
    # A: fastlønn, 'switch' to fastlønn -> ignored.
    # B: fastlønn; on 2021-05-01 two switches listed næring then fastlønn: the last listed
    #    (fastlønn) counts, which is the current type -> no split.
    # C: fastlønn; same day listed fastlønn then næring: næring counts -> one split.
    episodes = episodes_frame({"person": "A", "start": "2020-01-01"},
                              {"person": "B", "start": "2020-01-01"},
                              {"person": "C", "start": "2020-01-01"})
    events = events_frame(("A", "2021-01-01", "contract_switch", "fastlønn"),
                          ("B", "2021-05-01", "contract_switch", "næring"),
                          ("B", "2021-05-01", "contract_switch", "fastlønn"),
                          ("C", "2021-05-01", "contract_switch", "fastlønn"),
                          ("C", "2021-05-01", "contract_switch", "næring"))
    built, _ = build(episodes, events)
    assert built.set_index("person_id")["n_switches"].to_dict() == {"A": 0, "B": 0, "C": 1}
    iv = split_intervals(built, events)
    assert iv.loc[iv["person_id"] == "C", "contract_type"].tolist() == ["fastlønn", "næring"]


def test_switches_go_to_the_right_episode_of_a_person():
    # one person, two episodes in two municipalities; the switch is in the second one
    episodes = episodes_frame({"person": "A", "start": "2019-08-01", "end": "2020-12-31"},
                              {"person": "A", "start": "2021-02-01", "municipality": "1839"})
    events = events_frame(("A", "2022-02-01", "contract_switch", "næring"))
    built, _ = build(episodes, events)
    assert built["n_switches"].tolist() == [0, 1]
    iv = split_intervals(built, events)
    assert iv["episode_id"].tolist() == ["E001", "E002", "E002"]
    # second episode: 2021-02-01 .. 2022-02-01 = 365 days
    assert iv["stop"].iloc[1] == 365 / 365.25


def test_switch_without_new_type_is_a_user_error():
    episodes = episodes_frame({"person": "A", "start": "2020-01-01"})
    events = events_frame(("A", "2021-01-01", "contract_switch", None))
    with pytest.raises(AlisError, match=r"contract_switch on 2021-01-01 \(row 2\) has no new_contract_type"):
        build(episodes, events)


def test_hospital_year_and_leave_do_not_split_or_stop_the_clock():
    # 2020-01-01 .. 2024-12-31 censored = 1826 days, hospital year and leave inside.
    episodes = episodes_frame({"person": "A", "start": "2020-01-01"}, {"person": "B", "start": "2020-01-01"})
    events = events_frame(("A", "2021-08-01", "hospital_year_start", None),
                          ("A", "2022-07-31", "hospital_year_end", None),
                          ("A", "2023-01-01", "leave_start", None),
                          ("A", "2023-06-01", "leave_end", None),
                          ("A", "2024-03-01", "specialist_approved", None))
    built, _ = build(episodes, events)
    iv = split_intervals(built, events)
    assert built["duration"].tolist() == [1826 / 365.25, 1826 / 365.25]
    assert built["hospital_year"].tolist() == [True, False]
    assert built["exit"].tolist() == [0, 0]
    assert len(iv) == 2 and iv["stop"].tolist() == [1826 / 365.25] * 2


# --------------------------------------------------------------------------- covariates and ids
def test_covariates_from_reference_and_age():
    episodes = episodes_frame(
        {"person": "A", "start": "2020-08-15", "birth_year": 1990, "municipality": "5501"},
        {"person": "B", "start": "2020-09-01", "birth_year": 1985, "municipality": "1839", "type": "næring"},
        {"person": "C", "start": "2020-09-01", "birth_year": None, "municipality": "3401"},
    )
    built, _ = build(episodes)
    a, b, c = (built.iloc[i] for i in range(3))
    assert a["age_at_start"] == 30  # 2020 - 1990
    assert b["age_at_start"] == 35  # 2020 - 1985
    assert pd.isna(c["age_at_start"])
    assert (a["unit"], a["area"], a["population"], a["size_class"], a["centrality"], a["sami_area"]) == \
        ("Tromsø", "UNN", 76_974, ">=50000", 3, True)
    assert (b["unit"], b["area"], b["population"], b["size_class"], b["cohort"]) == \
        ("Beiarn", "Nordland", 1_017, "<2000", "næring")
    assert pd.isna(c["unit"]) and pd.isna(c["area"]) and c["size_class"] == "10000-49999"
    assert built["start_year"].tolist() == [2020, 2020, 2020]
    assert built.columns.tolist() == EPISODE_COLUMNS
    assert str(built["age_at_start"].dtype) == "Int64" and str(built["centrality"].dtype) == "Int64"


def test_population_of_the_start_year():
    # Tromsø started 2022 -> population on 1 January 2022 (77,544), not 2020's
    built, _ = build(episodes_frame({"start": "2022-03-01"}))
    assert built["population"].tolist() == [77_544]


def test_population_unknown_year_is_missing_not_an_error():
    built, _ = build(episodes_frame({"start": "2023-03-01"}), as_of="2024-12-31")
    assert pd.isna(built["population"].iloc[0]) and pd.isna(built["size_class"].iloc[0])


def test_episode_ids_ordered_by_person_then_start_and_padded():
    episodes = episodes_frame({"person": "B", "start": "2020-01-01"},
                              {"person": "A", "start": "2022-01-01"},
                              {"person": "A", "start": "2019-09-01", "end": "2021-06-30"})
    built, _ = build(episodes)
    assert list(zip(built["episode_id"], built["person_id"], built["start_date"].dt.year)) == [
        ("E001", "A", 2019), ("E002", "A", 2022), ("E003", "B", 2020)]
    assert cohort._episode_ids(1000)[:2] == ["E0001", "E0002"]
    assert cohort._episode_ids(999)[-1] == "E999"
    assert cohort._episode_ids(5) == ["E001", "E002", "E003", "E004", "E005"]


def test_inputs_not_mutated_and_result_deterministic():
    episodes = episodes_frame({"person": "B", "start": "2020-01-01"}, {"person": "A", "start": "2021-01-01"})
    events = events_frame(("B", "2021-01-01", "contract_switch", "næring"))
    before_e, before_v = episodes.copy(), events.copy()
    first, _ = build(episodes, events)
    second, _ = build(episodes, events)
    pd.testing.assert_frame_equal(episodes, before_e)
    pd.testing.assert_frame_equal(events, before_v)
    pd.testing.assert_frame_equal(first, second)
    pd.testing.assert_frame_equal(split_intervals(first, events), split_intervals(second, events))


def test_intervals_carry_schema_columns():
    episodes = episodes_frame({"person": "A", "start": "2020-01-01", "sex": "M", "birth_year": 1988})
    events = events_frame(("A", "2021-01-01", "contract_switch", "næring"))
    built, _ = build(episodes, events)
    iv = split_intervals(built, events)
    assert iv.columns.tolist() == INTERVAL_COLUMNS
    assert iv["sex"].tolist() == ["M", "M"] and iv["age_at_start"].tolist() == [32, 32]
    assert iv["unit"].tolist() == ["Tromsø", "Tromsø"] and iv["municipality_code"].tolist() == ["5501", "5501"]


# --------------------------------------------------------------------------- as-of and fingerprint
@pytest.mark.parametrize("text", ["2024-13-01", "31.12.2024", "2024-02-30", "yesterday", "", "2024-1-1"])
def test_parse_as_of_rejects(text):
    with pytest.raises(AlisError, match="YYYY-MM-DD"):
        parse_as_of(text)


def test_parse_as_of_accepts():
    assert parse_as_of("2024-02-29") == pd.Timestamp("2024-02-29")
    assert parse_as_of(date(2024, 12, 31)) == pd.Timestamp("2024-12-31")
    assert parse_as_of(pd.Timestamp("2024-12-31")) == pd.Timestamp("2024-12-31")


def test_dataset_fingerprint_is_sha256_of_sorted_lines():
    files = {"events.csv": "b" * 64, "episodes.csv": "a" * 64}
    expected = hashlib.sha256(f"episodes.csv:{'a' * 64}\nevents.csv:{'b' * 64}\n".encode()).hexdigest()
    assert dataset_fingerprint(files) == expected
    assert dataset_fingerprint(dict(reversed(list(files.items())))) == expected
    assert dataset_fingerprint({"episodes.csv": "a" * 64}) != expected


# --------------------------------------------------------------------------- property tests
_BASE = date(2015, 1, 1)
_TYPES = list(config.CONTRACT_TYPES)


@st.composite
def _person_episode(draw, index: int):
    start = draw(st.integers(0, 3650))
    length = draw(st.integers(1, 4000))
    ended = draw(st.booleans())
    n_events = draw(st.integers(0, 6))
    switches = [(draw(st.integers(-10, length + 400)), draw(st.sampled_from(_TYPES))) for _ in range(n_events)]
    return {
        "person": f"P{index:03d}",
        "start": str(_BASE + timedelta(days=start)),
        "end": str(_BASE + timedelta(days=start + length)) if ended else None,
        "type": draw(st.sampled_from(_TYPES)),
        "switches": [(str(_BASE + timedelta(days=start + offset)), kind) for offset, kind in switches],
    }


@st.composite
def _cohorts(draw):
    n = draw(st.integers(1, 8))
    people = [draw(_person_episode(i)) for i in range(n)]
    as_of = _BASE + timedelta(days=draw(st.integers(200, 4500)))
    return people, str(as_of)


@pytest.mark.slow
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_cohorts())
def test_split_intervals_properties(case):
    people, as_of = case
    episodes = episodes_frame(*people)
    events = events_frame(*[(p["person"], d, "contract_switch", t) for p in people for d, t in p["switches"]])
    built, exclusions = build(episodes, events, as_of=as_of)
    assert len(built) + len(exclusions) == len(people)
    iv = split_intervals(built, events)
    as_of_ts = pd.Timestamp(as_of)
    assert (built["stop_date"] <= as_of_ts).all()
    for ep in built.itertuples(index=False):
        rows = iv.loc[iv["episode_id"] == ep.episode_id]
        days = (ep.stop_date - ep.start_date).days
        assert days > 0
        # person-time conserved exactly in days, and to rounding in years
        assert int(((rows["stop_date"] - rows["start_date"]).dt.days).sum()) == days
        assert (rows["stop"] - rows["start"]).sum() == pytest.approx(ep.duration, rel=1e-12, abs=1e-12)
        assert rows["stop"].iloc[-1] == ep.duration
        # contiguous, non-overlapping, positive length, within [0, duration]
        assert rows["start"].iloc[0] == 0.0
        assert (rows["start"].to_numpy()[1:] == rows["stop"].to_numpy()[:-1]).all()
        assert (rows["stop"] > rows["start"]).all()
        assert rows["start"].min() >= 0 and rows["stop"].max() <= ep.duration
        # one exit row, last, only for exits
        assert rows["exit"].sum() == ep.exit
        if ep.exit:
            assert rows["exit"].iloc[-1] == 1
        # current type starts at the cohort and alternates at each applied switch
        types = rows["contract_type"].tolist()
        assert types[0] == ep.cohort
        assert len(types) == ep.n_switches + 1
        assert all(a != b for a, b in zip(types, types[1:]))
        # every cut is a switch date strictly inside the observed episode
        cuts = rows["start_date"].iloc[1:]
        assert ((cuts > ep.start_date) & (cuts < ep.stop_date)).all()
    # exit status as defined: end on or before the as-of date
    for ep in built.itertuples(index=False):
        assert ep.exit == int(pd.notna(ep.end_date) and ep.end_date <= as_of_ts)


# --------------------------------------------------------------------------- writing and reading
def _small_prepared(tmp_path, name="demo"):
    validated = SimpleNamespace(
        dataset_dir=tmp_path / name,
        episodes=episodes_frame({"person": "A", "start": "2020-01-01", "end": "2022-01-01"},
                                {"person": "B", "start": "2021-03-01", "type": "næring", "municipality": "1839"},
                                {"person": "C", "start": "2025-01-01"}),
        events=events_frame(("A", "2021-01-01", "contract_switch", "næring")),
        input_files={"episodes.csv": "0" * 64, "events.csv": "1" * 64},
        synthetic=False,
    )
    return prepare(validated, AS_OF, reference=FAKE_REFERENCE)


def test_write_load_round_trip(tmp_path):
    prepared = _small_prepared(tmp_path)
    out = write_prepared(prepared, tmp_path / "processed" / "demo")
    assert sorted(p.name for p in out.iterdir()) == [
        "episodes.parquet", "events.parquet", "exclusions.parquet", "intervals.parquet", "manifest.json",
        "supervision.parquet"]
    loaded = load_prepared(out)
    pd.testing.assert_frame_equal(loaded.episodes, prepared.episodes)
    pd.testing.assert_frame_equal(loaded.intervals, prepared.intervals)
    pd.testing.assert_frame_equal(loaded.exclusions, prepared.exclusions)
    assert loaded.as_of == prepared.as_of
    assert loaded.fingerprint == prepared.fingerprint
    assert loaded.synthetic is False
    assert loaded.manifest == prepared.manifest
    text = (out / "manifest.json").read_text(encoding="utf-8")
    assert text == json.dumps(prepared.manifest, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
    # reproducible: writing again gives byte-identical files
    first = {p.name: p.read_bytes() for p in out.iterdir()}
    write_prepared(_small_prepared(tmp_path), out)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == first


class _Boom(RuntimeError):
    pass


@pytest.mark.parametrize("failure", [_Boom, KeyboardInterrupt])
def test_interrupted_write_leaves_previous_output_intact(tmp_path, monkeypatch, failure):
    out = tmp_path / "processed" / "demo"
    write_prepared(_small_prepared(tmp_path), out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    changed = _small_prepared(tmp_path)
    changed.manifest["as_of"] = "2023-12-31"
    real_to_parquet = pd.DataFrame.to_parquet
    calls = []

    def fail_on_second(self, path, *args, **kwargs):
        calls.append(path)
        if len(calls) == 2:  # episodes.parquet already written to the temporary folder
            raise failure("disk full half-way")
        return real_to_parquet(self, path, *args, **kwargs)

    monkeypatch.setattr(pd.DataFrame, "to_parquet", fail_on_second)
    with pytest.raises(failure):
        write_prepared(changed, out)
    monkeypatch.undo()
    assert len(calls) == 2
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in out.parent.iterdir()) == ["demo"]  # no temporary folder left behind


def test_write_refuses_data_raw(tmp_path):
    prepared = _small_prepared(tmp_path)
    with pytest.raises(AlisError, match="data/raw/ is read-only"):
        write_prepared(prepared, config.DATA_RAW / "demo_prepared_here")
    assert not (config.DATA_RAW / "demo_prepared_here").exists()


def test_load_prepared_errors(tmp_path):
    with pytest.raises(AlisError, match="manifest.json not found: run `alis-research prepare"):
        load_prepared(tmp_path / "nothing")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "manifest.json").write_text(json.dumps({"schema": "other/9"}), encoding="utf-8")
    with pytest.raises(AlisError, match="schema 'other/9', expected 'alis-research/prepared/2'"):
        load_prepared(tmp_path / "bad")


def test_prepared_dataset_is_a_dataclass_with_schema():
    assert PreparedDataset.__dataclass_fields__.keys() >= {
        "episodes", "intervals", "exclusions", "as_of", "fingerprint", "synthetic", "manifest", "events", "supervision"}


# --------------------------------------------------------------------------- end to end (validate + reference)
RAW_EPISODES = """person_id;municipality;contract_type;start_date;end_date;end_reason;sex;birth_year
A1;1902;f;01.08.2019;;;K;1990
B2;Beiarn;næring;2020-01-01;2022-01-01;left_region;M;1985
C3;1931;naering;2025-01-01;;;K;1991
"""
RAW_EVENTS = """person_id;date;event;new_contract_type;note
A1;2021-01-01;contract_switch;n;kommunen ønsket det
A1;2022-08-01;hospital_year_start;;
A1;2023-07-31;hospital_year_end;;
"""


@pytest.fixture
def raw_dataset(tmp_path):
    folder = tmp_path / "raw" / "north"
    folder.mkdir(parents=True)
    (folder / "episodes.csv").write_text(RAW_EPISODES, encoding="utf-8")
    (folder / "events.csv").write_text(RAW_EVENTS, encoding="utf-8")
    return folder


def test_prepare_dataset_carries_harmonised_codes_and_reference(raw_dataset):
    prepared = cohort.prepare_dataset(raw_dataset, as_of="2024-12-31")
    a, b = prepared.episodes.iloc[0], prepared.episodes.iloc[1]
    # 1902 (Tromsø before 2020) -> 5501 Tromsø (2024), the roster's Tromsø unit in UNN
    assert (a["municipality_code"], a["municipality_name"], a["unit"], a["area"]) == ("5501", "Tromsø", "Tromsø", "UNN")
    # Tromsø had 76,649 inhabitants on 1 January 2019 (SSB 07459), Beiarn 1,017 on 1 January 2020
    assert (a["population"], a["size_class"]) == (76_649, ">=50000")
    assert (b["municipality_code"], b["unit"], b["area"], b["population"], b["size_class"]) == \
        ("1839", "Beiarn", "Nordland", 1_017, "<2000")
    assert a["age_at_start"] == 29  # 2019 - 1990
    # A1: 2019-08-01 .. 2024-12-31 censored = 153 + 366 + 365*3 + 365 = 1979 days (5.418207 years);
    # switch to næring on 2021-01-01 = day 153 + 366 = 519; hospital year does not split
    assert a["exit"] == 0 and a["n_switches"] == 1 and bool(a["hospital_year"])
    assert a["duration"] == 1979 / 365.25
    iv = prepared.intervals
    assert (iv.loc[iv["episode_id"] == "E001", "stop"] * 365.25).round(9).tolist() == [519, 1979]
    assert iv.loc[iv["episode_id"] == "E001", "contract_type"].tolist() == ["fastlønn", "næring"]
    # C3 (Lenvik 1931 -> Senja) starts after the as-of date
    assert prepared.exclusions.to_dict("records") == [
        {"episode_id": "E003", "person_id": "C3", "reason": "starts after the as-of date"}]
    sha = {name: hashlib.sha256((raw_dataset / name).read_bytes()).hexdigest()
           for name in ("episodes.csv", "events.csv")}
    assert prepared.manifest["input_files"] == sha
    assert prepared.fingerprint == dataset_fingerprint(sha)
    assert prepared.manifest["rows"]["events_used"] == 3


def test_cli_prepare_writes_and_prints(raw_dataset, tmp_path, capsys, monkeypatch):
    from alis_research.cli import main

    before = {p.name: p.read_bytes() for p in raw_dataset.iterdir()}
    monkeypatch.setattr(config, "DATA_PROCESSED", tmp_path / "processed")
    assert main(["prepare", str(raw_dataset), "--as-of", "2024-12-31"]) == 0
    out = capsys.readouterr().out
    target = tmp_path / "processed" / "north"
    assert f"wrote {target}" in out
    assert "episodes in:        3" in out and "starts after the as-of date: 1" in out
    assert "analysed:           2 episodes of 2 persons" in out
    loaded = load_prepared(target)
    assert loaded.manifest["dataset"] == "north" and len(loaded.episodes) == 2
    assert {p.name: p.read_bytes() for p in raw_dataset.iterdir()} == before  # input untouched

    assert main(["prepare", str(raw_dataset), "--as-of", "2024-12-31", "--out", str(tmp_path / "elsewhere")]) == 0
    assert (tmp_path / "elsewhere" / "manifest.json").is_file()


def test_cli_prepare_user_errors(raw_dataset, tmp_path, capsys):
    from alis_research.cli import main

    assert main(["prepare", str(raw_dataset), "--as-of", "31.12.2024", "--out", str(tmp_path / "o")]) == 1
    assert "as-of date '31.12.2024' is not a date in the form YYYY-MM-DD" in capsys.readouterr().err
    assert main(["prepare", str(tmp_path / "missing"), "--as-of", "2024-12-31", "--out", str(tmp_path / "o")]) == 1
    assert "does not exist" in capsys.readouterr().err
    (raw_dataset / "episodes.csv").write_text(RAW_EPISODES.replace("01.08.2019", "31.02.2019"), encoding="utf-8")
    assert main(["prepare", str(raw_dataset), "--as-of", "2024-12-31", "--out", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err
    assert "episodes.csv, row 2, column start_date" in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()


def test_write_refuses_to_replace_a_folder_of_other_files(tmp_path):
    # Writing swaps the whole folder: --out pointing at a folder of the user's own files must not delete them.
    out = tmp_path / "documents"
    out.mkdir()
    (out / "thesis.txt").write_text("important", encoding="utf-8")
    with pytest.raises(AlisError, match=r"already holds files that are not a prepared dataset \(thesis.txt\)"):
        write_prepared(_small_prepared(tmp_path), out)
    assert [p.name for p in out.iterdir()] == ["thesis.txt"]
    (tmp_path / "empty").mkdir()
    assert write_prepared(_small_prepared(tmp_path), tmp_path / "empty") == tmp_path / "empty"
