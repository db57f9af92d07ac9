"""The analyses' memo (alis_research.analysis.memo): computed once per distinct input, never stale."""
from __future__ import annotations

import json
import threading
import warnings

import numpy as np
import pandas as pd
import pytest

from alis_research import config
from alis_research.analysis import memo


@pytest.fixture(autouse=True)
def empty_store():
    memo.clear()
    yield
    memo.clear()


def _counting():
    calls = []

    @memo.memoised
    def column_total(frame: pd.DataFrame, *, column: str = "x") -> pd.DataFrame:
        calls.append(column)
        return pd.DataFrame({"total": [float(frame[column].sum())]})

    return column_total, calls


def test_off_unless_switched_on(monkeypatch):
    monkeypatch.delenv(memo.ENV_VAR, raising=False)
    total, calls = _counting()
    frame = pd.DataFrame({"x": [1.0, 2.0]})
    total(frame)
    total(frame)
    assert len(calls) == 2 and memo.stats == {"hits": 0, "misses": 0, "unkeyed": 0}
    monkeypatch.setenv(memo.ENV_VAR, "1")  # what a report kernel has
    total(frame)
    total(frame)
    assert len(calls) == 3 and memo.stats["hits"] == 1
    with memo.disabled():
        total(frame)
    assert len(calls) == 4


def test_same_content_is_computed_once_and_each_caller_gets_its_own_copy():
    total, calls = _counting()
    with memo.enabled():
        first = total(pd.DataFrame({"x": [1.0, 2.0]}))
        first.loc[0, "total"] = -1.0  # a caller changing its result ...
        second = total(pd.DataFrame({"x": [1.0, 2.0]}))  # ... an equal frame, another object
        second.loc[0, "total"] = -2.0
        third = total(pd.DataFrame({"x": [1.0, 2.0]}))
    assert calls == ["x"]
    assert third["total"].tolist() == [3.0]  # ... changes nothing for the next one
    assert memo.stats == {"hits": 2, "misses": 1, "unkeyed": 0}


def test_a_different_value_dtype_column_or_argument_is_a_different_key():
    total, calls = _counting()
    with memo.enabled():
        assert total(pd.DataFrame({"x": [1.0, 2.0]}))["total"][0] == 3.0
        assert total(pd.DataFrame({"x": [1.0, 2.5]}))["total"][0] == 3.5
        assert total(pd.DataFrame({"x": [1, 2]}))["total"][0] == 3.0  # int, not float: computed again
        assert total(pd.DataFrame({"x": [1.0, 2.0], "y": [5.0, 5.0]}))["total"][0] == 3.0
        assert total(pd.DataFrame({"x": [1.0, 2.0], "y": [5.0, 5.0]}), column="y")["total"][0] == 10.0
    assert len(calls) == 5 and memo.stats["hits"] == 0


def test_warnings_are_issued_again_on_a_hit_and_errors_are_not_stored():
    attempts = []

    @memo.memoised
    def fragile(value: int) -> int:
        attempts.append(value)
        warnings.warn(f"caveat about {value}", UserWarning)
        if value < 0:
            raise ValueError("negative")
        return value * 2

    with memo.enabled():
        for _ in range(2):
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                assert fragile(4) == 8
            assert [str(w.message) for w in caught] == ["caveat about 4"]
        for _ in range(2):
            with pytest.raises(ValueError), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fragile(-1)
    assert attempts == [4, -1, -1]


def test_arguments_that_cannot_be_pickled_are_computed_every_time():
    calls = []

    @memo.memoised
    def apply(func, value):
        calls.append(value)
        return func(value)

    with memo.enabled():
        assert apply(lambda v: v + 1, 1) == 2
        assert apply(lambda v: v + 1, 1) == 2
    assert len(calls) == 2 and memo.stats["unkeyed"] == 2


def test_the_store_keeps_the_most_recently_used_results(monkeypatch):
    monkeypatch.setattr(memo, "MAX_ENTRIES", 3)
    calls = []

    @memo.memoised
    def square(value):
        calls.append(value)
        return value * value

    with memo.enabled():
        for value in (1, 2, 3, 1, 4, 1, 2):  # 4 pushes out 2 (1 was used again), then 2 pushes out 3
            square(value)
    assert calls == [1, 2, 3, 4, 2]


def test_the_switch_is_per_thread():
    total, calls = _counting()
    frame = pd.DataFrame({"x": [1.0]})
    with memo.enabled():
        total(frame)
        worker = threading.Thread(target=lambda: total(frame))  # the environment's default there: off
        worker.start()
        worker.join()
        total(frame)
    assert len(calls) == 2


def test_memoised_analyses_give_exactly_what_they_compute_afresh(demo_prepared):
    # the report's costliest analyses, the second call served from the store, against a fresh computation
    from alis_research.analysis import costs, duration, power, results, retention, robustness, small_cohorts, turnover
    from alis_research.report.sections_costs import design_from_data

    design = design_from_data(demo_prepared)
    episodes, intervals = demo_prepared.episodes, demo_prepared.intervals
    with memo.disabled():
        crude = duration.cox_model(intervals)
    calls = [
        (retention.kaplan_meier, (episodes,), {}),
        (retention.logrank, (episodes,), {}),
        (retention.rmst, (episodes,), {"tau": 5.0}),
        (turnover.turnover_rates, (intervals,), {}),
        (turnover.rate_ratio, (intervals,), {}),
        (turnover.vacancy, (episodes,), {"as_of": demo_prepared.as_of}),
        (duration.cox_model, (intervals,), {"covariates": ["size_class"]}),
        (duration.proportional_hazards_test, (crude,), {}),
        (duration.cumulative_incidence, (episodes,), {}),
        (duration.parametric_duration, (episodes,), {}),
        (costs.cost_per_retained_year, (demo_prepared,), {"bootstrap": 200}),
        (costs.assumption_sensitivity, (demo_prepared,), {}),
        (costs.cost_sensitivity, (demo_prepared,), {}),
        (power.minimal_detectable_hazard_ratio, (), {"simulations": 100, "seed": 3, **design}),
        (robustness.confounding_analysis, (demo_prepared,), {}),
        (small_cohorts.small_cohort_analyses, (demo_prepared,), {}),
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for func, args, kwargs in calls:
            with memo.disabled():
                fresh = func(*args, **kwargs)
            with memo.enabled():
                func(*args, **kwargs)
                hits = memo.stats["hits"]
                served = func(*args, **kwargs)
                assert memo.stats["hits"] == hits + 1, func.__name__
            _assert_same(served, fresh)
        with memo.disabled():
            fresh = results.build_results(demo_prepared)
        with memo.enabled():
            results.build_results(demo_prepared)
            served = results.build_results(demo_prepared)
    assert results.dumps(served) == results.dumps(fresh)


def _assert_same(served, fresh, depth: int = 0, where: str = "result"):
    """Equal to the last bit: tables, arrays, numbers, texts, nested results (fitted model objects by type)."""
    assert type(served) is type(fresh), where
    if isinstance(fresh, pd.DataFrame):
        pd.testing.assert_frame_equal(served, fresh, check_exact=True)
    elif isinstance(fresh, pd.Series):
        pd.testing.assert_series_equal(served, fresh, check_exact=True)
    elif isinstance(fresh, np.ndarray):
        np.testing.assert_array_equal(served, fresh, err_msg=where)
    elif isinstance(fresh, dict):
        assert list(served) == list(fresh), where
        for key, value in fresh.items():
            if key != "seconds":  # simulate_power records its run time
                _assert_same(served[key], value, depth + 1, f"{where}[{key!r}]")
    elif isinstance(fresh, (list, tuple)):
        assert len(served) == len(fresh), where
        for i, (a, b) in enumerate(zip(served, fresh)):
            _assert_same(a, b, depth + 1, f"{where}[{i}]")
    elif isinstance(fresh, float) and np.isnan(fresh):
        assert np.isnan(served), where
    elif isinstance(fresh, (str, bytes, int, float, bool, type(None), np.generic)):
        assert served == fresh, where
    elif hasattr(fresh, "__dict__") and depth < 2:  # an AnalysisResult and what it holds
        _assert_same(vars(served), vars(fresh), depth + 1, where)


def test_the_two_languages_of_an_area_share_the_prepared_data_key(demo_dataset):
    # a regenerate worker prepares the area afresh (a copy) for each language: the keys must still match
    from alis_research.report import load_for_report

    nb = load_for_report(demo_dataset, as_of=config.DEMO_AS_OF, area="UNN")
    en = load_for_report(demo_dataset, as_of=config.DEMO_AS_OF, area="UNN")
    other = load_for_report(demo_dataset, as_of=config.DEMO_AS_OF, area="Nordland")
    assert nb is not en and nb.episodes is not en.episodes
    assert memo.content_key("f", (nb,)) == memo.content_key("f", (en,))
    assert memo.content_key("f", (nb,)) != memo.content_key("f", (other,))
    changed = load_for_report(demo_dataset, as_of=config.DEMO_AS_OF, area="UNN")
    changed.episodes.loc[changed.episodes.index[0], "duration"] += 1e-9  # one number, one ulp-scale change
    assert memo.content_key("f", (changed,)) != memo.content_key("f", (nb,))
    assert np.isfinite(changed.episodes["duration"]).all()


def test_report_kernels_run_with_the_memo_on():
    from alis_research.report.build import kernel_environment

    environment = kernel_environment()
    assert environment[memo.ENV_VAR] == "1"
    assert environment.get("PATH") == __import__("os").environ.get("PATH")
