"""The report section on robustness: confounding-adjusted contrasts, E-value, pooled programmes.

:func:`robustness_section` runs :mod:`alis_research.analysis.robustness` on the prepared dataset and
lays out, with a plain-language reading in bokmål or English:

* the hazard ratio and the RMST difference (næring − fastlønn) crude and weighted by the
  inverse probability of the contract type given municipality size, centrality, area,
  start year, sex and age, with the overlap diagnostics (largest standardised mean
  difference before and after weighting, largest weight, the love plot) and the weighted
  Kaplan–Meier curves;
* the E-value of the weighted hazard ratio and its confidence limit;
* with several programmes, the hazard ratio per programme, stratified by programme and
  pooled with random effects, with I² and τ².

Disclosure: the section publishes estimates only, never a count. An estimate resting on
fewer exits than ``max(robustness.MIN_EXITS, min_cell)`` per cohort (or per programme) is
"not estimable"; curves of a cohort with fewer than ``min_cell`` episodes are withheld; the
love plot leaves out every categorical covariate one of whose levels is held by
1 … ``min_cell − 1`` episodes of a cohort (its other levels would give that count back).
The texts (nb, en) are in the message catalogue, table ``report.robustness``
(``alis_research/messages/nb.toml``, ``en.toml``); figure labels in ``figure.robustness``.
"""
from __future__ import annotations

import math

import pandas as pd

from .. import config
from .common import attempt_saying
from .content import Section
from .text import T, check_language, fmt_ci

SECTION_KEY = "robustness"

def _finite(value) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) or pd.isna(value) else float(value)


def _ci(row, language: str, *, estimate="hr", decimals: int = 2) -> str:
    if row is None or _finite(row.get(estimate)) is None:
        return T("not_estimable", language)
    return fmt_ci(_finite(row[estimate]), _finite(row["ci_lower"]), _finite(row["ci_upper"]), language, decimals)


def _run(section: Section, language: str, what: str, func, /, *args, **kwargs):
    """Run an analysis quietly; on failure say 'not estimable' (the reason goes to the log, not the report)."""
    return attempt_saying("robustness.analysis_failed", section, language, what, func, *args, **kwargs)


def publishable_balance(result, episodes: pd.DataFrame, min_cell: int) -> pd.DataFrame:
    """Balance rows that cannot give back a small count: numeric covariates, and categorical
    covariates none of whose levels is held by 1 … ``min_cell − 1`` episodes of a cohort.

    A whole covariate goes when one level is small: the levels' shares add up to 1, so the
    others would give the small one back (with the cohort sizes of Table 1).
    """
    balance = result.balance
    small = set()
    for row in balance.itertuples():
        if row.level == "":
            continue
        held = episodes[row.covariate].astype(str) == row.level
        counts = [int((held & (episodes["cohort"] == c)).sum()) for c in config.CONTRACT_TYPES]
        if any(0 < k < min_cell for k in counts):
            small.add(row.covariate)
    return balance[~balance["covariate"].isin(small)].reset_index(drop=True)


def robustness_section(prepared, *, language: str = "nb", min_cell: int = config.DEFAULT_MIN_CELL) -> Section:
    """Robustness: IPW-adjusted hazard ratio and RMST, E-value, and programmes pooled (estimates only)."""
    import matplotlib.pyplot as plt

    from ..analysis import robustness as rb

    check_language(language)
    section = Section(SECTION_KEY, T("robustness.title", language))
    episodes = prepared.episodes
    min_exits = max(rb.MIN_EXITS, int(min_cell))
    tau = config.DEFAULT_RMST_HORIZON
    facts: dict = {}
    section.paragraph(T("robustness.intro", language))

    # ---- confounding-adjusted contrast
    section.heading(T("robustness.heading_ipw", language))
    confounding = _run(section, language, T("robustness.heading_ipw", language), rb.confounding_analysis, episodes,
                       tau=tau, min_exits=min_exits)
    if confounding is not None:
        fit = confounding.propensity_fit
        if not fit.estimable and confounding.cox is not None:
            code = fit.reason.code  # a Note whenever the model is not estimable
            why = T("robustness.why_separation" if code in ("propensity_separation", "propensity_failed") else
                    "robustness.why_few" if code == "propensity_too_many_coefficients" else
                    "robustness.why_other", language)
            section.paragraph(T("robustness.not_estimable_model", language, why=why))
        if confounding.cox is None:
            section.paragraph(T("robustness.not_estimable_exits", language, k=min_exits))
        else:
            cox = {w: confounding.hazard_ratio(w) for w in ("crude", "ipw")}
            rmst = {w: confounding.rmst[(confounding.rmst["weighting"] == w) & (confounding.rmst["group"] == "difference")]
                    for w in ("crude", "ipw")}
            rmst = {w: (None if part.empty else part.iloc[0].to_dict()) for w, part in rmst.items()}
            table = pd.DataFrame({
                T("robustness.col_measure", language): [T("robustness.row_hr", language),
                                                     T("robustness.row_rmst", language, tau=float(tau))],
                T("robustness.col_crude", language): [_ci(cox["crude"], language),
                                                      _ci(rmst["crude"], language, estimate="rmst")],
                T("robustness.col_ipw", language): [_ci(cox["ipw"], language),
                                                    _ci(rmst["ipw"], language, estimate="rmst")],
            })
            section.table("robustness_ipw", table, T("robustness.cap_ipw", language),
                          notes=[T("robustness.ipw_note", language)])
            for w in ("crude", "ipw"):
                if cox[w] is not None:
                    facts[f"hr_{w}"] = {k: _finite(cox[w][k]) for k in ("hr", "ci_lower", "ci_upper", "p_value")}
                if rmst[w] is not None:
                    facts[f"rmst_difference_{w}"] = {k: _finite(rmst[w][k]) for k in ("rmst", "ci_lower", "ci_upper")}
            ipw = cox["ipw"]
            if ipw is not None:
                includes_one = ipw["ci_lower"] <= 1 <= ipw["ci_upper"]
                reading = T("robustness.read_ipw_none" if includes_one else
                            "robustness.read_ipw_higher" if ipw["hr"] > 1 else "robustness.read_ipw_lower",
                            language, hr=_ci(ipw, language))
                if cox["crude"] is not None:
                    reading += " " + T("robustness.read_shift", language, crude=float(cox["crude"]["hr"]),
                                       ipw=float(ipw["hr"]))
                section.paragraph(reading)
        if fit.estimable and len(confounding.balance):
            before = confounding.balance["smd_unweighted"].abs().max()
            after = confounding.balance["smd_weighted"].abs().max()
            largest = float(confounding.episode_weights.max())
            section.paragraph(T("robustness.balance_text", language, before=float(before), after=float(after),
                                threshold=rb.SMD_THRESHOLD, wmax=largest))
            facts["max_abs_smd"] = {"unweighted": float(before), "weighted": float(after)}
            if after > rb.SMD_THRESHOLD:
                section.paragraph(T("robustness.balance_poor", language))
            shown = publishable_balance(confounding, episodes, min_cell)
            if len(shown):
                view = type(confounding)(balance=shown)
                fig, ax = plt.subplots(figsize=(6.0, 0.3 * len(shown) + 1.2))
                if _run(section, language, T("robustness.cap_balance", language, m=min_cell), rb.plot_balance, view,
                        ax=ax, language=language) is not None:
                    section.figure("robustness_balance", fig, T("robustness.cap_balance", language, m=min_cell))
                else:
                    plt.close(fig)
        if confounding.curves is not None and (confounding.curves["weighting"] == "ipw").any():
            sizes = [int((episodes["cohort"] == c).sum()) for c in config.CONTRACT_TYPES]
            if any(0 < k < min_cell for k in sizes):
                section.paragraph(T("robustness.km_withheld", language, m=min_cell))
            else:
                fig, ax = plt.subplots(figsize=(6.4, 4.2))
                if _run(section, language, T("robustness.cap_km", language), rb.plot_weighted_km, confounding, ax=ax,
                        language=language) is not None:
                    section.figure("robustness_ipw_km", fig, T("robustness.cap_km", language))
                else:
                    plt.close(fig)

    # ---- E-value
    section.heading(T("robustness.heading_evalue", language))
    evalue = None if confounding is None else _run(section, language, T("robustness.heading_evalue", language),
                                                   rb.e_value_analysis, confounding, data=episodes)
    if evalue is not None and evalue.evalue is not None:
        e = evalue.evalue
        ci_text = (T("robustness.evalue_ci_one", language) if e.limit == "includes 1"
                   else T("robustness.evalue_ci", language, e=float(e.e_value_ci)))
        section.paragraph(T("robustness.evalue_text", language, e=float(e.e_value), ci_text=ci_text,
                            approx=T("robustness.approx_rare" if e.rare else "robustness.approx_common", language)))
        facts["e_value"] = {"e_value": e.e_value, "e_value_ci": e.e_value_ci, "rare_outcome": e.rare}
    elif evalue is not None:
        section.paragraph(T("robustness.evalue_none", language))

    # ---- programmes
    section.heading(T("robustness.heading_pooled", language))
    pooled = _run(section, language, T("robustness.heading_pooled", language), rb.pooled_programmes, prepared,
                  min_exits=min_exits)
    if pooled is not None:
        if len(pooled.programmes) < 2:
            section.paragraph(T("robustness.pooled_one", language,
                                programme=pooled.programmes[0] if pooled.programmes else "–"))
        else:
            rows = [(str(r["programme"]), _ci(r.to_dict() if r["estimable"] else None, language))
                    for _, r in pooled.per_programme.iterrows()]
            stratified = None if pooled.stratified is None else pooled.stratified.iloc[0].to_dict()
            rows.append((T("robustness.row_stratified", language), _ci(stratified, language)))
            random = None if pooled.pooled is None else pooled.pooled.set_index("model").loc["random"].to_dict()
            rows.append((T("robustness.row_random", language), _ci(random, language)))
            table = pd.DataFrame(rows, columns=[T("robustness.col_programme", language),
                                                T("robustness.col_hr", language)])
            section.table("robustness_pooled", table, T("robustness.cap_pooled", language))
            if pooled.estimate is not None:
                est = pooled.estimate
                reading = T("robustness.i2_high" if est.i_squared >= 0.5 else "robustness.i2_low", language)
                if est.k == 2:
                    reading += " " + T("robustness.two_programmes", language)
                section.paragraph(T("robustness.pooled_text", language, i2=float(est.i_squared),
                                    tau2=float(est.tau_squared), reading=reading))
                facts["pooled_random"] = {k: _finite(random[k]) for k in ("hr", "ci_lower", "ci_upper")}
                facts["i_squared"] = est.i_squared
    section.facts = facts
    # every estimate rests on the cohorts' exits and censorings: withheld with them (the ledger, docs/reports.md)
    from .common import cohort_exit_groups

    section.guard_numbers(cohort_exit_groups(section, prepared.episodes, language))
    return section
