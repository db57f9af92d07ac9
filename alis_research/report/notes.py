"""Analysis notes and internal values as the report publishes them (bokmål ``nb`` or English ``en``).

The analyses record caveats in English through
:meth:`~alis_research.result.AnalysisResult.add_note`, e.g.
``"unstable: 22 exits for 5 coefficient(s) (fewer than 10 per coefficient);
estimates may be biased away from 1"``. :func:`publish_note` recognises each
note template that can reach a report (:data:`TEMPLATES`, one regular
expression per f-string in the analysis modules), rewrites it in the report's
language and masks **only** the numbers that count people, episodes or events
(the named groups listed in ``NoteTemplate.counts``): thresholds, years,
degrees of freedom, p-values and the "1" of a hazard ratio are kept. Group
labels (``fastlønn``, ``<2000``, ``size_class=2000-4999``) become the labels
the report uses elsewhere.

A note no template recognises is published as before (English, every integer
below ``min_cell`` masked by :func:`~alis_research.disclosure.mask_small_numbers`)
so nothing is lost; ``tests/test_notes.py`` fails when a note produced while
building the demo or test reports is not recognised, i.e. when a new note
template has no translation here.

The module also holds the display labels of internal values (size classes,
specialist schemes, Cox terms, variables) and of the suppression log's table
and column names, in both languages.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Iterable

from .. import config
from ..disclosure import format_count, mask_small_numbers
from .text import THIN_SPACE, T, check_language, contract_label, fmt_number, has_text

# --------------------------------------------------------------------------- value labels
_SIZE_CLASS_RANGE = re.compile(r"^(\d+)-(\d+)$")

_SCHEMES = {"new": ("ny ordning", "new rules"), "old": ("gammel ordning", "old rules")}

_VARIABLES = {
    "size_class": ("kommunestørrelse", "municipality size"),
    "contract type": ("avtaleform", "contract type"),
    "contract_type": ("avtaleform", "contract type"),
    "cohort": ("avtaleform ved start", "contract type at start"),
    "area": ("helseforetaksområde", "health-trust area"),
    "sex": ("kjønn", "sex"),
    "centrality": ("sentralitet", "centrality"),
    "scheme": ("ordning for spesialistutdanning", "specialist training rules"),
    "age_at_start": ("alder ved start", "age at start"),
    "population": ("folketall", "population"),
    "sami_area": ("samisk område", "Sami area"),
    "list_size": ("listelengde", "list size"),
    "start_year": ("startår", "start year"),
    "year": ("kalenderår", "calendar year"),
    "municipality_code": ("kommune", "municipality"),
    "municipality": ("kommune", "municipality"),
    "unit": ("enhet", "unit"),
    "start": ("start", "start"),
    "stop": ("slutt", "stop"),
    "exit": ("avgang", "exit"),
    "group": ("gruppe", "group"),
    "alis": ("ALIS mot andre fastleger", "ALIS vs other GPs"),
    "list_size_100": ("listestørrelse (per 100 pasienter)", "list size (per 100 patients)"),
}

_SEXES = {"K": ("kvinner", "women"), "M": ("menn", "men")}

_DISTRIBUTIONS = {"weibull": ("Weibull", "Weibull"), "lognormal": ("log-normal", "log-normal"),
                  "exponential": ("eksponentiell", "exponential")}

_OTHER_VALUES = {"all": ("alle", "all"), "GLOBAL": ("Samlet (global test)", "Overall (global test)"),
                 "None": ("alle", "all"), "difference": ("differanse", "difference"),
                 # the groups of the register comparison (comparison.ALIS_GROUP, OTHER_GROUP)
                 "ALIS": ("ALIS", "ALIS"), "other GPs": ("andre fastleger", "other GPs")}

#: Outcomes and municipality groups of the difference in differences (comparison.py).
_DID_VALUES = {"vacancy_share": ("andel uten fast lege", "share without a permanent GP"),
               "turnover": ("turnover", "turnover"), "participating": ("deltakende kommuner", "participating municipalities"),
               "rejected": ("avslåtte søkere", "rejected applicants"), "non-applicant": ("kommuner som ikke søkte",
                                                                                     "non-applicant municipalities")}


def _pick(pair: tuple[str, str], language: str) -> str:
    return pair[0] if check_language(language) == "nb" else pair[1]


def _thousands(value: int, language: str) -> str:
    return fmt_number(value, 0, language)


def size_class_label(value, language: str = "nb") -> str:
    """A municipality size class in words: ``'2000-4999'`` -> ``'2 000–4 999'`` (nb) / ``'2,000–4,999'`` (en).

    ``'<2000'`` is "under 2 000" / "under 2,000" and ``'>=50000'`` "50 000 og over" / "50,000 and over";
    other values pass through unchanged.
    """
    text = str(value)
    if text.startswith("<") and text[1:].isdigit():
        return f"under {_thousands(int(text[1:]), language)}"
    if text.startswith(">=") and text[2:].isdigit():
        return f"{_thousands(int(text[2:]), language)} {_pick(('og over', 'and over'), language)}"
    match = _SIZE_CLASS_RANGE.match(text)
    if match:
        return f"{_thousands(int(match.group(1)), language)}–{_thousands(int(match.group(2)), language)}"
    return text


def scheme_label(value, language: str = "nb") -> str:
    """The specialist-training rules of an episode: ``new`` -> "ny ordning"/"new rules", ``old`` -> "gammel ordning"/"old rules"."""
    pair = _SCHEMES.get(str(value))
    return _pick(pair, language) if pair else str(value)


def variable_label(name, language: str = "nb") -> str:
    """A variable (covariate, stratum) in words, lower case: ``size_class`` -> "kommunestørrelse"."""
    pair = _VARIABLES.get(str(name).strip())
    return _pick(pair, language) if pair else str(name)


def value_label(value, language: str = "nb", variable: str | None = None) -> str:
    """A value of an analysis variable as the report shows it.

    Contract types, size classes, specialist schemes, sex (``variable="sex"``), distributions, ``all``;
    a combination such as ``'fastlønn, <2000'`` is labelled part by part.
    Unknown values (area names, years) pass through unchanged.
    """
    text = str(value)
    if variable == "scheme" or (variable is None and text in _SCHEMES):
        return scheme_label(text, language)
    if variable == "sex" and text in _SEXES:
        return _pick(_SEXES[text], language)
    if text in config.CONTRACT_TYPES:
        return contract_label(text, language)
    if text in config.SIZE_CLASS_LABELS:
        return size_class_label(text, language)
    if text in _DISTRIBUTIONS:
        return _pick(_DISTRIBUTIONS[text], language)
    if text in _OTHER_VALUES:
        return _pick(_OTHER_VALUES[text], language)
    if ", " in text:
        return ", ".join(value_label(part, language) for part in text.split(", "))
    return text


def capitalise(text: str) -> str:
    return text[:1].upper() + text[1:]


def term_label(term, language: str = "nb") -> str:
    """A Cox-model term as the report shows it.

    ``'næring'`` -> the contract label; ``'size_class=2000-4999'`` -> "Kommunestørrelse 2 000–4 999" /
    "Municipality size 2,000–4,999"; ``'size_class'`` (a whole covariate, as in the PH test) ->
    "Kommunestørrelse"; ``'GLOBAL'`` -> the global test.
    """
    text = str(term)
    if text in config.CONTRACT_TYPES or text in _OTHER_VALUES:
        return value_label(text, language)
    if "=" in text:
        variable, level = text.split("=", 1)
        return f"{capitalise(variable_label(variable, language))} {value_label(level, language, variable)}"
    if text in _VARIABLES:
        return capitalise(variable_label(text, language))
    return text


def _group_value_label(group: str, value: str, language: str) -> str:
    """``'{group}={label}'`` of the duration notes in words: the value's label, with the variable for size classes."""
    if value in ("None", "all"):
        return value_label("all", language)
    if group == "size_class":
        return f"{variable_label(group, language)} {size_class_label(value, language)}"
    return value_label(value, language, group)


#: Columns whose values :func:`publish_values` turns into labels.
LABELLED_COLUMNS = {"size_class": size_class_label, "term": term_label, "scheme": scheme_label,
                    "distribution": lambda v, language: value_label(v, language)}


def publish_values(frame, language: str = "nb"):
    """A copy of ``frame`` with internal values in :data:`LABELLED_COLUMNS` replaced by their labels (missing kept)."""
    import pandas as pd

    out = frame.copy()
    for column, labeller in LABELLED_COLUMNS.items():
        if column in out.columns and not pd.api.types.is_numeric_dtype(out[column]):
            out[column] = [v if v is None or (not isinstance(v, str) and pd.isna(v)) else labeller(v, language)
                           for v in out[column]]
    return out


# --------------------------------------------------------------------------- note templates
def _count(value: str, language: str, min_cell: int) -> str:
    """A count of people/episodes/events: masked below ``min_cell``."""
    return format_count(int(value), min_cell, thousands=THIN_SPACE if language == "nb" else ",")


def _decimal(value: str, language: str, min_cell: int) -> str:
    """A number written by the analysis (``'2.34'``, ``'5'``): same decimals, the report's decimal mark."""
    decimals = len(value.split(".", 1)[1]) if "." in value else 0
    return fmt_number(float(value), decimals, language)


def _percent(value: str, language: str, min_cell: int) -> str:
    return f"{value[:-1]}\u00a0%" if language == "nb" else value


def _label(value: str, language: str, min_cell: int) -> str:
    return value_label(value, language)


def uncapitalise(text: str) -> str:
    return text[:1].lower() + text[1:] if text[:2] != text[:2].upper() else text


def _term(value: str, language: str, min_cell: int) -> str:
    return uncapitalise(term_label(value, language))


def _variable(value: str, language: str, min_cell: int) -> str:
    return variable_label(value, language)


def _variables(value: str, language: str, min_cell: int) -> str:
    return ", ".join(variable_label(v, language) for v in value.split(", "))


def _terms(value: str, language: str, min_cell: int) -> str:
    return ", ".join(_term(v, language, min_cell) for v in value.split(", "))


def _size_class(value: str, language: str, min_cell: int) -> str:
    return size_class_label(value, language)


def _size_class_group(value: str, language: str, min_cell: int) -> str:
    """"size class X" of a note: "kommunestørrelse 2 000–4 999", or all size classes together."""
    if value == "all":
        return _pick(("alle kommunestørrelser samlet", "all municipality sizes together"), language)
    return f"{variable_label('size_class', language)} {size_class_label(value, language)}"


def _keep(value: str, language: str, min_cell: int) -> str:
    return value


def _did_value(value: str, language: str, min_cell: int) -> str:
    """An outcome or municipality group of the difference in differences in words."""
    pair = _DID_VALUES.get(value)
    return _pick(pair, language) if pair else value


#: How a named group is published, by its name (a group not listed is kept as written).
_FIELDS: dict[str, Callable[[str, str, int], str]] = {
    "label": _label, "cohort": _label, "level": _label, "distribution": _label,
    "size_class": _size_class, "size_class_group": _size_class_group, "term": _term, "terms": _terms, "variable": _variable, "variables": _variables,
    "time": _decimal, "follow_up": _decimal, "tau": _decimal, "horizon": _decimal, "median": _decimal,
    "dispersion": _decimal, "threshold": _decimal, "p": _decimal, "hr": _decimal, "factor": _decimal,
    "shape": _decimal, "power": _percent,
    "outcome": _did_value, "treated": _did_value, "control": _did_value,
}

_G = r"(?P<label>.+?)"  # a group label at the start of a note
_N = r"(?P<n>\d+)"
_NUM = r"-?\d+(?:\.\d+)?(?:e[+-]?\d+)?"


@dataclass(frozen=True)
class NoteTemplate:
    """One note template of an analysis: how to recognise it and how to write it.

    ``pattern`` matches the whole English note; ``nb`` and ``en`` are
    :meth:`str.format` templates over the pattern's named groups; ``counts``
    names the groups holding counts of people, episodes or events (masked
    below ``min_cell``); every other group is published as :data:`_FIELDS`
    says (labels translated, decimals in the report's style, the rest as is).
    """

    key: str
    pattern: str
    nb: str
    en: str
    counts: tuple[str, ...] = ()
    regex: re.Pattern = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "regex", re.compile(self.pattern, re.S))

    def render(self, match: re.Match, language: str, min_cell: int) -> str:
        values = {}
        for name, raw in match.groupdict().items():
            raw = "" if raw is None else raw
            if name in self.counts:
                values[name] = _count(raw, language, min_cell)
            elif name == "group_value":
                group, _, value = raw.partition("=")
                values[name] = _group_value_label(group, value, language)
            elif name == "level" and match.groupdict().get("variable"):
                values[name] = value_label(raw, language, match.group("variable"))
            else:
                values[name] = _FIELDS.get(name, _keep)(raw, language, min_cell)
        return (self.nb if language == "nb" else self.en).format(**values)


def _t(key, pattern, nb, en, counts=()):
    return NoteTemplate(key, pattern, nb, en, tuple(counts))


_GV = r"(?P<group_value>[^=:]+=.+?)"  # "{group}={label}" of the duration notes

#: Every note template that can reach a report, grouped by analysis module.
TEMPLATES: tuple[NoteTemplate, ...] = (
    # ---- retention.py: Kaplan–Meier, log-rank, RMST
    _t("strata_missing",
       rf"{_N} episode\(s\) without a value of (?P<variable>\w+) left out of the stratified analysis: .*",
       "{n} forløp uten verdi for {variable} er holdt utenfor den stratifiserte analysen",
       "{n} episode(s) without a value of {variable} left out of the stratified analysis", counts=("n",)),
    _t("km_beyond_follow_up",
       rf"{_G}: survival at (?P<time>{_NUM}) years not estimable: no one followed that long "
       rf"\(longest follow-up (?P<follow_up>{_NUM}) years\)",
       "{label}: andelen som blir etter {time} år kan ikke anslås, ingen er fulgt så lenge (lengste oppfølging {follow_up} år)",
       "{label}: survival at {time} years not estimable: no one followed that long (longest follow-up {follow_up} years)"),
    _t("km_median_not_reached", rf"{_G}: median retention not reached \(survival stays above 0\.5\)",
       "{label}: median bli-tid er ikke nådd (andelen som blir, holder seg over 0,5)",
       "{label}: median retention not reached (survival stays above 0.5)"),
    _t("km_median_upper", rf"{_G}: upper confidence limit of the median not reached",
       "{label}: øvre konfidensgrense for medianen er ikke nådd",
       "{label}: upper confidence limit of the median not reached"),
    _t("km_no_events",
       rf"{_G}: no events \(no one has left\): survival is 1 throughout, it has no confidence interval, "
       r"and the median is not reached",
       "{label}: ingen avganger (ingen har sluttet): andelen som blir, er 1 hele tiden, uten konfidensintervall, og medianen er ikke nådd",
       "{label}: no events (no one has left): survival is 1 throughout, it has no confidence interval, and the median is not reached"),
    _t("km_few_events", rf"{_G}: only (?P<events>\d+) event\(s\): estimates are unstable",
       "{label}: bare {events} avgang(er): anslagene er ustabile",
       "{label}: only {events} event(s): estimates are unstable", counts=("events",)),
    _t("logrank_one_group", r"log-rank test not estimable: only one (?P<variable>\w+) \((?P<level>.*)\), nothing to compare",
       "log-rank-testen kan ikke beregnes: bare én verdi av {variable} ({level}), ingenting å sammenligne",
       "log-rank test not estimable: only one {variable} ({level}), nothing to compare"),
    _t("logrank_no_exits", r"log-rank test not estimable: no exits in any group",
       "log-rank-testen kan ikke beregnes: ingen avganger i noen gruppe",
       "log-rank test not estimable: no exits in any group"),
    _t("logrank_one_at_risk",
       r"log-rank test not estimable: no exit while more than one (?P<variable>\w+) was at risk",
       "log-rank-testen kan ikke beregnes: ingen avgang mens mer enn én verdi av {variable} var under risiko",
       "log-rank test not estimable: no exit while more than one {variable} was at risk"),
    _t("rmst_beyond_follow_up",
       rf"{_G}: tau = (?P<tau>{_NUM}) years is beyond the longest follow-up \((?P<follow_up>{_NUM}) years\); "
       r"the survival curve is held at its last value up to tau \(as R's survival package does\), "
       r"so the RMST assumes no exits after follow-up ends",
       "{label}: tidshorisonten på {tau} år går ut over den lengste oppfølgingen ({follow_up} år); kurven holdes på siste verdi fram til horisonten (som i R-pakken survival), så RMST forutsetter ingen avganger etter at oppfølgingen slutter",
       "{label}: tau = {tau} years is beyond the longest follow-up ({follow_up} years); the survival curve is held at its last value up to tau (as R's survival package does), so the RMST assumes no exits after follow-up ends"),
    # ---- turnover.py: rates, rate ratio, vacancy
    _t("rate_no_person_time", rf"{_G}: no person-time, rate not estimable",
       "{label}: ingen persontid, raten kan ikke beregnes", "{label}: no person-time, rate not estimable"),
    _t("rate_no_exits", rf"{_G}: no exits; the rate is 0 and only its upper limit is informative",
       "{label}: ingen avganger; raten er 0, og bare den øvre grensen er informativ",
       "{label}: no exits; the rate is 0 and only its upper limit is informative"),
    _t("overdispersion",
       rf"Poisson model overdispersed \(Pearson χ²/df = (?P<dispersion>{_NUM}) > (?P<threshold>{_NUM})\); "
       r"the negative-binomial estimate is reported beside it",
       "Poisson-modellen har overspredning (Pearson χ²/fg = {dispersion} > {threshold}); anslaget fra negativ binomisk modell står ved siden av",
       "Poisson model overdispersed (Pearson χ²/df = {dispersion} > {threshold}); the negative-binomial estimate is reported beside it"),
    _t("irr_no_person_time", r"rate ratio not estimable: no person-time under (?P<cohort>\S+)",
       "rateratioen kan ikke beregnes: ingen persontid på {cohort}",
       "rate ratio not estimable: no person-time under {cohort}"),
    _t("irr_no_exits", r"rate ratio not estimable: no exits under (?P<cohort>\S+) \(the rate ratio would be 0 or infinite\)",
       "rateratioen kan ikke beregnes: ingen avganger på {cohort} (rateratioen ville blitt 0 eller uendelig)",
       "rate ratio not estimable: no exits under {cohort} (the rate ratio would be 0 or infinite)"),
    _t("poisson_no_convergence", r"Poisson rate ratio not estimable: the model did not converge(?: \(.*\))?",
       "rateratioen fra Poisson-modellen kan ikke beregnes: modellen konvergerte ikke",
       "Poisson rate ratio not estimable: the model did not converge"),
    _t("poisson_separation", r"Poisson rate ratio not estimable: separation \(standard error explodes\)",
       "rateratioen fra Poisson-modellen kan ikke beregnes: separasjon (standardfeilen eksploderer)",
       "Poisson rate ratio not estimable: separation (standard error explodes)"),
    _t("poisson_level_separation",
       r"covariate level\(s\) (?P<terms>.+) have no exits \(separation\): their coefficients are not estimable; "
       r"the (?P<term>\S+) rate ratio is still identified from the other levels",
       "nivåer av kovariater uten avganger (separasjon): {terms}; koeffisientene deres kan ikke anslås, men rateratioen for {term} er fortsatt identifisert av de andre nivåene",
       "covariate level(s) {terms} have no exits (separation): their coefficients are not estimable; the {term} rate ratio is still identified from the other levels"),
    _t("nb_no_convergence", r"negative-binomial rate ratio not estimable: the model did not converge(?: \(.*\))?",
       "rateratioen fra negativ binomisk modell kan ikke beregnes: modellen konvergerte ikke",
       "negative-binomial rate ratio not estimable: the model did not converge"),
    # unit names and dates of a handover are not published: these notes say what happened, not where
    _t("vacancy_unknown_units", r"episodes in unit\(s\) not in the roster left out of vacancy: .*",
       "forløp i enheter som ikke står i oversikten over stillinger, er holdt utenfor beregningen av ubesatt tid",
       "episodes in units not in the roster of positions are left out of the vacancy"),
    _t("vacancy_no_episodes", r"(?P<unit>.+?): no episodes, vacancy not computed",
       "en enhet uten forløp er holdt utenfor beregningen av ubesatt tid",
       "a unit without episodes is left out of the vacancy"),
    _t("vacancy_overlap",
       r"(?P<unit>.+?): more holders than its (?P<positions>\d+) position\(s\) on (?P<days>\d+) day\(s\) "
       r"\(overlapping handover\); the surplus is not counted",
       "overlappende overlevering: dager med flere leger enn stillinger i en enhet teller bare de besatte stillingene",
       "overlapping handover: on days with more holders than positions in a unit only the positions are counted"),
    # ---- duration.py: Cox, PH test, competing risks, parametric, size-class medians
    _t("cox_missing", rf"{_N} interval\(s\) with a missing value in (?P<variables>.+) left out",
       "{n} tidsintervall(er) med manglende verdi i {variables} er holdt utenfor",
       "{n} interval(s) with a missing value in {variables} left out", counts=("n",)),
    _t("cox_reference", r"reference level for (?P<variable>[\w ]+): (?P<level>.+)",
       "referansenivå for {variable}: {level}", "reference level for {variable}: {level}"),
    _t("cox_no_exits", r"not estimable: no exits in the data",
       "kan ikke anslås: ingen avganger i dataene", "not estimable: no exits in the data"),
    _t("cox_constant", r"not estimable: no variation in (?P<terms>.+)",
       "kan ikke anslås: ingen variasjon i {terms}", "not estimable: no variation in {terms}"),
    _t("cox_no_maximum",
       r"not estimable: the partial likelihood has no maximum \(a coefficient runs off to infinity: "
       r"separation, e\.g\. all exits in one group\)",
       "kan ikke anslås: den partielle likelihooden har ikke noe maksimum (en koeffisient går mot uendelig: separasjon, f.eks. alle avganger i én gruppe)",
       "not estimable: the partial likelihood has no maximum (a coefficient runs off to infinity: separation, e.g. all exits in one group)"),
    _t("cox_no_convergence", r"not estimable: the Cox model did not converge",
       "kan ikke anslås: Cox-modellen konvergerte ikke", "not estimable: the Cox model did not converge"),
    _t("cox_one_cluster",
       r"cluster-robust standard error not estimable: all intervals are in one (?P<variable>\w+); "
       r"hazard-ratio intervals and p-values use the model-based standard error",
       "den klyngerobuste standardfeilen kan ikke beregnes fordi alle intervallene er i én {variable}; konfidensintervall og p-verdier for hasardratioene bruker den modellbaserte standardfeilen",
       "cluster-robust standard error not estimable: all intervals are in one {variable}; hazard-ratio intervals and p-values use the model-based standard error"),
    _t("cox_few_clusters",
       r"only (?P<clusters>\d+) cluster\(s\) of (?P<variable>\w+): the cluster-robust standard error is unreliable "
       r"with fewer than (?P<minimum>\d+); hazard-ratio intervals and p-values use the model-based "
       r"standard error \(the robust one is reported beside it\)",
       "bare {clusters} klynge(r) ({variable}): den klyngerobuste standardfeilen er upålitelig med færre enn {minimum}; konfidensintervall og p-verdier for hasardratioene bruker den modellbaserte standardfeilen (den robuste står ved siden av)",
       "only {clusters} cluster(s) of {variable}: the cluster-robust standard error is unreliable with fewer than {minimum}; hazard-ratio intervals and p-values use the model-based standard error (the robust one is reported beside it)"),
    _t("cox_robust", r"hazard-ratio intervals and p-values use the cluster-robust standard error",
       "konfidensintervall og p-verdier for hasardratioene bruker den klyngerobuste standardfeilen",
       "hazard-ratio intervals and p-values use the cluster-robust standard error"),
    _t("cox_robust_corrected",
       r"hazard-ratio intervals and p-values use the cluster-robust standard error with the few-cluster "
       r"correction \(variance × G/\(G−1\), t on G−1 degrees of freedom\)",
       "konfidensintervall og p-verdier for hasardratioene bruker den klyngerobuste standardfeilen med korreksjon for få klynger (variansen × G/(G−1), t-fordeling med G−1 frihetsgrader)",
       "hazard-ratio intervals and p-values use the cluster-robust standard error with the few-cluster correction (variance × G/(G−1), t on G−1 degrees of freedom)"),
    _t("cox_unstable",
       r"unstable: (?P<events>\d+) exits for (?P<coefficients>\d+) coefficient\(s\) "
       r"\(fewer than (?P<minimum>\d+) per coefficient\); estimates may be biased away from 1",
       "ustabil modell: {events} avganger for {coefficients} koeffisient(er) (færre enn {minimum} per koeffisient); anslagene kan være skjeve i retning bort fra 1",
       "unstable: {events} exits for {coefficients} coefficient(s) (fewer than {minimum} per coefficient); estimates may be biased away from 1",
       counts=("events",)),
    _t("ph_not_estimable", r"not estimable: the Cox model itself was not estimable",
       "kan ikke beregnes: Cox-modellen selv kunne ikke anslås",
       "not estimable: the Cox model itself was not estimable"),
    _t("ph_violated",
       rf"the hazard ratio for (?P<term>.+?) seems to change over time \(p = (?P<p>{_NUM})\); "
       r"read the hazard ratio as an average over the follow-up",
       "hasardratioen for {term} ser ut til å endre seg over tid (p = {p}); les den som et gjennomsnitt over oppfølgingstiden",
       "the hazard ratio for {term} seems to change over time (p = {p}); read the hazard ratio as an average over the follow-up"),
    _t("cif_beyond_follow_up",
       rf"{_GV}: follow-up ends at (?P<follow_up>{_NUM}) years, no estimate at (?P<time>{_NUM}) years",
       "{group_value}: oppfølgingen slutter ved {follow_up} år, så det er ikke noe anslag ved {time} år",
       "{group_value}: follow-up ends at {follow_up} years, no estimate at {time} years"),
    _t("cif_no_exits", rf"{_GV}: no exits, cumulative incidence is 0 throughout",
       "{group_value}: ingen avganger, den kumulative insidensen er 0 hele tiden",
       "{group_value}: no exits, cumulative incidence is 0 throughout"),
    _t("parametric_few_exits",
       rf"{_GV}: not estimable, (?P<events>\d+) exit\(s\) \(need at least (?P<minimum>\d+)\)",
       "{group_value}: kan ikke anslås, {events} avgang(er) (trenger minst {minimum})",
       "{group_value}: not estimable, {events} exit(s) (need at least {minimum})", counts=("events",)),
    _t("parametric_no_convergence", rf"{_GV}: the (?P<distribution>\w+) fit did not converge",
       "{group_value}: tilpasningen av {distribution}-modellen konvergerte ikke",
       "{group_value}: the {distribution} fit did not converge"),
    _t("parametric_none_converged", rf"{_GV}: not estimable, no parametric fit converged",
       "{group_value}: kan ikke anslås, ingen parametrisk modell konvergerte",
       "{group_value}: not estimable, no parametric fit converged"),
    _t("parametric_extrapolated",
       rf"{_GV}: the estimated median \((?P<median>{_NUM}) years, (?P<distribution>\w+)\) lies far beyond the "
       rf"longest follow-up \((?P<follow_up>{_NUM}) years\): an extrapolation resting on the model's shape",
       "{group_value}: den anslåtte medianen ({median} år, {distribution}) ligger langt utenfor den lengste oppfølgingen ({follow_up} år): en framskriving som hviler på modellens form",
       "{group_value}: the estimated median ({median} years, {distribution}) lies far beyond the longest follow-up ({follow_up} years): an extrapolation resting on the model's shape"),
    _t("size_class_median", r"size class (?P<size_class_group>.+?): median not reached \(the curve stays above 0\.5\)",
       "{size_class_group}: medianen er ikke nådd (kurven holder seg over 0,5)",
       "{size_class_group}: median not reached (the curve stays above 0.5)"),
    # ---- costs.py: cost per retained year
    _t("costs_assumptions",
       r"'grants' reproduces seed 003 \(recruitment and basic grants\); salary, office, fee income, "
       r"supervision cost and the period of the ALIS-Nord grant are documented assumptions "
       r"\(cost_parameters\.csv, source 'assumption'\): replace them with local figures",
       "tilskuddene (rekrutterings- og basistilskudd) følger seed 003; lønn, kontor, honorarinntekter, veiledningskostnad og perioden for ALIS-Nord-tilskuddet er dokumenterte antakelser (cost_parameters.csv, kilde «assumption») som bør erstattes med lokale tall",
       "'grants' reproduces seed 003 (recruitment and basic grants); salary, office, fee income, supervision cost and the period of the ALIS-Nord grant are documented assumptions (cost_parameters.csv, source 'assumption'): replace them with local figures"),
    _t("costs_not_modelled", r"costs during the hospital year and of recruiting a successor are not modelled",
       "kostnader i sykehusåret og ved rekruttering av en etterfølger er ikke modellert",
       "costs during the hospital year and of recruiting a successor are not modelled"),
    _t("costs_no_episodes", r"(?P<cohort>\S+): not estimable \(no episodes\)",
       "{cohort}: kan ikke anslås (ingen forløp)", "{cohort}: not estimable (no episodes)"),
    _t("costs_few_exits",
       r"(?P<cohort>\S+): not estimable \((?P<events>\d+) exit\(s\), a parametric fit needs (?P<minimum>\d+)\)",
       "{cohort}: kan ikke anslås ({events} avgang(er), en parametrisk modell trenger {minimum})",
       "{cohort}: not estimable ({events} exit(s), a parametric fit needs {minimum})", counts=("events",)),
    _t("costs_horizon",
       rf"(?P<cohort>\S+): the horizon \((?P<horizon>{_NUM}) years\) is beyond the longest follow-up "
       rf"\((?P<follow_up>{_NUM}) years\); the curve is held at its last value",
       "{cohort}: tidshorisonten ({horizon} år) går ut over den lengste oppfølgingen ({follow_up} år); kurven holdes på siste verdi",
       "{cohort}: the horizon ({horizon} years) is beyond the longest follow-up ({follow_up} years); the curve is held at its last value"),
    _t("costs_bootstrap_failed",
       r"(?P<cohort>\S+): (?P<failed>\d+) of (?P<resamples>\d+) bootstrap resamples not estimable(?P<withheld>; interval withheld)?",
       "{cohort}: {failed} av {resamples} bootstrap-utvalg kunne ikke anslås{withheld}",
       "{cohort}: {failed} of {resamples} bootstrap resamples not estimable{withheld}"),
    _t("costs_no_bootstrap", r"bootstrap = 0: no confidence intervals",
       "ingen bootstrap-utvalg: ingen konfidensintervall", "bootstrap = 0: no confidence intervals"),
    _t("costs_rough_intervals",
       r"fewer than (?P<minimum>\d+) episodes in a cohort: bootstrap percentile intervals are rough",
       "færre enn {minimum} forløp i en kohort: bootstrap-persentilintervallene er grove",
       "fewer than {minimum} episodes in a cohort: bootstrap percentile intervals are rough"),
    # ---- pathway.py: specialist approval, hospital year, supervision
    _t("pathway_after_approval", rf"{_N} episode\(s\) started after the person's specialist approval: left out",
       "{n} forløp som startet etter at personen var godkjent spesialist, er holdt utenfor",
       "{n} episode(s) started after the person's specialist approval: left out", counts=("n",)),
    _t("pathway_no_episodes", r"(?P<cohort>\S+): no episodes, time to approval not estimable",
       "{cohort}: ingen forløp, tiden til spesialistgodkjenning kan ikke anslås",
       "{cohort}: no episodes, time to approval not estimable"),
    _t("pathway_no_approvals",
       r"(?P<cohort>\S+): no specialist approvals recorded; the cumulative incidence of approval is 0 throughout",
       "{cohort}: ingen registrerte spesialistgodkjenninger; den kumulative insidensen av godkjenning er 0 hele tiden",
       "{cohort}: no specialist approvals recorded; the cumulative incidence of approval is 0 throughout"),
    _t("pathway_beyond_follow_up",
       rf"(?P<cohort>\S+): follow-up ends at (?P<follow_up>{_NUM}) years, no estimate at (?P<time>{_NUM}) years",
       "{cohort}: oppfølgingen slutter ved {follow_up} år, så det er ikke noe anslag ved {time} år",
       "{cohort}: follow-up ends at {follow_up} years, no estimate at {time} years"),
    _t("pathway_within_5_years",
       r"the share approved within the normed 5 years is the cumulative incidence at 5 years: ALIS still in training "
       r"at the as-of date are censored, so the raw count 'approved_within_5_years' understates it while follow-up "
       r"is shorter than 5 years; approvals recorded after an ALIS left the post are not seen",
       "andelen godkjent innen normert tid på 5 år er den kumulative insidensen ved 5 år: ALIS som fortsatt er i utdanning på datadatoen, er sensurert, så det rå antallet godkjent innen 5 år undervurderer andelen så lenge oppfølgingen er kortere enn 5 år; godkjenninger etter at en ALIS forlot stillingen, er ikke med",
       "the share approved within the normed 5 years is the cumulative incidence at 5 years: ALIS still in training at the as-of date are censored, so the raw count approved within 5 years understates it while follow-up is shorter than 5 years; approvals recorded after an ALIS left the post are not seen"),
    _t("pathway_no_hospital_year",
       r"(?P<cohort>\S+): no completed hospital year with a known outcome; the return share is not estimable",
       "{cohort}: ingen fullført sykehusår med kjent utfall; andelen som kom tilbake, kan ikke anslås",
       "{cohort}: no completed hospital year with a known outcome; the return share is not estimable"),
    _t("pathway_returned",
       r"'returned' = still in post (?P<months>\d+) months after the hospital year ended; the "
       r"hospital year itself is not an exit \(the ALIS is away, not gone\)",
       "«kom tilbake» = fortsatt i stillingen {months} måneder etter at sykehusåret var slutt; sykehusåret er i seg selv ikke en avgang (ALIS-en er borte, ikke sluttet)",
       "'returned' = still in post {months} months after the hospital year ended; the hospital year itself is not an exit (the ALIS is away, not gone)"),
    _t("pathway_no_supervision",
       r"no supervision table \(supervision\.csv/\.xlsx\) in the dataset: fidelity not estimable",
       "ingen veiledningstabell (supervision.csv/.xlsx) i datasettet: etterlevelse av veiledningsplanen kan ikke beregnes",
       "no supervision table (supervision.csv/.xlsx) in the dataset: fidelity not estimable"),
    _t("pathway_supervision_absent",
       rf"{_N} episode\(s\) of people absent from the supervision table are left out \(no data\)",
       "{n} forløp for personer som mangler i veiledningstabellen, er holdt utenfor (ingen data)",
       "{n} episode(s) of people absent from the supervision table are left out (no data)", counts=("n",)),
    _t("pathway_small_groups",
       r"groups with fewer than (?P<minimum>\d+) episodes are suppressed with every number derived from them",
       "grupper med færre enn {minimum} forløp er skjermet sammen med alle tall som er avledet fra dem",
       "groups with fewer than {minimum} episodes are suppressed with every number derived from them"),
    # ---- power.py: simulated power
    _t("power_not_estimable",
       rf"HR (?P<hr>{_NUM}), (?P<test>[^:]+): (?P<failed>\d+) of (?P<simulations>\d+) simulated cohorts not "
       r"estimable \(no exits, or all exits in one cohort so the Cox estimate runs off to infinity\); "
       r"counted as no rejection",
       "HR {hr}, {test}: {failed} av {simulations} simulerte kohorter kunne ikke anslås (ingen avganger, eller alle avganger i én kohort slik at Cox-anslaget går mot uendelig); telt som ikke forkastet",
       "HR {hr}, {test}: {failed} of {simulations} simulated cohorts not estimable (no exits, or all exits in one cohort so the Cox estimate runs off to infinity); counted as no rejection"),
    _t("power_design",
       rf"time to exit: Weibull \(shape (?P<shape>{_NUM})\) with median (?P<median>{_NUM}) years in the fastlønn "
       r"cohort, proportional hazards; real exits also depend on municipality size and centrality, "
       r"which this design ignores",
       "tid til avgang: Weibull (form {shape}) med median {median} år i fastlønnskohorten og proporsjonale hasarder; virkelige avganger avhenger også av kommunestørrelse og sentralitet, som dette designet ser bort fra",
       "time to exit: Weibull (shape {shape}) with median {median} years in the fastlønn cohort, proportional hazards; real exits also depend on municipality size and centrality, which this design ignores"),
    _t("power_not_reached",
       rf"(?P<test>[^:]+): (?P<power>\d+%) power is not reached for hazard ratios up to (?P<hr>{_NUM})",
       "{test}: en styrke på {power} nås ikke for hasardratioer opp til {hr}",
       "{test}: {power} power is not reached for hazard ratios up to {hr}"),
    _t("power_precision",
       rf"simulations per step: (?P<simulations>\d+); the hazard ratio is found to within a factor "
       rf"(?P<factor>{_NUM}) but is itself uncertain by Monte-Carlo error",
       "simuleringer per steg: {simulations}; hasardratioen er funnet med en presisjon på en faktor {factor}, men er selv usikker på grunn av Monte Carlo-feil",
       "simulations per step: {simulations}; the hazard ratio is found to within a factor {factor} but is itself uncertain by Monte-Carlo error"),
    # ---- comparison.py: register comparisons (Abelsen replication, ALIS vs other GPs, DiD); the
    # municipalities of the DiD and of the matching are not people: their numbers are shown, as in the tables
    _t("abelsen_window_before_extract",
       r"the window starts (?P<start>\d{4}-\d{2}-\d{2}), before the extract \((?P<first>\d{4}-\d{2})\): contracts "
       r"signed before the extract are unknown, so the analysis starts with the extract",
       "vinduet starter {start}, før registeruttrekket ({first}): avtaler inngått før uttrekket er ukjente, så analysen starter med uttrekket",
       "the window starts {start}, before the register extract ({first}): contracts signed before the extract are unknown, so the analysis starts with the extract"),
    _t("abelsen_size_on_2024_boundaries",
       r"size classes use the population on 2024 boundaries: a contract in a municipality merged since is "
       r"classed by the merged municipality, which moves some contracts into larger classes",
       "kommunestørrelsen bygger på folketallet etter 2024-inndelingen: en avtale i en kommune som senere er slått sammen, klassifiseres etter den sammenslåtte kommunen, og noen avtaler havner derfor i en større klasse",
       "size classes use the population on 2024 boundaries: a contract in a municipality merged since is classed by the merged municipality, which moves some contracts into larger classes"),
    _t("abelsen_no_size_class", rf"{_N} contract\(s\) without a municipality size class left out",
       "{n} avtale(r) uten kjent kommunestørrelse er holdt utenfor",
       "{n} contract(s) without a municipality size class left out", counts=("n",)),
    _t("abelsen_no_contracts",
       r"no register contract starts between (?P<start>\d{4}-\d{2}-\d{2}) and (?P<end>\d{4}-\d{2}-\d{2}) "
       r"\(the Abelsen window\); choose a window inside the extract",
       "ingen avtale i registeruttrekket starter mellom {start} og {end} (tidsvinduet til Abelsen mfl.)",
       "no contract in the register extract starts between {start} and {end} (the window of Abelsen et al.)"),
    _t("alis_not_linked",
       r"no ALIS person_id was found among the register's doctor_id: if the two extracts were pseudonymised with "
       r"different keys, the ALIS' own register contracts are in the comparison group \(a small dilution: see "
       r"docs/register\.md\)",
       "ingen ALIS ble funnet i registeret (ingen av ALIS-pseudonymene er blant registerets lege-id-er): er de to uttrekkene pseudonymisert med ulike nøkler, ligger ALIS-enes egne registeravtaler i sammenligningsgruppen (en liten utvanning i retning av ingen forskjell)",
       "no ALIS was found in the register (none of the ALIS pseudonyms is among the register's doctor ids): if the two extracts were pseudonymised with different keys, the ALIS' own register contracts are in the comparison group (a small dilution towards no difference)"),
    _t("alis_municipalities_missing",
       r"(?P<municipalities>\d+) ALIS municipality\(ies\) have no list in the register extract",
       "{municipalities} ALIS-kommune(r) har ingen fastlegeliste i registeruttrekket",
       "{municipalities} ALIS municipality(ies) have no list in the register extract"),
    _t("alis_no_other_gps", r"no other GP starts in the ALIS municipalities and years: no comparison possible",
       "ingen andre fastleger startet i ALIS-kommunene i de samme årene: ingen sammenligning er mulig",
       "no other GP starts in the ALIS municipalities and years: no comparison possible"),
    _t("alis_no_episodes_in_extract",
       r"no ALIS episode starts before the end of the register extract; nothing to compare",
       "ingen ALIS-forløp starter før registeruttrekket slutter; det er ingenting å sammenligne",
       "no ALIS episode starts before the end of the register extract; nothing to compare"),
    _t("did_parallel_trends",
       r"parallel trends: the estimates are causal only if, without ALIS, the outcomes of the participating "
       r"municipalities would have moved in parallel with those of the comparison group; the municipalities chose "
       r"to apply and were selected \(Sami area, cooperation\), so check the pre-2019 event-study coefficients, "
       r"which cannot prove it",
       "parallelle trender: anslagene kan bare leses som virkninger av ALIS hvis utfallene i de deltakende kommunene uten ALIS ville ha utviklet seg parallelt med sammenligningsgruppens; kommunene valgte selv å søke og ble valgt ut (samisk område, samarbeid), så se på koeffisientene før 2019 i hendelsesstudien, som likevel ikke kan bevise forutsetningen",
       "parallel trends: the estimates can be read as effects of ALIS only if, without ALIS, the outcomes of the participating municipalities would have moved in parallel with those of the comparison group; the municipalities chose to apply and were selected (Sami area, cooperation), so look at the pre-2019 event-study coefficients, which still cannot prove the assumption"),
    _t("did_few_municipalities",
       r"(?P<outcome>\w+), (?P<treated>[\w-]+) vs (?P<control>[\w-]+): not estimable: (?P<n_treated>\d+) (?P=treated) "
       r"and (?P<n_control>\d+) (?P=control) municipalities with data; the cluster-robust standard error needs at "
       r"least (?P<minimum>\d+) in each group",
       "{outcome}, {treated} mot {control}: kan ikke anslås: {n_treated} {treated} og {n_control} {control} med data; den klyngerobuste standardfeilen trenger minst {minimum} kommuner i hver gruppe",
       "{outcome}, {treated} vs {control}: not estimable: {n_treated} {treated} and {n_control} {control} with data; the cluster-robust standard error needs at least {minimum} municipalities in each group"),
    _t("did_years_missing",
       r"(?P<outcome>\w+), (?P<treated>[\w-]+) vs (?P<control>[\w-]+): not estimable: the panel needs years before "
       r"and from (?P<start_year>\d{4}) on, including the reference year (?P<reference_year>\d{4})",
       "{outcome}, {treated} mot {control}: kan ikke anslås: dataene må ha år både før og fra {start_year}, også referanseåret {reference_year}",
       "{outcome}, {treated} vs {control}: not estimable: the data need years both before and from {start_year} on, including the reference year {reference_year}"),
    _t("did_few_clusters",
       r"(?P<outcome>\w+), (?P<treated>[\w-]+) vs (?P<control>[\w-]+): only (?P<clusters>\d+) clusters; "
       r"cluster-robust intervals may still be too narrow",
       "{outcome}, {treated} mot {control}: bare {clusters} kommuner (klynger); de klyngerobuste intervallene kan likevel være for smale",
       "{outcome}, {treated} vs {control}: only {clusters} municipalities (clusters); the cluster-robust intervals may still be too narrow"),
    _t("did_no_panel", r"no municipality-years",
       "ingen kommuneår med data", "no municipality-years with data"),
    # ---- cohort.py: exclusion reasons (data-quality table)
    _t("excluded_after_as_of", r"starts after the as-of date",
       "starter etter datadatoen", "starts after the as-of date"),
    _t("excluded_on_as_of", r"starts on the as-of date \(no follow-up\)",
       "starter på datadatoen (ingen oppfølging)", "starts on the as-of date (no follow-up)"),
    _t("excluded_ends_on_start", r"ends on its start date \(no follow-up\)",
       "slutter samme dag som det starter (ingen oppfølging)", "ends on its start date (no follow-up)"),
)


def match_note(message: str) -> tuple[NoteTemplate, re.Match] | None:
    """The template that recognises the whole of ``message`` and its match, or None."""
    for template in TEMPLATES:
        match = template.regex.fullmatch(message.strip())
        if match:
            return template, match
    return None


#: Prefixes with which a result passes on the notes of an analysis it ran (``"Cox: {note}"``).
_PREFIXES = {"Cox": ("Cox-modell", "Cox model"), "cox": ("Cox-modell", "Cox model"),
             "km": ("Kaplan–Meier", "Kaplan–Meier"), "logrank": ("Log-rank-test", "Log-rank test"),
             "rmst": ("RMST", "RMST")}
_PREFIXED = re.compile(rf"^({'|'.join(_PREFIXES)}): (.+)$", re.S)


def is_known(message: str) -> bool:
    """Whether a template recognises ``message`` (so it is published translated)."""
    prefixed = _PREFIXED.match(message.strip())
    return (bool(prefixed) and is_known(prefixed.group(2))) or match_note(message) is not None


def publish_note(message: str, language: str = "nb", min_cell: int = config.DEFAULT_MIN_CELL) -> str:
    """A caveat note of an analysis as the report publishes it.

    Recognised notes are written in ``language`` with only the counts of
    people, episodes or events masked below ``min_cell``; unknown notes
    stay in English with every integer below ``min_cell`` masked (the
    cautious fallback of :func:`~alis_research.disclosure.mask_small_numbers`).
    """
    check_language(language)
    prefixed = _PREFIXED.match(message.strip())  # checked first: a group label could swallow the prefix
    if prefixed and is_known(prefixed.group(2)):
        inner = publish_note(prefixed.group(2), language, min_cell)
        return f"{_pick(_PREFIXES[prefixed.group(1)], language)}: {uncapitalise(inner)}"
    found = match_note(message)
    if found is None:
        return mask_small_numbers(message, min_cell)
    template, match = found
    return capitalise(template.render(match, language, min_cell))


def exclusion_reason(reason: str, language: str = "nb") -> str:
    """An exclusion reason of :mod:`alis_research.cohort` in ``language`` (mid-sentence, not capitalised)."""
    found = match_note(str(reason))
    return found[0].render(found[1], language, config.DEFAULT_MIN_CELL) if found else str(reason)


def publish_notes(messages: Iterable[str], language: str = "nb",
                  min_cell: int = config.DEFAULT_MIN_CELL) -> tuple[list[str], bool]:
    """Every note published (duplicates after translation dropped, order kept) and whether all were recognised."""
    published, all_known = [], True
    for message in messages:
        all_known &= is_known(message)
        text = publish_note(message, language, min_cell)
        if text not in published:
            published.append(text)
    return published, all_known


# --------------------------------------------------------------------------- the suppression log
#: Internal table names of :func:`~alis_research.disclosure.suppress_counts` -> caption keys in text.py.
TABLE_CAPTIONS = {
    "flow": "cap_flow", "start_year": "cap_start_year", "table1": "cap_table1", "km_survival": "cap_km_table",
    "km_median": "cap_median", "rmst": "cap_rmst", "rates_contract_type": "cap_rates", "vacancy": "cap_vacancy",
    "cox": "cap_cox", "ph_test": "cap_ph", "cumulative_incidence": "cap_cif", "parametric": "cap_parametric",
    "abelsen": "cap_abelsen",
    "pathway_cif": "cap_pw_cif", "pathway_outcomes": "cap_pw_counts", "hospital_year": "cap_pw_hospital",
    "supervision_cohort": "cap_pw_sup_cohort", "supervision_unit": "cap_pw_sup_unit",
}

#: Columns of the pathway tables -> their text keys (their names differ from the ``col_*`` scheme).
PATHWAY_COLUMNS = {
    "approved": "pw_col_n_approved", "exit_before_approval": "pw_col_n_exit", "censored": "pw_col_n_censored",
    "with_hospital_year": "pw_h_with", "returned": "pw_h_returned", "left_within_window": "pw_h_left_within_window",
    "left_during": "pw_h_left_during", "not_yet_known": "pw_h_not_yet_known", "ongoing": "pw_h_ongoing",
    "returned_share": "pw_h_share", "months_in_post": "pw_col_months", "delivered_hours": "pw_col_delivered",
    "promised_hours": "pw_col_promised", "hours_per_year": "pw_col_per_year", "fidelity": "pw_col_fidelity",
}

#: Tables of the comparison-groups section -> caption keys of its own texts (report/sections_register.py).
REGISTER_TABLE_CAPTIONS = {"abelsen_register": "cap_abelsen", "alis_vs_gps": "cap_alis_counts"}

_TOTAL_TAG = re.compile(r"^(row|column) (.*)$", re.S)


def _register_text(key: str, language: str) -> str | None:
    """A text of the comparison-groups section, or None."""
    from .text_register import REGISTER_TEXT

    check_language(language)
    return REGISTER_TEXT[key][0 if language == "nb" else 1] if key in REGISTER_TEXT else None


def table_caption(name: str, language: str = "nb") -> str:
    """The caption of a table as the report shows it, from its internal name.

    Known names map to their caption (:data:`TABLE_CAPTIONS`, :data:`REGISTER_TABLE_CAPTIONS`, else a
    text key ``cap_<name>``); an unknown name is made readable (``"my_table"`` -> ``"My table"``).
    """
    if name in REGISTER_TABLE_CAPTIONS:
        return _register_text(REGISTER_TABLE_CAPTIONS[name], language)
    key = TABLE_CAPTIONS.get(name) or (f"cap_{name}" if has_text(f"cap_{name}") else None)
    if key is None and name.startswith("rates_"):
        key = "cap_rates"
    if key is not None:
        try:  # a caption with a placeholder: only the RMST horizon is known here
            return T(key, language, tau=fmt_number(config.DEFAULT_RMST_HORIZON, 0, language))
        except (KeyError, IndexError):
            pass
    return capitalise(name.replace("_", " ").strip())


def column_label(name: str, language: str = "nb") -> str:
    """A table column of the suppression log in words (contract types, totals, ``col_*`` texts)."""
    text = str(name).lstrip("_")
    if text in config.CONTRACT_TYPES:
        return contract_label(text, language)
    if text == "total":
        return T("total", language)
    if text == "*":
        return _pick(("alle kolonner", "all columns"), language)
    if has_text(f"col_{text}"):
        return T(f"col_{text}", language)
    if text in PATHWAY_COLUMNS:
        from .. import pathway

        return T(PATHWAY_COLUMNS[text], language, w=pathway.RETURN_WINDOW_MONTHS)
    return _register_text(f"col_{text}", language) or str(name)


def suppression_rows(entries: Iterable, language: str = "nb") -> list[dict[str, str]]:
    """The suppression log as the appendix shows it: ``table``, ``row``, ``column``, ``reason`` in words.

    ``entries`` are :class:`~alis_research.disclosure.SuppressionEntry` or their dicts.
    A withheld line total (``row 2020``/``column fastlønn``, column ``total``)
    becomes row "2020", column "Totalt" / row "Totalt", column "fastlønn".
    """
    rows = []
    for entry in entries:
        get = entry.get if isinstance(entry, dict) else (lambda k, e=entry: getattr(e, k))
        table, row, column, reason = (str(get(k)) for k in ("table", "row", "column", "reason"))
        tag = _TOTAL_TAG.match(row) if reason == "total" else None
        if tag and tag.group(1) == "row":
            row, column = value_label(tag.group(2), language), T("total", language)
        elif tag:
            row, column = T("total", language), column_label(tag.group(2), language)
        else:
            row, column = value_label(row, language), column_label(column, language)
        rows.append({"table": table_caption(table, language), "row": row, "column": column,
                     "reason": T(f"reason_{reason}", language)})
    return rows
