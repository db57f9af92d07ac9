"""Tests of the calibrated synthetic ALIS-Nord dataset (``alis_research.data.synthetic``)."""
from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pandas as pd
import pytest

from alis_research import cli, config, reference
from alis_research.errors import AlisError
from alis_research.data.synthetic import (
    EPISODE_COLUMNS,
    EVENT_COLUMNS,
    SyntheticParameters,
    _exit_time,
    _Geography,
    dataset_metadata,
    draw_durations,
    mixture_median,
    parameters_table,
    synthesize,
    weibull_scale,
    write_synthetic,
)
from alis_research.data.contract import canonical_contract_type
from alis_research.data.validate import load_validated, validate_dataset

AS_OF = "2024-12-31"
SEEDS = (2019, 1, 2, 3, 7, 11, 42, 123)


@pytest.fixture(scope="module")
def simulated():
    return {seed: synthesize(seed) for seed in SEEDS}


# --------------------------------------------------------------------------- determinism


def test_same_seed_gives_byte_identical_files_and_another_seed_differs(tmp_path):
    first = write_synthetic(tmp_path / "a", seed=2019)
    second = write_synthetic(tmp_path / "b", seed=2019)
    other = write_synthetic(tmp_path / "c", seed=2020)
    assert sorted(p.name for p in first.iterdir()) == ["dataset.json", "episodes.csv", "events.csv"]
    for name in ("episodes.csv", "events.csv", "dataset.json"):
        assert (first / name).read_bytes() == (second / name).read_bytes()
    assert (first / "episodes.csv").read_bytes() != (other / "episodes.csv").read_bytes()
    raw = (first / "episodes.csv").read_bytes()
    assert b"\r" not in raw and raw.endswith(b"\n")
    raw.decode("utf-8")  # UTF-8, no BOM
    assert not raw.startswith(b"\xef\xbb\xbf")


def test_rewriting_replaces_the_previous_synthetic_dataset(tmp_path):
    out = write_synthetic(tmp_path / "demo", seed=1)
    write_synthetic(out, seed=2)
    assert json.loads((out / "dataset.json").read_text(encoding="utf-8"))["seed"] == 2
    # no staging or retired folders are left behind
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo"]


def test_refuses_to_overwrite_a_folder_that_is_not_a_synthetic_dataset(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    (real / "episodes.csv").write_text("person_id\nA1\n", encoding="utf-8")
    with pytest.raises(AlisError, match=r"not a synthetic dataset.*refusing to overwrite.*--out"):
        write_synthetic(real, seed=1)
    assert (real / "episodes.csv").read_text(encoding="utf-8") == "person_id\nA1\n"
    assert sorted(p.name for p in real.iterdir()) == ["episodes.csv"]


def test_dataset_json_marks_the_data_synthetic(tmp_path):
    out = write_synthetic(tmp_path / "d", seed=5)
    meta = json.loads((out / "dataset.json").read_text(encoding="utf-8"))
    assert meta["synthetic"] is True
    assert meta["generator"] == "alis-research synthesize"
    assert meta["seed"] == 5
    assert meta["package_version"]
    assert meta["parameters"] == SyntheticParameters().to_json_dict()
    assert meta["parameters"]["median_years_by_size_class"]["<2000"] == 2.75
    assert meta["true_effect"]["hazard_ratio_naering_vs_fastlonn"] == 1.3
    assert meta == dataset_metadata(5, SyntheticParameters())


def test_cli_writes_the_dataset_and_reports_it(tmp_path, capsys):
    status = cli.main(["synthesize", "--seed", "3", "--out", str(tmp_path / "cli")])
    assert status == 0
    out = capsys.readouterr().out
    assert "seed 3" in out and "SYNTHETIC" in out
    assert (tmp_path / "cli" / "episodes.csv").read_bytes() == write_synthetic(
        tmp_path / "api", seed=3).joinpath("episodes.csv").read_bytes()


def test_cli_negative_seed_is_a_user_error(tmp_path, capsys):
    assert cli.main(["synthesize", "--seed", "-1", "--out", str(tmp_path / "x")]) == 1
    assert "--seed must be a non-negative integer, got -1" in capsys.readouterr().err


# --------------------------------------------------------------------------- the initial positions

# Hand-counted from seed 000 as summarised in BRIEF.md (not from the roster file):
# Finnmark: Vadsø f, Tana/Nesseby f, Karasjok f, Hammerfest f+n, Sør-Varanger n, Alta f -> 5 f, 2 n
# UNN: Harstad 2n, Tromsø 2n, Narvik f+n, Skånland n, Målselv n, Bardu f, Lenvik f      -> 3 f, 7 n
# Nordland: Vestvågøy, Øksnes, Beiarn, Hamarøy, Steigen f; Bodø 2n                      -> 5 f, 2 n
# Helgeland: Sømna, Brønnøy, Vega, Dønna f; Rana 2n, Vefsn 2n                            -> 4 f, 4 n
EXPECTED_START_BY_AREA = {
    ("Finnmark", "fastlønn"): 5, ("Finnmark", "næring"): 2,
    ("UNN", "fastlønn"): 3, ("UNN", "næring"): 7,
    ("Nordland", "fastlønn"): 5, ("Nordland", "næring"): 2,
    ("Helgeland", "fastlønn"): 4, ("Helgeland", "næring"): 4,
}


def _initial_episodes(episodes: pd.DataFrame) -> pd.DataFrame:
    first = episodes[episodes["start_date"].between("2019-08-01", "2019-12-31")].copy()
    first["contract"] = first["contract_type"].map(canonical_contract_type)
    first["code_2024"] = first["municipality"].map(lambda m: reference.resolve_municipality(m).code_2024)
    first["area"] = first["code_2024"].map(lambda c: reference.unit_for_municipality(c)[1])
    return first


@pytest.mark.parametrize("seed", (2019, 7, 42))
def test_32_positions_filled_in_autumn_2019_as_the_roster(simulated, seed):
    episodes, _ = simulated[seed]
    first = _initial_episodes(episodes)
    assert len(first) == 32
    assert first["contract"].value_counts().to_dict() == {"fastlønn": 17, "næring": 15}
    assert first.groupby(["area", "contract"]).size().to_dict() == EXPECTED_START_BY_AREA
    # two positions each in Tromsø, Harstad, Bodø, Rana and Vefsn; one in Tana
    per_municipality = first["code_2024"].value_counts()
    for code in ("5501", "5503", "1804", "1833", "1824"):
        assert per_municipality[code] == 2
    assert per_municipality["5628"] == 1
    # no one starts later in 2019 than the window, and nothing starts after the as-of date
    assert (episodes["start_date"] >= "2019-08-01").all() and (episodes["start_date"] <= AS_OF).all()


def test_codes_are_those_in_force_at_the_start():
    geography = _Geography()
    assert geography.code_in_force("5501", 2019, "Tromsø") == "1902"
    assert geography.code_in_force("5501", 2021, "Tromsø") == "5401"
    assert geography.code_in_force("5501", 2024, "Tromsø") == "5501"
    assert geography.code_in_force("5530", 2019, "Lenvik/Berg/Torsken/Tranøy") == "1931"
    assert geography.code_in_force("5530", 2022, "Lenvik/Berg/Torsken/Tranøy") == "5421"
    assert geography.code_in_force("5512", 2019, "Skånland/Evenes/Tjeldsund") == "1913"
    assert geography.code_in_force("1806", 2019, "Narvik/Ballangen/Tysfjord-Øst") == "1805"
    assert geography.code_in_force("1806", 2020, "Narvik/Ballangen/Tysfjord-Øst") == "1806"
    assert geography.code_in_force("1875", 2019, "Hamarøy") == "1849"
    assert geography.code_in_force("1804", 2019, "Bodø") == "1804"


def test_written_codes_match_the_start_year(simulated):
    history = reference.load_code_history().set_index("code")
    for episodes, _ in simulated.values():
        coded = episodes[episodes["municipality"].str.fullmatch(r"\d{4}")]
        assert len(coded) > 0.8 * len(episodes)
        for code, start in zip(coded["municipality"], coded["start_date"]):
            year = int(start[:4])
            valid_from, valid_to = history.at[code, "valid_from"], history.at[code, "valid_to"]
            assert pd.isna(valid_from) or valid_from <= year, (code, start)
            assert pd.isna(valid_to) or year <= valid_to, (code, start)
            if code[:2] in ("55", "56"):  # the 2024 Troms and Finnmark codes
                assert year >= 2024, (code, start)


# --------------------------------------------------------------------------- invariants


@pytest.mark.parametrize("seed", SEEDS)
def test_invariants_of_the_raw_contract(simulated, seed):
    episodes, events = simulated[seed]
    assert tuple(episodes.columns) == EPISODE_COLUMNS and tuple(events.columns) == EVENT_COLUMNS
    assert episodes["person_id"].str.fullmatch(r"S\d{4}").all()
    assert not episodes["person_id"].str.fullmatch(r"\d{11}").any()
    assert set(episodes["programme"]) == {"ALIS-Nord"}
    assert set(episodes["sex"]) <= {"K", "M"} and set(episodes["scheme"]) <= {"old", "new"}
    assert episodes["contract_type"].map(canonical_contract_type).notna().all()
    for column in ("birth_year", "list_size"):
        assert episodes[column].str.fullmatch(r"\d+").all()

    ended = (episodes["end_date"] != "") & (episodes["end_date"] <= AS_OF)
    assert (episodes.loc[ended, "end_reason"].isin(config.END_REASONS)).all()
    assert (episodes.loc[~ended, "end_reason"] == "").all()
    has_end = episodes["end_date"] != ""
    assert (episodes.loc[has_end, "end_date"] > episodes.loc[has_end, "start_date"]).all()

    for _, own in episodes.groupby("person_id"):
        own = own.sort_values("start_date")
        ends = own["end_date"].tolist()
        starts = own["start_date"].tolist()
        for end, next_start in zip(ends[:-1], starts[1:]):
            assert end != "" and end < next_start  # earlier episodes ended before the next began

    spans = {pid: list(zip(own["start_date"], own["end_date"])) for pid, own in episodes.groupby("person_id")}
    for pid, day in zip(events["person_id"], events["date"]):
        assert day <= AS_OF
        assert any(start <= day and (end == "" or day <= end) for start, end in spans[pid]), (pid, day)

    switches = events[events["event"] == "contract_switch"]
    assert switches["new_contract_type"].isin(config.CONTRACT_TYPES).all()
    assert (switches["note"].str.len() > 20).all()
    assert set(events["event"]) <= set(config.EVENT_TYPES)

    for pid, own in events.groupby("person_id"):
        starts = own.loc[own["event"] == "hospital_year_start", "date"].tolist()
        ends = own.loc[own["event"] == "hospital_year_end", "date"].tolist()
        assert len(starts) == len(ends) <= 1
        for start, end in zip(starts, ends):
            days = (pd.Timestamp(end) - pd.Timestamp(start)).days
            assert 365 <= days <= 366 and start.endswith("-01")
        leave_starts = own.loc[own["event"] == "leave_start", "date"].tolist()
        leave_ends = own.loc[own["event"] == "leave_end", "date"].tolist()
        assert len(leave_starts) == len(leave_ends)
        assert all(s < e for s, e in zip(sorted(leave_starts), sorted(leave_ends)))
        assert (own["event"] == "specialist_approved").sum() <= 1


@pytest.mark.parametrize("seed", (2019, 3, 42))
def test_output_validates_cleanly(tmp_path, seed):
    out = write_synthetic(tmp_path / f"s{seed}", seed=seed)
    problems, data = validate_dataset(out, as_of=AS_OF)
    assert problems == []
    assert data.synthetic is True
    assert len(data.episodes) == len(synthesize(seed)[0])


def test_the_committed_demo_is_the_output_of_the_command_and_validates(tmp_path):
    demo = config.DATA_RAW / config.DEMO_DATASET
    fresh = write_synthetic(tmp_path / "demo", seed=2019)
    for name in ("episodes.csv", "events.csv", "dataset.json"):
        assert (demo / name).read_bytes() == (fresh / name).read_bytes(), f"rerun `alis-research synthesize`: {name}"
    validated = load_validated(demo, as_of=AS_OF)
    assert validated.synthetic is True
    # Tromsø 2019 starts are written with the 2019 code 1902 (or a name)
    episodes = pd.read_csv(demo / "episodes.csv", dtype=str, keep_default_na=False)
    tromso_2019 = validated.episodes[
        (validated.episodes["municipality_code"] == "5501")
        & (validated.episodes["start_date"] < pd.Timestamp("2020-01-01"))
    ]
    assert set(episodes.loc[tromso_2019["source_row"] - 2, "municipality"]) <= {"1902", "Tromsø"}


def test_the_demo_exercises_every_feature(simulated):
    episodes, events = simulated[2019]
    assert (episodes["end_date"] > AS_OF).sum() >= 2  # planned ends after the as-of date
    assert (episodes["end_date"] == "").sum() >= 10  # ongoing
    assert episodes["person_id"].value_counts().max() == 2  # some moved to another ALIS unit
    assert (~episodes["municipality"].str.fullmatch(r"\d{4}")).any()  # a name to harmonise
    assert (~episodes["contract_type"].isin(config.CONTRACT_TYPES)).any()  # a synonym
    assert (episodes["scheme"] == "old").any()
    counts = events["event"].value_counts()
    for event in config.EVENT_TYPES:
        assert counts.get(event, 0) >= 1, event
    assert (events.loc[events["event"] == "contract_switch", "new_contract_type"] == "fastlønn").any()


# --------------------------------------------------------------------------- the duration model


@pytest.mark.parametrize("size_class, target", [
    ("<2000", 2.75), ("2000-4999", 3.632), ("5000-9999", 4.798), ("10000-49999", 6.337), (">=50000", 8.37),
])
def test_calibration_median_by_size_class(size_class, target):
    rng = np.random.Generator(np.random.PCG64(20240101))
    durations = draw_durations(size_class, 20_000, rng)
    # relative SE of a sample median here is ~1.2 %; 3 % is 2.5 SE
    assert abs(np.median(durations) / target - 1) < 0.03


def test_middle_classes_are_geometric_interpolation_of_the_published_ends():
    medians = SyntheticParameters().median_years_by_size_class
    # 2.75 * (8.37 / 2.75) ** (k / 4) for k = 1, 2, 3, computed by hand: ratio 3.04364
    assert medians["2000-4999"] == pytest.approx(3.632, abs=5e-4)
    assert medians["5000-9999"] == pytest.approx(4.798, abs=5e-4)
    assert medians["10000-49999"] == pytest.approx(6.337, abs=5e-4)


def test_fastlonn_median_is_longer_by_hazard_ratio_power():
    # Weibull proportional hazards: median scales by HR ** (-1/k) = 1.3 ** (1/1.3) = 1.2236
    rng = np.random.Generator(np.random.PCG64(7))
    fast = np.median(draw_durations("<2000", 40_000, rng, contract_type="fastlønn"))
    assert fast == pytest.approx(2.75 * 1.2236, rel=0.03)


def test_weibull_scale_gives_the_median():
    # k = 1: median = scale * ln 2, so scale = 2.75 / 0.693147 = 3.96743
    assert weibull_scale(2.75, 1.0) == pytest.approx(3.96743, rel=1e-5)
    scale = weibull_scale(8.37, 1.3)
    assert math.exp(-(8.37 / scale) ** 1.3) == pytest.approx(0.5)


def test_exit_time_inverts_the_piecewise_cumulative_hazard():
    # exponential, scale 1: H(t) = t before the switch at 0.5, then 0.5 + 2 (t - 0.5)
    assert _exit_time(0.3, 1.0, 1.0, 1.0, 0.5, 2.0) == pytest.approx(0.3)
    assert _exit_time(1.5, 1.0, 1.0, 1.0, 0.5, 2.0) == pytest.approx(1.0)  # 0.5 + (1.5 - 0.5) / 2
    # shape 2: H(t) = t^2 before 1, then 1 + 4 (t^2 - 1); H = 2 -> t^2 = 1.25 -> t = 1.118034
    assert _exit_time(2.0, 1.0, 2.0, 1.0, 1.0, 4.0) == pytest.approx(1.118034, rel=1e-6)
    assert _exit_time(2.0, 1.0, 2.0, 2.0, None, 4.0) == pytest.approx(1.0)  # no switch: (2 / 2) ** 0.5


def test_mixture_median():
    assert mixture_median({"<2000": 1}) == pytest.approx(2.75, rel=1e-9)
    both = mixture_median({"<2000": 1, ">=50000": 1})
    params = SyntheticParameters()
    survival = 0.5 * sum(
        math.exp(-(both / weibull_scale(m, params.weibull_shape)) ** params.weibull_shape) for m in (2.75, 8.37)
    )
    assert survival == pytest.approx(0.5, abs=1e-9)
    assert 2.75 < both < 8.37
    with pytest.raises(AlisError, match="weights_by_size_class"):
        mixture_median({"tiny": 1})


def test_northern_norway_check_against_nsdm_median():
    # Each municipality of Northern Norway (2024 boundaries, size on 1 January 2018) weighted equally;
    # NSDM 2018 reports a median contract of 3.8 years in the north.
    municipalities = reference.load_municipalities()
    north = municipalities.loc[municipalities["health_trust_area"].notna(), "code_2024"]
    classes = [reference.size_class(reference.population_at(code, 2018)) for code in north]
    weights = pd.Series(classes).value_counts().to_dict()
    assert weights == {"<2000": 32, "2000-4999": 27, "10000-49999": 10, "5000-9999": 9, ">=50000": 2}
    assert abs(mixture_median(weights) / 3.8 - 1) < 0.10  # 3.59 years


def test_draw_durations_rejects_unknown_classes_and_types():
    rng = np.random.Generator(np.random.PCG64(1))
    with pytest.raises(AlisError, match=r"unknown size class 'huge'"):
        draw_durations("huge", 5, rng)
    with pytest.raises(AlisError, match=r"unknown contract type 'salary'"):
        draw_durations("<2000", 5, rng, contract_type="salary")


# --------------------------------------------------------------------------- parameters and docs


def test_every_parameter_has_meaning_and_source_and_is_documented():
    docs = (config.DOCS / "synthetic_data.md").read_text(encoding="utf-8")
    table = parameters_table()
    assert len(table) == len(dataclasses.fields(SyntheticParameters))
    for row in table.itertuples():
        assert row.meaning and row.source, row.parameter
        assert f"`{row.parameter}`" in docs, f"{row.parameter} missing from docs/synthetic_data.md"


def test_invalid_parameters_are_refused_with_the_expectation():
    with pytest.raises(AlisError, match=r"end_reason_shares over .* summing to 1"):
        SyntheticParameters(end_reason_shares={"unknown": 0.5})
    with pytest.raises(AlisError, match=r"leave_probability between 0 and 1 \(got 1.5\)"):
        SyntheticParameters(leave_probability=1.5)
    with pytest.raises(AlisError, match=r"median_years_by_size_class"):
        SyntheticParameters(median_years_by_size_class={"<2000": 2.75})


def test_no_true_effect_option_changes_the_data_and_the_metadata():
    params = dataclasses.replace(SyntheticParameters(), hazard_ratio_naering_vs_fastlonn=1.0)
    assert not synthesize(2019, params)[0].equals(synthesize(2019)[0])
    assert dataset_metadata(2019, params)["true_effect"]["hazard_ratio_naering_vs_fastlonn"] == 1.0


def test_seed_must_be_a_non_negative_integer():
    with pytest.raises(AlisError, match="seed must be a non-negative integer"):
        synthesize(-3)
    with pytest.raises(AlisError, match="seed must be a non-negative integer"):
        synthesize("2019")
