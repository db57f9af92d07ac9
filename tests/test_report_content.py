"""The content items of issue #13: the conclusion, the units, the references, provenance, the price
year and the assumption sensitivity of the costs, and the specialist-pathway figure.

Section-level checks run in both languages on the prepared demo (no kernel); the built demo report
(the session's shared ``demo_report``) is checked once for what only the PDF/HTML shows.
"""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from alis_research import config

from alis_research.analysis import costs  # noqa: E402
from alis_research.analysis.comparison import find_register, load_register_data  # noqa: E402
from alis_research.data.cohort import prepare_dataset  # noqa: E402
from alis_research.report import content  # noqa: E402
from alis_research.report.sections import conclusion, headline_hazard_ratio  # noqa: E402
from alis_research.report.sections_appendix import appendix_section, input_files  # noqa: E402
from alis_research.report.sections_methods import REFERENCES, methods_section, references_section  # noqa: E402
from alis_research.report.sections_costs import costs_section  # noqa: E402
from alis_research.report.text import T, fmt_number  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"
LANGUAGES = ("nb", "en")


def _hr(hr, lo, hi, unstable=False):
    return {"hr": hr, "ci_lower": lo, "ci_upper": hi, "p_value": 0.5, "unstable": unstable}


# --------------------------------------------------------------------------- the conclusion
def test_an_unstable_adjusted_model_is_never_the_headline():
    facts = {"hr_crude": _hr(0.83, 0.35, 1.98), "hr_adjusted": _hr(1.65, 0.44, 6.25, unstable=True)}
    assert headline_hazard_ratio(facts) == ("crude", facts["hr_crude"])
    facts["hr_adjusted"]["unstable"] = False
    assert headline_hazard_ratio(facts)[0] == "adjusted"
    # both unstable (or without an interval): nothing to headline
    assert headline_hazard_ratio({"hr_crude": _hr(0.8, 0.3, 2.0, unstable=True)}) is None
    assert headline_hazard_ratio({"hr_crude": _hr(0.8, None, None)}) is None


@pytest.mark.parametrize("language", LANGUAGES)
def test_conclusion_answers_the_question(language):
    facts = {"contract_duration": {"hr_crude": _hr(0.83, 0.35, 1.98), "hr_adjusted": _hr(1.65, 0.44, 6.25, True)},
             "limitations": {"mde_hr": 2.61, "mde_hr_decrease": 0.23, "mde_power": 0.8},
             "costs": {"patients": 800, "horizon": 5.0, "cost_per_retained_year": {
                 "fastlønn": {"estimate": 712_345.0, "ci_lower": 712_345.0, "ci_upper": 712_345.0},
                 "næring": {"estimate": 578_400.0, "ci_lower": 564_200.0, "ci_upper": 596_100.0}}}}
    text = " ".join(conclusion(facts, language=language))
    if language == "nb":
        assert "Holder fastlønn på ALIS-legene lenger enn næring?" in text
        assert "(ujustert), er 0,83 (0,35–1,98). Intervallet inkluderer 1 (ingen klar forskjell)." in text
        assert "for ustabil til å være hovedresultatet" in text
        assert "minst 2,61 (eller høyst 0,23" in text and "80\u00a0%" in text
        assert "712\u202f000 kroner på fastlønn og 578\u202f000 (564\u202f000–596\u202f000) kroner i næring" in text
        assert "2019-kroner" in text
    else:
        assert "(crude), is 0.83 (0.35–1.98). The interval includes 1 (no clear difference)." in text
        assert "at least 2.61 (or at most 0.23" in text and "80%" in text
        assert "NOK 712,000 on fastlønn and NOK 578,000 (564,000–596,000) on næring (2019 NOK" in text
    assert "1.65" not in text and "1,65" not in text  # the unstable model is not quoted as the answer


@pytest.mark.parametrize("language", LANGUAGES)
def test_conclusion_says_not_estimable_where_the_data_cannot_support_it(language):
    text = " ".join(conclusion({"contract_duration": {"hr_crude": _hr(0.5, 0.1, 3.0, unstable=True)}},
                               language=language))
    assert T("c_hr_not_estimable", language, epv=10) in text
    assert T("c_mde_not_estimable", language) in text
    assert T("c_costs_not_estimable", language) in text


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_significant_hazard_ratio_says_which_contract_keeps_the_doctors(language):
    keeps_fastlonn = " ".join(conclusion({"contract_duration": {"hr_crude": _hr(2.5, 1.2, 5.0)}}, language=language))
    keeps_naering = " ".join(conclusion({"contract_duration": {"hr_crude": _hr(0.4, 0.2, 0.8)}}, language=language))
    assert ("Ja:" if language == "nb" else "Yes:") in keeps_fastlonn
    assert ("Nei:" if language == "nb" else "No:") in keeps_naering


# --------------------------------------------------------------------------- units and references
@pytest.mark.parametrize("language", LANGUAGES)
def test_methods_explain_the_units_and_the_as_of_date(demo_prepared, language):
    text = " ".join(b["text"] for b in methods_section(demo_prepared, language=language).blocks)
    if language == "nb":
        assert "flere forløp enn personer" in text and "flere personer enn stillinger" in text
        assert "32 stillinger" in text and "sensurert på datadatoen" in text and "31. desember 2024" in text
    else:
        assert "more episodes than persons" in text and "more persons than positions" in text
        assert "32 positions" in text and "censored at the as-of date" in text and "31 December 2024" in text


def test_references_come_before_the_appendix_and_every_one_is_cited():
    order = content.SECTION_ORDER
    assert order.index("limitations") < order.index("references") == order.index("appendix") - 1
    for language in LANGUAGES:
        section = references_section(language=language)
        assert section.title == T("references", language)
        items = section.blocks[0]["items"]
        assert len(items) == len(REFERENCES) == len(set(items))
    # the citations in the running text (methods, costs, duration) name every reference
    catalogue = (Path(config.PROJECT_ROOT) / "alis_research" / "messages" / "nb.toml").read_text(encoding="utf-8")
    text = "\n".join(line for line in catalogue.split("\n[report.robustness]")[0].splitlines()
                     if not line.startswith("ref_"))
    for citation in ("Abelsen, Gaski og Brandstorp (2015)", "NSDM 2018", "NSDM 2019", "ALIS-Nord 2019a",
                     "ALIS-Nord 2019b", "Bergen kommune u.å.", "Gray 1988", "Fine og Gray 1999",
                     "Heinze og Schemper 2001, 2002", "VanderWeele og Ding 2017", "Therneau"):
        assert citation in text, citation


# --------------------------------------------------------------------------- provenance
def test_appendix_lists_supervision_and_register_files(tmp_path):
    dataset = FIXTURES / "supervision"
    prepared = prepare_dataset(dataset, as_of="2024-12-31")
    files = input_files(prepared, dataset=dataset)
    assert "supervision.csv" in files and {"episodes.csv", "events.csv"} <= set(files)
    from alis_research.data.io import sha256_file

    assert files["supervision.csv"] == sha256_file(dataset / "supervision.csv")

    register_dataset = FIXTURES / "report_register"

    class Comparison:  # what appendix_section reads of load_comparison's result
        register = load_register_data(find_register(register_dataset))

    prepared = prepare_dataset(register_dataset, as_of="2024-12-31")
    for language in LANGUAGES:
        section = appendix_section(prepared, dataset=register_dataset, area="all", language=language,
                                   comparison=Comparison)
        table = next(b for b in section.blocks if b.get("id") == "inputs")
        names = [row[0] for row in table["rows"]]
        assert "register/snapshots.csv" in names and "episodes.csv" in names
        sha = dict(table["rows"])["register/snapshots.csv"]
        assert sha == sha256_file(register_dataset / "register" / "snapshots.csv") and len(sha) == 64


# --------------------------------------------------------------------------- costs
@pytest.fixture(scope="module", params=LANGUAGES)
def costs_in(request, demo_prepared):
    return request.param, costs_section(demo_prepared, language=request.param, bootstrap=20)


def test_price_year_in_every_cost_caption_and_money_column(costs_in):
    language, section = costs_in
    year = str(costs.PRICE_YEAR)
    tables = [b for b in section.blocks if b["type"] == "table"]
    figures = [b for b in section.blocks if b["type"] == "figure"]
    assert {t["id"] for t in tables} >= {"cost_yearly", "cost_retained", "cost_sensitivity", "cost_assumptions"}
    for block in tables + figures:
        assert year in block["caption"], block["caption"]
    retained = next(t for t in tables if t["id"] == "cost_retained")
    money = [c for c in retained["columns"] if "1\u202f000" in c or "1,000" in c]
    assert len(money) == 3 and all(year in c for c in money)


def test_assumption_table_and_the_sentence_on_what_turns_the_comparison(costs_in, demo_prepared):
    language, section = costs_in
    table = next(b for b in section.blocks if b.get("id") == "cost_assumptions")
    expected = costs.assumption_sensitivity(demo_prepared, relative_change=0.25)
    assert len(table["rows"]) == len(expected)
    base = expected.iloc[0]
    # base row: cost per retained GP-year in 1 000 kroner, and the difference
    assert table["rows"][0][3:] == [fmt_number(round(base[c]) / 1000, 0, language)
                                    for c in ("fastlønn", "næring", "difference")]
    turning = [a for a in dict.fromkeys(expected["assumption"]) if a != "base"
               and ((expected.loc[expected["assumption"] == a, "difference"] > 0)
                    != (base["difference"] > 0)).any()]
    assert turning == section.facts["assumptions_turning_comparison"]
    sentence = next(b["text"] for b in section.blocks if b["type"] == "paragraph"
                    and b["text"].startswith(T("cost_assumptions_turn", language, assumptions="")[:20]))
    for name in turning:
        assert T(f"cost_assumption_{name}", language) in sentence


def test_the_two_rmst_intervals_are_explained(costs_in):
    language, section = costs_in
    texts = [b["text"] for b in section.blocks if b["type"] == "paragraph"]
    assert T("cost_rmst_note", language, tau="5") in texts


# --------------------------------------------------------------------------- the pathway figure
def test_pathway_figure_has_bands_and_numbers_at_risk(demo_prepared, demo_dataset):
    from alis_research.analysis import pathway as pw
    from alis_research.report.sections_costs import load_pathway_inputs

    inputs = load_pathway_inputs(demo_dataset, as_of=demo_prepared.as_of)
    result = pw.time_to_specialist(demo_prepared, inputs.events, times=(1, 2, 3, 4, 5))
    fig, ax = plt.subplots()
    pw.plot_time_to_specialist(result, ax=ax, language="nb", min_cell=5)
    at_risk = {t.get_gid(): t.get_text() for t in ax.texts if (t.get_gid() or "").startswith("at_risk:")}
    plt.close(fig)
    assert ax.collections, "no confidence bands drawn"
    est = result.estimates[result.estimates["cause"] == "approved"]
    for _, row in est.iterrows():
        shown = at_risk[f"at_risk:{row['cohort']}:{row['time']:g}"]
        n = int(row["n_risk"])
        assert shown == (f"<5" if 0 < n < 5 else str(n))
    assert any(v == "<5" for v in at_risk.values())  # the demo has a small count at 5 years


# --------------------------------------------------------------------------- the built report
def test_built_report_has_conclusion_references_and_price_year(demo_report):
    from test_report import html_text, pdf_pages

    pdf = " ".join(pdf_pages(demo_report.path / "report.pdf"))
    page = html_text(demo_report.path / "report.html")
    for text in (pdf, page):
        flat = " ".join(text.split())
        assert "Konklusjon" in flat and "Holder fastlønn på ALIS-legene lenger enn næring?" in flat
        assert "Referanser" in flat and "Varighet av fastlegeavtaler" in flat
        assert "2019-kroner" in flat
    document = content.read_content(demo_report.path)
    keys = [s["key"] for s in document["sections"]]
    assert keys.index("references") == keys.index("appendix") - 1
    summary = next(s for s in document["sections"] if s["key"] == "summary")
    assert summary["blocks"][0] == {"type": "heading", "text": "Konklusjon"}
    assert "Intervallet inkluderer 1 (ingen klar forskjell)" in summary["blocks"][1]["text"]
    assert any(b.get("id") == "cost_assumptions" for s in document["sections"] for b in s["blocks"])
