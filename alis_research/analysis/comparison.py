"""Comparison groups at national scale: the Abelsen 2015 replication, ALIS versus other GPs, and
participating versus rejected-applicant versus non-applicant municipalities (difference in differences).

Three analyses need a GP-register extract (``docs/register.md``) beside the ALIS dataset:

* :func:`abelsen_replication` — Kaplan–Meier median contract duration by municipality size
  class (:func:`alis_research.analysis.duration.median_by_size_class`) and a Cox model with sex, age at
  start, list size and size class, errors clustered by municipality
  (:func:`alis_research.analysis.duration.cox_model`), on the contracts signed in a window (default the
  study's 1 May 2001 – 1 May 2014), beside the published medians;
* :func:`alis_versus_gps` — the ALIS episodes of the prepared dataset against every other GP
  starting on a list in the same municipalities and years (the register episodes), compared with
  the cohorts' methods: Kaplan–Meier, log-rank stratified by municipality, RMST, and a Cox model
  adjusted for size class and start year with errors clustered by municipality;
* :func:`difference_in_differences` — yearly municipality panel (:func:`municipality_panel`:
  turnover per 100 held list-years and the share of list-months without a permanent GP),
  participating versus rejected-applicant (and non-applicant) municipalities before and after
  2019, OLS with municipality and year fixed effects and standard errors clustered by
  municipality (statsmodels), and the event study by year relative to 2019.

No estimator is written twice: KM, log-rank, RMST and Cox come from :mod:`retention` and
:mod:`duration`. :func:`run_comparisons` runs all three for a prepared dataset and a register
extract; :meth:`ComparisonAnalyses.results_entries` gives the ``abelsen`` and ``did`` keys of
``results.json``. Decisions and definitions: ``docs/register.md``.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Sequence

import numpy as np
import pandas as pd

from .. import config
from ..config import DAYS_PER_YEAR, DEFAULT_ALPHA, SIZE_CLASS_LABELS
from ..errors import AlisError, AlisWarning, NotEstimableWarning
from ..messages.note import Note
from ..result import AnalysisResult

#: Where a dataset keeps its register extract: ``data/raw/<name>/register/``.
REGISTER_SUBFOLDER = "register"
#: The contracts of Abelsen, Gaski, Brandstorp 2015: signed 1 May 2001 up to (not including) 1 May 2014.
ABELSEN_WINDOW = ("2001-05-01", "2014-05-01")
#: The four covariates of the published Cox model (list size per 100 patients).
ABELSEN_COVARIATES = ("sex", "age_at_start", "list_size_100", "size_class")
#: ALIS-Nord began in 2019 (positions filled from the second half of the year).
ALIS_START_YEAR = 2019
#: Years of the panel before the start year (default 2010–).
DID_PRE_YEARS = 9
#: Municipality groups of the difference in differences.
DID_GROUPS = ("participating", "rejected", "non-applicant")
DID_OUTCOMES = ("vacancy_share", "turnover")
#: The headline model of results.json.
DID_PRIMARY = ("vacancy_share", "rejected")
#: Fewer municipalities than this in the treated or the comparison group: not estimable.
MIN_DID_CLUSTERS = 5
ALIS_GROUP = "ALIS"
OTHER_GROUP = "other GPs"


# --------------------------------------------------------------------------- the register extract
def find_register(dataset_dir, register=None) -> Path | None:
    """The register extract belonging to a dataset, or ``None``.

    ``register`` (a folder, e.g. from ``--register DIR``) wins and must exist; otherwise the
    folder ``<dataset>/register/`` is used when it holds ``snapshots.csv``.
    """
    if register not in (None, ""):
        path = Path(register)
        if not path.is_dir():
            raise AlisError(f"register extract folder {path} does not exist (--register)")
        if not (path / "snapshots.csv").is_file():
            raise AlisError(f"register extract folder {path} holds no snapshots.csv (docs/register.md)")
        return path
    candidate = Path(dataset_dir) / REGISTER_SUBFOLDER
    return candidate if (candidate / "snapshots.csv").is_file() else None


@dataclass
class RegisterData:
    """A validated register extract and its contract episodes."""

    path: Path
    snapshots: pd.DataFrame = field(repr=False)
    episodes: pd.DataFrame = field(repr=False)
    extract_end: pd.Timestamp  # first day of the extract's last month
    synthetic: bool
    input_files: dict[str, str]

    @property
    def follow_up_end(self) -> pd.Timestamp:
        """First day after the extract's last month: the register's censoring date."""
        return self.extract_end + pd.offsets.MonthBegin(1)


def load_register_data(path, *, max_gap_months: int | None = None) -> RegisterData:
    """Validate a register extract (raising :class:`~alis_research.errors.DataValidationError`) and build episodes."""
    from ..data.register import load_register
    from ..data.register_timeline import DEFAULT_MAX_GAP_MONTHS, register_episodes

    path = Path(path)
    snapshots = load_register(path)
    episodes = register_episodes(snapshots, max_gap_months=DEFAULT_MAX_GAP_MONTHS if max_gap_months is None
                                 else max_gap_months)
    return RegisterData(path=path, snapshots=snapshots, episodes=episodes,
                        extract_end=pd.Timestamp(snapshots["month"].max()),
                        synthetic=bool(snapshots.attrs.get("synthetic", False)),
                        input_files=dict(snapshots.attrs.get("input_files", {})))


def _quiet(func, *args, **kwargs):
    """Run an analysis with its caveat warnings silenced (they stay in the result's notes)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AlisWarning)
        warnings.simplefilter("ignore", NotEstimableWarning)
        return func(*args, **kwargs)


# --------------------------------------------------------------------------- 1. Abelsen et al. 2015
@dataclass
class AbelsenResult(AnalysisResult):
    """KM medians by size class and the Cox model of Abelsen et al. 2015, on a register extract."""

    medians: pd.DataFrame | None = None
    hazard_ratios: pd.DataFrame | None = None
    cox: Any = field(default=None, repr=False)

    title: ClassVar[str] = "Replication of Abelsen et al. 2015: contract duration by municipality size"
    _tables: ClassVar[tuple[str, ...]] = ("medians", "hazard_ratios")


def _window(window) -> tuple[pd.Timestamp, pd.Timestamp]:
    try:
        start, end = (pd.Timestamp(w) for w in window)
    except (TypeError, ValueError) as exc:
        raise AlisError(f"window must be two dates YYYY-MM-DD, got {window!r}") from exc
    if not start < end:
        raise AlisError(f"window must start before it ends, got {start:%Y-%m-%d} to {end:%Y-%m-%d}")
    return start, end


def contracts_in_window(episodes: pd.DataFrame, window=ABELSEN_WINDOW) -> pd.DataFrame:
    """Register episodes whose start lies in ``[window start, window end)`` and is observed.

    Episodes already running in the extract's first month (``started_before_extract``) have an
    unknown start and are left out.
    """
    start, end = _window(window)
    observed = ~episodes["started_before_extract"].astype(bool) if "started_before_extract" in episodes else True
    chosen = episodes[(episodes["start_date"] >= start) & (episodes["start_date"] < end) & observed]
    return chosen.reset_index(drop=True)


def abelsen_replication(episodes: pd.DataFrame, *, window=ABELSEN_WINDOW, alpha: float = DEFAULT_ALPHA,
                        extract_start=None) -> AbelsenResult:
    """Replicate Abelsen, Gaski, Brandstorp 2015 on register episodes.

    Parameters
    ----------
    episodes
        From :func:`alis_research.data.register_timeline.register_episodes` (one row per contract).
    window
        (first day, day after the last) of the contract starts analysed; default the study's.
    extract_start
        First month of the extract (default the earliest episode start), to say when the window
        reaches back further than the extract.

    Returns
    -------
    AbelsenResult
        ``medians``: size_class (the five classes, then ``all``), contracts, events, median,
        ci_lower, ci_upper (log-log, R's rule), published_median (NaN where the paper gives
        none); ``hazard_ratios``: term, hr, ci_lower, ci_upper, p_value, robust_se (of the
        Cox model with :data:`ABELSEN_COVARIATES`, one (0, duration] interval per contract,
        Efron ties, sandwich clustered by municipality); ``cox`` the full
        :class:`~alis_research.analysis.duration.CoxResult`.
    """
    from .duration import cox_model, median_by_size_class

    start, end = _window(window)
    result = AbelsenResult(params={"window": (f"{start:%Y-%m-%d}", f"{end:%Y-%m-%d}"), "alpha": alpha,
                                   "covariates": list(ABELSEN_COVARIATES), "cluster": "municipality_code"})
    first = pd.Timestamp(extract_start) if extract_start is not None else (
        episodes["start_date"].min() if len(episodes) else None)
    if first is not None and start < first:
        result.add_note("abelsen_window_before_extract", start=start.date(), first=f"{first:%Y-%m}", warn=False)
    contracts = contracts_in_window(episodes, window)
    if contracts.empty:
        # the message is a Note, so the report can say it in its language
        raise AlisError(Note("abelsen_no_contracts", start=start.date(), end=end.date()))
    # SSB's population series ship on 2024 boundaries only, so a contract in a municipality merged
    # since is classed by the merged population (Abelsen et al. used the municipality of the time).
    result.add_note("abelsen_size_on_2024_boundaries", warn=False)
    missing_class = contracts["size_class"].isna()
    if missing_class.any():
        result.add_note("abelsen_no_size_class", n=int(missing_class.sum()), warn=False)
        contracts = contracts[~missing_class]
    km = _quiet(median_by_size_class, contracts, alpha=alpha)
    medians = km.table.rename(columns={"n": "contracts"})
    result.medians = medians[["size_class", "contracts", "events", "median", "ci_lower", "ci_upper",
                              "published_median"]].reset_index(drop=True)
    for note in km.notes:
        result.add_note(note, warn=False)
    frame = contracts.assign(start=0.0, stop=contracts["duration"].astype(float),
                             list_size_100=contracts["list_size"].astype(float) / 100.0,
                             age_at_start=contracts["age_at_start"].astype("Float64"))
    frame["sex"] = frame["sex"].astype(object).where(frame["sex"].notna(), None)
    frame["age_at_start"] = frame["age_at_start"].astype(float)
    cox = _quiet(cox_model, frame, covariates=list(ABELSEN_COVARIATES), cluster="municipality_code", alpha=alpha,
                 contract_term=False)
    result.cox = cox
    result.hazard_ratios = cox.coefficients[["term", "hr", "ci_lower", "ci_upper", "p_value", "robust_se"]].copy()
    for note in cox.notes:
        result.add_note(note.within("cox"), warn=False)
    return result


# --------------------------------------------------------------------------- 2. ALIS versus other GPs
@dataclass
class AlisVersusGpsResult(AnalysisResult):
    """Retention of the ALIS against every other GP starting in the same municipalities and years."""

    counts: pd.DataFrame | None = None
    hazard_ratios: pd.DataFrame | None = None
    km: Any = field(default=None, repr=False)
    logrank: Any = field(default=None, repr=False)
    rmst: Any = field(default=None, repr=False)
    cox: Any = field(default=None, repr=False)
    combined: pd.DataFrame | None = field(default=None, repr=False)

    title: ClassVar[str] = "ALIS versus other GPs starting in the same municipalities and years"
    _tables: ClassVar[tuple[str, ...]] = ("counts", "hazard_ratios")


def _censor(frame: pd.DataFrame, cutoff: pd.Timestamp) -> pd.DataFrame:
    """Administrative censoring at ``cutoff`` (episodes starting on or after it are dropped)."""
    frame = frame[frame["start_date"] < cutoff].copy()
    late = frame["stop_date"] > cutoff
    frame.loc[late, "stop_date"] = cutoff
    frame.loc[late, "exit"] = 0
    frame["duration"] = (frame["stop_date"] - frame["start_date"]).dt.days / DAYS_PER_YEAR
    return frame


def alis_versus_gps(alis_episodes: pd.DataFrame, register: RegisterData | pd.DataFrame, *, as_of,
                    year_window: int = 1, tau: float = config.DEFAULT_RMST_HORIZON,
                    alpha: float = DEFAULT_ALPHA, follow_up_end=None) -> AlisVersusGpsResult:
    """Compare the ALIS episodes with the other GPs' register episodes of the same municipalities and years.

    The comparison group: every register episode that starts in a municipality where an ALIS
    episode starts, within ``year_window`` calendar years of such a start, observed from its
    start, and whose ``doctor_id`` is not the ``person_id`` of an ALIS (both pseudonymised with
    the same key: ``alis-research pseudonymise``). Both groups are censored at the earlier of
    the as-of date and the extract's end. ALIS time comes from the HR data (the hospital year is
    not an exit), the others' from the register.

    Returns
    -------
    AlisVersusGpsResult
        ``counts`` (group, episodes, events, municipalities, person_years); ``km``, ``logrank``
        (stratified by municipality: each ALIS compared with the GPs of its own municipality),
        ``rmst`` (``difference`` = other GPs − ALIS), ``cox`` (ALIS indicator adjusted for size
        class and start year, sandwich clustered by municipality) and ``hazard_ratios``.
    """
    from .duration import cox_model
    from .retention import kaplan_meier, logrank, rmst

    if year_window < 0:
        raise AlisError(f"year_window must be 0 or more, got {year_window}")
    if isinstance(register, RegisterData):
        reg, follow_up_end = register.episodes, register.follow_up_end if follow_up_end is None else follow_up_end
    else:
        reg = register
    as_of = pd.Timestamp(as_of)
    cutoff = min(as_of, pd.Timestamp(follow_up_end)) if follow_up_end is not None else as_of
    result = AlisVersusGpsResult(params={"year_window": year_window, "tau": tau, "alpha": alpha,
                                         "censored_at": f"{cutoff:%Y-%m-%d}",
                                         "adjusted_for": ["size_class", "start_year"], "cluster": "municipality_code"})
    alis = alis_episodes.copy()
    alis["stop_date"] = alis["stop_date"].where(alis["stop_date"].notna(), as_of)
    alis = _censor(alis, cutoff)
    if alis.empty:
        raise AlisError(Note("alis_no_episodes_in_extract"))
    cells = alis[["municipality_code", "start_year"]].drop_duplicates()
    pairs = pd.concat([cells.assign(start_year=cells["start_year"] + shift)
                       for shift in range(-year_window, year_window + 1)]).drop_duplicates()
    candidates = reg[~reg["started_before_extract"].astype(bool)] if "started_before_extract" in reg else reg
    matched = candidates.merge(pairs, on=["municipality_code", "start_year"], how="inner")
    alis_ids = set(alis["person_id"].astype(str))
    linked = matched["doctor_id"].astype(str).isin(alis_ids)
    n_linked = int(matched.loc[linked, "doctor_id"].nunique())
    result.params["alis_found_in_register"] = n_linked
    if n_linked == 0:
        result.add_note("alis_not_linked", warn=False)
    others = _censor(matched[~linked], cutoff)
    missing = sorted(set(alis["municipality_code"]) - set(reg["municipality_code"]))
    if missing:
        result.add_note("alis_municipalities_missing", municipalities=len(missing), warn=False)
    columns = ["municipality_code", "start_year", "size_class", "start_date", "stop_date", "duration", "exit"]
    combined = pd.concat([alis[columns].assign(group=ALIS_GROUP, alis=1.0),
                          others[columns].assign(group=OTHER_GROUP, alis=0.0)], ignore_index=True)
    combined["episode_id"] = [f"C{i:06d}" for i in range(1, len(combined) + 1)]
    combined["start"] = 0.0
    combined["stop"] = combined["duration"]
    combined["start_year"] = combined["start_year"].astype(float)
    result.combined = combined
    counts = combined.groupby("group", sort=False).agg(
        episodes=("exit", "size"), events=("exit", "sum"), municipalities=("municipality_code", "nunique"),
        person_years=("duration", "sum")).reset_index()
    result.counts = counts
    if (counts["group"] == OTHER_GROUP).sum() == 0:
        result.add_note("alis_no_other_gps", warn=False)
        return result
    result.km = _quiet(kaplan_meier, combined, group="group", alpha=alpha)
    result.logrank = _quiet(logrank, combined, group="group", strata="municipality_code")
    result.rmst = _quiet(rmst, combined, group="group", tau=tau, alpha=alpha)
    result.cox = _quiet(cox_model, combined, covariates=["alis", "size_class", "start_year"],
                        cluster="municipality_code", alpha=alpha, contract_term=False)
    result.hazard_ratios = result.cox.coefficients[["term", "hr", "ci_lower", "ci_upper", "p_value",
                                                    "robust_se"]].copy()
    for name in ("km", "logrank", "rmst", "cox"):
        for note in getattr(result, name).notes:
            result.add_note(note.within(name), warn=False)
    return result


# --------------------------------------------------------------------------- 3. difference in differences
def municipality_groups() -> pd.DataFrame:
    """Every 2024 municipality of Northern Norway with its ALIS-Nord group.

    ``participating``: in a roster unit; ``rejected``: covered by a refused application (seed
    000); ``non-applicant``: every other municipality of the four health-trust areas (a few of
    them may have been part of an application that the seeds do not name).
    """
    from ..reference import load_municipalities, load_rejected, load_roster

    municipalities = load_municipalities()
    north = municipalities[municipalities["health_trust_area"].notna()]
    participating = {c for codes in load_roster()["municipality_codes"] for c in str(codes).split(";")}
    rejected = {c for codes in load_rejected()["municipality_codes"] for c in str(codes).split(";")}
    codes = north["code_2024"].astype(str)
    group = np.where(codes.isin(participating), "participating",
                     np.where(codes.isin(rejected), "rejected", "non-applicant"))
    return pd.DataFrame({"municipality_code": codes.to_numpy(), "municipality_name": north["name"].to_numpy(),
                         "area": north["health_trust_area"].to_numpy(), "group": group}).reset_index(drop=True)


def municipality_panel(snapshots: pd.DataFrame, episodes: pd.DataFrame, *, first_year: int | None = None,
                       last_year: int | None = None, areas: Sequence[str] | None = None) -> pd.DataFrame:
    """Yearly outcomes per Northern-Norway municipality from register snapshots and episodes.

    Returns
    -------
    DataFrame
        ``municipality_code``, ``group``, ``area``, ``year``, ``list_months`` (list × months
        registered), ``vacant_months`` (of them without a holder), ``held_list_years``
        (held months / 12), ``exits`` (episodes whose last month is in the year and that
        ended before the extract's end), ``vacancy_share`` = vacant / list months, ``turnover``
        = exits per 100 held list-years (NaN without held time).
    """
    groups = municipality_groups()
    if areas is not None:
        groups = groups[groups["area"].isin(list(areas))]
    wanted = set(groups["municipality_code"])
    code = snapshots["municipality_code"].astype(str)
    keep = code.isin(wanted).to_numpy()
    year = snapshots["month"].dt.year.to_numpy()[keep]
    first_year = int(year.min()) if first_year is None and len(year) else first_year
    last_year = int(year.max()) if last_year is None and len(year) else last_year
    sub = pd.DataFrame({"municipality_code": code.to_numpy()[keep], "year": year,
                        "vacant": snapshots["doctor_id"].isna().to_numpy()[keep]})
    sub = sub[(sub["year"] >= first_year) & (sub["year"] <= last_year)]
    panel = sub.groupby(["municipality_code", "year"], sort=True).agg(
        list_months=("vacant", "size"), vacant_months=("vacant", "sum")).reset_index()
    ended = episodes[(episodes["exit"] == 1) & episodes["municipality_code"].isin(wanted)]
    end_year = ended["end_month"].str.slice(0, 4).astype(int)
    exits = ended.groupby([ended["municipality_code"], end_year]).size().rename("exits")
    exits.index = exits.index.set_names(["municipality_code", "year"])
    panel = panel.merge(exits.reset_index(), on=["municipality_code", "year"], how="left")
    panel["exits"] = panel["exits"].fillna(0).astype(np.int64)
    panel["vacant_months"] = panel["vacant_months"].astype(np.int64)
    panel["held_list_years"] = (panel["list_months"] - panel["vacant_months"]) / 12.0
    panel["vacancy_share"] = panel["vacant_months"] / panel["list_months"]
    with np.errstate(divide="ignore", invalid="ignore"):
        panel["turnover"] = np.where(panel["held_list_years"] > 0,
                                     100.0 * panel["exits"] / panel["held_list_years"], np.nan)
    panel = panel.merge(groups[["municipality_code", "group", "area"]], on="municipality_code", how="left")
    return panel[["municipality_code", "group", "area", "year", "list_months", "vacant_months", "held_list_years",
                  "exits", "vacancy_share", "turnover"]]


@dataclass
class DidResult(AnalysisResult):
    """Difference in differences and event study of municipality outcomes around 2019."""

    estimates: pd.DataFrame | None = None
    event_study: pd.DataFrame | None = None
    means: pd.DataFrame | None = None

    title: ClassVar[str] = "Participating vs rejected-applicant vs non-applicant municipalities (DiD)"
    _tables: ClassVar[tuple[str, ...]] = ("estimates", "means")

    def primary(self) -> dict | None:
        """The headline model (:data:`DID_PRIMARY`) as a dict, or None."""
        if self.estimates is None:
            return None
        outcome, control = DID_PRIMARY
        row = self.estimates[(self.estimates["outcome"] == outcome) & (self.estimates["control"] == control)]
        return None if row.empty else row.iloc[0].to_dict()


def _cluster_ols(data: pd.DataFrame, terms: Sequence[str]):
    """OLS of ``y`` on ``terms`` plus municipality and year fixed effects, clustered by municipality.

    The design is the one of the formula ``y ~ terms + C(municipality_code) + C(year)``
    (intercept, one dummy per municipality and year but the first), built directly: the
    formula interface took 5 s for the eight models of a report.
    """
    from statsmodels.regression.linear_model import OLS  # not statsmodels.api: ~0.3 s of imports

    municipality = pd.get_dummies(data["municipality_code"].astype(str), prefix="m", drop_first=True, dtype=float)
    year = pd.get_dummies(data["year"].astype(int), prefix="y", drop_first=True, dtype=float)
    design = pd.concat([pd.Series(1.0, index=data.index, name="Intercept"), data[list(terms)].astype(float),
                        municipality, year], axis=1)
    codes = pd.factorize(data["municipality_code"])[0]
    return OLS(data["y"].astype(float), design).fit(method="qr", cov_type="cluster", cov_kwds={"groups": codes},
                                                       use_t=True)


def difference_in_differences(panel: pd.DataFrame, *, outcomes: Sequence[str] = DID_OUTCOMES,
                              treated: str = "participating", controls: Sequence[str] = ("rejected", "non-applicant"),
                              start_year: int = ALIS_START_YEAR, alpha: float = DEFAULT_ALPHA,
                              min_clusters: int = MIN_DID_CLUSTERS) -> DidResult:
    """Two-way fixed-effects difference in differences with cluster-robust errors, and the event study.

    For each outcome and comparison group,
    :math:`y_{mt} = \\alpha_m + \\gamma_t + \\beta\\,[m \\text{ treated}][t \\ge 2019] + \\varepsilon_{mt}`
    by OLS (statsmodels) over the municipality-years of the two groups, one observation per
    municipality and year (unweighted), standard errors clustered by municipality (the sandwich
    with the G/(G−1)·(N−1)/(N−K) correction and Student's t on G−1 degrees of freedom, as
    Stata's ``vce(cluster)``). The event study replaces the single term by one per year,
    :math:`\\sum_{k \\ne 2018} \\beta_k [m \\text{ treated}][t = k]`, the year before the start
    being the reference (0 by construction).

    Not estimable (NaN and a note) when either group has fewer than ``min_clusters``
    municipalities with data, or the panel has no year before or none from ``start_year`` on.

    Returns
    -------
    DidResult
        ``estimates``: outcome, treated, control, estimate, se, ci_lower, ci_upper, p_value,
        clusters_treated, clusters_control, observations, estimable; ``event_study``: outcome,
        control, year, relative_year, estimate, ci_lower, ci_upper, reference (bool);
        ``means``: outcome, group, period (before/after), mean (unweighted over municipality-years).
    """
    result = DidResult(params={"treated": treated, "controls": list(controls), "start_year": start_year,
                               "reference_year": start_year - 1, "alpha": alpha, "min_clusters": min_clusters,
                               "se": "cluster-robust by municipality, t on G-1 df",
                               "fixed_effects": ["municipality", "year"]})
    needed = ["municipality_code", "group", "year", *outcomes]
    missing = [c for c in needed if c not in panel.columns]
    if missing:
        raise AlisError(f"the municipality panel has no column(s) {', '.join(missing)}; use municipality_panel()")
    unknown = sorted(set([treated, *controls]) - set(DID_GROUPS))
    if unknown:
        raise AlisError(f"unknown municipality group(s) {', '.join(unknown)}; expected {', '.join(DID_GROUPS)}")
    result.add_note("did_parallel_trends", start_year=start_year, warn=False)
    reference_year = start_year - 1
    rows, events, means = [], [], []
    for outcome in outcomes:
        for control in controls:
            data = panel[panel["group"].isin([treated, control]) & panel[outcome].notna()].copy()
            data["treated"] = (data["group"] == treated).astype(float)
            data["post"] = (data["year"] >= start_year).astype(float)
            data["treated_post"] = data["treated"] * data["post"]
            data["y"] = data[outcome].astype(float)
            n_t = int(data.loc[data["treated"] == 1, "municipality_code"].nunique())
            n_c = int(data.loc[data["treated"] == 0, "municipality_code"].nunique())
            row = {"outcome": outcome, "treated": treated, "control": control, "estimate": np.nan, "se": np.nan,
                   "ci_lower": np.nan, "ci_upper": np.nan, "p_value": np.nan, "clusters_treated": n_t,
                   "clusters_control": n_c, "observations": int(len(data)), "estimable": False}
            for group_name, flag in ((treated, 1.0), (control, 0.0)):
                for period, post in (("before", 0.0), ("after", 1.0)):
                    part = data[(data["treated"] == flag) & (data["post"] == post)]
                    means.append({"outcome": outcome, "control": control, "group": group_name, "period": period,
                                  "mean": float(part["y"].mean()) if len(part) else np.nan,
                                  "municipality_years": int(len(part))})
            reason = None
            if min(n_t, n_c) < min_clusters:
                reason = result.add_note("did_few_municipalities", outcome=outcome, treated=treated, control=control,
                                         n_treated=n_t, n_control=n_c, minimum=min_clusters, warn=False)
            elif data["post"].nunique() < 2 or not (data["year"] == reference_year).any():
                reason = result.add_note("did_years_missing", outcome=outcome, treated=treated, control=control,
                                         start_year=start_year, reference_year=reference_year, warn=False)
            if reason:
                rows.append(row)
                continue
            fit = _cluster_ols(data, ["treated_post"])
            low, high = fit.conf_int(alpha=alpha).loc["treated_post"]
            row.update(estimate=float(fit.params["treated_post"]), se=float(fit.bse["treated_post"]),
                       ci_lower=float(low), ci_upper=float(high), p_value=float(fit.pvalues["treated_post"]),
                       estimable=True)
            rows.append(row)
            years = sorted(int(y) for y in data["year"].unique())
            terms = []
            for year in years:
                if year == reference_year:
                    continue
                name = f"ev_{year}"
                data[name] = data["treated"] * (data["year"] == year)
                terms.append((year, name))
            es = _cluster_ols(data, [n for _, n in terms])
            intervals = es.conf_int(alpha=alpha)
            for year in years:
                if year == reference_year:
                    events.append({"outcome": outcome, "control": control, "year": year, "relative_year": year - start_year,
                                   "estimate": 0.0, "ci_lower": np.nan, "ci_upper": np.nan, "reference": True})
                    continue
                name = f"ev_{year}"
                events.append({"outcome": outcome, "control": control, "year": year,
                               "relative_year": year - start_year, "estimate": float(es.params[name]),
                               "ci_lower": float(intervals.loc[name, 0]), "ci_upper": float(intervals.loc[name, 1]),
                               "reference": False})
            if n_t + n_c < 30:
                result.add_note("did_few_clusters", outcome=outcome, treated=treated, control=control,
                                clusters=n_t + n_c, warn=False)
    result.estimates = pd.DataFrame(rows)
    result.event_study = pd.DataFrame(events, columns=["outcome", "control", "year", "relative_year", "estimate",
                                                       "ci_lower", "ci_upper", "reference"])
    result.means = pd.DataFrame(means)
    return result


# --------------------------------------------------------------------------- all three
@dataclass
class ComparisonAnalyses:
    """The register comparisons of one report or ``analyse`` run."""

    register: RegisterData
    abelsen: AbelsenResult | None
    alis_vs_gps: AlisVersusGpsResult | None
    did: DidResult | None
    panel: pd.DataFrame | None = field(default=None, repr=False)
    failures: dict[str, str] = field(default_factory=dict)

    def results_entries(self) -> dict:
        """The ``abelsen`` and ``did`` entries of ``results.json`` (``alis-research/results/1``)."""
        from .results import json_number

        entries: dict = {"abelsen": [], "did": None}
        if self.abelsen is not None:
            entries["abelsen"] = [{
                "size_class": str(r["size_class"]), "contracts": int(r["contracts"]),
                "median": json_number(r["median"]), "ci_lower": json_number(r["ci_lower"]),
                "ci_upper": json_number(r["ci_upper"]), "published_median": json_number(r["published_median"]),
            } for _, r in self.abelsen.medians.iterrows()]
        primary = self.did.primary() if self.did is not None else None
        outcome, control = DID_PRIMARY
        entries["did"] = {
            "outcome": outcome, "treated": "participating", "control": control,
            "start_year": ALIS_START_YEAR,
            **{key: json_number(primary[key]) if primary else None
               for key in ("estimate", "ci_lower", "ci_upper", "p_value")},
            "clusters": (int(primary["clusters_treated"]) + int(primary["clusters_control"])) if primary else None,
        }
        return entries

    def notes(self) -> list[str]:
        out = [f"{name}: not estimable ({reason})" for name, reason in self.failures.items()]
        for name in ("abelsen", "alis_vs_gps", "did"):
            result = getattr(self, name)
            if result is not None:
                out += [f"{name}: {note}" for note in result.notes]
        return out


def run_comparisons(prepared, register: RegisterData, *, area: str = "all", alpha: float = DEFAULT_ALPHA,
                    window=ABELSEN_WINDOW) -> ComparisonAnalyses:
    """Run the three comparisons; an analysis that fails on these data is recorded, not raised.

    ``area`` restricts the difference in differences to one health-trust area (the ALIS
    episodes of ``prepared`` are already restricted by the report); the Abelsen replication is
    national by definition.
    """
    failures: dict[str, str] = {}

    def attempt(name, func, *args, **kwargs):
        try:
            return func(*args, **kwargs)
        except AlisError as exc:  # a Note (the report says it in its language) or a plain message
            failures[name] = exc.args[0] if exc.args and isinstance(exc.args[0], Note) else str(exc)
            return None

    abelsen = attempt("abelsen", abelsen_replication, register.episodes, window=window, alpha=alpha,
                      extract_start=register.snapshots["month"].min())
    alis = attempt("alis_vs_gps", alis_versus_gps, prepared.episodes, register, as_of=prepared.as_of, alpha=alpha)
    last_year = int(register.extract_end.year)
    panel = municipality_panel(register.snapshots, register.episodes, first_year=ALIS_START_YEAR - DID_PRE_YEARS,
                               last_year=last_year, areas=None if area == "all" else [area])
    did = attempt("did", difference_in_differences, panel, alpha=alpha)
    return ComparisonAnalyses(register=register, abelsen=abelsen, alis_vs_gps=alis, did=did, panel=panel,
                              failures=failures)


# --------------------------------------------------------------------------- figures
def _figure_labels(language: str) -> dict[str, str]:
    from ..figures import figure_labels

    return figure_labels(language, "figure.comparison")


def plot_event_study(result: DidResult, ax=None, *, outcome: str = DID_PRIMARY[0], control: str = DID_PRIMARY[1],
                     language: str = "nb"):
    """Event-study coefficients by year relative to 2019 with their intervals; the reference year marked."""
    from ..figures import decimal_axes, new_axes, house_style

    words = _figure_labels(language)
    table = result.event_study
    table = table[(table["outcome"] == outcome) & (table["control"] == control)] if table is not None else None
    if table is None or table.empty:
        raise AlisError(f"no event-study coefficients for {outcome}, participating vs {control}")
    scale = 100.0 if outcome == "vacancy_share" else 1.0
    with house_style():
        ax = new_axes(ax)
        estimated = table[~table["reference"]]
        x = estimated["relative_year"].to_numpy()
        y = estimated["estimate"].to_numpy() * scale
        ax.errorbar(x, y, yerr=[y - estimated["ci_lower"].to_numpy() * scale,
                                estimated["ci_upper"].to_numpy() * scale - y],
                    fmt="o", color="#0072B2", capsize=3, label=words["estimate"])
        reference = table[table["reference"]]
        ax.plot(reference["relative_year"], [0.0] * len(reference), marker="D", linestyle="none", color="black",
                markerfacecolor="white", label=f"{words['reference']} ({int(reference['year'].iloc[0])})"
                if len(reference) else words["reference"])
        ax.axhline(0.0, color="grey", linewidth=0.8)
        ax.axvline(-0.5, color="grey", linestyle="--", linewidth=0.8)
        ax.set_xlabel(words["relative_year"])
        ax.set_ylabel(words[outcome] if outcome in words else outcome)
        ax.set_xticks(sorted(table["relative_year"].unique()))
        decimal_axes(ax, language)
        ax.legend(loc="best")
    return ax


def plot_abelsen(result: AbelsenResult, ax=None, *, language: str = "nb"):
    """Median contract duration by size class with intervals, the published medians beside them."""
    from ..figures import new_axes, house_style
    from ..messages.labels import size_class_label

    words = _figure_labels(language)
    table = result.medians
    with house_style():
        ax = new_axes(ax)
        positions = np.arange(len(table))
        median = table["median"].to_numpy(float)
        ax.errorbar(positions, median, yerr=[median - table["ci_lower"].to_numpy(float),
                                             table["ci_upper"].to_numpy(float) - median],
                    fmt="o", color="#0072B2", capsize=3, label=words["ours"])
        published = table["published_median"].to_numpy(float)
        shown = np.isfinite(published)
        ax.plot(positions[shown] + 0.15, published[shown], marker="s", linestyle="none", color="#D55E00",
                label=words["published"])
        ax.set_xticks(positions)
        ax.set_xticklabels([words["all"] if s == "all" else size_class_label(s, language) for s in table["size_class"]],
                           rotation=20)
        ax.set_ylabel(words["median"])
        ax.set_ylim(bottom=0)
        ax.legend(loc="upper left")
    return ax


__all__ = [
    "ABELSEN_COVARIATES", "ABELSEN_WINDOW", "ALIS_START_YEAR", "AbelsenResult", "AlisVersusGpsResult",
    "ComparisonAnalyses", "DidResult", "RegisterData", "SIZE_CLASS_LABELS", "abelsen_replication",
    "alis_versus_gps", "contracts_in_window", "difference_in_differences", "find_register", "load_register_data",
    "municipality_groups", "municipality_panel", "plot_abelsen", "plot_event_study", "run_comparisons",
]
