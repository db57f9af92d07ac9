"""Analysis commands: analyse (the headline results), costs, power."""
from __future__ import annotations

import json
import time
import warnings

from .. import config


def analyse(args) -> int:
    """``alis-research analyse DIR --as-of DATE [--json] [--register R]``."""
    from ..data.cohort import load_dataset
    from ..analysis.comparison import find_register, load_register_data, run_comparisons
    from ..analysis.results import build_results, dumps, format_results

    dataset_dir = config.dataset_dir(args.dataset)
    prepared = load_dataset(dataset_dir, as_of=args.as_of)
    register = find_register(dataset_dir, getattr(args, "register", None))
    comparison = run_comparisons(prepared, load_register_data(register)) if register is not None else None
    document = build_results(prepared, comparison=comparison)
    if args.json:
        print(dumps(document), end="")
        return 0
    print(prepared.summary())
    print()
    print(format_results(document))
    return 0


def costs(args) -> int:
    """``alis-research costs --patients N [--year Y] [--json]``."""
    from ..analysis.costs import format_cost_table, yearly_costs

    table = yearly_costs(args.patients, year=getattr(args, "year", None))
    if getattr(args, "json", False):
        print(json.dumps(table.to_json_dict(), ensure_ascii=False, indent=2))
    else:
        print(format_cost_table(table))
    return 0


def _records(frame) -> list[dict]:
    return json.loads(frame.to_json(orient="records", force_ascii=False))


def power(args) -> int:
    """``alis-research power [--design alis-nord|national] [--n N] [--hazard-ratio HR] [--simulations B] [--seed S] [--json]``."""
    from ..errors import NotEstimableWarning
    from ..analysis.power import (
        DEFAULT_HR_GRID,
        TESTS,
        design_parameters,
        limitations_text,
        minimal_detectable_hazard_ratio,
        simulate_power,
    )

    design = design_parameters(args.design, args.n)
    started = time.perf_counter()
    grid = [args.hazard_ratio] if args.hazard_ratio is not None else list(DEFAULT_HR_GRID)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotEstimableWarning)
        result = simulate_power(hazard_ratio=grid, simulations=args.simulations, seed=args.seed, **design)
        effect = (minimal_detectable_hazard_ratio(simulations=args.simulations, seed=args.seed, **design)
                  if args.hazard_ratio is None else None)
    seconds = time.perf_counter() - started
    if args.json:
        document = {"design": args.design, "parameters": {k: v for k, v in result.params.items() if k != "seconds"},
                    "power": _records(result.power),
                    "minimal_detectable_hazard_ratio": _records(effect.effects) if effect is not None else None,
                    "notes": result.notes + (effect.notes if effect is not None else []), "seconds": round(seconds, 3)}
        print(json.dumps(document, ensure_ascii=False, indent=2))
        return 0
    p = result.params
    print(f"Design {args.design}: {p['n_fastlonn']} fastlønn + {p['n_naering']} næring, starts {p['accrual']}, "
          f"follow-up to {p['follow_up_end']}; fastlønn median {p['baseline_median']:g} years; "
          f"{p['simulations']} simulations per hazard ratio, alpha {p['alpha']:g}, seed {p['seed']}")
    table = result.power.pivot_table(index="hazard_ratio", columns="test", values="power").reindex(columns=list(TESTS))
    table["MC SE (max)"] = result.power.groupby("hazard_ratio")["mc_se"].max()
    table["Schoenfeld"] = result.power.groupby("hazard_ratio")["schoenfeld_power"].first()
    table["mean events"] = result.power.groupby("hazard_ratio")["mean_events"].first()
    print(table.round(3).to_string())
    if effect is not None:
        print(f"\nSmallest hazard ratio (næring vs fastlønn) detected with {effect.params['power']:.0%} power:")
        print(effect.effects.round(3).to_string(index=False))
        print("\n" + limitations_text(effect, language="en"))
    for note in result.notes + (effect.notes if effect is not None else []):
        print(f"note: {note}")
    print(f"({seconds:.1f} s)")
    return 0
