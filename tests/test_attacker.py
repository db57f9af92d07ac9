"""An automated attacker that reads only the published folder (issue #10, point 7).

It tries the channels of the issue on what a reader gets: the folder's files (no
unprotected results), the marks (no "<5"), the margins of Table 1 and the
start-year table with an integer program of its own, the summary's counts
against the table's, survival and incidence estimates against the group sizes,
rates against person-years, figure data (censoring marks and steps in the SVG)
and the notes. It must recover no count from 1 to min_cell − 1.

The full notebook build (PDF text included) runs once, for the whole region in
English (the session's shared ``demo_published_en``); every area in both languages is protected in process from the same
sections (no kernel, no PDF: the same protection step writes the same folder).
"""
from __future__ import annotations

import html
import json
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from alis_research import config
from alis_research.report.ledger import WITHHELD

AS_OF = "2024-12-31"
AREAS = ("all", *config.HEALTH_TRUST_AREAS)
#: Sections built in process for the area reports (the slow simulation sections are in the full build).
QUICK_SECTIONS = ("methods", "data_quality", "cohort", "retention", "turnover", "duration", "summary", "appendix")


# --------------------------------------------------------------------------- reading the published folder
def published_text(folder: Path) -> str:
    """Everything a reader can read: HTML text, PDF text (when there), CSVs, content.json, the record."""
    parts = []
    for path in sorted(folder.rglob("*")):
        if path.suffix in (".csv", ".json", ".md"):
            parts.append(path.read_text(encoding="utf-8"))
        elif path.suffix == ".html":
            page = re.sub(r"<svg.*?</svg>", " ", path.read_text(encoding="utf-8"), flags=re.S)
            parts.append(html.unescape(re.sub(r"<[^>]+>", " ", page)))
        elif path.suffix == ".pdf":
            import pypdf

            parts.extend(page.extract_text() for page in pypdf.PdfReader(str(path)).pages)
    return "\n".join(parts)


def tables(folder: Path) -> dict[str, pd.DataFrame]:
    return {p.stem: pd.read_csv(p, dtype=str, keep_default_na=False) for p in sorted((folder / "tables").glob("*.csv"))}


def number(cell: str):
    text = str(cell).replace("\u00a0", "").replace("\u202f", "").replace(" ", "")
    return int(text) if re.fullmatch(r"\d+", text) else None


def interval(unknowns: int, equalities: list, at_least_one: list, target: np.ndarray) -> tuple[float, float]:
    """The attacker's integer range for ``target · x`` (x ≥ 0 integer, equalities, marked cells ≥ 1)."""
    a_eq = np.array([row for row, _ in equalities], dtype=float) if equalities else None
    b_eq = np.array([v for _, v in equalities], dtype=float) if equalities else None
    a_ub = -np.array(at_least_one, dtype=float) if at_least_one else None
    b_ub = -np.ones(len(at_least_one)) if at_least_one else None
    ends = []
    for sign in (1, -1):
        res = linprog(sign * target, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=b_eq, bounds=[(0, 10**6)] * unknowns,
                      method="highs", integrality=np.ones(unknowns))
        assert res.status == 0, res.message
        ends.append(sign * res.fun)
    return ends[0], ends[1]


def attack_cross_table(frame: pd.DataFrame, label_col: str, value_cols: list[str], total_col: str | None,
                       column_totals: dict | None, min_cell: int) -> list[str]:
    """Margins: rows sum to their total (when shown); columns sum to the known column totals."""
    rows = list(range(len(frame)))
    cells = [(r, c) for r in rows for c in value_cols]
    index = {cell: i for i, cell in enumerate(cells)}
    equalities, marked = [], []

    def vector(keys):
        v = np.zeros(len(cells))
        for k in keys:
            v[index[k]] = 1
        return v

    for (r, c) in cells:
        value = frame.iloc[r][c]
        if value == WITHHELD:
            marked.append(vector([(r, c)]))
        elif number(value) is not None:
            equalities.append((vector([(r, c)]), number(value)))
    if total_col is not None:
        for r in rows:
            total = number(frame.iloc[r][total_col])
            if total is not None:
                equalities.append((vector([(r, c) for c in value_cols]), total))
    for c, total in (column_totals or {}).items():
        if total is not None:
            equalities.append((vector([(r, c) for r in rows]), total))
    leaks = []
    for (r, c) in cells:
        if frame.iloc[r][c] != WITHHELD:
            continue
        lo, hi = interval(len(cells), equalities, marked, vector([(r, c)]))
        if lo >= 1 and hi <= min_cell - 1:
            leaks.append(f"{frame.iloc[r][label_col]} / {c}: {lo:.0f}–{hi:.0f}")
    return leaks


def attack_supervision(cohorts: pd.DataFrame | None, units: pd.DataFrame | None, min_cell: int) -> list[str]:
    """The supervision tables: the cohorts' rows and the units' rows (pooled row included) count the same
    episodes, so their sums are equal (and equal to the units' total row when shown); hours and fidelity
    beside a withheld count would describe the hidden group."""
    leaks = []
    parts = [(name, frame) for name, frame in (("cohort", cohorts), ("unit", units)) if frame is not None]
    for name, frame in parts:
        for _, row in frame.iterrows():
            count = row.iloc[1]
            if number(count) is not None and 0 < number(count) < min_cell:
                leaks.append(f"supervision by {name}: {row.iloc[0]} shows {count}")
            if count == WITHHELD and any(v not in (WITHHELD, "–") for v in row.iloc[2:]):
                leaks.append(f"supervision by {name}: hours beside the withheld count of {row.iloc[0]}")
    if len(parts) < 2:
        return leaks
    is_total = units.iloc[:, 0].isin(["Totalt", "Total"]).to_numpy()
    cells = ([("cohort", i) for i in range(len(cohorts))] + [("unit", i) for i in range(len(units)) if not is_total[i]]
             + [("total", 0)])
    index = {cell: k for k, cell in enumerate(cells)}
    values = {("cohort", i): cohorts.iloc[i, 1] for i in range(len(cohorts))}
    values |= {("unit", i): units.iloc[i, 1] for i in range(len(units)) if not is_total[i]}
    values[("total", 0)] = units.iloc[int(np.argmax(is_total)), 1] if is_total.any() else ""
    equalities, marked = [], []
    for cell, value in values.items():
        v = np.zeros(len(cells))
        v[index[cell]] = 1
        if value == WITHHELD:
            marked.append(v)
        elif number(value) is not None:
            equalities.append((v, number(value)))
    for kind in ("cohort", "unit"):  # each table's rows make up the same episodes
        v = np.array([1.0 if c[0] == kind else -1.0 if c[0] == "total" else 0.0 for c in cells])
        equalities.append((v, 0))
    for cell, value in values.items():
        if value != WITHHELD:
            continue
        target = np.zeros(len(cells))
        target[index[cell]] = 1
        lo, hi = interval(len(cells), equalities, marked, target)
        if lo >= 1 and hi <= min_cell - 1:
            frame = cohorts if cell[0] == "cohort" else units
            label = frame.iloc[cell[1], 0] if cell[0] != "total" else "total"
            leaks.append(f"supervision margins: {label} {lo:.0f}–{hi:.0f}")
    return leaks


def attack(folder: Path, min_cell: int) -> list[str]:
    """Every channel; returns what was recovered (empty = nothing)."""
    found = []
    names = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    # unprotected files in the published folder
    for name in names:
        if name.endswith((".ipynb", ".log")) or name in ("results.json", "audit_intervals.json"):
            found.append(f"unprotected file {name}")
    content = json.loads((folder / "content.json").read_text(encoding="utf-8"))
    if "ledger" in content or "facts" in content:
        found.append("content.json carries the ledger or the facts")
    text = published_text(folder)
    if "\u27e6" in text:
        found.append("an unresolved number reference")
    # marks that narrow a count
    # (a quoted p-value such as "<0.001" in a CSV cell is not a count mark)
    if re.search(rf"<\s?{min_cell}\b", text) or re.search(r"[«'\"]<\d+(?![.,]\d)", text):
        found.append("a '<m' mark: it tells the reader the count is small")
    # notes narrowing a hidden count
    # (a method's rule such as "fewer than 10 exits per coefficient" narrows nothing; a note that a
    # group has "<5 exits (needs at least 3)" does)
    for pattern in (r"trenger minst \d", r"needs at least \d", r"<\s?\d+ avgang", r"<\s?\d+ exit"):
        if re.search(pattern, text):
            found.append(f"a note narrowing a count ({pattern})")
    shown = tables(folder)
    t1 = shown.get("table1")
    if t1 is not None:
        label, cohorts, total = t1.columns[0], list(t1.columns[1:3]), t1.columns[3]
        n_row = t1[t1[label].str.startswith(("Forløp (N)", "Episodes (N)"))]
        col_totals = {c: number(n_row.iloc[0][c]) for c in cohorts} if len(n_row) else {}
        # each variable of Table 1 is a block of rows summing to the cohort N
        variables = t1[label].str.split(":").str[0]
        for variable in variables.unique():
            block = t1[(variables == variable) & t1[label].str.contains(":")].reset_index(drop=True)
            if len(block) < 2 or not all(number(v) is not None or v in (WITHHELD, "0") for v in block[cohorts[0]]):
                continue
            found += [f"table1 margins: {leak}" for leak in
                      attack_cross_table(block, label, cohorts, total, col_totals, min_cell)]
        # text against table: the summary states the cohorts' N
        summary = next((s for s in content["sections"] if s["key"] == "summary"), None)
        if summary and len(n_row):
            lists = [b for b in summary["blocks"] if b["type"] == "list"]
            first = lists[0]["items"][0] if lists else ""
            stated = [number(x) for x in re.findall(r"(\d[\d\u00a0\u202f]*|:)\s", first)]
            for cohort, value in zip(cohorts, stated):
                if n_row.iloc[0][cohort] == WITHHELD and value is not None:
                    found.append(f"the summary states the N of {cohort} that Table 1 withholds")
    start = shown.get("start_year")
    if start is not None and t1 is not None and len(n_row):
        cohorts = list(start.columns[1:])
        totals = {c: number(n_row.iloc[0][t1.columns[1 + i]]) for i, c in enumerate(cohorts)}
        found += [f"start-year margins: {leak}" for leak in
                  attack_cross_table(start, start.columns[0], cohorts, None, totals, min_cell)]
    found += attack_supervision(shown.get("supervision_cohort"), shown.get("supervision_unit"), min_cell)
    # rates against person-years: a rate and its person-years give the exits back
    rates = shown.get("rates")
    if rates is not None:
        for _, row in rates.iterrows():
            if row.iloc[1] == WITHHELD and (row.iloc[2] != WITHHELD or row.iloc[3] != WITHHELD):
                found.append(f"rate or person-years shown beside withheld exits ({row.iloc[0]})")
    # survival against the group size: S·N whole and the complement small means no censoring hid it
    km = shown.get("km_survival")
    if km is not None and t1 is not None and len(n_row):
        for _, row in km.iterrows():
            estimate = row.iloc[2]
            if estimate == WITHHELD:
                continue
            s = float(estimate.split(" ")[0].replace(",", ".").replace("−", "-"))
            for i, cohort in enumerate(t1.columns[1:3]):
                n = number(n_row.iloc[0][cohort])
                if n and row.iloc[0] in (cohort, cohort.split(" ")[0]):
                    gone = n * (1 - s)
                    if abs(gone - round(gone)) < 0.005 and 1 <= round(gone) <= min_cell - 1:
                        found.append(f"survival {s} of N={n} gives {round(gone)} exits")
    # figures: no censoring marks. Matplotlib defines a marker once (<path id="m…" d="…">) and reuses
    # it; the censoring mark "|" is a vertical line centred on the point (M 0 h L 0 −h), unlike the
    # axis ticks (M 0 0 L 0 3.5). Curves are checked for coarse steps in test_ledger.
    for svg in sorted((folder / "figures").glob("*.svg")):
        data = svg.read_text(encoding="utf-8")
        if svg.stem == "km" and re.search(r'd="M 0 (\d+(?:\.\d+)?)\s*L 0 -\1\s*"', data):
            found.append("censoring marks in the Kaplan–Meier figure")
    # the record's reasons: "below the threshold" beside one withheld count and "protects another number"
    # beside another tell 1 … min_cell − 1 from min_cell and more, which with a margin fixes counts
    # (the reviewer's recovery of næring 5 000–9 999 = 1 from an earlier record)
    record = folder / "output_check.json"
    if record.exists():
        document = json.loads(record.read_text(encoding="utf-8"))
        reasons = {w["reason"] for w in document.get("withheld_counts", []) + document.get("withheld_derived", [])}
        if len(reasons) > 1:
            found.append(f"the record gives withheld numbers different reasons: {sorted(reasons)}")
    withheld = folder / "tables" / "withheld.csv"
    if withheld.exists() and len(pd.read_csv(withheld).columns) > 1:
        found.append("the withheld table gives a reason per number")
    return found


# --------------------------------------------------------------------------- the folders
def _in_process(prepared, folder: Path, *, area: str, language: str, min_cell: int) -> Path:
    from alis_research.report.protection import protect_content, write_content_in_process
    from alis_research.report.render import render_html

    work, published = folder / "restricted", folder / "published"
    work.mkdir(parents=True)
    published.mkdir(parents=True)
    write_content_in_process(prepared, work, area=area, language=language, min_cell=min_cell,
                             sections=QUICK_SECTIONS)
    protect_content(work, published, min_cell=min_cell)
    render_html(published)
    return published


@pytest.fixture(scope="module")
def prepared_demo(demo_dataset):
    from alis_research.report.sections import load_for_report

    return {area: load_for_report(demo_dataset, as_of=AS_OF, area=area) for area in AREAS}


@pytest.fixture(scope="module")
def full_build(demo_published_en):
    """The English demo report: the session's ``demo_published_en`` (tests/conftest.py), which the
    layout checks share; its publication metadata only changes the title page and document metadata."""
    return demo_published_en


def test_full_report_folder_gives_nothing_back(full_build):
    assert attack(full_build.path, 5) == []
    record = json.loads((full_build.path / "output_check.json").read_text(encoding="utf-8"))
    assert record["audit"]["passed"] is True
    assert set(record["published_files"]) >= {"report.pdf", "report.html", "content.json"}
    assert "results.json" not in record["published_files"]


def test_results_json_is_not_in_the_published_folder(full_build):
    assert not (full_build.path / "results.json").exists()
    assert full_build.results_json.is_file() and full_build.results_json.parent == full_build.restricted
    manifest = full_build.manifest.read_text(encoding="utf-8")
    assert "results.json" not in manifest and "notebooks/evaluation_report.ipynb\"" not in manifest


#: The whole matrix (every area, both languages) with ALIS_FULL_ATTACK=1; a spread of it by default (CI budget).
FULL = bool(os.environ.get("ALIS_FULL_ATTACK"))
AREA_CASES = ([(a, lang) for a in AREAS for lang in ("nb", "en")] if FULL else
              [("all", "nb"), ("Finnmark", "en"), ("Helgeland", "nb")])


@pytest.mark.parametrize("area, language", AREA_CASES)
def test_every_area_and_language_gives_nothing_back(prepared_demo, tmp_path, area, language):
    folder = _in_process(prepared_demo[area], tmp_path, area=area, language=language, min_cell=5)
    assert attack(folder, 5) == []


@pytest.mark.parametrize("min_cell", [3, 10])
def test_other_thresholds_give_nothing_back(prepared_demo, tmp_path, min_cell):
    area = "all" if FULL else "UNN"
    folder = _in_process(prepared_demo[area], tmp_path, area=area, language="nb", min_cell=min_cell)
    assert attack(folder, min_cell) == []


def test_the_attacker_finds_the_issue_s_leaks_in_an_unprotected_folder(tmp_path):
    """The attacker is not blind: on a folder made the old way it finds the issue's recoveries."""
    folder = tmp_path / "old"
    (folder / "tables").mkdir(parents=True)
    (folder / "figures").mkdir()
    (folder / "results.json").write_text("{}")
    (folder / "content.json").write_text(json.dumps({"meta": {}, "sections": [], "facts": {}}))
    pd.DataFrame({"": ["Forløp (N)", "Kommunestørrelse: 2 000–4 999", "Kommunestørrelse: 5 000–9 999",
                       "Kommunestørrelse: under 2 000"],
                  "fastlønn": ["31", "12", "5", "14"], "næring": ["15", "<5", ":", "11"],
                  "Totalt": ["46", "15", "6", "25"]}).to_csv(folder / "tables" / "table1.csv", index=False)
    found = attack(folder, 5)
    assert any("unprotected file results.json" in f for f in found)
    assert any("'<m' mark" in f for f in found)
    assert any(f.startswith("table1 margins") for f in found)


# --------------------------------------------------------------------------- supervision tables
SUPERVISION_UNITS = Path(__file__).parent / "fixtures" / "supervision_units"


@pytest.mark.parametrize("min_cell", [3, 5, 7])
def test_supervision_tables_give_nothing_back(tmp_path, min_cell):
    """tests/fixtures/supervision_units: fastlønn 3 supervised episodes, næring 12, Steigen 6 (3 + 3), Bodø 9.
    Protected with Table 1 and the flow (the cohorts' N), attacked through the supervision margins."""
    from alis_research.data.cohort import prepare_dataset
    from alis_research.report import pathway_section
    from alis_research.report.content import write_meta, write_section
    from alis_research.report.protection import protect_content
    from alis_research.report.sections_cohort import cohort_section, data_quality_section

    prepared = prepare_dataset(SUPERVISION_UNITS, as_of=AS_OF)
    work, published = tmp_path / "work", tmp_path / "published"
    work.mkdir()
    published.mkdir()
    write_meta(work, {"language": "en", "area": "all", "min_cell": min_cell, "as_of": AS_OF})
    for section in (data_quality_section(prepared, min_cell=min_cell), cohort_section(prepared, min_cell=min_cell),
                    pathway_section(prepared, language="en", min_cell=min_cell)):
        write_section(work, section)
    protect_content(work, published, min_cell=min_cell)
    (published / "figures").mkdir(exist_ok=True)
    assert attack(published, min_cell) == []
    shown = tables(published)
    cohorts = dict(zip(shown["supervision_cohort"].iloc[:, 0], shown["supervision_cohort"].iloc[:, 1]))
    # the 3 is shown only where it is not small; otherwise it and næring (Steigen + Bodø − næring) are withheld
    assert cohorts == ({"salaried (fastlønn)": "3", "self-employed (næring)": "12"} if min_cell == 3 else
                       {"salaried (fastlønn)": WITHHELD, "self-employed (næring)": WITHHELD})
    units = shown["supervision_unit"]
    assert units.iloc[-1, :2].tolist() == ["Total", "15"]


def test_the_attacker_finds_the_supervision_margin_of_the_old_tables(tmp_path):
    """The old per-table rule hid fastlønn's 3 in the cohort table, but the units (no total row) add
    up to the same episodes: Steigen 6 + Bodø 9 − næring 12 = 3."""
    folder = tmp_path / "old"
    (folder / "tables").mkdir(parents=True)
    (folder / "figures").mkdir()
    (folder / "content.json").write_text(json.dumps({"meta": {}, "sections": []}))
    hours = ["72.0", "180.0", "189.0", "30.0", "95%"]
    pd.DataFrame([["salaried (fastlønn)", ":", ":", ":", ":", ":", ":"],
                  ["self-employed (næring)", "12", "144.0", "216.0", "378.0", "18.0", "57%"]],
                 columns=["Cohort", "Episodes with data", "Months", "Delivered", "Promised", "A year", "Fidelity"]
                 ).to_csv(folder / "tables" / "supervision_cohort.csv", index=False)
    pd.DataFrame([["Bodø", "9", "108.0", "108.0", "283.5", "12.0", "38%"], ["Steigen", "6", *hours]],
                 columns=["Unit", "Episodes with data", "Months", "Delivered", "Promised", "A year", "Fidelity"]
                 ).to_csv(folder / "tables" / "supervision_unit.csv", index=False)
    assert attack(folder, 5) == ["supervision margins: salaried (fastlønn) 3–3"]


# --------------------------------------------------------------------------- generated small datasets
@st.composite
def small_cohorts(draw):
    """A small prepared dataset: 4–30 episodes over the report's categories."""
    n = draw(st.integers(4, 30))
    rows = []
    for i in range(n):
        rows.append({
            "episode_id": f"E{i:03d}", "person_id": f"P{draw(st.integers(0, n - 1)):03d}",
            "cohort": draw(st.sampled_from(config.CONTRACT_TYPES)), "exit": draw(st.integers(0, 1)),
            "duration": draw(st.floats(0.05, 5.5)), "start_year": draw(st.integers(2019, 2024)),
            "sex": draw(st.sampled_from(["K", "M"])), "size_class": draw(st.sampled_from(list(config.SIZE_CLASS_LABELS))),
            "area": draw(st.sampled_from(list(config.HEALTH_TRUST_AREAS))), "scheme": draw(st.sampled_from(["new", "old"])),
            "age_at_start": draw(st.integers(28, 50)), "list_size": draw(st.integers(300, 1500)),
            "n_switches": draw(st.integers(0, 1)),
        })
    return pd.DataFrame(rows), draw(st.sampled_from([3, 5, 10]))


def _generated_prepared(episodes: pd.DataFrame):
    from types import SimpleNamespace

    return SimpleNamespace(episodes=episodes, exclusions=pd.DataFrame(columns=["episode_id", "person_id", "reason"]),
                           as_of=pd.Timestamp(AS_OF), synthetic=True)


#: Generated datasets per run: 5 here (CI budget; test_ledger attacks 200 generated tables); ALIS_FULL_ATTACK=1 runs the 200 of
#: issue #10 (about 8 s each on the shared two-core machine; the result is in docs/reports.md).
GENERATED = 200 if os.environ.get("ALIS_FULL_ATTACK") else 5


@settings(max_examples=GENERATED, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(small_cohorts())
def test_generated_small_datasets_give_nothing_back(case):
    """Table 1, the flow and the start-year table of a generated cohort, protected together and attacked."""
    import tempfile

    from alis_research.report.content import write_meta, write_section
    from alis_research.report.protection import protect_content
    from alis_research.report.sections import summary_section
    from alis_research.report.sections_cohort import cohort_section, data_quality_section

    episodes, min_cell = case
    prepared = _generated_prepared(episodes)
    with tempfile.TemporaryDirectory() as scratch:
        work, published = Path(scratch) / "work", Path(scratch) / "published"
        work.mkdir()
        published.mkdir()
        write_meta(work, {"language": "nb", "area": "all", "min_cell": min_cell, "as_of": AS_OF})
        sections = [data_quality_section(prepared, min_cell=min_cell), cohort_section(prepared, min_cell=min_cell)]
        sections.append(summary_section(prepared, {s.key: s.facts for s in sections}, min_cell=min_cell))
        for section in sections:
            write_section(work, section)
        protect_content(work, published, min_cell=min_cell)
        (published / "figures").mkdir(exist_ok=True)
        assert attack(published, min_cell) == []
        # every count 1 … min_cell − 1 of Table 1 is withheld
        t1 = tables(published)["table1"]
        for cohort, label in zip(config.CONTRACT_TYPES, t1.columns[1:3]):
            n = int((episodes["cohort"] == cohort).sum())
            shown = t1[t1.iloc[:, 0] == "Forløp (N)"][label].iloc[0]
            assert shown == (WITHHELD if 0 < n < min_cell else str(n)) or shown == WITHHELD


def test_estimates_of_one_cohort_never_give_back_the_exits_between_them(prepared_demo, tmp_path):
    # the reviewer's second recovery: the survival estimate at 2 years was withheld to hide the 3
    # exits between 2 and 3 years, while the cumulative incidence of "other exit" (and the pathway's
    # "left before approval") at 2 and 3 years published the same two numbers of exits. Every estimate
    # that is one minus a survival curve or an incidence now gives its exits away in the ledger, so
    # the audit sees them together: no two published estimates' exits of one cohort differ by 1–4.
    from alis_research.report.audit import _State, protect
    from alis_research.report.content import read_content
    from alis_research.report.ledger import Ledger
    from alis_research.report.protection import write_content_in_process

    write_content_in_process(prepared_demo["all"], tmp_path, area="all", language="nb", min_cell=5)
    ledger = Ledger.from_dict(read_content(tmp_path)["ledger"])
    protection = protect(ledger, 5)
    dropped = {k for k, r in protection.derived_withheld.items() if r.startswith("secondary")}
    shown = {k for k, c in ledger.cells.items() if c["shown"]}
    state = _State(ledger, shown, protection.withheld, dropped, 5)
    revealers = [d for d in ledger.derived.values() if d.get("reveals")]
    labels = {d["label"].split(",")[0] for d in revealers}
    assert {"Andel som blir (95 % KI)", "Konkurrerende risiko", "Sluttet før godkjenning (95 % KI)"} <= labels
    given_away = [set(ledger.cells[k]["members"]) for k in state.revealed]
    for a in given_away:
        for b in given_away:
            if a < b:
                assert not 0 < len(b - a) < 5, sorted(b - a)


def test_the_protection_verdict_is_the_verdict_of_a_fresh_audit(prepared_demo, tmp_path):
    # The protection carries the differences and remainders that passed in an earlier round into
    # the next (it only ever withholds more, so the attacker's ranges only widen) and solves few
    # programs in its last round. An audit from scratch of what it publishes, over the same sets,
    # must agree: it passes, and gives every withheld count the range the record gives.
    from alis_research.report.audit import _Model, _State, _universes, audit, protect
    from alis_research.report.content import read_content
    from alis_research.report.ledger import Ledger
    from alis_research.report.protection import write_content_in_process

    write_content_in_process(prepared_demo["all"], tmp_path, area="all", language="nb", min_cell=5)
    ledger = Ledger.from_dict(read_content(tmp_path)["ledger"])
    protection = protect(ledger, 5)
    assert protection.rounds >= 3  # the demo needs repairs, so earlier rounds settled targets
    dropped = {k for k, r in protection.derived_withheld.items() if r.startswith("secondary")}
    shown = {k for k, c in ledger.cells.items() if c["shown"]}
    state = _State(ledger, shown, protection.withheld, dropped, 5)
    named = shown | {s for d in ledger.derived.values() for s in d.get("reveals", ())}
    models = {name: _Model(u) for name, u in _universes(ledger, named, 5).items()}
    fresh = audit(ledger, state.published, set(protection.withheld), 5, models=models)
    assert fresh.passed and protection.audit.passed
    assert fresh.n_targets == protection.audit.n_targets
    assert fresh.n_programs < protection.audit.n_programs  # the record counts every round's programs
    assert fresh.intervals == protection.audit.intervals
    assert all(hi - lo >= 4 or lo >= 5 or lo == hi == 0 for lo, hi in fresh.intervals.values())
