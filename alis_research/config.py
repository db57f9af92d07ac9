"""Paths and defaults: the one place that knows where things live.

Every other module asks this one for a path or a default instead of
spelling it out, so that a test or a user can redirect the whole project
by setting ``ALIS_RESEARCH_HOME``.
"""
from __future__ import annotations

import os
from pathlib import Path

#: Root of the project checkout (the folder holding ``data/``, ``reports/``).
PROJECT_ROOT = Path(os.environ.get("ALIS_RESEARCH_HOME", Path(__file__).resolve().parent.parent))
DATA_RAW = PROJECT_ROOT / "data" / "raw"
DATA_PROCESSED = PROJECT_ROOT / "data" / "processed"
REPORTS = PROJECT_ROOT / "reports"
#: Working folders of reports (unprotected results, executed notebooks, logs): never published.
RESTRICTED = PROJECT_ROOT / "restricted"


def restricted_dir_for(out_dir=None) -> Path:
    """The restricted working root for a reports folder.

    :data:`RESTRICTED` for the project's ``reports/``; for any other reports folder
    ``<name>-restricted/`` beside it (one per reports folder, never inside it).
    """
    if not out_dir or Path(out_dir).resolve() == REPORTS.resolve():
        return RESTRICTED
    out = Path(out_dir)
    return out.parent / f"{out.name}-restricted"
NOTEBOOKS = PROJECT_ROOT / "notebooks"
DOCS = PROJECT_ROOT / "docs"

#: Shipped public reference tables (roster, municipalities, costs).
REFERENCE_DATA = Path(__file__).resolve().parent / "reference" / "data"

#: Name of the bundled synthetic demo dataset under ``data/raw/``.
DEMO_DATASET = "synthetic"
#: The as-of date used for the demo (end of the synthetic follow-up).
DEMO_AS_OF = "2024-12-31"

#: Length of a year in days: all durations are days / 365.25.
DAYS_PER_YEAR = 365.25

#: Smallest count shown in a published table or figure.
DEFAULT_MIN_CELL = 5
#: Confidence level used throughout unless a caller asks otherwise.
DEFAULT_ALPHA = 0.05
#: Horizon (years) for restricted mean survival time.
DEFAULT_RMST_HORIZON = 5.0
#: Time points (years) at which Kaplan–Meier survival is reported.
KM_TIMEPOINTS = (1, 2, 3, 5)

#: Municipality size classes (inhabitants), ends as in Abelsen et al. 2015.
SIZE_CLASS_BREAKS = (0, 2_000, 5_000, 10_000, 50_000)
SIZE_CLASS_LABELS = ("<2000", "2000-4999", "5000-9999", "10000-49999", ">=50000")

#: Canonical contract types; the cohort comparison is næring vs fastlønn.
CONTRACT_TYPES = ("fastlønn", "næring")
REFERENCE_CONTRACT = "fastlønn"

#: Recorded reasons an episode ended.
END_REASONS = (
    "other_gp_same_region",
    "left_region",
    "hospital",
    "other_municipal",
    "retired",
    "other",
    "unknown",
)
#: Event types allowed in ``events``.
EVENT_TYPES = (
    "contract_switch",
    "hospital_year_start",
    "hospital_year_end",
    "leave_start",
    "leave_end",
    "specialist_approved",
)
HEALTH_TRUST_AREAS = ("Finnmark", "UNN", "Nordland", "Helgeland")
DEFAULT_PROGRAMME = "ALIS-Nord"

#: Name of the Jupyter kernel the set-up command registers.
KERNEL_NAME = "alis-research"


def dataset_dir(name_or_path: str | os.PathLike) -> Path:
    """Resolve a dataset given as a folder path or as a name under ``data/raw``."""
    path = Path(name_or_path)
    if path.exists() or path.is_absolute() or len(path.parts) > 1:
        return path
    return DATA_RAW / path


def processed_dir(dataset: Path) -> Path:
    """Where ``prepare`` writes the analysis dataset for a raw dataset folder."""
    return DATA_PROCESSED / Path(dataset).resolve().name
