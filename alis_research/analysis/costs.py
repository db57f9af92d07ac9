"""What each contract model costs the municipality, and the cost per retained GP-year.

Two questions:

* **Yearly cost** (:func:`yearly_costs`): for a list of *N* patients, the
  municipality's yearly cost of an ordinary private list, of an ALIS on næring
  and of an ALIS on fastlønn, per training year, as a tidy table of components.
  The grant lines reproduce seed 003's table exactly (800 patients: 360,800;
  1,069,125; 569,125; extra cost 208,325).  Lines the seeds do not price
  (fastlønn salary, office, fee income, supervision) come from documented
  *assumptions* in ``reference/data/cost_parameters.csv`` (``source =
  assumption``), every one of which the caller can override.
* **Cost per retained GP-year** (:func:`cost_per_retained_year`): the expected
  years in post within a horizon per cohort (RMST of the Kaplan–Meier curve, or
  of the AIC-chosen parametric fit) combined with the yearly costs of the
  cohort's model, with percentile bootstrap intervals.

All amounts are in 2019 NOK (the parameters' price year).  No price index is
shipped, so other price years are refused rather than silently mislabelled.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass, replace
from typing import ClassVar, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from .. import config
from ..errors import AlisError, NotEstimableWarning
from ..reference import cost_parameter, load_cost_parameters
from ..result import AnalysisResult, input_table, require_columns
from ..stats import km
from .memo import memoised

#: Price year of the cost parameters (seed 003's 2019 rates).
PRICE_YEAR = 2019
PRIVATE_LIST = "private list"
ALIS_NAERING = "ALIS næring"
ALIS_FASTLONN = "ALIS fastlønn"
MODELS = (PRIVATE_LIST, ALIS_NAERING, ALIS_FASTLONN)
#: The cost model that applies to each cohort (contract type at start).
COHORT_MODEL = {"fastlønn": ALIS_FASTLONN, "næring": ALIS_NAERING}
#: Components paid once, in full, when an ALIS is recruited (not in proportion to time in post).
ONE_OFF_COMPONENTS = frozenset({"recruitment_grant"})
#: Components within the scope of seed 003's table (recruitment and basic grants).
GRANT_COMPONENTS = ("recruitment_grant", "basic_grant_first_500", "basic_grant_above_500")
#: Components that are income or grants to the municipality (entered as negative amounts).
PROGRAMME_GRANT = "programme_grant"
#: A parametric fit needs at least this many exits (as duration.parametric_duration).
MIN_EVENTS_PARAMETRIC = 3
#: Bootstrap estimates are withheld when more than this share of resamples failed.
MAX_FAILED_BOOTSTRAP_SHARE = 0.1


# --------------------------------------------------------------------------- parameters


@dataclass(frozen=True)
class CostAssumptions:
    """Cost lines the seeds do not price, with defaults from ``cost_parameters.csv``.

    Attributes
    ----------
    salary : float
        ALIS-fastlønn salary incl. social costs, NOK a year (assumption).
    office : float
        Office run by the municipality for an ALIS-fastlønn, NOK a year (assumption).
    fee_income_per_patient : float
        Patient fees and refunds the municipality collects per listed patient for a
        salaried ALIS, NOK a year (assumption).
    supervision_hours : float
        Hours of structured supervision a year (promised 3 × 10.5 = 31.5, seed 000).
    supervision_cost_per_hour : float
        Municipal cost of one supervision hour, NOK (assumption); applies to both ALIS models.
    course_cover : float
        Course and income-loss cover paid for an ALIS-næring a year (default: the
        50,000 cap of seed 003 × the assumed share used, 1).
    programme_grant : float
        ALIS-Nord grant to the municipality per ALIS position and year (seed 003: 200,000).
    programme_grant_years : int
        Training years in which the programme grant is paid (assumption: 5).
    """

    salary: float
    office: float
    fee_income_per_patient: float
    supervision_hours: float
    supervision_cost_per_hour: float
    course_cover: float
    programme_grant: float
    programme_grant_years: int

    def __post_init__(self):
        # an infinite or missing price would turn every cost into inf or NaN without a word
        problems = [f"{name}={value!r}" for name, value in vars(self).items()
                    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating))
                    or not math.isfinite(value)]
        years = self.programme_grant_years
        if not problems and (int(years) != years or years < 0):
            problems.append(f"programme_grant_years={years!r}")
        if problems:
            raise AlisError(f"cost assumptions must be finite numbers (programme_grant_years a whole number >= 0); "
                            f"got {', '.join(problems)}")

    @classmethod
    def defaults(cls) -> "CostAssumptions":
        """The shipped defaults (seeds 000 and 003 plus the documented assumptions)."""
        p = cost_parameter
        return cls(
            salary=p("assumed_fastlonn_salary_incl_social_costs"),
            office=p("assumed_fastlonn_office_cost"),
            fee_income_per_patient=p("assumed_fastlonn_fee_income_per_patient"),
            supervision_hours=p("nord_supervision_hours_per_month") * p("nord_supervision_months_per_year"),
            supervision_cost_per_hour=p("assumed_supervision_cost_per_hour"),
            course_cover=p("nord_course_income_loss_cap") * p("assumed_course_income_loss_share_of_cap"),
            programme_grant=p("nord_alis_nord_grant"),
            programme_grant_years=int(p("assumed_alis_nord_grant_years")),
        )


def _check_year(year) -> int:
    if year is None:
        return PRICE_YEAR
    if int(year) != PRICE_YEAR:
        raise AlisError(
            f"--year {year}: the cost parameters are in {PRICE_YEAR} prices and no price index is shipped "
            f"to convert them; omit --year (or pass {PRICE_YEAR}) and convert with SSB's consumer price index yourself"
        )
    return PRICE_YEAR


def _check_patients(patients) -> int:
    try:
        value = float(patients)
    except (TypeError, ValueError):
        raise AlisError(f"patients must be a whole number of listed patients, got {patients!r}") from None
    if not math.isfinite(value) or value < 0 or value != int(value):
        raise AlisError(f"patients must be a whole number >= 0 (a list size such as 800), got {patients!r}")
    return int(value)


# --------------------------------------------------------------------------- yearly costs


@dataclass
class CostTable(AnalysisResult):
    """Yearly municipal cost per contract model and training year.

    ``components``: model, training_year (NA for the private list), component,
    amount (NOK, negative for income and grants), assumption (bool: a documented
    assumption rather than a seed figure).  ``totals``: model, training_year,
    grants (the scope of seed 003's table), other_costs, programme_grant,
    net_cost, extra_grants_vs_private, extra_net_cost_vs_private.
    """

    components: pd.DataFrame | None = None
    totals: pd.DataFrame | None = None
    assumptions: CostAssumptions | None = None

    title: ClassVar[str] = "Yearly municipal cost per contract model (2019 NOK)"
    _tables: ClassVar[tuple[str, ...]] = ("totals", "components")

    def cost(self, model: str, training_year: int | None = None, column: str = "net_cost") -> float:
        """One total, e.g. ``cost('ALIS næring', 1, 'grants')`` -> 1,069,125 for 800 patients."""
        rows = self.totals[self.totals["model"] == model]
        if model != PRIVATE_LIST:
            rows = rows[rows["training_year"] == training_year]
        if len(rows) != 1:
            raise AlisError(f"no cost for model {model!r}, training year {training_year!r}; models: {', '.join(MODELS)}")
        return float(rows[column].iloc[0])

    def to_json_dict(self) -> dict:
        """A JSON-ready dict: parameters, components, totals, assumptions, notes."""
        def records(frame):
            out = frame.astype(object).where(frame.notna(), None).to_dict(orient="records")
            return [{k: (int(v) if k == "training_year" and v is not None else v) for k, v in r.items()} for r in out]
        return {"patients": self.params["patients"], "price_year": self.params["price_year"],
                "currency": "NOK", "components": records(self.components), "totals": records(self.totals),
                "assumptions": asdict(self.assumptions), "notes": list(self.notes)}


@memoised
def yearly_costs(patients: int, *, year: int | None = None, assumptions: CostAssumptions | None = None) -> CostTable:
    """Yearly municipal cost of a list of ``patients`` under each contract model.

    Private list (seed 003): basic grant :math:`451 n`.  ALIS næring (seed 003):
    guaranteed 400,000 for the first 500 patients, :math:`1.25 \\cdot 451` per
    patient above, the recruitment grant of 500,000 in training year 1, plus the
    course and income-loss cover and supervision.  ALIS fastlønn: salary, office
    and supervision minus the fees and refunds the municipality collects.  Both
    ALIS models receive the ALIS-Nord grant (200,000 a year, assumed for
    ``programme_grant_years`` years).

    .. math::

        C_\\text{næring}(n, y) = 500\\,000\\,[y = 1] + 400\\,000 + 1.25 \\cdot 451\\,(n - 500)^+
            + c_\\text{course} + h\\,p_h - g

    Parameters
    ----------
    patients : int
        List size (listed patients).
    year : int, optional
        Price year; only 2019 (the parameters' year) is accepted.
    assumptions : CostAssumptions, optional
        Override the documented defaults (``CostAssumptions.defaults()``).

    Returns
    -------
    CostTable
    """
    patients = _check_patients(patients)
    price_year = _check_year(year)
    a = assumptions or CostAssumptions.defaults()
    p = cost_parameter
    rate, limit = p("nord_basic_grant_per_patient"), p("nord_alis_guarantee_patient_limit")
    below, above = min(patients, limit), max(patients - limit, 0)
    rows: list[dict] = []

    def add(model, training_year, component, amount, assumption=False):
        rows.append({"model": model, "training_year": training_year, "component": component,
                     "amount": float(amount), "assumption": assumption})

    add(PRIVATE_LIST, None, "basic_grant_first_500", rate * below)
    add(PRIVATE_LIST, None, "basic_grant_above_500", rate * above)
    supervision = a.supervision_hours * a.supervision_cost_per_hour
    for training_year in range(1, int(p("nord_training_years")) + 1):
        grant = -a.programme_grant if training_year <= a.programme_grant_years else 0.0
        if training_year <= p("nord_recruitment_grant_years"):
            add(ALIS_NAERING, training_year, "recruitment_grant", p("nord_recruitment_grant"))
        add(ALIS_NAERING, training_year, "basic_grant_first_500", p("nord_alis_guaranteed_basic_grant"))
        add(ALIS_NAERING, training_year, "basic_grant_above_500", p("nord_alis_grant_factor_above_limit") * rate * above)
        add(ALIS_NAERING, training_year, "course_income_loss_cover", a.course_cover, True)
        add(ALIS_NAERING, training_year, "supervision", supervision, True)
        # the 200,000 is seed 003's; that it is paid again after year 1 is an assumption
        add(ALIS_NAERING, training_year, PROGRAMME_GRANT, grant, training_year > 1)
        add(ALIS_FASTLONN, training_year, "salary", a.salary, True)
        add(ALIS_FASTLONN, training_year, "office", a.office, True)
        add(ALIS_FASTLONN, training_year, "supervision", supervision, True)
        add(ALIS_FASTLONN, training_year, "fee_income", -a.fee_income_per_patient * patients, True)
        add(ALIS_FASTLONN, training_year, PROGRAMME_GRANT, grant, training_year > 1)
    # Built from plain lists: this runs for every row of the sensitivity tables, and pandas'
    # groupby/unstack cost 12 ms a call against well under 1 ms here (same frames, same sums).
    limit_text = str(int(limit))
    for r in rows:
        r["component"] = r["component"].replace("500", limit_text)
    components = pd.DataFrame(rows, columns=["model", "training_year", "component", "amount", "assumption"])
    components["training_year"] = components["training_year"].astype("Int64")

    grant_names = {c.replace("500", limit_text) for c in GRANT_COMPONENTS}
    kinds = ("grants", "other_costs", PROGRAMME_GRANT)
    sums: dict[tuple[str, int | None], dict[str, list[float]]] = {}
    for r in rows:
        kind = ("grants" if r["component"] in grant_names else
                PROGRAMME_GRANT if r["component"] == PROGRAMME_GRANT else "other_costs")
        sums.setdefault((r["model"], r["training_year"]), {k: [] for k in kinds})[kind].append(r["amount"])
    order = {model: i for i, model in enumerate(MODELS)}
    keys = sorted(sums, key=lambda key: (order[key[0]], key[1] or 0))
    columns = {k: [_kahan_sum(sums[key][k]) for key in keys] for k in kinds}
    net = [g + o + p for g, o, p in zip(columns["grants"], columns["other_costs"], columns[PROGRAMME_GRANT])]
    private = keys.index((PRIVATE_LIST, None))
    totals = pd.DataFrame({
        "model": [key[0] for key in keys],
        "training_year": pd.array([key[1] for key in keys], dtype="Int64"),
        **columns,
        "net_cost": net,
        "extra_grants_vs_private": [g - columns["grants"][private] for g in columns["grants"]],
        "extra_net_cost_vs_private": [v - net[private] for v in net],
    })

    result = CostTable(params={"patients": patients, "price_year": price_year, "currency": "NOK"},
                       components=components, totals=totals, assumptions=a)
    result.add_note("costs_assumptions", warn=False)
    result.add_note("costs_not_modelled", warn=False)
    return result


def _kahan_sum(values) -> float:
    """Compensated sum in the order given: pandas' groupby ``sum`` to the last bit (NaN skipped, an
    infinite value kept: its compensation, NaN, is reset as pandas does)."""
    total = compensation = 0.0
    for value in values:
        if value != value:
            continue
        y = value - compensation
        t = total + y
        compensation = t - total - y
        if compensation != compensation:
            compensation = 0.0
        total = t
    return total


def _format_nok(value: float) -> str:
    return f"{value:,.0f}".replace(",", " ")


def format_cost_table(table: CostTable) -> str:
    """The cost table as text: one column per model and training year, one row per component."""
    comp = table.components.copy()
    comp["column"] = [m if pd.isna(y) else f"{m} y{int(y)}" for m, y in zip(comp["model"], comp["training_year"])]
    order = {model: i for i, model in enumerate(MODELS)}
    columns = sorted(dict.fromkeys(comp["column"]), key=lambda c: (order[c.split(" y")[0]], c))
    wide = comp.pivot_table(index="component", columns="column", values="amount", aggfunc="sum", sort=False)
    wide = wide.reindex(columns=columns)
    totals = table.totals.copy()
    totals["column"] = [m if pd.isna(y) else f"{m} y{int(y)}" for m, y in zip(totals["model"], totals["training_year"])]
    for name in ("grants", "extra_grants_vs_private", "net_cost", "extra_net_cost_vs_private"):
        wide.loc[f"= {name}"] = totals.set_index("column")[name].reindex(columns).to_numpy()
    text = wide.map(lambda v: "–" if pd.isna(v) else _format_nok(v))
    header = (f"Yearly municipal cost, list of {table.params['patients']} patients "
              f"({table.params['price_year']} NOK; * = documented assumption)")
    assumed = set(table.components.loc[table.components["assumption"], "component"])
    text.index = [f"{name} *" if name in assumed else name for name in text.index]
    with pd.option_context("display.width", 250, "display.max_columns", 30):
        body = text.to_string()
    return "\n".join([header, body, "", *[f"note: {n}" for n in table.notes]])


# --------------------------------------------------------------------------- survival pieces


_GAUSS_NODES, _GAUSS_WEIGHTS = np.polynomial.legendre.leggauss(40)


def _parametric_survival(distribution: str, mu: float, sigma: float, t: np.ndarray) -> np.ndarray:
    w = (np.log(t) - mu) / sigma
    return np.exp(-np.exp(w)) if distribution == "weibull" else stats.norm.sf(w)


def _parametric_fit(durations: np.ndarray, exits: np.ndarray):
    """AIC-chosen Weibull / log-normal fit (duration.py's maximum likelihood) or None."""
    from .duration import fit_aft  # the project's survreg-exact AFT fit

    best = None
    for distribution in ("weibull", "lognormal"):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fit = fit_aft(durations, exits, distribution)
        except (ArithmeticError, np.linalg.LinAlgError, ValueError):
            continue
        if best is None or fit["aic"] < best[1]["aic"]:
            best = (distribution, fit)
    return best


def _year_areas(durations, exits, horizon: float, method: str) -> tuple[np.ndarray, float] | None:
    """Expected time in post within each training year up to ``horizon`` and S(horizon); None if not estimable."""
    bounds = np.minimum(np.arange(0, math.ceil(horizon) + 1, dtype=float), horizon)
    if method == "rmst":
        curve = km.product_limit(durations, exits)
        times, surv = curve["time"], curve["survival"]
        at_horizon = float(km.step_values(times, surv, [horizon], 1.0)[0])
        return km.step_areas(times, surv, bounds), at_horizon
    if exits.sum() < MIN_EVENTS_PARAMETRIC:
        return None
    best = _parametric_fit(durations, exits)
    if best is None:
        return None
    distribution, fit = best
    areas = []
    for a, b in zip(bounds[:-1], bounds[1:]):
        t = (b - a) / 2 * _GAUSS_NODES + (a + b) / 2
        areas.append((b - a) / 2 * float(np.sum(_GAUSS_WEIGHTS * _parametric_survival(distribution, fit["mu"], fit["sigma"], t))))
    at_horizon = float(_parametric_survival(distribution, fit["mu"], fit["sigma"], np.array([horizon]))[0])
    return np.array(areas), at_horizon


# --------------------------------------------------------------------------- cost per retained year


@dataclass
class CostPerRetainedYearResult(AnalysisResult):
    """Expected retained years and municipal cost within a horizon, per cohort."""

    estimates: pd.DataFrame | None = None
    bootstrap_samples: pd.DataFrame | None = None

    title: ClassVar[str] = "Cost per retained GP-year within the horizon (2019 NOK)"
    _tables: ClassVar[tuple[str, ...]] = ("estimates",)


@memoised
def _cohort_costs(costs: CostTable, model: str, n_years: int) -> tuple[np.ndarray, float]:
    """Yearly net cost proportional to time in post (per training year) and the one-off cost."""
    one_off, running = [], {}
    # plain rows, not pandas filters: called for every row of the sensitivity tables
    for row_model, year, component, amount in zip(costs.components["model"], costs.components["training_year"],
                                                  costs.components["component"], costs.components["amount"]):
        if row_model != model:
            continue
        if component in ONE_OFF_COMPONENTS:
            one_off.append(amount)
        else:
            running.setdefault(int(year), []).append(amount)
    yearly = [_kahan_sum(running[year]) if year in running else np.nan for year in range(1, n_years + 1)]
    return np.array(yearly, dtype=float), float(sum(v for v in one_off if v == v))  # Series.sum skips NaN


def _episodes(prepared) -> pd.DataFrame:
    episodes = input_table(prepared, "episodes")
    require_columns(episodes, ("cohort", "duration", "exit"), "episodes")
    return episodes


def _check_horizon(horizon) -> float:
    training_years = cost_parameter("nord_training_years")
    try:
        value = float(horizon)
    except (TypeError, ValueError):
        value = float("nan")
    if not (0 < value <= training_years):
        raise AlisError(
            f"horizon must be a number of years above 0 and at most {training_years:g} (the training years the cost "
            f"model covers), got {horizon!r}"
        )
    return value


@memoised
def cost_per_retained_year(
    prepared,
    *,
    patients: int = 800,
    horizon: float = config.DEFAULT_RMST_HORIZON,
    method: str = "rmst",
    bootstrap: int = 1000,
    seed: int = 2019,
    alpha: float = config.DEFAULT_ALPHA,
    assumptions: CostAssumptions | None = None,
    cost_per_exit: float = 0.0,
) -> CostPerRetainedYearResult:
    """Expected municipal cost per GP-year retained within ``horizon`` years, per cohort.

    For cohort *c* with model *m* (fastlønn → ALIS fastlønn, næring → ALIS næring),
    :math:`A_k = \\int_{k-1}^{\\min(k, \\tau)} S_c(t)\\,dt` is the expected time in post
    during training year *k*, so

    .. math::

        \\text{retained}_c = \\sum_k A_k = \\mathrm{RMST}_c(\\tau), \\qquad
        \\text{cost}_c = O_m + \\sum_k C_m(k)\\,A_k + E\\,(1 - S_c(\\tau)), \\qquad
        \\text{cost per retained year} = \\text{cost}_c / \\text{retained}_c

    where :math:`C_m(k)` is the yearly net cost (paid while the ALIS is in post) and
    :math:`O_m` the one-off recruitment grant paid at start, :math:`E` an optional cost per
    exit (``cost_per_exit``: locum cover and a new recruitment, 0 by default).  With
    costs in proportion to time in post, the ratio equals the model's average yearly
    cost; early exits raise it only through the one-off and per-exit costs.  :math:`S_c` is the
    Kaplan–Meier curve (``method="rmst"``; held at its last value beyond follow-up, as
    R) or the AIC-chosen Weibull/log-normal fit (``method="parametric"``).

    Parameters
    ----------
    prepared : PreparedDataset or DataFrame
        Prepared episodes with ``cohort``, ``duration``, ``exit``.
    patients : int
        List size used for the costs.
    horizon : float
        Years (0 < horizon <= 5, the training years the cost model covers).
    method : {"rmst", "parametric"}
    bootstrap : int
        Resamples of episodes within each cohort (0: no intervals).
    seed : int
        Seed of the bootstrap (same seed, same intervals).
    alpha : float
        1 − confidence level of the percentile intervals.
    assumptions : CostAssumptions, optional
        Override the cost assumptions.
    cost_per_exit : float
        NOK the municipality spends when an ALIS leaves within the horizon (default 0).

    Returns
    -------
    CostPerRetainedYearResult
        ``estimates``: cohort, model, episodes, exits, horizon, retained_years (+ CI),
        expected_cost (+ CI), cost_per_retained_year, ci_lower, ci_upper.
    """
    if method not in ("rmst", "parametric"):
        raise AlisError(f"method must be 'rmst' or 'parametric', got {method!r}")
    if not 0 < alpha < 1:
        raise AlisError(f"alpha must lie between 0 and 1, got {alpha!r}")
    if int(bootstrap) < 0:
        raise AlisError(f"bootstrap must be 0 (no intervals) or a positive number of resamples, got {bootstrap!r}")
    horizon = _check_horizon(horizon)
    episodes = _episodes(prepared)
    costs = yearly_costs(patients, assumptions=assumptions)
    n_years = math.ceil(horizon)
    result = CostPerRetainedYearResult(params={"patients": costs.params["patients"], "horizon": horizon, "method": method,
                                               "bootstrap": int(bootstrap), "seed": seed, "alpha": alpha, "cost_per_exit": cost_per_exit,
                                               "price_year": PRICE_YEAR, "ci": "bootstrap percentile, persons resampled within cohort (all their episodes)"})
    rng = np.random.default_rng(seed)
    rows, samples = [], []
    for cohort in config.CONTRACT_TYPES:
        model = COHORT_MODEL[cohort]
        running, one_off = _cohort_costs(costs, model, n_years)
        part = episodes[episodes["cohort"] == cohort]
        durations, exits = part["duration"].to_numpy(float), part["exit"].to_numpy(int)
        row = {"cohort": cohort, "model": model, "episodes": len(part), "exits": int(exits.sum()), "horizon": horizon}
        fitted = _year_areas(durations, exits, horizon, method) if len(part) else None
        if fitted is None:
            note = (result.add_note("costs_no_episodes", cohort=cohort, warn=False) if not len(part) else
                    result.add_note("costs_few_exits", cohort=cohort, events=int(exits.sum()),
                                    minimum=MIN_EVENTS_PARAMETRIC, warn=False))
            warnings.warn(str(note), NotEstimableWarning, stacklevel=2)
            rows.append({**row, **{k: np.nan for k in _ESTIMATE_COLUMNS}})
            continue
        if method == "rmst" and durations.max() < horizon and exits[durations == durations.max()].min() == 0:
            result.add_note("costs_horizon", cohort=cohort, horizon=float(horizon), follow_up=float(durations.max()),
                            warn=False)
        areas, at_horizon = fitted
        retained = float(areas.sum())
        cost = one_off + float(running @ areas) + cost_per_exit * (1 - at_horizon)
        persons = part["person_id"].to_numpy() if "person_id" in part else np.arange(len(part))
        boot = _bootstrap(durations, exits, persons, horizon, method, running, one_off, cost_per_exit,
                          int(bootstrap), rng)
        lower_q, upper_q = alpha / 2, 1 - alpha / 2
        intervals = {}
        failed = int(np.isnan(boot[:, 0]).sum()) if len(boot) else 0
        for j, name in enumerate(("retained_years", "expected_cost", "cost_per_retained_year")):
            if len(boot) and failed <= MAX_FAILED_BOOTSTRAP_SHARE * len(boot):
                intervals[name] = np.nanquantile(boot[:, j], [lower_q, upper_q])
            else:
                intervals[name] = (np.nan, np.nan)
        if failed:
            withheld = failed > MAX_FAILED_BOOTSTRAP_SHARE * len(boot)
            result.add_note("costs_bootstrap_withheld" if withheld else "costs_bootstrap_failed", cohort=cohort,
                            failed=failed, resamples=len(boot), warn=False)
        rows.append({**row, "retained_years": retained,
                     "retained_years_ci_lower": intervals["retained_years"][0],
                     "retained_years_ci_upper": intervals["retained_years"][1],
                     "expected_cost": cost, "expected_cost_ci_lower": intervals["expected_cost"][0],
                     "expected_cost_ci_upper": intervals["expected_cost"][1],
                     "cost_per_retained_year": cost / retained,
                     "ci_lower": intervals["cost_per_retained_year"][0],
                     "ci_upper": intervals["cost_per_retained_year"][1]})
        if len(boot):
            samples.append(pd.DataFrame({"cohort": cohort, "replicate": np.arange(len(boot)), "retained_years": boot[:, 0],
                                         "expected_cost": boot[:, 1], "cost_per_retained_year": boot[:, 2]}))
    if int(bootstrap) == 0:
        result.add_note("costs_no_bootstrap", warn=False)
    result.estimates = pd.DataFrame(rows, columns=["cohort", "model", "episodes", "exits", "horizon", *_ESTIMATE_COLUMNS])
    result.bootstrap_samples = pd.concat(samples, ignore_index=True) if samples else None
    if episodes["cohort"].value_counts().min() < 20:
        result.add_note("costs_rough_intervals", minimum=20, warn=False)
    return result


_ESTIMATE_COLUMNS = ("retained_years", "retained_years_ci_lower", "retained_years_ci_upper", "expected_cost",
                     "expected_cost_ci_lower", "expected_cost_ci_upper", "cost_per_retained_year", "ci_lower", "ci_upper")


def _bootstrap(durations, exits, persons, horizon, method, running, one_off, cost_per_exit, replicates,
               rng) -> np.ndarray:
    """Replicates × (retained years, expected cost, cost per retained year); NaN rows where not estimable.

    Persons are resampled (with all their episodes in the cohort), not episodes: a person's
    episodes are not independent, and resampling them singly would make the interval too narrow.
    The Kaplan–Meier version (``method="rmst"``) runs on all replicates at once
    (:func:`bootstrap_km`); the parametric one fits every replicate (:func:`bootstrap_loop`).
    Both draw the same persons from ``rng`` and give the same numbers.
    """
    function = bootstrap_km if method == "rmst" else bootstrap_loop
    return function(durations, exits, persons, horizon, method, running, one_off, cost_per_exit, replicates, rng)


def _person_blocks(persons) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Person codes (sorted ids), the episode order grouped by person, episodes per person and block starts."""
    codes, _ = pd.factorize(pd.Series(persons), sort=True)
    order = np.argsort(codes, kind="stable")
    counts = np.bincount(codes) if len(codes) else np.array([], dtype=int)
    starts = np.r_[0, np.cumsum(counts)[:-1]] if len(counts) else counts
    return codes, order, counts, starts


def bootstrap_loop(durations, exits, persons, horizon, method, running, one_off, cost_per_exit, replicates,
                   rng) -> np.ndarray:
    """The bootstrap of :func:`cost_per_retained_year`, one replicate at a time (any ``method``)."""
    out = np.full((replicates, 3), np.nan)
    _, order, counts, starts = _person_blocks(persons)
    n_persons = len(counts)
    for b in range(replicates):
        chosen = rng.integers(0, n_persons, n_persons)
        pick = order[np.concatenate([np.arange(starts[c], starts[c] + counts[c]) for c in chosen])] if n_persons else order
        fitted = _year_areas(durations[pick], exits[pick], horizon, method)
        if fitted is None or fitted[0].sum() <= 0:
            continue
        retained = fitted[0].sum()
        cost = one_off + running @ fitted[0] + cost_per_exit * (1 - fitted[1])
        out[b] = (retained, cost, cost / retained)
    return out


#: Replicates drawn and analysed together by :func:`bootstrap_km` (bounds its memory: chunk × episodes).
BOOTSTRAP_CELLS_PER_CHUNK = 2_000_000


def bootstrap_km(durations, exits, persons, horizon, method, running, one_off, cost_per_exit, replicates,
                 rng) -> np.ndarray:
    """:func:`bootstrap_loop` for the Kaplan–Meier method, all replicates at once.

    A replicate is a weight per episode (how often its person was drawn). On the grid of the
    cohort's distinct durations, every replicate's exits and numbers at risk are one matrix
    product of small integers (exact); a time absent from a replicate gets the factor 1.0 and
    a zero area, so the curves and areas are the same floating-point numbers as the loop's.
    The persons are drawn in the loop's order (``rng.integers`` fills row after row from the
    same stream), so the replicates are the loop's, number for number.
    """
    if method != "rmst":
        raise AlisError(f"bootstrap_km computes the Kaplan–Meier (rmst) method only, got {method!r}")
    out = np.full((replicates, 3), np.nan)
    codes, _, counts, _ = _person_blocks(persons)
    n_persons = len(counts)
    if replicates == 0 or n_persons == 0:
        return out
    times, time_of = np.unique(durations, return_inverse=True)
    n_times = len(times)
    exit_weights = np.zeros((len(durations), n_times))
    exit_weights[np.arange(len(durations)), time_of] = exits
    at_time = np.zeros((len(durations), n_times))
    at_time[np.arange(len(durations)), time_of] = 1.0
    bounds = np.minimum(np.arange(0, math.ceil(horizon) + 1, dtype=float), horizon)
    knots = np.r_[0.0, times]
    last_knot_at_bound = np.searchsorted(knots, bounds, side="right") - 1  # on the full grid
    chunk = max(1, BOOTSTRAP_CELLS_PER_CHUNK // max(n_persons, len(durations), n_times, 1))
    for first in range(0, replicates, chunk):
        size = min(chunk, replicates - first)
        chosen = rng.integers(0, n_persons, (size, n_persons))
        person_weight = np.bincount((chosen + n_persons * np.arange(size)[:, None]).ravel(),
                                    minlength=size * n_persons).reshape(size, n_persons).astype(float)
        weight = person_weight[:, codes]  # replicates × episodes
        deaths = weight @ exit_weights  # replicates × times, whole numbers
        present = weight @ at_time
        is_present = present > 0
        surv = km.survival_on_grid(deaths, present)
        # value on [knot, next knot) and area terms; absent knots add exactly 0.0
        values = np.hstack([np.ones((size, 1)), surv])
        knot_present = np.hstack([np.ones((size, 1), bool), is_present])
        positions = np.where(knot_present, np.arange(n_times + 1), 0)
        last_present = np.maximum.accumulate(positions, axis=1)  # last present knot at or before each knot
        previous = np.hstack([np.zeros((size, 1), np.int64), last_present[:, :-1]])
        rows = np.arange(size)[:, None]
        terms = np.where(knot_present[:, 1:], (knots[1:] - knots[previous[:, 1:]]) * values[rows, previous[:, 1:]], 0.0)
        cumulative = np.hstack([np.zeros((size, 1)), np.cumsum(terms, axis=1)])
        at_bound = last_present[:, last_knot_at_bound]
        areas = np.diff(cumulative[rows, at_bound] + (bounds - knots[at_bound]) * values[rows, at_bound], axis=1)
        at_horizon = values[rows[:, 0], at_bound[:, -1]]
        for b in range(size):  # scalars per replicate, in the loop's operation order
            # a fresh array, as the loop's: BLAS's dot product rounds differently with the memory alignment
            replicate_areas = areas[b].copy()
            retained = replicate_areas.sum()
            if retained <= 0:
                continue
            cost = one_off + running @ replicate_areas + cost_per_exit * (1 - at_horizon[b])
            out[first + b] = (retained, cost, cost / retained)
    return out


@memoised
def cost_sensitivity(
    prepared,
    *,
    list_sizes: Sequence[int] = (600, 800, 1000, 1200),
    horizons: Sequence[float] = (3, 5),
    method: str = "rmst",
    bootstrap: int = 0,
    seed: int = 2019,
    assumptions: CostAssumptions | None = None,
    cost_per_exit: float = 0.0,
) -> CostPerRetainedYearResult:
    """Cost per retained GP-year over a grid of list sizes and horizons.

    One call of :func:`cost_per_retained_year` per (list size, horizon); the
    ``estimates`` table gains ``list_size`` and ``horizon`` columns.  Without a
    bootstrap (default) the interval columns are NaN.
    """
    frames, notes = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotEstimableWarning)
        for horizon in horizons:
            for size in list_sizes:
                single = cost_per_retained_year(prepared, patients=size, horizon=horizon, method=method,
                                                bootstrap=bootstrap, seed=seed, assumptions=assumptions,
                                                cost_per_exit=cost_per_exit)
                frames.append(single.estimates.assign(list_size=single.params["patients"]))
                notes.extend(n for n in single.notes if n not in notes)
    table = pd.concat(frames, ignore_index=True)
    table = table[["list_size", *[c for c in table.columns if c != "list_size"]]]
    result = CostPerRetainedYearResult(params={"list_sizes": tuple(list_sizes), "horizons": tuple(horizons),
                                               "method": method, "bootstrap": bootstrap, "price_year": PRICE_YEAR,
                                               "cost_per_exit": cost_per_exit},
                                       estimates=table)
    result.title = "Sensitivity of the cost per retained GP-year to list size and horizon (2019 NOK)"
    result.notes.extend(notes)
    return result


#: Assumptions varied by :func:`assumption_sensitivity`: they drive the fastlønn/næring contrast
#: (the salary, the office and the practice income the municipality collects under fastlønn; the
#: programme grant, supervision and course cover paid for both).
SENSITIVITY_ASSUMPTIONS = ("salary", "office", "fee_income_per_patient", "programme_grant",
                           "supervision_cost_per_hour", "course_cover")


@memoised
def assumption_sensitivity(
    prepared,
    *,
    patients: int = 800,
    horizon: float = config.DEFAULT_RMST_HORIZON,
    method: str = "rmst",
    relative_change: float = 0.25,
    fields: Sequence[str] = SENSITIVITY_ASSUMPTIONS,
    assumptions: CostAssumptions | None = None,
) -> pd.DataFrame:
    """One-way sensitivity of the cost per retained GP-year to the cost assumptions.

    Each assumption in ``fields`` is set ``relative_change`` below and above its base value
    (the programme grant also to 0: no programme), the others held at base, and the cost per
    retained GP-year recomputed for both cohorts (point estimates; the retention curves do not
    change, so only the prices move). The difference næring − fastlønn shows whether an
    assumption can turn the comparison around.

    Returns
    -------
    DataFrame
        ``assumption``, ``setting`` (``base``, ``low``, ``high``, ``none``), ``value`` (NOK, in
        ``PRICE_YEAR`` prices), ``fastlønn``, ``næring`` (cost per retained GP-year) and
        ``difference`` (næring − fastlønn); the base row first.
    """
    if not 0 < relative_change < 1:
        raise AlisError(f"relative_change must lie between 0 and 1, got {relative_change!r}")
    base = assumptions or CostAssumptions.defaults()
    unknown = [f for f in fields if f not in asdict(base)]
    if unknown:
        raise AlisError(f"unknown cost assumption(s) {', '.join(unknown)}; known: {', '.join(asdict(base))}")

    def row(assumption: str, setting: str, value, varied: CostAssumptions) -> dict:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotEstimableWarning)
            single = cost_per_retained_year(prepared, patients=patients, horizon=horizon, method=method,
                                            bootstrap=0, assumptions=varied)
        per_year = single.estimates.set_index("cohort")["cost_per_retained_year"]
        fast, naering = (float(per_year.get(c, np.nan)) for c in config.CONTRACT_TYPES)
        return {"assumption": assumption, "setting": setting, "value": value,
                "fastlønn": fast, "næring": naering, "difference": naering - fast}

    rows = [row("base", "base", np.nan, base)]
    for field_name in fields:
        value = getattr(base, field_name)
        settings = [("low", value * (1 - relative_change)), ("high", value * (1 + relative_change))]
        if field_name == "programme_grant":
            settings.insert(0, ("none", 0.0))
        for setting, changed in settings:
            rows.append(row(field_name, setting, float(changed), replace(base, **{field_name: changed})))
    return pd.DataFrame(rows, columns=["assumption", "setting", "value", *config.CONTRACT_TYPES, "difference"])


# --------------------------------------------------------------------------- figure
#
# The report section is alis_research.report.sections_costs.costs_section.


def plot_cost_per_retained_year(result: CostPerRetainedYearResult, ax=None, *, language: str = "nb"):
    """Bars of the cost per retained GP-year per cohort with bootstrap intervals; returns ``ax``."""
    from matplotlib.ticker import FuncFormatter

    from .. import figures

    labels = figures.figure_labels(language, "figure.costs")
    table = result.estimates
    with figures.house_style():
        ax = figures.new_axes(ax)
        x = np.arange(len(table))
        values = table["cost_per_retained_year"].to_numpy(float)
        ax.bar(x, np.nan_to_num(values), color=[figures.colour(c) for c in table["cohort"]], width=0.6)
        low, high = table["ci_lower"].to_numpy(float), table["ci_upper"].to_numpy(float)
        has_ci = np.isfinite(low) & np.isfinite(high) & (high - low >= 1)  # no bar for an interval of < 1 krone
        if has_ci.any():
            ax.errorbar(x[has_ci], values[has_ci], yerr=[values[has_ci] - low[has_ci], high[has_ci] - values[has_ci]],
                        fmt="none", ecolor="black", capsize=4, linewidth=1)
        ax.set_xticks(x, [figures.label(c, language) for c in table["cohort"]])
        ax.set_ylabel(labels["cost"])
        ax.set_xlabel(labels["contract_type"])
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: _format_nok(v)))
    return ax


def with_assumptions(**overrides) -> CostAssumptions:
    """The default assumptions with some fields replaced, e.g. ``with_assumptions(salary=1_300_000)``."""
    defaults = CostAssumptions.defaults()
    unknown = set(overrides) - set(asdict(defaults))
    if unknown:
        raise AlisError(f"unknown cost assumption(s) {', '.join(sorted(unknown))}; known: {', '.join(asdict(defaults))}")
    return replace(defaults, **overrides)


__all__ = [
    "ALIS_FASTLONN", "ALIS_NAERING", "PRIVATE_LIST", "MODELS", "PRICE_YEAR", "CostAssumptions", "CostTable",
    "CostPerRetainedYearResult", "SENSITIVITY_ASSUMPTIONS", "assumption_sensitivity",
    "cost_per_retained_year", "cost_sensitivity",
    "format_cost_table", "load_cost_parameters", "plot_cost_per_retained_year", "with_assumptions", "yearly_costs",
]
