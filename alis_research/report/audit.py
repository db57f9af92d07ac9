"""Whole-report suppression and the attacker audit over a report's :class:`~.ledger.Ledger`.

**What a reader knows**: the size of every published count; that a withheld
count is at least 1 (zeros are shown as ``0``); and the size of every set a
published derived number gives away (a survival estimate the exits behind it,
a rate its exits and person-time; see :mod:`.ledger`). These sets are the
attacker's unknowns, tied by every relation their definitions imply: a set
that is the disjoint union of other named sets equals their sum (a *line*:
margins, flows, a total repeated as the sum of its parts), and a set inside
another is at most that one (*nesting*: at risk at two times, a part and its
group). It is the linked-tables audit of tau-ARGUS over the whole report.

**Targets**: each withheld count; each difference ``B − A`` of nested sets
(the leavers between two numbers at risk, "the rest of 31"); and each
*remainder* ``B − A₁ − … − Aₖ`` of a set and disjoint parts of it that do not
cover it (the censored: a cohort minus its number at risk minus the exits a
survival estimate gives away); and each rest of a difference after another
difference inside it (the censored between two times: two numbers at risk and
the exits two estimates give away) — whose true value is 1 … ``min_cell − 1``. For
each, integer programming (HiGHS, after the linear relaxation) finds the
smallest and largest value consistent with everything published. One model per
universe is kept for the whole protection: what is published is in the
variables' bounds, so a change of what is published changes bounds only and a
target changes the objective only. **The rule: the range must be at least
``min_cell − 1`` wide**, so it never lies within 1 … ``min_cell − 1``. A target
whose true value is 0 or at least ``min_cell`` cannot be exposed as small (the
truth lies in the attacker's range).

**Protection** (:func:`protect`): primary suppression (1 … ``min_cell − 1``),
derived numbers withheld with their counts, then secondary suppression over
the whole report: while a target fails, withhold the published number that
repairs it at least cost — a count no estimate rests on (a number at risk, a
margin) before a count whose estimates would go with it, and only then the
derived numbers that give a set away — and audit again. Each repair withholds
at least one more number, so it ends; when nothing is left to withhold and a
target still fails, :class:`~.ledger.DisclosureAuditFailed` is raised and
nothing is published.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import AlisError
from .ledger import DisclosureAuditFailed, Ledger, Protection

#: A box for the solver; a bound near it means "no upper limit".
_BIG = 1e7


@dataclass
class _Universe:
    """The named sets of one universe and the relations a reader knows between them.

    ``lines``: ``(total, parts)`` where the total's set is the disjoint union of the
    parts' sets; ``nested``: ``(small, big)`` where one set lies in the other;
    ``remainders``: ``(total, parts)`` with disjoint parts inside the total that do
    not cover it; ``between``: weights ``{key: ±1}`` of the rest of one difference of
    nested sets after a set or another difference inside it. The audit's unknowns
    are the sets' sizes.
    """

    name: str
    keys: list
    index: dict
    values: np.ndarray
    lines: list
    nested: list
    remainders: list
    between: list
    between_values: list  # the true size of each ``between`` combination


def _prefix(ledger: Ledger, key: str) -> str:
    return ledger.cells[key]["label"].split(":")[0].split(",")[0].split(" ")[0]


def _universes(ledger: Ledger, named: set, min_cell: int) -> dict[str, _Universe]:
    """The ``named`` sets (those a reader could ever know) per universe, with their relations
    (pairs of parts are kept as remainders only when the rest is 1 … ``min_cell − 1``)."""
    out = {}
    by_universe: dict[str, list] = {}
    for key in named:
        by_universe.setdefault(ledger.cells[key]["universe"], []).append(key)
    for universe, keys in sorted(by_universe.items()):
        keys = sorted(keys, key=lambda k: (ledger.cells[k]["label"], k))
        members = sorted({m for k in keys for m in ledger.cells[k]["members"]})
        bit = {m: 1 << j for j, m in enumerate(members)}
        bits = {k: sum(bit[m] for m in ledger.cells[k]["members"]) for k in keys}
        nonempty = [k for k in keys if bits[k]]
        prefix = {k: _prefix(ledger, k) for k in keys}
        nested, lines, remainders, seen = [], [], [], set()
        for big in nonempty:
            b = bits[big]
            subsets = [k for k in nonempty if k != big and bits[k] & ~b == 0 and bits[k] != b]
            nested += [(small, big) for small in subsets]
            for start in subsets:
                # disjoint subsets of the total: first of the start's kind (one variable of a table,
                # same label prefix), then of any kind; a cover is a line, else a remainder
                for pool in ([k for k in subsets if prefix[k] == prefix[start]], subsets):
                    family, covered = [start], bits[start]
                    for other in pool:
                        if other not in family and bits[other] & covered == 0:
                            family.append(other)
                            covered |= bits[other]
                    signature = (big, tuple(sorted(family)))
                    if len(family) > 1 and signature not in seen:
                        seen.add(signature)
                        (lines if covered == b else remainders).append((big, family))
            # every two disjoint parts that leave a rest (the censored: a cohort minus its number at
            # risk minus the exits by then), whatever else the greedy families above picked up
            size = b.bit_count()
            for i, first in enumerate(subsets):
                rest = size - bits[first].bit_count()
                for second in subsets[i + 1:]:
                    if (bits[first] & bits[second] == 0
                            and 0 < rest - bits[second].bit_count() < min_cell):  # only a small rest is a target
                        signature = (big, tuple(sorted((first, second))))
                        if signature not in seen:
                            seen.add(signature)
                            remainders.append((big, [first, second]))
        sizes = {k: len(ledger.cells[k]["members"]) for k in keys}
        between = _between(bits, nested, min_cell)
        out[universe] = _Universe(universe, keys, {k: i for i, k in enumerate(keys)},
                                  np.array([sizes[k] for k in keys], dtype=float),
                                  lines, nested, remainders, between,
                                  [sum(w * sizes[k] for k, w in weights.items()) for weights in between])
    return out


def _between(bits: dict, nested: list, min_cell: int) -> list[dict]:
    """Rests of a difference of nested sets after a part inside it, when the rest is small.

    The censored between two times: those at risk at the first time and not at the
    second (a difference of two numbers at risk), minus the exits in between (a
    difference of the exits by each time, which two survival estimates give away).
    The part is another difference; sizes are compared first, so only parts within
    ``min_cell`` of the difference are looked at.
    """
    from bisect import bisect_left

    # a named set inside a difference B − A is a remainder of B after A and it (found above)
    parts = [({small: -1, big: 1}, bits[big] & ~bits[small]) for small, big in nested]
    parts.sort(key=lambda p: p[1].bit_count())
    sizes = [p[1].bit_count() for p in parts]
    out = []
    for small, big in nested:
        whole = bits[big] & ~bits[small]
        size = whole.bit_count()
        for weights, part in parts[bisect_left(sizes, size - min_cell + 1):bisect_left(sizes, size)]:
            if part & ~whole == 0:
                combination = {big: 1, small: -1}
                for key, weight in weights.items():
                    combination[key] = combination.get(key, 0) - weight
                out.append({k: w for k, w in combination.items() if w})
    return out


def _covering(nested: list) -> list:
    """The nestings no third set lies between (the rest follow from them): fewer rows, same knowledge."""
    pairs = set(nested)
    above: dict = {}
    for small, big in nested:
        above.setdefault(small, set()).add(big)
    return [(small, big) for small, big in nested
            if not any(middle != big and (middle, big) in pairs for middle in above[small])]


class _Model:
    """The attacker's knowledge of one universe as one HiGHS model over the named sets' sizes.

    Rows are the relations (lines, nestings), fixed; what the reader knows is in
    the variables' bounds (a published size: equal to it; a withheld count: at
    least 1; anything else: free), so a change of what is published changes
    bounds only, and a target changes the objective only.
    """

    def __init__(self, u: _Universe):
        import highspy

        self.u = u
        self.highspy = highspy
        self.h = h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        # tiny programs solved hundreds of times: presolve costs more than it saves; and HiGHS' MIP
        # presolve (highspy 1.15.1, and scipy's milp on it) was seen to cut off a feasible optimum
        h.setOptionValue("presolve", "off")
        h.setOptionValue("solver", "simplex")
        n = len(u.keys)
        self.n = n
        h.addVars(n, np.zeros(n), np.full(n, _BIG))
        rows = []
        for total, parts in u.lines:
            row = np.zeros(n)
            row[u.index[total]] = 1
            for part in parts:
                row[u.index[part]] -= 1
            rows.append((row, 0.0, 0.0))
        for small, big in _covering(u.nested):
            row = np.zeros(n)
            row[u.index[small]] = 1
            row[u.index[big]] = -1
            rows.append((row, -np.inf, 0.0))
        self._rows = np.array([r for r, _, _ in rows]) if rows else np.zeros((0, n))
        self._rows_lower = np.array([lo for _, lo, _ in rows])
        self._rows_upper = np.array([hi for _, _, hi in rows])
        if rows:
            r_idx, c_idx = np.nonzero(self._rows)
            starts = np.searchsorted(r_idx, np.arange(len(rows))).astype(np.int32)
            h.addRows(len(rows), self._rows_lower, self._rows_upper, len(c_idx), starts, c_idx.astype(np.int32),
                      self._rows[r_idx, c_idx])
        self.lower = np.zeros(n)
        self.upper = np.full(n, _BIG)
        self.programs = 0
        self._memo: dict = {}  # objective -> (relaxation's optimum, integral?), and integer optima
        # Integer points the solver has found under the current knowledge (any of them that reaches
        # a target's threshold settles that target without a program); emptied when knowledge changes.
        self._points: list[np.ndarray] = []
        self._pool = np.zeros((0, n))

    def set_knowledge(self, published: set, withheld) -> None:
        u = self.u
        lower, upper = np.zeros(len(u.keys)), np.full(len(u.keys), _BIG)
        for i, key in enumerate(u.keys):
            if key in published:
                lower[i] = upper[i] = u.values[i]
            elif key in withheld and u.values[i] > 0:
                lower[i] = 1.0
        changed = np.nonzero((lower != self.lower) | (upper != self.upper))[0]
        if len(changed):
            self._memo = {}
            self._points, self._pool = [], np.zeros((0, self.n))
            self.h.changeColsBounds(len(changed), changed.astype(np.int32), lower[changed], upper[changed])
            self.lower, self.upper = lower, upper

    def bound(self, target: np.ndarray, sign: float, *, integer: bool = False) -> float:
        """The smallest (``sign`` 1) or largest (``sign`` −1) value of ``target · x``.

        Of the linear relaxation; with ``integer`` of the integer program (the
        relaxation is solved first, and when its optimum is integral it is the
        integer optimum). Results are remembered until what is published changes:
        many targets differ only in published counts, which are constants
        (see :meth:`interval`), so one program serves them all.
        """
        hs, h = self.highspy, self.h
        key = (target.tobytes(), sign)
        if key in self._memo:
            value, integral = self._memo[key]
        else:
            h.changeColsCost(self.n, np.arange(self.n, dtype=np.int32), target.astype(float))
            h.changeObjectiveSense(hs.ObjSense.kMinimize if sign > 0 else hs.ObjSense.kMaximize)
            self.programs += 1
            value = self._run()
            x = np.asarray(h.getSolution().col_value)
            integral = np.max(np.abs(x - np.round(x)), initial=0.0) <= 1e-7
            self._memo[key] = (value, integral)
            if integral:
                self._keep_point(x)
        if integer:
            if not integral:
                if (key, "integer") not in self._memo:
                    h.changeColsCost(self.n, np.arange(self.n, dtype=np.int32), target.astype(float))
                    h.changeObjectiveSense(hs.ObjSense.kMinimize if sign > 0 else hs.ObjSense.kMaximize)
                    everything = np.arange(self.n, dtype=np.int32)
                    h.changeColsIntegrality(self.n, everything, np.full(self.n, hs.HighsVarType.kInteger.value,
                                                                        dtype=np.uint8))
                    self.programs += 1
                    try:
                        self._memo[(key, "integer")] = self._run()
                        self._keep_point(np.asarray(h.getSolution().col_value))
                    finally:
                        h.changeColsIntegrality(self.n, everything, np.full(
                            self.n, hs.HighsVarType.kContinuous.value, dtype=np.uint8))
                value = self._memo[(key, "integer")]
            value = float(round(value))
        return np.inf if value >= _BIG / 2 else value

    def _keep_point(self, x: np.ndarray) -> bool:
        """Keep ``x`` rounded as a known integer point if it meets every bound and relation exactly."""
        x = np.round(x)
        if (np.all(x >= self.lower) and np.all(x <= self.upper)
                and np.all(self._rows @ x >= self._rows_lower) and np.all(self._rows @ x <= self._rows_upper)):
            self._points.append(x)
            if len(self._points) > _MAX_POINTS:
                self._points = self._points[-_MAX_POINTS:]
            self._pool = np.array(self._points)
            return True
        return False

    def reaches(self, target: np.ndarray, threshold: float, sign: float, *, solve: bool = True) -> bool:
        """Whether some integer point the attacker cannot exclude has ``target · x`` at least (``sign``
        −1) or at most (``sign`` 1) ``threshold``.

        A feasibility question, not an optimum: a known integer point that reaches the threshold
        answers it; otherwise (unless ``solve`` is False: then no) an integer program with that
        bound as a row and no objective, which stops at its first integer point (a fraction of the
        time of proving the optimum).
        """
        hs, h = self.highspy, self.h
        key = (target.tobytes(), sign, float(threshold), "reaches")
        if key in self._memo:
            return self._memo[key]
        if len(self._pool):
            values = self._pool @ target
            if (values >= threshold).any() if sign < 0 else (values <= threshold).any():
                self._memo[key] = True
                return True
        if not solve:
            return False
        if not np.isfinite(threshold):  # no point reaches +inf upwards or -inf downwards; every point the other way
            return bool(threshold < 0) if sign < 0 else bool(threshold > 0)
        columns = np.nonzero(target)[0].astype(np.int32)
        lower, upper = (float(threshold), np.inf) if sign < 0 else (-np.inf, float(threshold))
        everything = np.arange(self.n, dtype=np.int32)
        h.changeColsCost(self.n, everything, np.zeros(self.n))
        rows_before = h.getNumRow()
        status = h.addRow(lower, upper, len(columns), columns, target[columns].astype(float))
        if status != hs.HighsStatus.kOk or h.getNumRow() != rows_before + 1:
            # never delete a row we did not add: that would drop one of the attacker's relations
            raise AlisError(f"disclosure audit: the solver refused a threshold row ({status})")
        row = rows_before
        h.changeColsIntegrality(self.n, everything, np.full(self.n, hs.HighsVarType.kInteger.value, dtype=np.uint8))
        self.programs += 1
        try:
            h.run()
            status = h.getModelStatus()
            found = False
            if status == hs.HighsModelStatus.kOptimal:
                x = np.round(np.asarray(h.getSolution().col_value))
                found = bool((x @ target >= threshold) if sign < 0 else (x @ target <= threshold)) and self._keep_point(x)
            elif status != hs.HighsModelStatus.kInfeasible:
                raise AlisError(f"disclosure audit: the solver failed ({h.modelStatusToString(status)})")
        finally:
            h.changeColsIntegrality(self.n, everything, np.full(self.n, hs.HighsVarType.kContinuous.value,
                                                                  dtype=np.uint8))
            h.deleteRows(1, np.array([row], dtype=np.int32))
        if not found and status == hs.HighsModelStatus.kOptimal:
            # a point the solver called feasible that fails the exact check: let the optimum decide
            optimum = self.bound(target, sign, integer=True)
            found = optimum >= threshold if sign < 0 else optimum <= threshold
        self._memo[key] = found
        return found

    def _run(self) -> float:
        self.h.run()
        status = self.h.getModelStatus()
        if status != self.highspy.HighsModelStatus.kOptimal:
            raise AlisError(f"disclosure audit: the solver failed ({self.h.modelStatusToString(status)})")
        return float(self.h.getInfo().objective_function_value)

    def interval(self, target: np.ndarray, *, true_value: float | None = None, width: float | None = None,
                 relaxed: bool = False, exact: bool = True) -> tuple[float, float]:
        """Smallest and largest value of ``target · x`` an attacker can prove (integers).

        With ``true_value`` and ``width`` only as much is solved as the verdict
        needs: the relaxation's range contains the integer range, so a relaxation
        narrower than ``width`` settles a failure (its ends rounded inwards), and an
        end equal to the truth is an integer optimum (the truth is an integer
        solution); integer programs are solved only to confirm a range the
        relaxation finds wide. ``relaxed``: the relaxation's range (to choose a
        repair, never for the verdict). ``exact`` False: for a verdict only, a range
        wide enough is confirmed by any integer point ``width`` beyond the truth
        (:meth:`reaches`) and returned as ``(truth, truth + width)``, at least that wide;
        the verdict is the same, and a narrow range is still solved exactly.
        """
        # published counts are constants: solve for the rest, shared by every target with the same rest
        free = self.lower != self.upper
        offset = float(target[~free] @ self.lower[~free])
        target = np.where(free, target, 0.0)
        if not target.any():
            return offset, offset
        lo, hi = self._free_interval(target, None if true_value is None else true_value - offset, width, relaxed,
                                     exact)
        return lo + offset, hi + offset

    def _free_interval(self, target, true_value, width, relaxed, exact=True) -> tuple[float, float]:
        if relaxed:
            return self.bound(target, 1.0), self.bound(target, -1.0)
        if true_value is None or width is None:
            return self.bound(target, 1.0, integer=True), self.bound(target, -1.0, integer=True)
        if not exact and self.reaches(target, true_value + width, -1.0, solve=False):
            return float(true_value), float(true_value + width)  # a known integer point settles it
        # The relaxation's ends rounded inwards bound the integer ends, and every comparison is made
        # on them: compared unrounded, an end a rounding error short of the truth ± width (3.9999999999999982
        # for 4) took the "narrow" path, whose rounded range was then wide enough to pass unconfirmed.
        hi = _round_down(self.bound(target, -1.0))
        if hi - true_value >= width:
            if not exact and self.reaches(target, true_value + width, -1.0):
                return float(true_value), float(true_value + width)
            hi = self.bound(target, -1.0, integer=True)
            if hi - true_value >= width:
                return float(true_value), hi
        lo = _round_up(self.bound(target, 1.0))
        if hi - lo < width:
            return lo, hi
        return self.bound(target, 1.0, integer=True), self.bound(target, -1.0, integer=True)


def _round_down(value: float) -> float:
    """The largest integer a relaxation's maximum allows (its rounding error forgiven)."""
    return value if value == np.inf else float(np.floor(value + 1e-7))


def _round_up(value: float) -> float:
    """The smallest integer a relaxation's minimum allows (its rounding error forgiven)."""
    return value if value == -np.inf else float(np.ceil(value - 1e-7))


@dataclass
class AuditTarget:
    universe: str
    label: str
    reason: str            # "withheld" | "difference" | "remainder"
    vector: np.ndarray     # over the universe's named sets
    value: int
    cell: str | None = None


@dataclass
class AuditResult:
    failures: list = field(default_factory=list)     # dicts: label, reason, value, interval, universe, vector
    intervals: dict = field(default_factory=dict)    # cell key -> (lo, hi) for withheld cells
    n_targets: int = 0
    n_programs: int = 0
    complete: bool = True  # False when the scan stopped at ``max_failures``

    @property
    def passed(self) -> bool:
        return not self.failures


def _targets(ledger: Ledger, u: _Universe, named: set, withheld, min_cell: int) -> list[AuditTarget]:
    """Withheld counts, differences of nested named sets and remainders, deduplicated."""
    targets, seen = [], set()
    n = len(u.keys)

    def add(label, reason: str, weights: dict, value: float, cell: str | None = None):
        vector = np.zeros(n)
        for key, weight in weights.items():
            vector[u.index[key]] += weight
        signature = vector.tobytes()
        if signature not in seen:
            seen.add(signature)
            targets.append(AuditTarget(u.name, label() if callable(label) else label, reason, vector, int(value),
                                       cell))

    for key in u.keys:
        if key in withheld:
            add(ledger.cells[key]["label"] or key, "withheld", {key: 1.0}, ledger.value(key), key)
    for small, big in u.nested:
        value = ledger.value(big) - ledger.value(small)
        if small in named and big in named and 0 < value < min_cell:
            add(f"{ledger.cells[big]['label']} − {ledger.cells[small]['label']}", "difference",
                {big: 1.0, small: -1.0}, value)
    # the relations are found once over every set a reader could ever name; a part not named now (its
    # estimate withheld) leaves the rest of the others as a remainder, even of a family that covered
    for big, parts in (*u.remainders, *u.lines):
        shown_parts = [p for p in parts if p in named]
        value = ledger.value(big) - sum(ledger.value(p) for p in shown_parts)
        if big in named and shown_parts and 0 < value < min_cell:
            add(f"{ledger.cells[big]['label']} − " + " − ".join(ledger.cells[p]["label"] for p in shown_parts),
                "remainder", {big: 1.0, **{p: -1.0 for p in shown_parts}}, value)
    for weights, value in zip(u.between, u.between_values):
        if 0 < value < min_cell and all(k in named for k in weights):
            def label(weights=weights):
                return " ".join(f"{'+' if w > 0 else '−'} {ledger.cells[k]['label']}" for k, w in
                                sorted(weights.items(), key=lambda kw: -kw[1])).lstrip("+ ")
            add(label, "remainder", {k: float(w) for k, w in weights.items()}, value)
    return targets


def _check(ledger: Ledger, model: _Model, targets: list, min_cell: int, result: AuditResult,
           max_failures: int | None = None, settled: set | None = None) -> None:
    for target in targets:
        if max_failures is not None and len(result.failures) >= max_failures:
            result.complete = False
            return
        if not 0 < target.value < min_cell:
            # 0 or at least min_cell: the truth lies in the attacker's range, so it cannot be shown to be small
            if target.cell is not None:
                result.intervals[target.cell] = (float(target.value), np.inf) if target.value else (0.0, 0.0)
            continue
        # A difference or remainder that passed when more was published passes again (its range has
        # only widened since). A withheld count is solved every time: the record gives its range now.
        signature = target.vector.tobytes() if target.cell is None else None
        if settled is not None and signature in settled:
            continue
        # (a target made only of published counts is a constant: known exactly, no program; only a
        # withheld count's range is recorded, so only it needs the attacker's exact optimum)
        lo, hi = model.interval(target.vector, true_value=target.value, width=min_cell - 1,
                                exact=target.cell is not None)
        if target.cell is not None:
            result.intervals[target.cell] = (lo, hi)
        if settled is not None and signature is not None and hi - lo >= min_cell - 1:
            settled.add(signature)
        if hi - lo < min_cell - 1:
            result.failures.append({"universe": target.universe, "label": target.label, "reason": target.reason,
                                    "interval": [_int(lo), _int(hi)], "vector": target.vector,
                                    "cell": target.cell, "value": target.value})


def audit(ledger: Ledger, published: set, withheld, min_cell: int, *, revealed: set = frozenset(),
          models: dict | None = None, max_failures: int | None = None, settled: dict | None = None) -> AuditResult:
    """The attacker's range for every sensitive target; failures where it is narrower than ``min_cell − 1``.

    ``published``: shown counts a reader sees; ``withheld``: shown counts printed
    as the withheld mark (known to be at least 1); ``revealed``: sets whose size a
    published derived number gives away. ``max_failures``: stop after that many failures (``complete`` is then False): the
    protection loop repairs a few at a time, since each repair settles many others.
    ``settled``: per universe, the differences and remainders (by vector) that passed in an
    earlier audit, updated here; they are not solved again (withheld counts always are, so that
    the record's ranges are those of this audit). Only valid while every audit it has seen
    published a superset of what this one publishes: withholding more only takes equations and
    bounds away from the attacker, so a range can only widen and a passed target passes again
    (:func:`protect` keeps this).
    """
    known = set(published) | set(revealed)
    if models is None:
        named_all = set(known) | set(withheld)
        models = {name: _Model(u) for name, u in _universes(ledger, named_all, min_cell).items()}
    result = AuditResult()
    for name, model in models.items():
        u = model.u
        model.set_knowledge(known, withheld)
        named = {k for k in u.keys if k in known or k in withheld}
        targets = _targets(ledger, u, named, withheld, min_cell)
        result.n_targets += len(targets)
        before = model.programs
        _check(ledger, model, targets, min_cell, result, max_failures,
               None if settled is None else settled.setdefault(name, set()))
        result.n_programs += model.programs - before
    return result


def _int(x: float):
    return "∞" if x == np.inf else int(x)


# --------------------------------------------------------------------------- protection
class _State:
    """What is published given the withheld counts and the derived numbers dropped to protect others."""

    def __init__(self, ledger: Ledger, shown: set, withheld: dict, dropped: set, min_cell: int):
        self.withheld = withheld
        self.derived = _derived_state(ledger, set(withheld), dropped, min_cell)
        self.revealed = {s for key, d in ledger.derived.items() if key not in self.derived for s in d.get("reveals", ())}
        self.published = {k for k in shown if k not in withheld} | self.revealed


def _derived_state(ledger: Ledger, withheld_cells: set, dropped: set, min_cell: int) -> dict:
    state = {}
    for key, d in ledger.derived.items():
        if key in dropped:
            state[key] = "secondary (protects another count)"
            continue
        for dep in d["depends"]:
            if 0 < ledger.value(dep) < min_cell:
                state[key] = "derived (a count behind it is below the threshold)"
                break
            if dep in withheld_cells:
                state[key] = "derived (a count behind it is withheld)"
                break
    return state


def _seed_secondary(ledger: Ledger, universes: dict, withheld: dict, min_cell: int) -> None:
    """The classic rule on every line first (cheap, and usually what the audit would ask for):
    never exactly one withheld cell in a line, nor small withheld parts pinned by their sum."""
    resting: dict = {}
    for d in ledger.derived.values():
        for dep in d["depends"]:
            resting[dep] = resting.get(dep, 0) + 1
    shown = {k for k, c in ledger.cells.items() if c["shown"]}
    lines = [(total, parts) for u in universes.values() for total, parts in u.lines
             if total in shown and all(p in shown for p in parts)]
    changed = True
    while changed:
        changed = False
        for total, parts in lines:
            hidden = [k for k in (*parts, total) if k in withheld]
            if not hidden:
                continue
            pinned = False
            if len(hidden) >= 2 and total not in withheld:
                values = [ledger.value(k) for k in hidden]
                pinned = all(0 < v < min_cell for v in values) and sum(values) in (len(values),
                                                                                  len(values) * (min_cell - 1))
            if len(hidden) != 1 and not pinned:
                continue
            options = sorted((resting.get(k, 0), ledger.value(k), ledger.cells[k]["label"], k)
                             for k in parts if k not in withheld and ledger.value(k) > 0)
            pick = options[0][3] if options else (total if total not in withheld and ledger.value(total) > 0 else None)
            if pick is not None:
                withheld[pick] = "secondary"
                changed = True


#: Integer points a model keeps to settle later targets without a program (the most recent).
_MAX_POINTS = 256

#: Failures repaired per round before the audit is run again (a repair usually settles many).
_FAILURES_PER_ROUND = 25


def protect(ledger: Ledger, min_cell: int, *, max_rounds: int = 200) -> Protection:
    """Primary, derived and whole-report secondary suppression until the audit passes."""
    if int(min_cell) < 1:
        raise AlisError(f"min_cell must be at least 1, got {min_cell}")
    min_cell = int(min_cell)
    shown = {k for k, c in ledger.cells.items() if c["shown"]}
    withheld = {k: "primary" for k in shown if 0 < ledger.value(k) < min_cell}
    dropped: set = set()
    named = shown | {s for d in ledger.derived.values() for s in d.get("reveals", ())}
    universes = _universes(ledger, named, min_cell)
    models = {name: _Model(u) for name, u in universes.items()}
    _seed_secondary(ledger, universes, withheld, min_cell)
    rounds, final = 0, None
    # Targets passed in an earlier round pass again: each round withholds more than the one
    # before (withheld counts and dropped numbers only grow), so the attacker knows less.
    settled: dict = {}
    previous = None
    while rounds < max_rounds:
        rounds += 1
        state = _State(ledger, shown, withheld, dropped, min_cell)
        knowledge = (frozenset(state.published), frozenset(withheld))
        if previous is not None and not (knowledge[0] <= previous[0] and knowledge[1] >= previous[1]):
            settled = {}  # (cannot happen: the loop only adds; never trust an old verdict if it did)
        previous = knowledge
        result = audit(ledger, state.published, set(withheld), min_cell, models=models,
                       max_failures=_FAILURES_PER_ROUND, settled=settled)
        if result.passed:  # no failure: the scan went through every target, the record
            final = result
            break
        repaired = False
        for i, failure in enumerate(result.failures):
            model = models[failure["universe"]]
            if i:  # an earlier repair this round may have fixed this target too
                model.set_knowledge(state.published, withheld)
                lo, hi = model.interval(failure["vector"], true_value=failure["value"], width=min_cell - 1,
                                        exact=False)
                if hi - lo >= min_cell - 1:
                    continue
            choice = _repair(ledger, model, failure, state, shown, dropped, min_cell)
            if choice is None:
                continue
            kind, key = choice
            if kind == "cell":
                withheld[key] = "secondary"
            else:
                dropped |= _revealing(ledger, key, state)
            repaired = True
            state = _State(ledger, shown, withheld, dropped, min_cell)
        if not repaired:
            break
    state = _State(ledger, shown, withheld, dropped, min_cell)
    if final is None:
        final = audit(ledger, state.published, set(withheld), min_cell, models=models, settled=settled)
    # the verdict rests on every program of the protection (earlier rounds settled most targets)
    final.n_programs = sum(model.programs for model in models.values())
    protection = Protection(min_cell=min_cell, shown={k: ledger.value(k) for k in shown if k not in withheld},
                            withheld=withheld, derived_withheld=state.derived, audit=final, rounds=rounds)
    if not final.passed:
        raise DisclosureAuditFailed(final.failures, min_cell)
    return protection


def _resting_on(ledger: Ledger, key: str, state: _State) -> set:
    """The published derived numbers that rest on set ``key`` (withheld with it when it is withheld)."""
    return {d for d, der in ledger.derived.items() if key in der["depends"] and d not in state.derived}


def _revealing(ledger: Ledger, key: str, state: _State) -> set:
    """The published derived numbers that give set ``key`` away (withheld to keep it unknown)."""
    return {d for d, der in ledger.derived.items() if key in der.get("reveals", ()) and d not in state.derived}


#: How many repairs are tried, cheapest first, before the cheapest is taken anyway.
_MAX_TRIALS = 30


def _repair(ledger: Ledger, model: _Model, failure: dict, state: _State, shown: set, dropped: set,
            min_cell: int):
    """The published number to withhold for a failing target: the cheapest that repairs it.

    Candidates are the published sets in a relation (line, remainder, nesting) with
    the sets the target involves. Cheapest first: a count no published estimate rests on (numbers at
    risk, margins), the smallest first; then a count whose estimates go with it;
    then a set given away only by derived numbers (they are withheld). Each is
    tried in turn (a linear program); if none repairs the target alone, the first
    is taken and the loop goes on.
    """
    u = model.u
    involved = {u.keys[i] for i in np.nonzero(failure["vector"])[0]}
    related = set(involved)
    for total, parts in (*u.lines, *u.remainders):
        cells = {total, *parts}
        if cells & involved:
            related |= cells
    for weights in u.between:
        if weights.keys() & involved:
            related |= weights.keys()
    for small, big in u.nested:
        if small in involved or big in involved:
            related |= {small, big}
    candidates = []
    for key in related:
        if key not in state.published or ledger.value(key) == 0:
            continue
        if key in shown:
            lost = len(_resting_on(ledger, key, state))
            candidates.append(((lost, 0, ledger.value(key), ledger.cells[key]["label"], key), "cell", key))
        else:
            lost = len(_revealing(ledger, key, state))
            candidates.append(((lost, 1, ledger.value(key), ledger.cells[key]["label"], key), "derived", key))
    if not candidates:
        return None
    candidates.sort(key=lambda c: c[0])
    try:
        for _, kind, key in candidates[:_MAX_TRIALS]:  # the first (cheapest) that repairs the target on its own
            if kind == "cell":
                trial = _State(ledger, shown, {**state.withheld, key: "secondary"}, dropped, min_cell)
            else:
                trial = _State(ledger, shown, state.withheld, dropped | _revealing(ledger, key, state), min_cell)
            model.set_knowledge(trial.published, trial.withheld)
            hi = model.bound(failure["vector"], -1.0)
            if hi - failure["value"] >= min_cell - 1 or hi - model.bound(failure["vector"], 1.0) >= min_cell - 1:
                return kind, key
    finally:
        model.set_knowledge(state.published, state.withheld)
    return candidates[0][1:]
