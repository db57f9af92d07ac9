"""The results document ``alis-research/results/1`` and ``alis-research analyse``.

One function, :func:`build_results`, runs the headline analyses on a
prepared dataset and returns the JSON-ready document defined in issue 3.
``report`` writes the same document beside each PDF as ``results.json``;
regression checks compare it between runs, so it holds no timestamps and
its numbers depend only on the data and the parameters.
"""
from __future__ import annotations

import json
import math
import warnings
from typing import Any

import pandas as pd

from . import config
from .errors import AlisWarning

SCHEMA = "alis-research/results/1"


def _number(value: Any) -> float | int | None:
    """JSON-safe number: NaN/inf and missing become null."""
    if value is None or value is pd.NA:
        return None
    if isinstance(value, (int,)) and not isinstance(value, bool):
        return int(value)
    value = float(value)
    return None if not math.isfinite(value) else value


def _records(frame: pd.DataFrame, columns: dict[str, str], ints: tuple[str, ...] = ()) -> list[dict]:
    """Rows of ``frame`` as dicts, renaming source -> target columns, numbers JSON-safe."""
    rows = []
    for _, row in frame.iterrows():
        record = {}
        for source, target in columns.items():
            value = row[source]
            if isinstance(value, str):
                record[target] = value
            elif target in ints:
                record[target] = None if pd.isna(value) else int(value)
            else:
                record[target] = _number(value)
        rows.append(record)
    return rows


def build_results(prepared, *, alpha: float = config.DEFAULT_ALPHA,
                  tau: float = config.DEFAULT_RMST_HORIZON) -> dict:
    """Run the headline analyses and return the ``alis-research/results/1`` document.

    Parameters
    ----------
    prepared : PreparedDataset
        From :func:`alis_research.cohort.prepare` or :func:`~alis_research.cohort.load_prepared`.
    alpha : float
        1 − confidence level of every interval.
    tau : float
        Horizon (years) of the restricted mean survival time.
    """
    from .duration import cox_model
    from .retention import kaplan_meier, logrank, rmst
    from .turnover import rate_ratio, turnover_rates

    episodes, intervals = prepared.episodes, prepared.intervals
    with warnings.catch_warnings():
        # Caveats are carried in each result's notes; the document is not the place to shout them.
        warnings.simplefilter("ignore", AlisWarning)
        km = kaplan_meier(episodes, alpha=alpha)
        lr = logrank(episodes)
        rm = rmst(episodes, tau=tau, alpha=alpha)
        rates = turnover_rates(intervals, alpha=alpha)
        irr = rate_ratio(intervals, alpha=alpha)
        cox = cox_model(intervals, alpha=alpha)

    survival = km.survival
    survival = survival[survival["time"].isin(config.KM_TIMEPOINTS)]
    km_rows = _records(survival, {"group": "cohort", "time": "time", "survival": "survival",
                                  "ci_lower": "ci_lower", "ci_upper": "ci_upper", "at_risk": "at_risk"},
                       ints=("time", "at_risk"))
    median_rows = _records(km.median, {"group": "cohort", "median": "median",
                                       "ci_lower": "ci_lower", "ci_upper": "ci_upper"})
    logrank_row = lr.test.iloc[0]
    rmst_rows = _records(rm.rmst, {"group": "cohort", "tau": "tau", "rmst": "rmst", "se": "se"})
    rate_rows = _records(rates.rates, {"contract_type": "contract_type", "exits": "exits",
                                       "person_years": "person_years", "rate_per_100": "rate_per_100",
                                       "ci_lower": "ci_lower", "ci_upper": "ci_upper"}, ints=("exits",))
    poisson = irr.estimates[(irr.estimates["model"] == "poisson") & (irr.estimates["term"] == "næring")]
    irr_row = poisson.iloc[0]
    cox_rows = _records(cox.coefficients, {"term": "term", "coef": "coef", "se": "se", "robust_se": "robust_se",
                                           "hr": "hr", "ci_lower": "ci_lower", "ci_upper": "ci_upper",
                                           "p_value": "p_value"})
    return {
        "schema": SCHEMA,
        "as_of": prepared.as_of.strftime("%Y-%m-%d"),
        "dataset": {
            "fingerprint": prepared.fingerprint,
            "synthetic": bool(prepared.synthetic),
            "episodes": int(len(episodes)),
            "persons": int(episodes["person_id"].nunique()),
            "excluded": int(len(prepared.exclusions)),
            # Internal use only: unsuppressed numbers, not for publication.
            "publishable": False,
        },
        "retention": {
            "km": km_rows,
            "median": median_rows,
            "logrank": {"statistic": _number(logrank_row["statistic"]), "df": int(logrank_row["df"]),
                        "p_value": _number(logrank_row["p_value"])},
            "rmst": rmst_rows,
        },
        "turnover": {
            "rates": rate_rows,
            "irr": {"contrast": "næring vs fastlønn", "estimate": _number(irr_row["irr"]),
                    "ci_lower": _number(irr_row["ci_lower"]), "ci_upper": _number(irr_row["ci_upper"]),
                    "p_value": _number(irr_row["p_value"])},
        },
        "cox": cox_rows,
    }


def dumps(document: dict) -> str:
    """Serialise a results document deterministically (sorted keys, UTF-8 text)."""
    return json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True, allow_nan=False) + "\n"


def cli_analyse(args) -> int:
    from .cohort import prepare_dataset

    prepared = prepare_dataset(config.dataset_dir(args.dataset), as_of=args.as_of)
    document = build_results(prepared)
    if args.json:
        print(dumps(document), end="")
        return 0
    print(prepared.summary())
    print()
    print(format_results(document))
    return 0


def format_results(document: dict) -> str:
    """A plain-text rendering of the headline results for the terminal."""
    lines = [f"Results as of {document['as_of']} (dataset {document['dataset']['fingerprint'][:12]}"
             + (", SYNTHETIC" if document["dataset"]["synthetic"] else "") + ")"]

    def fmt(x, digits=2):
        return "–" if x is None else f"{x:.{digits}f}"

    lines.append("\nKaplan–Meier retention (95 % CI, log-log):")
    for row in document["retention"]["km"]:
        lines.append(f"  {row['cohort']:<9} {row['time']} yr  {fmt(row['survival'])} "
                     f"({fmt(row['ci_lower'])}–{fmt(row['ci_upper'])})  at risk {row['at_risk']}")
    lines.append("Median retention (years):")
    for row in document["retention"]["median"]:
        median = "not reached" if row["median"] is None else fmt(row["median"])
        lines.append(f"  {row['cohort']:<9} {median} (95 % CI {fmt(row['ci_lower'])} to "
                     f"{'not reached' if row['ci_upper'] is None else fmt(row['ci_upper'])})")
    lr = document["retention"]["logrank"]
    lines.append(f"Log-rank: chi² = {fmt(lr['statistic'])}, df = {lr['df']}, p = {fmt(lr['p_value'], 3)}")
    lines.append("Restricted mean survival time:")
    for row in document["retention"]["rmst"]:
        lines.append(f"  {row['cohort']:<10} tau {fmt(row['tau'], 1)}: {fmt(row['rmst'])} yr (SE {fmt(row['se'])})")
    lines.append("\nTurnover per 100 person-years (exact Poisson CI):")
    for row in document["turnover"]["rates"]:
        lines.append(f"  {row['contract_type']:<9} exits {row['exits']}, PY {fmt(row['person_years'], 1)}: "
                     f"{fmt(row['rate_per_100'], 1)} ({fmt(row['ci_lower'], 1)}–{fmt(row['ci_upper'], 1)})")
    irr = document["turnover"]["irr"]
    lines.append(f"Rate ratio {irr['contrast']}: {fmt(irr['estimate'])} ({fmt(irr['ci_lower'])}–{fmt(irr['ci_upper'])}), "
                 f"p = {fmt(irr['p_value'], 3)}")
    lines.append("\nCox model, current contract type (robust SE clustered by municipality):")
    for row in document["cox"]:
        lines.append(f"  {row['term']}: HR {fmt(row['hr'])} ({fmt(row['ci_lower'])}–{fmt(row['ci_upper'])}), "
                     f"p = {fmt(row['p_value'], 3)}")
    return "\n".join(lines)
