"""The report section on robustness: confounding-adjusted contrasts, E-value, pooled programmes.

:func:`robustness_section` runs :mod:`alis_research.robustness` on the prepared dataset and
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
The texts (nb, en) are kept here so the section stays self-contained.
"""
from __future__ import annotations

import math
import sys
import warnings

import pandas as pd

from .. import config
from ..errors import AlisWarning, NotEstimableWarning
from .content import Section
from .text import check_language, fmt_ci, fmt_number

SECTION_KEY = "robustness"

_TEXT: dict[str, tuple[str, str]] = {
    "title": ("Robusthet: konfundering, ukjente forskjeller og flere programmer",
              "Robustness: confounding, unmeasured differences and several programmes"),
    "intro": (
        "Kommunene velger avtaleform, så de to gruppene skiller seg i mer enn avtalen: fastlønn er vanligere i små, "
        "perifere kommuner, der legene uansett slutter tidligere. Her vektes hver ALIS med den inverse "
        "sannsynligheten for sin avtaleform gitt kommunestørrelse, sentralitet, helseforetaksområde, startår, kjønn "
        "og alder (inverse probability weighting, IPW), slik at gruppene blir like på disse kjennetegnene. "
        "Usikkerheten er robuste standardfeil gruppert på person.",
        "Municipalities choose the contract, so the two groups differ in more than the contract: fastlønn is more "
        "common in small, peripheral municipalities, where GPs leave sooner anyway. Here each ALIS is weighted by the "
        "inverse probability of their contract type given municipality size, centrality, health-trust area, start "
        "year, sex and age (inverse probability weighting, IPW), so that the groups become alike on these "
        "characteristics. Uncertainty: robust standard errors clustered by person.",
    ),
    "heading_ipw": ("Justert for målte forskjeller (IPW)", "Adjusted for measured differences (IPW)"),
    "not_estimable_exits": (
        "De vektede estimatene er ikke estimerbare: hver avtaleform må ha minst {k} avslutninger.",
        "The weighted estimates are not estimable: each contract type needs at least {k} exits.",
    ),
    "not_estimable_model": (
        "Modellen for avtaleform (propensity-modellen) er ikke estimerbar med disse dataene ({why}); bare de "
        "ujusterte estimatene vises.",
        "The model of the contract type (the propensity model) is not estimable with these data ({why}); only the "
        "unadjusted estimates are shown.",
    ),
    "why_separation": ("kjennetegnene skiller avtaleformene (nesten) fullstendig",
                       "the characteristics separate the contract types (almost) completely"),
    "why_few": ("for mange kjennetegn for så få ALIS", "too many characteristics for so few ALIS"),
    "why_other": ("modellen kunne ikke tilpasses", "the model could not be fitted"),
    "col_measure": ("Mål", "Measure"),
    "col_crude": ("Ujustert", "Unadjusted"),
    "col_ipw": ("Vektet (IPW)", "Weighted (IPW)"),
    "row_hr": ("Hasardratio næring vs fastlønn (95 % KI)", "Hazard ratio næring vs fastlønn (95% CI)"),
    "row_rmst": ("Forskjell i forventet tid i stillingen de første {tau} årene, næring − fastlønn, år (95 % KI)",
                 "Difference in expected time in post over the first {tau} years, næring − fastlønn, years (95% CI)"),
    "cap_ipw": ("Ujustert og vektet sammenligning av avtaleformene (estimater, ingen antall)",
                "Unadjusted and weighted comparison of the contract types (estimates, no counts)"),
    "ipw_note": (
        "Hasardratio over 1: ALIS på næring slutter raskere. Cox-modell for avtaleform ved start med robuste "
        "standardfeil gruppert på person; RMST med infinitesimal-jackknife-standardfeil. Vektene behandles som kjente.",
        "Hazard ratio above 1: ALIS on næring leave sooner. Cox model of the contract type at start with robust "
        "standard errors clustered by person; RMST with infinitesimal-jackknife standard errors. The weights are "
        "treated as known.",
    ),
    "balance_text": (
        "Før vekting var den største standardiserte forskjellen mellom gruppene {before}; etter vekting {after} "
        "(under 0,1 regnes som god balanse). Den største vekten er {wmax}.",
        "Before weighting the largest standardised difference between the groups was {before}; after weighting "
        "{after} (below 0.1 counts as good balance). The largest weight is {wmax}.",
    ),
    "balance_poor": (
        "Balansen er ikke god etter vekting: gruppene er fortsatt ulike på noen kjennetegn, og det justerte "
        "estimatet må leses med forsiktighet.",
        "Balance is not good after weighting: the groups still differ on some characteristics, and the adjusted "
        "estimate should be read with caution.",
    ),
    "cap_balance": ("Standardiserte forskjeller før (åpne) og etter (fylte) vekting; kjennetegn der et nivå har "
                    "under {m} ALIS i en gruppe, er utelatt",
                    "Standardised differences before (open) and after (filled) weighting; characteristics with a "
                    "level held by fewer than {m} ALIS of a group are left out"),
    "cap_km": ("Andel fortsatt i stillingen, vektet for målte forskjeller (IPW), med 95 % KI",
               "Proportion still in post, weighted for measured differences (IPW), with 95% CI"),
    "km_withheld": ("Vektede kurver vises ikke: en avtaleform har færre enn {m} ALIS.",
                    "Weighted curves are not shown: a contract type has fewer than {m} ALIS."),
    "read_ipw_none": (
        "Lest enkelt: når gruppene gjøres like på de målte kjennetegnene, viser dataene ingen klar forskjell i hvor "
        "raskt ALIS slutter (hasardratio {hr}; konfidensintervallet omfatter 1).",
        "In plain words: when the groups are made alike on the measured characteristics, the data show no clear "
        "difference in how soon ALIS leave (hazard ratio {hr}; the confidence interval includes 1).",
    ),
    "read_ipw_higher": (
        "Lest enkelt: når gruppene gjøres like på de målte kjennetegnene, slutter ALIS på næring raskere enn ALIS på "
        "fastlønn (hasardratio {hr}).",
        "In plain words: when the groups are made alike on the measured characteristics, ALIS on næring leave sooner "
        "than ALIS on fastlønn (hazard ratio {hr}).",
    ),
    "read_ipw_lower": (
        "Lest enkelt: når gruppene gjøres like på de målte kjennetegnene, blir ALIS på næring lenger enn ALIS på "
        "fastlønn (hasardratio {hr}).",
        "In plain words: when the groups are made alike on the measured characteristics, ALIS on næring stay longer "
        "than ALIS on fastlønn (hazard ratio {hr}).",
    ),
    "read_shift": (
        "Justeringen flytter hasardratioen fra {crude} til {ipw}: forskjeller i kommunene forklarer en del av den "
        "ujusterte forskjellen.",
        "The adjustment moves the hazard ratio from {crude} to {ipw}: differences between the municipalities explain "
        "part of the unadjusted difference.",
    ),
    "heading_evalue": ("Ukjente forskjeller (E-verdi)", "Unmeasured differences (E-value)"),
    "evalue_text": (
        "E-verdien er {e}: en ukjent forskjell mellom gruppene måtte vært knyttet både til avtaleform og til det å "
        "slutte med en risikoratio på minst {e} hver, utover de målte kjennetegnene, for å forklare bort den "
        "vektede hasardratioen. {ci_text} ({approx})",
        "The E-value is {e}: an unmeasured difference between the groups would have to be associated with both the "
        "contract type and leaving by a risk ratio of at least {e} each, above and beyond the measured "
        "characteristics, to explain the weighted hazard ratio away. {ci_text} ({approx})",
    ),
    "evalue_ci": ("For å flytte konfidensintervallet til å omfatte 1 måtte den vært minst {e}.",
                  "To move the confidence interval to include 1 it would have to be at least {e}."),
    "evalue_ci_one": ("Konfidensintervallet omfatter allerede 1, så E-verdien for intervallet er 1.",
                      "The confidence interval already includes 1, so the E-value for the interval is 1."),
    "approx_common": ("å slutte er vanlig, så hasardratioen er regnet om til en risikoratio med "
                      "kvadratrot-tilnærmingen til VanderWeele",
                      "leaving is common, so the hazard ratio is converted to a risk ratio with VanderWeele's "
                      "square-root approximation"),
    "approx_rare": ("å slutte er sjeldent her, så hasardratioen brukes som risikoratio",
                    "leaving is rare here, so the hazard ratio is used as the risk ratio"),
    "evalue_none": ("E-verdien er ikke estimerbar fordi den vektede hasardratioen ikke er det.",
                    "The E-value is not estimable because the weighted hazard ratio is not."),
    "heading_pooled": ("Flere programmer", "Several programmes"),
    "pooled_one": ("Dataene har ett program ({programme}); en samlet analyse av flere programmer er ikke estimerbar.",
                   "The data hold one programme ({programme}); a combined analysis of several programmes is not "
                   "estimable."),
    "col_programme": ("Program / modell", "Programme / model"),
    "col_hr": ("Hasardratio (95 % KI)", "Hazard ratio (95% CI)"),
    "row_stratified": ("Stratifisert på program", "Stratified by programme"),
    "row_random": ("Samlet, tilfeldige effekter (DerSimonian–Laird)", "Pooled, random effects (DerSimonian–Laird)"),
    "cap_pooled": ("Hasardratio næring vs fastlønn (gjeldende avtale) per program og samlet",
                   "Hazard ratio næring vs fastlønn (current contract) per programme and pooled"),
    "pooled_text": (
        "Heterogenitet mellom programmene: I² = {i2}, τ² = {tau2}. {reading}",
        "Heterogeneity between programmes: I² = {i2}, τ² = {tau2}. {reading}",
    ),
    "i2_low": ("Programmene peker i samme retning.", "The programmes point the same way."),
    "i2_high": ("Programmene skiller seg mer enn tilfeldighet tilsier; den samlede hasardratioen er et gjennomsnitt "
                "over ulike effekter.",
                "The programmes differ more than chance would suggest; the pooled hazard ratio is an average over "
                "different effects."),
    "two_programmes": ("Med to programmer er I² og τ² svært usikre.",
                       "With two programmes I² and τ² are very uncertain."),
    "not_estimable": ("ikke estimerbar", "not estimable"),
    "analysis_failed": ("{what}: ikke estimerbar.", "{what}: not estimable."),
}


def text(key: str, language: str, **fields) -> str:
    """The section's text ``key`` in ``language`` with ``fields`` filled in."""
    check_language(language)
    value = _TEXT[key][0 if language == "nb" else 1]
    return value.format(**fields) if fields else value


def _finite(value) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) or pd.isna(value) else float(value)


def _ci(row, language: str, *, estimate="hr", decimals: int = 2) -> str:
    if row is None or _finite(row.get(estimate)) is None:
        return text("not_estimable", language)
    return fmt_ci(_finite(row[estimate]), _finite(row["ci_lower"]), _finite(row["ci_upper"]), language, decimals)


def _run(section: Section, language: str, what: str, func, /, *args, **kwargs):
    """Run an analysis quietly; on failure say 'not estimable' (the reason goes to the log, not the report)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", AlisWarning)
            warnings.simplefilter("ignore", NotEstimableWarning)
            warnings.simplefilter("ignore", RuntimeWarning)
            return func(*args, **kwargs)
    except Exception as exc:  # a small area must still give an honest report
        print(f"[{section.key}] {what}: not estimable ({type(exc).__name__}: {exc})", file=sys.stderr)
        section.paragraph(text("analysis_failed", language, what=what))
        return None


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

    from .. import robustness as rb

    check_language(language)
    section = Section(SECTION_KEY, text("title", language))
    episodes = prepared.episodes
    min_exits = max(rb.MIN_EXITS, int(min_cell))
    tau = config.DEFAULT_RMST_HORIZON
    facts: dict = {}
    section.paragraph(text("intro", language))

    # ---- confounding-adjusted contrast
    section.heading(text("heading_ipw", language))
    confounding = _run(section, language, text("heading_ipw", language), rb.confounding_analysis, episodes,
                       tau=tau, min_exits=min_exits)
    if confounding is not None:
        fit = confounding.propensity_fit
        if not fit.estimable and confounding.cox is not None:
            why = ("why_separation" if "separation" in fit.reason else
                   "why_few" if "coefficient" in fit.reason else "why_other")
            section.paragraph(text("not_estimable_model", language, why=text(why, language)))
        if confounding.cox is None:
            section.paragraph(text("not_estimable_exits", language, k=min_exits))
        else:
            cox = {w: confounding.hazard_ratio(w) for w in ("crude", "ipw")}
            rmst = {w: confounding.rmst[(confounding.rmst["weighting"] == w) & (confounding.rmst["group"] == "difference")]
                    for w in ("crude", "ipw")}
            rmst = {w: (None if part.empty else part.iloc[0].to_dict()) for w, part in rmst.items()}
            table = pd.DataFrame({
                text("col_measure", language): [text("row_hr", language),
                                                text("row_rmst", language, tau=fmt_number(tau, 0, language))],
                text("col_crude", language): [_ci(cox["crude"], language), _ci(rmst["crude"], language, estimate="rmst")],
                text("col_ipw", language): [_ci(cox["ipw"], language), _ci(rmst["ipw"], language, estimate="rmst")],
            })
            section.table("robustness_ipw", table, text("cap_ipw", language), notes=[text("ipw_note", language)])
            for w in ("crude", "ipw"):
                if cox[w] is not None:
                    facts[f"hr_{w}"] = {k: _finite(cox[w][k]) for k in ("hr", "ci_lower", "ci_upper", "p_value")}
                if rmst[w] is not None:
                    facts[f"rmst_difference_{w}"] = {k: _finite(rmst[w][k]) for k in ("rmst", "ci_lower", "ci_upper")}
            ipw = cox["ipw"]
            if ipw is not None:
                includes_one = ipw["ci_lower"] <= 1 <= ipw["ci_upper"]
                key = "read_ipw_none" if includes_one else ("read_ipw_higher" if ipw["hr"] > 1 else "read_ipw_lower")
                reading = text(key, language, hr=_ci(ipw, language))
                if cox["crude"] is not None:
                    reading += " " + text("read_shift", language, crude=fmt_number(cox["crude"]["hr"], 2, language),
                                          ipw=fmt_number(ipw["hr"], 2, language))
                section.paragraph(reading)
        if fit.estimable and len(confounding.balance):
            before = confounding.balance["smd_unweighted"].abs().max()
            after = confounding.balance["smd_weighted"].abs().max()
            largest = float(confounding.episode_weights.max())
            section.paragraph(text("balance_text", language, before=fmt_number(before, 2, language),
                                   after=fmt_number(after, 2, language), wmax=fmt_number(largest, 1, language)))
            facts["max_abs_smd"] = {"unweighted": float(before), "weighted": float(after)}
            if after > rb.SMD_THRESHOLD:
                section.paragraph(text("balance_poor", language))
            shown = publishable_balance(confounding, episodes, min_cell)
            if len(shown):
                view = type(confounding)(balance=shown)
                fig, ax = plt.subplots(figsize=(6.0, 0.3 * len(shown) + 1.2))
                if _run(section, language, text("cap_balance", language, m=min_cell), rb.plot_balance, view, ax=ax,
                        language=language) is not None:
                    section.figure("robustness_balance", fig, text("cap_balance", language, m=min_cell))
                else:
                    plt.close(fig)
        if confounding.curves is not None and (confounding.curves["weighting"] == "ipw").any():
            sizes = [int((episodes["cohort"] == c).sum()) for c in config.CONTRACT_TYPES]
            if any(0 < k < min_cell for k in sizes):
                section.paragraph(text("km_withheld", language, m=min_cell))
            else:
                fig, ax = plt.subplots(figsize=(6.4, 4.2))
                if _run(section, language, text("cap_km", language), rb.plot_weighted_km, confounding, ax=ax,
                        language=language) is not None:
                    section.figure("robustness_ipw_km", fig, text("cap_km", language))
                else:
                    plt.close(fig)

    # ---- E-value
    section.heading(text("heading_evalue", language))
    evalue = None if confounding is None else _run(section, language, text("heading_evalue", language),
                                                   rb.e_value_analysis, confounding, data=episodes)
    if evalue is not None and evalue.evalue is not None:
        e = evalue.evalue
        ci_text = (text("evalue_ci_one", language) if e.limit == "includes 1"
                   else text("evalue_ci", language, e=fmt_number(e.e_value_ci, 2, language)))
        section.paragraph(text("evalue_text", language, e=fmt_number(e.e_value, 2, language), ci_text=ci_text,
                               approx=text("approx_rare" if e.rare else "approx_common", language)))
        facts["e_value"] = {"e_value": e.e_value, "e_value_ci": e.e_value_ci, "rare_outcome": e.rare}
    elif evalue is not None:
        section.paragraph(text("evalue_none", language))

    # ---- programmes
    section.heading(text("heading_pooled", language))
    pooled = _run(section, language, text("heading_pooled", language), rb.pooled_programmes, prepared,
                  min_exits=min_exits)
    if pooled is not None:
        if len(pooled.programmes) < 2:
            section.paragraph(text("pooled_one", language,
                                   programme=pooled.programmes[0] if pooled.programmes else "–"))
        else:
            rows = [(str(r["programme"]), _ci(r.to_dict() if r["estimable"] else None, language))
                    for _, r in pooled.per_programme.iterrows()]
            stratified = None if pooled.stratified is None else pooled.stratified.iloc[0].to_dict()
            rows.append((text("row_stratified", language), _ci(stratified, language)))
            random = None if pooled.pooled is None else pooled.pooled.set_index("model").loc["random"].to_dict()
            rows.append((text("row_random", language), _ci(random, language)))
            table = pd.DataFrame(rows, columns=[text("col_programme", language), text("col_hr", language)])
            section.table("robustness_pooled", table, text("cap_pooled", language))
            if pooled.estimate is not None:
                est = pooled.estimate
                reading = text("i2_high" if est.i_squared >= 0.5 else "i2_low", language)
                if est.k == 2:
                    reading += " " + text("two_programmes", language)
                section.paragraph(text("pooled_text", language, i2=f"{fmt_number(100 * est.i_squared, 0, language)} %",
                                       tau2=fmt_number(est.tau_squared, 3, language), reading=reading))
                facts["pooled_random"] = {k: _finite(random[k]) for k in ("hr", "ci_lower", "ci_upper")}
                facts["i_squared"] = est.i_squared
    section.facts = facts
    return section
