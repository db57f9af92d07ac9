"""Report text and number formatting for reports (bokmål ``nb`` and English ``en``).

The texts live in the message catalogue (``alis_research/messages/nb.toml`` and
``en.toml``, table ``[report]``); :func:`T` looks one up. Numbers follow the
language: in ``nb`` a decimal comma and a (narrow, non-breaking) space between
thousands, e.g. ``8,37 år`` and ``12 345``; in ``en`` a decimal point and a
comma between thousands; a true minus sign in both.
"""
from __future__ import annotations

import math

from ..messages import (  # noqa: F401  (re-exported: the report's number formatting)
    LANGUAGES,
    THIN_SPACE,
    check_language,
    fmt_date,
    fmt_number,
    fmt_percent,
    has_message,
    message,
)
from ..messages.labels import contract_label  # noqa: F401  (re-exported)


def fmt_int(value, language: str = "nb") -> str:
    return fmt_number(value, 0, language)


def fmt_years(value, language: str = "nb", decimals: int = 2) -> str:
    """A duration in years: ``'8,37 år'`` / ``'8.37 years'``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return T("not_reached", language)
    return f"{fmt_number(value, decimals, language)} {T('years', language)}"


def fmt_p(value, language: str = "nb") -> str:
    """A p-value: three decimals, or ``'<0,001'``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if value < 0.001:
        return "<" + fmt_number(0.001, 3, language)
    return fmt_number(value, 3, language)


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def fmt_ci(estimate, lower, upper, language: str = "nb", decimals: int = 2) -> str:
    """``'0,83 (0,61–0,94)'``; the estimate alone when it has no interval (e.g. survival 1 before any exit)."""
    if _missing(estimate):
        return T("not_estimable", language)
    if _missing(lower) and _missing(upper):
        return fmt_number(estimate, decimals, language)
    return (
        f"{fmt_number(estimate, decimals, language)} "
        f"({fmt_number(lower, decimals, language)}–{fmt_number(upper, decimals, language)})"
    )


def T(key: str, language: str = "nb", **fields) -> str:
    """The report text ``key`` (``report.<key>`` in the catalogue) in ``language``; ``fields`` fill its placeholders."""
    return message(f"report.{key}", language, **fields)


def has_text(key: str) -> bool:
    """Whether a report text exists for ``key``."""
    return has_message(f"report.{key}")
