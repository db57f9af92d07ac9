"""Fixtures shared by the report and notebook tests."""
from __future__ import annotations

from pathlib import Path

import pytest

from alis_research import config


@pytest.fixture(scope="module")
def demo_dataset(tmp_path_factory) -> Path:
    """The bundled demo dataset (data/raw/synthetic), written afresh by the synthesizer if it is missing."""
    shipped = config.DATA_RAW / config.DEMO_DATASET
    if (shipped / "episodes.csv").exists():
        return shipped
    from alis_research.synthetic import write_synthetic

    target = tmp_path_factory.mktemp("data") / "synthetic"
    write_synthetic(target, seed=2019)
    return target
