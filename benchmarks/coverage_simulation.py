"""Coverage of the 95 % intervals of the Cox hazard ratio and of KM survival at 3 years.

Not part of CI.  Simulates cohorts with a known hazard ratio (næring vs fastlønn),
staggered calendar entry, administrative censoring, random drop-out and contract
switches (the time-varying covariate), fits ``duration.cox_model`` (robust, clustered
by municipality, and model-based) and the Kaplan–Meier of the fastlønn cohort, and
prints how often the intervals cover the truth.  Then times ``cox_model`` on 60,000
intervals with 4 covariates and clustering.

    .venv/bin/python benchmarks/coverage_simulation.py [--reps 1000] [--seed 1]
"""
from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd

from alis_research.analysis import duration

TRUE_HR = 1.6
BASE_RATE = 0.18  # exits per year while on fastlønn
SWITCH_SHARE = 0.25
N_MUNICIPALITIES = 20


def simulate(n: int, rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One cohort: (intervals, episodes) in the prepared-dataset layout."""
    naering_start = rng.random(n) < 0.5
    entry = rng.uniform(0, 3, n)  # staggered calendar start (years)
    admin = 6.0 - entry  # follow-up ends at calendar year 6
    dropout = rng.exponential(1 / 0.04, n)
    censor = np.minimum(admin, dropout)
    switches = rng.random(n) < SWITCH_SHARE
    switch_time = np.where(switches, rng.uniform(0.3, 4.0, n), np.inf)
    rate_first = BASE_RATE * np.where(naering_start, TRUE_HR, 1.0)
    rate_second = BASE_RATE * np.where(naering_start, 1.0, TRUE_HR)
    first = rng.exponential(1 / rate_first)
    event_time = np.where(first < switch_time, first, switch_time + rng.exponential(1 / rate_second))
    stop = np.minimum(event_time, censor)
    exit_ = (event_time <= censor).astype(int)
    municipality = rng.integers(0, N_MUNICIPALITIES, n).astype(str)
    cohort = np.where(naering_start, "næring", "fastlønn")
    other = np.where(naering_start, "fastlønn", "næring")
    split = switch_time < stop
    rows = {
        "episode_id": np.r_[np.arange(n), np.arange(n)[split]],
        "start": np.r_[np.zeros(n), switch_time[split]],
        "stop": np.r_[np.where(split, switch_time, stop), stop[split]],
        "exit": np.r_[np.where(split, 0, exit_), exit_[split]],
        "contract_type": np.r_[cohort, other[split]],
        "municipality_code": np.r_[municipality, municipality[split]],
    }
    episodes = pd.DataFrame({"episode_id": [f"E{i:04d}" for i in range(n)], "person_id": [f"P{i:04d}" for i in range(n)],
                             "cohort": cohort, "duration": stop, "exit": exit_})
    return pd.DataFrame(rows), episodes


def true_survival_fastlonn(t: float, rng: np.random.Generator, draws: int = 2_000_000) -> float:
    """P(T > t) for the fastlønn cohort (with switching), by Monte Carlo."""
    switch_time = np.where(rng.random(draws) < SWITCH_SHARE, rng.uniform(0.3, 4.0, draws), np.inf)
    first = rng.exponential(1 / BASE_RATE, draws)
    event = np.where(first < switch_time, first, switch_time + rng.exponential(1 / (BASE_RATE * TRUE_HR), draws))
    return float((event > t).mean())


def km_interval_at(episodes: pd.DataFrame, t: float) -> tuple[float, float]:
    """95 % log-log interval of KM survival at ``t`` for fastlønn (retention module if present)."""
    try:
        from alis_research.analysis.retention import kaplan_meier

        table = kaplan_meier(episodes, group="cohort", timepoints=(t,)).survival
        row = table[table["group"] == "fastlønn"].iloc[0]
        return float(row["ci_lower"]), float(row["ci_upper"])
    except ImportError:
        from lifelines import KaplanMeierFitter

        sub = episodes[episodes["cohort"] == "fastlønn"]
        km = KaplanMeierFitter().fit(sub["duration"], sub["exit"])
        ci = km.confidence_interval_survival_function_
        row = ci[ci.index <= t].iloc[-1]
        return float(row.iloc[0]), float(row.iloc[1])


def coverage(n: int, reps: int, rng: np.random.Generator, truth_km: float) -> dict[str, float]:
    hits = {"robust": 0, "model": 0, "km3": 0}
    counted = {"cox": 0, "km3": 0}
    log_hr = np.log(TRUE_HR)
    for _ in range(reps):
        intervals, episodes = simulate(n, rng)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cox = duration.cox_model(intervals)
            if cox.estimable:
                row = cox.coefficients.iloc[0]
                counted["cox"] += 1
                hits["robust"] += row["ci_lower"] <= TRUE_HR <= row["ci_upper"]
                hits["model"] += abs(row["coef"] - log_hr) <= 1.959964 * row["se"]
            lower, upper = km_interval_at(episodes, 3.0)
        if np.isfinite(lower) and np.isfinite(upper):
            counted["km3"] += 1
            hits["km3"] += lower <= truth_km <= upper
    return {
        "cox fits": counted["cox"],
        "HR robust": hits["robust"] / max(counted["cox"], 1),
        "HR model-based": hits["model"] / max(counted["cox"], 1),
        "KM S(3) fits": counted["km3"],
        "KM S(3)": hits["km3"] / max(counted["km3"], 1),
    }


def time_large_model(rng: np.random.Generator) -> float:
    """Seconds for cox_model on 60,000 intervals, 4 covariates, clustered (best of 3)."""
    n = 40_000
    intervals, _ = simulate(n, rng)
    intervals = intervals.iloc[:60_000].copy() if len(intervals) >= 60_000 else intervals
    while len(intervals) < 60_000:
        extra, _ = simulate(n, rng)
        intervals = pd.concat([intervals, extra], ignore_index=True).iloc[:60_000]
    m = len(intervals)
    intervals["sex"] = np.where(rng.random(m) < 0.5, "K", "M")
    intervals["age_at_start"] = rng.normal(34, 5, m).round()
    intervals["centrality"] = rng.integers(0, 4, m)
    intervals["municipality_code"] = rng.integers(0, 300, m).astype(str)
    best = np.inf
    for _ in range(3):
        began = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            duration.cox_model(intervals, covariates=["sex", "age_at_start", "centrality"])
        best = min(best, time.perf_counter() - began)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    truth = true_survival_fastlonn(3.0, rng)
    print(f"true HR {TRUE_HR}; true S(3) fastlønn cohort {truth:.4f}; {args.reps} cohorts per size")
    for n in (32, 200):
        result = coverage(n, args.reps, rng, truth)
        print(f"n={n:>3}: " + ", ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in result.items()))
    print(f"cox_model on 60,000 intervals x 4 covariates, clustered: {time_large_model(rng):.2f} s")


if __name__ == "__main__":
    main()
