"""Language strings (bokmål ``nb`` and English ``en``) and number formatting for reports.

In ``nb`` numbers follow Norwegian style: decimal comma and a (narrow,
non-breaking) space between thousands, e.g. ``8,37 år`` and ``12 345``;
in ``en`` a decimal point and a comma between thousands.
"""
from __future__ import annotations

import math

from ..errors import AlisError

LANGUAGES = ("nb", "en")

#: Narrow no-break space: the thousands separator in Norwegian typesetting.
THIN_SPACE = "\u202f"


def check_language(language: str) -> str:
    if language not in LANGUAGES:
        raise AlisError(f"language must be one of {', '.join(LANGUAGES)}, got {language!r}")
    return language


def fmt_number(value, decimals: int = 2, language: str = "nb") -> str:
    """A number in the report's style (``'8,37'`` in nb, ``'8.37'`` in en); '–' for missing."""
    if value is None:
        return "–"
    try:
        x = float(value)
    except (TypeError, ValueError):
        return str(value)
    if math.isnan(x):
        return "–"
    if math.isinf(x):
        return "∞" if x > 0 else "−∞"
    text = f"{x:,.{decimals}f}"
    if text.startswith("-"):
        text = "−" + text[1:]  # a true minus sign
    if language == "nb":
        text = text.replace(",", THIN_SPACE).replace(".", ",")
    return text


def fmt_int(value, language: str = "nb") -> str:
    return fmt_number(value, 0, language)


def fmt_years(value, language: str = "nb", decimals: int = 2) -> str:
    """A duration in years: ``'8,37 år'`` / ``'8.37 years'``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return T("not_reached", language)
    return f"{fmt_number(value, decimals, language)} {T('years', language)}"


def fmt_percent(value, language: str = "nb", decimals: int = 0) -> str:
    """A proportion (0–1) as percent: ``'83 %'`` (nb) / ``'83%'`` (en)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    number = fmt_number(100 * float(value), decimals, language)
    return f"{number}\u00a0%" if language == "nb" else f"{number}%"


def fmt_p(value, language: str = "nb") -> str:
    """A p-value: three decimals, or ``'<0,001'``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if value < 0.001:
        return "<" + fmt_number(0.001, 3, language)
    return fmt_number(value, 3, language)


def fmt_ci(estimate, lower, upper, language: str = "nb", decimals: int = 2) -> str:
    """``'0,83 (0,61–0,94)'``."""
    if estimate is None or (isinstance(estimate, float) and math.isnan(estimate)):
        return T("not_estimable", language)
    return (
        f"{fmt_number(estimate, decimals, language)} "
        f"({fmt_number(lower, decimals, language)}–{fmt_number(upper, decimals, language)})"
    )


_STRINGS: dict[str, tuple[str, str]] = {
    # key: (nb, en)
    "programme": ("ALIS-Nord", "ALIS-Nord"),
    "report_title": ("Oppfølgingsevaluering av ALIS-stillinger", "Follow-up evaluation of ALIS training positions"),
    "report_subtitle": (
        "Fastlønn og næring: bli-tid, turnover og avtalevarighet",
        "Salaried (fastlønn) and self-employed (næring): retention, turnover and contract duration",
    ),
    "synthetic_banner": ("SYNTETISKE DATA – ikke reelle resultater", "SYNTHETIC DATA – not real results"),
    "area": ("Område", "Area"),
    "all_areas": ("Hele Nord-Norge (alle helseforetaksområder)", "All of Northern Norway (all health-trust areas)"),
    "as_of": ("Data per", "Data as of"),
    "fingerprint": ("Datafingeravtrykk", "Data fingerprint"),
    "package_version": ("Programversjon", "Package version"),
    "made": ("Laget", "Made"),
    "min_cell": ("Minste viste antall", "Smallest count shown"),
    "contents": ("Innhold", "Contents"),
    "page": ("Side", "Page"),
    "years": ("år", "years"),
    "not_reached": ("ikke nådd", "not reached"),
    "not_estimable": ("ikke estimerbar", "not estimable"),
    "summary": ("Sammendrag", "Summary of findings"),
    "methods": ("Metode", "Methods"),
    "data_quality": ("Datakvalitet og flyt av forløp", "Data quality and flow of episodes"),
    "cohort_description": ("Beskrivelse av kohortene", "Cohort description"),
    "retention": ("Bli-tid (retensjon)", "Retention"),
    "turnover": ("Turnover", "Turnover"),
    "contract_duration": ("Avtalevarighet", "Contract duration"),
    "limitations": ("Begrensninger", "Limitations"),
    "appendix": ("Vedlegg: opphav og skjerming", "Appendix: provenance and suppression"),
    "fastlønn": ("fastlønn", "salaried (fastlønn)"),
    "næring": ("næring", "self-employed (næring)"),
    "total": ("Totalt", "Total"),
    "missing": ("mangler", "missing"),
    # ---- generic
    "analysis_not_estimable": (
        "{what}: ikke estimerbar med disse dataene (for få forløp eller hendelser).",
        "{what}: not estimable with these data (too few episodes or events).",
    ),
    "analysis_notes": ("Merknader fra analysene:", "Notes from the analyses:"),
    # some note has no translation in report/notes.py: it is shown in English
    "analysis_notes_untranslated": ("Merknader fra analysene (noen på engelsk):", "Notes from the analyses:"),
    "few_episodes_caveat": (
        "Få forløp ({groups}: færre enn {twice}): anslagene er svært usikre og bør leses med forsiktighet.",
        "Few episodes ({groups}: fewer than {twice}): the estimates are very uncertain and should be read with care.",
    ),
    "difference": ("Differanse (næring − fastlønn)", "Difference (næring − fastlønn)"),
    # ---- column labels
    "col_n": ("Antall", "Number"),
    "col_episodes_flow": ("Forløp", "Episodes"),
    "col_measure": ("Mål", "Measure"),
    "col_start_year": ("Startår", "Start year"),
    "col_cohort": ("Kohort", "Cohort"),
    "col_group": ("Gruppe", "Group"),
    "col_years": ("År", "Years"),
    "col_survival_ci": ("Andel som blir (95 % KI)", "Retention (95% CI)"),
    "col_at_risk": ("Under risiko", "At risk"),
    "col_median": ("Median", "Median"),
    "col_ci": ("95 % KI", "95% CI"),
    "col_rmst": ("RMST, år (95 % KI)", "RMST, years (95% CI)"),
    "col_se": ("SE", "SE"),
    "col_exits": ("Avganger", "Exits"),
    "col_person_years": ("Personår", "Person-years"),
    "col_rate": ("Per 100 personår (95 % KI)", "Per 100 person-years (95% CI)"),
    "col_term": ("Ledd", "Term"),
    "col_file": ("Fil", "File"),
    "col_sha": ("SHA-256 (start)", "SHA-256 (start)"),
    "col_dataset": ("Datasett", "Dataset"),
    "col_language": ("Språk", "Language"),
    "col_parameter": ("Parameter", "Parameter"),
    "col_value": ("Verdi", "Value"),
    "col_table": ("Tabell", "Table"),
    "col_row": ("Rad", "Row"),
    "col_column": ("Kolonne", "Column"),
    "col_reason": ("Grunn", "Reason"),
    "col_time": ("År", "Years"),
    "col_survival": ("Andel", "Proportion"),
    "col_ci_lower": ("KI nedre", "CI lower"),
    "col_ci_upper": ("KI øvre", "CI upper"),
    "col_p_value": ("p", "p"),
    "col_n_risk": ("Under risiko", "At risk"),
    "col_events": ("Hendelser", "Events"),
    "col_size_class": ("Kommunestørrelse", "Municipality size"),
    "col_year": ("År", "Year"),
    "col_cause": ("Årsak", "Cause"),
    "col_cumulative_incidence": ("Kumulativ insidens", "Cumulative incidence"),
    "col_median_years": ("Median, år", "Median, years"),
    "col_model": ("Modell", "Model"),
    "col_statistic": ("Testobservator", "Statistic"),
    "col_vacancy_share": ("Andel ubesatt", "Share vacant"),
    "col_position_years": ("Stillingsår", "Position-years"),
    "col_vacant_years": ("Ubesatte stillingsår", "Vacant position-years"),
    "col_destination": ("Destinasjon", "Destination"),
    "col_distribution": ("Fordeling", "Distribution"),
    "col_max_follow_up": ("Lengste oppfølging, år", "Longest follow-up, years"),
    "col_extrapolated": ("Framskrevet", "Extrapolated"),
    "col_reached": ("Nådd", "Reached"),
    "col_published_median": ("Publisert median (Abelsen)", "Published median (Abelsen)"),
    "col_chisq": ("χ²", "χ²"),
    "col_df": ("fg", "df"),
    "col_term_ph": ("Ledd", "Term"),
    "dest_stayed_gp_region": ("ble i allmennpraksis i regionen", "stayed in general practice in the region"),
    "dest_left": ("forlot", "left"),
    "rates_fig_withheld": (
        "Figuren over turnover er utelatt fordi et antall avganger er skjermet (raten ville avsløre det).",
        "The turnover figure is left out because a number of exits is suppressed (the rate would reveal it).",
    ),
    "km_withheld": (
        "Kaplan–Meier-figuren er utelatt: ingen kohort har trinn med minst {m} avganger (kurven ville vise enkeltpersoners avgangstid).",
        "The Kaplan–Meier figure is left out: no cohort has steps of at least {m} exits (the curve would show individual exit times).",
    ),
    "more_notes": ("… og {n} merknader til (se den kjørte notatboken).", "… and {n} more notes (see the executed notebook)."),
    "yes": ("ja", "yes"),
    "no": ("nei", "no"),
    "reason_primary": ("primær (1–4)", "primary (1–4)"),
    "reason_secondary": ("sekundær (hindrer tilbakeregning)", "secondary (prevents derivation)"),
    "reason_derived": ("avledet tall (rate) skjermet", "derived number (rate) withheld"),
    "reason_total": ("sum skjermet", "total withheld"),
    # ---- data quality
    "dq_intro": (
        "Alle forløp i datagrunnlaget ble kontrollert mot datakontrakten før analyse. Tabellen viser hvor mange forløp som kom inn, hvor mange som ble holdt utenfor og hvorfor, og hvor mange som er analysert (oppfølging til {as_of}).",
        "Every episode in the data was checked against the data contract before analysis. The table shows how many episodes came in, how many were excluded and why, and how many are analysed (follow-up to {as_of}).",
    ),
    "dq_analysed": ("Analysert", "Analysed"),
    "dq_excluded": ("Utelatt: {reason}", "Excluded: {reason}"),
    "dq_in": ("Forløp inn i alt", "Episodes in, total"),
    "dq_persons": ("Personer med analyserte forløp", "Persons with analysed episodes"),
    "dq_exits": ("Avsluttede forløp (avgang)", "Ended episodes (exits)"),
    "dq_censored": ("Fortsatt i stillingen (sensurert)", "Still in post (censored)"),
    "dq_switches": ("Bytter av avtaleform underveis", "Contract switches during follow-up"),
    "cap_flow": ("Flyt av forløp", "Flow of episodes"),
    "cap_follow_up": ("Oppfølging", "Follow-up"),
    "cap_start_year": ("Forløp etter startår og avtaleform ved start", "Episodes by start year and contract type at start"),
    # ---- cohort
    "cohort_intro": (
        "Kohortene er definert ved avtaleformen ved start. Tabellen beskriver forløpene; antall under minste viste celle er skjermet.",
        "The cohorts are defined by the contract type at start. The table describes the episodes; counts below the smallest cell shown are suppressed.",
    ),
    "t1_episodes": ("Forløp (N)", "Episodes (N)"),
    "t1_persons": ("Personer", "Persons"),
    "t1_sex": ("Kjønn", "Sex"),
    "t1_size_class": ("Kommunestørrelse (innbyggere)", "Municipality size (inhabitants)"),
    "t1_scheme": ("Ordning", "Scheme"),
    "t1_status": ("Status", "Status"),
    "t1_exited": ("avsluttet", "ended"),
    "t1_in_post": ("i stillingen", "in post"),
    "t1_age": ("Alder ved start, median (IQR)", "Age at start, median (IQR)"),
    "t1_list_size": ("Listelengde, median (IQR)", "List size, median (IQR)"),
    "t1_follow_up": ("Oppfølging i år, median (IQR)", "Follow-up in years, median (IQR)"),
    "t1_person_years": ("Personår i alt", "Person-years, total"),
    "t1_note": (
        "Medianer vises bare for grupper med minst minste viste antall forløp (ellers «:»).",
        "Medians are shown only for groups with at least the smallest cell size (otherwise ':').",
    ),
    "cap_table1": ("Forløp etter avtaleform ved start (beskrivelse av kohortene)", "Episodes by contract type at start (description of the cohorts)"),
    # ---- retention
    "retention_intro": (
        "Bli-tid er tiden fra start i ALIS-stillingen til avgang fra kommunen; forløp som pågår, er sensurert på datadatoen. Sykehusåret er ikke avgang.",
        "Retention is the time from the start in the ALIS position to leaving the municipality; ongoing episodes are censored at the as-of date. The hospital year is not an exit.",
    ),
    "fig_km": ("Kaplan–Meier-figur", "Kaplan–Meier figure"),
    "cap_km": (
        "Andel som fortsatt er i kommunen etter tid siden start (Kaplan–Meier). Kurven er grovkornet for personvern: et trinn vises bare når minst {m} har sluttet siden forrige trinn, på et rutenett av kvartår, og kurven stopper før færre enn {m} er igjen. Antall under risiko står i tabellen.",
        "Proportion still in the municipality by time since start (Kaplan–Meier). The curve is coarsened for privacy: a step is drawn only when at least {m} have left since the previous step, on a grid of quarter years, and the curve stops before fewer than {m} remain. Numbers at risk are in the table.",
    ),
    "cap_km_table": ("Andel som blir etter 1, 2, 3 og 5 år", "Retention at 1, 2, 3 and 5 years"),
    "km_ci_note": (
        "Konfidensintervall med log-log-transformasjon (eksponentiell Greenwood).",
        "Confidence intervals use the log-log transform (exponential Greenwood).",
    ),
    "cap_median": ("Median bli-tid", "Median retention"),
    "logrank_text": (
        "Log-rank-test mellom kohortene: χ² = {chi2} med {df} frihetsgrad, p = {p}.",
        "Log-rank test between the cohorts: χ² = {chi2} on {df} degree of freedom, p = {p}.",
    ),
    "cap_rmst": ("Gjennomsnittlig tid i stillingen de første {tau} årene (RMST)", "Restricted mean time in post over the first {tau} years (RMST)"),
    # ---- turnover
    "turnover_intro": (
        "Turnover er avganger per 100 personår etter gjeldende avtaleform (et bytte av avtaleform flytter persontiden, det er ikke en avgang).",
        "Turnover is exits per 100 person-years by the current contract type (a contract switch moves the person-time; it is not an exit).",
    ),
    "irr": ("Rateratio", "Rate ratio"),
    "vacancy": ("Ubesatt tid", "Vacancy"),
    "cap_rates": ("Turnover etter gjeldende avtaleform", "Turnover by current contract type"),
    "rates_note": (
        "Eksakte Poisson-konfidensintervall. En rate og dens personår holdes tilbake når avgangene eller forløpene den bygger på er skjermet.",
        "Exact Poisson confidence intervals. A rate and its person-years are withheld when the exits or episodes it rests on are withheld.",
    ),
    "fig_rates": ("Turnoverfigur", "Turnover figure"),
    "cap_rates_fig": ("Avganger per 100 personår (95 % KI)", "Exits per 100 person-years (95% CI)"),
    "irr_text": (
        "Rateratio næring mot fastlønn (Poisson-regresjon med log personår som offset): {est}, p = {p}.",
        "Rate ratio næring vs fastlønn (Poisson regression with log person-years as offset): {est}, p = {p}.",
    ),
    "irr_withheld": (
        "Rateratioen næring mot fastlønn er utelatt fordi et antall avganger er skjermet (rateratioen og personårene ville avsløre det).",
        "The rate ratio næring vs fastlønn is left out because a number of exits is suppressed (the ratio and the person-years would reveal it).",
    ),
    "cap_vacancy": ("Andel stillingstid uten lege i stillingen", "Share of position-time with nobody in post"),
    # ---- duration
    "duration_intro": (
        "Cox-modellen bruker gjeldende avtaleform (tidsavhengig), Efron-korreksjon for like tider og robuste standardfeil gruppert på kommune. Hasardratio over 1 betyr raskere avgang.",
        "The Cox model uses the current contract type (time-varying), Efron ties and robust standard errors clustered by municipality. A hazard ratio above 1 means leaving sooner.",
    ),
    "cox_crude": ("Ujustert HR (95 % KI)", "Crude HR (95% CI)"),
    "cox_adjusted": ("Justert for kommunestørrelse", "Adjusted for municipality size"),
    "cap_cox": ("Hasardratio for avgang", "Hazard ratios of leaving"),
    "cox_note": (
        "Referanse: fastlønn og den minste kommunestørrelsen. Justerte og ujusterte anslag står side om side fordi fastlønn er vanligst i små kommuner.",
        "Reference: fastlønn and the smallest municipality size class. Adjusted and crude estimates stand side by side because fastlønn is most common in small municipalities.",
    ),
    "ph_test": ("Test av proporsjonale hasarder", "Proportional-hazards test"),
    "cap_ph": ("Test av proporsjonale hasarder (skalerte Schoenfeld-residualer)", "Proportional-hazards check (scaled Schoenfeld residuals)"),
    "cif": ("Konkurrerende risiko", "Competing risks"),
    "cap_cif": ("Kumulativ insidens av avgang etter destinasjon (Aalen–Johansen)", "Cumulative incidence of exit by destination (Aalen–Johansen)"),
    "parametric": ("Parametrisk modell", "Parametric model"),
    "cap_parametric": ("Estimert median varighet fra parametrisk modell", "Estimated median duration from a parametric model"),
    "parametric_caveat": (
        "Forbehold: den parametriske medianen bygger på en antatt fordeling (Weibull eller log-normal etter AIC) og kan ligge langt utenfor oppfølgingstiden; den er en framskriving, ikke en observasjon.",
        "Caveat: the parametric median rests on an assumed distribution (Weibull or log-normal by AIC) and may lie far beyond the follow-up; it is an extrapolation, not an observation.",
    ),
    "abelsen": ("Sammenligning med Abelsen mfl.", "Comparison with Abelsen et al."),
    "cap_abelsen": ("Median varighet etter kommunestørrelse (Kaplan–Meier)", "Median duration by municipality size (Kaplan–Meier)"),
    "abelsen_text": (
        "Til sammenligning: Abelsen, Gaski og Brandstorp (2015) fant at halvparten av fastlegeavtalene i kommuner under 2000 innbyggere var avsluttet etter {small}, mot {large} i kommuner med 50 000 innbyggere eller flere (landet: {national}).",
        "For comparison: Abelsen, Gaski and Brandstorp (2015) found that half of all GP contracts in municipalities under 2,000 inhabitants had ended within {small}, against {large} in municipalities of 50,000 or more (national: {national}).",
    ),
    # ---- methods
    "m_data": (
        "Data: forløp i ALIS-stillinger (én rad per person og kommune) og hendelser (bytte av avtaleform, sykehusår, permisjon) fra kommunenes personalsystemer, kontrollert mot datakontrakten og med kommunenumre harmonisert til 2024-inndelingen. Oppfølging til {as_of}.",
        "Data: episodes in ALIS positions (one row per person and municipality) and events (contract switches, hospital year, leave) from the municipalities' HR systems, checked against the data contract, with municipality codes harmonised to the 2024 division. Follow-up to {as_of}.",
    ),
    "m_cohort": (
        "Kohort: avtaleformen ved start (fastlønn eller næring). I turnover- og Cox-analysene brukes gjeldende avtaleform, som endres ved hvert dokumentert bytte.",
        "Cohort: contract type at start (fastlønn or næring). Turnover and Cox analyses use the current contract type, which changes at each documented switch.",
    ),
    "m_censoring": (
        "Avgang: sluttdato på eller før datadatoen. Ellers er forløpet sensurert på datadatoen. Tid måles i år (dager / 365,25). Sykehusår og permisjon stopper ikke klokka.",
        "Exit: an end date on or before the as-of date. Otherwise the episode is censored at the as-of date. Time is in years (days / 365.25). The hospital year and leave do not stop the clock.",
    ),
    "m_km": (
        "Bli-tid: Kaplan–Meier per kohort med log-log-konfidensintervall, log-rank-test og RMST til {tau} år med Greenwood-basert standardfeil.",
        "Retention: Kaplan–Meier per cohort with log-log confidence intervals, the log-rank test and RMST to {tau} years with its Greenwood-based standard error.",
    ),
    "m_turnover": (
        "Turnover: avganger per 100 personår med eksakte Poisson-intervaller; rateratio fra Poisson-regresjon med log personår som offset, med kontroll for overspredning.",
        "Turnover: exits per 100 person-years with exact Poisson intervals; rate ratio from a Poisson GLM with log person-years as offset, checked for overdispersion.",
    ),
    "m_cox": (
        "Avtalevarighet: Cox-modell på tellingsprosessintervaller med gjeldende avtaleform, Efron-korreksjon og robuste standardfeil gruppert på kommune (med korreksjon for få kommuner: t-fordeling med G−1 frihetsgrader); ujustert og justert for kommunestørrelse. Proporsjonale hasarder kontrolleres med skalerte Schoenfeld-residualer.",
        "Contract duration: Cox model on counting-process intervals with the current contract type, Efron ties and robust standard errors clustered by municipality (with the few-cluster correction: t on G−1 degrees of freedom); crude and adjusted for municipality size. Proportional hazards are checked with scaled Schoenfeld residuals.",
    ),
    "m_competing": (
        "Konkurrerende risiko: Aalen–Johansen kumulativ insidens for å bli i allmennpraksis i regionen mot å forlate den.",
        "Competing risks: Aalen–Johansen cumulative incidence of staying in general practice in the region versus leaving it.",
    ),
    "m_parametric": (
        "Framskriving: Weibull- og log-normal-modeller (valgt etter AIC) gir en anslått median ut over oppfølgingen.",
        "Extrapolation: Weibull and log-normal models (chosen by AIC) give an estimated median beyond the follow-up.",
    ),
    "m_costs": (
        "Kostnader: kommunens årlige kostnad per avtalemodell fra ALIS-Nords regneeksempel (2019-satser) og dokumenterte antakelser; kostnad per beholdt legeår = (rekrutteringstilskudd + årlig kostnad × forventet tid i stillingen per utdanningsår) / forventet tid i stillingen de første {tau} årene (RMST), med bootstrap-intervaller.",
        "Costs: the municipality's yearly cost per contract model from ALIS-Nord's worked example (2019 rates) and documented assumptions; cost per retained GP-year = (recruitment grant + yearly cost × expected time in post per training year) / expected time in post over the first {tau} years (RMST), with bootstrap intervals.",
    ),
    "m_pathway": (
        "Spesialiseringsløpet: kumulativ insidens av spesialistgodkjenning med avgang før godkjenning som konkurrerende hendelse (Aalen–Johansen), sykehusåret (ikke avgang) og levert veiledning mot lovet (3 timer i måneden i 10,5 måneder i året).",
        "The specialisation pathway: cumulative incidence of specialist approval with leaving before approval as a competing event (Aalen–Johansen), the hospital year (not an exit) and supervision delivered against the promise (3 hours a month for 10.5 months a year).",
    ),
    "m_power": (
        "Presisjon: minste hasardratio som påvises med 80 % styrke, funnet ved simulering av utformingen (kohortstørrelser, startdatoer, oppfølging) med log-rank-test og fast frø.",
        "Precision: the smallest hazard ratio detected with 80% power, found by simulating the design (cohort sizes, start dates, follow-up) with the log-rank test and a fixed seed.",
    ),
    "m_disclosure": (
        "Skjerming: alle tall i rapporten kontrolleres samlet før publisering. Antall fra 1 til {m1} holdes tilbake («:»), og flere tall holdes tilbake der summer, differanser eller samme tall andre steder ellers kunne avsløre dem; rater, andeler og anslag bygd på et skjermet antall holdes også tilbake. En revisjon med heltallsprogrammering viser før publisering at intet skjult antall kan regnes tilbake til 1–{m1}. Ingen personidentifikator, navn eller individuell dato publiseres.",
        "Disclosure control: every number in the report is checked together before publication. Counts from 1 to {m1} are withheld (':'), and further numbers are withheld where sums, differences or the same number elsewhere could reveal them; rates, shares and estimates resting on a withheld count are withheld too. An integer-programming audit shows before publication that no hidden count can be worked back to 1–{m1}. No person identifier, name or individual date is published.",
    ),
    # ---- limitations
    "lim_small": (
        "Små tall: {n} forløp og {events} avganger. Konfidensintervallene er brede, og fravær av en påvist forskjell er ikke bevis for at det ikke finnes en.",
        "Small numbers: {n} episodes and {events} exits. The confidence intervals are wide, and the absence of a detected difference is not evidence that there is none.",
    ),
    "lim_confounding": (
        "Konfundering ved kommunestørrelse: fastlønnsstillingene ligger for det meste i små kommuner, som generelt beholder fastlegene kortere. Derfor står justerte anslag ved siden av de ujusterte; restkonfundering (sentralitet, fagmiljø, vaktbelastning) kan ikke utelukkes.",
        "Confounding by municipality size: the fastlønn positions are mostly in small municipalities, which keep their GPs for shorter in general. Adjusted estimates therefore stand beside the crude ones; residual confounding (centrality, professional environment, on-call load) cannot be ruled out.",
    ),
    "lim_followup": (
        "Oppfølgingen er kort sammenlignet med utdanningsløpet på fem år; anslag etter fem år bygger på få personer.",
        "Follow-up is short compared with the five-year training; estimates beyond five years rest on few people.",
    ),
    "lim_synthetic": (
        "Denne rapporten er laget fra SYNTETISKE data: tallene viser hvordan rapporten ser ut, ikke hva som har skjedd.",
        "This report was made from SYNTHETIC data: the numbers show what the report looks like, not what happened.",
    ),
    "lim_register": (
        "Dataene kommer fra kommunenes egne registre; feil og manglende hendelser kan ikke utelukkes, selv om alle rader er kontrollert.",
        "The data come from the municipalities' own records; errors and missing events cannot be ruled out although every row was checked.",
    ),
    "lim_mde": (
        "Presisjon: med {nf} på fastlønn og {nn} i næring og oppfølging til {end} har log-rank-testen {power} styrke ({alpha} nivå) først når hasardratioen er minst {hr} for næring mot fastlønn{down} ({b} simulerte datasett, median tid i stillingen {median} år på fastlønn; Schoenfelds tilnærming: {hr_s}). Mindre forskjeller kan ikke utelukkes.",
        "Precision: with {nf} salaried and {nn} self-employed ALIS followed to {end}, the log-rank test has {power} power ({alpha} level) only for hazard ratios of at least {hr} for næring vs fastlønn{down} ({b} simulated datasets, median time in post {median} years on fastlønn; Schoenfeld's approximation: {hr_s}). Smaller differences cannot be ruled out.",
    ),
    "lim_mde_down": (", eller høyst {hr} om næring blir lenger", ", or at most {hr} if næring stay longer"),
    "lim_mde_none": (
        "Presisjon: med {nf} på fastlønn og {nn} i næring kan selv svært store forskjeller i avgangsrisiko (hasardratio opp til {max}) ikke påvises med {power} styrke.",
        "Precision: with {nf} salaried and {nn} self-employed ALIS even very large differences in the hazard of leaving (hazard ratios up to {max}) cannot be detected with {power} power.",
    ),
    "lim_mde_design": (
        "Presisjonen er beregnet for utformingen dataene beskriver: kohortstørrelsene, hvert forløps startdato og oppfølging til datadatoen.",
        "The precision is computed for the design the data describe: the cohort sizes, each episode's start date and follow-up to the as-of date.",
    ),
    # ---- costs (what a retained GP costs)
    "costs": ("Hva en ALIS som blir, koster", "What a retained GP costs"),
    "cost_intro": (
        "Kommunens kostnad per avtalemodell er regnet ut fra ALIS-Nords regneeksempel (2019-satser) for en liste på {n} pasienter. Linjer regneeksempelet ikke priser (lønn og kontor ved fastlønn, inntekter fra egenandeler og refusjoner, veiledning, kurs), er dokumenterte antakelser som kommunen bør erstatte med egne tall. Alle beløp er i 2019-kroner.",
        "The municipality's cost per contract model follows ALIS-Nord's worked example (2019 rates) for a list of {n} patients. Lines the example does not price (salary and office for fastlønn, fee and refund income, supervision, courses) are documented assumptions that a municipality should replace with its own figures. All amounts are in 2019 NOK.",
    ),
    "cost_model_private": ("Privat liste", "Private list"),
    "cost_model_naering": ("ALIS i næring", "ALIS, næring"),
    "cost_model_fastlonn": ("ALIS på fastlønn", "ALIS, fastlønn"),
    "cost_col_year": ("Utdanningsår", "Training year"),
    "cost_col_grants": ("Tilskudd", "Grants"),
    "cost_col_extra_grants_vs_private": ("Tilskudd utover privat liste", "Grants above a private list"),
    "cost_col_other_costs": ("Andre kostnader*", "Other costs*"),
    "cost_col_programme_grant": ("ALIS-Nord-tilskudd", "ALIS-Nord grant"),
    "cost_col_net_cost": ("Nettokostnad", "Net cost"),
    "cap_cost_yearly": (
        "Kommunens årlige kostnad per avtalemodell, liste på {n} pasienter (kroner, 2019)",
        "The municipality's yearly cost per contract model, list of {n} patients (NOK, 2019)",
    ),
    "cost_yearly_note": (
        "«Tilskudd»: rekrutteringstilskudd og basistilskudd som i regneeksempelet (privat liste 451 kroner per pasient; ALIS i næring garantert for de første 500 pasientene og 1,25 × 451 kroner per pasient over det). Negative beløp er inntekter og tilskudd til kommunen.",
        "'Grants': recruitment and basic grants as in the worked example (private list NOK 451 per patient; ALIS næring guaranteed for the first 500 patients and 1.25 × NOK 451 per patient above). Negative amounts are income and grants to the municipality.",
    ),
    "cost_assumptions": (
        "* Antakelser: lønn inkl. sosiale kostnader {salary} og kontor {office} kroner i året (fastlønn); inntekter fra egenandeler og refusjoner {fee} kroner per pasient i året (fastlønn); veiledning {hours} timer à {rate} kroner (begge); kurs- og inntektstapsdekning {course} kroner i året (næring); ALIS-Nord-tilskudd {grant} kroner i året i {years} år.",
        "* Assumptions: salary incl. social costs NOK {salary} and office NOK {office} a year (fastlønn); fee and refund income NOK {fee} per patient a year (fastlønn); supervision {hours} hours at NOK {rate} (both); course and income-loss cover NOK {course} a year (næring); ALIS-Nord grant NOK {grant} a year for {years} years.",
    ),
    "cost_extra_text": (
        "For en liste på {n} pasienter får kommunen med en ALIS i næring {extra} kroner mer i tilskuddsutgifter i året enn med en privat liste, og {extra1} kroner mer det første året, da rekrutteringstilskuddet kommer i tillegg.",
        "For a list of {n} patients an ALIS on næring costs the municipality NOK {extra} a year more in grants than a private list, and NOK {extra1} more in the first year, when the recruitment grant comes on top.",
    ),
    "cost_retained_heading": ("Kostnad per beholdt legeår", "Cost per retained GP-year"),
    "cost_retained_intro": (
        "For hver kohort er forventet tid i stillingen de første {tau} årene (RMST fra Kaplan–Meier-kurven) kombinert med den årlige kostnaden for kohortens avtalemodell mens ALIS-en er i stillingen, pluss rekrutteringstilskuddet ved start. Intervallene er persentil-bootstrap ({b} trekninger av personer med alle sine forløp innen kohorten, fast frø {seed}).",
        "For each cohort the expected time in post over the first {tau} years (RMST of the Kaplan–Meier curve) is combined with the yearly cost of the cohort's contract model while the ALIS is in post, plus the recruitment grant at the start. Intervals are percentile bootstrap ({b} resamples of persons, with all their episodes, within cohort; fixed seed {seed}).",
    ),
    "cost_col_retained": ("År i stillingen av {tau} (95 % KI)", "Years in post of {tau} (95% CI)"),
    "cost_col_expected": ("Kostnad per ALIS, 1000 kr (95 % KI)", "Cost per ALIS, NOK 1,000 (95% CI)"),
    "cost_col_per_year": ("Per beholdt legeår, 1000 kr (95 % KI)", "Per retained GP-year, NOK 1,000 (95% CI)"),
    "cost_col_parametric": ("Per legeår, parametrisk, 1000 kr", "Per GP-year, parametric, NOK 1,000"),
    "cap_cost_retained": (
        "Kostnad per beholdt legeår de første {tau} årene, liste på {n} pasienter",
        "Cost per retained GP-year over the first {tau} years, list of {n} patients",
    ),
    "cost_retained_note": (
        "Parametrisk: samme regnestykke med Weibull- eller log-normal-modellen (valgt etter AIC), uten intervall. «:»: kohort med færre enn {m} forløp, anslaget vises ikke.",
        "Parametric: the same calculation with the Weibull or log-normal model (chosen by AIC), without an interval. ':': a cohort of fewer than {m} episodes, the estimate is withheld.",
    ),
    "cost_interpretation": (
        "Slik leses tallene: kostnader som bare løper mens ALIS-en er i stillingen, gir samme kostnad per beholdt legeår uansett hvor lenge den blir. For fastlønn er kostnaden per beholdt legeår derfor lik den årlige nettokostnaden og uten usikkerhet fra dataene; for næring fordeles rekrutteringstilskuddet på de forventede årene i stillingen, så tidlige avganger gjør hvert beholdte år dyrere. Kostnaden ved å rekruttere en etterfølger er ikke regnet med.",
        "How to read the numbers: costs that run only while the ALIS is in post give the same cost per retained GP-year however long the ALIS stays. For fastlønn the cost per retained GP-year therefore equals the yearly net cost, with no uncertainty from the data; for næring the recruitment grant is spread over the expected years in post, so early exits make each retained year dearer. The cost of recruiting a successor is not included.",
    ),
    "cap_cost_fig": (
        "Kostnad per beholdt legeår (95 % bootstrap-KI), liste på {n} pasienter",
        "Cost per retained GP-year (95% bootstrap CI), list of {n} patients",
    ),
    "cost_fig_withheld": (
        "Figuren over kostnad per beholdt legeår er utelatt fordi minst én kohort har færre enn {m} forløp eller ikke kan estimeres.",
        "The figure of the cost per retained GP-year is left out because at least one cohort has fewer than {m} episodes or cannot be estimated.",
    ),
    "cap_cost_sensitivity": (
        "Følsomhet: kostnad per beholdt legeår (1000 kr) etter listelengde og tidshorisont",
        "Sensitivity: cost per retained GP-year (NOK 1,000) by list size and horizon",
    ),
    "cost_col_list_size": ("Listelengde", "List size"),
    "cost_col_cohort_horizon": ("{cohort}, {h} år", "{cohort}, {h} years"),
    "cost_sensitivity_note": (
        "Uten bootstrap. Med lengre liste øker basistilskuddet for næring, mens inntekter fra egenandeler og refusjoner trekker nettokostnaden ved fastlønn ned.",
        "Without bootstrap. With a longer list the basic grant for næring rises, while fee and refund income brings the net cost of fastlønn down.",
    ),
    # ---- the specialisation pathway
    "pathway": ("Spesialiseringsløpet og veiledning", "The specialisation pathway and supervision"),
    "pw_specialist_heading": ("Tid til spesialistgodkjenning", "Time to specialist approval"),
    "pw_intro": (
        "Tid til godkjent spesialist i allmennmedisin regnes fra start i ALIS-stillingen til spesialistgodkjenningen. Den som slutter før godkjenning, har en konkurrerende hendelse (kumulativ insidens etter Aalen–Johansen); den som fortsatt er i løpet på datadatoen, er sensurert. Normert tid er {years} år.",
        "Time to approval as a specialist in general practice runs from the start in the ALIS position to the specialist approval. Leaving before approval is a competing event (Aalen–Johansen cumulative incidence); an ALIS still in training at the as-of date is censored. The normed training time is {years} years.",
    ),
    "pw_col_approved": ("Godkjent (95 % KI)", "Approved (95% CI)"),
    "pw_col_exit": ("Sluttet før godkjenning (95 % KI)", "Left before approval (95% CI)"),
    "cap_pw_cif": (
        "Kumulativ andel godkjent spesialist og andel som sluttet før godkjenning, etter år siden start",
        "Cumulative proportion approved as specialist and proportion who left before approval, by years since start",
    ),
    "pw_cif_note": (
        "Aalen–Johansen med konfidensintervall på log-skala. «–»: utover oppfølgingen. «:»: holdt tilbake (et antall bak anslaget er under {m} eller skjult).",
        "Aalen–Johansen with log-scale confidence intervals. '–': beyond the follow-up. ':': withheld (a count behind the estimate is below {m} or hidden).",
    ),
    "pw_share5": (
        "Andel godkjent spesialist innen normert tid ({years} år), med 95 % KI: {shares}.",
        "Share approved as specialist within the normed time ({years} years), with 95% CI: {shares}.",
    ),
    "pw_share_short": ("ikke estimerbar (for kort oppfølging)", "not estimable (follow-up too short)"),
    "cap_pw_counts": ("Utfall i spesialiseringsløpet etter kohort", "Outcome of the specialisation pathway by cohort"),
    "pw_col_episodes": ("Forløp", "Episodes"),
    "pw_col_n_approved": ("Godkjent", "Approved"),
    "pw_col_n_exit": ("Sluttet før godkjenning", "Left before approval"),
    "pw_col_n_censored": ("Fortsatt i løpet", "Still in training"),
    "pw_already": (
        "Forløp som startet etter at personen allerede var godkjent spesialist, er holdt utenfor ({n}).",
        "Episodes that started after the person was already approved as a specialist are left out ({n})."
    ),
    "cap_pw_fig": (
        "Kumulativ andel godkjent spesialist etter tid siden start (stiplet linje: normert tid)",
        "Cumulative proportion approved as specialist by time since start (dotted line: normed time)",
    ),
    "pw_fig_withheld": (
        "Figuren over tid til godkjenning er utelatt fordi minst én kohort har færre enn {m} forløp (kurven ville vise enkeltpersoners tider).",
        "The figure of the time to approval is left out because at least one cohort has fewer than {m} episodes (the curve would show individual times).",
    ),
    "pw_hospital_heading": ("Sykehusåret", "The hospital year"),
    "pw_hospital_intro": (
        "Sykehusåret er ikke avgang: ALIS-en er midlertidig borte fra kommunen. Tabellen viser når i løpet sykehusåret begynner, og om ALIS-en fortsatt var i kommunen {w} måneder etter at det sluttet.",
        "The hospital year is not an exit: the ALIS is away from the municipality for a while. The table shows when in the pathway the hospital year begins and whether the ALIS was still in the municipality {w} months after it ended.",
    ),
    "cap_pw_hospital": ("Sykehusåret etter kohort", "The hospital year by cohort"),
    "pw_h_with": ("Forløp med sykehusår", "Episodes with a hospital year"),
    "pw_h_start": ("Start, år etter oppstart, median (IQR)", "Start, years after starting, median (IQR)"),
    "pw_h_length": ("Lengde i år, median", "Length in years, median"),
    "pw_h_returned": ("Tilbake i kommunen", "Back in the municipality"),
    "pw_h_left_within_window": ("Sluttet innen {w} måneder etter", "Left within {w} months after"),
    "pw_h_left_during": ("Sluttet under sykehusåret", "Left during the hospital year"),
    "pw_h_not_yet_known": ("Ikke kjent ennå", "Not yet known"),
    "pw_h_ongoing": ("Pågår", "Ongoing"),
    "pw_h_share": ("Andel tilbake av dem med kjent utfall", "Share back of those with a known outcome"),
    "pw_h_note": (
        "Medianer vises bare for kohorter med minst {m} sykehusår (ellers «:»); en andel skjermes når et antall den bygger på er skjermet. Andelen tilbake regnes bare blant dem med kjent utfall: de som ennå ikke har et kjent utfall, har ikke sluttet, og de som slutter tidlig, blir kjent først, så andelen undervurderer trolig hvor mange som kommer tilbake.",
        "Medians are shown only for cohorts with at least {m} hospital years (otherwise ':'); a share is withheld when a count it rests on is suppressed. The share back counts only those with a known outcome: those not yet known have not left, and those who leave early become known first, so the share probably understates how many come back.",
    ),
    "pw_no_hospital": ("Ingen sykehusår er registrert i dataene.", "No hospital year is recorded in the data."),
    "pw_supervision_heading": ("Veiledning", "Supervision"),
    "pw_sup_intro": (
        "Lovet strukturert veiledning er {h} timer i måneden i {mo} måneder i året ({y} timer i året). Levert veiledning fra veiledningstabellen sammenlignes med det lovede for tiden i stillingen (sykehusåret trukket fra) i månedene tabellen dekker; en måned uten rad teller som 0 timer.",
        "The promised structured supervision is {h} hours a month for {mo} months a year ({y} hours a year). The supervision delivered according to the supervision table is compared with the promise for the time in post (the hospital year deducted) in the months the table covers; a month without a row counts as 0 hours.",
    ),
    "pw_sup_none": (
        "Datasettet har ingen veiledningstabell (supervision.csv), så oppfyllelsen av lovet veiledning ({y} timer i året) er ikke vurdert.",
        "The dataset has no supervision table (supervision.csv), so the fidelity to the promised supervision ({y} hours a year) is not assessed.",
    ),
    "pw_sup_nodata": (
        "Ingen av de analyserte forløpene har rader i veiledningstabellen.",
        "None of the analysed episodes has rows in the supervision table.",
    ),
    "pw_sup_absent": (
        "{n} forløp uten rader i veiledningstabellen er holdt utenfor (ingen data).",
        "{n} episodes without rows in the supervision table are left out (no data).",
    ),
    "cap_pw_sup_cohort": ("Veiledning levert mot lovet, etter kohort", "Supervision delivered against the promise, by cohort"),
    "cap_pw_sup_unit": ("Veiledning levert mot lovet, etter enhet", "Supervision delivered against the promise, by unit"),
    "pw_col_unit": ("Enhet", "Unit"),
    "pw_col_sup_episodes": ("Forløp med data", "Episodes with data"),
    "pw_col_months": ("Måneder i stillingen", "Months in post"),
    "pw_col_delivered": ("Levert, timer", "Delivered, hours"),
    "pw_col_promised": ("Lovet, timer", "Promised, hours"),
    "pw_col_per_year": ("Timer per år", "Hours a year"),
    "pw_col_fidelity": ("Oppfyllelse", "Fidelity"),
    "pw_sup_note": (
        "Oppfyllelse = levert / lovet. Tall for en gruppe med færre enn {m} forløp skjermes sammen med alt som er regnet ut fra dem.",
        "Fidelity = delivered / promised. Numbers of a group of fewer than {m} episodes are withheld together with everything computed from them.",
    ),
    "pw_sup_other_units": ("Andre enheter (under {m} forløp hver)", "Other units (fewer than {m} episodes each)"),
    "pw_sup_units_withheld": (
        "Ingen enhet har {m} eller flere forløp med veiledningsdata, så tall per enhet vises ikke (de ville beskrive enkeltpersoner).",
        "No unit has {m} or more episodes with supervision data, so numbers per unit are not shown (they would describe individuals).",
    ),
    # ---- appendix
    "provenance": ("Opphav", "Provenance"),
    "cap_inputs": ("Inndatafiler (SHA-256)", "Input files (SHA-256)"),
    "cap_parameters": ("Parametre for rapporten", "Parameters of the report"),
    "suppression_applied": ("Skjerming som er brukt", "Suppression applied"),
    "suppression_intro": (
        "Skjermingsregelen (minste viste antall {m}) ble brukt på {n} celler:",
        "The suppression rule (smallest count shown {m}) was applied to {n} cells:",
    ),
    "cap_suppression": ("Skjermede celler", "Suppressed cells"),
    "no_suppression": (
        "Ingen celler måtte skjermes (minste viste antall {m}).",
        "No cell had to be suppressed (smallest count shown {m}).",
    ),
    # ---- summary
    "s_data": (
        "Rapporten følger {f} forløp som startet på fastlønn og {n} som startet i næring, til {as_of}.",
        "The report follows {f} episodes that started on a salaried contract (fastlønn) and {n} that started self-employed (næring), to {as_of}.",
    ),
    "s_synthetic": ("Tallene er fra syntetiske data og sier ingenting om virkeligheten.", "The numbers come from synthetic data and say nothing about reality."),
    "s_few": (
        "Minst én av gruppene er liten, så alle anslag er svært usikre.",
        "At least one of the groups is small, so every estimate is very uncertain.",
    ),
    "s_km3": (
        "Etter tre år var anslagsvis {f} av fastlønnsforløpene og {n} av næringsforløpene fortsatt i kommunen.",
        "After three years an estimated {f} of the fastlønn episodes and {n} of the næring episodes were still in the municipality.",
    ),
    "s_lr_diff": (
        "Forskjellen i bli-tid mellom kohortene er statistisk signifikant (log-rank p = {p}).",
        "The difference in retention between the cohorts is statistically significant (log-rank p = {p}).",
    ),
    "s_lr_nodiff": (
        "Dataene viser ingen klar forskjell i bli-tid mellom kohortene (log-rank p = {p}).",
        "The data show no clear difference in retention between the cohorts (log-rank p = {p}).",
    ),
    "s_hr_crude": ("Ujustert hasardratio for avgang, næring mot fastlønn: {hr}.", "Crude hazard ratio of leaving, næring vs fastlønn: {hr}."),
    "s_hr_adjusted": (
        "Justert for kommunestørrelse: {hr}.",
        "Adjusted for municipality size: {hr}.",
    ),
    "s_hr_none": ("Intervallet omfatter ingen forskjell.", "The interval includes no difference."),
    "s_hr_higher": ("Næring går raskere ut av stillingen.", "Næring leave sooner."),
    "s_hr_lower": ("Næring blir lenger i stillingen.", "Næring stay longer."),
    "s_irr": (
        "Turnover (avganger per personår), næring mot fastlønn: rateratio {est}.",
        "Turnover (exits per person-year), næring vs fastlønn: rate ratio {est}.",
    ),
    "s_costs": (
        "Med en liste på {n} pasienter koster et beholdt legeår de første {tau} årene kommunen anslagsvis {f} kroner med fastlønn og {n_} kroner med næring (se forbeholdene om antakelsene).",
        "With a list of {n} patients a retained GP-year over the first {tau} years costs the municipality an estimated NOK {f} on fastlønn and NOK {n_} on næring (see the caveats on the assumptions).",
    ),
    "s_pathway": (
        "Anslått andel godkjent spesialist innen normert tid (5 år): {f} på fastlønn og {n} i næring.",
        "Estimated share approved as specialist within the normed time (5 years): {f} on fastlønn and {n} on næring.",
    ),
    "s_confounding": (
        "{f} av fastlønnsforløpene og {n} av næringsforløpene er i kommuner under 5000 innbyggere; les derfor de justerte anslagene.",
        "{f} of the fastlønn episodes and {n} of the næring episodes are in municipalities under 5,000 inhabitants; read the adjusted estimates.",
    ),
    "s_confounding_plain": (
        "Fastlønn er vanligst i små kommuner; les derfor de justerte anslagene ved siden av de ujusterte.",
        "Fastlønn is most common in small municipalities; read the adjusted estimates beside the crude ones.",
    ),
    "suppression_footnote": (
        "«:»: holdt tilbake (under {m}, eller for at et skjult tall ikke skal kunne regnes ut).",
        "':': withheld (below {m}, or so that a hidden number cannot be worked out).",
    ),
}


def T(key: str, language: str = "nb", **fields) -> str:
    """The text for ``key`` in ``language``; ``fields`` fill ``{placeholders}``."""
    check_language(language)
    try:
        nb, en = _STRINGS[key]
    except KeyError:
        raise KeyError(f"no report text for key {key!r}") from None
    text = nb if language == "nb" else en
    return text.format(**fields) if fields else text


def has_text(key: str) -> bool:
    """Whether a report text exists for ``key``."""
    return key in _STRINGS


def contract_label(value: str, language: str = "nb") -> str:
    """Display name of a contract type (``fastlønn``/``næring``) in the report language."""
    return T(value, language) if value in ("fastlønn", "næring") else str(value)
