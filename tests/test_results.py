"""The results document (alis-research/results/1): exact shape, and numbers equal to R's survival on the demo."""
from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import pandas as pd
import pytest

from alis_research import config
from alis_research.cli import main
from alis_research.data.cohort import prepare_dataset
from alis_research.analysis.results import build_results, dumps

REFERENCE = Path(__file__).resolve().parent / "reference" / "results"
DEMO = config.DATA_RAW / config.DEMO_DATASET


@pytest.fixture(scope="module")
def document():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prepared = prepare_dataset(DEMO, as_of=config.DEMO_AS_OF)
        return build_results(prepared)


def test_document_has_exactly_the_published_shape(document):
    # the published keys, plus "notes" (caveats and not-estimable reasons; issue 3 allows other keys)
    assert set(document) == {"schema", "as_of", "dataset", "retention", "turnover", "cox", "robustness", "notes"}
    assert {"confounding", "e_value", "pooled", "firth", "exact_logrank", "competing_exits"} <= set(document["robustness"])  # issue 14
    assert all(isinstance(note, str) for note in document["notes"])
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
    # R's robust se with the few-cluster correction (docs/methods.md): se·√(G/(G−1)), t on G−1 df
    from scipy import stats

    clusters = int(cox["clusters"])
    se = cox["robust_se"] * math.sqrt(clusters / (clusters - 1))
    assert row["ci_upper"] == pytest.approx(math.exp(cox["coef"] + stats.t.ppf(0.975, clusters - 1) * se), rel=1e-4)


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


# --------------------------------------------------------------------------- independent of prepare
INDEPENDENT = pd.read_csv(REFERENCE / "independent_demo.csv", keep_default_na=False, na_values=["NA"])


@pytest.mark.parametrize("as_of", ["2024-12-31", "2022-06-30"])
def test_prepare_and_estimators_equal_an_independent_r_computation_from_the_raw_files(as_of):
    # tests/reference/independent.R applies the censoring, exclusion and switch definitions
    # itself to data/raw/synthetic (not to the package's prepared intervals) and fits with survival.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        document = build_results(prepare_dataset(DEMO, as_of=as_of))
    ref = INDEPENDENT[INDEPENDENT["as_of"] == as_of]

    def value(quantity, cohort="", time=None):
        rows = ref[(ref["quantity"] == quantity) & (ref["cohort"] == cohort)]
        if time is not None:
            rows = rows[rows["time"] == time]
        return rows["value"].iloc[0] if len(rows) else None

    assert document["dataset"]["excluded"] == value("excluded")
    for row in document["retention"]["km"]:
        survival = value("km_survival", row["cohort"], row["time"])
        if survival is None:  # R drops a time beyond the follow-up: no estimate
            assert row["survival"] is None and row["at_risk"] == 0
            continue
        assert row["survival"] == pytest.approx(survival, rel=1e-9)
        assert row["ci_lower"] == pytest.approx(value("km_lower", row["cohort"], row["time"]), rel=1e-6)
        assert row["ci_upper"] == pytest.approx(value("km_upper", row["cohort"], row["time"]), rel=1e-6)
        assert row["at_risk"] == value("km_at_risk", row["cohort"], row["time"])
    assert document["retention"]["logrank"]["statistic"] == pytest.approx(value("logrank"), rel=1e-9)
    for row in document["retention"]["rmst"][:2]:
        assert row["rmst"] == pytest.approx(value("rmst", row["cohort"], 5), rel=1e-9)
        assert row["se"] == pytest.approx(value("rmst_se", row["cohort"], 5), rel=1e-6)
    cox = document["cox"][0]
    assert cox["coef"] == pytest.approx(value("cox_coef", "næring"), rel=1e-6)
    assert cox["se"] == pytest.approx(value("cox_se", "næring"), rel=1e-6)
    assert cox["robust_se"] == pytest.approx(value("cox_robust_se", "næring"), rel=1e-6)
    for row in document["turnover"]["rates"]:
        assert row["exits"] == value("exits", row["contract_type"])
        assert row["person_years"] == pytest.approx(value("person_years", row["contract_type"]), rel=1e-12)
        assert row["ci_lower"] == pytest.approx(value("rate_lower", row["contract_type"]), rel=1e-6)
        assert row["ci_upper"] == pytest.approx(value("rate_upper", row["contract_type"]), rel=1e-6)


# --------------------------------------------------------------------------- small and degenerate data
HEADER = "person_id,municipality,contract_type,start_date,end_date,end_reason\n"


def _dataset(tmp_path, *rows):
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "episodes.csv").write_text(HEADER + "\n".join(rows) + "\n", encoding="utf-8")
    return folder


def _analyse_json(capsys, folder):
    code = main(["analyse", str(folder), "--as-of", "2024-12-31", "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "Traceback" not in captured.err and "Warning" not in captured.err
    return json.loads(captured.out)


def _same_shape(document, demo):
    """Keys at every level and the row identities agree with the demo document."""
    assert set(document) == set(demo)
    for section in ("dataset", "retention", "turnover"):
        assert set(document[section]) == set(demo[section])
    for key in ("km", "median", "rmst"):
        assert [(r["cohort"], r.get("time")) for r in document["retention"][key]] == \
            [(r["cohort"], r.get("time")) for r in demo["retention"][key]]
        assert all(set(a) == set(b) for a, b in zip(document["retention"][key], demo["retention"][key]))
    assert [r["contract_type"] for r in document["turnover"]["rates"]] == ["fastlønn", "næring"]
    assert [r["term"] for r in document["cox"]] == ["næring"]
    assert set(document["cox"][0]) == set(demo["cox"][0])


def test_one_cohort_keeps_the_shape_with_nulls_and_says_why(tmp_path, capsys, document):
    folder = _dataset(tmp_path, "P1,1804,fastlønn,2019-08-01,2021-01-01,left_region", "P2,1833,fastlønn,2019-09-01,,",
                      "P3,5501,fastlønn,2020-01-01,2023-05-01,other")
    result = _analyse_json(capsys, folder)
    _same_shape(result, document)
    naering = [r for r in result["retention"]["km"] if r["cohort"] == "næring"]
    assert all(r["survival"] is None and r["at_risk"] == 0 for r in naering)
    assert result["retention"]["logrank"] == {"statistic": None, "df": None, "p_value": None}
    assert result["retention"]["rmst"][2]["rmst"] is None  # no difference without næring
    assert result["turnover"]["rates"][1] == {"contract_type": "næring", "exits": 0, "person_years": 0.0,
                                              "rate_per_100": None, "ci_lower": None, "ci_upper": None}
    assert result["turnover"]["irr"]["estimate"] is None and result["cox"][0]["hr"] is None
    notes = " | ".join(result["notes"])
    assert "logrank: log-rank test not estimable: only one contract type at start (salaried (fastlønn))" in notes
    assert "rate_ratio: rate ratio not estimable: no person-time under self-employed (næring)" in notes
    assert "cox: not estimable: no variation in self-employed (næring)" in notes
    # the fastlønn numbers are still there: S(1) = 1 (first exit at 1.42 years), S(2) = 2/3
    fast = {r["time"]: r for r in result["retention"]["km"] if r["cohort"] == "fastlønn"}
    assert fast[1]["survival"] == 1.0 and fast[2]["survival"] == pytest.approx(2 / 3)
    assert main(["analyse", str(folder), "--as-of", "2024-12-31"]) == 0
    text = capsys.readouterr().out
    assert "Log-rank: log-rank test not estimable: only one contract type at start" in text
    assert "næring: not estimable: no variation in self-employed (næring)" in text


def test_no_exits_at_all_is_not_estimable_not_a_chi_square_of_zero(tmp_path, capsys):
    folder = _dataset(tmp_path, "P1,1804,fastlønn,2019-08-01,,", "P2,1833,næring,2019-09-01,,",
                      "P3,5501,fastlønn,2020-01-01,,", "P4,1806,næring,2019-10-01,2026-01-01,")
    result = _analyse_json(capsys, folder)
    assert result["retention"]["logrank"] == {"statistic": None, "df": None, "p_value": None}
    assert "logrank: log-rank test not estimable: no exits in any group" in result["notes"]
    assert all(r["survival"] == 1.0 and r["ci_lower"] is None for r in result["retention"]["km"])
    assert [r["median"] for r in result["retention"]["median"]] == [None, None]
    assert result["turnover"]["irr"]["estimate"] is None and result["cox"][0]["coef"] is None


def test_all_exits_in_one_cohort_gives_no_infinite_ratio(tmp_path, capsys):
    folder = _dataset(tmp_path, "P1,1804,fastlønn,2019-08-01,2021-01-01,left_region", "P2,1833,næring,2019-09-01,,",
                      "P3,5501,fastlønn,2020-01-01,2023-05-01,other", "P4,1806,næring,2019-10-01,,")
    result = _analyse_json(capsys, folder)
    assert result["turnover"]["irr"]["estimate"] is None
    assert result["cox"][0]["hr"] is None
    assert any(n.startswith("cox: not estimable: the partial likelihood has no maximum") for n in result["notes"])
    # the log-rank test exists: R survdiff gives chisq 2.88235294117647 on 1 df here
    assert result["retention"]["logrank"]["df"] == 1
    assert result["retention"]["logrank"]["statistic"] == pytest.approx(2.88235294117647, rel=1e-9)


def test_one_municipality_gives_no_zero_width_robust_interval(tmp_path, capsys):
    # All in one cluster: the dfbeta residuals sum to 0, so the "robust" SE is 0 (R gives ~1e-16).
    folder = _dataset(tmp_path, "P1,1804,fastlønn,2019-08-01,2021-01-01,left_region",
                      "P2,1804,næring,2019-09-01,2022-02-01,hospital", "P3,1804,fastlønn,2020-01-01,,",
                      "P4,1804,næring,2019-10-01,2023-01-01,other", "P5,1804,næring,2019-10-01,,")
    cox = _analyse_json(capsys, folder)["cox"][0]
    assert cox["robust_se"] is None
    assert cox["ci_lower"] == pytest.approx(cox["hr"] * math.exp(-1.959963984540054 * cox["se"]))
    assert cox["ci_upper"] / cox["ci_lower"] > 10  # 3 exits: a wide interval, not a point


def test_no_episode_left_is_a_clean_error(tmp_path, capsys):
    folder = _dataset(tmp_path, "P1,1804,fastlønn,2025-08-01,,", "P2,1833,næring,2025-09-01,,")
    assert main(["analyse", str(folder), "--as-of", "2024-12-31", "--json"]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and "Traceback" not in captured.err
    assert "no episodes to analyse as of 2024-12-31: 2 episode(s) excluded (starts after the as-of date: 2)" \
        in captured.err


@pytest.mark.slow
def test_json_is_byte_identical_under_other_hash_seeds():
    import os
    import subprocess
    import sys

    outputs = set()
    for seed in ("0", "1", "4242"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        run = subprocess.run([sys.executable, "-m", "alis_research.cli", "analyse", str(DEMO), "--as-of",
                              "2024-12-31", "--json"], capture_output=True, env=env, check=True)
        outputs.add(run.stdout)
    assert len(outputs) == 1
