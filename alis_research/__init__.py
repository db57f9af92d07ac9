"""alis_research: retention, turnover and contract-duration analyses of ALIS training positions.

The public API a notebook uses (``import alis_research as ar``)::

    data = ar.load_dataset("synthetic", as_of="2024-12-31")   # validated once, prepared
    km = ar.kaplan_meier(data)                                # retention per cohort
    ar.plot_kaplan_meier(km)
    cox = ar.cox_model(data, covariates=["size_class"])       # hazard ratio næring vs fastlønn
    cox.conf_int(alpha=0.10)                                  # 90 % intervals, on request

Every analysis takes the prepared dataset (or the DataFrame it needs) and
returns an :class:`AnalysisResult`: tidy tables, ``params``, ``notes`` and
``conf_int(alpha)``.  Every plot is ``plot_*(result, ax=None, ...) -> ax``.
Names are imported lazily (PEP 562), so ``import alis_research`` and the
command line stay fast: lifelines, statsmodels and matplotlib load only when
an analysis or a plot is first used.
"""
from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

#: Public name -> module (relative to the package) that defines it.
_EXPORTS: dict[str, str] = {
    # data: raw -> validated -> prepared
    "load_dataset": "data.cohort",
    "prepare_dataset": "data.cohort",
    "prepare": "data.cohort",
    "select_area": "data.cohort",
    "load_prepared": "data.cohort",
    "write_prepared": "data.cohort",
    "PreparedDataset": "data.cohort",
    "validate_dataset": "data.validate",
    "load_validated": "data.validate",
    # retention
    "kaplan_meier": "analysis.retention",
    "logrank": "analysis.retention",
    "rmst": "analysis.retention",
    # turnover
    "person_time": "analysis.turnover",
    "turnover_rates": "analysis.turnover",
    "rate_ratio": "analysis.turnover",
    "vacancy": "analysis.turnover",
    # contract duration
    "cox_model": "analysis.duration",
    "proportional_hazards_test": "analysis.duration",
    "cumulative_incidence": "analysis.duration",
    "aalen_johansen": "analysis.duration",
    "parametric_duration": "analysis.duration",
    "median_by_size_class": "analysis.duration",
    # robustness: confounding-adjusted contrasts (IPW), E-values, pooled programmes
    "confounding_analysis": "analysis.robustness",
    "e_value_analysis": "analysis.robustness",
    "pooled_programmes": "analysis.robustness",
    # small cohorts: Firth Cox where the ordinary fit is monotone, exact/permutation log-rank,
    # competing exits (Gray's test, Fine–Gray); and the estimators on arrays
    "small_cohort_analyses": "analysis.small_cohorts",
    "fit_firth": "stats.firth",
    "logrank_permutation_test": "stats.logrank_exact",
    "exact_logrank": "stats.logrank_exact",
    "monte_carlo_logrank": "stats.logrank_exact",
    "gray_test": "stats.finegray",
    "fit_fine_gray": "stats.finegray",
    "e_value_hr": "stats.evalue",
    "dersimonian_laird": "stats.meta",
    # costs, pathway, precision
    "yearly_costs": "analysis.costs",
    "cost_per_retained_year": "analysis.costs",
    "time_to_specialist": "analysis.pathway",
    "hospital_year_summary": "analysis.pathway",
    "supervision_fidelity": "analysis.pathway",
    "simulate_power": "analysis.power",
    "minimal_detectable_hazard_ratio": "analysis.power",
    # comparison groups from a GP-register extract
    "load_register_data": "analysis.comparison",
    "run_comparisons": "analysis.comparison",
    "abelsen_replication": "analysis.comparison",
    "alis_versus_gps": "analysis.comparison",
    "difference_in_differences": "analysis.comparison",
    # plots: plot_*(result, ax=None, *, language="nb") -> ax
    "plot_kaplan_meier": "figures",
    "plot_turnover_rates": "figures",
    "plot_vacancy": "figures",
    "plot_schoenfeld": "figures",
    "plot_cumulative_incidence": "analysis.duration",
    "plot_hazard_ratios": "analysis.duration",
    "plot_time_to_specialist": "analysis.pathway",
    "plot_cost_per_retained_year": "analysis.costs",
    "plot_balance": "analysis.robustness",
    "plot_weighted_km": "analysis.robustness",
    "plot_abelsen": "analysis.comparison",
    "plot_event_study": "analysis.comparison",
    # the shape of results and errors
    "AnalysisResult": "result",
    "AlisError": "errors",
    "NotEstimable": "errors",
}

__all__ = ["__version__", *sorted(_EXPORTS)]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'alis_research' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
