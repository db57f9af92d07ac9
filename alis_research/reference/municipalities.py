"""Municipalities: 2024 codes, code history, names, population, size class.

Municipality codes changed in the 2020 reform and again in 2024 (Troms and
Finnmark split). Everything in the package is keyed on the **2024 code**;
:func:`resolve_municipality` turns any code of 2018-2024 or any name (Norwegian,
Sami or Kven form, current or former) into it, and refuses rather than guesses
when the answer is not unique (a split municipality, an ambiguous name).
"""
from __future__ import annotations

import bisect
import re
import unicodedata
from dataclasses import dataclass

import pandas as pd

from ..config import SIZE_CLASS_BREAKS, SIZE_CLASS_LABELS
from ..errors import AlisError
from ._tables import read_table, to_bool, to_int

#: The year whose municipality codes the package uses throughout.
REFERENCE_YEAR = 2024


class UnknownMunicipality(AlisError):
    """A municipality code or name that cannot be resolved to one 2024 municipality."""


@dataclass(frozen=True)
class MunicipalityMatch:
    """The 2024 municipality a user's code or name resolved to.

    Attributes
    ----------
    code_2024 : str
        Four-digit 2024 code, e.g. ``'5501'``.
    name : str
        Norwegian 2024 name, e.g. ``'Tromsø'``.
    input : str
        The value as given.
    matched_by : str
        ``'code'`` or ``'name'``.
    """

    code_2024: str
    name: str
    input: str
    matched_by: str


def load_municipalities() -> pd.DataFrame:
    """One row per 2024 municipality of Norway (357), with the north fully described.

    Returns
    -------
    DataFrame
        ``code_2024`` (str), ``name`` (Norwegian form), ``name_official`` (SSB's
        multi-language name), ``county``, ``health_trust_area`` (Finnmark/UNN/
        Nordland/Helgeland; NA outside Northern Norway), ``centrality`` (Int64, SSB's
        old four-level classification, 0 least … 3 most central),
        ``centrality_rule``, ``centrality_from``, ``sami_area`` (bool),
        ``former_codes`` (``'1902;5401'``: codes of 2018-2023 that map here).
    """
    table = read_table("municipalities")
    table["health_trust_area"] = table["health_trust_area"].replace("", pd.NA)
    table["centrality"] = to_int(table["centrality"])
    table["sami_area"] = to_bool(table["sami_area"])
    return table


def load_code_history() -> pd.DataFrame:
    """Every municipality code valid at some time in 2018-2024, with its 2024 code.

    Returns
    -------
    DataFrame
        ``code`` (str), ``name`` (SSB name of that code), ``valid_from``,
        ``valid_to`` (Int64 years; NA = no limit in SSB's file), ``code_2024``
        (NA for a split code), ``split`` (bool), ``split_into`` (``'1806;1875'``
        or NA), ``note``.
    """
    table = read_table("code_history")
    for column in ("valid_from", "valid_to"):
        table[column] = to_int(table[column])
    table["split"] = to_bool(table["split"])
    for column in ("code_2024", "split_into", "note"):
        table[column] = table[column].replace("", pd.NA)
    return table


def load_population() -> pd.DataFrame:
    """Population on 1 January per 2024 municipality and year (SSB table 07459).

    Returns
    -------
    DataFrame
        ``code_2024`` (str), ``year`` (int), ``population`` (int), ``estimated``
        (bool: True for Narvik 1806 and Hamarøy 1875 in 2015-2019, which hold
        their 2020 value because SSB cannot back-cast the Tysfjord split; the same
        for Heim, Hitra and Orkland after Snillfjord's split).
    """
    table = read_table("population")
    table["year"] = table["year"].astype(int)
    table["population"] = table["population"].astype(int)
    table["estimated"] = to_bool(table["estimated"])
    return table


def population_at(code_2024: str, year: int) -> int:
    """Population of a 2024 municipality on 1 January of ``year``.

    Parameters
    ----------
    code_2024 : str
        Four-digit 2024 code (use :func:`resolve_municipality` for anything else).
    year : int

    Returns
    -------
    int

    Raises
    ------
    AlisError
        If the code is not a 2024 code or SSB has no figure for that year.
    """
    lookup, years = _population_lookup()
    code = str(code_2024).strip()
    if code not in years:
        raise AlisError(
            f"population_at: {code_2024!r} is not a 2024 municipality code; "
            "resolve it first with resolve_municipality()"
        )
    try:
        return lookup[(code, int(year))]
    except KeyError:
        first, last = min(years[code]), max(years[code])
        extra = ""
        if code in {"1806", "1875"}:
            extra = " (Tysfjord was split in 2020 and SSB has no back-cast before that; the package carries 2020 back to 2015)"
        raise AlisError(
            f"population_at: no SSB population for {code} in {year}; available {first}-{last}{extra}"
        ) from None


def size_class(population: int) -> str:
    """Size class of a municipality by inhabitants, as in Abelsen et al. 2015.

    ``< 2,000``; ``2,000-4,999``; ``5,000-9,999``; ``10,000-49,999``; ``>= 50,000``,
    labelled as :data:`alis_research.config.SIZE_CLASS_LABELS`.

    Raises
    ------
    AlisError
        For a negative or missing population.
    """
    if population is None or pd.isna(population) or population < 0:
        raise AlisError(f"size_class: population must be a non-negative number, got {population!r}")
    return SIZE_CLASS_LABELS[bisect.bisect_right(SIZE_CLASS_BREAKS, population) - 1]


def resolve_municipality(value: str) -> MunicipalityMatch:
    """Resolve a municipality code (any vintage 2018-2024) or name to its 2024 municipality.

    Codes: four digits, e.g. ``'1902'``, ``'5401'`` and ``'5501'`` are all Tromsø.
    Names: case-insensitive, Norwegian, Sami or Kven form, current or former
    (``'Lenvik'`` -> Senja 5530, ``'Deatnu'`` -> Tana 5628); spellings without
    Norwegian or Sami letters are accepted when unambiguous (``'Tromso'``).

    Raises
    ------
    UnknownMunicipality
        For an unknown value, a three-digit code that lost its leading zero, a code
        or name of a municipality that was split (Tysfjord 1850: give the 2020+ code
        of the part), or a name shared by several municipalities (e.g. ``'Herøy'``).
    """
    text = "" if value is None else str(value).strip()
    if not text:
        raise UnknownMunicipality("empty municipality: give a 4-digit municipality code or a name")
    text = _KOMMUNE_SUFFIX.sub("", text)
    if re.fullmatch(r"\d+", text):
        return _resolve_code(text, str(value))
    code_and_name = re.fullmatch(r"(\d{3,4})\s*[-:]?\s*(\D.*)", text)
    if code_and_name:
        # "5501 Tromsø": both parts must agree, else the value is contradictory.
        by_code = _resolve_code(code_and_name.group(1), str(value))
        by_name = _resolve_name(code_and_name.group(2), str(value))
        if by_code.code_2024 != by_name.code_2024:
            raise UnknownMunicipality(
                f"municipality {str(value)!r}: the code means {by_code.code_2024} {by_code.name} "
                f"but the name means {by_name.code_2024} {by_name.name}; give one of them"
            )
        return by_code
    return _resolve_name(text, str(value))


# --- internals ---------------------------------------------------------------

#: Lookups built on first use (the tables are small; building them once keeps
#: resolving a whole dataset's column fast).
_CACHE: dict[str, object] = {}
#: "Tromsø kommune": a trailing word for municipality (Norwegian, Northern Sami) is dropped.
_KOMMUNE_SUFFIX = re.compile(r"\s+(kommune|suohkan)$", re.IGNORECASE)
_FOLD = str.maketrans({"ø": "o", "æ": "ae", "å": "a", "đ": "d", "ŋ": "n", "ŧ": "t", "ß": "ss"})


def _fold(name: str) -> str:
    """Lower case, no diacritics, Norwegian letters spelt in ASCII: 'Kárášjohka' -> 'karasjohka'."""
    lowered = name.casefold().translate(_FOLD)
    decomposed = unicodedata.normalize("NFKD", lowered)
    return re.sub(r"\s+", " ", "".join(c for c in decomposed if not unicodedata.combining(c))).strip()


def _without_qualifier(name: str) -> str:
    """'Herøy (Nordland)' -> 'Herøy'."""
    return re.sub(r"\s*\([^)]*\)\s*$", "", name)


def _name_of(code_2024: str) -> str:
    return _municipality_names()[code_2024]


def _municipality_names() -> dict[str, str]:
    if _CACHE.get("names_2024") is None:
        table = load_municipalities()
        _CACHE["names_2024"] = dict(zip(table["code_2024"], table["name"]))
    return _CACHE["names_2024"]


def _population_lookup():
    if _CACHE.get("population") is None:
        table = load_population()
        lookup = {(c, y): p for c, y, p in zip(table["code_2024"], table["year"], table["population"])}
        years: dict[str, list[int]] = {}
        for c, y in zip(table["code_2024"], table["year"]):
            years.setdefault(c, []).append(y)
        _CACHE["population"] = (lookup, years)
    return _CACHE["population"]


def _describe_split(split_into: str) -> str:
    return " or ".join(f"{code} {_name_of(code)}" for code in split_into.split(";"))


def _resolve_code(code: str, original: str) -> MunicipalityMatch:
    if len(code) == 3:
        raise UnknownMunicipality(
            f"municipality code {original!r} has 3 digits: did you mean 0{code}? Codes have 4 digits and "
            "spreadsheets often drop the leading zero; store the column as text"
        )
    if len(code) != 4:
        raise UnknownMunicipality(f"municipality code {original!r} must have 4 digits")
    history = _code_index()
    row = history.get(code)
    if row is None:
        raise UnknownMunicipality(
            f"unknown municipality code {original!r}: not a Norwegian municipality code in use 2018-2024"
        )
    if row["split"]:
        raise UnknownMunicipality(
            f"municipality code {code} ({row['name']}) cannot be resolved: {row['note']}. "
            f"Give the code valid from 2020 or 2024 instead ({_describe_split(row['split_into'])})"
        )
    return MunicipalityMatch(row["code_2024"], _name_of(row["code_2024"]), original, "code")


def _code_index() -> dict[str, dict]:
    if _CACHE.get("codes") is None:
        table = read_table("code_history")
        _CACHE["codes"] = {
            r["code"]: {**r, "split": r["split"] == "True"} for r in table.to_dict("records")
        }
    return _CACHE["codes"]


def _name_tiers() -> list[dict[str, set[tuple[str, str]]]]:
    """Lookup tiers, tried in order: exact current name; exact name with a county
    qualifier ('Sande (Vestfold)'); any name without its qualifier (current and former
    together, so that a former name shared with another municipality is ambiguous);
    the same folded to ASCII.

    Each maps a key to the set of (code_2024, split_into) it may mean.
    """
    if _CACHE.get("name_tiers") is None:
        names = read_table("municipality_names")
        tiers: list[dict] = [{}, {}, {}, {}]
        for name, code, split_into, kind in zip(names["name"], names["code_2024"], names["split_into"], names["kind"]):
            target = (code, split_into)
            if kind.startswith("current"):
                tiers[0].setdefault(name.casefold(), set()).add(target)
            if _without_qualifier(name) != name:
                tiers[1].setdefault(name.casefold(), set()).add(target)
            tiers[2].setdefault(_without_qualifier(name).casefold(), set()).add(target)
            tiers[3].setdefault(_fold(_without_qualifier(name)), set()).add(target)
        _CACHE["name_tiers"] = tiers
    return _CACHE["name_tiers"]


def _resolve_name(text: str, original: str) -> MunicipalityMatch:
    keys = (text.casefold(), text.casefold(), _without_qualifier(text).casefold(), _fold(_without_qualifier(text)))
    for index, key in zip(_name_tiers(), keys):
        targets = index.get(key)
        if not targets:
            continue
        codes = {code for code, _ in targets if code}
        splits = {split for code, split in targets if not code}
        if len(codes) == 1 and not splits:
            code = codes.pop()
            return MunicipalityMatch(code, _name_of(code), original, "name")
        if splits and not codes:
            raise UnknownMunicipality(
                f"municipality {original!r} was split and cannot be resolved from its name: "
                f"give the code valid from 2020 or 2024 of the part ({_describe_split(sorted(splits)[0])})"
            )
        candidates = sorted(codes | {c for s in splits for c in s.split(";")})
        listed = ", ".join(f"{c} {_name_of(c)}" for c in candidates)
        raise UnknownMunicipality(
            f"municipality name {original!r} is ambiguous: it may mean {listed}; give the 4-digit code"
        )
    raise UnknownMunicipality(
        f"unknown municipality {original!r}: not a Norwegian municipality name or code of 2018-2024 "
        "(Norwegian, Sami and Kven names are accepted)"
    )
