"""Export the register subset that tests/reference/register.R analyses (run from the project root).

The synthetic national extract of the benchmark (``synthesize_register(2015)``: 5,000 lists,
2000-01 to 2024-12) is validated and turned into episodes exactly as ``alis-research analyse``
does; the contracts signed in the Abelsen window (1 May 2001 - 1 May 2014) of 120 municipalities
drawn at random (seed 5) are written to ``data/register/contracts.csv`` with the columns of the
Abelsen Cox model. R then fits the same model (``register.R``) and ``tests/test_comparison.py``
compares the package with R's numbers.

    .venv/bin/python tests/reference/export_register.py && Rscript tests/reference/register.R
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "tests" / "reference" / "data" / "register" / "contracts.csv"
MUNICIPALITIES = 120


def main() -> int:
    sys.path.insert(0, str(ROOT))
    from alis_research.analysis.comparison import contracts_in_window
    from alis_research.data.register import load_register
    from alis_research.data.register_timeline import register_episodes
    from alis_research.data.register_synthetic import synthesize_register, write_register

    snapshots, doctors = synthesize_register(2015)
    with tempfile.TemporaryDirectory() as tmp:
        write_register(Path(tmp) / "national", snapshots, doctors, {"synthetic": True})
        frame = load_register(Path(tmp) / "national")
    contracts = contracts_in_window(register_episodes(frame))
    codes = np.array(sorted(contracts["municipality_code"].unique()))
    chosen = set(np.random.default_rng(5).choice(codes, size=MUNICIPALITIES, replace=False))
    subset = contracts[contracts["municipality_code"].isin(chosen)].copy()
    subset["list_size_100"] = subset["list_size"] / 100.0
    columns = ["episode_id", "municipality_code", "size_class", "sex", "age_at_start", "list_size_100",
               "duration", "exit"]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    subset[columns].to_csv(OUT, index=False, float_format="%.17g", lineterminator="\n")
    print(f"wrote {OUT.relative_to(ROOT)}: {len(subset)} contracts in {subset['municipality_code'].nunique()} "
          f"municipalities")
    return 0


if __name__ == "__main__":
    sys.exit(main())
