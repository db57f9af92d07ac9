"""The report matrix of ``alis-research regenerate``: reading and checking ``reports.toml``.

:func:`load_matrix` reads the datasets × health-trust areas × languages of a TOML file
and checks every value, listing all problems at once; :class:`ReportMatrix` holds the
result, one :class:`ReportSpec` per report.  Split from :mod:`.regenerate` (issue 11, size).

Relative paths in the config file are resolved against the folder holding the
config file, so a run does not depend on the working directory (cron starts
jobs in the home folder).
"""
from __future__ import annotations

import contextlib
import datetime as _dt
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import config
from ..errors import AlisError
from .publication import Publication

AREAS = ("all", *config.HEALTH_TRUST_AREAS)
LANGUAGES = ("nb", "en")

_DEFAULTS_KEYS = {"as_of", "min_cell", "out_dir"}
_TOP_KEYS = {"defaults", "datasets", "areas", "languages", "publication"}
_DATASET_KEYS = {"name", "path", "as_of", "min_cell", "publication"}
_DATE_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")



# --------------------------------------------------------------------------- the matrix
@dataclass(frozen=True)
class ReportSpec:
    """One report of the matrix: a dataset seen for one area in one language."""

    dataset: str
    dataset_path: Path
    as_of: str
    area: str
    language: str
    min_cell: int
    publication: Publication = field(default_factory=Publication)

    @property
    def publication_options(self) -> dict:
        """``publication=`` for the builder and the key, only when the matrix sets one."""
        return {"publication": self.publication} if self.publication != Publication() else {}

    @property
    def name(self) -> str:
        """The report folder's name, ``<dataset>_<area>_<language>`` (as the builder names it)."""
        return f"{self.dataset}_{self.area}_{self.language}"


@dataclass(frozen=True)
class ReportMatrix:
    """The validated contents of a report matrix file."""

    config_path: Path
    out_dir: Path
    reports: tuple[ReportSpec, ...]


def _describe(value: Any) -> str:
    return repr(value) if isinstance(value, str) else f"{value!r} ({type(value).__name__})"


def _check_date(value: Any, where: str, problems: list[str]) -> str | None:
    """Accept a TOML date (``2024-12-31``) or a string ``"2024-12-31"``; return ISO text."""
    if isinstance(value, _dt.datetime):
        problems.append(f"{where} = {value.isoformat()}: expected a date YYYY-MM-DD without a time")
        return None
    if isinstance(value, _dt.date):
        return value.isoformat()
    if isinstance(value, str):
        if _DATE_PATTERN.match(value):
            with contextlib.suppress(ValueError):  # e.g. 2024-02-30
                return _dt.date.fromisoformat(value).isoformat()
    problems.append(f"{where} = {_describe(value)}: expected a date YYYY-MM-DD, e.g. 2024-12-31")
    return None


def _check_min_cell(value: Any, where: str, problems: list[str]) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return value
    problems.append(f"{where} = {_describe(value)}: expected a whole number ≥ 1 (e.g. 5)")
    return None


def _check_choices(value: Any, key: str, allowed: tuple[str, ...], problems: list[str]) -> tuple[str, ...]:
    expected = f"expected a non-empty list of distinct values from {list(allowed)}"
    if not isinstance(value, list) or not value:
        problems.append(f"{key} = {_describe(value)}: {expected}")
        return ()
    chosen: list[str] = []
    for position, item in enumerate(value, start=1):
        if item not in allowed:
            problems.append(f"{key}[{position}] = {_describe(item)}: {expected}")
        elif item in chosen:
            problems.append(f"{key}[{position}] = {item!r} is listed twice: {expected}")
        else:
            chosen.append(item)
    return tuple(chosen)


def _check_publication(value: Any, where: str, base: Publication, problems: list[str]) -> Publication:
    """A ``publication`` table (institution, authors, commissioner, status, version) over ``base``."""
    if value is None:
        return base
    if not isinstance(value, dict):
        problems.append(f"{where.strip()} = {_describe(value)}: expected a table of institution, authors, "
                        "commissioner, status, version")
        return base
    try:
        return base.merged({key: value[key] for key in value})
    except AlisError as exc:
        problems.append(f"{where}{exc}".replace("publication metadata: ", ""))
        return base


def _unknown_keys(table: dict, allowed: set[str], where: str, problems: list[str]) -> None:
    for key in table:
        if key not in allowed:
            problems.append(f"{where}: unknown key '{key}' (allowed: {', '.join(sorted(allowed))})")


def _read_document(path: Path) -> dict:
    """The matrix file parsed as TOML; a clear error when it is missing or not TOML."""
    if not path.is_file():
        raise AlisError(
            f"{path}: report matrix file not found (create it, see docs on scheduling, or pass --config FILE)"
        )
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise AlisError(f"{path}: not a valid TOML file ({exc})") from exc


def _read_defaults(document: dict, base: Path, problems: list[str]) -> tuple[dict, str | None, int | None, Path]:
    """The ``[defaults]`` table: ``(table, as_of, min_cell, out_dir)``, problems added to ``problems``."""
    defaults = document.get("defaults", {})
    if not isinstance(defaults, dict):
        problems.append(f"defaults = {_describe(defaults)}: expected a table [defaults]")
        defaults = {}
    _unknown_keys(defaults, _DEFAULTS_KEYS, "[defaults]", problems)
    default_as_of = _check_date(defaults["as_of"], "[defaults] as_of", problems) if "as_of" in defaults else None
    default_min_cell = (
        _check_min_cell(defaults["min_cell"], "[defaults] min_cell", problems)
        if "min_cell" in defaults
        else config.DEFAULT_MIN_CELL
    )
    out_dir = base
    if "out_dir" in defaults:
        if isinstance(defaults["out_dir"], str) and defaults["out_dir"].strip():
            out_dir = (base / defaults["out_dir"]).resolve()
        else:
            problems.append(f"[defaults] out_dir = {_describe(defaults['out_dir'])}: expected a folder path as text")
    return defaults, default_as_of, default_min_cell, out_dir


def _dataset_name_and_path(entry: dict, where: str, base: Path, problems: list[str]) -> tuple[str | None, Path | None]:
    """A ``[[datasets]]`` table's name and data folder (``None`` where they are wrong)."""
    dataset_path = None
    if "path" in entry:
        if isinstance(entry["path"], str) and entry["path"].strip():
            dataset_path = (base / entry["path"]).resolve()
        else:
            problems.append(f"{where} path = {_describe(entry['path'])}: expected a folder path as text")
    name = entry.get("name", dataset_path.name if dataset_path is not None else None)
    if not isinstance(name, str) or not _NAME_PATTERN.match(name):
        problems.append(
            f"{where} name = {_describe(name)}: expected a name of letters, digits, '.', '_' or '-' "
            "(it becomes part of the report folder names)"
        )
        name, dataset_path = None, None  # go on checking the other keys of this table
    elif dataset_path is None and "path" not in entry:
        dataset_path = (config.DATA_RAW / name).resolve()
    if name is not None and dataset_path is not None and dataset_path.name != name:
        # The builder names report folders after the data folder; a different
        # name here would make every run look for reports that never appear.
        problems.append(
            f"{where} name = {name!r} but path {entry.get('path')!r} ends in {dataset_path.name!r}: "
            f"report folders are named after the data folder, so set name = {dataset_path.name!r}"
        )
    return name, dataset_path


def _read_datasets(document: dict, base: Path, defaults: dict, default_as_of: str | None,
                   default_min_cell: int | None, shared_publication: Publication,
                   problems: list[str]) -> list[tuple[str, Path, str | None, int | None, Publication]]:
    """The ``[[datasets]]`` tables with the defaults applied, problems added to ``problems``."""
    datasets = document.get("datasets")
    if not isinstance(datasets, list) or not datasets or not all(isinstance(d, dict) for d in datasets):
        problems.append(
            f"datasets = {_describe(datasets)}: expected at least one [[datasets]] table with name and path"
        )
        datasets = []
    resolved: list[tuple[str, Path, str | None, int | None, Publication]] = []
    seen_names: set[str] = set()
    for position, entry in enumerate(datasets, start=1):
        where = f"[[datasets]] #{position}"
        _unknown_keys(entry, _DATASET_KEYS, where, problems)
        name, dataset_path = _dataset_name_and_path(entry, where, base, problems)
        if name is not None and name in seen_names:
            problems.append(f"{where} name = {name!r}: another [[datasets]] has the same name")
        seen_names.add(name)
        as_of = _check_date(entry["as_of"], f"{where} as_of", problems) if "as_of" in entry else default_as_of
        if as_of is None and "as_of" not in entry and "as_of" not in defaults:
            problems.append(f"{where} ({name or 'unnamed'}): no as_of: give as_of here or in [defaults]")
        min_cell = (
            _check_min_cell(entry["min_cell"], f"{where} min_cell", problems)
            if "min_cell" in entry
            else default_min_cell
        )
        publication = _check_publication(entry.get("publication"), f"{where} publication.", shared_publication,
                                         problems)
        if dataset_path is not None:
            resolved.append((name, dataset_path, as_of, min_cell, publication))
    return resolved


def load_matrix(path: str | os.PathLike) -> ReportMatrix:
    """Read and validate a report matrix file.

    Parameters
    ----------
    path
        A TOML file with top-level ``areas`` and ``languages`` lists, an optional
        ``[defaults]`` table (``as_of``, ``min_cell``, ``out_dir``) and one or more
        ``[[datasets]]`` tables (``name``, ``path``, and optionally ``as_of`` and
        ``min_cell`` overriding the defaults).  Relative paths are resolved
        against the config file's folder; a dataset without ``path`` is looked
        up as ``data/raw/<name>``; ``out_dir`` defaults to the config file's folder.

    Returns
    -------
    ReportMatrix
        The reports in the order datasets × areas × languages of the file.

    Raises
    ------
    AlisError
        The file is missing or not TOML, or any value is wrong; the message
        lists every problem found, each naming the file, key, value and what
        was expected.
    """
    path = Path(path)
    document = _read_document(path)
    base = path.resolve().parent
    problems: list[str] = []
    _unknown_keys(document, _TOP_KEYS, "top level", problems)
    defaults, default_as_of, default_min_cell, out_dir = _read_defaults(document, base, problems)
    shared_publication = _check_publication(document.get("publication"), "[publication] ", Publication(), problems)
    areas = _check_choices(document.get("areas"), "areas", AREAS, problems)
    languages = _check_choices(document.get("languages"), "languages", LANGUAGES, problems)
    resolved = _read_datasets(document, base, defaults, default_as_of, default_min_cell, shared_publication, problems)

    if problems:
        listing = "\n".join(f"  - {problem}" for problem in problems)
        raise AlisError(f"{path}: {len(problems)} problem(s) in the report matrix:\n{listing}")
    reports = tuple(
        ReportSpec(name, dataset_path, as_of, area, language, min_cell, publication)
        for name, dataset_path, as_of, min_cell, publication in resolved
        for area in areas
        for language in languages
    )
    return ReportMatrix(config_path=path.resolve(), out_dir=out_dir, reports=reports)
