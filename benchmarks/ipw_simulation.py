"""Does inverse-probability weighting recover a known effect under confounding by municipality size?

Simulates ALIS-like cohorts in which næring is commoner in large municipalities, which keep
their GPs longer (the confounding of the ALIS-Nord design), and næring itself raises the
hazard of leaving. For each replicate it runs the package's estimators
(:func:`alis_research.analysis.robustness.confounding_analysis`: propensity model on size class,
stabilised weights, weighted Cox with person-robust SE, weighted RMST with the
infinitesimal-jackknife SE) and compares the crude and the weighted estimates with the
true *marginal* effects, computed once from a large counterfactual population (every unit
under both contracts, the same censoring):

* the marginal hazard ratio (the Cox estimand of the weighted analysis; it differs from
  the conditional hazard ratio of the data-generating model because Cox models are not
  collapsible);
* the difference in restricted mean time in post to ``TAU`` years (exact by integration).

Run from the project root (a few minutes on one core):

    .venv/bin/python benchmarks/ipw_simulation.py [--replicates 400] [--n 300] [--seed 2019]

It prints the true values, the mean crude and weighted estimates (hazard ratios as geometric
means), and the coverage of the nominal 95 % intervals, over the replicates in which the
weighted analysis is estimable (with small ``--n`` some are not: separation, too few exits). The figures quoted in
``docs/methods.md`` come from the defaults.
"""
from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd

from alis_research import config
from alis_research.analysis.robustness import confounding_analysis
from alis_research.stats.weighting import weighted_cox

SIZE_CLASSES = config.SIZE_CLASS_LABELS
#: share of positions per size class (Northern Norway has many small municipalities)
SIZE_SHARES = np.array([0.25, 0.25, 0.15, 0.25, 0.10])
#: median years in post per size class (Abelsen et al. 2015 ends, geometric in between; as the demo)
MEDIANS = 2.75 * (8.37 / 2.75) ** (np.arange(5) / 4)
WEIBULL_SHAPE = 1.3
#: P(næring | size class): rare in the smallest municipalities, usual in the largest
P_NAERING = np.array([0.10, 0.25, 0.40, 0.65, 0.85])
#: conditional hazard ratio of leaving on næring vs fastlønn (the data-generating effect)
CONDITIONAL_HR = 1.5
FOLLOW_UP = (1.0, 6.0)  # staggered entry: administrative censoring uniform on this range (years)
TAU = 5.0


def simulate(n: int, rng: np.random.Generator, *, treatment=None):
    """Size class, contract (or the given one), exit time and censoring time of ``n`` units."""
    size = rng.choice(5, size=n, p=SIZE_SHARES)
    naering = (rng.random(n) < P_NAERING[size]).astype(int) if treatment is None else treatment
    scale = MEDIANS[size] / np.log(2) ** (1 / WEIBULL_SHAPE)
    hr = np.where(naering == 1, CONDITIONAL_HR, 1.0)
    exit_time = scale * (rng.exponential(size=n) / hr) ** (1 / WEIBULL_SHAPE)
    censor = rng.uniform(*FOLLOW_UP, size=n)
    return size, naering, exit_time, censor


def true_effects(rng: np.random.Generator, n: int = 100_000) -> tuple[float, float]:
    """Marginal hazard ratio (Cox on a counterfactual population) and the exact RMST difference."""
    size = rng.choice(5, size=n, p=SIZE_SHARES)
    scale = MEDIANS[size] / np.log(2) ** (1 / WEIBULL_SHAPE)
    e = rng.exponential(size=n)
    censor = rng.uniform(*FOLLOW_UP, size=n)
    times, events, arms = [], [], []
    for arm, hr in ((0, 1.0), (1, CONDITIONAL_HR)):
        t = scale * (e / hr) ** (1 / WEIBULL_SHAPE)
        times.append(np.minimum(t, censor))
        events.append((t <= censor).astype(int))
        arms.append(np.full(n, arm))
    fit = weighted_cox(np.zeros(2 * n), np.concatenate(times), np.concatenate(events), np.concatenate(arms))
    grid = np.linspace(0, TAU, 20_001)
    rmst = []
    for hr in (1.0, CONDITIONAL_HR):
        scales = MEDIANS / np.log(2) ** (1 / WEIBULL_SHAPE)
        surv = np.exp(-hr * (grid[None, :] / scales[:, None]) ** WEIBULL_SHAPE)  # per size class
        rmst.append(float(SIZE_SHARES @ np.trapezoid(surv, grid, axis=1)))
    return float(np.exp(fit.coef[0])), rmst[1] - rmst[0]


def one_replicate(n: int, rng: np.random.Generator) -> dict:
    size, naering, exit_time, censor = simulate(n, rng)
    episodes = pd.DataFrame({
        "episode_id": [f"E{i:04d}" for i in range(n)], "person_id": [f"P{i:04d}" for i in range(n)],
        "cohort": np.where(naering == 1, "næring", "fastlønn"),
        "duration": np.minimum(exit_time, censor), "exit": (exit_time <= censor).astype(int),
        "size_class": np.array(SIZE_CLASSES)[size],
    })
    result = confounding_analysis(episodes, covariates=["size_class"], tau=TAU)
    if not result.estimable:
        return {}  # counted as not estimable (small cohorts: separation or too few exits)
    out = {}
    for weighting in ("crude", "ipw"):
        cox = result.cox.set_index("weighting").loc[weighting]
        rmst = result.rmst[(result.rmst["weighting"] == weighting) & (result.rmst["group"] == "difference")].iloc[0]
        out[weighting] = (cox["coef"], cox["ci_lower"], cox["ci_upper"], rmst["rmst"], rmst["ci_lower"], rmst["ci_upper"])
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=400)
    parser.add_argument("--n", type=int, default=300, help="episodes per simulated cohort")
    parser.add_argument("--seed", type=int, default=2019)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    started = time.perf_counter()
    true_hr, true_rmst = true_effects(rng)
    print(f"conditional HR (data-generating) {CONDITIONAL_HR}; true marginal HR {true_hr:.4f}; "
          f"true RMST difference to {TAU:g} years {true_rmst:.4f}")
    rows = {"crude": [], "ipw": []}
    not_estimable = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(args.replicates):
            replicate = one_replicate(args.n, rng)
            not_estimable += not replicate
            for key, values in replicate.items():
                rows[key].append(values)
    print(f"{args.replicates} replicates of {args.n} episodes, seed {args.seed}, "
          f"{time.perf_counter() - started:.0f} s; weighted analysis not estimable in {not_estimable} "
          "(left out of the table)")
    print(f"{'':6} {'HR (geo. mean)':>15} {'HR coverage':>12} {'RMST diff (mean)':>17} {'RMST coverage':>14}")
    for key, values in rows.items():
        a = np.array(values, float)
        hr_cover = np.mean((a[:, 1] <= true_hr) & (true_hr <= a[:, 2]))
        rmst_cover = np.mean((a[:, 4] <= true_rmst) & (true_rmst <= a[:, 5]))
        mc = np.sqrt(0.95 * 0.05 / len(a))
        print(f"{key:6} {np.exp(a[:, 0].mean()):15.4f} {hr_cover:12.3f} {a[:, 3].mean():17.4f} {rmst_cover:14.3f}"
              f"   (Monte-Carlo SE of a 95 % coverage: {mc:.3f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
