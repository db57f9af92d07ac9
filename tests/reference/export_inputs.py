"""Export prepared datasets as plain CSV for the R reference scripts.

R reads what the package's ``prepare`` produced, so the R scripts check the
*estimators* independently; the definitions (censoring, switches) are checked
by the hand-worked cases in ``tests/test_cohort.py``.

    .venv/bin/python tests/reference/export_inputs.py
    Rscript tests/reference/retention.R && Rscript tests/reference/duration.R && Rscript tests/reference/independent.R

(run from the project root; see tests/reference/README.md).  The hand-made sets
(``handmade``, ``handmade_cox``) are written by ``make_handmade.py`` and by hand.
"""
from __future__ import annotations

from pathlib import Path

from alis_research import config
from alis_research.data.cohort import prepare_dataset

HERE = Path(__file__).resolve().parent
# raw dataset folder -> (name under tests/reference/data/, as-of date)
DATASETS = {
    config.DATA_RAW / config.DEMO_DATASET: ("demo", config.DEMO_AS_OF),
}


def export(raw_dir: Path, name: str, as_of: str) -> Path:
    prepared = prepare_dataset(raw_dir, as_of=as_of)
    out = HERE / "data" / name
    out.mkdir(parents=True, exist_ok=True)
    for table in ("episodes", "intervals"):
        frame = getattr(prepared, table).copy()
        for column in frame.columns:
            if str(frame[column].dtype).startswith("datetime"):
                frame[column] = frame[column].dt.strftime("%Y-%m-%d")
        frame.to_csv(out / f"{table}.csv", index=False, lineterminator="\n", float_format="%.17g")
    return out


if __name__ == "__main__":
    for raw_dir, (name, as_of) in DATASETS.items():
        print("wrote", export(raw_dir, name, as_of))
