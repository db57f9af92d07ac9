"""Time the power simulation: 1,000 simulated cohorts must take at most 20 s on this machine.

Run: ``.venv/bin/python benchmarks/power_benchmark.py``.  Prints the wall-clock
time of one ``simulate_power`` call (1,000 cohorts, ALIS-Nord design), of the same
for a national design of 1,000 per cohort, and of the full minimal-detectable-effect
search the CLI runs.
"""
from __future__ import annotations

import time

from alis_research.analysis.power import design_parameters, minimal_detectable_hazard_ratio, simulate_power


def timed(label: str, func):
    started = time.perf_counter()
    value = func()
    print(f"{label}: {time.perf_counter() - started:.2f} s")
    return value


def main() -> None:
    nord = design_parameters("alis-nord")
    result = timed("ALIS-Nord 17+15, 1,000 simulations, HR 2",
                   lambda: simulate_power(hazard_ratio=2.0, simulations=1000, seed=1, **nord))
    print(result.power[["test", "power", "mc_se"]].to_string(index=False))
    national = design_parameters("national", 1000)
    timed("national 1,000+1,000, 1,000 simulations, HR 1.2",
          lambda: simulate_power(hazard_ratio=1.2, simulations=1000, seed=1, **national))
    effect = timed("minimal detectable HR (ALIS-Nord, bisection, 1,000 simulations per step)",
                   lambda: minimal_detectable_hazard_ratio(simulations=1000, seed=1, **nord))
    print(effect.effects.to_string(index=False))


if __name__ == "__main__":
    main()
