"""The report's text sections: methods, limitations (with the minimal detectable effect) and
the reference list.

Split from :mod:`.sections` (issue 11, size).
"""
from __future__ import annotations

from .. import config
from .common import episode_ids, number as _num, safe_float as _safe_float
from .content import Section
from .text import T, contract_label

#: ALIS positions of ALIS-Nord (participant list confirmed June 2019: 17 fastlønn, 15 næring).
ALIS_NORD_POSITIONS = 32

# --------------------------------------------------------------------------- text sections
def methods_section(prepared, *, language: str = "nb", min_cell: int = config.DEFAULT_MIN_CELL) -> Section:
    """The definitions, compactly (the full text is docs/methods.md)."""
    from ..analysis.costs import PRICE_YEAR
    from ..analysis.duration import MIN_EVENTS_PER_COEFFICIENT

    section = Section("methods", T("methods", language))
    for key in ("m_data", "m_units", "m_cohort", "m_censoring", "m_km", "m_turnover", "m_cox", "m_competing",
                "m_parametric", "m_robustness", "m_costs", "m_pathway", "m_power", "m_disclosure"):
        section.paragraph(T(key, language, m=min_cell, m1=min_cell - 1, as_of=f"{prepared.as_of:%Y-%m-%d}",
                            tau=_num(config.DEFAULT_RMST_HORIZON, 0, language), year=PRICE_YEAR,
                            positions=ALIS_NORD_POSITIONS, epv=MIN_EVENTS_PER_COEFFICIENT))
    return section


def limitations_section(prepared, *, language: str = "nb", min_cell: int = config.DEFAULT_MIN_CELL) -> Section:
    """Caveats, and the minimal detectable hazard ratio of the data's design (:mod:`alis_research.analysis.power`)."""
    from .sections_costs import detectable_effect
    from ..analysis.power import limitations_text

    section = Section("limitations", T("limitations", language))
    ep = prepared.episodes
    events = int(ep["exit"].sum())
    exited = ep["exit"] == 1
    items = [T("lim_small", language, n=section.count(episode_ids(ep), label=T("dq_analysed", language)),
               events=section.count(episode_ids(ep, exited), label=T("dq_exits", language))),
             T("lim_confounding", language), T("lim_followup", language), T("lim_synthetic", language)
             if prepared.synthetic else T("lim_register", language)]
    facts: dict = {"events": events}
    effects = detectable_effect(prepared)
    if effects is not None:
        up, down = effects
        # a simulated power figure of the design (rounded, with simulation noise) gives no count back;
        # it is left out only when a cohort's episodes or exits are themselves below the threshold
        small = any(0 < v < min_cell for c in config.CONTRACT_TYPES
                    for v in (int((ep["cohort"] == c).sum()), int(((ep["cohort"] == c) & exited).sum())))
        items.append((T("not_estimable", language) if small else
                      limitations_text(up, language=language, decrease=down, min_cell=min_cell, sizes=tuple(
                          section.count(episode_ids(ep, ep["cohort"] == c),
                                        label=f"{T('t1_episodes', language)}, {T('total', language)}, "
                                              f"{contract_label(c, language)}") for c in config.CONTRACT_TYPES)))
                     + " " + T("lim_mde_design", language))
        row = up.effects.set_index("test").loc["log-rank"]
        facts.update({"mde_hr": _safe_float(row["hazard_ratio"]),
                      "mde_hr_decrease": _safe_float(down.effects.set_index("test").loc["log-rank", "hazard_ratio"]),
                      "mde_schoenfeld_hr": _safe_float(row["schoenfeld_hazard_ratio"]),
                      "mde_simulations": int(up.params["simulations"]), "mde_seed": int(up.params["seed"]),
                      "mde_power": _safe_float(up.params["power"])})
    section.items(items)
    section.facts = facts
    return section



# --------------------------------------------------------------------------- references
#: The reference list (catalogue keys ``ref_*``), in the order printed: alphabetical by first author.
REFERENCES = ("ref_abelsen2015", "ref_alisnord2019a", "ref_alisnord2019b", "ref_alisvest", "ref_finegray1999",
              "ref_gray1988", "ref_heinze2001", "ref_heinze2002", "ref_nsdm2018", "ref_nsdm2019", "ref_therneau",
              "ref_vanderweele2017")


def references_section(prepared=None, *, language: str = "nb", min_cell: int = config.DEFAULT_MIN_CELL) -> Section:
    """The reference list of the works cited in the text (before the appendix)."""
    section = Section("references", T("references", language))
    section.items(T(key, language) for key in REFERENCES)
    return section
