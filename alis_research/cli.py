"""The ``alis-research`` command: thin argument parsing that calls the package.

Each subcommand is implemented by a ``cli_<name>(args) -> int`` function in
the module that owns the work; this file only parses arguments, dispatches,
and turns user errors (:class:`~alis_research.errors.AlisError`) into a
plain message and exit status 1 instead of a traceback.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from . import __version__
from .config import DEFAULT_MIN_CELL
from .errors import AlisError

# subcommand -> (module, function): imported only when the subcommand runs,
# so ``--help`` and light commands stay fast.
_HANDLERS = {
    "roster": ("alis_research.reference", "cli_roster"),
    "validate": ("alis_research.validate", "cli_validate"),
    "pseudonymise": ("alis_research.pseudonymise", "cli_pseudonymise"),
    "prepare": ("alis_research.cohort", "cli_prepare"),
    "synthesize": ("alis_research.synthetic", "cli_synthesize"),
    "analyse": ("alis_research.results", "cli_analyse"),
    "report": ("alis_research.report", "cli_report"),
    "regenerate": ("alis_research.report.regenerate", "cli_regenerate"),
    "demo": ("alis_research.demo", "cli_demo"),
    "costs": ("alis_research.costs", "cli_costs"),
    "power": ("alis_research.power", "cli_power"),
    "synthesize-register": ("alis_research.register", "cli_synthesize_register"),
    "validate-register": ("alis_research.register", "cli_validate_register"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="alis-research",
        description="Retention, turnover and contract-duration analyses of ALIS training positions "
        "(fastlønn vs næring), from raw HR extracts to published evaluation reports.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("roster", help="print the ALIS-Nord positions per health-trust area and contract type")
    p.add_argument("--json", action="store_true", help="print the roster as JSON")

    p = sub.add_parser("validate", help="check a raw dataset folder and report every problem at once")
    p.add_argument("dataset", help="dataset folder (or a name under data/raw/)")
    p.add_argument("--as-of", dest="as_of", help="as-of date YYYY-MM-DD (enables the checks that depend on it)")
    p.add_argument("--json", action="store_true", help="print the problems as a JSON list")

    p = sub.add_parser(
        "pseudonymise",
        help="replace person_id (and identity numbers) with a keyed HMAC-SHA-256 hash",
    )
    p.add_argument("input", help="raw dataset folder to read (left unchanged)")
    p.add_argument("output", help="folder to write the pseudonymised dataset to")
    p.add_argument("--key-env", dest="key_env", required=True, help="name of the environment variable holding the secret key")

    p = sub.add_parser("prepare", help="validate a raw dataset and write the analysis dataset (Parquet + manifest)")
    p.add_argument("dataset", help="dataset folder (or a name under data/raw/)")
    p.add_argument("--as-of", dest="as_of", required=True, help="as-of date YYYY-MM-DD: follow-up is censored here")
    p.add_argument("--out", help="output folder (default data/processed/<name>/)")

    p = sub.add_parser("synthesize", help="write a calibrated synthetic dataset for the 32 ALIS-Nord positions")
    p.add_argument("--seed", type=int, default=2019, help="random seed (default 2019); the same seed gives identical files")
    p.add_argument("--out", help="output folder (default data/raw/synthetic/)")

    p = sub.add_parser("analyse", help="run the headline retention, turnover and duration analyses")
    p.add_argument("dataset", help="dataset folder (or a name under data/raw/)")
    p.add_argument("--as-of", dest="as_of", required=True, help="as-of date YYYY-MM-DD")
    p.add_argument("--json", action="store_true", help="print the results document (alis-research/results/1)")
    p.add_argument("--register", default=None,
                   help="GP-register extract folder for the comparison analyses (default DIR/register/ if present)")

    p = sub.add_parser("report", help="execute the notebooks and publish the evaluation report (PDF, HTML)")
    p.add_argument("dataset", help="dataset folder (or a name under data/raw/)")
    p.add_argument("--as-of", dest="as_of", required=True, help="as-of date YYYY-MM-DD")
    p.add_argument("--area", default="all", choices=["all", "Finnmark", "UNN", "Nordland", "Helgeland"])
    p.add_argument("--language", default="nb", choices=["nb", "en"])
    p.add_argument("--min-cell", dest="min_cell", type=int, default=DEFAULT_MIN_CELL,
                   help=f"smallest count shown in published tables (default {DEFAULT_MIN_CELL})")
    p.add_argument("--out", help="folder under which the report folder is made (default reports/)")
    p.add_argument("--register", default=None,
                   help="GP-register extract folder: adds the comparison-groups section (default DIR/register/ if present)")
    p.add_argument("--institution", default=None, help="responsible institution (title page, document metadata)")
    p.add_argument("--authors", default=None, help="authors, separated by ';'")
    p.add_argument("--commissioner", default=None, help="who commissioned the evaluation")
    p.add_argument("--status", default=None, choices=["draft", "final"], help="report status (default draft)")
    p.add_argument("--report-version", dest="report_version", default=None, help="report version (default 0.1)")

    p = sub.add_parser("regenerate", help="bring every report in a report matrix up to date (safe from cron)")
    p.add_argument("--config", default=None, help="report matrix TOML (default reports/reports.toml)")
    p.add_argument("--jobs", type=int, default=2, help="reports built in parallel")
    p.add_argument("--force", action="store_true", help="rebuild even reports whose inputs are unchanged")
    p.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")

    p = sub.add_parser("costs", help="yearly municipal cost per contract model and training year for a list of N patients")
    p.add_argument("--patients", type=int, required=True, help="list size (patients)")
    p.add_argument("--year", type=int, default=None, help="price year of the parameters (default: the parameters' own year)")
    p.add_argument("--json", action="store_true", help="print the costs as JSON")

    p = sub.add_parser("power", help="simulate the power of the evaluation design (log-rank and Cox)")
    p.add_argument("--design", default="alis-nord", choices=["alis-nord", "national"],
                   help="alis-nord: 17 fastlønn + 15 næring, 2019-2024; national: --n per cohort")
    p.add_argument("--n", type=int, default=None, help="people per cohort for the national design (default 150)")
    p.add_argument("--hazard-ratio", dest="hazard_ratio", type=float, default=None,
                   help="true hazard ratio (default: a grid, and the minimal detectable effect)")
    p.add_argument("--simulations", type=int, default=1000, help="simulated cohorts per scenario")
    p.add_argument("--seed", type=int, default=2019)
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("synthesize-register", help="write a synthetic national GP-register extract (monthly list snapshots)")
    p.add_argument("--seed", type=int, default=2015, help="random seed; the same seed gives identical files")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--lists", type=int, default=5000, help="number of GP lists (default 5000)")
    p.add_argument("--years", type=int, default=25, help="years of monthly snapshots (default 25)")

    p = sub.add_parser("validate-register", help="check a GP-register extract and report every problem at once")
    p.add_argument("dataset", help="register extract folder")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("demo", help="synthesize the demo data if missing, then run the main job on it")
    p.add_argument("--out", help="folder under which the report is made (default reports/)")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    module_name, func_name = _HANDLERS[args.command]
    try:
        handler = getattr(importlib.import_module(module_name), func_name)
        return int(handler(args) or 0)
    except AlisError as exc:
        print(f"alis-research {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"alis-research {args.command}: interrupted; previous outputs were left intact", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
