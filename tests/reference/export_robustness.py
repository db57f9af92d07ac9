"""Export the inputs of ``robustness.R`` (IPW, E-value inputs, pooled programmes).

    .venv/bin/python tests/reference/export_robustness.py
    Rscript tests/reference/robustness.R

(run from the project root; see tests/reference/README.md). Writes

* ``data_robustness/<name>/ipw.csv`` for ``demo`` and ``handmade_cox`` (the prepared
  episodes of ``data/<name>/``; covariates in :data:`IPW_DATASETS`): ``episode_id, person_id, duration, exit, treatment``
  (1 = næring cohort) and the propensity model's design columns ``x_1 … x_k`` exactly as
  :func:`alis_research.stats.weighting.propensity_design` builds them (sparse levels
  merged, numeric covariates centred), with their names in ``ipw_terms.csv``. R fits the
  logistic model, the weights and the weighted estimators itself from these columns.
* ``data_robustness/pooled/episodes.csv`` and ``intervals.csv``: a two-programme dataset,
  the demo (ALIS-Nord, seed 2019) and a second synthetic cohort (seed 2020) relabelled
  ``ALIS-Vest`` with person ids ``V…``, prepared at the demo's as-of date.

Columns are written with 17 significant digits so that R reads the numbers the package used.
"""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pandas as pd

from alis_research import config
from alis_research.data.cohort import prepare_dataset
from alis_research.analysis.robustness import propensity_specification
from alis_research.stats.weighting import propensity_design
from alis_research.data.synthetic import write_synthetic

HERE = Path(__file__).resolve().parent
OUT = HERE / "data_robustness"
SECOND_PROGRAMME = "ALIS-Vest"
SECOND_SEED = 2020
#: reference folder -> propensity covariates (None = the package's default set). The hand-made
#: set has 15 næring episodes: the default 8 coefficients are too many for it (not estimable),
#: so its reference uses three covariates; it has tied exit times (Efron with weights).
IPW_DATASETS = {"demo": None, "handmade_cox": ("size_class", "sex", "age_at_start")}


def _write(frame: pd.DataFrame, path: Path) -> None:
    frame = frame.copy()
    for column in frame.columns:
        if str(frame[column].dtype).startswith("datetime"):
            frame[column] = frame[column].dt.strftime("%Y-%m-%d")
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False, lineterminator="\n", float_format="%.17g")


def export_ipw(name: str, covariates=None) -> Path:
    episodes = pd.read_csv(HERE / "data" / name / "episodes.csv", dtype={"municipality_code": str},
                           keep_default_na=True)
    treatment = (episodes["cohort"] == "næring").to_numpy(float)
    design, _, _, _ = propensity_design(episodes, treatment, **propensity_specification(covariates))
    out = episodes[["episode_id", "person_id", "duration", "exit"]].copy()
    out["treatment"] = treatment.astype(int)
    for k, column in enumerate(design.columns, start=1):
        out[f"x_{k}"] = design[column].to_numpy(float)
    _write(out, OUT / name / "ipw.csv")
    _write(pd.DataFrame({"column": [f"x_{k}" for k in range(1, design.shape[1] + 1)], "term": list(design.columns)}),
           OUT / name / "ipw_terms.csv")
    return OUT / name


def export_pooled() -> Path:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        second = write_synthetic(tmp / "second", seed=SECOND_SEED)
        combined = tmp / "combined"
        combined.mkdir()
        parts = {"episodes.csv": [], "events.csv": []}
        for folder, relabel in ((config.DATA_RAW / config.DEMO_DATASET, False), (second, True)):
            for file in parts:
                frame = pd.read_csv(folder / file, dtype=str, keep_default_na=False)
                if relabel:
                    frame["person_id"] = "V" + frame["person_id"].str[1:]
                    if "programme" in frame:
                        frame["programme"] = SECOND_PROGRAMME
                parts[file].append(frame)
        for file, frames in parts.items():
            pd.concat(frames, ignore_index=True).to_csv(combined / file, index=False, lineterminator="\n")
        shutil.copy(config.DATA_RAW / config.DEMO_DATASET / "dataset.json", combined / "dataset.json")
        prepared = prepare_dataset(combined, as_of=config.DEMO_AS_OF)
    _write(prepared.episodes, OUT / "pooled" / "episodes.csv")
    _write(prepared.intervals, OUT / "pooled" / "intervals.csv")
    return OUT / "pooled"


if __name__ == "__main__":
    for name, covariates in IPW_DATASETS.items():
        print("wrote", export_ipw(name, covariates))
    print("wrote", export_pooled())
