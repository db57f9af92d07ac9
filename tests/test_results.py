"""The results document (alis-research/results/1): exact shape, and numbers equal to R's survival on the demo."""
from __future__ import annotations

import json
import warnings
from pathlib import Path

import pandas as pd
import pytest

from alis_research import config
from alis_research.cli import main
from alis_research.cohort import prepare_dataset
from alis_research.results import build_results, dumps

REFERENCE = Path(__file__).resolve().parent / "reference" / "results"
DEMO = config.DATA_RAW / config.DEMO_DATASET


@pytest.fixture(scope="module")
def document():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prepared = prepare_dataset(DEMO, as_of=config.DEMO_AS_OF)
        return build_results(prepared)


def test_document_has_exactly_the_published_shape(document):
    assert set(document) == {"schema", "as_of", "dataset", "retention", "turnover", "cox"}
    assert document["schema"] == "alis-research/results/1"
    assert document["as_of"] == "2024-12-31"
    assert set(document["dataset"]) == {"fingerprint", "synthetic", "episodes", "persons", "excluded", "publishable"}
    assert document["dataset"]["publishable"] is False
    assert document["dataset"]["synthetic"] is True
    assert set(document["retention"]) == {"km", "median", "logrank", "rmst"}
    km_keys = {"cohort", "time", "survival", "ci_lower", "ci_upper", "at_risk"}
    assert all(set(row) == km_keys for row in document["retention"]["km"])
    assert {(r["cohort"], r["time"]) for r in document["retention"]["km"]} == {
        (c, t) for c in ("fastlønn", "næring") for t in (1, 2, 3, 5)}
    assert set(document["retention"]["logrank"]) == {"statistic", "df", "p_value"}
    assert [r["cohort"] for r in document["retention"]["rmst"]] == ["fastlønn", "næring", "difference"]
    assert set(document["turnover"]) == {"rates", "irr"}
    assert document["turnover"]["irr"]["contrast"] == "næring vs fastlønn"
    assert [r["term"] for r in document["cox"]] == ["næring"]
    assert set(document["cox"][0]) == {"term", "coef", "se", "robust_se", "hr", "ci_lower", "ci_upper", "p_value"}


def test_dataset_block_counts_the_demo(document):
    episodes = pd.read_csv(DEMO / "episodes.csv", dtype=str)
    assert document["dataset"]["episodes"] == len(episodes) == 54
    assert document["dataset"]["persons"] == episodes["person_id"].nunique() == 51
    assert document["dataset"]["excluded"] == 0


def test_numbers_equal_r_survival(document):
    rel = dict(rel=1e-6)
    km = pd.read_csv(REFERENCE / "retention_demo_km.csv", keep_default_na=False, na_values=[""])
    km = km[km["strata"].isna()]
    for row in document["retention"]["km"]:
        ref = km[(km["group"] == row["cohort"]) & (km["time"] == row["time"])].iloc[0]
        assert row["survival"] == pytest.approx(ref["survival"], **rel)
        assert row["ci_lower"] == pytest.approx(ref["ci_lower"], rel=1e-4)
        assert row["ci_upper"] == pytest.approx(ref["ci_upper"], rel=1e-4)
        assert row["at_risk"] == ref["at_risk"]
    logrank = pd.read_csv(REFERENCE / "retention_demo_logrank.csv", keep_default_na=False).iloc[0]
    assert document["retention"]["logrank"]["statistic"] == pytest.approx(logrank["statistic"], **rel)
    assert document["retention"]["logrank"]["p_value"] == pytest.approx(logrank["p_value"], **rel)
    rmst = pd.read_csv(REFERENCE / "retention_demo_rmst.csv")
    for row in document["retention"]["rmst"][:2]:
        ref = rmst[(rmst["group"] == row["cohort"]) & (rmst["tau"] == 5)].iloc[0]
        assert row["rmst"] == pytest.approx(ref["rmst"], **rel)
        assert row["se"] == pytest.approx(ref["se"], rel=1e-4)
    glm = pd.read_csv(REFERENCE / "retention_demo_glm.csv").set_index("model").loc["unadjusted"]
    assert document["turnover"]["irr"]["estimate"] == pytest.approx(glm["irr"], **rel)
    assert document["turnover"]["irr"]["ci_lower"] == pytest.approx(glm["ci_lower"], rel=1e-4)
    cox = pd.read_csv(REFERENCE / "duration_demo_cox.csv")
    cox = cox[cox["model"] == "unadjusted"].iloc[0]
    row = document["cox"][0]
    assert row["coef"] == pytest.approx(cox["coef"], **rel)
    assert row["se"] == pytest.approx(cox["se"], rel=1e-4)
    assert row["robust_se"] == pytest.approx(cox["robust_se"], rel=1e-4)
    assert row["ci_upper"] == pytest.approx(cox["ci_upper"], rel=1e-4)


def test_medians_not_reached_are_null(document):
    medians = {r["cohort"]: r for r in document["retention"]["median"]}
    ref = pd.read_csv(REFERENCE / "retention_demo_median.csv").set_index("group")
    assert medians["fastlønn"]["median"] == pytest.approx(ref.loc["fastlønn", "median"], rel=1e-6)
    assert medians["næring"]["median"] is None  # R: NA, the curve stays above 0.5
    assert medians["fastlønn"]["ci_upper"] is None


def test_document_is_deterministic_and_strict_json(document):
    text = dumps(document)
    assert "NaN" not in text
    assert json.loads(text) == document
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        again = build_results(prepare_dataset(DEMO, as_of=config.DEMO_AS_OF))
    assert dumps(again) == text


def test_cli_analyse_json(capsys):
    assert main(["analyse", str(DEMO), "--as-of", "2024-12-31", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["schema"] == "alis-research/results/1"
    assert printed["cox"][0]["term"] == "næring"


def test_cli_analyse_text_and_bad_date(capsys):
    assert main(["analyse", str(DEMO), "--as-of", "2024-12-31"]) == 0
    out = capsys.readouterr().out
    assert "Log-rank" in out and "not reached" in out
    assert main(["analyse", str(DEMO), "--as-of", "31/12/2024"]) == 1
    err = capsys.readouterr().err
    assert "31/12/2024" in err and "Traceback" not in err
