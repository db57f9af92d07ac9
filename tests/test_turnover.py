"""Person-time, exit rates, rate ratios and vacancy: by hand and against R."""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alis_research.analysis import turnover
from alis_research.errors import AlisError, AlisWarning

REFERENCE = Path(__file__).parent / "reference"
DATASETS = sorted(p.name for p in (REFERENCE / "data").iterdir() if (p / "intervals.csv").exists())
EST, SE = 1e-6, 1e-4


def _intervals(name):
    return pd.read_csv(REFERENCE / "data" / name / "intervals.csv", dtype={"municipality_code": str})


def _reference(name, what):
    return pd.read_csv(REFERENCE / "results" / f"retention_{name}_{what}.csv")


def _quiet(function, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AlisWarning)
        return function(*args, **kwargs)


def _interval(episode, contract, start_date, stop_date, exit_, unit="A", offset=0.0):
    start, stop = pd.Timestamp(start_date), pd.Timestamp(stop_date)
    length = (stop - start).days / 365.25
    return {"episode_id": episode, "contract_type": contract, "start": offset, "stop": offset + length,
            "start_date": start, "stop_date": stop, "exit": exit_, "unit": unit, "area": "UNN"}


# ------------------------------------------------------------------ by hand


def test_exact_poisson_interval_three_events_in_ten_years():
    # scipy.stats.chi2.ppf(0.025, 6) = 1.237344, chi2.ppf(0.975, 8) = 17.534546
    # lower = 1.237344 / 2 / 10 = 0.0618672; upper = 17.534546 / 2 / 10 = 0.8767273 per PY
    lower, upper = turnover.exact_poisson_interval(3, 10.0)
    assert lower == pytest.approx(0.0618672, abs=1e-7)
    assert upper == pytest.approx(0.8767273, abs=1e-7)
    # zero events: lower 0, upper chi2.ppf(0.975, 2)/2 = -log(0.025) = 3.688879
    lower, upper = turnover.exact_poisson_interval(0, 1.0)
    assert lower == 0 and upper == pytest.approx(-np.log(0.025))


def test_calendar_split_by_hand():
    # 2019-07-01 .. 2021-03-01: 184 days in 2019, 366 in 2020, 59 in 2021; exit on the 2021 piece
    rows = pd.DataFrame([_interval("E1", "næring", "2019-07-01", "2021-03-01", 1)])
    table = turnover.person_time(rows, by=("year",))
    assert list(table["year"]) == [2019, 2020, 2021]
    np.testing.assert_allclose(table["person_years"], np.array([184, 366, 59]) / 365.25)
    assert list(table["exits"]) == [0, 0, 1]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2500), st.integers(0, 2000), st.booleans()), min_size=1, max_size=8))
def test_person_time_is_conserved_by_the_calendar_split(spells):
    rows = []
    for i, (offset, length, exited) in enumerate(spells):
        start = pd.Timestamp("2018-03-15") + pd.Timedelta(days=offset)
        rows.append(_interval(f"E{i}", "fastlønn" if i % 2 else "næring", start,
                              start + pd.Timedelta(days=length), int(exited)))
    frame = pd.DataFrame(rows)
    split = turnover.person_time(frame, by=("contract_type", "year"))
    whole = turnover.person_time(frame, by=("contract_type",))
    summed = split.groupby("contract_type")[["exits", "person_years"]].sum()
    np.testing.assert_allclose(summed["person_years"].to_numpy(), whole["person_years"].to_numpy())
    np.testing.assert_array_equal(summed["exits"].to_numpy(), whole["exits"].to_numpy())


def test_rate_ratio_not_estimable_without_exits_in_one_type():
    rows = pd.DataFrame([
        _interval("E1", "fastlønn", "2020-01-01", "2021-01-01", 1),
        _interval("E2", "næring", "2020-01-01", "2022-01-01", 0),
    ])
    with pytest.warns(AlisWarning, match=r"no exits under self-employed \(næring\)"):
        result = turnover.rate_ratio(rows)
    assert result.estimates["irr"].isna().all()


def test_rate_ratio_closed_form_and_overdispersion():
    # Two types, one cell each, 364 days of person-time each: 1 exit under fastlønn, 2 under
    # næring. IRR = 2 / 1 = 2; SE of log IRR = sqrt(1/2 + 1/1). Saturated: dispersion undefined.
    rows = pd.DataFrame([
        _interval("E1", "fastlønn", "2021-01-01", "2021-12-31", 1),
        _interval("E2", "næring", "2021-01-01", "2021-07-02", 1),
        _interval("E3", "næring", "2021-07-02", "2021-12-31", 1),
    ])
    result = _quiet(turnover.rate_ratio, rows)
    row = result.estimates.iloc[0]
    assert row["irr"] == pytest.approx(2.0, rel=1e-9)
    assert row["se"] == pytest.approx(np.sqrt(1.5), rel=1e-6)
    assert np.isnan(result.dispersion)


def test_unknown_split_is_a_user_error():
    rows = pd.DataFrame([_interval("E1", "fastlønn", "2021-01-01", "2021-12-31", 1)])
    with pytest.raises(AlisError, match="cannot split turnover by 'sex'"):
        turnover.turnover_rates(rows, by="sex")
    bad = rows.assign(stop=-1.0)
    with pytest.raises(AlisError, match="episode E1 .* stop must be"):
        turnover.turnover_rates(bad)


# ------------------------------------------------------------------ vacancy


def _episode(unit, start, stop, exit_):
    return {"unit": unit, "start_date": pd.Timestamp(start), "stop_date": pd.Timestamp(stop), "exit": exit_}


def test_vacancy_by_hand():
    # Unit A, 2 positions. 2021: holder 1 all year; holder 2 from 2021-07-01 (181 days empty of 365).
    # Holder 1 leaves 2022-01-01 (exit), nobody replaces: 2022 one position empty all year.
    # as_of 2023-01-01: window 2021-01-01 .. 2022-12-31.
    roster = pd.DataFrame({"unit": ["A"], "fastlønn": [1], "næring": [1]})
    episodes = pd.DataFrame([
        _episode("A", "2021-01-01", "2022-01-01", 1),
        _episode("A", "2021-07-01", "2023-01-01", 0),
    ])
    table = turnover.vacancy(episodes, roster=roster, as_of="2023-01-01").vacancy.set_index("year")
    assert table.loc[2021, "vacancy_share"] == pytest.approx(181 / (2 * 365))
    assert table.loc[2022, "vacancy_share"] == pytest.approx(365 / (2 * 365))
    assert table.loc[2022, "vacant_position_years"] == pytest.approx(365 / 365.25)
    overall = turnover.vacancy(episodes, roster=roster, as_of="2023-01-01", by_year=False).vacancy
    assert overall.loc[0, "vacancy_share"] == pytest.approx((181 + 365) / (2 * 730))


def test_vacancy_as_of_beyond_follow_up_is_refused():
    roster = pd.DataFrame({"unit": ["A"], "fastlønn": [1], "næring": [0]})
    episodes = pd.DataFrame([_episode("A", "2021-01-01", "2022-01-01", 0)])
    with pytest.raises(AlisError, match="after the end of follow-up"):
        turnover.vacancy(episodes, roster=roster, as_of="2023-01-01")


# ------------------------------------------------------------------ against R


@pytest.mark.parametrize("name", DATASETS)
def test_rates_match_r_poisson_test(name):
    ref = _reference(name, "rates")
    intervals = _intervals(name)
    for by, part in ref.groupby("by"):
        ours = _quiet(turnover.turnover_rates, intervals, by=by).rates.set_index(by)
        for _, row in part.iterrows():
            got = ours.loc[row["level"]]
            assert got["exits"] == row["exits"]
            assert got["person_years"] == pytest.approx(row["person_years"], rel=EST)
            assert got["rate_per_100"] == pytest.approx(row["rate_per_100"], rel=EST)
            assert got["ci_lower"] == pytest.approx(row["ci_lower"], rel=SE)
            assert got["ci_upper"] == pytest.approx(row["ci_upper"], rel=SE)


@pytest.mark.parametrize("name", DATASETS)
@pytest.mark.parametrize("model", ["unadjusted", "area"])
def test_rate_ratio_matches_r_glm_poisson(name, model):
    ref = _reference(name, "glm").set_index("model").loc[model]
    covariates = () if model == "unadjusted" else ("area",)
    ours = _quiet(turnover.rate_ratio, _intervals(name), covariates=covariates)
    row = ours.estimates.set_index("model").loc["poisson"]
    assert row["irr"] == pytest.approx(ref["irr"], rel=EST)
    assert row["se"] == pytest.approx(ref["se"], rel=SE)
    assert row["ci_lower"] == pytest.approx(ref["ci_lower"], rel=SE)
    assert row["ci_upper"] == pytest.approx(ref["ci_upper"], rel=SE)
    assert row["p_value"] == pytest.approx(ref["p_value"], rel=SE)
    assert np.isfinite(ours.dispersion)


def test_overdispersed_counts_bring_a_negative_binomial_fit():
    # Ten units with very uneven exits (0 or 5-6 in a year under each type, 6 short spells each):
    # the Poisson model cannot fit this spread, Pearson chi2/df is far above 1.5.
    rows = []
    for u, exits in enumerate([0, 0, 0, 0, 6, 6, 0, 0, 5, 5]):
        for contract in ("fastlønn", "næring"):
            for j in range(6):
                start = pd.Timestamp("2021-01-01") + pd.Timedelta(days=50 * j)
                rows.append(_interval(f"E{u}{contract[0]}{j}", contract, start, start + pd.Timedelta(days=40),
                                      int(j < exits), unit=f"U{u}"))
    with pytest.warns(AlisWarning, match="overdispersed"):
        result = turnover.rate_ratio(pd.DataFrame(rows))
    assert result.dispersion > 1.5
    table = result.estimates.set_index("model")
    assert list(table.index) == ["poisson", "negative_binomial"]
    # equal exits and person-time under both types: both models give IRR 1
    assert table.loc["poisson", "irr"] == pytest.approx(1.0, rel=1e-8)
    assert table.loc["negative_binomial", "irr"] == pytest.approx(1.0, rel=1e-4)
    assert table.loc["negative_binomial", "alpha_nb"] > 0
    # the NB interval is wider than the Poisson one
    assert table.loc["negative_binomial", "se"] > table.loc["poisson", "se"]


def test_separation_on_a_covariate_is_not_estimable():
    # Area "Finnmark" has no exits at all: its coefficient runs off to -infinity.
    rows = [
        _interval("E1", "fastlønn", "2021-01-01", "2021-12-31", 1),
        _interval("E2", "næring", "2021-01-01", "2021-12-31", 1),
        _interval("E3", "næring", "2021-01-01", "2021-12-31", 0),
        {**_interval("E4", "fastlønn", "2021-01-01", "2021-12-31", 0, unit="B"), "area": "Finnmark"},
        {**_interval("E5", "næring", "2021-01-01", "2021-12-31", 0, unit="B"), "area": "Finnmark"},
    ]
    # Within UNN: fastlønn 1 exit / 0.9966 PY, næring 1 / 1.9932 PY -> IRR 0.5, SE sqrt(1 + 1).
    with pytest.warns(AlisWarning, match=r"area\[UNN\] have no exits \(separation\)"):
        result = turnover.rate_ratio(pd.DataFrame(rows), covariates=("area",))
    row = result.estimates.iloc[0]
    assert row["irr"] == pytest.approx(0.5, rel=1e-6)
    assert row["se"] == pytest.approx(np.sqrt(2), rel=1e-6)
