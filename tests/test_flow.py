"""The flow raw -> validated -> prepared, validated once (issue 11).

* ``validate_dataset`` checks ``supervision.csv`` too, so it agrees with ``alis-research validate``;
* the prepared dataset carries the events and the supervision table a report needs;
* ``load_dataset`` starts from ``data/processed/<name>/`` when it is current (same raw-file
  hashes, as-of date and package version) and prepares from the raw files otherwise.
"""
from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import pandas as pd
import pytest

import alis_research as ar
from alis_research.data import cohort, validate
from alis_research.cli import main
from alis_research.errors import DataValidationError

FIXTURES = Path(__file__).parent / "fixtures"
AS_OF = "2024-12-31"


@pytest.fixture
def raw(tmp_path) -> Path:
    folder = tmp_path / "raw" / "supervised"
    shutil.copytree(FIXTURES / "supervision", folder)
    return folder


def _prepared(folder, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ar.load_dataset(folder, as_of=AS_OF, **kwargs)


def test_validate_dataset_and_the_command_agree_on_a_bad_supervision_file(raw, capsys):
    with (raw / "supervision.csv").open("a", encoding="utf-8") as handle:
        handle.write("P9,2020-13,x\n")
    problems, data = validate.validate_dataset(raw, as_of=AS_OF)
    assert data is None
    assert [(p.file, p.column) for p in problems] == [("supervision.csv", "person_id"), ("supervision.csv", "month"),
                                                      ("supervision.csv", "hours")]
    assert main(["validate", str(raw), "--as-of", AS_OF]) == 1
    printed = capsys.readouterr().out.splitlines()
    assert printed == [str(p) for p in problems] + [f"3 problem(s) found in {raw}"]
    with pytest.raises(DataValidationError, match="3 problem"):
        ar.load_dataset(raw, as_of=AS_OF)


def _same(left: pd.DataFrame, right: pd.DataFrame) -> None:
    """Equal tables, a missing value being None or NA alike (Parquet gives None back)."""
    pd.testing.assert_frame_equal(left.astype(object).where(left.notna(), None),
                                  right.astype(object).where(right.notna(), None))


def test_the_prepared_dataset_carries_events_and_supervision(raw):
    data = _prepared(raw)
    validated = validate.load_validated(raw, as_of=AS_OF)
    _same(data.events, validated.events)
    _same(data.supervision, validated.supervision)
    assert data.has_supervision and len(data.supervision) > 0
    assert "supervision.csv" in data.manifest["input_files"]  # the fingerprint covers it
    without = _prepared(FIXTURES / "good_small")
    assert not without.has_supervision and without.supervision.empty
    # an area's dataset keeps every event and supervision row (matched to episodes by person and date)
    area = ar.select_area(data, "UNN")
    assert len(area.events) == len(data.events) and len(area.supervision) == len(data.supervision)


def test_load_dataset_reads_a_current_processed_folder(raw, tmp_path, monkeypatch):
    processed = tmp_path / "processed" / "supervised"
    fresh = _prepared(raw, processed=processed)  # nothing there yet: prepared from raw
    cohort.write_prepared(fresh, processed)
    assert cohort.processed_is_current(processed, raw, AS_OF)

    def no_validation(*args, **kwargs):
        raise AssertionError("the raw files were validated again")

    monkeypatch.setattr(validate, "validate_dataset", no_validation)
    again = _prepared(raw, processed=processed)
    for name in ("episodes", "intervals", "exclusions", "events", "supervision"):
        pd.testing.assert_frame_equal(getattr(again, name), getattr(fresh, name))
    assert again.fingerprint == fresh.fingerprint and again.manifest == fresh.manifest


@pytest.mark.parametrize("change", ["raw file edited", "raw file added", "other as-of", "other version"])
def test_a_stale_processed_folder_is_not_used(raw, tmp_path, change, monkeypatch):
    processed = tmp_path / "processed"
    cohort.write_prepared(_prepared(raw), processed)
    as_of = AS_OF
    if change == "raw file edited":
        path = raw / "supervision.csv"
        path.write_text(path.read_text(encoding="utf-8").rstrip("\n").rsplit("\n", 1)[0] + "\n", encoding="utf-8")
    elif change == "raw file added":
        (raw / "supervision.csv").rename(raw / "keep.txt")
        shutil.copy(FIXTURES / "good_small" / "dataset.json", raw / "dataset.json")
    elif change == "other as-of":
        as_of = "2024-06-30"
    else:
        monkeypatch.setattr(cohort, "__version__", "0.0.0-other")
    assert not cohort.processed_is_current(processed, raw, as_of)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = ar.load_dataset(raw, as_of=as_of, processed=processed)
    assert data.manifest["input_files"] == cohort.raw_input_files(raw)
    assert data.as_of == pd.Timestamp(as_of)


def test_analyse_starts_from_the_processed_folder(raw, tmp_path, monkeypatch, capsys):
    from alis_research import config

    monkeypatch.setattr(config, "DATA_PROCESSED", tmp_path / "processed")
    assert main(["prepare", str(raw), "--as-of", AS_OF]) == 0
    assert cohort.processed_is_current(tmp_path / "processed" / "supervised", raw, AS_OF)
    capsys.readouterr()
    monkeypatch.setattr(validate, "validate_dataset", lambda *a, **k: (_ for _ in ()).throw(AssertionError("validated")))
    assert main(["analyse", str(raw), "--as-of", AS_OF, "--json"]) == 0
    assert '"fingerprint"' in capsys.readouterr().out
