"""Internal values in words, from the catalogue's ``label.*`` tables.

Contract types, municipality size classes (``'2000-4999'`` -> ``'2 000–4 999'``),
specialist schemes, variables (``size_class`` -> "kommunestørrelse"), Cox terms
(``'size_class=2000-4999'`` -> "Kommunestørrelse 2 000–4 999"), the outcomes and
municipality groups of the difference in differences. Values the catalogue does
not know (area names, years) pass through unchanged: they are data, not text.
"""
from __future__ import annotations

import re
from typing import Any, Mapping

from .. import config
from . import capitalise, catalogue, check_language, fmt_number, message, uncapitalise

_SIZE_CLASS_RANGE = re.compile(r"^(\d+)-(\d+)$")


def _lookup(table: str, value, language: str) -> str | None:
    return catalogue(check_language(language)).get(f"label.{table}.{value}")


def contract_label(value, language: str = "nb") -> str:
    """A contract type in words: ``næring`` -> "næring" (nb) / "self-employed (næring)" (en)."""
    return _lookup("contract", value, language) or str(value)


def size_class_label(value, language: str = "nb") -> str:
    """A municipality size class in words: ``'2000-4999'`` -> ``'2 000–4 999'`` (nb) / ``'2,000–4,999'`` (en).

    ``'<2000'`` is "under 2 000" / "under 2,000" and ``'>=50000'`` "50 000 og over" / "50,000 and over";
    other values pass through unchanged.
    """
    text = str(value)
    if text.startswith("<") and text[1:].isdigit():
        return message("label.size.under", language, size=fmt_number(int(text[1:]), 0, language))
    if text.startswith(">=") and text[2:].isdigit():
        return message("label.size.and_over", language, size=fmt_number(int(text[2:]), 0, language))
    match = _SIZE_CLASS_RANGE.match(text)
    if match:
        return f"{fmt_number(int(match.group(1)), 0, language)}–{fmt_number(int(match.group(2)), 0, language)}"
    return text


def scheme_label(value, language: str = "nb") -> str:
    """The specialist-training rules of an episode: ``new`` -> "ny ordning"/"new rules"."""
    return _lookup("scheme", value, language) or str(value)


def variable_label(name, language: str = "nb") -> str:
    """A variable (covariate, stratum) in words, lower case: ``size_class`` -> "kommunestørrelse"."""
    return _lookup("variable", str(name).strip(), language) or str(name)


def value_label(value, language: str = "nb", variable: str | None = None) -> str:
    """A value of an analysis variable as the report shows it.

    Contract types, size classes, specialist schemes, sex (``variable="sex"``), distributions, ``all``;
    a combination such as ``'fastlønn, <2000'`` is labelled part by part.
    Unknown values (area names, years) pass through unchanged.
    """
    text = str(value)
    if variable == "scheme" or (variable is None and _lookup("scheme", text, language)):
        return scheme_label(text, language)
    if variable == "sex" and _lookup("sex", text, language):
        return _lookup("sex", text, language)
    if text in config.CONTRACT_TYPES:
        return contract_label(text, language)
    if text in config.SIZE_CLASS_LABELS:
        return size_class_label(text, language)
    for table in ("distribution", "value"):
        found = _lookup(table, text, language)
        if found is not None:
            return found
    if ", " in text:
        return ", ".join(value_label(part, language) for part in text.split(", "))
    return text


def term_label(term, language: str = "nb") -> str:
    """A Cox-model term as the report shows it.

    ``'næring'`` -> the contract label; ``'size_class=2000-4999'`` -> "Kommunestørrelse 2 000–4 999" /
    "Municipality size 2,000–4,999"; ``'size_class'`` (a whole covariate, as in the PH test) ->
    "Kommunestørrelse"; ``'GLOBAL'`` -> the global test.
    """
    text = str(term)
    if text in config.CONTRACT_TYPES or _lookup("value", text, language) is not None:
        return value_label(text, language)
    if "=" in text:
        variable, level = text.split("=", 1)
        return f"{capitalise(variable_label(variable, language))} {value_label(level, language, variable)}"
    if _lookup("variable", text, language) is not None:
        return capitalise(variable_label(text, language))
    return text


def group_level_label(group, level, language: str = "nb") -> str:
    """The group of a per-group note in words: ``size_class``/``'2000-4999'`` -> "kommunestørrelse 2 000–4 999"."""
    if group is None or str(level) in ("None", "all"):
        return value_label("all", language)
    if group == "size_class":
        return f"{variable_label(group, language)} {size_class_label(level, language)}"
    return value_label(level, language, group)


def size_class_group_label(value, language: str = "nb") -> str:
    """"size class X" of a note: "kommunestørrelse 2 000–4 999", or all size classes together."""
    if str(value) == "all":
        return message("label.size.all_together", language)
    return f"{variable_label('size_class', language)} {size_class_label(value, language)}"


def _as_list(value) -> list:
    return [value] if isinstance(value, str) else list(value)


def format_label(spec: str, value, language: str, values: Mapping[str, Any]) -> str:
    """A placeholder with a label spec (``{cohort:label}``…) in words; see :mod:`alis_research.messages`."""
    if spec == "label":
        return value_label(value, language)
    if spec == "level":
        return value_label(value, language, values.get("variable"))
    if spec == "levels":
        return ", ".join(value_label(v, language, values.get("variable")) for v in _as_list(value))
    if spec == "variable":
        return variable_label(value, language)
    if spec == "variables":
        return ", ".join(variable_label(v, language) for v in _as_list(value))
    if spec == "term":
        return uncapitalise(term_label(value, language))
    if spec == "terms":
        return ", ".join(uncapitalise(term_label(v, language)) for v in _as_list(value))
    if spec == "size_class":
        return size_class_label(value, language)
    if spec == "size_class_group":
        return size_class_group_label(value, language)
    if spec == "group_level":
        return group_level_label(values.get("group"), value, language)
    if spec == "did":
        return _lookup("did", value, language) or str(value)
    raise KeyError(f"unknown label spec {spec!r}")
