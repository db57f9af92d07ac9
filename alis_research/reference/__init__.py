"""Shipped public reference data and their loaders.

The tables in ``reference/data/`` are public facts, no personal data:

- municipalities, code history, names and population, built from SSB files by
  ``scripts/build_reference.py`` (sources per column in ``data/SOURCES.md``);
- the ALIS-Nord roster, rejected applicants and applications (seeds 000, 001);
- the cost parameters of seeds 003 and 004.

The package needs no access to the SSB files at run time.
"""
from __future__ import annotations

from .costs import cost_parameter, load_cost_parameters
from .municipalities import (
    REFERENCE_YEAR,
    MunicipalityMatch,
    UnknownMunicipality,
    load_code_history,
    load_municipalities,
    load_population,
    population_at,
    resolve_municipality,
    size_class,
)
from .roster import (
    load_applications,
    load_rejected,
    load_roster,
    positions_by_area,
    unit_for_municipality,
)

__all__ = [
    "REFERENCE_YEAR",
    "MunicipalityMatch",
    "UnknownMunicipality",
    "cost_parameter",
    "load_applications",
    "load_code_history",
    "load_cost_parameters",
    "load_municipalities",
    "load_population",
    "load_rejected",
    "load_roster",
    "population_at",
    "positions_by_area",
    "resolve_municipality",
    "size_class",
    "unit_for_municipality",
]
