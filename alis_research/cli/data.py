"""Data commands: roster, validate, pseudonymise, prepare, synthesize, and the GP-register extracts."""
from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path

from .. import config
from ..errors import AlisError


def print_problems(problems: list, folder, *, as_json: bool) -> int | None:
    """Print a validation's problems (a line each, or a JSON list); the exit status, or None when
    the data are clean and printed as text (the caller then prints its summary)."""
    from ..data.raw_table import problem_count

    if as_json:
        print(json.dumps([problem.to_dict() for problem in problems], ensure_ascii=False, indent=2))
        return 1 if problems else 0
    for problem in problems:
        print(problem)
    if problems:
        total = problem_count(problems)
        listed = sum(1 for p in problems if not p.more)
        shown = f" ({listed} listed, the rest counted above)" if listed < total else ""
        print(f"{total} problem(s) found in {folder}{shown}")
        return 1
    return None


def roster(args) -> int:
    """``alis-research roster [--json]``: positions per area and contract type, with totals."""
    from ..reference import load_roster, positions_by_area

    table = positions_by_area()
    if getattr(args, "json", False):
        document = {
            "areas": [
                {"area": area, **{k: int(v) for k, v in row.items()}}
                for area, row in table.drop(index="Total").iterrows()
            ],
            "total": {k: int(v) for k, v in table.loc["Total"].items()},
            "units": load_roster().to_dict("records"),
        }
        print(json.dumps(document, ensure_ascii=False, indent=2))
        return 0
    header = f"{'area':<10} {'units':>5} {'fastlønn':>8} {'næring':>6} {'total':>5}"
    print("ALIS-Nord positions by health-trust area and contract type (seed 000, June 2019)")
    print(header)
    print("-" * len(header))
    for area, row in table.iterrows():
        if area == "Total":
            print("-" * len(header))
        print(f"{area:<10} {row['units']:>5} {row['fastlønn']:>8} {row['næring']:>6} {row['total']:>5}")
    return 0


def validate(args) -> int:
    """``alis-research validate DIR [--as-of DATE] [--json]``: exit 0 when clean, 1 when not."""
    from ..data.validate import validate_dataset

    folder = config.dataset_dir(args.dataset)
    problems, data = validate_dataset(folder, as_of=getattr(args, "as_of", None))
    status = print_problems(problems, folder, as_json=getattr(args, "json", False))
    if status is not None:
        return status
    note = "" if getattr(args, "as_of", None) else " (give --as-of to also check end reasons of ended episodes)"
    print(f"{folder}: no problems found; {len(data.episodes)} episode(s), {len(data.events)} event(s){note}")
    return 0


def pseudonymise(args) -> int:
    """``alis-research pseudonymise IN OUT --key-env VAR``."""
    from ..data.pseudonymise import MIN_KEY_LENGTH, pseudonymise_dataset

    variable = args.key_env
    secret = os.environ.get(variable, "")
    if not secret:
        raise AlisError(f"environment variable {variable} is not set or empty; set it to the secret key "
                        f"(at least {MIN_KEY_LENGTH} bytes, varied), e.g. `read -s {variable}; export {variable}`")
    input_dir = config.dataset_dir(args.input)
    output_dir = config.dataset_dir(args.output)
    summary = pseudonymise_dataset(input_dir, output_dir, secret.encode("utf-8"))
    print(f"wrote the pseudonymised dataset to {output_dir}")
    for name, facts in summary.items():
        if facts.get("identity_numbers_replaced"):
            print(f"  {name}: rewritten; {facts['identity_numbers_replaced']} identity number(s) replaced")
        elif "rows" in facts:
            replaced = facts["identity_numbers_in_person_id"] + facts["identity_numbers_in_other_cells"]
            print(f"  {name} (from {facts['source']}): {facts['rows']} row(s), {facts['people']} person(s); "
                  f"{replaced} identity number(s) replaced")
        else:
            print(f"  {name}: copied")
    print("Keep the key secret and unchanged: the same key gives the same pseudonyms in later extracts.")
    return 0


def prepare(args) -> int:
    """``alis-research prepare DATASET --as-of DATE [--out DIR]``."""
    from ..data.cohort import parse_as_of, prepare_dataset, write_prepared

    as_of = parse_as_of(args.as_of)
    dataset = config.dataset_dir(args.dataset)
    prepared = prepare_dataset(dataset, as_of=as_of)
    out = Path(args.out) if getattr(args, "out", None) else config.processed_dir(dataset)
    write_prepared(prepared, out)
    print(prepared.summary())
    print(f"wrote {out}")
    return 0


def synthesize(args) -> int:
    """``alis-research synthesize [--seed N] [--out DIR]``."""
    from ..data.synthetic import write_synthetic_tables

    out_dir = Path(args.out) if getattr(args, "out", None) else config.DATA_RAW / config.DEMO_DATASET
    seed = getattr(args, "seed", 2019)
    if seed is None or seed < 0:
        raise AlisError(f"--seed must be a non-negative integer, got {seed}")
    written, episodes, events = write_synthetic_tables(out_dir, seed=seed)
    print(
        f"wrote synthetic dataset (seed {seed}) to {written}: {len(episodes)} episodes of "
        f"{episodes['person_id'].nunique()} persons, {len(events)} events. "
        "The data are SYNTHETIC (dataset.json says so)."
    )
    return 0


def validate_register(args) -> int:
    """``alis-research validate-register DIR [--json]``: exit 0 when clean, 1 when not."""
    from ..data.register import validate_register as check

    folder = config.dataset_dir(args.dataset)
    problems, frame = check(folder)
    status = print_problems(problems, folder, as_json=getattr(args, "json", False))
    if status is not None:
        return status
    months = frame["month"]
    held = frame["doctor_id"].notna()
    print(f"{folder}: no problems found; {len(frame):,} monthly row(s), {frame['list_id'].nunique():,} list(s), "
          f"{frame.loc[held, 'doctor_id'].nunique():,} doctor(s), {months.min():%Y-%m} to {months.max():%Y-%m}, "
          f"{int((~held).sum()):,} month(s) without a holder")
    return 0


def synthesize_register(args) -> int:
    """``alis-research synthesize-register --seed N --out DIR [--lists L] [--years Y]``."""
    from ..data.register_synthetic import GENERATOR_NAME, RegisterParameters, write_register
    from ..data.register_synthetic import synthesize_register as synthesize

    if not args.out:
        raise AlisError("give --out DIR: the folder to write the synthetic extract to")
    lists = getattr(args, "lists", 5000)
    years = getattr(args, "years", 25)
    snapshots, doctors = synthesize(args.seed, lists=lists, years=years)
    params = RegisterParameters()
    metadata = {
        "synthetic": True, "generator": GENERATOR_NAME, "seed": int(args.seed), "lists": int(lists),
        "years": int(years), "end": "2024-12",
        "description": "synthetic national GP-register extract (monthly list snapshots); describes no real person",
        "parameters": {key: list(value) if isinstance(value, tuple) else value
                       for key, value in asdict(params).items()},
    }
    out = write_register(args.out, snapshots, doctors, metadata)
    print(f"wrote {out}: {len(snapshots):,} monthly rows, {snapshots['list_id'].nunique():,} lists, "
          f"{len(doctors):,} doctors (synthetic, seed {args.seed})")
    return 0
