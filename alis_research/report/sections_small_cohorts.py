"""The report's section on small cohorts: exact log-rank, Firth-penalised Cox, competing exits.

The computations live in :mod:`alis_research.small_cohorts`; this module turns
its result into a :class:`~alis_research.report.content.Section` with
plain-language interpretation in bokmål and English, as the other ``sections*``
modules do.  It publishes **only estimates and p-values** (hazard ratios,
subdistribution hazard ratios, their intervals, test p-values), never a count
of episodes or exits, and never says which contract type had no exits; an
estimate resting on fewer than :data:`alis_research.small_cohorts.MIN_EXITS`
exits is printed as "not estimable".  One row per scope: the report's dataset
(all areas, or the one area of an area report) and, in a report on several
areas, each health-trust area.

The section's sentences are kept here, in one table per language (``_TEXT``),
until they move to the report's message catalogue.
"""
from __future__ import annotations

import sys
import warnings

import pandas as pd

from .. import config
from ..errors import AlisWarning, NotEstimableWarning
from ..small_cohorts import ALL, MIN_EXITS, PERMUTATION_PRIMARY_BELOW, small_cohort_analyses
from .content import Section
from .text import check_language, fmt_ci, fmt_number, fmt_p

#: Significance level of the plain-language sentences (the tables give the p-values).
ALPHA = config.DEFAULT_ALPHA

_TEXT: dict[str, tuple[str, str]] = {
    "title": ("Små kohorter: eksakte tester og robuste anslag", "Small cohorts: exact tests and robust estimates"),
    "intro": (
        "Kohortene er små, og i et helseforetaksområde er det ofte bare en håndfull avganger. Da holder ikke "
        "de vanlige tilnærmingene: p-verdien til log-rank-testen bygger på en normalfordeling som krever mange "
        "avganger, og Cox-modellen har ikke noe endelig anslag når én kontraktsform ikke har noen avganger. "
        "Denne delen gir derfor eksakte tester og anslag som tåler små tall. Bare anslag og p-verdier vises; "
        "anslag som bygger på færre enn {k} avganger, vises som «ikke estimerbar».",
        "The cohorts are small, and a health-trust area often has only a handful of exits. The usual "
        "approximations then fail: the p-value of the log-rank test rests on a normal distribution that needs "
        "many exits, and the Cox model has no finite estimate when one contract type has no exits. This part "
        "therefore gives exact tests and estimates that withstand small numbers. Only estimates and p-values "
        "are shown; estimates resting on fewer than {k} exits are shown as 'not estimable'.",
    ),
    "scope_all": ("Hele datasettet", "Whole dataset"),
    "col_scope": ("Område", "Area"),
    "not_estimable": ("ikke estimerbar", "not estimable"),
    # ---- permutation log-rank
    "lr_heading": ("Eksakt log-rank-test", "Exact log-rank test"),
    "lr_intro": (
        "Permutasjonstesten sammenligner bli-tiden i de to kohortene (kontraktsform ved start) uten å anta "
        "store utvalg: den regner ut hvor ofte en like stor forskjell oppstår når forløpene fordeles tilfeldig "
        "på de to kontraktsformene, over alle mulige fordelinger (eksakt) eller, i større datasett, over {b} "
        "tilfeldige fordelinger (Monte Carlo, med feilmargin). Under {n} forløp er det denne p-verdien som "
        "bør leses, ikke den tilnærmede.",
        "The permutation test compares retention between the two cohorts (contract type at start) without "
        "assuming large samples: it computes how often a difference as large arises when the episodes are "
        "assigned to the two contract types at random, over every possible assignment (exact) or, in larger "
        "datasets, over {b} random ones (Monte Carlo, with its error). Below {n} episodes this p-value, not "
        "the approximate one, is the one to read.",
    ),
    "cap_lr": ("Log-rank-test ved permutasjon, næring mot fastlønn", "Permutation log-rank test, næring vs fastlønn"),
    "col_method": ("Metode", "Method"),
    "col_p_perm": ("p (permutasjon)", "p (permutation)"),
    "col_p_normal": ("p (normaltilnærming)", "p (normal approximation)"),
    "method_exact": ("eksakt", "exact"),
    "method_mc": ("Monte Carlo, ± {se}", "Monte Carlo, ± {se}"),
    "lr_note": (
        "Skårer som i R-pakken coin (log-rank, midtrang ved like tider). Monte Carlo: {b} omfordelinger med "
        "fast frø; ± er standardfeilen til p-verdien.",
        "Scores as in R's coin package (log-rank, mid-ranks for ties). Monte Carlo: {b} relabellings with a "
        "fixed seed; ± is the standard error of the p-value.",
    ),
    "lr_diff": (
        "{scope}: permutasjonstesten gir p = {p}. En så stor forskjell i bli-tid mellom kohortene ville sjelden "
        "oppstått ved tilfeldighet alene.",
        "{scope}: the permutation test gives p = {p}. A difference in retention this large between the cohorts "
        "would rarely arise by chance alone.",
    ),
    "lr_nodiff": (
        "{scope}: permutasjonstesten gir p = {p}. Forskjellen i bli-tid mellom kohortene kan godt skyldes "
        "tilfeldigheter.",
        "{scope}: the permutation test gives p = {p}. The difference in retention between the cohorts could "
        "well be chance.",
    ),
    # ---- Firth
    "firth_heading": ("Firth-korrigert Cox-modell", "Firth-penalised Cox model"),
    "firth_intro": (
        "Hasardratio for avgang, næring mot fastlønn (kontraktsform på hvert tidspunkt), fra Cox-modellen med "
        "Firths korreksjon (Heinze og Schemper), med intervall fra den profilerte likelihooden. Korreksjonen "
        "gir et endelig anslag også der den vanlige modellen ikke har noe, fordi én kontraktsform ikke har "
        "avganger; der den vanlige modellen har et anslag, ligger de to nær hverandre.",
        "Hazard ratio of leaving, næring vs fastlønn (contract type at each time), from the Cox model with "
        "Firth's correction (Heinze and Schemper), with an interval from the profile likelihood. The "
        "correction gives a finite estimate also where the ordinary model has none because one contract type "
        "has no exits; where the ordinary model has an estimate, the two are close.",
    ),
    "cap_firth": ("Firth-korrigert hasardratio for avgang, næring mot fastlønn",
                  "Firth-penalised hazard ratio of leaving, næring vs fastlønn"),
    "col_hr": ("Hasardratio (95 % KI)", "Hazard ratio (95% CI)"),
    "col_p": ("p", "p"),
    "col_ordinary": ("Vanlig Cox-modell", "Ordinary Cox model"),
    "ordinary_monotone": ("uten endelig anslag", "no finite estimate"),
    "ordinary_ok": ("estimerbar", "estimable"),
    "firth_note": (
        "p: penalisert likelihood-ratio-test. «Uten endelig anslag»: den vanlige modellens anslag går mot 0 "
        "eller uendelig; les da den korrigerte hasardratioen.",
        "p: penalised likelihood-ratio test. 'No finite estimate': the ordinary model's estimate runs off to "
        "0 or infinity; read the corrected hazard ratio there.",
    ),
    "firth_monotone_text": (
        "I {scopes} har den vanlige Cox-modellen ikke noe endelig anslag; den korrigerte hasardratioen er det "
        "anslaget som kan leses der, og intervallet viser hvor lite dataene sier.",
        "In {scopes} the ordinary Cox model has no finite estimate; the corrected hazard ratio is the estimate "
        "to read there, and its interval shows how little the data say.",
    ),
    "hr_none": ("{scope}: intervallet omfatter ingen forskjell mellom kontraktsformene.",
                "{scope}: the interval includes no difference between the contract types."),
    "hr_higher": ("{scope}: næring går raskere ut av stillingen (hasardratio {hr}).",
                  "{scope}: næring leave sooner (hazard ratio {hr})."),
    "hr_lower": ("{scope}: næring blir lenger i stillingen (hasardratio {hr}).",
                 "{scope}: næring stay longer (hazard ratio {hr})."),
    # ---- competing exits
    "ce_heading": ("Hvor de går: konkurrerende avganger", "Where they go: competing exits"),
    "ce_intro": (
        "Avgangene deles i to typer: til en annen fastlegestilling i regionen, og ut av regionen; andre "
        "avgangsårsaker regnes som en tredje, konkurrerende avgang. Gray-testen sammenligner hvor stor andel "
        "av hver kohort som over tid har gått til hver type; Fine–Gray-modellen gir forholdet mellom "
        "subfordelingshasardene, næring mot fastlønn (over 1: næring har oftere denne avgangen).",
        "Exits are split into two kinds: to another GP post in the region, and out of the region; other end "
        "reasons count as a third, competing exit. Gray's test compares the share of each cohort that has "
        "left for each kind over time; the Fine–Gray model gives the ratio of the subdistribution hazards, "
        "næring vs fastlønn (above 1: næring have this exit more often).",
    ),
    "cap_ce": ("Konkurrerende avganger, næring mot fastlønn", "Competing exits, næring vs fastlønn"),
    "col_exit": ("Avgang", "Exit"),
    "col_gray_p": ("p (Gray)", "p (Gray)"),
    "col_shr": ("Subfordelingshasardratio (95 % KI)", "Subdistribution hazard ratio (95% CI)"),
    "col_shr_p": ("p (Fine–Gray)", "p (Fine–Gray)"),
    "gp_in_region": ("annen fastlegestilling i regionen", "another GP post in the region"),
    "left_region": ("ut av regionen", "left the region"),
    "phrase_gp_in_region": ("avgang til en annen fastlegestilling i regionen", "exits to another GP post in the region"),
    "phrase_left_region": ("avgang ut av regionen", "exits out of the region"),
    "ce_note": (
        "Fine–Gray med robust standardfeil og vekter for sensurering som i R-pakken cmprsk. Ikke estimerbar: "
        "for få avganger av typen, eller ingen slike avganger i én av kohortene.",
        "Fine–Gray with robust standard errors and censoring weights as in R's cmprsk. Not estimable: too few "
        "exits of the kind, or none in one of the cohorts.",
    ),
    "ce_diff": (
        "{scope}: {cause} er ulik i de to kohortene (Gray p = {p}).",
        "{scope}: {cause} differ between the cohorts (Gray p = {p}).",
    ),
    "ce_nodiff": (
        "{scope}: dataene viser ingen klar forskjell mellom kohortene i {cause} (Gray p = {p}).",
        "{scope}: the data show no clear difference between the cohorts in {cause} (Gray p = {p}).",
    ),
    "failed": ("{what}: ikke estimerbar for disse dataene.", "{what}: not estimable for these data."),
}


def _t(key: str, language: str, **fields) -> str:
    nb, en = _TEXT[key]
    text = nb if check_language(language) == "nb" else en
    return text.format(**fields) if fields else text


def _missing(value) -> bool:
    return value is None or bool(pd.isna(value))


def _scope_label(scope: str, area: str, language: str) -> str:
    if scope != ALL:
        return scope
    return area if area not in (None, "", ALL) else _t("scope_all", language)


def _estimate(value, lower, upper, language: str) -> str:
    if _missing(value):
        return _t("not_estimable", language)
    return fmt_ci(float(value), float(lower), float(upper), language)


def _p(value, language: str) -> str:
    return _t("not_estimable", language) if _missing(value) else fmt_p(float(value), language)


def _number(value) -> float | None:
    return None if _missing(value) else float(value)


def small_cohorts_section(prepared, *, language: str = "nb", min_cell: int = config.DEFAULT_MIN_CELL) -> Section:
    """Exact log-rank, Firth-penalised Cox and competing exits, with plain-language interpretation.

    ``min_cell`` is accepted as by every section; the section publishes no counts
    at all, so it has nothing to suppress.
    """
    section = Section("small_cohorts", _t("title", language))
    section.paragraph(_t("intro", language, k=MIN_EXITS))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", AlisWarning)
            warnings.simplefilter("ignore", NotEstimableWarning)
            warnings.simplefilter("ignore", RuntimeWarning)
            result = small_cohort_analyses(prepared)
    except Exception as exc:  # a small area must still give an honest report; the reason goes to the log
        print(f"[small_cohorts] not estimable ({type(exc).__name__}: {exc})", file=sys.stderr)
        section.paragraph(_t("failed", language, what=_t("title", language)))
        return section
    area = (getattr(prepared, "manifest", None) or {}).get("area", ALL)
    label = {scope: _scope_label(scope, area, language) for scope in result.firth["scope"]}
    resamples = int(result.params["resamples"])
    facts: dict = {}

    # -- permutation log-rank
    section.heading(_t("lr_heading", language))
    section.paragraph(_t("lr_intro", language, b=fmt_number(resamples, 0, language),
                         n=fmt_number(PERMUTATION_PRIMARY_BELOW, 0, language)))
    rows = []
    for _, r in result.exact_logrank.iterrows():
        if r["method"] == "monte_carlo":
            method = _t("method_mc", language, se=fmt_number(r["mc_std_error"], 3, language))
        else:
            method = _t("method_exact", language) if r["method"] == "exact" else "–"
        rows.append({_t("col_scope", language): label[r["scope"]], _t("col_method", language): method,
                     _t("col_p_perm", language): _p(r["p_value"], language),
                     _t("col_p_normal", language): _p(r["p_value_normal"], language)})
    section.table("small_cohorts_logrank", pd.DataFrame(rows), _t("cap_lr", language),
                  notes=[_t("lr_note", language, b=fmt_number(resamples, 0, language))])
    for _, r in result.exact_logrank.iterrows():
        if not _missing(r["p_value"]):
            key = "lr_diff" if r["p_value"] < ALPHA else "lr_nodiff"
            section.paragraph(_t(key, language, scope=label[r["scope"]], p=fmt_p(float(r["p_value"]), language)))
    main = result.exact_logrank.iloc[0]
    facts["logrank_permutation"] = {"method": main["method"], "p_value": _number(main["p_value"]),
                                    "mc_std_error": _number(main["mc_std_error"])}

    # -- Firth-penalised Cox
    section.heading(_t("firth_heading", language))
    section.paragraph(_t("firth_intro", language))
    rows = []
    for _, r in result.firth.iterrows():
        rows.append({_t("col_scope", language): label[r["scope"]],
                     _t("col_hr", language): _estimate(r["hr"], r["ci_lower"], r["ci_upper"], language),
                     _t("col_p", language): _p(r["p_value"], language),
                     _t("col_ordinary", language): _t("ordinary_monotone" if r["ordinary_monotone"] else "ordinary_ok",
                                                     language) if not _missing(r["hr"]) else "–"})
    section.table("small_cohorts_firth", pd.DataFrame(rows), _t("cap_firth", language),
                  notes=[_t("firth_note", language)])
    monotone = [label[s] for s, m, hr in zip(result.firth["scope"], result.firth["ordinary_monotone"],
                                              result.firth["hr"]) if m and not _missing(hr)]
    if monotone:
        section.paragraph(_t("firth_monotone_text", language, scopes=", ".join(monotone)))
    for _, r in result.firth.iterrows():
        if _missing(r["hr"]) or _missing(r["ci_lower"]) or _missing(r["ci_upper"]):
            continue
        key = "hr_higher" if r["ci_lower"] > 1 else "hr_lower" if r["ci_upper"] < 1 else "hr_none"
        section.paragraph(_t(key, language, scope=label[r["scope"]],
                             hr=fmt_ci(float(r["hr"]), float(r["ci_lower"]), float(r["ci_upper"]), language)))
    first = result.firth.iloc[0]
    facts["firth"] = {"hr": _number(first["hr"]), "ci_lower": _number(first["ci_lower"]),
                      "ci_upper": _number(first["ci_upper"]), "p_value": _number(first["p_value"]),
                      "ordinary_monotone": bool(first["ordinary_monotone"])}

    # -- competing exits
    section.heading(_t("ce_heading", language))
    section.paragraph(_t("ce_intro", language))
    gray = result.gray.set_index(["scope", "cause"])
    rows = []
    for _, r in result.fine_gray.iterrows():
        g = gray.loc[(r["scope"], r["cause"])]
        rows.append({_t("col_scope", language): label[r["scope"]], _t("col_exit", language): _t(r["cause"], language),
                     _t("col_gray_p", language): _p(g["p_value"], language),
                     _t("col_shr", language): _estimate(r["shr"], r["ci_lower"], r["ci_upper"], language),
                     _t("col_shr_p", language): _p(r["p_value"], language)})
    section.table("small_cohorts_competing", pd.DataFrame(rows), _t("cap_ce", language),
                  notes=[_t("ce_note", language)])
    for (scope, cause), g in gray.iterrows():
        if not _missing(g["p_value"]):
            key = "ce_diff" if g["p_value"] < ALPHA else "ce_nodiff"
            section.paragraph(_t(key, language, scope=label[scope], cause=_t(f"phrase_{cause}", language),
                                 p=fmt_p(float(g["p_value"]), language)))
    facts["competing_exits"] = {
        r["cause"]: {"gray_p_value": _number(gray.loc[(r["scope"], r["cause"]), "p_value"]),
                     "shr": _number(r["shr"]), "ci_lower": _number(r["ci_lower"]), "ci_upper": _number(r["ci_upper"]),
                     "p_value": _number(r["p_value"])}
        for _, r in result.fine_gray[result.fine_gray["scope"] == ALL].iterrows()}
    section.facts = facts
    return section
