"""Analysis notes and internal values as the report publishes them (bokmål ``nb`` or English ``en``).

Analyses record caveats as data (:class:`~alis_research.messages.note.Note`: a code of the
message catalogue's ``note`` table plus values). :func:`publish_note` writes one in the
report's language from the catalogue and masks **only** the values its catalogue entry
marks ``count`` (counts of people, episodes or events): thresholds, years, degrees of
freedom, p-values and the "1" of a hazard ratio are kept. Group labels (``fastlønn``,
``<2000``, ``size_class=2000-4999``) become the labels the report uses elsewhere.
There is no translation of English text: a note that is not a :class:`Note` is refused.

The module also re-exports the display labels of internal values (size classes, specialist
schemes, Cox terms, variables: :mod:`alis_research.messages.labels`) and words the
suppression log's table and column names, in both languages.
"""
from __future__ import annotations

import re
from typing import Iterable

from .. import config
from ..messages import capitalise, fmt_number, has_message, message, uncapitalise  # noqa: F401
from ..messages.labels import (  # noqa: F401  (re-exported: the report's labels)
    scheme_label,
    size_class_label,
    term_label,
    value_label,
    variable_label,
)
from ..messages.note import Note, as_note
from .text import T, check_language, contract_label, has_text


#: Columns whose values :func:`publish_values` turns into labels.
LABELLED_COLUMNS = {"size_class": size_class_label, "term": term_label, "scheme": scheme_label,
                    "distribution": lambda v, language: value_label(v, language)}


def publish_values(frame, language: str = "nb"):
    """A copy of ``frame`` with internal values in :data:`LABELLED_COLUMNS` replaced by their labels (missing kept)."""
    import pandas as pd

    out = frame.copy()
    for column, labeller in LABELLED_COLUMNS.items():
        if column in out.columns and not pd.api.types.is_numeric_dtype(out[column]):
            out[column] = [v if v is None or (not isinstance(v, str) and pd.isna(v)) else labeller(v, language)
                           for v in out[column]]
    return out


# --------------------------------------------------------------------------- notes
def publish_note(note: Note, language: str = "nb", min_cell: int = config.DEFAULT_MIN_CELL) -> str:
    """A caveat note of an analysis as the report publishes it: in ``language``, as a sentence,
    with only the values its catalogue entry marks ``count`` written ``<min_cell`` when small."""
    return capitalise(as_note(note).text(check_language(language), min_cell))


def publish_notes(notes: Iterable[Note], language: str = "nb",
                  min_cell: int = config.DEFAULT_MIN_CELL) -> list[str]:
    """Every note published (notes identical once written are listed once, order kept)."""
    published: list[str] = []
    for note in notes:
        text = publish_note(note, language, min_cell)
        if text not in published:
            published.append(text)
    return published


#: The exclusion reasons of :mod:`alis_research.data.cohort` -> their codes in the catalogue's ``label.exclusion``.
EXCLUSION_CODES = {
    "starts after the as-of date": "after_as_of",
    "starts on the as-of date (no follow-up)": "on_as_of",
    "ends on its start date (no follow-up)": "ends_on_start",
}


def exclusion_reason(reason: str, language: str = "nb") -> str:
    """An exclusion reason of :mod:`alis_research.data.cohort` in ``language`` (mid-sentence, not capitalised)."""
    return message(f"label.exclusion.{EXCLUSION_CODES[str(reason)]}", language)


# --------------------------------------------------------------------------- the suppression log
#: Internal table names (the ``id`` of a report table) -> caption keys in text.py.
TABLE_CAPTIONS = {
    "flow": "cap_flow", "start_year": "cap_start_year", "table1": "cap_table1", "km_survival": "cap_km_table",
    "km_median": "cap_median", "rmst": "cap_rmst", "rates_contract_type": "cap_rates", "vacancy": "cap_vacancy",
    "cox": "cap_cox", "ph_test": "cap_ph", "cumulative_incidence": "cap_cif", "parametric": "cap_parametric",
    "abelsen": "cap_abelsen",
    "pathway_cif": "cap_pw_cif", "pathway_outcomes": "cap_pw_counts", "hospital_year": "cap_pw_hospital",
    "supervision_cohort": "cap_pw_sup_cohort", "supervision_unit": "cap_pw_sup_unit",
}

#: Columns of the pathway tables -> their text keys (their names differ from the ``col_*`` scheme).
PATHWAY_COLUMNS = {
    "approved": "pw_col_n_approved", "exit_before_approval": "pw_col_n_exit", "censored": "pw_col_n_censored",
    "with_hospital_year": "pw_h_with", "returned": "pw_h_returned", "left_within_window": "pw_h_left_within_window",
    "left_during": "pw_h_left_during", "not_yet_known": "pw_h_not_yet_known", "ongoing": "pw_h_ongoing",
    "returned_share": "pw_h_share", "months_in_post": "pw_col_months", "delivered_hours": "pw_col_delivered",
    "promised_hours": "pw_col_promised", "hours_per_year": "pw_col_per_year", "fidelity": "pw_col_fidelity",
}

#: Tables of the comparison-groups section -> caption keys of its own texts (report/sections_register.py).
REGISTER_TABLE_CAPTIONS = {"abelsen_register": "cap_abelsen", "alis_vs_gps": "cap_alis_counts"}

_TOTAL_TAG = re.compile(r"^(row|column) (.*)$", re.S)


def _register_text(key: str, language: str) -> str | None:
    """A text of the comparison-groups section (``register.<key>``), or None."""
    return message(f"register.{key}", language) if has_message(f"register.{key}") else None


def table_caption(name: str, language: str = "nb") -> str:
    """The caption of a table as the report shows it, from its internal name.

    Known names map to their caption (:data:`TABLE_CAPTIONS`, :data:`REGISTER_TABLE_CAPTIONS`, else a
    text key ``cap_<name>``); an unknown name is made readable (``"my_table"`` -> ``"My table"``).
    """
    if name in REGISTER_TABLE_CAPTIONS:
        return _register_text(REGISTER_TABLE_CAPTIONS[name], language)
    key = TABLE_CAPTIONS.get(name) or (f"cap_{name}" if has_text(f"cap_{name}") else None)
    if key is None and name.startswith("rates_"):
        key = "cap_rates"
    if key is not None:
        try:  # a caption with a placeholder: only the RMST horizon is known here
            return T(key, language, tau=fmt_number(config.DEFAULT_RMST_HORIZON, 0, language))
        except (KeyError, IndexError):
            pass
    return capitalise(name.replace("_", " ").strip())


def column_label(name: str, language: str = "nb") -> str:
    """A table column of the suppression log in words (contract types, totals, ``col_*`` texts)."""
    text = str(name).lstrip("_")
    if text in config.CONTRACT_TYPES:
        return contract_label(text, language)
    if text == "total":
        return T("total", language)
    if text == "*":
        return T("all_columns", language)
    if has_text(f"col_{text}"):
        return T(f"col_{text}", language)
    if text in PATHWAY_COLUMNS:
        from ..analysis import pathway

        return T(PATHWAY_COLUMNS[text], language, w=pathway.RETURN_WINDOW_MONTHS)
    return _register_text(f"col_{text}", language) or str(name)


def suppression_rows(entries: Iterable, language: str = "nb") -> list[dict[str, str]]:
    """The suppression log as the appendix shows it: ``table``, ``row``, ``column``, ``reason`` in words.

    ``entries`` are :class:`~alis_research.disclosure.SuppressionEntry` or their dicts.
    A withheld line total (``row 2020``/``column fastlønn``, column ``total``)
    becomes row "2020", column "Totalt" / row "Totalt", column "fastlønn".
    """
    rows = []
    for entry in entries:
        get = entry.get if isinstance(entry, dict) else (lambda k, e=entry: getattr(e, k))
        table, row, column, reason = (str(get(k)) for k in ("table", "row", "column", "reason"))
        tag = _TOTAL_TAG.match(row) if reason == "total" else None
        if tag and tag.group(1) == "row":
            row, column = value_label(tag.group(2), language), T("total", language)
        elif tag:
            row, column = T("total", language), column_label(tag.group(2), language)
        else:
            row, column = value_label(row, language), column_label(column, language)
        rows.append({"table": table_caption(table, language), "row": row, "column": column,
                     "reason": T(f"reason_{reason}", language)})
    return rows
