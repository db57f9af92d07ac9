"""The ALIS-Nord roster, rejected applicants and application counts (seeds 000, 001)."""
from __future__ import annotations


import pandas as pd

from ..config import CONTRACT_TYPES, HEALTH_TRUST_AREAS
from ._tables import read_table


def load_roster() -> pd.DataFrame:
    """The 25 ALIS-Nord municipality units as confirmed after 4 June 2019 (seed 000).

    Returns
    -------
    DataFrame
        ``unit`` (as the seed writes it, e.g. ``'Tana/Nesseby'``), ``area``
        (health-trust area), ``municipality_codes`` (2024 codes the unit covers,
        ``'5628;5636'``), ``municipality_names`` (their 2024 names), ``fastlønn``,
        ``næring`` (int: positions). 17 fastlønn + 15 næring = 32 positions.
    """
    table = read_table("roster")
    for column in CONTRACT_TYPES:
        table[column] = table[column].astype(int)
    return table


def unit_for_municipality(code_2024: str) -> tuple[str, str] | None:
    """The roster's (unit, area) covering a 2024 municipality code, or None outside the roster."""
    code = str(code_2024).strip()
    for unit, area, codes in zip(*(load_roster()[c] for c in ("unit", "area", "municipality_codes"))):
        if code in codes.split(";"):
            return unit, area
    return None


def load_rejected() -> pd.DataFrame:
    """Applicants refused in 2019 (seed 000): ``area``, ``applicant``, ``municipality_codes`` (2024)."""
    return read_table("rejected")


def load_applications() -> pd.DataFrame:
    """Applications by 1 April 2019 per health-trust area (seed 001).

    Returns
    -------
    DataFrame
        ``area``, ``applications`` (int), ``municipalities`` (float: Tysfjord
        applied split between UNN and Nordland, hence 19.5 and 7.5),
        ``inhabitants_2018`` (int, SSB 1 January 2018).
    """
    table = read_table("applications")
    table["applications"] = table["applications"].astype(int)
    table["municipalities"] = table["municipalities"].astype(float)
    table["inhabitants_2018"] = table["inhabitants_2018"].astype(int)
    return table


def positions_by_area() -> pd.DataFrame:
    """Positions per health-trust area and contract type, with a ``Total`` row.

    Returns
    -------
    DataFrame
        Index ``area`` (the four areas in ``config.HEALTH_TRUST_AREAS`` order, then
        ``Total``); columns ``units``, ``fastlønn``, ``næring``, ``total``.
    """
    roster = load_roster()
    table = roster.groupby("area").agg(units=("unit", "size"), **{c: (c, "sum") for c in CONTRACT_TYPES})
    table = table.reindex(list(HEALTH_TRUST_AREAS)).fillna(0).astype(int)
    table["total"] = table[list(CONTRACT_TYPES)].sum(axis=1)
    table.loc["Total"] = table.sum()
    table.index.name = "area"
    return table
