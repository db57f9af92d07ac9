"""The report's costs and pathway sections and the minimal detectable effect in the limitations.

Expected numbers are worked out independently of the code under test: seed 003's
table (800 patients: 360,800; 1,069,125; 569,125; extra 208,325), the yearly net
costs from the documented parameters, the RMST from the R-checked
``retention.rmst``, and the hand-made fixture ``tests/fixtures/supervision``
(see its README and tests/test_pathway.py).
"""
from __future__ import annotations

import re
import shutil
import warnings
from pathlib import Path

import pytest

from alis_research import config

from alis_research.analysis import power
from alis_research.data.cohort import prepare_dataset
from alis_research.errors import AlisError, DataValidationError
from alis_research.report import (
    costs_section,
    design_from_data,
    detectable_effect,
    limitations_section,
    load_pathway_inputs,
    pathway_section,
    select_area,
)
from alis_research.report.audit import protect
from alis_research.report.text import THIN_SPACE
from alis_research.analysis.retention import rmst

FIXTURES = Path(__file__).parent / "fixtures"
SUPERVISION = FIXTURES / "supervision"
SUPERVISION_UNITS = FIXTURES / "supervision_units"
SMALL = FIXTURES / "report_small"
AS_OF = "2024-12-31"


def _table(section, table_id, min_cell=5):
    """A table as the section alone would publish it (its ledger protected at ``min_cell``)."""
    return next(b for b in section.protected_blocks(min_cell) if b.get("id") == table_id)


def _rows(section, table_id, min_cell=5):
    block = _table(section, table_id, min_cell)
    return [dict(zip(block["columns"], row)) for row in block["rows"]]


def _text(section) -> str:
    parts = []
    for block in section.protected_blocks():
        if block["type"] in ("paragraph", "heading"):
            parts.append(block["text"])
        elif block["type"] == "list":
            parts.extend(block["items"])
        elif block["type"] == "table":
            parts += [block["caption"], *block["notes"], *block["columns"]] + [c for r in block["rows"] for c in r]
    return "\n".join(parts)


def nb(value: int) -> str:
    """An integer as the Norwegian report writes it (narrow no-break space between thousands)."""
    return f"{value:,}".replace(",", THIN_SPACE)


@pytest.fixture(scope="module")
def demo(demo_dataset):
    return prepare_dataset(demo_dataset, as_of=AS_OF)


@pytest.fixture(scope="module")
def demo_costs(demo):
    return costs_section(demo, language="nb", min_cell=5)


# --------------------------------------------------------------------------- costs
def test_yearly_cost_table_reproduces_seed_003(demo_costs):
    rows = _rows(demo_costs, "cost_yearly")
    by_model = {(r["Modell"], r["Utdanningsår"]): r for r in rows}
    assert by_model[("Privat liste", "–")]["Tilskudd"] == nb(360_800)
    assert by_model[("ALIS i næring", "1")]["Tilskudd"] == nb(1_069_125)
    assert by_model[("ALIS i næring", "2–5")]["Tilskudd"] == nb(569_125)
    assert by_model[("ALIS i næring", "2–5")]["Tilskudd utover privat liste"] == nb(208_325)
    # fastlønn, by the documented assumptions: 1,150,000 + 450,000 + 31.5 x 1,000 - 900 x 800 - 200,000
    assert by_model[("ALIS på fastlønn", "1–5")]["Nettokostnad"] == nb(711_500)
    # næring years 2-5: 569,125 + 50,000 course cover + 31,500 supervision - 200,000 ALIS-Nord grant
    assert by_model[("ALIS i næring", "2–5")]["Nettokostnad"] == nb(450_625)
    assert nb(208_325) in _text(demo_costs) and nb(708_325) in _text(demo_costs)


def test_cost_per_retained_year_checked_by_hand(demo, demo_costs):
    # næring: a constant running cost of 450,625 a year in post plus the one-off 500,000 recruitment
    # grant, so cost / retained years = 450,625 + 500,000 / RMST(5); fastlønn: its yearly net cost
    tau = rmst(demo.episodes, tau=5.0).rmst.set_index("group")["rmst"]
    expected_naering = 450_625 + 500_000 / tau["næring"]
    facts = demo_costs.facts["cost_per_retained_year"]
    assert facts["næring"]["estimate"] == pytest.approx(expected_naering, rel=1e-9)
    assert facts["næring"]["retained_years"] == pytest.approx(tau["næring"], rel=1e-9)
    assert facts["fastlønn"]["estimate"] == pytest.approx(711_500)
    assert facts["næring"]["ci_lower"] < expected_naering < facts["næring"]["ci_upper"]
    rows = {r["Kohort"]: r for r in _rows(demo_costs, "cost_retained")}
    shown = rows["næring"]["Per beholdt legeår, 1\u202f000 kr (2019-kroner, 95 % KI)"]
    assert shown.startswith(nb(round(expected_naering / 1000)) + " (")
    assert rows["fastlønn"]["Per beholdt legeår, 1\u202f000 kr (2019-kroner, 95 % KI)"] == "712"  # no interval: no data in it
    assert rows["næring"]["År i stillingen av 5 (95 % KI)"].startswith(f"{tau['næring']:.2f}".replace(".", ","))
    assert any(b["type"] == "figure" for b in demo_costs.blocks)


def test_sensitivity_table(demo_costs):
    rows = {r["Listelengde"]: r for r in _rows(demo_costs, "cost_sensitivity")}
    assert list(rows) == ["600", "800", nb(1000), nb(1200)]
    # fastlønn does not depend on the horizon: 711,500 + 900 x (800 - n) per patient of fee income
    for size in (600, 800, 1000, 1200):
        expected = f"{(711_500 + 900 * (800 - size)) / 1000:.0f}"  # 892, 712, 532, 352
        row = rows[nb(size)]
        assert row["fastlønn, 3 år"] == row["fastlønn, 5 år"] == expected
        # næring rises with the list: 1.25 x 451 per patient above 500
        assert int(row["næring, 5 år"].replace(THIN_SPACE, "")) > 0
    assert int(rows[nb(1200)]["næring, 5 år"]) > int(rows["600"]["næring, 5 år"])


def test_costs_section_is_reproducible_and_english(demo, demo_costs):
    again = costs_section(demo, language="nb", min_cell=5)
    assert again.blocks == demo_costs.blocks and again.facts == demo_costs.facts
    english = costs_section(demo, language="en", min_cell=5, bootstrap=50)
    text = _text(english)
    assert "What a retained GP costs" == english.title and "208,325" in text and "1,069,125" in text
    assert "Kohort" not in text


def test_tiny_cohorts_withhold_costs_and_figures():
    prepared = select_area(prepare_dataset(SMALL, as_of=AS_OF), "Finnmark")  # three episodes
    section = costs_section(prepared, language="en", min_cell=5, bootstrap=50)
    for row in _rows(section, "cost_retained"):
        assert list(row.values())[1:] == [":", ":", ":", ":"]
    assert not any(b["type"] == "figure" for b in section.blocks)
    assert "cost_per_retained_year" not in section.facts
    sens = _rows(section, "cost_sensitivity")
    assert all(v == ":" for r in sens for k, v in r.items() if k != "List size")


# --------------------------------------------------------------------------- pathway
def test_pathway_numbers_on_the_hand_made_fixture():
    prepared = prepare_dataset(SUPERVISION, as_of=AS_OF)
    section = pathway_section(prepared, dataset=SUPERVISION, language="nb", min_cell=1)
    cif = {(r["Kohort"], r["År"]): r for r in _rows(section, "pathway_cif", 1)}
    # fastlønn: P2 leaves at 1.5 years (3 at risk), P1 approved at 4.0 (2 at risk), P3 censored:
    # F_approved(4) = 2/3 x 1/2 = 1/3; F_exit(2) = 1/3
    assert cif[("fastlønn", "4")]["Godkjent (95 % KI)"].startswith("0,33")
    assert cif[("fastlønn", "3")]["Godkjent (95 % KI)"] == "0,00"
    assert cif[("fastlønn", "2")]["Sluttet før godkjenning (95 % KI)"].startswith("0,33")
    outcomes = {r["Kohort"]: r for r in _rows(section, "pathway_outcomes", 1)}
    assert outcomes["fastlønn"]["Godkjent"] == "1" and outcomes["fastlønn"]["Sluttet før godkjenning"] == "1"
    # supervision, by hand (tests/test_pathway.py): fastlønn 42 h of 63 promised, næring 36 of 47.25
    sup = {r["Kohort"]: r for r in _rows(section, "supervision_cohort", 1)}
    assert sup["fastlønn"]["Levert, timer"] == "42,0" and sup["fastlønn"]["Lovet, timer"] == "63,0"
    assert sup["fastlønn"]["Oppfyllelse"] == "67\u00a0%"
    assert sup["næring"]["Oppfyllelse"] == "76\u00a0%" and sup["næring"]["Timer per år"] == "24,0"
    units = {r["Enhet"]: r for r in _rows(section, "supervision_unit", 1)}
    assert list(units) == ["Beiarn", "Bodø", "Steigen", "Tromsø", "Totalt"]
    # the total row: P1, P2, P4, P6 with 12 + 12 + 8 + 10 = 42 months, 78 h of 110.25 -> 78 / 42 x 12 = 22.3 h a year
    assert [units["Totalt"][k] for k in ("Forløp med data", "Måneder i stillingen", "Levert, timer", "Timer per år",
                                         "Oppfyllelse")] == ["4", "42,0", "78,0", "22,3", "71\u00a0%"]
    hospital = {r[""]: r for r in _rows(section, "hospital_year", 1)}
    assert hospital["Forløp med sykehusår"]["næring"] == "2" and hospital["Forløp med sykehusår"]["fastlønn"] == "1"
    # P4 back, P5 left 1.5 months after (within 3): 1 of 2 with a known outcome
    assert hospital["Andel tilbake av dem med kjent utfall"]["næring"] == "50\u00a0%"


def test_pathway_section_suppresses_small_counts():
    prepared = prepare_dataset(SUPERVISION, as_of=AS_OF)
    section = pathway_section(prepared, dataset=SUPERVISION, language="en", min_cell=5)
    text = _text(section)
    for table in ("pathway_outcomes", "hospital_year", "supervision_cohort"):
        for row in _table(section, table)["rows"]:
            for cell in row[1:]:
                assert not re.fullmatch(r"[1-4]", cell), (table, row)
    assert all(cell == ":" for r in _rows(section, "pathway_cif") for k, cell in r.items()
               if k.startswith(("Approved", "Left")))
    assert not any(b["type"] == "figure" for b in section.blocks)
    assert "No unit has 5 or more episodes" in text
    for ident in ("P1", "P2", "P3", "P4", "P5", "P6", "Steigen", "Beiarn"):
        assert ident not in text
    # the supervision counts are ledger cells like every other count: withheld there, not by a table rule
    assert all(cell == ":" for r in _rows(section, "supervision_cohort") for cell in list(r.values())[1:])
    withheld = protect(section.ledger, 5).withheld
    assert withheld[section.ledger.group(_supervised_ids(prepared, "fastlønn"))] == "primary"  # P1, P2
    assert not section.suppression  # nothing left for the old per-table log


def _supervised_ids(prepared, cohort):
    """Episode ids of a cohort's people with rows in the supervision table."""
    ep = prepared.episodes
    chosen = ep[(ep["cohort"] == cohort) & ep["person_id"].isin(set(prepared.supervision["person_id"]))]
    return chosen["episode_id"].astype(str)


def test_supervision_tables_on_the_ledger_checked_by_hand():
    """tests/fixtures/supervision_units (its README works the numbers out): fastlønn has 3 supervised
    episodes, næring 12; Steigen 6 (3 + 3), Bodø 9. At min_cell 5 the 3 is withheld with its hours, and
    næring too, since Steigen + Bodø − næring would give the 3 back; at min_cell 3 everything is shown."""
    prepared = prepare_dataset(SUPERVISION_UNITS, as_of=AS_OF)
    columns = ["Forløp med data", "Måneder i stillingen", "Levert, timer", "Lovet, timer", "Timer per år", "Oppfyllelse"]
    section = pathway_section(prepared, language="nb", min_cell=3)
    cohorts = {r["Kohort"]: [r[c] for c in columns] for r in _rows(section, "supervision_cohort", 3)}
    assert cohorts == {"fastlønn": ["3", "36,0", "72,0", "94,5", "24,0", "76\u00a0%"],
                       "næring": ["12", "144,0", "216,0", "378,0", "18,0", "57\u00a0%"]}

    section = pathway_section(prepared, language="nb", min_cell=5)
    cohorts = {r["Kohort"]: [r[c] for c in columns] for r in _rows(section, "supervision_cohort")}
    assert cohorts == {"fastlønn": [":"] * 6, "næring": [":"] * 6}
    units = {r["Enhet"]: [r[c] for c in columns] for r in _rows(section, "supervision_unit")}
    assert units == {"Bodø": ["9", "108,0", "108,0", "283,5", "12,0", "38\u00a0%"],
                     "Steigen": ["6", "72,0", "180,0", "189,0", "30,0", "95\u00a0%"],
                     "Totalt": ["15", "180,0", "288,0", "472,5", "19,2", "61\u00a0%"]}
    protection = protect(section.ledger, 5)
    assert protection.audit.passed
    fastlonn = section.ledger.group(_supervised_ids(prepared, "fastlønn"))
    naering = section.ledger.group(_supervised_ids(prepared, "næring"))
    assert protection.withheld[fastlonn] == "primary" and protection.withheld[naering] == "secondary"
    # what a reader can work out for the 3: at least 1, at most Steigen's 6 (the three are all in Steigen)
    assert protection.audit.intervals[fastlonn] == (1.0, 6.0)
    # restricted facts: the fidelity of the cohort that is not small, never a count
    assert section.facts == {"supervision_fidelity": {"næring": pytest.approx(216 / 378)}}


def test_a_unit_below_min_cell_is_pooled_and_the_pool_is_a_ledger_count():
    """At min_cell 7 Steigen (6) joins the pooled row: its count is Steigen's set, withheld as one."""
    prepared = prepare_dataset(SUPERVISION_UNITS, as_of=AS_OF)
    section = pathway_section(prepared, language="en", min_cell=7)
    units = {r["Unit"]: r for r in _rows(section, "supervision_unit", 7)}
    assert list(units) == ["Bodø", "Other units (fewer than 7 episodes each)", "Total"]
    assert set(list(units["Other units (fewer than 7 episodes each)"].values())[1:]) == {":"}
    # Bodø's 9 beside the total's 15 would give the pooled 6 back: Bodø is withheld with its hours
    assert set(list(units["Bodø"].values())[1:]) == {":"}
    assert list(units["Total"].values())[1:] == ["15", "180.0", "288.0", "472.5", "19.2", "61%"]
    assert protect(section.ledger, 7).audit.passed


def test_pathway_without_supervision_table_says_so(demo):
    section = pathway_section(demo, dataset=config.DATA_RAW / config.DEMO_DATASET, language="en", min_cell=5)
    text = _text(section)
    assert "no supervision table" in text and "31.5 hours a year" in text
    assert {"pathway_cif", "pathway_outcomes", "hospital_year"} <= {b.get("id") for b in section.blocks}
    assert set(section.facts["approved_within_5_years"]) == {"fastlønn", "næring"}


def test_bad_supervision_file_is_a_user_error(tmp_path):
    folder = tmp_path / "data"
    shutil.copytree(SUPERVISION, folder)
    path = folder / "supervision.csv"
    path.write_text(path.read_text(encoding="utf-8") + "P9,2020-13,x\n", encoding="utf-8")
    with pytest.raises(DataValidationError) as caught:
        load_pathway_inputs(folder, as_of=AS_OF)
    assert "unknown person" in str(caught.value) and "not a month" in str(caught.value)
    from alis_research.report import build_report

    with pytest.raises(DataValidationError):
        build_report(folder, as_of=AS_OF, out_dir=tmp_path / "reports")
    assert not (tmp_path / "reports").exists() or not any((tmp_path / "reports").iterdir())
    # the prepared dataset carries its validated events and supervision: no second look at the raw folder
    section = pathway_section(prepare_dataset(SUPERVISION, as_of=AS_OF), language="en")
    assert "supervision_cohort" in {b.get("id") for b in section.blocks}


# --------------------------------------------------------------------------- precision
def test_limitations_quote_power_py_minimal_detectable_effect(demo):
    design = design_from_data(demo)
    counts = demo.episodes["cohort"].value_counts()
    assert design["n_fastlonn"] == counts["fastlønn"] and design["n_naering"] == counts["næring"]
    assert design["follow_up_end"] == AS_OF and len(design["accrual"]) == len(demo.episodes)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        up = power.minimal_detectable_hazard_ratio(simulations=1000, seed=2019, **design)
        down = power.minimal_detectable_hazard_ratio(simulations=1000, seed=2019, direction="decrease", **design)
    hr = up.effects.set_index("test").loc["log-rank", "hazard_ratio"]
    lower = down.effects.set_index("test").loc["log-rank", "hazard_ratio"]
    assert 1.5 < hr < 4 and 0.1 < lower < 0.7
    for language, decimal in (("nb", ","), ("en", ".")):
        section = limitations_section(demo, language=language, min_cell=5)
        text = _text(section)
        assert f"{hr:.2f}".replace(".", decimal) in text and f"{lower:.2f}".replace(".", decimal) in text
        assert section.facts["mde_hr"] == pytest.approx(hr) and section.facts["mde_seed"] == 2019
    assert detectable_effect(demo)[0].effects.equals(up.effects)  # deterministic


def test_no_design_without_both_cohorts():
    prepared = prepare_dataset(SMALL, as_of=AS_OF)
    only = prepared.episodes[prepared.episodes["cohort"] == "næring"]
    from dataclasses import replace

    assert design_from_data(replace(prepared, episodes=only)) is None
    section = limitations_section(replace(prepared, episodes=only), language="en", min_cell=5)
    assert "Precision" not in _text(section) and "mde_hr" not in section.facts


def test_summary_and_methods_mention_costs_and_pathway(demo, demo_costs):
    from alis_research.report import collect_facts, methods_section, summary_section

    pathway = pathway_section(demo, dataset=config.DATA_RAW / config.DEMO_DATASET, language="nb", min_cell=5)
    summary = summary_section(demo, collect_facts(demo_costs, pathway), language="nb", min_cell=5)
    for other in (demo_costs, pathway):  # the summary quotes numbers registered by these sections
        summary.ledger.merge(other.ledger)
    text = _text(summary)
    # 711,500 (by hand, see above) to the nearest thousand
    assert f"koster et beholdt legeår de første 5 årene kommunen anslagsvis {nb(712_000)} kroner med fastlønn" in text
    share = pathway.facts["approved_within_5_years"]["næring"]
    lower, upper = pathway.facts["approved_within_5_years_ci"]["næring"]
    # the share with its 95 % CI, unless a count behind it must be withheld (then ":")
    assert (f"{100 * share:.0f}\u00a0% ({100 * lower:.0f}\u00a0%–{100 * upper:.0f}\u00a0%) i næring") in text \
        or ": i næring" in text
    methods = _text(methods_section(demo, language="en", min_cell=5))
    assert "cost per retained GP-year" in methods and "80% power" in methods
