"""The message catalogue: every text the package publishes, one TOML file per language.

``nb.toml`` (bokmål) and ``en.toml`` (English) beside this module hold the same
codes in tables: ``report`` (report text), ``register`` (the comparison-groups
section), ``figure`` (axis and legend labels), ``label.*`` (internal values in
words) and ``note`` (the caveat notes analyses record as a code plus values).
:func:`message` looks a code up and fills its ``{placeholders}``; an unknown
code is a programming error (``KeyError``), never passed through.

Placeholders carry a format spec that says what the value is, so the catalogue
entry decides how a number is written and which values count people:

``{n:count}``
    a count of people, episodes or events: thousands separated, and written
    ``<min_cell`` when ``1 <= n < min_cell`` and ``min_cell`` is given (the
    disclosure rule). Only values marked ``count`` are counts; everything else
    (thresholds, years, degrees of freedom, p-values) is an estimate or a
    setting and is never masked. :func:`count_placeholders` lists them.
``{x:.2f}``, ``{x:g}``, ``{p:.3f}``, ``{share:.0%}``, ``{year:d}``
    a number in Python's format mini-language, then written in the language's
    style: decimal comma and thin-space thousands in ``nb``, a true minus sign
    (``−``) in both, ``83 %`` (nb) / ``83%`` (en).
``{d:date}``, ``{d:month}``
    a date (``date``, ``Timestamp`` or ISO text) as people write it:
    ``31. desember 2024`` / ``31 December 2024``; ``mai 2001`` / ``May 2001``.
``{v:label}``, ``{v:level}``, ``{v:levels}``, ``{v:variable}``, ``{v:variables}``, ``{v:term}``, ``{v:terms}``,
``{v:size_class}``, ``{v:size_class_group}``, ``{v:group_level}``, ``{v:did}``
    an internal value in words (:mod:`alis_research.messages.labels`): ``level``
    (and each of ``levels``) is labelled as a value of the placeholder ``variable``,
    ``group_level`` as a value of ``group``; ``levels``, ``variables`` and ``terms`` take a list.

A value without a spec is inserted as :meth:`str.format` would. The module
depends on nothing else in the package, so every layer may use it.
"""
from __future__ import annotations

import datetime as _dt
import math
import re
import string
import tomllib
from functools import lru_cache
from importlib import resources
from typing import Any, Iterable, Mapping

LANGUAGES = ("nb", "en")

#: Narrow no-break space: the thousands separator in Norwegian typesetting.
THIN_SPACE = "\u202f"
#: No-break space between a number and its unit (``83 %``).
NO_BREAK_SPACE = "\u00a0"

def check_language(language: str) -> str:
    """``language`` if it is one of :data:`LANGUAGES`, else a user error naming the choices."""
    if language not in LANGUAGES:
        from ..errors import AlisError

        raise AlisError(f"language must be one of {', '.join(LANGUAGES)}, got {language!r}")
    return language


# --------------------------------------------------------------------------- numbers and dates
def localise_number(text: str, language: str) -> str:
    """A number Python wrote (``'-1,234.5'``) in the language's style: ``'−1 234,5'`` (nb), ``'−1,234.5'`` (en)."""
    if text.startswith("-"):
        text = "−" + text[1:]  # a true minus sign
    if language == "nb":
        text = text.replace(",", THIN_SPACE).replace(".", ",")
    return text


def fmt_number(value, decimals: int = 2, language: str = "nb") -> str:
    """A number in the report's style (``'8,37'`` in nb, ``'8.37'`` in en); '–' for missing."""
    if value is None:
        return "–"
    try:
        x = float(value)
    except (TypeError, ValueError):
        return str(value)
    if math.isnan(x):
        return "–"
    if math.isinf(x):
        return "∞" if x > 0 else "−∞"
    return localise_number(f"{x:,.{decimals}f}", language)


def fmt_percent(value, language: str = "nb", decimals: int = 0) -> str:
    """A proportion (0–1) as percent: ``'83 %'`` (nb) / ``'83%'`` (en); '–' for missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    number = fmt_number(100 * float(value), decimals, language)
    return f"{number}{NO_BREAK_SPACE}%" if language == "nb" else f"{number}%"


def fmt_count(value, language: str = "nb", min_cell: int | None = None) -> str:
    """A count of people/episodes/events: ``'<5'`` when ``1 <= value < min_cell``, else thousands separated."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    n = int(round(float(value)))
    if min_cell is not None and 0 < n < min_cell:
        return f"<{min_cell}"
    return localise_number(f"{n:,}", language)


def as_date(value) -> _dt.date:
    """A ``date``, ``datetime``/``Timestamp`` or ISO text (``'2024-12-31'``) as a ``date``."""
    if isinstance(value, _dt.datetime):
        return value.date()
    if isinstance(value, _dt.date):
        return value
    return _dt.date.fromisoformat(str(value)[:10])


def fmt_date(value, language: str = "nb") -> str:
    """A date in running text: ``'31. desember 2024'`` (nb), ``'31 December 2024'`` (en)."""
    day = as_date(value)
    month = message(f"label.month.{day.month}", language)
    return message("label.date.day", language, day=str(day.day), month=month, year=str(day.year))


def fmt_month(value, language: str = "nb") -> str:
    """A month in running text: ``'mai 2001'`` (nb), ``'May 2001'`` (en); ``'2001-05'`` is accepted."""
    text = str(value)
    day = as_date(text + "-01") if re.fullmatch(r"\d{4}-\d{2}", text) else as_date(value)
    return message("label.date.month", language, month=message(f"label.month.{day.month}", language),
                   year=str(day.year))


# --------------------------------------------------------------------------- the catalogue
def _flatten(table: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for name, value in table.items():
        code = f"{prefix}{name}"
        if isinstance(value, dict):
            flat.update(_flatten(value, code + "."))
        else:
            flat[code] = value
    return flat


@lru_cache(maxsize=None)
def catalogue(language: str) -> dict[str, str]:
    """Every message of ``language``: code (``'report.summary'``, ``'note.cox_unstable'``) -> template."""
    check_language(language)
    text = resources.files(__name__).joinpath(f"{language}.toml").read_text(encoding="utf-8")
    return _flatten(tomllib.loads(text))


def has_message(code: str) -> bool:
    """Whether ``code`` is in the catalogue (of bokmål; the test keeps both languages equal)."""
    return code in catalogue("nb")


def codes(prefix: str = "") -> list[str]:
    """The codes that start with ``prefix`` (``'note.'``), in catalogue order."""
    return [c for c in catalogue("nb") if c.startswith(prefix)]


_FORMATTER = string.Formatter()


def placeholders(template: str) -> dict[str, str]:
    """``{name: format spec}`` of a template (``'{n:count} av {m}'`` -> ``{'n': 'count', 'm': ''}``)."""
    return {name: spec or "" for _, name, spec, _ in _FORMATTER.parse(template) if name is not None}


def count_placeholders(code: str) -> set[str]:
    """The values of message ``code`` that are counts of people, episodes or events (spec ``count``)."""
    return {name for name, spec in placeholders(catalogue("nb")[code]).items() if spec == "count"}


class _Formatter(string.Formatter):
    """:meth:`str.format` with the catalogue's format specs (see the module docstring)."""

    def __init__(self, language: str, min_cell: int | None, values: Mapping[str, Any]):
        self.language, self.min_cell, self.values = language, min_cell, values

    def format_field(self, value, spec: str) -> str:
        language = self.language
        if spec == "count":
            return fmt_count(value, language, self.min_cell)
        if spec == "date":
            return fmt_date(value, language)
        if spec == "month":
            return fmt_month(value, language)
        if spec in _LABEL_SPECS:
            from . import labels

            return labels.format_label(spec, value, language, self.values)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return format(value, spec)
        if isinstance(value, float) and not math.isfinite(value):
            return fmt_number(value, 0, language)
        if spec.endswith("%"):
            number = localise_number(format(100 * value, spec[:-1] + "f"), language)
            return f"{number}{NO_BREAK_SPACE}%" if language == "nb" else f"{number}%"
        return localise_number(format(value, spec), language)


_LABEL_SPECS = {"label", "level", "levels", "variable", "variables", "term", "terms", "size_class", "size_class_group",
                "group_level", "did"}


def message(code: str, language: str = "nb", /, *, min_cell: int | None = None, **values) -> str:
    """The message ``code`` in ``language`` with its placeholders filled from ``values``.

    ``min_cell`` masks the values the entry marks ``count`` (``<min_cell`` for 1..min_cell−1).
    Raises ``KeyError`` for an unknown code or a missing value.
    """
    try:
        template = catalogue(check_language(language))[code]
    except KeyError:
        raise KeyError(f"no message {code!r} in the {language} catalogue (alis_research/messages/{language}.toml)") from None
    return _Formatter(language, min_cell, values).vformat(template, (), values)


def capitalise(text: str) -> str:
    """``text`` with its first letter upper case (the rest unchanged)."""
    return text[:1].upper() + text[1:]


def uncapitalise(text: str) -> str:
    """``text`` with its first letter lower case, unless it starts an abbreviation (``'HR 1.2'``, ``'ALIS'``)."""
    return text[:1].lower() + text[1:] if text[:2] != text[:2].upper() else text


def all_placeholders(codes_: Iterable[str], language: str) -> dict[str, dict[str, str]]:
    """``{code: placeholders}`` of ``codes_`` in ``language`` (for the catalogue test)."""
    return {c: placeholders(catalogue(language)[c]) for c in codes_}
