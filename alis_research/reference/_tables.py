"""Reading the shipped reference tables (``reference/data/*.csv``), cached.

Tables are read as text (codes keep their leading zeros, an empty cell stays
``''``); each loader converts its own columns. Every loader returns a fresh copy,
so callers may modify what they get.
"""
from __future__ import annotations

from functools import lru_cache

import pandas as pd

from ..config import REFERENCE_DATA
from ..errors import AlisError


@lru_cache(maxsize=None)
def _read(name: str) -> pd.DataFrame:
    path = REFERENCE_DATA / f"{name}.csv"
    if not path.exists():
        raise AlisError(
            f"reference table {path} is missing: reinstall the package or rerun scripts/build_reference.py"
        )
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")


def read_table(name: str) -> pd.DataFrame:
    """A copy of the shipped table ``name`` (all columns as text)."""
    return _read(name).copy()


def to_int(series: pd.Series) -> pd.Series:
    """Text to nullable integers; an empty cell becomes ``<NA>``."""
    return pd.to_numeric(series.replace("", None), errors="raise").astype("Int64")


def to_bool(series: pd.Series) -> pd.Series:
    """The ``True``/``False`` text pandas writes, back to bool."""
    return series.map({"True": True, "False": False}).astype(bool)
