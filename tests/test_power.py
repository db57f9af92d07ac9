"""Tests of alis_research.analysis.power: test statistics against the package's R-checked estimators,
size under the null, monotone power, Schoenfeld agreement, determinism, CLI."""
from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

from alis_research.stats import coxph

from alis_research.analysis import power, retention
from alis_research.cli import main
from alis_research.errors import AlisError, NotEstimableWarning


def test_statistics_equal_logrank_and_efron_cox_on_single_datasets():
    rng = np.random.default_rng(1)
    time_ = rng.exponential(3, (4, 40))
    time_[:, 20:] /= 2
    censor = rng.uniform(2, 6, (4, 40))
    event = time_ <= censor
    observed = np.minimum(time_, censor)
    x = np.r_[np.zeros(20, np.int8), np.ones(20, np.int8)]
    stats = power._statistics(observed, event, x)
    for i in range(4):
        episodes = pd.DataFrame({"episode_id": [f"E{j}" for j in range(40)], "duration": observed[i],
                                 "exit": event[i].astype(int), "cohort": np.where(x == 1, "næring", "fastlønn")})
        logrank = retention.logrank(episodes)  # checked against R survdiff
        assert stats["logrank_chi2"][i] == pytest.approx(logrank.test["statistic"].iloc[0], rel=1e-10)
        fit = coxph.fit_efron(np.zeros(40), observed[i], event[i].astype(int), x[:, None].astype(float))
        assert stats["beta"][i] == pytest.approx(fit.coef[0], rel=1e-8)
        assert stats["wald_chi2"][i] == pytest.approx(fit.coef[0] ** 2 / fit.variance[0, 0], rel=1e-6)


def test_separation_is_not_estimable_not_a_crash():
    # all exits among næring, none among fastlønn: the Cox estimate runs off to infinity
    observed = np.array([[7.0, 8.0, 9.0, 4.0, 5.0, 6.0]])
    event = np.array([[False, False, False, True, True, True]])
    x = np.array([0, 0, 0, 1, 1, 1], dtype=np.int8)
    stats = power._statistics(observed, event, x)
    assert np.isnan(stats["wald_chi2"][0]) and np.isnan(stats["beta"][0])
    assert stats["logrank_chi2"][0] > 0
    no_events = power._statistics(observed, np.zeros_like(event), x)
    assert np.isnan(no_events["logrank_chi2"][0]) and np.isnan(no_events["wald_chi2"][0])


def test_size_under_the_null_is_near_alpha():
    result = power.simulate_power(hazard_ratio=1.0, simulations=1000, seed=2019)
    for test in power.TESTS:
        assert 0.02 <= result.at(1.0, test) <= 0.09
    national = power.simulate_power(hazard_ratio=1.0, simulations=1000, seed=7, **power.design_parameters("national", 200))
    for test in power.TESTS:
        assert 0.025 <= national.at(1.0, test) <= 0.075


def test_power_increases_with_the_hazard_ratio_and_is_deterministic():
    grid = [1.0, 1.5, 2.0, 3.0, 5.0]
    result = power.simulate_power(hazard_ratio=grid, simulations=1000, seed=3)
    for test in power.TESTS:
        values = [result.at(hr, test) for hr in grid]
        assert values == sorted(values)
        assert values[-1] > 0.9
    again = power.simulate_power(hazard_ratio=grid, simulations=1000, seed=3)
    pd.testing.assert_frame_equal(result.power, again.power)
    other = power.simulate_power(hazard_ratio=grid, simulations=1000, seed=4)
    assert not result.power["power"].equals(other.power["power"])
    row = result.power.iloc[0]
    assert row["mc_se"] == pytest.approx(np.sqrt(row["power"] * (1 - row["power"]) / 1000))


def test_schoenfeld_agrees_with_simulation_for_a_large_design():
    # 300 per cohort, HR 1.4: Schoenfeld's approximation should be within 0.05 of the simulated
    # log-rank power (MC SE about 0.012 at 1,500 simulations)
    design = power.design_parameters("national", 300)
    result = power.simulate_power(hazard_ratio=1.4, simulations=1500, seed=11, **design)
    row = result.power[result.power["test"] == "log-rank"].iloc[0]
    assert 0.5 < row["power"] < 0.98
    assert row["schoenfeld_power"] == pytest.approx(row["power"], abs=0.05)
    # the analytic expected number of exits matches the simulated mean to 1 %
    assert row["expected_events"] == pytest.approx(row["mean_events"], rel=0.01)


def test_expected_events_by_hand():
    # exponential, median 3.8, everyone followed exactly 5 years: P(exit) = 1 - exp(-ln2 x 5 / 3.8)
    p = 1 - np.exp(-np.log(2) * 5 / 3.8)
    assert power.expected_events(n_fastlonn=10, n_naering=0, hazard_ratio=2, follow_up=(5.0, 5.0)) == pytest.approx(10 * p, rel=1e-8)
    p2 = 1 - np.exp(-2 * np.log(2) * 5 / 3.8)
    assert power.expected_events(n_fastlonn=0, n_naering=4, hazard_ratio=2, follow_up=(5.0, 5.0)) == pytest.approx(4 * p2, rel=1e-8)
    assert power.schoenfeld_power(50, 1.0, share_naering=0.5, alpha=0.05) == pytest.approx(0.05)


def test_minimal_detectable_hazard_ratio():
    effect = power.minimal_detectable_hazard_ratio(simulations=1000, seed=2019)
    table = effect.effects.set_index("test")
    hr = table.loc["log-rank", "hazard_ratio"]
    # ALIS-Nord (17 + 15): about 3; the Schoenfeld answer is close
    assert 2.5 < hr < 3.8
    assert table.loc["log-rank", "power_at_hazard_ratio"] >= 0.8
    assert table.loc["log-rank", "schoenfeld_hazard_ratio"] == pytest.approx(hr, rel=0.1)
    just_below = power.simulate_power(hazard_ratio=hr / 1.02, simulations=1000, seed=2019)
    assert just_below.at(hr / 1.02, "log-rank") < 0.8
    bigger = power.minimal_detectable_hazard_ratio(simulations=500, seed=1, **power.design_parameters("national", 300))
    assert bigger.effects.set_index("test").loc["log-rank", "hazard_ratio"] < 1.5
    # below 1 fewer exits are seen (næring rarely leave), so a smaller ratio is needed than 1/3.1;
    # the Cox Wald test never reaches 80 % there (with no næring exits the estimate runs off: Hauck–Donner)
    with pytest.warns(Warning, match="Cox Wald: minimal detectable hazard ratio not found"):
        down = power.minimal_detectable_hazard_ratio(simulations=500, seed=1, direction="decrease")
    assert 0.1 < down.effects.set_index("test").loc["log-rank", "hazard_ratio"] < 1 / 3.1
    text = power.limitations_text(effect, language="nb")
    assert "hasardratioen er minst" in text and f"{hr:.2f}".replace(".", ",") in text


def test_mde_not_reached():
    with pytest.warns(Warning, match="not found"):
        effect = power.minimal_detectable_hazard_ratio(n_fastlonn=2, n_naering=2, simulations=200, seed=1,
                                                       max_hazard_ratio=3)
    assert effect.effects["hazard_ratio"].isna().all()
    assert "cannot be detected" in power.limitations_text(effect, language="en")


def test_staggered_start_dates():
    starts = ["2019-08-01"] * 17 + ["2021-01-01"] * 15
    result = power.simulate_power(hazard_ratio=1.0, accrual=starts, simulations=200, seed=1)
    assert result.params["accrual"] == "given start dates"
    with pytest.raises(AlisError, match="one start date per person"):
        power.simulate_power(hazard_ratio=1.0, accrual=starts[:5], simulations=200)


@pytest.mark.parametrize("kwargs, message", [
    ({"hazard_ratio": 0}, "hazard ratio must be a positive"),
    ({"hazard_ratio": 2, "n_fastlonn": 0}, "n_fastlonn must be"),
    ({"hazard_ratio": 2, "simulations": 3}, "simulations must be at least"),
    ({"hazard_ratio": 2, "accrual": ("2020-01-01", "2019-01-01")}, "before it starts"),
    ({"hazard_ratio": 2, "accrual": ("2019-01-01", "2026-01-01")}, "must end before follow_up_end"),
    ({"hazard_ratio": 2, "follow_up_end": "soon"}, "is not a date"),
])
def test_user_errors(kwargs, message):
    with pytest.raises(AlisError, match=message):
        power.simulate_power(**kwargs)


def test_cli_text_and_speed(capsys):
    assert main(["power", "--simulations", "1000"]) == 0
    out = capsys.readouterr().out
    assert "Design alis-nord: 17 fastlønn + 15 næring" in out
    assert "Smallest hazard ratio" in out and "log-rank" in out


def test_cli_json_shape(capsys):
    assert main(["power", "--design", "national", "--n", "100", "--hazard-ratio", "1.5", "--simulations", "200", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert set(document) == {"design", "parameters", "power", "minimal_detectable_hazard_ratio", "notes", "seconds"}
    assert document["design"] == "national" and document["parameters"]["n_naering"] == 100
    assert document["minimal_detectable_hazard_ratio"] is None
    assert {row["test"] for row in document["power"]} == {"log-rank", "Cox Wald"}
    assert set(document["power"][0]) >= {"hazard_ratio", "test", "power", "mc_se", "schoenfeld_power"}


def test_cli_user_errors(capsys):
    assert main(["power", "--n", "50"]) == 1
    err = capsys.readouterr().err
    assert "--n applies to --design national" in err and "Traceback" not in err
    assert main(["power", "--hazard-ratio", "-1"]) == 1
    err = capsys.readouterr().err
    assert "hazard ratio must be a positive number (1 = no difference), got -1" in err and "np.float64" not in err
    assert main(["power", "--seed", "-1", "--simulations", "20"]) == 1
    err = capsys.readouterr().err
    assert "seed must be a non-negative integer, got -1" in err and "Traceback" not in err


def test_mde_found_where_power_falls_again_at_the_search_limit():
    """Cox Wald power is not monotone below 1 (separation at extreme ratios counts as no rejection):
    the search must not call 80 % 'not reached' when a ratio between 1 and the limit reaches it."""
    starts = ["2016-03-01"] * 10 + ["2019-09-01"] * 21 + ["2017-06-01"] * 8 + ["2019-10-01"] * 15
    design = {"n_fastlonn": 31, "n_naering": 23, "accrual": starts, "follow_up_end": "2024-12-31",
              "simulations": 1000, "seed": 2019}
    at_limit = power.simulate_power(hazard_ratio=1 / 20, **design).at(1 / 20, "Cox Wald")
    assert at_limit < 0.8  # the limit misses the target ...
    grid = power.simulate_power(hazard_ratio=[0.25, 0.2, 0.15, 0.1], **design).power
    assert grid.loc[grid["test"] == "Cox Wald", "power"].max() >= 0.8  # ... a ratio closer to 1 reaches it
    with warnings.catch_warnings():
        warnings.simplefilter("error", NotEstimableWarning)
        down = power.minimal_detectable_hazard_ratio(direction="decrease", **design)
    cox = down.effects.set_index("test").loc["Cox Wald"]
    assert 1 / 20 < cox["hazard_ratio"] < 0.3 and cox["power_at_hazard_ratio"] >= 0.8
    assert not any("not reached" in note for note in down.notes)


def test_mde_accepts_a_list_window_as_simulate_power_does():
    effect = power.minimal_detectable_hazard_ratio(accrual=["2019-08-01", "2019-12-31"], simulations=200, seed=1)
    same = power.minimal_detectable_hazard_ratio(accrual=("2019-08-01", "2019-12-31"), simulations=200, seed=1)
    pd.testing.assert_frame_equal(effect.effects, same.effects)


#: The demo's detectable effects (report.detectable_effect: 1,000 simulations, seed 2019) as the search
#: gave them before the Newton steps skipped finished simulations and the draws were kept (issue 15).
DEMO_EFFECTS_BEFORE_ISSUE_15 = {
    "increase": {"test": ["log-rank", "Cox Wald"], "hazard_ratio": [2.6105749746478373, 2.633587679435251],
                 "power_at_hazard_ratio": [0.802, 0.804], "mc_se": [0.012601428490452976, 0.01255324659201754],
                 "schoenfeld_hazard_ratio": [2.7019562933684984, 2.7019562933684984]},
    "decrease": {"test": ["log-rank", "Cox Wald"], "hazard_ratio": [0.22823316976654603, 0.18542599897717038],
                 "power_at_hazard_ratio": [0.8, 0.8], "mc_se": [0.012649110640673518, 0.012649110640673518],
                 "schoenfeld_hazard_ratio": [0.2723467398467962, 0.2723467398467962]},
}


def test_demo_detectable_effect_unchanged_by_the_speed_ups(demo_prepared):
    from alis_research.report import detectable_effect

    up, down = detectable_effect(demo_prepared)
    assert up.effects.to_dict("list") == DEMO_EFFECTS_BEFORE_ISSUE_15["increase"]
    assert down.effects.to_dict("list") == DEMO_EFFECTS_BEFORE_ISSUE_15["decrease"]
