#!/usr/bin/env python
"""Build the shipped municipality reference tables from the public SSB files.

Reads the SSB files kept in ``../shared/data/ssb/`` (see that folder's README for
their origin, encodings and separators) and writes compact, sorted UTF-8 tables to
``alis_research/reference/data/``:

``municipalities.csv``
    one row per 2024 municipality (all 357 of Norway): code, names, county,
    health-trust area (Northern Norway only), centrality, Sami language area,
    the codes it had in 2018-2023.
``code_history.csv``
    every municipality code valid at some time in 2018-2024 with its 2024 code;
    codes of municipalities that were split are flagged and carry no 2024 code.
``municipality_names.csv``
    every accepted spelling (Norwegian, Sami, Kven, historical, ASCII-free) -> 2024 code.
``population.csv``
    SSB table 07459, population on 1 January, on 2024 boundaries.
``SOURCES.md``
    the source of every column.

The roster, rejected applicants, application counts and cost parameters are
hand-written from the seeds and are not touched by this script.

Usage::

    python scripts/build_reference.py [--ssb-dir ../shared/data/ssb] [--out alis_research/reference/data]

The output is deterministic: the same input files give byte-identical tables.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import pandas as pd

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SSB_DIR = REPO_ROOT.parent / "shared" / "data" / "ssb"
DEFAULT_OUT = REPO_ROOT / "alis_research" / "reference" / "data"

#: First year of the code vintages the package accepts (the issue: "any vintage 2018-2024").
FIRST_CODE_YEAR = 2018
REFERENCE_YEAR = 2024

#: County of a 2024 municipality code, from its first two digits (2024 county structure).
COUNTY_BY_PREFIX = {
    "03": "Oslo", "11": "Rogaland", "15": "Møre og Romsdal", "18": "Nordland",
    "31": "Østfold", "32": "Akershus", "33": "Buskerud", "34": "Innlandet",
    "39": "Vestfold", "40": "Telemark", "42": "Agder", "46": "Vestland",
    "50": "Trøndelag", "55": "Troms", "56": "Finnmark",
}

# Health-trust area (helseforetaksområde / OSO-område) of Helse Nord, by 2024 code.
# Finnmark = Finnmark county (Finnmarkssykehuset); UNN = Troms county plus Ofoten
# (UNN Narvik: Narvik incl. Ballangen and east Tysfjord, Evenes) and Lødingen, which
# uses UNN Harstad; Helgeland = the 18 Helgeland municipalities (Helgelandssykehuset);
# Nordland = the rest of Nordland county: Salten, Lofoten, Vesterålen and Hamarøy
# (incl. west Tysfjord), served by Nordlandssykehuset.  The split of Tysfjord between
# UNN (east, Narvik) and Nordland (west, Hamarøy) is the "half" municipality in
# seed 001's counts (UNN 19.5, Nordland 7.5).
OFOTEN_TO_UNN = {"1806": "Narvik", "1853": "Evenes", "1851": "Lødingen"}
HELGELAND = {
    "1811": "Bindal", "1812": "Sømna", "1813": "Brønnøy", "1815": "Vega",
    "1816": "Vevelstad", "1818": "Herøy", "1820": "Alstahaug", "1822": "Leirfjord",
    "1824": "Vefsn", "1825": "Grane", "1826": "Hattfjelldal", "1827": "Dønna",
    "1828": "Nesna", "1832": "Hemnes", "1833": "Rana", "1834": "Lurøy",
    "1835": "Træna", "1836": "Rødøy",
}

# Forvaltningsområdet for samisk språk as of 2023 (shared data README), 2024 codes:
# Karasjok, Kautokeino, Tana, Porsanger, Nesseby, Kåfjord, Lavangen, Tjeldsund,
# Hamarøy, Hattfjelldal, Røyrvik, Røros, Snåsa.
SAMI_AREA = {
    "5610": "Karasjok", "5612": "Kautokeino", "5628": "Tana", "5622": "Porsanger",
    "5636": "Nesseby", "5540": "Kåfjord", "5518": "Lavangen", "5512": "Tjeldsund",
    "1875": "Hamarøy", "1826": "Hattfjelldal", "5043": "Røyrvik", "5025": "Røros",
    "5041": "Snåsa",
}

# SSB writes multi-lingual names as "A - B [- C]". The Norwegian form is the first
# part except for these municipalities, where SSB puts the Sami form first.
SAMI_FIRST = {
    "Aarborte": "Hattfjelldal", "Hábmer": "Hamarøy", "Snåase": "Snåsa",
    "Raarvihke": "Røyrvik", "Dielddanuorri": "Tjeldsund", "Loabák": "Lavangen",
    "Gáivuotna": "Kåfjord", "Kárásjohka": "Karasjok", "Kárášjohka": "Karasjok",
    "Guovdageaidnu": "Kautokeino", "Deatnu": "Tana", "Unjárga": "Nesseby",
    "Divtasvuodna": "Tysfjord",
}

# Spellings not (or not correctly) in the SSB files: ISO-8859-1 cannot hold š or ŋ,
# so the exports show "Kárásjohka"/"Porsángu". Northern Sami names below are the
# established ones (Romsa = Tromsø, Čáhcesuolu = Vadsø, Mátta-Várjjat = Sør-Varanger).
EXTRA_NAMES = {
    "5610": ["Kárášjohka"],
    "5622": ["Porsáŋgu"],
    "5501": ["Romsa"],
    "5607": ["Čáhcesuolu"],
    "5605": ["Mátta-Várjjat"],
    "1806": ["Áhkanjárga"],
}

# Codes whose municipality was split, so a code alone cannot say where a person was.
# 1850 Tysfjord and 5012 Snillfjord (2020) come from KLASS ("splittet"); 1507 Ålesund
# (2020-2023) was split in 2024 into Ålesund 1508 and Haram 1580 (after KLASS's file).
SPLIT_2024 = {"1507": (["1508", "1580"], "Ålesund 2020-2023 was split on 1 January 2024 into 1508 Ålesund and 1580 Haram")}
SPLIT_NOTES = {
    "1850": "Tysfjord was split on 1 January 2020: the east (Kjøpsvik) went to 1806 Narvik, "
            "the west (Drag) to 1875 Hamarøy",
    "5012": "Snillfjord was split on 1 January 2020 between 5055 Heim, 5056 Hitra and 5059 Orkland",
}

HEALTH_TRUST_NOTE = "Finnmark = Finnmark county; UNN = Troms + Narvik, Evenes, Lødingen; Helgeland = 18 Helgeland municipalities; Nordland = rest of Nordland"


def read_ssb(ssb_dir: Path) -> dict[str, pd.DataFrame]:
    """Read the SSB files as published (mixed encodings and separators), all as text."""
    def utf8(name):
        return pd.read_csv(ssb_dir / name, dtype=str, keep_default_na=False, encoding="utf-8")

    def latin1(name):
        return pd.read_csv(ssb_dir / name, dtype=str, keep_default_na=False, encoding="iso-8859-1", sep=";")

    return {
        "population": utf8("befolkning_2024.csv"),
        "mapping": utf8("kom_mapping.csv"),
        "klass": latin1("alle_kommunenummer_fra2013_til2020_wide.csv"),
        "centrality": latin1("sentralitet.csv"),
    }


def name_parts(official: str) -> list[str]:
    """Split an SSB name "Deatnu - Tana" into its language forms, Norwegian first."""
    parts = [p.strip() for p in official.split(" - ") if p.strip()]
    if parts and parts[0] in SAMI_FIRST:
        norwegian = SAMI_FIRST[parts[0]]
        parts = [norwegian] + [p for p in parts if p != norwegian]
    return parts


def norwegian_name(official: str) -> str:
    """The Norwegian form of an SSB name, keeping SSB's county qualifier, e.g. 'Herøy (Nordland)'."""
    return name_parts(official)[0]


def health_trust_area(code: str) -> str | None:
    county = COUNTY_BY_PREFIX[code[:2]]
    if county == "Finnmark":
        return "Finnmark"
    if county == "Troms" or code in OFOTEN_TO_UNN:
        return "UNN"
    if code in HELGELAND:
        return "Helgeland"
    if county == "Nordland":
        return "Nordland"
    return None


def split_targets(klass: pd.DataFrame, mapping: pd.DataFrame) -> dict[str, list[str]]:
    """Codes that KLASS maps to more than one 2020 code, as lists of 2024 codes.

    The 2019 code and its 2018/2017 predecessors are all flagged (Snillfjord was
    1613 until 2017 and 5012 in 2018-2019).
    """
    to_2024 = dict(zip(mapping["gammelt_nr"], mapping["nr_2024"]))
    targets = klass.groupby("kommunenummer_2019")["kommunenummer_2020"].agg(lambda s: sorted(set(s)))
    split = {}
    for code_2019, codes_2020 in targets.items():
        if len(codes_2020) > 1:
            codes_2024 = sorted({to_2024[c] for c in codes_2020})
            rows = klass[klass["kommunenummer_2019"] == code_2019]
            for col in ("kommunenummer_2018", "kommunenummer_2019"):
                for old in rows[col].unique():
                    split[old] = codes_2024
    for code, (codes_2024, _note) in SPLIT_2024.items():
        split[code] = codes_2024
    return split


def first_vintage(klass: pd.DataFrame) -> dict[str, int]:
    """First KLASS vintage (2013, 2017, 2018, 2019, 2020) in which each code appears."""
    first: dict[str, int] = {}
    for year in (2020, 2019, 2018, 2017, 2013):
        for code in klass[f"kommunenummer_{year}"]:
            first[code] = year
    return first


def build_code_history(mapping: pd.DataFrame, split: dict[str, list[str]], klass: pd.DataFrame) -> pd.DataFrame:
    """Every code valid at some time in 2018-2024 with its 2024 code (none if split).

    kom_mapping leaves ``start_yr`` empty for most codes, also for those new in 2020
    (Narvik 1806, Hamarøy 1875, Senja 5421 ...) or 2024 (55xx, 56xx ...). An empty
    start is filled from the first KLASS vintage holding the code (left empty when
    that is 2013, the first vintage), or 2024 for a 2024 code KLASS does not know.
    """
    m = mapping.copy()
    m["valid_from"] = pd.to_numeric(m["start_yr"], errors="coerce").astype("Int64")
    first = first_vintage(klass)
    current = m["end_yr"] == ""
    for i in m.index[m["valid_from"].isna()]:
        code = m.at[i, "gammelt_nr"]
        year = first.get(code, REFERENCE_YEAR if current[i] else None)
        if year is not None and year > 2013:
            m.at[i, "valid_from"] = year
    m["valid_to"] = pd.to_numeric(m["end_yr"], errors="coerce").astype("Int64")
    in_range = m["valid_to"].isna() | (m["valid_to"] >= FIRST_CODE_YEAR)
    m = m[in_range & (m["nr_2024"] != "")].copy()
    # Codes split in the 2020 reform, valid until 2019 (kom_mapping maps them whole).
    m["split"] = m["gammelt_nr"].isin(split.keys())
    m["split_into"] = m["gammelt_nr"].map(lambda c: ";".join(split.get(c, [])))
    m["code_2024"] = m["nr_2024"].where(~m["split"], "")
    notes = []
    for code, target, valid_to in zip(m["gammelt_nr"], m["nr_2024"], m["valid_to"]):
        if code in SPLIT_NOTES:
            notes.append(SPLIT_NOTES[code])
        elif code in SPLIT_2024:
            notes.append(SPLIT_2024[code][1])
        elif code == target:
            notes.append("")
        else:
            notes.append(f"in use until {int(valid_to)}; 2024 code {target}")
    m["note"] = notes
    out = m.rename(columns={"gammelt_nr": "code", "navn": "name"})[
        ["code", "name", "valid_from", "valid_to", "code_2024", "split", "split_into", "note"]
    ]
    assert out["code"].is_unique, "a code appears twice in the 2018-2024 code history"
    return out.sort_values("code").reset_index(drop=True)


# Merged municipalities whose former parts had different centrality: the value of
# the largest former municipality by population is used. The shared files hold
# populations on 2024 boundaries only, so the largest part is named here by hand
# (SSB 1 January 2019 populations, orders of magnitude apart in every case).
LARGEST_FORMER = {
    "1506": "1502",  # Molde (about 27,000) over Nesset, Midsund, Sandøy
    "1578": "1524",  # Norddal (about 1,600) over Stordal (about 1,000)
    "1806": "1805",  # Narvik (about 18,600) over Ballangen, Tysfjord
    "3909": "0709",  # Larvik (about 43,000) over Lardal (about 2,400)
    "3911": "0722",  # Nøtterøy (about 21,000) over Tjøme (about 5,000)
    "4602": "1401",  # Flora (about 11,800) over Vågsøy (about 5,800)
    "4618": "1228",  # Odda (about 7,000) over Ullensvang, Jondal
    "5053": "1756",  # Inderøy (about 6,800) over Leksvik (about 3,500)
    "5055": "1612",  # Hemne (about 4,200) over the part of Snillfjord
}


def build_centrality(centrality: pd.DataFrame, mapping: pd.DataFrame, split: dict[str, list[str]]) -> pd.DataFrame:
    """SSB's old four-level centrality on 2024 codes, with the rule used per municipality.

    ``sentralitet.csv`` uses 2013-2016 codes. Each old code is mapped to its 2024
    code (a split code to every part). Where former municipalities merged with
    different values, the merged municipality takes the value of its largest former
    municipality by population (:data:`LARGEST_FORMER`).
    """
    to_2024 = dict(zip(mapping["gammelt_nr"], mapping["nr_2024"]))
    rows = []
    for _, r in centrality.iterrows():
        old = r["targetCode"]
        targets = split.get(old) or [to_2024.get(old, "")]
        for code_2024 in targets:
            if code_2024:
                rows.append((code_2024, int(r["sourceCode"]), old, r["targetName"]))
    frame = pd.DataFrame(rows, columns=["code_2024", "centrality", "old_code", "old_name"])
    out = []
    for code, g in frame.groupby("code_2024"):
        values = sorted(set(g["centrality"]))
        parts = "; ".join(f"{c} {n}={v}" for c, n, v in sorted(zip(g["old_code"], g["old_name"], g["centrality"])))
        if len(g) == 1:
            value, rule = values[0], "unchanged"
        elif len(values) == 1:
            value, rule = values[0], "merged, all equal"
        else:
            assert code in LARGEST_FORMER, f"{code}: merged with different centralities ({parts}); name its largest part"
            value = int(g.loc[g["old_code"] == LARGEST_FORMER[code], "centrality"].iloc[0])
            rule = f"merged, largest former municipality {LARGEST_FORMER[code]}"
        out.append((code, value, rule, parts))
    return pd.DataFrame(out, columns=["code_2024", "centrality", "centrality_rule", "centrality_from"])


def build_names(municipalities: pd.DataFrame, history: pd.DataFrame) -> pd.DataFrame:
    """Every accepted spelling of a municipality name -> 2024 code (or split)."""
    rows = []
    for _, r in municipalities.iterrows():
        rows.append((r["name_official"], r["code_2024"], "", "current"))
        for i, part in enumerate(name_parts(r["name_official"])):
            rows.append((part, r["code_2024"], "", "current" if i == 0 else "current, other language"))
        for extra in EXTRA_NAMES.get(r["code_2024"], []):
            rows.append((extra, r["code_2024"], "", "current, other language"))
    for _, r in history.iterrows():
        for part in [r["name"], *name_parts(r["name"])]:
            rows.append((part, r["code_2024"], r["split_into"], "historical"))
    names = pd.DataFrame(rows, columns=["name", "code_2024", "split_into", "kind"])
    # Keep the strongest kind per (name, target): current beats historical.
    names["_rank"] = names["kind"].map({"current": 0, "current, other language": 1, "historical": 2})
    names = names.sort_values(["name", "code_2024", "split_into", "_rank"])
    names = names.drop_duplicates(["name", "code_2024", "split_into"]).drop(columns="_rank")
    # A historical name that is also a current name of the same municipality adds nothing.
    return names.sort_values(["name", "code_2024", "split_into"]).reset_index(drop=True)


#: Years before 2020 for which Narvik and Hamarøy get their 1 January 2020 population.
CARRY_BACK_YEARS = range(2015, 2020)


#: 2024 municipalities that took part of a municipality split in 2020 (Tysfjord,
#: Snillfjord): SSB cannot back-cast them and shows 0 before 2020.
SPLIT_2020_PARTS = ("1806", "1875", "5055", "5056", "5059")


def carry_back_split_parts(population: pd.DataFrame) -> pd.DataFrame:
    """Fill the parts of the 2020 splits before 2020, which SSB cannot back-cast.

    Narvik 1806 and Hamarøy 1875 each took part of Tysfjord (Heim, Hitra and
    Orkland of Snillfjord), so SSB's table on 2024 boundaries shows 0 for them before
    2020. For 2015-2019 (the study's years and the applications of 2018) the
    1 January 2020 population is carried back and the rows flagged ``estimated``:
    this keeps each one's size class (Narvik 1805 alone had about 18,600 inhabitants;
    Hamarøy 1849 plus west Tysfjord about 2,800). Earlier zero rows are dropped, and
    so are Haram 1580's zeros for 2020-2023 (it was part of Ålesund then; Ålesund
    1508 shows the merged population for those years).
    """
    zero = population["population"] == 0
    zero_codes = set(population.loc[zero, "code_2024"])
    assert zero_codes <= {*SPLIT_2020_PARTS, "1580"}, f"unexpected zero populations: {sorted(zero_codes)}"
    population = population[~zero].assign(estimated=False)
    filled = []
    for code in SPLIT_2020_PARTS:
        value_2020 = population.loc[(population["code_2024"] == code) & (population["year"] == 2020), "population"].iloc[0]
        filled += [(code, year, value_2020, True) for year in CARRY_BACK_YEARS]
    extra = pd.DataFrame(filled, columns=["code_2024", "year", "population", "estimated"])
    return pd.concat([population, extra], ignore_index=True)


def build(ssb_dir: Path) -> dict[str, pd.DataFrame]:
    src = read_ssb(ssb_dir)
    pop = src["population"]
    mapping = src["mapping"]
    split = split_targets(src["klass"], mapping)

    history = build_code_history(mapping, split, src["klass"])

    names_2024 = pop[["kom2024", "navn"]].drop_duplicates().rename(columns={"kom2024": "code_2024", "navn": "name_official"})
    assert names_2024["code_2024"].is_unique
    muni = names_2024.copy()
    muni["name"] = muni["name_official"].map(norwegian_name)
    muni["county"] = muni["code_2024"].str[:2].map(COUNTY_BY_PREFIX)
    assert muni["county"].notna().all(), "unknown county prefix"
    muni["health_trust_area"] = muni["code_2024"].map(health_trust_area)
    centrality = build_centrality(src["centrality"], mapping, split)
    muni = muni.merge(centrality, on="code_2024", how="left", validate="one_to_one")
    muni["centrality"] = muni["centrality"].astype("Int64")
    muni["sami_area"] = muni["code_2024"].isin(SAMI_AREA.keys())
    former = history[(history["code"] != history["code_2024"]) & (history["code_2024"] != "")]
    former_codes = former.groupby("code_2024")["code"].agg(lambda s: ";".join(sorted(s)))
    # Split codes belong to every part: list them too, the history says they were split.
    split_rows = history[history["split"]]
    extra = {}
    for code, into in zip(split_rows["code"], split_rows["split_into"]):
        for target in into.split(";"):
            extra.setdefault(target, []).append(code)
    muni["former_codes"] = [
        ";".join(sorted(set(filter(None, former_codes.get(c, "").split(";"))) | set(extra.get(c, []))))
        for c in muni["code_2024"]
    ]
    missing = set(SAMI_AREA) - set(muni["code_2024"])
    assert not missing, f"Sami-area codes not in the 2024 list: {missing}"
    for code, name in {**SAMI_AREA, **HELGELAND, **OFOTEN_TO_UNN}.items():
        got = muni.loc[muni["code_2024"] == code, "name"].iloc[0]
        assert got.startswith(name), f"{code}: expected {name}, SSB says {got}"
    muni = muni[[
        "code_2024", "name", "name_official", "county", "health_trust_area", "centrality",
        "centrality_rule", "centrality_from", "sami_area", "former_codes",
    ]].sort_values("code_2024").reset_index(drop=True)

    population = pop.rename(columns={"kom2024": "code_2024", "aar": "year", "befolkning": "population"})
    population = population[["code_2024", "year", "population"]].astype({"year": int, "population": int})
    population = carry_back_split_parts(population)
    population = population.sort_values(["code_2024", "year"]).reset_index(drop=True)

    names = build_names(muni, history)
    return {"municipalities": muni, "code_history": history, "municipality_names": names, "population": population}


SOURCES = """\
# Sources of the shipped reference tables

Generated by `scripts/build_reference.py` from Statistics Norway's public files
(Kilde: Statistisk sentralbyrå, reused with attribution) as collected in
`../shared/data/ssb/` (see that folder's README). Do not edit the generated
tables by hand; rerun the script.

## municipalities.csv (generated; one row per 2024 municipality, all of Norway)
| column | source |
|---|---|
| `code_2024`, `name_official` | `befolkning_2024.csv` (SSB table 07459 on 2024 boundaries), columns `kom2024`, `navn` |
| `name` | Norwegian form of `name_official` (SSB writes `Sami - Norwegian` for some; the order is fixed in the script) |
| `county` | first two digits of `code_2024` (2024 county structure) |
| `health_trust_area` | Helse Nord's four areas, hand-coded in the script: {hta}; empty outside Northern Norway |
| `centrality`, `centrality_rule`, `centrality_from` | `sentralitet.csv` (SSB's old four-level classification, 0 = least central, 3 = central, 2013-2016 codes) mapped to 2024 codes with `kom_mapping.csv`; Tysfjord 1850 counted in both Narvik and Hamarøy; merged municipalities with different values take the value of the largest former municipality by population (named in the script) (`centrality_rule` says which applied, `centrality_from` lists the inputs) |
| `sami_area` | forvaltningsområdet for samisk språk as of 2023, from the shared data README (13 municipalities) |
| `former_codes` | codes valid 2018-2023 that map to this municipality (`code_history.csv`), including split codes that partly went here |

## code_history.csv (generated)
| column | source |
|---|---|
| `code`, `name`, `valid_from`, `valid_to` | `kom_mapping.csv` (`gammelt_nr`, `navn`, `start_yr`, `end_yr`; empty = no limit known), codes valid in {first}-2024 only. An empty `start_yr` is filled with the first KLASS vintage (2017, 2018, 2019, 2020) holding the code, or 2024 for a 2024 code KLASS does not list |
| `code_2024` | `kom_mapping.csv` `nr_2024`; **empty for split codes** |
| `split`, `split_into` | SSB KLASS 131 (`alle_kommunenummer_fra2013_til2020_wide.csv`, remark "splittet"): Tysfjord 1850 -> 1806;1875, Snillfjord 5012 -> 5055;5056;5059; plus Ålesund 1507 (2020-2023) -> 1508;1580, split in 2024 (hand-coded). kom_mapping maps these whole to one part, which the package does not trust |
| `note` | generated text |

## municipality_names.csv (generated)
Every current and 2018-2024 historical SSB name, whole and each language form (split at " - "), plus
hand-added spellings the ISO-8859-1 exports cannot hold or do not give (Kárášjohka, Porsáŋgu,
Romsa, Čáhcesuolu, Mátta-Várjjat, Áhkanjárga). `kind` = current / current, other language / historical.

## population.csv (generated)
SSB table 07459, population on 1 January, on 2024 boundaries (`befolkning_2024.csv`: `kom2024`,
`aar`, `befolkning`). SSB shows 0 for Narvik 1806 and Hamarøy 1875 before 2020 (both took
part of Tysfjord, split in 2020, which SSB cannot back-cast; likewise Heim, Hitra and Orkland for
Snillfjord): for 2015-2019 their 1 January 2020 population is carried back and flagged
`estimated = True`; their earlier zero rows are dropped. Haram 1580 has no rows for 2020-2023
(it was part of Ålesund; Ålesund 1508 shows the merged population for those years).

## Hand-written tables (not touched by the script)
| file | source |
|---|---|
| `roster.csv` | seed 000 (ALIS-Nord participants confirmed after the steering group meeting of 4 June 2019); `municipality_codes` are the 2024 codes the unit covers |
| `rejected.csv` | seed 000 (applicants refused) |
| `applications.csv` | seed 001 (applications by 1 April 2019; inhabitants per SSB 1 January 2018) |
| `published_durations.csv` | Abelsen, Gaski and Brandstorp 2015, *Varighet av fastlegeavtaler*, Tidsskr Nor Legeforen (as quoted in the BRIEF): median contract duration 2.75 years under 2,000 inhabitants, 5.91 nationally, 8.37 at 50,000 or more |
| `cost_parameters.csv` | seed 003 (NSDM ALIS-Nord presentation, municipal cost of a list of 800, 2019 rates) and seed 004 (ALIS-Vest budget) |
"""


def write_atomic(frames: dict[str, pd.DataFrame], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name, frame in frames.items():
        target = out / f"{name}.csv"
        fd, tmp = tempfile.mkstemp(dir=out, prefix=f".{name}.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            frame.to_csv(fh, index=False, lineterminator="\n")
        os.replace(tmp, target)
    fd, tmp = tempfile.mkstemp(dir=out, prefix=".SOURCES.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
        fh.write(SOURCES.format(hta=HEALTH_TRUST_NOTE, first=FIRST_CODE_YEAR))
    os.replace(tmp, out / "SOURCES.md")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ssb-dir", type=Path, default=DEFAULT_SSB_DIR, help=f"folder of the SSB files (default {DEFAULT_SSB_DIR})")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output folder (default {DEFAULT_OUT})")
    args = parser.parse_args(argv)
    if not (args.ssb_dir / "befolkning_2024.csv").exists():
        print(f"build_reference: no befolkning_2024.csv in {args.ssb_dir}; pass --ssb-dir", file=sys.stderr)
        return 1
    frames = build(args.ssb_dir)
    write_atomic(frames, args.out)
    for name, frame in frames.items():
        print(f"{name}.csv: {len(frame)} rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
