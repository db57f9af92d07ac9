"""The raw-data contract: check a dataset folder and report every problem at once.

A dataset is a folder holding ``episodes.csv`` (or ``.xlsx``), optionally
``events.csv`` (or ``.xlsx``), ``supervision.csv`` (or ``.xlsx``, checked against the
episodes once they are valid) and ``dataset.json``. :func:`validate_dataset`
reads them through :mod:`alis_research.data.io`, checks every cell and every
cross-row rule, and returns *all* problems found, each naming the file, the
row as a spreadsheet shows it (header = row 1), the column, the value and
what was expected. When there are none it also returns the cleaned, typed
frames (canonical values, 2024 municipality codes) described in
``docs/architecture.md``. The rules and the decisions behind them are written
up in ``docs/data_dictionary.md``.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from . import io
from ..identity import contains_national_id
from ..errors import AlisError, DataValidationError
from .contract import (
    EPISODES,
    EVENTS,
    Problem,
    ValidatedData,
    parse_bool,
    parse_date,
)
from .episode_checks import check_episodes
from .event_checks import SUPERVISION, check_events, validate_supervision
from .raw_table import (
    NATIONAL_ID_IN_CELL_PROBLEM,
    Table,
    capped,
    problem_count,
    read_coded_table_or_problem,
    without_file_prefix,
)

# --------------------------------------------------------------------------- the whole dataset
def _parse_as_of(as_of) -> pd.Timestamp | None:
    if as_of is None or (isinstance(as_of, str) and not as_of.strip()):
        return None
    parsed = parse_date(as_of) if isinstance(as_of, str) else pd.Timestamp(as_of).normalize()
    if parsed is None:
        raise AlisError(f"as-of date '{as_of}': not a valid date (expected YYYY-MM-DD)")
    return parsed


def validate_dataset(dataset_dir, *, as_of=None) -> tuple[list[Problem], ValidatedData | None]:
    """Check a raw dataset folder against the contract.

    Parameters
    ----------
    dataset_dir
        The folder holding ``episodes.csv``/``.xlsx`` and optionally
        ``events.csv``/``.xlsx`` and ``dataset.json``.
    as_of
        The as-of date (``YYYY-MM-DD`` text, date or Timestamp). Only when it
        is given is an ended episode (``end_date`` on or before it) required to
        have an ``end_reason``.

    Returns
    -------
    problems, data
        Every problem found (empty when the dataset is clean) and, only when
        there are none, the :class:`ValidatedData`. Data problems are never
        raised; a missing folder or an invalid ``as_of`` raise
        :class:`~alis_research.errors.AlisError`.
    """
    folder = Path(dataset_dir)
    if not folder.is_dir():
        raise AlisError(f"{folder}: dataset folder not found")
    as_of_date = _parse_as_of(as_of)
    problems: list[Problem] = []
    input_files: dict[str, str] = {}

    def locate(stem: str) -> Path | None:
        try:
            return io.find_table(folder, stem)
        except AlisError as exc:
            problems.append(Problem(f"{stem}.csv", None, None, None, str(exc)))
            return None

    episodes_path, events_path = locate(EPISODES), locate(EVENTS)
    synthetic = check_dataset_metadata(folder, problems, input_files)

    episodes = episodes_usable = None
    if episodes_path is None:
        if not any(p.file == f"{EPISODES}.csv" for p in problems):
            problems.append(Problem(f"{EPISODES}.csv", None, None, None,
                                    "missing required file (expected episodes.csv or episodes.xlsx)"))
    else:
        input_files[episodes_path.name] = io.sha256_file(episodes_path)
        frame, coded = read_coded_table_or_problem(episodes_path, problems)
        if frame is not None:
            episode_table = Table(frame, episodes_path.name, problems, coded)
            del frame, coded
            episodes, episodes_usable = check_episodes(episode_table, as_of_date)

    events = None
    if events_path is not None:
        input_files[events_path.name] = io.sha256_file(events_path)
        frame, coded = read_coded_table_or_problem(events_path, problems)
        if frame is not None:
            # cross-checks only against an episodes table whose key columns could be read
            comparable = episodes is not None and {"person_id", "start_date"} <= set(episode_table.cells.columns)
            events = check_events(Table(frame, events_path.name, problems, coded),
                                   episodes if comparable else None, episodes_usable)

    if problems:
        return capped(_sorted(problems, episodes_path, events_path)), None
    if events is None:
        events = _empty_events()
    data = ValidatedData(dataset_dir=folder, episodes=_finish_episodes(episodes), events=_finish_events(events),
                         input_files=input_files, synthetic=bool(synthetic))
    # the optional supervision.csv is checked against the episodes, so only once they are valid
    supervision_problems = _attach_supervision(folder, data)
    return (supervision_problems, None) if supervision_problems else ([], data)


def check_dataset_metadata(folder: Path, problems: list[Problem], input_files: dict[str, str]) -> bool | None:
    """Read the optional ``dataset.json`` (fingerprinted in ``input_files``), adding its problems;
    the ``synthetic`` flag, ``None`` when it is not a yes/no value."""
    metadata: dict = {}
    if (folder / io.METADATA_FILE).is_file():
        input_files[io.METADATA_FILE] = io.sha256_file(folder / io.METADATA_FILE)
        try:
            metadata = io.read_dataset_metadata(folder)
        except AlisError as exc:
            problems.append(Problem(io.METADATA_FILE, None, None, None, without_file_prefix(str(exc), io.METADATA_FILE)))
        problems.extend(metadata_identity_problems(metadata))
    synthetic = parse_bool(metadata.get("synthetic", False))
    if synthetic is None:
        problems.append(Problem(io.METADATA_FILE, None, "synthetic", str(metadata.get("synthetic")),
                                "not a yes/no value (expected true or false)"))
    return synthetic


def _attach_supervision(folder: Path, data: ValidatedData) -> list[Problem]:
    """Check the optional supervision table against the valid episodes and attach it to ``data``
    (fingerprinted in its ``input_files``); its problems, empty when it is clean or absent."""
    try:
        supervision_problems, data.supervision = validate_supervision(folder, data)
        supervision_path = io.find_table(folder, SUPERVISION)
    except AlisError as exc:  # both supervision.csv and .xlsx
        return [Problem(f"{SUPERVISION}.csv", None, None, None, without_file_prefix(str(exc), f"{SUPERVISION}.csv"))]
    if supervision_problems:
        return supervision_problems
    if supervision_path is not None:
        data.input_files[supervision_path.name] = io.sha256_file(supervision_path)
    return []


def metadata_identity_problems(metadata, file: str = io.METADATA_FILE) -> list[Problem]:
    """Identity numbers in ``dataset.json`` (any key or string or whole number, at any depth),
    one problem each naming the key path, the value masked."""
    found: list[Problem] = []

    def walk(node, path: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                where = f"{path}.{key}" if path else str(key)
                if contains_national_id(str(key)):
                    found.append(Problem(file, None, where, str(key), NATIONAL_ID_IN_CELL_PROBLEM))
                walk(value, where)
        elif isinstance(node, list):
            for position, value in enumerate(node):
                walk(value, f"{path}[{position}]")
        elif isinstance(node, (str, int)) and not isinstance(node, bool) and contains_national_id(str(node)):
            found.append(Problem(file, None, path or None, str(node), NATIONAL_ID_IN_CELL_PROBLEM))

    walk(metadata, "")
    return found



def _sorted(problems: list[Problem], *paths: Path | None) -> list[Problem]:
    """Order problems by file (episodes, events, other), then row; stable within a row."""
    rank = {path.name: position for position, path in enumerate(paths) if path is not None}
    # a line counting problems not listed comes after the listed ones of its file
    return sorted(problems, key=lambda p: (rank.get(p.file, len(rank)), p.file, p.more > 0, p.row or 0))


def _finish_episodes(episodes: pd.DataFrame) -> pd.DataFrame:
    # the parsed frame is this module's own: relabel its rows instead of copying a million of them
    result = episodes.copy(deep=False)
    result.index = pd.RangeIndex(len(result))
    for column in ("person_id", "municipality_code", "municipality_name", "contract_type", "programme"):
        result[column] = result[column].astype(object, copy=False)
    return result


def _finish_events(events: pd.DataFrame) -> pd.DataFrame:
    result = events.reset_index(drop=True)
    result["date"] = result["date"].astype("datetime64[ns]")
    result["source_row"] = result["source_row"].astype("int64")
    return result


def _empty_events() -> pd.DataFrame:
    return pd.DataFrame({
        "source_row": pd.Series(dtype="int64"), "person_id": pd.Series(dtype=object),
        "date": pd.Series(dtype="datetime64[ns]"), "event": pd.Series(dtype=object),
        "new_contract_type": pd.Series(dtype=object), "note": pd.Series(dtype=object),
    })


def load_validated(dataset_dir, *, as_of=None) -> ValidatedData:
    """Validate and return the cleaned data; raise :class:`DataValidationError` listing every problem."""
    problems, data = validate_dataset(dataset_dir, as_of=as_of)
    if problems:
        lines = "\n".join(f"  {problem}" for problem in problems[:50])
        more = f"\n  … and {len(problems) - 50} more line(s)" if len(problems) > 50 else ""
        raise DataValidationError(
            problems,
            f"{problem_count(problems)} problem(s) in {dataset_dir}:\n{lines}{more}\n"
            f"Run `alis-research validate {dataset_dir}"
            + (f" --as-of {_parse_as_of(as_of):%Y-%m-%d}" if _parse_as_of(as_of) is not None else "")
            + "` for the full list.",
        )
    return data
