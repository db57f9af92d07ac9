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
    "load_dataset": "cohort",
    "prepare_dataset": "cohort",
    "prepare": "cohort",
    "select_area": "cohort",
    "load_prepared": "cohort",
    "write_prepared": "cohort",
    "PreparedDataset": "cohort",
    "validate_dataset": "validate",
    "load_validated": "validate",
    # retention
    "kaplan_meier": "retention",
    "logrank": "retention",
    "rmst": "retention",
    # turnover
    "person_time": "turnover",
    "turnover_rates": "turnover",
    "rate_ratio": "turnover",
    "vacancy": "turnover",
    # contract duration
    "cox_model": "duration",
    "proportional_hazards_test": "duration",
    "cumulative_incidence": "duration",
    "aalen_johansen": "duration",
    "parametric_duration": "duration",
    "median_by_size_class": "duration",
    # robustness: confounding-adjusted contrasts (IPW), E-values, pooled programmes
    "confounding_analysis": "robustness",
    "e_value_analysis": "robustness",
    "pooled_programmes": "robustness",
    # costs, pathway, precision
    "yearly_costs": "costs",
    "cost_per_retained_year": "costs",
    "time_to_specialist": "pathway",
    "hospital_year_summary": "pathway",
    "supervision_fidelity": "pathway",
    "simulate_power": "power",
    "minimal_detectable_hazard_ratio": "power",
    # comparison groups from a GP-register extract
    "load_register_data": "comparison",
    "run_comparisons": "comparison",
    "abelsen_replication": "comparison",
    "alis_versus_gps": "comparison",
    "difference_in_differences": "comparison",
    # plots: plot_*(result, ax=None, *, language="nb") -> ax
    "plot_kaplan_meier": "figures",
    "plot_turnover_rates": "figures",
    "plot_vacancy": "figures",
    "plot_schoenfeld": "figures",
    "plot_cumulative_incidence": "duration",
    "plot_hazard_ratios": "duration",
    "plot_time_to_specialist": "pathway",
    "plot_cost_per_retained_year": "costs",
    "plot_balance": "robustness",
    "plot_weighted_km": "robustness",
    "plot_abelsen": "comparison",
    "plot_event_study": "comparison",
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
