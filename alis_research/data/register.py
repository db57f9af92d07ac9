"""GP-register extracts: the second raw-data contract and its validation.

A register extract is a folder holding ``snapshots.csv`` (monthly snapshots of
GP list holders, about 1.5 million rows for a national extract over 25 years),
optionally ``doctors.csv`` (one row per doctor: sex, birth year) and
``dataset.json``. :func:`validate_register` checks it with the same standard
as :mod:`alis_research.data.validate` (every problem at once, each naming the file,
the spreadsheet row, the column, the value and what was expected) but works on
whole columns at a time: every text column is factorised once and each
*distinct* value is parsed once, so the cost grows with the number of distinct
months, codes and ids, not with the number of rows.

The extract's columns, readers and column-level checks are in
:mod:`alis_research.data.register_extract`; :mod:`alis_research.data.register_timeline`
turns the validated snapshots into contract episodes and counting-process intervals.

The contract and the decisions behind it are written up in ``docs/register.md``.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from . import io
from ..errors import AlisError, DataValidationError
from ..identity import NATIONAL_ID_MASK, cells_with_national_id
from .contract import Problem, canonical_contract_type
from .raw_table import NATIONAL_ID_IN_CELL_PROBLEM, without_file_prefix
from .register_extract import (
    DOCTORS,
    DOCTOR_OPTIONAL_COLUMNS,
    DOCTOR_REQUIRED_COLUMNS,
    MONTH_YEAR_RANGE,
    PRACTICE_FORM_EXPECTED,
    RegisterColumn,
    RegisterProblems,
    SNAPSHOTS,
    SNAPSHOT_OPTIONAL_COLUMNS,
    SNAPSHOT_REQUIRED_COLUMNS,
    check_register_columns,
    check_duplicate_months,
    check_column_identity_numbers,
    code_history_index,
    parse_count,
    parse_month,
    parse_sex_and_birth_year,
    read_register_table,
    resolve_municipality_values,
    resolve_split_codes,
)
from .validate import check_dataset_metadata

# --------------------------------------------------------------------------- validation
def _read_checked(problems: RegisterProblems, path: Path, required, optional):
    """Read one register table and check its columns: ``(table, rows)``, or None with the problem recorded."""
    file = path.name
    try:
        table, rows = read_register_table(path)
    except io.TableFormatError as exc:
        problems.add(file, exc.row, exc.column, None, exc.detail)
        return None
    except AlisError as exc:
        problems.add(file, None, None, None, without_file_prefix(str(exc), file))
        return None
    if not check_register_columns(problems, file, list(table.columns), required, optional):
        return None
    # an identity number in any other column (known or not) is refused too; doctor_id has its own check
    for name in table.columns:
        if name == "doctor_id":
            continue
        hits = cells_with_national_id(table[name])
        if hits.any():
            problems.rows(file, rows[hits], name, np.full(int(hits.sum()), NATIONAL_ID_MASK, dtype=object),
                          NATIONAL_ID_IN_CELL_PROBLEM)
    return table, rows


def _check_snapshots(problems: RegisterProblems, path: Path, doctor_attributes: pd.DataFrame | None):
    file = path.name
    read = _read_checked(problems, path, SNAPSHOT_REQUIRED_COLUMNS, SNAPSHOT_OPTIONAL_COLUMNS)
    if read is None:
        return None
    table, rows = read
    if not len(table):
        problems.add(file, None, None, None, "no data rows")
        return None

    month_col = RegisterColumn.from_raw(table.pop("month"))
    list_col = RegisterColumn.from_raw(table.pop("list_id"))
    doctor_col = RegisterColumn.from_raw(table.pop("doctor_id"))
    muni_col = RegisterColumn.from_raw(table.pop("municipality"))
    size_col = RegisterColumn.from_raw(table.pop("list_size"))
    form_col = RegisterColumn.from_raw(table.pop("practice_form"))

    month, bad = _check_months(problems, file, rows, month_col)

    list_empty = list_col.empty()
    problems.rows(file, rows[list_empty], "list_id", list_col.at(list_empty), "empty cell; a value is required")
    vacant = doctor_col.empty()
    id_rows = check_column_identity_numbers(problems, file, rows, doctor_col, "doctor_id")

    row_code, code_labels = _check_municipalities(problems, file, rows, list_col, muni_col)
    list_size = _check_list_sizes(problems, file, rows, size_col)
    form_values = _check_practice_forms(problems, file, rows, form_col, vacant)

    usable = ~bad & ~list_empty
    check_duplicate_months(problems, file, rows, month, list_col, doctor_col, usable)

    attributes = parse_sex_and_birth_year(problems, file, rows, table)
    _check_doctor_attributes(problems, file, rows, doctor_col, vacant, attributes, doctor_attributes)

    form_position = np.array([{"fastlønn": 0, "næring": 1}.get(v, -1) for v in form_values], dtype=np.int64)
    frame = pd.DataFrame({
        "source_row": rows,
        "month": month.astype("datetime64[M]").astype("datetime64[ns]"),
        "list_id": pd.Categorical.from_codes(list_col.codes, categories=list_col.values),
        "doctor_id": _without_empty(doctor_col),
        "municipality": pd.Categorical.from_codes(muni_col.codes, categories=muni_col.values),
        "municipality_code": pd.Categorical.from_codes(row_code, categories=code_labels),
        "list_size": list_size,
        "practice_form": pd.Categorical.from_codes(form_position[form_col.codes], categories=["fastlønn", "næring"]),
    })
    return frame, doctor_col, vacant, attributes, id_rows


def _check_months(problems: RegisterProblems, file: str, rows: np.ndarray, month_col: RegisterColumn):
    """The month of each row as a month index (-1 where it fails) and the rows whose month fails."""
    month_values = np.array([parse_month(v) if v else None for v in month_col.values], dtype=object)
    month_ok = month_values != None  # noqa: E711
    month = np.where(month_ok, month_values, -1).astype(np.int64)[month_col.codes]
    bad = ~month_ok[month_col.codes]
    month_empty = month_col.empty()
    problems.rows(file, rows[month_empty], "month", month_col.at(month_empty), "empty cell; a value is required")
    bad_month = bad & ~month_empty
    problems.rows(file, rows[bad_month], "month", month_col.at(bad_month),
                  f"not a valid month (expected YYYY-MM, e.g. 2019-08; years {MONTH_YEAR_RANGE[0]}-{MONTH_YEAR_RANGE[1]})")
    return month, bad


def _check_municipalities(problems: RegisterProblems, file: str, rows: np.ndarray, list_col: RegisterColumn,
                          muni_col: RegisterColumn) -> tuple[np.ndarray, np.ndarray]:
    """The 2024 code of each row as a position in the code labels (-1 where unresolved), and the labels."""
    codes_by_value, errors, splits = resolve_municipality_values(muni_col.values)
    muni_empty = muni_col.empty()
    problems.rows(file, rows[muni_empty], "municipality", muni_col.at(muni_empty), "empty cell; a value is required")
    if errors:
        error_codes = np.array(sorted(errors))
        error_rows = np.isin(muni_col.codes, error_codes)
        for value_code in error_codes:
            hit = error_rows & (muni_col.codes == value_code)
            problems.rows(file, rows[hit], "municipality", muni_col.at(hit), errors[int(value_code)])
    parts = {part for split in splits.values() for part in split}
    code_labels = np.array(sorted({c for c in codes_by_value if c is not None} | parts), dtype=object)
    position_of = {label: position for position, label in enumerate(code_labels)}
    value_position = np.array([position_of.get(c, -1) if c is not None else -1 for c in codes_by_value],
                              dtype=np.int64)
    row_code = value_position[muni_col.codes] if len(value_position) else np.full(len(rows), -1, dtype=np.int64)
    if splits:
        history = code_history_index()
        names = {code: row["name"] for code, row in history.items()}
        resolve_split_codes(problems, file, rows, list_col, muni_col, row_code, code_labels, splits, names)
    return row_code, code_labels


def _check_list_sizes(problems: RegisterProblems, file: str, rows: np.ndarray, size_col: RegisterColumn) -> np.ndarray:
    """The list size of each row (-1 where it fails)."""
    size_values = np.array([parse_count(v) if v else None for v in size_col.values], dtype=object)
    size_empty = size_col.empty()
    problems.rows(file, rows[size_empty], "list_size", size_col.at(size_empty), "empty cell; a value is required")
    not_number = (size_values == None)[size_col.codes] & ~size_empty  # noqa: E711
    problems.rows(file, rows[not_number], "list_size", size_col.at(not_number),
                  "not a whole number (expected the number of patients on the list, 0 or more)")
    negative_values = np.array([v is not None and v < 0 for v in size_values], dtype=bool)
    negative = negative_values[size_col.codes]
    problems.rows(file, rows[negative], "list_size", size_col.at(negative),
                  "negative list size (expected the number of patients on the list, 0 or more)")
    return np.where(size_values == None, -1, size_values).astype(np.int64)[size_col.codes]  # noqa: E711


def _check_practice_forms(problems: RegisterProblems, file: str, rows: np.ndarray, form_col: RegisterColumn,
                          vacant: np.ndarray) -> np.ndarray:
    """The canonical practice form per distinct value (None where it fails); a vacant month needs none."""
    form_values = np.array([canonical_contract_type(v) if v else None for v in form_col.values], dtype=object)
    form_empty = form_col.empty()
    need_form = form_empty & ~vacant
    problems.rows(file, rows[need_form], "practice_form", form_col.at(need_form),
                  "empty cell; a row with a doctor needs its practice form (fastlønn or næring)")
    bad_form = (form_values == None)[form_col.codes] & ~form_empty  # noqa: E711
    problems.rows(file, rows[bad_form], "practice_form", form_col.at(bad_form), PRACTICE_FORM_EXPECTED)
    return form_values


def _without_empty(column: RegisterColumn) -> pd.Categorical:
    """A categorical of the column with the empty value as missing (NaN)."""
    keep = column.values != ""
    remap = np.where(keep, np.cumsum(keep) - 1, -1)
    return pd.Categorical.from_codes(remap[column.codes], categories=column.values[keep])


def _check_doctor_attributes(problems, file, rows, doctor_col: RegisterColumn, vacant, attributes, doctors) -> None:
    """Sex and birth year must be constant per doctor, within the snapshots and against doctors.csv."""
    if not attributes or not (~vacant).any():
        return
    held = np.flatnonzero(~vacant)
    data = {"doctor": doctor_col.values[doctor_col.codes[held]], "row": rows[held]}
    for name, values in attributes.items():
        data[name] = values[held]
    sub = pd.DataFrame(data)
    for name in attributes:
        observed = sub.loc[sub[name].notna(), ["doctor", name, "row"]]
        if doctors is not None and name in doctors.columns:
            given = doctors.loc[doctors[name].notna(), ["doctor_id", name]].rename(columns={"doctor_id": "doctor",
                                                                                           name: "given"})
            joined = observed.merge(given, on="doctor", how="inner")
            clash = joined[joined[name].astype(str) != joined["given"].astype(str)]
            problems.rows(file, clash["row"].to_numpy(), name, clash[name].to_numpy(dtype=object),
                          lambda v, n=name: f"differs from the {n} given for this doctor in doctors.csv")
        distinct = observed.drop_duplicates(["doctor", name])
        clashing = distinct["doctor"][distinct["doctor"].duplicated()]
        if len(clashing):
            firsts = observed.groupby("doctor")[[name, "row"]].first()
            conflict = observed[observed["doctor"].isin(set(clashing))]
            first_value = firsts.loc[conflict["doctor"], name].to_numpy()
            bad = conflict[conflict[name].to_numpy() != first_value]
            first_row = firsts.loc[bad["doctor"], "row"].to_numpy()
            messages = [f"doctor {d} has {name} {v0} at row {r0}: a doctor's {name} cannot change"
                        for d, v0, r0 in zip(bad["doctor"], firsts.loc[bad["doctor"], name], first_row)]
            problems.rows(file, bad["row"].to_numpy(), name, bad[name].to_numpy(dtype=object),
                          f"a doctor's {name} cannot change between rows", messages=messages)


def _check_doctors(problems: RegisterProblems, path: Path) -> pd.DataFrame | None:
    """The optional doctors table: one row per doctor with sex and birth year."""
    file = path.name
    read = _read_checked(problems, path, DOCTOR_REQUIRED_COLUMNS, DOCTOR_OPTIONAL_COLUMNS)
    if read is None:
        return None
    table, rows = read
    doctor_col = RegisterColumn.from_raw(table.pop("doctor_id"))
    empty = doctor_col.empty()
    problems.rows(file, rows[empty], "doctor_id", doctor_col.at(empty), "empty cell; a value is required")
    check_column_identity_numbers(problems, file, rows, doctor_col, "doctor_id")
    duplicated = pd.Series(doctor_col.codes).duplicated().to_numpy() & ~empty
    if duplicated.any():
        first = pd.Series(rows).groupby(doctor_col.codes).transform("min").to_numpy()
        messages = [f"doctor {d} already has a row (row {r0}); doctors.csv holds one row per doctor"
                    for d, r0 in zip(doctor_col.at(duplicated), first[duplicated])]
        problems.rows(file, rows[duplicated], "doctor_id", doctor_col.at(duplicated),
                      "a second row for the same doctor; doctors.csv holds one row per doctor", messages=messages)
    attributes = parse_sex_and_birth_year(problems, file, rows, table)
    frame = pd.DataFrame({"doctor_id": doctor_col.text(), **attributes})
    return frame[~empty & ~duplicated].reset_index(drop=True)


def _find_csv(folder: Path, stem: str, problems: RegisterProblems) -> Path | None:
    found = [entry for entry in sorted(folder.iterdir())
             if entry.is_file() and entry.name.lower().startswith(stem + ".") and not entry.name.startswith(".")]
    csv_files = [entry for entry in found if entry.suffix.lower() == ".csv"]
    if csv_files:
        return csv_files[0]
    if found:
        problems.add(f"{stem}.csv", None, None, None,
                     f"found {found[0].name} but register extracts are read as CSV (.csv); save it as CSV")
    return None


def validate_register(dataset_dir) -> tuple[list[Problem], pd.DataFrame | None]:
    """Check a GP-register extract folder against the register contract.

    Parameters
    ----------
    dataset_dir
        Folder holding ``snapshots.csv``, optionally ``doctors.csv`` and ``dataset.json``.

    Returns
    -------
    problems, snapshots
        Every problem found, listed up to :data:`MAX_PROBLEMS_PER_KIND` per
        kind with one more problem counting the rest; and, only when there are
        none, the typed snapshots: ``source_row`` (int), ``month`` (datetime64,
        first day), ``list_id``, ``doctor_id`` (NaN for a month without a
        holder), ``municipality`` (as given), ``municipality_code`` (2024),
        ``practice_form`` (``fastlønn``/``næring``, NaN when vacant), ``sex``
        (``K``/``M``/NaN) as categoricals, ``list_size`` (int64) and
        ``birth_year`` (Int64). ``frame.attrs`` holds ``synthetic`` (bool) and
        ``input_files`` (file name -> SHA-256).

    Raises
    ------
    AlisError
        If the folder does not exist (data problems are returned, never raised).
    """
    folder = Path(dataset_dir)
    if not folder.is_dir():
        raise AlisError(f"{folder}: register extract folder not found")
    problems = RegisterProblems()
    input_files: dict[str, str] = {}
    synthetic = check_dataset_metadata(folder, problems.items, input_files)  # the same dataset.json rules

    doctors = None
    doctors_path = _find_csv(folder, DOCTORS, problems)
    if doctors_path is not None:
        input_files[doctors_path.name] = io.sha256_file(doctors_path)
        doctors = _check_doctors(problems, doctors_path)
    snapshots_path = _find_csv(folder, SNAPSHOTS, problems)
    checked = None
    if snapshots_path is None:
        if not any(p.file == f"{SNAPSHOTS}.csv" for p in problems.items):
            problems.add(f"{SNAPSHOTS}.csv", None, None, None, "missing required file (expected snapshots.csv)")
    else:
        input_files[snapshots_path.name] = io.sha256_file(snapshots_path)
        checked = _check_snapshots(problems, snapshots_path, doctors)

    rank = {f"{SNAPSHOTS}.csv": 0, f"{DOCTORS}.csv": 1}
    ordered = sorted(problems.items, key=lambda p: (rank.get(p.file, 2), p.file, p.row is None, p.row or 0))
    if ordered or checked is None:
        return ordered, None
    frame, doctor_col, vacant, attributes, _ = checked
    frame = _attach_doctor_attributes(frame, attributes, doctors)
    frame.attrs["synthetic"] = bool(synthetic)
    frame.attrs["input_files"] = input_files
    return [], frame


def _attach_doctor_attributes(frame: pd.DataFrame, attributes: dict, doctors: pd.DataFrame | None) -> pd.DataFrame:
    """``sex`` and ``birth_year`` per row: from the snapshot columns, else from doctors.csv."""
    sex = attributes.get("sex")
    birth = attributes.get("birth_year")
    if doctors is not None and len(doctors):
        lookup = doctors.set_index("doctor_id")
        codes = frame["doctor_id"].cat.codes.to_numpy()
        categories = frame["doctor_id"].cat.categories
        for name in ("sex", "birth_year"):
            if name not in lookup.columns:
                continue
            per_category = lookup[name].reindex(categories).to_numpy(dtype=object)
            from_table = np.where(codes >= 0, per_category[np.maximum(codes, 0)], None)
            current = sex if name == "sex" else birth
            merged = from_table if current is None else np.where(current == None, from_table, current)  # noqa: E711
            if name == "sex":
                sex = merged
            else:
                birth = merged
    rows = len(frame)
    sex = np.full(rows, None, dtype=object) if sex is None else sex
    birth = np.full(rows, None, dtype=object) if birth is None else birth
    frame["sex"] = pd.Categorical(pd.Series(sex, dtype=object), categories=["K", "M"])
    frame["birth_year"] = pd.array(pd.Series(birth, dtype=object).to_numpy(dtype=object), dtype="Int64")
    return frame


def load_register(dataset_dir) -> pd.DataFrame:
    """Validate an extract and return its typed snapshots; raise :class:`DataValidationError` on any problem."""
    problems, frame = validate_register(dataset_dir)
    if problems:
        lines = "\n".join(f"  {problem}" for problem in problems[:50])
        more = f"\n  … and {len(problems) - 50} more" if len(problems) > 50 else ""
        raise DataValidationError(problems, f"{len(problems)} problem(s) in {dataset_dir}:\n{lines}{more}\n"
                                            f"Run `alis-research validate-register {dataset_dir}` for the full list.")
    return frame
