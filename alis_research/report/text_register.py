"""The texts of the comparison-groups chapter (bokmål, English), by key.

Read by :mod:`alis_research.report.sections_register` (through its ``R``) and by
:mod:`alis_research.report.notes` (captions and labels of the register tables);
kept apart so that neither of those modules imports the other.
"""
from __future__ import annotations

REGISTER_TEXT: dict[str, tuple[str, str]] = {
    "title": ("Sammenligningsgrupper (fastlegeregisteret)", "Comparison groups (GP register)"),
    "intro": (
        "Dette kapitlet bruker et uttrekk fra fastlegeregisteret ({first}–{last}, {lists} lister, månedlige "
        "øyeblikksbilder av hvem som har listen){synthetic}. Et avtaleforløp er én lege på én liste i én kommune "
        "i sammenhengende måneder (opphold på inntil tre måneder bygges over; kommunereformer avslutter ikke et forløp).",
        "This chapter uses an extract of the GP register ({first}–{last}, {lists} lists, monthly snapshots of "
        "who holds each list){synthetic}. A contract episode is one doctor on one list in one municipality over "
        "contiguous months (gaps of up to three months are bridged; municipal reforms do not end an episode).",
    ),
    "synthetic": (" – SYNTETISKE registerdata", " – SYNTHETIC register data"),
    "abelsen_heading": ("Avtalevarighet etter kommunestørrelse (Abelsen mfl. 2015)",
                        "Contract duration by municipality size (Abelsen et al. 2015)"),
    "abelsen_intro": (
        "Avtaler inngått {start}–{end} (som i studien: alle fastlegeavtaler 1. mai 2001–1. mai 2014), "
        "Kaplan–Meier-median med 95 % konfidensintervall (log-log), ved siden av de publiserte medianene.",
        "Contracts signed {start} to {end} (as in the study: all GP contracts 1 May 2001 – 1 May 2014), "
        "Kaplan–Meier median with 95% confidence interval (log-log), beside the published medians.",
    ),
    "cap_abelsen": ("Median avtalevarighet etter kommunestørrelse: registeruttrekket og Abelsen mfl. 2015",
                    "Median contract duration by municipality size: the register extract and Abelsen et al. 2015"),
    "cap_abelsen_fig": ("Median avtalevarighet (95 % KI) etter innbyggertall; firkanter: publiserte medianer",
                        "Median contract duration (95% CI) by population; squares: published medians"),
    "cap_abelsen_cox": (
        "Cox-modell for avslutning av avtalen (hasardratio, 95 % KI; robuste standardfeil gruppert på kommune)",
        "Cox model of the contract ending (hazard ratio, 95% CI; robust standard errors clustered by municipality)",
    ),
    "abelsen_cox_note": (
        "Hasardratio over 1: avtalen avsluttes raskere. Listestørrelse per 100 pasienter, alder per år; "
        "referanse: kvinner, kommuner under 2\u202f000 innbyggere.",
        "Hazard ratio above 1: the contract ends sooner. List size per 100 patients, age per year; "
        "reference: women, municipalities under 2,000 inhabitants.",
    ),
    "alis_heading": ("ALIS og andre fastleger i de samme kommunene", "ALIS and other GPs in the same municipalities"),
    "alis_intro": (
        "ALIS-forløpene (HR-dataene) sammenlignes med alle andre fastleger som fikk en liste i de samme kommunene "
        "i ALIS-startåret ± {window} år (registeret). Begge gruppene sensureres per {censored}. ALIS identifiseres i "
        "registeret ved samme pseudonym ({linked} funnet) og holdes utenfor sammenligningsgruppen.",
        "The ALIS episodes (HR data) are compared with every other GP who took a list in the same municipalities "
        "within ± {window} year(s) of an ALIS start (register). Both groups are censored at {censored}. ALIS are "
        "identified in the register by the shared pseudonym ({linked} found) and kept out of the comparison group.",
    ),
    "cap_alis_counts": ("Forløp og avganger: ALIS og andre fastleger", "Episodes and exits: ALIS and other GPs"),
    "cap_alis_km": ("Andel fortsatt i stillingen: ALIS og andre fastleger i de samme kommunene og årene",
                    "Proportion still in post: ALIS and other GPs in the same municipalities and years"),
    "alis_km_withheld": ("Kurven vises ikke: færre enn {m} ALIS-forløp.",
                         "The curve is not shown: fewer than {m} ALIS episodes."),
    "alis_results": (
        "Median tid i stillingen i år (95 % KI): ALIS {alis}, andre fastleger {other}. Log-rank-test stratifisert "
        "på kommune (hver ALIS mot fastlegene i egen kommune): p = {p}. Gjennomsnittlig tid i stillingen de første "
        "{tau} årene (RMST), andre fastleger minus ALIS: {rmst} år. Hasardratio for avgang, ALIS mot andre, "
        "justert for kommunestørrelse og startår: {hr}.",
        "Median time in post in years (95% CI): ALIS {alis}, other GPs {other}. Log-rank test stratified by "
        "municipality (each ALIS against the GPs of their own municipality): p = {p}. Mean time in post over the first {tau} years "
        "(RMST), other GPs minus ALIS: {rmst} years. Hazard ratio of leaving, ALIS vs others, adjusted for "
        "municipality size and start year: {hr}.",
    ),
    "alis_caveat": (
        "ALIS er yngre og i utdanning, og tiden deres måles i HR-data (sykehusåret er ikke en avgang), de andres i "
        "registeret: forskjellen er beskrivende, ikke en virkning av ALIS-ordningen.",
        "ALIS are younger and in training, and their time is measured in HR data (the hospital year is not an "
        "exit), the others' in the register: the difference is descriptive, not an effect of the ALIS scheme.",
    ),
    "did_heading": ("Deltakende kommuner, avslåtte søkere og kommuner som ikke søkte",
                    "Participating, rejected-applicant and non-applicant municipalities"),
    "did_intro": (
        "Årlig turnover (avganger per 100 listeår med fast lege) og andel listemåneder uten fast lege per kommune i "
        "Nord-Norge, {first}–{last}. Forskjell-i-forskjeller: deltakende kommuner mot avslåtte søkere (og mot "
        "kommuner som ikke søkte) før og fra 2019, lineær modell med faste effekter for kommune og år og "
        "standardfeil gruppert på kommune (t-fordeling med G−1 frihetsgrader). 2019 regnes som etter, selv om "
        "stillingene ble besatt fra andre halvår.",
        "Yearly turnover (exits per 100 list-years with a permanent GP) and the share of list-months without a "
        "permanent GP per municipality of Northern Norway, {first}–{last}. Difference in differences: participating "
        "municipalities against rejected applicants (and against non-applicants) before and from 2019, linear model "
        "with municipality and year fixed effects and standard errors clustered by municipality (t on G−1 degrees "
        "of freedom). 2019 counts as after although the positions were filled from the second half of the year.",
    ),
    "cap_did": ("Forskjell-i-forskjeller: deltakende kommuner mot sammenligningsgruppen, fra 2019",
                "Difference in differences: participating municipalities against the comparison group, from 2019"),
    "did_note": (
        "Andel uten fast lege i prosentpoeng; turnover i avganger per 100 listeår. «ikke estimerbar»: for få "
        "kommuner (under {m}) i en av gruppene for robuste standardfeil.",
        "Share without a permanent GP in percentage points; turnover in exits per 100 list-years. 'not "
        "estimable': too few municipalities (under {m}) in one of the groups for robust standard errors.",
    ),
    "cap_did_means": ("Gjennomsnitt per kommune og år før og fra 2019", "Mean per municipality and year before and from 2019"),
    "cap_event": (
        "Hendelsesstudie, {outcome}: deltakende mot avslåtte søkere per år relativt til 2019 (95 % KI); "
        "referanseåret 2018 er 0",
        "Event study, {outcome}: participating vs rejected applicants by year relative to 2019 (95% CI); "
        "the reference year 2018 is 0",
    ),
    "parallel_trends": (
        "Forutsetning: uten ALIS ville utviklingen i de deltakende kommunene ha fulgt sammenligningsgruppens "
        "(parallelle trender). Kommunene valgte selv å søke og ble valgt ut etter kriterier (samisk "
        "forvaltningsområde, interkommunalt samarbeid), så forutsetningen kan ikke bevises; koeffisientene før 2019 "
        "i hendelsesstudien viser bare om trendene var parallelle før start.",
        "Assumption: without ALIS the participating municipalities would have developed in parallel with the "
        "comparison group (parallel trends). The municipalities chose to apply and were selected on criteria "
        "(Sami language area, inter-municipal cooperation), so the assumption cannot be proven; the pre-2019 "
        "event-study coefficients only show whether the trends were parallel before the start.",
    ),
    "not_estimable_reason": ("{what}: ikke estimerbar ({reason}).", "{what}: not estimable ({reason})."),
    "not_estimable": ("{what}: ikke estimerbar.", "{what}: not estimable."),
    # the summary of findings (summary_points)
    "s_did": (
        "Forskjell-i-forskjeller i fastlegeregisteret: {outcome} endret seg fra {year} med {estimate} {unit} (95 % KI) "
        "i de deltakende kommunene sammenlignet med {control}. {direction} Anslaget hviler på forutsetningen om "
        "parallelle trender – at de deltakende kommunene uten ALIS ville ha utviklet seg som sammenligningskommunene "
        "– og den kan ikke bevises.",
        "Difference in differences in the GP register: {outcome} changed from {year} by {estimate} {unit} (95% CI) "
        "in the participating municipalities compared with {control}. {direction} The estimate rests on the "
        "assumption of parallel trends – that without ALIS the participating municipalities would have developed "
        "like the comparison municipalities – which cannot be proven.",
    ),
    "s_did_not_estimable": (
        "Forskjell-i-forskjeller i fastlegeregisteret ({outcome}, deltakende kommuner mot {control}): ikke "
        "estimerbar med disse dataene (for få kommuner eller år med data).",
        "Difference in differences in the GP register ({outcome}, participating municipalities vs {control}): not "
        "estimable with these data (too few municipalities or years with data).",
    ),
    "s_did_none": ("Intervallet omfatter ingen forskjell.", "The interval includes no difference."),
    "s_did_better": ("På dette målet kom de deltakende kommunene bedre ut.",
                     "On this measure the participating municipalities fared better."),
    "s_did_worse": ("På dette målet kom de deltakende kommunene dårligere ut.",
                    "On this measure the participating municipalities fared worse."),
    "s_did_outcome_vacancy_share": ("andelen listemåneder uten fast lege",
                                    "the share of list-months without a permanent GP"),
    "s_did_outcome_turnover": ("turnover", "turnover"),
    "s_did_unit_vacancy_share": ("prosentpoeng", "percentage points"),
    "s_did_unit_turnover": ("avganger per 100 listeår", "exits per 100 list-years"),
    "s_alis": (
        "ALIS mot andre fastleger som fikk liste i de samme kommunene og årene (fastlegeregisteret): hasardratio "
        "for å slutte {hr}, justert for kommunestørrelse og startår. {direction} Sammenligningen er beskrivende, "
        "ikke en virkning av ordningen: ALIS er yngre, i utdanning og målt i en annen kilde.",
        "ALIS vs other GPs who took a list in the same municipalities and years (GP register): hazard ratio of "
        "leaving {hr}, adjusted for municipality size and start year. {direction} The comparison is descriptive, "
        "not an effect of the scheme: ALIS are younger, in training and measured in another source.",
    ),
    "s_alis_none": ("Intervallet omfatter ingen forskjell.", "The interval includes no difference."),
    "s_alis_higher": ("ALIS sluttet raskere enn de andre fastlegene.", "ALIS left sooner than the other GPs."),
    "s_alis_lower": ("ALIS ble lenger i stillingen enn de andre fastlegene.", "ALIS stayed longer than the other GPs."),
    "s_alis_not_estimable": (
        "ALIS mot andre fastleger som fikk liste i de samme kommunene og årene (fastlegeregisteret): ikke "
        "estimerbar med disse dataene.",
        "ALIS vs other GPs who took a list in the same municipalities and years (GP register): not estimable "
        "with these data.",
    ),
    "s_alis_few": (
        "ALIS mot andre fastleger som fikk liste i de samme kommunene og årene (fastlegeregisteret): for få forløp "
        "i en av gruppene til et anslag (under {m}).",
        "ALIS vs other GPs who took a list in the same municipalities and years (GP register): too few episodes "
        "in one of the groups for an estimate (under {m}).",
    ),
    "col_size_class": ("Innbyggere", "Inhabitants"),
    "col_contracts": ("Avtaler", "Contracts"),
    "col_median_ci": ("Median, år (95 % KI)", "Median, years (95% CI)"),
    "col_published": ("Publisert (Abelsen mfl.)", "Published (Abelsen et al.)"),
    "col_term": ("Variabel", "Variable"),
    "col_hr": ("Hasardratio (95 % KI)", "Hazard ratio (95% CI)"),
    "col_p": ("p", "p"),
    "col_group": ("Gruppe", "Group"),
    "col_episodes": ("Forløp", "Episodes"),
    "col_exits": ("Avganger", "Exits"),
    "col_municipalities": ("Kommuner", "Municipalities"),
    "col_outcome": ("Utfall", "Outcome"),
    "col_comparison": ("Sammenlignet med", "Compared with"),
    "col_estimate": ("Anslag (95 % KI)", "Estimate (95% CI)"),
    "col_clusters": ("Kommuner (delt./sml.)", "Municipalities (part./comp.)"),
    "col_before": ("Før 2019", "Before 2019"),
    "col_after": ("Fra 2019", "From 2019"),
    "all": ("alle", "all"),
    "ALIS": ("ALIS", "ALIS"),
    "other GPs": ("andre fastleger", "other GPs"),
    "participating": ("deltakende", "participating"),
    "rejected": ("avslåtte søkere", "rejected applicants"),
    "non-applicant": ("søkte ikke", "non-applicants"),
    "vacancy_share": ("andel uten fast lege", "share without a permanent GP"),
    "turnover": ("turnover", "turnover"),
    "sex=M": ("menn", "men"),
    "age_at_start": ("alder ved start (per år)", "age at start (per year)"),
    "list_size_100": ("listestørrelse (per 100)", "list size (per 100)"),
    "alis": ("ALIS", "ALIS"),
    "start_year": ("startår (per år)", "start year (per year)"),
}
