"""Register comparisons (issue 5): Abelsen replication against R, DiD by hand, ALIS vs other GPs, results.json."""
from __future__ import annotations

import json
import re
from argparse import Namespace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alis_research.analysis import comparison as cmp
from alis_research.errors import AlisError

HERE = Path(__file__).parent
REFERENCE = HERE / "reference"
FIXTURE = HERE / "fixtures" / "report_register"


# --------------------------------------------------------------------------- 1. Abelsen against R's survival
@pytest.fixture(scope="module")
def r_contracts():
    frame = pd.read_csv(REFERENCE / "data" / "register" / "contracts.csv", dtype={"municipality_code": str})
    # the columns abelsen_replication selects on: every contract starts inside the window
    return frame.assign(start_date=pd.Timestamp("2005-03-01"), started_before_extract=False,
                        list_size=(frame["list_size_100"] * 100).round().astype(int),
                        age_at_start=frame["age_at_start"].astype("Int64"))


def test_abelsen_cox_and_clustered_errors_equal_r(r_contracts):
    """coxph(Surv(duration, exit) ~ sex + age + list size + size class, cluster = municipality_code)."""
    expected = pd.read_csv(REFERENCE / "results" / "register_cox.csv")
    result = cmp.abelsen_replication(r_contracts)
    coefficients = result.cox.coefficients.set_index("term")
    assert list(coefficients.index) == list(expected["term"])
    for _, row in expected.iterrows():
        ours = coefficients.loc[row["term"]]
        assert ours["coef"] == pytest.approx(row["coef"], abs=1e-6)
        assert ours["se"] == pytest.approx(row["se"], abs=1e-6)
        assert ours["robust_se"] == pytest.approx(row["robust_se"], abs=1e-4)
        assert abs(ours["robust_se"] - row["robust_se"]) < 1e-6  # in fact far closer than the 1e-4 asked
    assert result.cox.summary.loc[0, "clusters"] == 120
    hr = result.hazard_ratios.set_index("term")
    assert hr.loc["size_class=>=50000", "hr"] == pytest.approx(np.exp(expected.set_index("term").loc[
        "size_class=>=50000", "coef"]), rel=1e-6)


def test_abelsen_km_medians_equal_r_with_published_beside(r_contracts):
    expected = pd.read_csv(REFERENCE / "results" / "register_km_size.csv").set_index("size_class")
    medians = cmp.abelsen_replication(r_contracts).medians.set_index("size_class")
    assert list(medians.index) == list(expected.index)
    for label, row in expected.iterrows():
        assert medians.loc[label, "contracts"] == row["n"] and medians.loc[label, "events"] == row["events"]
        for column in ("median", "ci_lower", "ci_upper"):
            assert medians.loc[label, column] == pytest.approx(row[column], abs=1e-9), (label, column)
    assert medians.loc["<2000", "published_median"] == 2.75
    assert medians.loc[">=50000", "published_median"] == 8.37
    assert medians.loc["all", "published_median"] == 5.91
    assert np.isnan(medians.loc["5000-9999", "published_median"])


def test_abelsen_window_selects_observed_starts_only():
    episodes = pd.DataFrame({
        "start_date": pd.to_datetime(["2001-04-01", "2001-05-01", "2010-01-01", "2014-04-01", "2014-05-01",
                                      "2003-01-01"]),
        "started_before_extract": [False, False, False, False, False, True],
    })
    chosen = cmp.contracts_in_window(episodes)
    assert list(chosen["start_date"].dt.strftime("%Y-%m")) == ["2001-05", "2010-01", "2014-04"]
    with pytest.raises(AlisError, match="must start before it ends"):
        cmp.contracts_in_window(episodes, ("2014-01-01", "2001-01-01"))
    with pytest.raises(AlisError, match="no contract in the register extract starts between 1 January 1990"):
        cmp.abelsen_replication(episodes.assign(size_class="<2000"), window=("1990-01-01", "1991-01-01"))


# --------------------------------------------------------------------------- 3. difference in differences by hand
def _hand_panel() -> pd.DataFrame:
    """Three participating and three rejected municipalities, 2017-2020 (2019 = start)."""
    rows = []
    base = {"P1": 0.10, "P2": 0.20, "P3": 0.30, "R1": 0.15, "R2": 0.05, "R3": 0.25}
    trend = {2017: 0.00, 2018: 0.01, 2019: 0.03, 2020: 0.04}
    noise = iter(np.linspace(-0.004, 0.004, 24))
    for code, level in base.items():
        treated = code.startswith("P")
        for year, shift in trend.items():
            effect = -0.02 if (treated and year >= 2019) else 0.0
            rows.append({"municipality_code": code, "group": "participating" if treated else "rejected",
                         "year": year, "vacancy_share": level + shift + effect + next(noise)})
    return pd.DataFrame(rows)


def test_did_equals_the_difference_of_means_and_a_hand_sandwich():
    panel = _hand_panel()
    result = cmp.difference_in_differences(panel, outcomes=["vacancy_share"], controls=["rejected"], min_clusters=3)
    row = result.estimates.iloc[0]
    # balanced panel: the two-way fixed-effects coefficient is the difference of the four means
    mean = panel.assign(post=panel["year"] >= 2019).groupby(["group", "post"])["vacancy_share"].mean()
    by_hand = (mean["participating", True] - mean["participating", False]) - \
              (mean["rejected", True] - mean["rejected", False])
    assert row["estimate"] == pytest.approx(by_hand, abs=1e-12)
    assert row["estimate"] == pytest.approx(-0.02, abs=0.005)
    # cluster-robust variance by hand: (X'X)^-1 (sum_g X_g' u_g u_g' X_g) (X'X)^-1 * G/(G-1) * (N-1)/(N-K)
    codes = sorted(panel["municipality_code"].unique())
    years = sorted(panel["year"].unique())
    X = np.column_stack([np.ones(len(panel)),
                         ((panel["group"] == "participating") & (panel["year"] >= 2019)).to_numpy(float),
                         *[(panel["municipality_code"] == c).to_numpy(float) for c in codes[1:]],
                         *[(panel["year"] == y).to_numpy(float) for y in years[1:]]])
    y = panel["vacancy_share"].to_numpy()
    bread = np.linalg.inv(X.T @ X)
    beta = bread @ X.T @ y
    u = y - X @ beta
    meat = sum(np.outer(X[m].T @ u[m], X[m].T @ u[m]) for m in
               [(panel["municipality_code"] == c).to_numpy() for c in codes])
    n, k, g = X.shape[0], X.shape[1], len(codes)
    variance = bread @ meat @ bread * g / (g - 1) * (n - 1) / (n - k)
    assert beta[1] == pytest.approx(by_hand, abs=1e-12)
    assert row["se"] == pytest.approx(np.sqrt(variance[1, 1]), rel=1e-8)
    from scipy import stats
    t = stats.t.ppf(0.975, g - 1)
    assert row["ci_lower"] == pytest.approx(by_hand - t * row["se"], abs=1e-12)
    assert row["p_value"] == pytest.approx(2 * stats.t.sf(abs(by_hand / row["se"]), g - 1), rel=1e-8)
    assert row["clusters_treated"] == 3 and row["clusters_control"] == 3 and bool(row["estimable"])
    assert any("parallel trends" in note for note in result.notes)


def test_event_study_by_hand_and_reference_year():
    panel = _hand_panel()
    result = cmp.difference_in_differences(panel, outcomes=["vacancy_share"], controls=["rejected"], min_clusters=3)
    es = result.event_study.set_index("year")
    assert bool(es.loc[2018, "reference"]) and es.loc[2018, "estimate"] == 0.0 and es.loc[2018, "relative_year"] == -1
    mean = panel.groupby(["group", "year"])["vacancy_share"].mean()
    for year in (2017, 2019, 2020):
        by_hand = (mean["participating", year] - mean["participating", 2018]) - \
                  (mean["rejected", year] - mean["rejected", 2018])
        assert es.loc[year, "estimate"] == pytest.approx(by_hand, abs=1e-12)
        assert es.loc[year, "ci_lower"] < es.loc[year, "estimate"] < es.loc[year, "ci_upper"]
    assert es.loc[2020, "relative_year"] == 1


def test_did_too_few_clusters_is_not_estimable():
    panel = _hand_panel()
    result = cmp.difference_in_differences(panel, outcomes=["vacancy_share"], controls=["rejected"])
    row = result.estimates.iloc[0]
    assert not row["estimable"] and np.isnan(row["estimate"])
    assert any("not estimable: 3 participating municipalities and 3 rejected applicants with data" in n for n in result.notes)
    assert result.primary() is not None and result.event_study.empty
    with pytest.raises(AlisError, match="unknown municipality group"):
        cmp.difference_in_differences(panel, outcomes=["vacancy_share"], controls=["refused"])


def test_municipality_panel_by_hand():
    """Two lists in Bindal (rejected) and one in Vega (participating), 2018-2019."""
    months = pd.date_range("2018-01-01", "2019-12-01", freq="MS")
    rows = []
    for month in months:
        rows.append({"month": month, "list_id": "A", "municipality_code": "1811",
                     "doctor_id": "d1" if month < pd.Timestamp("2018-07-01") else ("d2" if month >= pd.Timestamp("2018-10-01") else None)})
        rows.append({"month": month, "list_id": "B", "municipality_code": "1811", "doctor_id": "d3"})
        rows.append({"month": month, "list_id": "C", "municipality_code": "1815",
                     "doctor_id": None if month.year == 2019 else "d4"})
    snapshots = pd.DataFrame(rows)
    episodes = pd.DataFrame({"municipality_code": ["1811", "1811", "1811", "1815"],
                             "end_month": ["2018-06", "2019-12", "2019-12", "2018-12"], "exit": [1, 0, 0, 1]})
    panel = cmp.municipality_panel(snapshots, episodes).set_index(["municipality_code", "year"])
    assert panel.loc[("1811", 2018), "group"] == "rejected" and panel.loc[("1815", 2018), "group"] == "participating"
    assert panel.loc[("1811", 2018), "list_months"] == 24 and panel.loc[("1811", 2018), "vacant_months"] == 3
    assert panel.loc[("1811", 2018), "vacancy_share"] == pytest.approx(3 / 24)
    assert panel.loc[("1811", 2018), "exits"] == 1
    assert panel.loc[("1811", 2018), "turnover"] == pytest.approx(100 * 1 / (21 / 12))
    assert panel.loc[("1815", 2019), "vacancy_share"] == 1.0 and np.isnan(panel.loc[("1815", 2019), "turnover"])
    assert panel.loc[("1815", 2018), "exits"] == 1 and panel.loc[("1811", 2019), "exits"] == 0


# --------------------------------------------------------------------------- 2. ALIS versus other GPs
def _alis_and_register():
    alis = pd.DataFrame({
        "person_id": ["p1", "p2", "p3"], "municipality_code": ["1815", "1815", "5501"],
        "start_year": [2019, 2020, 2019], "size_class": ["<2000", "<2000", ">=50000"],
        "start_date": pd.to_datetime(["2019-09-01", "2020-01-15", "2019-10-01"]),
        "stop_date": pd.to_datetime(["2021-09-01", "2024-06-30", "2022-01-01"]), "exit": [1, 0, 1],
    })
    alis["duration"] = (alis["stop_date"] - alis["start_date"]).dt.days / 365.25
    reg = pd.DataFrame({
        "doctor_id": ["p1", "g1", "g2", "g3", "g4", "g5", "g6"],
        "municipality_code": ["1815", "1815", "1815", "1815", "5501", "5501", "1811"],
        "start_year": [2019, 2018, 2021, 2022, 2020, 2017, 2019],
        "size_class": ["<2000", "<2000", "<2000", "<2000", ">=50000", ">=50000", "<2000"],
        "start_date": pd.to_datetime(["2019-09-01", "2018-03-01", "2021-02-01", "2022-01-01", "2020-05-01",
                                      "2017-01-01", "2019-01-01"]),
        "stop_date": pd.to_datetime(["2021-09-01", "2020-03-01", "2025-01-01", "2023-01-01", "2025-01-01",
                                     "2019-01-01", "2020-01-01"]),
        "exit": [1, 1, 0, 1, 0, 1, 1], "started_before_extract": False,
    })
    reg["duration"] = (reg["stop_date"] - reg["start_date"]).dt.days / 365.25
    return alis, reg


def test_alis_versus_gps_matching_linkage_and_censoring():
    alis, reg = _alis_and_register()
    result = cmp.alis_versus_gps(alis, reg, as_of="2024-12-31", follow_up_end="2025-01-01", year_window=1)
    combined = result.combined
    others = combined[combined["group"] == cmp.OTHER_GROUP]
    # Vega 2018-2021 (ALIS starts 2019, 2020 +- 1): g1 (2018), g2 (2021); not g3 (2022); Tromsø 2018-2020: g4;
    # g5 starts 2017, g6 is in Bindal; p1 is an ALIS found in the register (same pseudonym) and left out
    assert sorted(others["start_date"].dt.strftime("%Y-%m")) == ["2018-03", "2020-05", "2021-02"]
    assert result.params["alis_found_in_register"] == 1
    # censored at the earlier of the as-of date and the extract's end
    assert others["stop_date"].max() == pd.Timestamp("2024-12-31")
    assert others.loc[others["start_date"] == "2021-02-01", "exit"].item() == 0
    counts = result.counts.set_index("group")
    assert counts.loc["ALIS", "episodes"] == 3 and counts.loc[cmp.OTHER_GROUP, "episodes"] == 3
    assert result.logrank.test.iloc[0]["strata"] == "municipality_code"
    assert list(result.hazard_ratios["term"])[0] == "alis"
    exact = cmp.alis_versus_gps(alis, reg, as_of="2024-12-31", year_window=0)
    # same years only: p1 (left out as an ALIS) is the one register start in an ALIS cell
    assert (exact.combined["group"] == cmp.OTHER_GROUP).sum() == 0
    assert exact.params["alis_found_in_register"] == 1 and exact.km is None
    assert any("no other GP starts" in note for note in exact.notes)
    with pytest.raises(AlisError, match="year_window"):
        cmp.alis_versus_gps(alis, reg, as_of="2024-12-31", year_window=-1)


# --------------------------------------------------------------------------- 4. the extract beside a dataset, results.json
def test_find_register(tmp_path):
    assert cmp.find_register(FIXTURE) == FIXTURE / "register"
    assert cmp.find_register(tmp_path) is None
    with pytest.raises(AlisError, match="does not exist"):
        cmp.find_register(FIXTURE, tmp_path / "nowhere")
    with pytest.raises(AlisError, match="holds no snapshots.csv"):
        cmp.find_register(FIXTURE, tmp_path)


@pytest.fixture(scope="module")
def fixture_document():
    from alis_research.data.cohort import prepare_dataset
    from alis_research.analysis.results import build_results

    prepared = prepare_dataset(FIXTURE, as_of="2024-12-31")
    analyses = cmp.run_comparisons(prepared, cmp.load_register_data(FIXTURE / "register"))
    return analyses, build_results(prepared, comparison=analyses), build_results(prepared)


def test_results_json_gains_abelsen_and_did(fixture_document):
    analyses, document, without = fixture_document
    assert "abelsen" not in without and "did" not in without
    assert [row["size_class"] for row in document["abelsen"]] == ["<2000", "2000-4999", "5000-9999", "10000-49999",
                                                                   ">=50000", "all"]
    for row in document["abelsen"]:
        assert {"size_class", "contracts", "median", "ci_lower", "ci_upper"} <= set(row)
    medians = analyses.abelsen.medians
    assert document["abelsen"][-1]["contracts"] == int(medians.iloc[-1]["contracts"])
    did = document["did"]
    assert {"estimate", "ci_lower", "ci_upper", "p_value", "outcome"} <= set(did)
    assert did["outcome"] == "vacancy_share" and did["control"] == "rejected"
    primary = analyses.did.primary()
    assert did["estimate"] == pytest.approx(primary["estimate"]) and did["ci_lower"] < did["estimate"] < did["ci_upper"]
    assert did["clusters"] == primary["clusters_treated"] + primary["clusters_control"] >= 2 * cmp.MIN_DID_CLUSTERS
    json.dumps(document, allow_nan=False)
    assert any(note.startswith("did: parallel trends") for note in document["notes"])


@pytest.mark.slow
def test_analyse_cli_picks_up_the_register(capsys, tmp_path):
    from alis_research.cli import main

    assert main(["analyse", str(FIXTURE), "--as-of", "2024-12-31", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert "abelsen" in document and "did" in document
    assert main(["analyse", str(FIXTURE), "--as-of", "2024-12-31", "--register", str(tmp_path / "none")]) == 1
    assert "register extract folder" in capsys.readouterr().err


# --------------------------------------------------------------------------- 5. the report section
@pytest.fixture(scope="module")
def register_report(tmp_path_factory):
    """One English report on the fixture, shared by the tests of the section and of the summary."""
    from alis_research.report import build_report

    return build_report(FIXTURE, as_of="2024-12-31", language="en", out_dir=tmp_path_factory.mktemp("register_report"))


def test_report_with_a_register_extract_has_the_section(register_report):
    """One report run on the fixture: the optional section, its figures, suppression and results.json."""
    from alis_research.report import read_content

    outcome = register_report
    content = read_content(outcome.path)
    keys = [s["key"] for s in content["sections"]]
    assert "comparison_groups" in keys and keys.index("comparison_groups") < keys.index("limitations")
    section = next(s for s in content["sections"] if s["key"] == "comparison_groups")
    figures = {b["id"] for b in section["blocks"] if b["type"] == "figure"}
    assert {"event_study_vacancy_share", "event_study_turnover"} <= figures
    assert "alis_vs_gps_km" not in figures  # an unsmoothed curve shows its exits one by one: withheld
    tables = {b["id"]: b for b in section["blocks"] if b["type"] == "table"}
    abelsen = tables["abelsen_register"]
    # the >=50000 class holds 2 contracts: withheld with its median, and at least one more cell withheld
    row = next(r for r in abelsen["rows"] if r[0] == "50,000 and over")  # size classes in words, not ">=50000"
    assert row[1] == ":" and row[2] == ":"
    assert sum(r[1] == ":" for r in abelsen["rows"]) >= 2
    record = json.loads((outcome.path / "output_check.json").read_text())
    assert any(w["what"].startswith("Contracts, 50,000 and over") for w in record["withheld_counts"])
    appendix = next(s for s in content["sections"] if s["key"] == "appendix")
    log = next(b for b in appendix["blocks"] if b["type"] == "table" and b["id"] == "withheld")
    register_rows = [r for r in log["rows"] if r[0].startswith("Contracts, ")]
    assert register_rows  # named as the table names them, not "contracts" or "abelsen_register"
    assert not any(r[0].startswith(("Abelsen register", "Alis vs gps", "abelsen")) for r in log["rows"])
    text = " ".join(b.get("text", "") for b in section["blocks"])
    assert "parallel trends" in text and "SYNTHETIC" in text
    results = json.loads(outcome.results_json.read_text())
    assert results["did"]["outcome"] == "vacancy_share" and len(results["abelsen"]) == 6
    manifest = json.loads(outcome.manifest.read_text())
    assert set(manifest["register_input_files"]) == {"snapshots.csv", "doctors.csv", "dataset.json"}
    assert outcome.pdf.stat().st_size > 0


def _folded(text: str) -> str:
    """Text without white space and hyphens: a bullet may wrap (and be hyphenated) anywhere in the PDF."""
    return re.sub(r"[\s\-\u00ad]", "", text)


def _pdf_text(path) -> str:
    pypdf = pytest.importorskip("pypdf")
    return " ".join(page.extract_text() for page in pypdf.PdfReader(str(path)).pages)


def test_summary_states_the_did_and_the_alis_contrast(register_report):
    """The summary's register bullets, with the numbers of results.json (DiD) and content.json's facts (ALIS)."""
    from alis_research.report import read_content
    from alis_research.report.text import fmt_ci

    results = json.loads(register_report.results_json.read_text())
    did = results["did"]
    assert did["outcome"] == "vacancy_share" and did["estimate"] is not None
    facts = read_content(register_report.restricted)["facts"]["comparison_groups"]
    content = read_content(register_report.path)
    alis = facts["alis_vs_gps"]
    assert alis["estimable"] and alis["enough"]
    summary = next(s for s in content["sections"] if s["key"] == "summary")
    items = [item for block in summary["blocks"] for item in block.get("items", [])]
    did_text = fmt_ci(did["estimate"] * 100, did["ci_lower"] * 100, did["ci_upper"] * 100, "en")
    hr_text = fmt_ci(alis["hr"], alis["ci_lower"], alis["ci_upper"], "en")
    did_item = next(i for i in items if i.startswith("Difference in differences in the GP register"))
    assert f"by {did_text} percentage points (95% CI)" in did_item and "compared with rejected applicants" in did_item
    assert "parallel trends" in did_item and "cannot be proven" in did_item
    assert ("includes 0 (no clear difference)" in did_item) == (did["ci_lower"] <= 0 <= did["ci_upper"])
    alis_item = next(i for i in items if i.startswith("ALIS vs other GPs"))
    assert f"hazard ratio of leaving {hr_text}" in alis_item and "descriptive" in alis_item
    # the PDF says the same, in the summary (after its heading, before the methods)
    text = _folded(_pdf_text(register_report.pdf))
    heading = _folded("1 Summary of findings")
    start = text.index(heading, text.index(heading) + 1)  # the first is the table of contents
    summary_text = text[start:text.index(_folded("2 Methods"), start)]
    for item in (did_item, alis_item):
        assert _folded(item) in summary_text, item


def test_summary_points_not_estimable_and_too_few():
    from alis_research.report.sections_register import R, summary_points

    did = {"outcome": "vacancy_share", "treated": "participating", "control": "rejected", "start_year": 2019,
           "estimate": None, "ci_lower": None, "ci_upper": None, "p_value": None, "clusters": None}
    few = {"estimable": False, "enough": False, "hr": None, "ci_lower": None, "ci_upper": None}
    nb = summary_points({"did": did, "alis_vs_gps": few}, language="nb", min_cell=5)
    assert nb == ["Forskjell-i-forskjeller i fastlegeregisteret (andelen listemåneder uten fast lege, deltakende "
                  "kommuner mot avslåtte søkere): kan ikke anslås med disse dataene (for få kommuner eller år med data).",
                  "ALIS mot andre fastleger som fikk liste i de samme kommunene og årene (fastlegeregisteret): "
                  + R("s_alis_not_estimable", "nb").split("(fastlegeregisteret): ")[1]]  # "under 5" would narrow a count
    en = summary_points({"did": {**did, "estimate": 0.031, "ci_lower": 0.012, "ci_upper": 0.05},
                         "alis_vs_gps": {**few, "enough": True, "estimable": True, "hr": 0.5, "ci_lower": 0.3,
                                         "ci_upper": 0.8}}, language="en")
    assert "by 3.10 (1.20–5.00) percentage points (95% CI)" in en[0] and "fared worse" in en[0]
    assert "parallel trends" in en[0]
    assert "0.50 (0.30–0.80)" in en[1] and "ALIS stayed longer than the other GPs." in en[1]
    assert summary_points({}, language="nb") == []


def test_report_register_option_is_checked_before_any_kernel(tmp_path):
    from alis_research.report import build_report, report_inputs_key

    with pytest.raises(AlisError, match="register extract folder .* does not exist"):
        build_report(FIXTURE, as_of="2024-12-31", out_dir=tmp_path, register=tmp_path / "missing")
    # an extract outside the dataset folder is part of the report's inputs key
    outside = tmp_path / "register"
    import shutil
    shutil.copytree(FIXTURE / "register", outside)
    plain = report_inputs_key(FIXTURE, as_of="2024-12-31")
    assert report_inputs_key(FIXTURE, as_of="2024-12-31", register=FIXTURE / "register") == plain
    keyed = report_inputs_key(FIXTURE, as_of="2024-12-31", register=outside)
    assert keyed != plain
    (outside / "doctors.csv").write_text((outside / "doctors.csv").read_text() + "\n")
    assert report_inputs_key(FIXTURE, as_of="2024-12-31", register=outside) != keyed


def test_register_report_gives_nothing_back(register_report):
    """Issue 10: the automated attacker, reading only the published folder, recovers no count from
    the report with the comparison-groups section either, and the audit says so in the record."""
    from test_attacker import attack

    assert attack(register_report.path, 5) == []
    record = json.loads((register_report.path / "output_check.json").read_text(encoding="utf-8"))
    assert record["audit"]["passed"] is True
