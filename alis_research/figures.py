"""Figures in one house style: ``plot_*(result, ax=None, language="nb") -> ax``.

The style: matplotlib (safe under the Agg backend), DejaVu Sans (it has æ, ø, å),
the Okabe–Ito colour-blind-safe palette with fixed colours for the two contract
types, labels in Norwegian bokmål (``"nb"``, decimal comma) or English (``"en"``) from the
message catalogue (table ``[figure]`` of ``alis_research/messages/*.toml``).
"""
from __future__ import annotations

from contextlib import contextmanager

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import FuncFormatter
from matplotlib.transforms import blended_transform_factory

from .errors import AlisError
from .messages import LANGUAGES, catalogue, localise_number

#: Okabe–Ito palette; the two contract types always get the same colour.
CONTRACT_COLOURS = {"fastlønn": "#0072B2", "næring": "#D55E00"}
OTHER_COLOURS = ("#009E73", "#E69F00", "#CC79A7", "#56B4E9", "#000000", "#F0E442")

_RC = {
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "legend.frameon": False,
}


def figure_labels(language: str, table: str = "figure") -> dict[str, str]:
    """The labels of one table of the message catalogue (``figure``, ``figure.duration`` …), by key."""
    if language not in LANGUAGES:
        raise AlisError(f"figure language must be one of {', '.join(LANGUAGES)}, got {language!r}")
    prefix = table + "."
    return {code[len(prefix):]: text for code, text in catalogue(language).items()
            if code.startswith(prefix) and "." not in code[len(prefix):]}


def _labels(language: str) -> dict[str, str]:
    return figure_labels(language)


def label(key, language: str = "nb") -> str:
    """The display label of ``key`` (a contract type, axis name …); unknown keys pass through."""
    return _labels(language).get(str(key), str(key))


def format_number(value: float, language: str = "nb", digits: int | None = None) -> str:
    """A number as the report writes it: a true minus sign, and in Norwegian a decimal comma and
    a narrow space between thousands (``'−1,5'``, ``'60 000'``; English ``'−1.5'``, ``'60,000'``)."""
    value = float(value) + 0.0  # no "−0"
    if digits is not None:
        text = f"{value:,.{digits}f}"
    elif value.is_integer():
        text = f"{value:,.0f}"
    else:
        text = f"{value:,g}"
    if text.startswith("-") and not any(d in "123456789" for d in text):
        text = text[1:]  # a value that rounds to zero has no sign
    return localise_number(text, language)


def colour(key, index: int = 0) -> str:
    """Fixed colour for a contract type, otherwise the palette in order."""
    return CONTRACT_COLOURS.get(str(key), OTHER_COLOURS[index % len(OTHER_COLOURS)])


@contextmanager
def house_style():
    """Context in which plots take the house style."""
    with matplotlib.rc_context(_RC):
        yield


def new_axes(ax, figsize=(6.5, 4.5)):
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def decimal_axes(ax, language, axis="both"):
    formatter = FuncFormatter(lambda x, _pos: format_number(round(x, 10), language))
    if axis in ("x", "both"):
        ax.xaxis.set_major_formatter(formatter)
    if axis in ("y", "both"):
        ax.yaxis.set_major_formatter(formatter)


def at_risk_text(count: int, min_cell: int | None) -> str:
    """A number-at-risk cell; counts 1..min_cell−1 are shown as '<min_cell' (disclosure.format_at_risk)."""
    if min_cell is None:
        return str(int(count))
    from .disclosure import format_at_risk

    return format_at_risk(int(count), min_cell)


def _at_risk_at(curve: pd.DataFrame, t: float) -> int:
    later = curve[curve["time"] >= t]
    return int(later["at_risk"].iloc[0]) if len(later) else 0


def plot_kaplan_meier(km_result, ax=None, *, language: str = "nb", min_cell: int | None = None,
                      show_ci: bool = True, at_risk_times=None):
    """Kaplan–Meier curves per group with log-log bands, censoring marks and numbers at risk.

    Parameters
    ----------
    km_result : KaplanMeierResult
        From :func:`alis_research.analysis.retention.kaplan_meier`.
    ax : matplotlib Axes, optional
    language : "nb" or "en"
    min_cell : int, optional
        Numbers at risk from 1 to ``min_cell − 1`` are printed as ``<min_cell``.
    show_ci : bool
        Draw the confidence bands.
    at_risk_times : sequence of float, optional
        Times for the at-risk table (default: whole years to the longest follow-up).
    """
    words = _labels(language)
    curves = km_result.curves
    if curves is None or curves.empty:
        raise AlisError("the Kaplan–Meier result holds no curves to plot")
    keys = ["group"] + (["stratum"] if "stratum" in curves.columns else [])
    with house_style():
        ax = new_axes(ax)
        groups = list(curves.groupby(keys, sort=True, observed=True))
        if at_risk_times is None:
            at_risk_times = np.arange(0, int(np.floor(curves["time"].max())) + 1)
        for i, (key, curve) in enumerate(groups):
            key = key if isinstance(key, tuple) else (key,)
            name = ", ".join(label(k, language) for k in key)
            c = colour(key[0], i) if len(key) == 1 else OTHER_COLOURS[i % len(OTHER_COLOURS)]
            ax.step(curve["time"], curve["survival"], where="post", color=c, label=name, linewidth=1.6)
            if show_ci:
                # S = 1 has no log-log interval; draw the band as the curve itself there
                lower = curve["ci_lower"].where(curve["ci_lower"].notna(), curve["survival"])
                upper = curve["ci_upper"].where(curve["ci_upper"].notna(), curve["survival"])
                defined = curve["survival"] > 0
                ax.fill_between(curve["time"][defined], lower[defined], upper[defined], step="post",
                                color=c, alpha=0.18, linewidth=0)
            censored = curve[curve["censored"] > 0]
            ax.plot(censored["time"], censored["survival"], linestyle="none", marker="|", markersize=8,
                    color=c, label=f"_{words['censored']}")
        ax.set_ylim(0, 1.02)
        ax.set_xlim(0, max(float(curves["time"].max()), max(at_risk_times, default=0)) * 1.02 or 1)
        ax.set_xticks(list(at_risk_times))
        ax.set_xlabel(words["years_since_start"])
        ax.set_ylabel(words["retention"])
        decimal_axes(ax, language)
        ax.legend(loc="lower left")
        at_risk_table(ax, groups, at_risk_times, language, min_cell)
    return ax


def at_risk_table(ax, groups, times, language, min_cell):
    """Numbers at risk under a curve figure, one row per group.

    ``groups`` is a list of ``(key, curve)`` with ``curve`` holding ``time`` and ``at_risk`` (the
    number at risk just after each time); counts go through :func:`at_risk_text` (``min_cell``).
    """
    words = _labels(language)
    transform = blended_transform_factory(ax.transData, ax.transAxes)
    label_transform = ax.transAxes
    top = -0.22
    ax.text(0.0, top, words["at_risk"], transform=label_transform, ha="left", va="top",
            fontweight="bold", gid="at_risk_title")
    for row, (key, curve) in enumerate(groups, start=1):
        key = key if isinstance(key, tuple) else (key,)
        y = top - 0.07 * row
        c = colour(key[0], row - 1) if len(key) == 1 else OTHER_COLOURS[(row - 1) % len(OTHER_COLOURS)]
        # right-aligned well left of x = 0, where the first count is centred
        ax.text(-0.06, y, ", ".join(label(k, language) for k in key), transform=label_transform,
                ha="right", va="top", color=c, gid="at_risk_label")
        for t in times:
            ax.text(t, y, at_risk_text(_at_risk_at(curve, t), min_cell), transform=transform,
                    ha="center", va="top", color=c, gid=f"at_risk:{'|'.join(map(str, key))}:{t:g}")
    ax.figure.subplots_adjust(bottom=0.22 + 0.07 * (len(groups) + 1))


def plot_turnover_rates(result, ax=None, *, language: str = "nb"):
    """Exit rates per 100 person-years with exact Poisson intervals.

    With ``year`` in the result's split: one line per contract type (or area) over
    calendar years; otherwise points with error bars per category.
    """
    words = _labels(language)
    rates = result.rates
    if rates is None or rates.empty:
        raise AlisError("the turnover result holds no rates to plot")
    by = [c for c in ("contract_type", "area", "unit", "year") if c in rates.columns]
    with house_style():
        ax = new_axes(ax)
        if "year" in by:
            series_key = next((c for c in by if c != "year"), None)
            parts = list(rates.groupby(series_key, sort=True)) if series_key else [(words["all"], rates)]
            width = 0.08 * (len(parts) - 1)
            for i, (key, part) in enumerate(parts):
                c = colour(key, i)
                x = part["year"].to_numpy(float) - width / 2 + 0.08 * i
                ax.errorbar(x, part["rate_per_100"], yerr=[part["rate_per_100"] - part["ci_lower"],
                                                           part["ci_upper"] - part["rate_per_100"]],
                            color=c, marker="o", capsize=3, label=label(key, language))
            ax.set_xlabel(words["year"])
            ax.set_xticks(sorted(rates["year"].unique()))
            ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _p: f"{int(round(x))}"))
            ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _p: format_number(round(y, 10), language)))
        else:
            category = by[0] if by else None
            names = rates[category].tolist() if category else [words["all"]]
            positions = np.arange(len(names))
            for i, name in enumerate(names):
                row = rates.iloc[i]
                ax.errorbar([positions[i]], [row["rate_per_100"]],
                            yerr=[[row["rate_per_100"] - row["ci_lower"]], [row["ci_upper"] - row["rate_per_100"]]],
                            color=colour(name, i), marker="o", capsize=4, linestyle="none",
                            label=label(name, language))
            ax.set_xticks(positions)
            ax.set_xticklabels([label(n, language) for n in names])
            ax.set_xlim(-0.6, len(names) - 0.4)
            ax.set_xlabel(words.get(category, "") if category else "")
            ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _p: format_number(round(y, 10), language)))
        ax.set_ylabel(words["rate"])
        ax.set_ylim(bottom=0)
        ax.legend(loc="upper left")
    return ax


def plot_vacancy(result, ax=None, *, language: str = "nb"):
    """Vacant share of position-time per calendar year, one line per ALIS unit; returns the axes.

    Takes the result of :func:`alis_research.analysis.turnover.vacancy` (``by_year=True``).
    """
    words = _labels(language)
    table = result.vacancy
    if table is None or table.empty or not pd.api.types.is_numeric_dtype(table["year"]):
        raise AlisError("the vacancy result holds no yearly shares to plot (use vacancy(..., by_year=True))")
    with house_style():
        ax = new_axes(ax)
        for i, (unit, part) in enumerate(table.groupby("unit", sort=True)):
            ax.plot(part["year"], part["vacancy_share"], marker="o", color=colour(unit, i), label=str(unit))
        ax.set_xlabel(words["year"])
        ax.set_ylabel(words["vacancy"])
        ax.set_ylim(0, 1)
        ax.set_xticks(sorted(table["year"].unique()))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _p: f"{int(round(x))}"))
        decimal_axes(ax, language, axis="y")
        if table["unit"].nunique() <= 12:
            ax.legend(loc="upper left", fontsize=7, ncol=2)
    return ax


def plot_schoenfeld(ph_result, ax=None, *, term: str = "næring", language: str = "nb"):
    """Scaled Schoenfeld residuals of one Cox term against KM-transformed time; returns the axes.

    A flat cloud around the estimated coefficient (dashed line) supports proportional
    hazards; a trend means the hazard ratio changes over the follow-up.  Takes the
    result of :func:`alis_research.analysis.duration.proportional_hazards_test`.
    """
    words = _labels(language)
    residuals = getattr(ph_result, "residuals", None)
    if residuals is None or residuals.empty:
        raise AlisError("the proportional-hazards result holds no residuals to plot (the Cox model was not estimable)")
    if term not in residuals.columns:
        terms = [c for c in residuals.columns if c not in ("time", "transformed_time")]
        raise AlisError(f"no residuals for term {term!r}; the model has {', '.join(terms)}")
    with house_style():
        ax = new_axes(ax)
        ax.scatter(residuals["transformed_time"], residuals[term], s=14, color=colour(term, 0), alpha=0.8)
        # their mean is the coefficient itself: the score is 0 at the estimate
        ax.axhline(float(residuals[term].mean()), color="grey", linestyle="--", linewidth=1)
        ax.set_xlabel(words["km_time"])
        ax.set_ylabel(f"{words['schoenfeld']}: {label(term, language)}")
        decimal_axes(ax, language)
    return ax


def plot_coarsened_km(steps_by_group: dict, ax=None, *, language: str = "nb"):
    """Coarsened Kaplan–Meier curves (:func:`alis_research.disclosure.coarsened_km`) per group.

    Only the published steps are drawn: no confidence band (its width would
    carry finer information), no censoring marks, no numbers at risk (those
    are in the table beside the figure, protected with every other count).
    """
    words = _labels(language)
    with house_style():
        ax = new_axes(ax)
        longest = 1.0
        for i, (group, steps) in enumerate(steps_by_group.items()):
            times = [0.0] + [s.end for s in steps]
            values = [1.0] + [s.survival for s in steps]
            end = steps[-1].end if steps else 0.0
            longest = max(longest, end)
            ax.step(times, values, where="post", color=colour(group, i), label=label(group, language),
                    linewidth=1.6)
        ax.set_ylim(0, 1.02)
        ax.set_xlim(0, longest * 1.05)
        ax.set_xlabel(words["years_since_start"])
        ax.set_ylabel(words["retention"])
        decimal_axes(ax, language)
        ax.legend(loc="lower left")
    return ax
