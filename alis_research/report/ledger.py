"""One ledger of every count a report publishes, whole-report suppression and the attacker audit.

Why a ledger: a reader who wants to know combines *every* number of a report
(tables, running text, figure annotations, CSV files). Suppressing table by
table cannot see that a total in the text, a margin in another table and a
number at risk under a curve fix a hidden cell. So a section never prints a
count itself: it registers the count in the ledger and puts a *reference*
(a token) where the number goes. After the notebook has run, the whole
report's ledger is protected at once and the tokens are replaced by the
protected numbers (or the single withheld mark ``:``).

**A count is defined by the set it counts.** A cell is registered with its
*members* (episode ids, person ids, register contract ids ...) in a
*universe* (``"episodes"``, ``"persons"`` ...). Two cells counting the same
set are one cell, whatever their labels: "8 episodes on fastlønn" in the
summary and the fastlønn column of Table 1 are the same cell, so withholding
one withholds the other. Every linear relation between cells (a total is the
sum of its parts, at risk at year 1 minus at risk at year 2 is the number who
left in between, N − 30 = the rest) follows from set algebra, so no section
has to declare relations by hand, and none can be forgotten.

**Derived numbers** (rates, shares, survival, medians, person-years,
hazard ratios, figures) are registered with the sets they depend on. The
audit assumes conservatively that a published derived number gives the
attacker the exact size of every set it depends on. A derived number is
withheld when one of those sets has 1 … ``min_cell − 1`` members or when a
count it depends on is withheld.

**The audit** (:func:`audit`): the attacker's unknowns are the shown counts
(published ones are known, a withheld one is at least 1 because zeros are shown
as ``0``), tied by every relation their sets imply: a count whose set is the
disjoint union of other shown sets equals their sum (a *line*: margins, flows,
a total repeated as the sum of its parts), and a count whose set lies inside
another's is at most that one (*nesting*: at risk at two times, a part and its
group). These are the relations a reader knows from the definitions; it is the
linked-tables audit of tau-ARGUS over the whole report. For every *target* —
each withheld count, and each difference ``B − A`` of nested counts (the leavers
between two at-risk times, the rest of a group after "30 of 31") — whose true
value is 1 … ``min_cell − 1``, integer programming (HiGHS through
:func:`scipy.optimize.milp`, after the linear relaxation) finds the smallest and
largest value consistent with everything published. The rule: **the interval
must be at least ``min_cell − 1`` wide**, so it never lies within
1 … ``min_cell − 1``. A target whose true value is 0 or at least ``min_cell``
cannot be exposed as small (the truth is in the attacker's interval).

**Protection** (:func:`protect`): primary suppression (1 … ``min_cell − 1``),
derived numbers withheld with their counts, then secondary suppression over
the whole report: while a target fails the audit, withhold the published
count that repairs it at least cost — one no estimate rests on, the smallest
first — and audit again. Each round withholds one more number, so it ends;
when nothing is left to withhold and a target still fails,
:class:`DisclosureAuditFailed` is raised and nothing is published.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Iterable, Mapping

import numpy as np

from ..errors import AlisError

#: The one mark for a withheld number (Statistics Norway's sign for "confidential").
WITHHELD = ":"

_TOKEN = re.compile("\u27e6([cd]):([0-9a-f]{16})(?:\\|([^\u27e7]*))?\u27e7")


class DisclosureAuditFailed(AlisError):
    """The attacker audit found a count it can narrow to 1 … min_cell − 1; nothing is published."""

    def __init__(self, failures: list[dict], min_cell: int):
        self.failures = failures
        lines = [f"  - {f['label']}: the published numbers fix it to {f['interval'][0]}–{f['interval'][1]} "
                 f"(needs a range of at least {min_cell - 1})" for f in failures[:20]]
        more = f"\n  … and {len(failures) - 20} more" if len(failures) > 20 else ""
        super().__init__(f"disclosure audit failed for {len(failures)} count(s) with min_cell={min_cell}; "
                         "the report is not published:\n" + "\n".join(lines) + more)


def _key(universe: str, members: Iterable) -> str:
    text = json.dumps([universe, sorted(str(m) for m in members)], ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def count_token(key: str, style: str = "") -> str:
    """The reference a block holds where a count goes (``style``: ``""`` plain, ``"n"`` for "N = …")."""
    return f"\u27e6c:{key}{'|' + style if style else ''}\u27e7"


def derived_token(key: str) -> str:
    return f"\u27e6d:{key}\u27e7"


def has_tokens(text: str) -> bool:
    return bool(_TOKEN.search(text))


@dataclass
class Ledger:
    """Counts (as sets) and derived numbers registered by the sections of one report.

    ``cells``: key -> {"universe", "members", "label", "shown"}; ``shown`` is
    True when the count itself is displayed somewhere, False when the set is
    only registered (a dependency of a derived number, or a set whose size a
    reader could work out, such as a group whose parts are all shown).
    ``derived``: key -> {"text", "depends", "label"}.
    """

    cells: dict = field(default_factory=dict)
    derived: dict = field(default_factory=dict)

    # -- registering
    def _cell(self, members, universe: str, label: str, shown: bool) -> str:
        members = sorted({str(m) for m in members})
        key = _key(universe, members)
        cell = self.cells.get(key)
        if cell is None:
            self.cells[key] = {"universe": universe, "members": members, "label": label, "shown": shown}
        else:
            if shown and not cell["shown"] and label:  # a printed count is named as printed
                cell["label"] = label
            cell["shown"] = cell["shown"] or shown
            if not cell["label"]:
                cell["label"] = label
        return key

    def count(self, members, *, universe: str = "episodes", label: str = "", style: str = "") -> str:
        """Register a displayed count (the size of ``members``) and return the token to print."""
        return count_token(self._cell(members, universe, label, True), style)

    def group(self, members, *, universe: str = "episodes", label: str = "") -> str:
        """Register a set that is not displayed (a dependency); returns its key."""
        return self._cell(members, universe, label, False)

    def derived_number(self, text: str, *, depends: Iterable[str] = (), label: str = "") -> str:
        """Register a derived number shown as ``text``; withheld when a set in ``depends`` must be.

        ``depends`` holds keys from :meth:`group` or tokens from :meth:`count`.
        """
        deps = sorted({_TOKEN.fullmatch(d).group(2) if _TOKEN.fullmatch(d) else d for d in depends})
        unknown = [d for d in deps if d not in self.cells]
        if unknown:
            raise AlisError(f"derived number {label!r} depends on unregistered sets {unknown}")
        key = hashlib.sha256(json.dumps([text, deps, label], ensure_ascii=False).encode()).hexdigest()[:16]
        self.derived[key] = {"text": str(text), "depends": deps, "label": label}
        return derived_token(key)

    # -- merging and storage
    def merge(self, other: "Ledger") -> None:
        for key, cell in other.cells.items():
            mine = self.cells.get(key)
            if mine is None:
                self.cells[key] = dict(cell)
            else:
                if cell["shown"] and not mine["shown"] and cell["label"]:
                    mine["label"] = cell["label"]
                mine["shown"] = mine["shown"] or cell["shown"]
                mine["label"] = mine["label"] or cell["label"]
        self.derived.update({k: dict(v) for k, v in other.derived.items()})

    def as_dict(self) -> dict:
        return {"cells": self.cells, "derived": self.derived}

    @classmethod
    def from_dict(cls, document: Mapping | None) -> "Ledger":
        document = document or {}
        return cls(cells={k: dict(v) for k, v in document.get("cells", {}).items()},
                   derived={k: dict(v) for k, v in document.get("derived", {}).items()})

    def value(self, key: str) -> int:
        return len(self.cells[key]["members"])


# --------------------------------------------------------------------------- the audit
@dataclass
class _Universe:
    """The shown counts of one universe and the relations a reader knows between them.

    ``lines``: ``(total, parts)`` where the total's set is the disjoint union of the
    parts' sets (a margin, a flow); ``nested``: ``(small, big)`` where one set lies in
    the other (at risk at two times, a part and its group). The audit's unknowns are
    the shown counts themselves.
    """

    keys: list
    index: dict
    bits: dict
    lines: list
    nested: list


#: A box for the solver; a bound near it means "no upper limit".
_BIG = 1e7


def _prefix(ledger: Ledger, key: str) -> str:
    return ledger.cells[key]["label"].split(":")[0].split(",")[0].split(" ")[0]


def _universes(ledger: Ledger) -> dict[str, _Universe]:
    """Shown counts (published or withheld) per universe, with their lines and nestings."""
    out = {}
    by_universe: dict[str, list] = {}
    for key, cell in ledger.cells.items():
        if cell["shown"]:
            by_universe.setdefault(cell["universe"], []).append(key)
    for universe, keys in by_universe.items():
        keys = sorted(keys, key=lambda k: (ledger.cells[k]["label"], k))
        members = sorted({m for k in keys for m in ledger.cells[k]["members"]})
        bit = {m: 1 << j for j, m in enumerate(members)}
        bits = {k: sum(bit[m] for m in ledger.cells[k]["members"]) for k in keys}
        nonempty = [k for k in keys if bits[k]]
        nested, lines, seen = [], [], set()
        for big in nonempty:
            b = bits[big]
            subsets = [k for k in nonempty if k != big and bits[k] & ~b == 0 and bits[k] != b]
            nested += [(small, big) for small in subsets]
            for start in subsets:
                # a cover of the total by disjoint subsets: first of the start's kind (one variable of a
                # table, same label prefix), then of any kind
                for pool in ([k for k in subsets if _prefix(ledger, k) == _prefix(ledger, start)], subsets):
                    family, covered = [start], bits[start]
                    for other in pool:
                        if other not in family and bits[other] & covered == 0:
                            family.append(other)
                            covered |= bits[other]
                    signature = (big, tuple(sorted(family)))
                    if covered == b and len(family) > 1 and signature not in seen:
                        seen.add(signature)
                        lines.append((big, family))
        out[universe] = _Universe(keys, {k: i for i, k in enumerate(keys)}, bits, lines, nested)
    return out


def _solve(objective, a_eq, b_eq, a_ub, b_ub, n, *, integer: bool):
    from scipy.optimize import Bounds, LinearConstraint, linprog, milp

    if not integer:
        return linprog(objective, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=b_eq, bounds=[(0.0, _BIG)] * n,
                       method="highs")
    constraints = []
    if a_eq is not None:
        constraints.append(LinearConstraint(a_eq, b_eq, b_eq))
    if a_ub is not None:
        constraints.append(LinearConstraint(a_ub, np.full(len(b_ub), -np.inf), b_ub))
    return milp(objective, constraints=constraints, integrality=np.ones(n), bounds=Bounds(np.zeros(n), np.full(n, _BIG)))


def _bound(target, sign, system, *, relaxed: bool) -> float:
    """The smallest (``sign`` = 1) or largest (``sign`` = −1) value of ``target · x``.

    The linear relaxation is solved first; when its optimum is integral it is the
    integer optimum too, otherwise the integer program is solved (both HiGHS).
    ``relaxed``: keep the relaxation's bound (to choose a repair, never in the audit).
    """
    a_eq, b_eq, a_ub, b_ub, n = system
    objective = sign * target.astype(float)
    result = _solve(objective, a_eq, b_eq, a_ub, b_ub, n, integer=False)
    if result.status != 0 or result.x is None:
        raise AlisError(f"disclosure audit: the solver failed ({result.message})")
    if not relaxed and np.max(np.abs(result.x - np.round(result.x))) > 1e-7:
        result = _solve(objective, a_eq, b_eq, a_ub, b_ub, n, integer=True)
        if result.status != 0 or result.x is None:
            raise AlisError(f"disclosure audit: the solver failed ({result.message})")
    value = float(sign * result.fun)
    value = value if relaxed else float(round(value))
    return np.inf if value >= _BIG / 2 else value


def _system(ledger: Ledger, u: _Universe, published: set, withheld) -> tuple:
    """The attacker's knowledge as linear constraints over the shown counts."""
    n = len(u.keys)
    eq_rows, eq_rhs, ub_rows, ub_rhs = [], [], [], []
    for k in u.keys:
        row = np.zeros(n)
        row[u.index[k]] = 1
        if k in published:
            eq_rows.append(row)
            eq_rhs.append(ledger.value(k))
        elif k in withheld and ledger.value(k) > 0:
            ub_rows.append(-row)
            ub_rhs.append(-1.0)  # zeros are shown as 0, so a withheld count is at least 1
    for total, parts in u.lines:
        row = np.zeros(n)
        row[u.index[total]] = 1
        for part in parts:
            row[u.index[part]] -= 1
        eq_rows.append(row)
        eq_rhs.append(0.0)
    for small, big in u.nested:
        row = np.zeros(n)
        row[u.index[small]] = 1
        row[u.index[big]] = -1
        ub_rows.append(row)
        ub_rhs.append(0.0)
    return (np.array(eq_rows) if eq_rows else None, np.array(eq_rhs) if eq_rows else None,
            np.array(ub_rows) if ub_rows else None, np.array(ub_rhs) if ub_rows else None, n)


def _interval(target: np.ndarray, system: tuple, *, relaxed: bool = False, true_value: float | None = None,
              width: float | None = None) -> tuple[float, float]:
    """Smallest and largest integer value of ``target · x`` given the attacker's knowledge.

    With ``true_value`` and ``width``: when the largest value already lies ``width``
    above the true value the interval is wide enough whatever its lower end, and
    the lower end is reported as the true value without a second program.
    """
    hi = _bound(target, -1.0, system, relaxed=relaxed)
    if true_value is not None and width is not None and hi - true_value >= width:
        return float(true_value), hi
    return _bound(target, 1.0, system, relaxed=relaxed), hi


@dataclass
class AuditTarget:
    universe: str
    label: str
    reason: str            # "withheld" | "difference"
    vector: np.ndarray
    value: int
    cell: str | None = None


@dataclass
class AuditResult:
    failures: list = field(default_factory=list)     # dicts: label, reason, value, interval, universe
    intervals: dict = field(default_factory=dict)    # cell key -> (lo, hi) for withheld cells
    n_targets: int = 0
    n_programs: int = 0

    @property
    def passed(self) -> bool:
        return not self.failures


def _targets(ledger: Ledger, universes: dict, withheld, min_cell: int) -> list[AuditTarget]:
    """Every withheld count, and every difference of nested counts whose true value is 1 … m − 1."""
    targets: list[AuditTarget] = []
    for universe, u in universes.items():
        n = len(u.keys)
        for key in u.keys:
            if key in withheld:
                vector = np.zeros(n)
                vector[u.index[key]] = 1
                targets.append(AuditTarget(universe, ledger.cells[key]["label"] or key, "withheld", vector,
                                           ledger.value(key), key))
        for small, big in u.nested:
            value = ledger.value(big) - ledger.value(small)
            if 0 < value < min_cell:
                vector = np.zeros(n)
                vector[u.index[big]] = 1
                vector[u.index[small]] = -1
                targets.append(AuditTarget(universe, f"{ledger.cells[big]['label']} − {ledger.cells[small]['label']}",
                                           "difference", vector, value))
    return targets


def audit(ledger: Ledger, published: set, withheld, min_cell: int, *, record_withheld: bool = True,
          only: set | None = None, universes: dict | None = None) -> AuditResult:
    """The attacker's interval for every sensitive target; failures where it is narrower than ``min_cell − 1``.

    ``published``: keys of shown counts a reader sees; ``withheld``: keys shown as the
    withheld mark (known to be at least 1). ``only``: check just these targets
    (``(universe, vector bytes)``), as the protection loop does between full audits.
    """
    universes = universes if universes is not None else _universes(ledger)
    result = AuditResult()
    targets = _targets(ledger, universes, withheld, min_cell)
    result.n_targets = len(targets)
    for universe, u in universes.items():
        system = _system(ledger, u, published, withheld)
        basis = None
        if system[0] is not None:
            _, singular, vt = np.linalg.svd(system[0], full_matrices=False)
            basis = vt[singular > 1e-9 * max(singular.max(), 1.0)]
        for target in (t for t in targets if t.universe == universe):
            sensitive = 0 < target.value < min_cell
            if not sensitive:
                # 0 or at least min_cell: the truth lies in the attacker's range, so it cannot be shown
                # to be small; recorded as safe by construction, no program needed
                if record_withheld and target.cell is not None:
                    result.intervals[target.cell] = (float(target.value), np.inf) if target.value else (0.0, 0.0)
                continue
            if only is not None and (universe, target.vector.tobytes()) not in only:
                continue
            exact = basis is not None and np.linalg.norm(target.vector - basis.T @ (basis @ target.vector)) < 1e-7
            if exact:  # a combination of published counts and sums: known exactly, no program needed
                lo = hi = float(target.value)
            else:
                lo, hi = _interval(target.vector, system, true_value=target.value, width=min_cell - 1)
                result.n_programs += 2
            if target.cell is not None:
                result.intervals[target.cell] = (lo, hi)
            if sensitive and hi - lo < min_cell - 1:
                result.failures.append({"universe": universe, "label": target.label, "reason": target.reason,
                                        "interval": [_int(lo), _int(hi)], "vector": target.vector,
                                        "cell": target.cell, "value": target.value})
    return result


def _int(x: float):
    return "∞" if x == np.inf else int(x)


# --------------------------------------------------------------------------- protection
@dataclass
class Protection:
    """The outcome of :func:`protect`: what is shown, what is withheld and why, and the audit."""

    min_cell: int
    shown: dict            # cell key -> display value (int) for published counts
    withheld: dict         # cell key -> reason ("primary" | "secondary")
    derived_withheld: dict  # derived key -> reason ("derived: …")
    audit: AuditResult
    rounds: int = 0

    def display_count(self, key: str) -> str:
        return WITHHELD if key in self.withheld else str(self.shown[key])


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


def _published_sets(ledger: Ledger, shown_keys: set, withheld: dict, derived_state: dict) -> set:
    # derived numbers are protected through their dependencies (see the module docstring), not pinned here
    return {k for k in shown_keys if k not in withheld}


def _lines(ledger: Ledger, universes: dict) -> list[tuple[str, list[str]]]:
    return [line for u in universes.values() for line in u.lines]


def _dependents(ledger: Ledger) -> dict:
    """How many derived numbers rest on each set: withholding such a count withholds them all."""
    counts: dict = {}
    for d in ledger.derived.values():
        for dep in d["depends"]:
            counts[dep] = counts.get(dep, 0) + 1
    return counts


def _seed_secondary(ledger: Ledger, lines: list, withheld: dict, min_cell: int) -> None:
    """The classic rule on every line: never exactly one withheld cell; small parts not pinned by their sum."""
    changed = True
    while changed:
        changed = False
        for total, parts in lines:
            cells = [*parts, total]
            hidden = [k for k in cells if k in withheld]
            if not hidden:
                continue
            pinned = False
            if len(hidden) >= 2 and total not in withheld:
                values = [ledger.value(k) for k in hidden]
                pinned = all(0 < v < min_cell for v in values) and sum(values) in (len(values), len(values) * (min_cell - 1))
            if len(hidden) != 1 and not pinned:
                continue
            options = sorted((_dependents(ledger).get(k, 0), ledger.value(k), ledger.cells[k]["label"], k)
                             for k in parts if k not in withheld and ledger.value(k) > 0)
            pick = options[0][3] if options else (total if total not in withheld and ledger.value(total) > 0 else None)
            if pick is not None:
                withheld[pick] = "secondary"
                changed = True


def protect(ledger: Ledger, min_cell: int, *, max_rounds: int = 200) -> Protection:
    """Primary, derived and whole-report secondary suppression until the audit passes."""
    if int(min_cell) < 1:
        raise AlisError(f"min_cell must be at least 1, got {min_cell}")
    min_cell = int(min_cell)
    shown_keys = {k for k, c in ledger.cells.items() if c["shown"]}
    withheld = {k: "primary" for k in shown_keys if 0 < ledger.value(k) < min_cell}
    dropped_derived: set = set()
    universes = _universes(ledger)
    _seed_secondary(ledger, _lines(ledger, universes), withheld, min_cell)
    rounds = 0
    only = None  # between full audits only the targets that failed last round are checked again
    final = None
    while rounds < max_rounds:
        rounds += 1
        derived_state = _derived_state(ledger, set(withheld), dropped_derived, min_cell)
        published = _published_sets(ledger, shown_keys, withheld, derived_state)
        result = audit(ledger, published, set(withheld), min_cell, record_withheld=True, only=only,
                       universes=universes)
        if result.passed:
            if only is None:
                final = result  # a full audit of exactly what is published: the record
                break
            only = None  # the failures are repaired: one full audit to be sure nothing else broke
            continue
        repaired = False
        for i, failure in enumerate(result.failures):
            if i:  # an earlier repair this round may have fixed this target too
                u = universes[failure["universe"]]
                lo, hi = _interval(failure["vector"], _system(ledger, u, published, withheld),
                                   true_value=failure["value"], width=min_cell - 1)
                if hi - lo >= min_cell - 1:
                    continue
            choice = _repair(ledger, universes[failure["universe"]], failure, published, withheld, shown_keys,
                             derived_state, min_cell)
            if choice is None:
                continue
            kind, key = choice
            if kind == "cell" and key not in withheld:
                withheld[key] = "secondary"
                repaired = True
            elif kind == "derived" and key not in dropped_derived:
                dropped_derived.add(key)
                repaired = True
            derived_state = _derived_state(ledger, set(withheld), dropped_derived, min_cell)
            published = _published_sets(ledger, shown_keys, withheld, derived_state)
        if not repaired:
            break
        only = {(f["universe"], f["vector"].tobytes()) for f in result.failures}
    derived_state = _derived_state(ledger, set(withheld), dropped_derived, min_cell)
    published = _published_sets(ledger, shown_keys, withheld, derived_state)
    if final is None:
        final = audit(ledger, published, set(withheld), min_cell, record_withheld=True, universes=universes)
    protection = Protection(min_cell=min_cell,
                            shown={k: ledger.value(k) for k in shown_keys if k not in withheld},
                            withheld=withheld, derived_withheld=derived_state, audit=final, rounds=rounds)
    if not final.passed:
        raise DisclosureAuditFailed(final.failures, min_cell)
    return protection


def _repair(ledger, u, failure, published, withheld, shown_keys, derived_state, min_cell):
    """The published count to withhold for a failing target: the cheapest that repairs it.

    Candidates are the published counts in a relation (line or nesting) with the
    target's counts; cheapest first: a count no estimate rests on, then the
    smallest. Each is tried in turn (a linear program); if none repairs the target
    alone, the first is withheld and the loop goes on.
    """
    involved = {u.keys[i] for i in np.nonzero(failure["vector"])[0]}
    related = set()
    for total, parts in u.lines:
        cells = {total, *parts}
        if cells & involved:
            related |= cells
    for small, big in u.nested:
        if small in involved or big in involved:
            related |= {small, big}
    dependents = _dependents(ledger)
    candidates = sorted((dependents.get(k, 0) > 0, ledger.value(k), dependents.get(k, 0), ledger.cells[k]["label"], k)
                        for k in related if k in published and k in shown_keys and ledger.value(k) > 0)
    if not candidates:
        return None
    for *_, key in candidates:  # the first (cheapest) that repairs the target on its own
        trial = {**withheld, key: "secondary"}
        pub = {k for k in published if k != key}
        lo, hi = _interval(failure["vector"], _system(ledger, u, pub, trial), relaxed=True)
        if hi - lo >= min_cell - 1:
            return "cell", key
    return "cell", candidates[0][-1]


# --------------------------------------------------------------------------- resolving tokens
def resolve_text(text: str, ledger: Ledger, protection: Protection, *, thousands: str = "\u00a0") -> str:
    """Replace every token in ``text`` with its protected value (or the withheld mark)."""

    def replace(match: re.Match) -> str:
        kind, key = match.group(1), match.group(2)
        if kind == "c":
            if key not in ledger.cells:
                raise AlisError(f"report text refers to an unregistered count {key}")
            if key in protection.withheld:
                return WITHHELD
            return f"{protection.shown[key]:,}".replace(",", thousands)
        if key not in ledger.derived:
            raise AlisError(f"report text refers to an unregistered derived number {key}")
        if key in protection.derived_withheld:
            return WITHHELD
        return resolve_text(ledger.derived[key]["text"], ledger, protection, thousands=thousands)

    return _TOKEN.sub(replace, text)


def tokens_in(text: str) -> list[tuple[str, str]]:
    return [(m.group(1), m.group(2)) for m in _TOKEN.finditer(text)]


def strip_tokens(text: str, ledger: Ledger) -> str:
    """``text`` with the *unprotected* values (for displays inside the restricted kernel only)."""

    def replace(match: re.Match) -> str:
        kind, key = match.group(1), match.group(2)
        if kind == "c":
            return str(ledger.value(key)) if key in ledger.cells else "?"
        d = ledger.derived.get(key)
        return strip_tokens(d["text"], ledger) if d else "?"

    return _TOKEN.sub(replace, text)
