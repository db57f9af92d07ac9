"""Figures: check what was drawn (lines, labels, at-risk texts), under the Agg backend."""
from __future__ import annotations

import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from alis_research import figures

from alis_research.analysis import retention, turnover  # noqa: E402
from alis_research.errors import AlisError, AlisWarning  # noqa: E402

DATA = Path(__file__).parent / "reference" / "data" / "handmade"


@pytest.fixture(scope="module")
def km():
    episodes = pd.read_csv(DATA / "episodes.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AlisWarning)
        return retention.kaplan_meier(episodes)


def _texts(ax, prefix):
    return {t.get_gid(): t.get_text() for t in ax.texts if (t.get_gid() or "").startswith(prefix)}


def test_kaplan_meier_draws_both_cohorts_with_fixed_colours(km):
    ax = figures.plot_kaplan_meier(km, language="nb")
    curves = [line for line in ax.get_lines() if not line.get_label().startswith("_")]
    assert [line.get_label() for line in curves] == ["Fastlønn", "Næring"]
    assert matplotlib.colors.to_hex(curves[0].get_color()) == figures.CONTRACT_COLOURS["fastlønn"].lower()
    # the step line passes through the estimates: fastlønn S = 0.5 from 2.7379 years
    x, y = curves[0].get_data()
    assert np.isclose(np.interp(3.0, x, y), 0.5)
    # censoring marks at the censoring times of fastlønn (5 censored episodes)
    marks = [line for line in ax.get_lines() if line.get_marker() == "|"]
    assert len(marks[0].get_xdata()) == 5
    assert ax.get_ylabel() == "Andel fortsatt i stillingen"
    assert len(ax.collections) == 2  # two confidence bands
    plt.close(ax.figure)


def test_at_risk_table_and_min_cell(km):
    ax = figures.plot_kaplan_meier(km, language="en", min_cell=5)
    texts = _texts(ax, "at_risk:")
    # at 0 years 16 fastlønn and 14 næring; at 3 years 8 and 6; at 5 years 4 and 0 (R: n.risk)
    assert texts["at_risk:fastlønn:0"] == "16" and texts["at_risk:næring:0"] == "14"
    assert texts["at_risk:fastlønn:3"] == "8" and texts["at_risk:næring:3"] == "6"
    assert texts["at_risk:fastlønn:5"] == "<5"  # 4 is a small cell
    assert texts["at_risk:næring:5"] == "0"  # zero is not disclosive
    labels = [t.get_text() for t in ax.texts if t.get_gid() == "at_risk_label"]
    assert labels == ["Salaried (fastlønn)", "Self-employed (næring)"]
    assert ax.get_xlabel() == "Years since start"
    plt.close(ax.figure)


def test_at_risk_labels_do_not_overlap_the_first_counts(km):
    ax = figures.plot_kaplan_meier(km, language="nb", min_cell=5)
    renderer = ax.figure.canvas.get_renderer()
    labels = [t for t in ax.texts if t.get_gid() == "at_risk_label"]
    first_counts = [t for t in ax.texts if (t.get_gid() or "").startswith("at_risk:") and t.get_gid().endswith(":0")]
    assert len(labels) == len(first_counts) == 2
    right_edge_of_labels = max(t.get_window_extent(renderer).x1 for t in labels)
    left_edge_of_counts = min(t.get_window_extent(renderer).x0 for t in first_counts)
    # a visible gap: at least 2 % of the axes width (they touched at -0.02)
    assert left_edge_of_counts - right_edge_of_labels > 0.02 * ax.get_window_extent(renderer).width
    plt.close(ax.figure)


def test_norwegian_decimal_comma(km):
    ax = figures.plot_kaplan_meier(km, language="nb")
    ax.figure.canvas.draw()
    ticks = [t.get_text() for t in ax.get_yticklabels()]
    assert "0,2" in ticks and "0.2" not in ticks
    plt.close(ax.figure)
    assert figures.format_number(21.06, "nb", 1) == "21,1"
    assert figures.format_number(21.06, "en", 1) == "21.1"


def test_turnover_plot_draws_rates_and_intervals():
    intervals = pd.read_csv(DATA / "intervals.csv")
    result = turnover.turnover_rates(intervals)
    fig, ax = plt.subplots()
    assert figures.plot_turnover_rates(result, ax, language="nb") is ax
    points = [line for line in ax.get_lines() if line.get_marker() == "o"]
    # rates from R's poisson.test: fastlønn 21.0574, næring 24.8681 per 100 PY
    assert np.isclose(points[0].get_ydata()[0], 21.0573899, rtol=1e-6)
    assert np.isclose(points[1].get_ydata()[0], 24.8680851, rtol=1e-6)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["Fastlønn", "Næring"]
    assert ax.get_ylabel() == "Avganger per 100 personår"
    plt.close(fig)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AlisWarning)
        by_year = turnover.turnover_rates(intervals, by=("year", "contract_type"))
    ax = figures.plot_turnover_rates(by_year, language="en")
    assert ax.get_xlabel() == "Calendar year"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["Salaried (fastlønn)", "Self-employed (næring)"]
    plt.close(ax.figure)


def test_unknown_language_is_a_user_error(km):
    with pytest.raises(AlisError, match="figure language must be one of nb, en"):
        figures.plot_kaplan_meier(km, language="de")


def test_vacancy_plot_draws_one_line_per_unit():
    # Unit A (2 positions): 2021 vacant 181 of 730 position-days, 2022 365 of 730 (see test_turnover).
    roster = pd.DataFrame({"unit": ["A", "B"], "fastlønn": [1, 1], "næring": [1, 0]})
    episodes = pd.DataFrame({"unit": ["A", "A", "B"],
                             "start_date": pd.to_datetime(["2021-01-01", "2021-07-01", "2021-01-01"]),
                             "stop_date": pd.to_datetime(["2022-01-01", "2023-01-01", "2023-01-01"]),
                             "exit": [1, 0, 0]})
    result = turnover.vacancy(episodes, roster=roster, as_of="2023-01-01")
    ax = figures.plot_vacancy(result, language="en")
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert set(lines) == {"A", "B"}
    np.testing.assert_allclose(lines["A"].get_ydata(), [181 / 730, 0.5])
    np.testing.assert_allclose(lines["B"].get_ydata(), [0.0, 0.0])
    assert ax.get_ylabel() == "Share of position-time with nobody in post"
    plt.close(ax.figure)
    with pytest.raises(AlisError, match="by_year=True"):
        figures.plot_vacancy(turnover.vacancy(episodes, roster=roster, as_of="2023-01-01", by_year=False))


def test_schoenfeld_plot_centres_on_the_cox_coefficient():
    from alis_research.analysis import duration

    intervals = pd.read_csv(DATA.parent / "handmade_cox" / "intervals.csv", dtype={"municipality_code": str})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cox = duration.cox_model(intervals)
        ph = duration.proportional_hazards_test(cox)
    ax = figures.plot_schoenfeld(ph, language="nb")
    points = ax.collections[0].get_offsets()
    assert len(points) == 24  # one residual per exit (R: 24 events)
    dashed = [line for line in ax.get_lines() if line.get_linestyle() == "--"][0]
    assert dashed.get_ydata()[0] == pytest.approx(0.592598873649075, rel=1e-6)  # R coxph coefficient
    assert ax.get_xlabel() == "Tid (Kaplan–Meier-skala)"
    plt.close(ax.figure)
    with pytest.raises(AlisError, match="no residuals for term 'sex'"):
        figures.plot_schoenfeld(ph, term="sex")


def test_register_comparison_groups_are_labelled_in_the_report_language():
    # comparison.OTHER_GROUP is an internal key: the figure must not show it untranslated
    from alis_research.analysis.comparison import OTHER_GROUP

    assert figures.label(OTHER_GROUP, "nb") == "Andre fastleger"
    assert figures.label(OTHER_GROUP, "en") == "Other GPs"
