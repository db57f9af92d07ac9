"""Cost parameters of seeds 003 (ALIS-Nord) and 004 (ALIS-Vest), read from data."""
from __future__ import annotations

from functools import lru_cache

import pandas as pd

from ..errors import AlisError
from ._tables import read_table


def load_cost_parameters() -> pd.DataFrame:
    """The cost parameters as shipped in ``cost_parameters.csv``.

    Returns
    -------
    DataFrame
        ``parameter`` (``nord_*`` from seed 003, 2019 rates; ``vest_*`` from the
        ALIS-Vest budget of seed 004), ``value`` (float), ``unit``, ``year`` (int),
        ``source``, ``description``.
    """
    table = read_table("cost_parameters")
    table["value"] = table["value"].astype(float)
    table["year"] = table["year"].astype(int)
    return table


@lru_cache(maxsize=1)
def _parameter_values() -> tuple[tuple[str, float], ...]:
    """(parameter, value) pairs of the shipped table, read once per process (the file ships with the package)."""
    table = load_cost_parameters()
    return tuple((str(k), float(v)) for k, v in zip(table["parameter"], table["value"]))


def cost_parameter(name: str) -> float:
    """The value of one cost parameter, e.g. ``cost_parameter('nord_basic_grant_per_patient')`` -> 451.0."""
    values = dict(_parameter_values())
    if name not in values:
        raise AlisError(f"unknown cost parameter {name!r}; known: {', '.join(values)}")
    return values[name]


def municipal_basic_grant_cost(patients: int, *, alis: bool, training_year: int = 1) -> float:
    """Yearly municipal cost of a GP list of ``patients`` (seed 003, 2019 rates).

    An ordinary private list costs the basic grant per patient. An ALIS-næring list
    costs a guaranteed grant for the first ``nord_alis_guarantee_patient_limit``
    patients, ``factor`` x the ordinary rate per patient above it, and the
    recruitment grant in the first training year:

    .. math::

        C_\\text{ALIS}(n, y) = G + 1.25 \\cdot 451 \\cdot \\max(n - 500, 0) + R\\,[y = 1]

    For 800 patients: private 360,800; ALIS year 1 1,069,125; years 2-5 569,125.
    """
    if patients < 0:
        raise AlisError(f"patients must be >= 0, got {patients}")
    rate = cost_parameter("nord_basic_grant_per_patient")
    if not alis:
        return rate * patients
    limit = cost_parameter("nord_alis_guarantee_patient_limit")
    above = max(patients - limit, 0.0)
    cost = cost_parameter("nord_alis_guaranteed_basic_grant") + cost_parameter("nord_alis_grant_factor_above_limit") * rate * above
    if training_year <= cost_parameter("nord_recruitment_grant_years"):
        cost += cost_parameter("nord_recruitment_grant")
    return cost
