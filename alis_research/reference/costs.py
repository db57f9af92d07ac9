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
