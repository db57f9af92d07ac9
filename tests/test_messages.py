"""The message catalogue (alis_research/messages/nb.toml, en.toml): complete, consistent, and used.

Fails on any code (note, label, report or figure text) without both translations, on
placeholders that differ between the languages, on a note code or text key used in the
package that the catalogue lacks (the source is scanned), and on English abbreviations or
ISO dates in the bokmål running text.
"""
from __future__ import annotations

import ast
import datetime as dt
import functools
import re
from pathlib import Path

import pytest

from alis_research import messages
from alis_research.messages import catalogue, message, placeholders
from alis_research.messages.note import Note

PACKAGE = Path(messages.__file__).resolve().parent.parent
NB, EN = catalogue("nb"), catalogue("en")
T = "\u202f"


# --------------------------------------------------------------------------- both languages, same placeholders
def test_every_code_has_both_translations():
    assert set(NB) == set(EN), (f"only in nb.toml: {sorted(set(NB) - set(EN))}; "
                                f"only in en.toml: {sorted(set(EN) - set(NB))}")
    empty = [code for code in NB if not NB[code].strip() or not EN[code].strip()]
    assert empty == []


def test_placeholders_are_the_same_in_both_languages():
    differ = {code: (placeholders(NB[code]), placeholders(EN[code])) for code in NB
              if placeholders(NB[code]) != placeholders(EN[code])}
    assert differ == {}


def test_every_entry_formats():
    """Braces balance and every format spec is one the catalogue knows (filled with harmless values)."""
    for language, table in (("nb", NB), ("en", EN)):
        for code, template in table.items():
            values = {}
            for name, spec in placeholders(template).items():
                if spec in ("date", "month"):
                    values[name] = dt.date(2024, 12, 31)
                elif spec in ("variables", "terms", "levels"):
                    values[name] = ["size_class"]
                elif spec and spec not in ("label", "level", "variable", "term", "size_class", "size_class_group",
                                           "group_level", "did"):
                    values[name] = 12
                else:
                    values[name] = "x"
            assert message(code, language, **values), code


def test_counts_of_people_are_marked_as_counts():
    """A note value named like a count of people/episodes/events is a ``count`` (masked when small)."""
    for code in (c for c in NB if c.startswith("note.")):
        for name, spec in placeholders(NB[code]).items():
            if name in ("n", "events", "exits", "episodes"):
                assert spec == "count", (code, name)


# --------------------------------------------------------------------------- the source uses only known codes
def _literals(node):
    """The string literals an argument can be: ``"a"``, or both branches of ``"a" if x else "b"``."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        return _literals(node.body) + _literals(node.orelse)
    return []


@functools.cache
def _package_calls() -> tuple:
    """(file, call node) of every call in the package's source, parsed once for all the scans below."""
    return tuple((path, node) for path in sorted(PACKAGE.rglob("*.py"))
                 for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))) if isinstance(node, ast.Call))


def _calls(name: str):
    """(file, line, first argument) of every call ``name(...)``/``x.name(...)`` in the package with a literal first argument."""
    for path, node in _package_calls():
        if node.args:
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if called == name:
                for value in _literals(node.args[0]):
                    yield path.relative_to(PACKAGE.parent), node.lineno, value


def _note_codes_in_source():
    codes = [(f, line, code) for name in ("add_note", "Note") for f, line, code in _calls(name)]
    # helpers that take a note code as a later argument: _warn_not_estimable(result, code), _logrank_not_estimable
    for path, node in _package_calls():
        if getattr(node.func, "id", "") in ("_warn_not_estimable", "_logrank_not_estimable"):
            codes += [(path.relative_to(PACKAGE.parent), node.lineno, value) for a in node.args
                      for value in _literals(a)]
    return codes


def test_every_note_code_in_the_source_is_in_the_catalogue():
    codes = _note_codes_in_source()
    assert len(codes) > 60  # the scan sees the analyses' notes
    missing = [f"{f}:{line}: {code}" for f, line, code in codes if f"note.{code}" not in NB]
    assert missing == [], "note codes without a catalogue entry:\n" + "\n".join(missing)


def test_every_note_in_the_catalogue_is_used():
    used = {code for _, _, code in _note_codes_in_source()}
    used |= {"irr_no_person_time", "irr_no_exits"}  # returned by turnover._estimability_problem
    unused = sorted(c[len("note."):] for c in NB if c.startswith("note.") and c[len("note."):] not in used)
    assert unused == [], f"catalogue notes no analysis records: {unused}"


def _is_formatted_text(node) -> bool:
    """An f-string, or text built with ``+``/``%``/``.format``: a sentence, not a catalogue code."""
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Mod)):
        return any(_is_formatted_text(side) or (isinstance(side, ast.Constant) and isinstance(side.value, str))
                   for side in (node.left, node.right))
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format"
            and isinstance(node.func.value, ast.Constant))


def test_notes_are_codes_not_formatted_sentences():
    """``add_note``/``Note``/``_warn_not_estimable`` take a code plus values, never a sentence built in English."""
    found = []
    for path, node in _package_calls():
        func = node.func
        called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        if called in ("add_note", "Note", "_warn_not_estimable", "_logrank_not_estimable") and any(
                _is_formatted_text(arg) for arg in node.args):
            found.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}")
    assert found == []


@pytest.mark.parametrize("function, table", [("T", "report"), ("R", "register")])
def test_every_literal_text_key_is_in_the_catalogue(function, table):
    keys = list(_calls(function))
    assert keys
    missing = [f"{f}:{line}: {key}" for f, line, key in keys if f"{table}.{key}" not in NB]
    assert missing == []


def test_unknown_codes_are_errors():
    from alis_research.report.sections_register import R
    from alis_research.report.text import T as report_text

    with pytest.raises(KeyError, match="no message 'register.no_such_key'"):
        R("no_such_key", "nb")
    with pytest.raises(KeyError):
        report_text("no_such_key", "en")
    with pytest.raises(KeyError):
        message("note.cox_unstable", "nb", events=3)  # a value missing


# --------------------------------------------------------------------------- numbers and dates
def test_numbers_are_written_in_the_languages_style():
    assert message("note.overdispersion", "nb", dispersion=2.5, threshold=1.5) == (
        "Poisson-modellen har overspredning (Pearson χ²/fg = 2,50 > 1,5); "
        "anslaget fra negativ binomisk modell står ved siden av")
    assert message("note.overdispersion", "en", dispersion=-0.5, threshold=1.5).startswith(
        "Poisson model overdispersed (Pearson χ²/df = −0.50 > 1.5)")
    assert message("note.power_not_reached", "nb", test="log-rank", power=0.8, hr=2.345) == \
        "log-rank: en styrke på 80\u00a0% nås ikke for hasardratioer opp til 2,35"
    assert message("note.power_not_reached", "en", test="log-rank", power=0.8, hr=2.345) == \
        "log-rank: 80% power is not reached for hazard ratios up to 2.35"
    assert message("note.abelsen_no_size_class", "nb", n=12345) == f"12{T}345 avtale(r) uten kjent kommunestørrelse er holdt utenfor"
    assert message("note.abelsen_no_size_class", "en", n=12345, min_cell=5).startswith("12,345 contract(s)")
    assert message("note.abelsen_no_size_class", "en", n=3, min_cell=5).startswith("<5 contract(s)")
    assert message("note.abelsen_no_size_class", "en", n=0, min_cell=5).startswith("0 contract(s)")


def test_dates_in_running_text():
    assert messages.fmt_date("2024-12-31", "nb") == "31. desember 2024"
    assert messages.fmt_date(dt.datetime(2019, 5, 1, 12), "en") == "1 May 2019"
    assert messages.fmt_month("2001-05", "nb") == "mai 2001"
    assert message("report.s_data", "nb", f="10", n="12", as_of="2024-12-31").endswith("til 31. desember 2024.")


# --------------------------------------------------------------------------- bokmål reviewed
#: English abbreviations a bokmål reader should not meet: the Norwegian forms are KI (konfidensintervall),
#: kvartilavstand, standardfeil, hasardratio, gjennomsnittlig tid i stillingen, kroner, fg (frihetsgrader).
ENGLISH_ABBREVIATIONS = ("IQR", "SE", "HR", "CI", "RMST", "NOK", "df", "DiD", "IRR", "PH", "KM", "GP", "GPs")
#: Catalogue entries that are not running text: the title page's data fingerprint, file names.
ISO_ALLOWED = ()


def _nb_text(template: str) -> str:
    """The words of a bokmål template, placeholders removed (a placeholder name is not text)."""
    return re.sub(r"\{[^{}]*\}", " ", template)


def test_no_english_abbreviations_in_bokmal():
    pattern = re.compile(r"(?<![\w-])(" + "|".join(ENGLISH_ABBREVIATIONS) + r")(?![\w-])")
    found = {code: pattern.findall(_nb_text(text)) for code, text in NB.items()
             if pattern.search(_nb_text(text)) and not code.startswith("label.value.")}
    assert found == {}


def test_ki_is_explained_in_the_methods():
    assert "konfidensintervall (KI)" in NB["report.m_km"]


def test_no_iso_dates_in_bokmal_running_text():
    iso = re.compile(r"\b\d{4}-\d{2}(-\d{2})?\b")
    found = [code for code, text in NB.items() if iso.search(_nb_text(text)) and code not in ISO_ALLOWED]
    assert found == []
    # a date placeholder in running text is written as a date, not as the ISO value
    dated = [code for code, text in NB.items() for name, spec in placeholders(text).items()
             if name in ("as_of", "start", "end", "censored") and spec != "date"]
    assert dated == []


def test_uncertainty_is_worded_as_the_interval_including_the_null():
    assert NB["report.s_hr_none"] == "Intervallet inkluderer 1 (ingen klar forskjell)."
    assert EN["report.s_hr_none"] == "The interval includes 1 (no clear difference)."
    for table in (NB, EN):
        assert not any("ingen forskjell." in t or "includes no difference" in t for t in table.values())


def test_the_title_says_folgeevaluering():
    assert NB["report.report_title"].startswith("Følgeevaluering")
    assert not any("følgeforskning" in t.lower() or "oppfølgingsevaluering" in t.lower() for t in NB.values())


def test_note_str_is_the_english_catalogue_text():
    note = Note("cox_unstable", events=3, coefficients=2, minimum=10)
    assert str(note) == message("note.cox_unstable", "en", events=3, coefficients=2, minimum=10)


def test_analyses_do_not_import_report_text():
    """The analysis layer words nothing itself: power.py (and the other analyses) use the catalogue, not report/."""
    names = sorted(p.relative_to(PACKAGE).with_suffix("").as_posix() for layer in ("analysis", "stats")
                   for p in (PACKAGE / layer).glob("*.py"))
    assert "analysis/power" in names and "stats/weighting" in names
    for name in names:
        tree = ast.parse((PACKAGE / f"{name}.py").read_text(encoding="utf-8"))
        imported = [node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
        assert not any(module == "report" or module.startswith("report.") for module in imported), name
