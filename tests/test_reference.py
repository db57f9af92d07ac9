"""Tests of the shipped reference data and its loaders.

Expected numbers come from the seeds (roster, applications, costs) and from the
SSB files as published (population, centrality), quoted where they are used.
"""
from __future__ import annotations

import filecmp
import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from alis_research.config import HEALTH_TRUST_AREAS, REFERENCE_DATA, SIZE_CLASS_LABELS
from alis_research.errors import AlisError
from alis_research.cli.data import roster as cli_roster
from alis_research.reference import (
    MunicipalityMatch,
    UnknownMunicipality,
    cost_parameter,
    load_applications,
    load_code_history,
    load_cost_parameters,
    load_municipalities,
    load_population,
    load_rejected,
    load_roster,
    population_at,
    positions_by_area,
    resolve_municipality,
    size_class,
    unit_for_municipality,
)

REPO = Path(__file__).resolve().parent.parent
SSB_DIR = REPO.parent / "shared" / "data" / "ssb"


# --- roster (seed 000) -------------------------------------------------------

def test_roster_has_25_units_and_32_positions():
    roster = load_roster()
    assert len(roster) == 25
    assert roster["fastlønn"].sum() == 17
    assert roster["næring"].sum() == 15


@pytest.mark.parametrize(
    "area, fastlonn, naering, total, units",
    [
        # Seed 000: Finnmark Vadsø 1f, Tana/Nesseby 1f, Karasjok 1f, Hammerfest 1f+1n, Sør-Varanger 1n, Alta 1f
        ("Finnmark", 5, 2, 7, 6),
        # UNN: Harstad 2n, Tromsø 2n, Narvik/... 1n+1f, Skånland/... 1n, Målselv 1n, Bardu 1f, Lenvik/... 1f
        ("UNN", 3, 7, 10, 7),
        # Nordland: Vestvågøy, Øksnes, Beiarn, Hamarøy, Steigen 1f each; Bodø 2n
        ("Nordland", 5, 2, 7, 6),
        # Helgeland: Rana 2n, Vefsn 2n; Sømna, Brønnøy, Vega, Dønna 1f each
        ("Helgeland", 4, 4, 8, 6),
        ("Total", 17, 15, 32, 25),
    ],
)
def test_positions_by_area(area, fastlonn, naering, total, units):
    row = positions_by_area().loc[area]
    assert (row["fastlønn"], row["næring"], row["total"], row["units"]) == (fastlonn, naering, total, units)


def test_positions_by_area_order():
    assert list(positions_by_area().index) == [*HEALTH_TRUST_AREAS, "Total"]


def test_roster_unit_names_and_codes_as_the_seed_writes_them():
    codes = dict(zip(load_roster()["unit"], load_roster()["municipality_codes"]))
    assert codes["Narvik/Ballangen/Tysfjord-Øst"] == "1806"
    assert codes["Lenvik/Berg/Torsken/Tranøy"] == "5530"
    assert codes["Skånland/Evenes/Tjeldsund"] == "5512;1853"
    assert codes["Tana/Nesseby"] == "5628;5636"
    assert codes["Hamarøy"] == "1875"


def test_roster_and_rejected_areas_agree_with_the_municipality_table():
    # Checks the hand-coded health-trust areas against the seed's own grouping.
    area_of = dict(zip(load_municipalities()["code_2024"], load_municipalities()["health_trust_area"]))
    for table in (load_roster(), load_rejected()):
        for area, codes in zip(table["area"], table["municipality_codes"]):
            for code in codes.split(";"):
                assert area_of[code] == area, (code, area)


def test_no_municipality_in_two_units():
    codes = [c for cs in load_roster()["municipality_codes"] for c in cs.split(";")]
    assert len(codes) == len(set(codes))


@pytest.mark.parametrize(
    "code, expected",
    [
        ("5636", ("Tana/Nesseby", "Finnmark")),
        ("1853", ("Skånland/Evenes/Tjeldsund", "UNN")),
        ("1806", ("Narvik/Ballangen/Tysfjord-Øst", "UNN")),
        ("5530", ("Lenvik/Berg/Torsken/Tranøy", "UNN")),
        ("1875", ("Hamarøy", "Nordland")),
        ("5622", None),  # Porsanger applied and was refused
    ],
)
def test_unit_for_municipality(code, expected):
    assert unit_for_municipality(code) == expected


def test_rejected_applicants():
    rejected = load_rejected()
    assert len(rejected) == 9
    assert rejected.groupby("area").size().to_dict() == {"Finnmark": 2, "UNN": 4, "Helgeland": 3}
    salangen = rejected.loc[rejected["applicant"].str.startswith("Salangen"), "municipality_codes"].item()
    assert salangen == "5522;5518;5514"  # Salangen with Lavangen and Ibestad


def test_applications_add_up_to_the_seed_totals():
    # Seed 001: 35 applications from 45 of 87 municipalities, 365,845 inhabitants.
    apps = load_applications()
    assert apps["applications"].sum() == 35
    assert apps["municipalities"].sum() == 45.0
    assert apps["inhabitants_2018"].sum() == 365_845
    assert apps.set_index("area").loc["UNN", "municipalities"] == 19.5


def test_cli_roster_prints_the_table(capsys):
    assert cli_roster(SimpleNamespace(json=False)) == 0
    out = capsys.readouterr().out
    lines = {line.split()[0]: line.split()[1:] for line in out.splitlines() if line and line.split()[0] in (*HEALTH_TRUST_AREAS, "Total")}
    assert lines["Finnmark"] == ["6", "5", "2", "7"]
    assert lines["UNN"] == ["7", "3", "7", "10"]
    assert lines["Total"] == ["25", "17", "15", "32"]


def test_cli_roster_json(capsys):
    assert cli_roster(SimpleNamespace(json=True)) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["total"] == {"units": 25, "fastlønn": 17, "næring": 15, "total": 32}
    assert [a["area"] for a in document["areas"]] == list(HEALTH_TRUST_AREAS)
    assert len(document["units"]) == 25


def test_roster_command_through_the_cli():
    result = subprocess.run(
        [sys.executable, "-m", "alis_research.cli", "roster"], capture_output=True, text=True, cwd=REPO, check=True
    )
    assert "Total" in result.stdout and "32" in result.stdout


# --- code resolution ---------------------------------------------------------

@pytest.mark.parametrize("code", ["1902", "5401", "5501"])
def test_all_tromso_codes(code):
    assert resolve_municipality(code) == MunicipalityMatch("5501", "Tromsø", code, "code")


@pytest.mark.parametrize(
    "value, code_2024",
    [
        ("1931", "5530"), ("5421", "5530"), ("Lenvik", "5530"), ("Senja", "5530"), ("Torsken", "5530"),
        ("1913", "5512"), ("1852", "5512"), ("5412", "5512"), ("Skånland", "5512"), ("Tjeldsund", "5512"),
        ("1854", "1806"), ("Ballangen", "1806"), ("1805", "1806"),
        ("1849", "1875"), ("2017", "5603"), ("Kvalsund", "5603"),
        ("2025", "5628"), ("5441", "5628"), ("0301", "0301"),
    ],
)
def test_former_codes_and_names_map_to_2024(value, code_2024):
    assert resolve_municipality(value).code_2024 == code_2024


@pytest.mark.parametrize("value", ["1850", "Tysfjord", "Divtasvuodna", "tysfjord"])
def test_tysfjord_is_refused_not_guessed(value):
    with pytest.raises(UnknownMunicipality) as info:
        resolve_municipality(value)
    message = str(info.value)
    assert "split" in message
    assert "1806 Narvik" in message and "1875 Hamarøy" in message
    assert isinstance(info.value, AlisError)


def test_tysfjord_code_message_names_the_parts():
    with pytest.raises(UnknownMunicipality, match=r"east .* 1806 Narvik, the west .* 1875 Hamarøy"):
        resolve_municipality("1850")


def test_three_digit_code_suggests_the_lost_zero():
    with pytest.raises(UnknownMunicipality, match="did you mean 0301"):
        resolve_municipality("301")


@pytest.mark.parametrize(
    "value, message",
    [
        ("9999", "unknown municipality code '9999'"),
        ("12345", "must have 4 digits"),
        ("", "empty municipality"),
        ("Atlantis", "unknown municipality 'Atlantis'"),
        ("Herøy", "ambiguous: it may mean 1515 Herøy (Møre og Romsdal), 1818 Herøy (Nordland)"),
        ("Sande", "ambiguous: it may mean 1514 Sande (Møre og Romsdal), 3903 Holmestrand"),
        ("5501 Bodø", "the code means 5501 Tromsø but the name means 1804 Bodø"),
    ],
)
def test_unresolvable_values_say_why(value, message):
    with pytest.raises(UnknownMunicipality) as info:
        resolve_municipality(value)
    assert message in str(info.value)


@pytest.mark.parametrize(
    "name, code_2024",
    [
        ("Tromsø", "5501"), ("tromsø", "5501"), ("Romsa", "5501"), ("TROMSO", "5501"), ("Tromsø kommune", "5501"),
        ("Karasjok", "5610"), ("Kárášjohka", "5610"), ("Kárásjohka", "5610"),
        ("Tana", "5628"), ("Deatnu", "5628"), ("Deatnu - Tana", "5628"),
        ("Nesseby", "5636"), ("Unjárga", "5636"),
        ("Kautokeino", "5612"), ("Guovdageaidnu", "5612"),
        ("Porsanger", "5622"), ("Porsáŋgu", "5622"), ("Porsanki", "5622"),
        ("Kåfjord", "5540"), ("Gáivuotna", "5540"), ("Kaivuono", "5540"),
        ("Hamarøy", "1875"), ("Hábmer", "1875"),
        ("Lavangen", "5518"), ("Loabák", "5518"),
        ("Snåsa", "5041"), ("Snåase", "5041"),
        ("Harstad", "5503"), ("Hárstták", "5503"), ("Hattfjelldal", "1826"), ("Aarborte", "1826"),
        ("Herøy (Nordland)", "1818"), ("Bø", "1867"), ("Sande (Vestfold)", "3903"),
        ("5501 Tromsø", "5501"),
    ],
)
def test_names_norwegian_and_sami(name, code_2024):
    match = resolve_municipality(name)
    assert (match.code_2024, match.matched_by) == (code_2024, "name" if not name[0].isdigit() else "code")


def test_match_carries_the_norwegian_2024_name():
    assert resolve_municipality("Deatnu").name == "Tana"
    assert resolve_municipality("1931").name == "Senja"


def test_code_history_flags_splits():
    history = load_code_history().set_index("code")
    tysfjord = history.loc["1850"]
    assert bool(tysfjord["split"]) and pd.isna(tysfjord["code_2024"]) and tysfjord["split_into"] == "1806;1875"
    assert history.loc["1902", "code_2024"] == "5501"
    assert history.loc["5401", "valid_from"] == 2020 and history.loc["5401", "valid_to"] == 2023
    assert history.index.is_unique


def test_northern_norway_had_87_municipalities_in_2019():
    # Seed 001: "45 av 87" municipalities in Northern Norway applied in 2019.
    history = load_code_history()
    valid_2019 = history[
        (history["valid_from"].isna() | (history["valid_from"] <= 2019))
        & (history["valid_to"].isna() | (history["valid_to"] >= 2019))
    ]
    northern = valid_2019[valid_2019["code"].str[:2].isin(["18", "19", "20"])]
    assert len(northern) == 87


# --- municipalities table ----------------------------------------------------

def test_municipality_table_covers_the_north():
    muni = load_municipalities()
    assert len(muni) == 357 and muni["code_2024"].is_unique
    north = muni[muni["county"].isin(["Nordland", "Troms", "Finnmark"])]
    assert north.groupby("county").size().to_dict() == {"Finnmark": 18, "Nordland": 41, "Troms": 21}
    # Finnmark 18; UNN = Troms 21 + Narvik, Evenes, Lødingen; Helgeland 18; Nordland the other 20.
    assert north["health_trust_area"].value_counts().to_dict() == {"UNN": 24, "Nordland": 20, "Finnmark": 18, "Helgeland": 18}
    assert muni.loc[~muni["county"].isin(["Nordland", "Troms", "Finnmark"]), "health_trust_area"].isna().all()
    assert north["centrality"].notna().all()
    assert muni["code_2024"].str.fullmatch(r"\d{4}").all()


def test_municipality_attributes():
    muni = load_municipalities().set_index("code_2024")
    assert muni.loc["5501", "former_codes"] == "1902;5401"
    assert muni.loc["5530", "former_codes"] == "1927;1928;1929;1931;5421"
    # sentralitet.csv: 1902 Tromsø "3", 1804 Bodø "2", Lenvik/Berg/Torsken/Tranøy all "0".
    assert (muni.loc["5501", "centrality"], muni.loc["1804", "centrality"], muni.loc["5530", "centrality"]) == (3, 2, 0)
    # Narvik: Narvik 1805 = 2, Ballangen = 2, Tysfjord = 0 -> largest former municipality, Narvik.
    assert muni.loc["1806", "centrality"] == 2
    assert muni.loc["0301", "name"] == "Oslo" and muni.loc["5628", "name_official"] == "Deatnu - Tana"


def test_sami_language_area():
    muni = load_municipalities()
    sami = set(muni.loc[muni["sami_area"], "name"])
    assert sami == {
        "Karasjok", "Kautokeino", "Tana", "Porsanger", "Nesseby", "Kåfjord", "Lavangen",
        "Tjeldsund", "Hamarøy", "Hattfjelldal", "Røyrvik", "Røros", "Snåsa",
    }


# --- population (SSB 07459) --------------------------------------------------

def test_population_known_values():
    # befolkning_2024.csv rows "5501,Tromsø,2024,78745" and "5501,Tromsø,2018,75638".
    assert population_at("5501", 2024) == 78_745
    assert population_at("5501", 2018) == 75_638


def test_population_total_2024_matches_ssb():
    population = load_population()
    assert population.loc[population["year"] == 2024, "population"].sum() == 5_550_203


def test_population_of_tysfjord_parts_before_2020_is_carried_back_and_flagged():
    assert population_at("1806", 2019) == population_at("1806", 2020) == 21_845
    flags = load_population().set_index(["code_2024", "year"])["estimated"]
    assert flags[("1806", 2019)] and not flags[("1806", 2020)] and not flags[("5501", 2019)]


def test_population_errors():
    with pytest.raises(AlisError, match="not a 2024 municipality code"):
        population_at("1902", 2019)
    with pytest.raises(AlisError, match="no SSB population for 1806 in 2010; available 2015-2026"):
        population_at("1806", 2010)


@pytest.mark.parametrize(
    "population, label",
    [(0, "<2000"), (1999, "<2000"), (2000, "2000-4999"), (4999, "2000-4999"), (5000, "5000-9999"),
     (9999, "5000-9999"), (10000, "10000-49999"), (49999, "10000-49999"), (50000, ">=50000"), (700000, ">=50000")],
)
def test_size_class_boundaries(population, label):
    assert size_class(population) == label
    assert label in SIZE_CLASS_LABELS


def test_size_class_refuses_negative():
    with pytest.raises(AlisError, match="non-negative"):
        size_class(-1)


# --- costs (seeds 003, 004) --------------------------------------------------

def test_seed_003_cost_parameters():
    # Seed 003's table for 800 patients is built from these (alis_research.analysis.costs reproduces it):
    # 0-500 band 225,500 (private); 501-800 band 135,300 and 169,125 (1.25 x).
    rate = cost_parameter("nord_basic_grant_per_patient")
    assert rate * 500 == 225_500 and rate * 300 == 135_300
    assert cost_parameter("nord_alis_grant_factor_above_limit") * rate * 300 == 169_125
    assert cost_parameter("nord_alis_guaranteed_basic_grant") == 400_000
    assert cost_parameter("nord_recruitment_grant") == 500_000


def test_seed_004_alis_vest_budget_adds_up():
    p = cost_parameter
    lines = p("vest_project_leader") + p("vest_administration") + p("vest_office") + p("vest_research") + p("vest_meetings")
    gross = lines + p("vest_candidates") * p("vest_grant_per_candidate")
    assert gross == p("vest_gross_cost") == 5_600_000
    assert gross - p("vest_candidates") * p("vest_municipal_copayment_per_candidate") == p("vest_net_cost") == 5_000_000


def test_cost_parameters_table():
    costs = load_cost_parameters()
    assert list(costs.columns) == ["parameter", "value", "unit", "year", "source", "description"]
    assert costs["parameter"].is_unique
    # Every value is either read from a seed document or marked as a documented assumption.
    assert set(costs["source"]) <= {"seed 000", "seed 003", "seed 004", "assumption"}
    assert {"seed 003", "seed 004"} <= set(costs["source"])
    assumed = costs[costs["source"] == "assumption"]
    assert assumed["description"].str.contains("ssum").all()
    with pytest.raises(AlisError, match="unknown cost parameter 'nope'"):
        cost_parameter("nope")


# --- the build script ----------------------------------------------------------

@pytest.mark.skipif(not SSB_DIR.exists(), reason="the SSB source files (../shared/data/ssb) are not available")
def test_build_script_reproduces_the_shipped_tables(tmp_path):
    subprocess.run(
        [sys.executable, str(REPO / "scripts" / "build_reference.py"), "--ssb-dir", str(SSB_DIR), "--out", str(tmp_path)],
        check=True, capture_output=True,
    )
    for name in ("municipalities", "code_history", "municipality_names", "population"):
        assert filecmp.cmp(tmp_path / f"{name}.csv", REFERENCE_DATA / f"{name}.csv", shallow=False), name
    assert filecmp.cmp(tmp_path / "SOURCES.md", REFERENCE_DATA / "SOURCES.md", shallow=False)


@pytest.mark.skipif(not SSB_DIR.exists(), reason="the SSB source files (../shared/data/ssb) are not available")
def test_population_agrees_with_the_ssb_file():
    raw = pd.read_csv(SSB_DIR / "befolkning_2024.csv", dtype={"kom2024": str})
    raw = raw[raw["befolkning"] > 0].set_index(["kom2024", "aar"])["befolkning"]
    shipped = load_population()
    shipped = shipped[~shipped["estimated"]].set_index(["code_2024", "year"])["population"]
    assert shipped.sort_index().equals(raw.sort_index().rename_axis(["code_2024", "year"]).rename("population"))
