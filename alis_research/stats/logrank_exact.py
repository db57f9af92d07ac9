"""Exact and Monte-Carlo permutation log-rank test for two small cohorts.

The asymptotic log-rank p-value rests on a normal approximation that a cohort
of a dozen positions with four exits does not justify.  Conditional on the
observed times and exits, every assignment of the :math:`m` labels of one
cohort to the :math:`n` episodes is equally likely under the null hypothesis;
the permutation distribution of the log-rank statistic gives an exact p-value.

**Scores** (those of R's ``coin::logrank_test``, ``ties.method = "mid-ranks"``,
logrank weights): with distinct times :math:`u_1 < \\dots < u_K` (exits and
censorings), :math:`n_k` episodes with time :math:`\\ge u_k` and :math:`d_k`
exits at :math:`u_k`, the Nelson–Aalen estimate
:math:`\\hat\\Lambda(u) = \\sum_{u_k \\le u} d_k / n_k` and episode :math:`i`
(time :math:`t_i`, exit :math:`\\delta_i`) gets

.. math::

    a_i = \\delta_i - \\hat\\Lambda(t_i),

the log-rank score; coin uses :math:`-a_i`.  The linear statistic of the group
``group`` is :math:`L = \\sum_{i \\in g} a_i = O_g - E_g`, its observed minus
expected exits.  Under permutation :math:`E(L) = 0` (the scores sum to zero) and

.. math::

    \\operatorname{Var}(L) = \\frac{m (n - m)}{n (n - 1)} \\sum_i (a_i - \\bar a)^2 ,

so :math:`z = L / \\sqrt{\\operatorname{Var} L}` equals coin's ``Z`` with the
other group as its first factor level.  The two-sided p-value is
:math:`P(|L^*| \\ge |L|)` over the permutations :math:`L^*`.

**Exact** (:func:`exact_logrank`): meet in the middle, as van de Wiel's split-up
algorithm that coin uses.  Episodes with equal scores are pooled; the distinct
scores are split into two halves, the (size, sum, multiplicity) of every
sub-multiset of each half is enumerated, and for each size the two halves are
combined by sorting and binary search.  The work grows with the product of
(count + 1) over the pooled scores of each half; above
:data:`EXACT_MAX_HALF` sub-multisets per half the test is Monte Carlo.

**Monte Carlo** (:func:`monte_carlo_logrank`): ``resamples`` random permutations
from a seeded generator, :math:`\\hat p` the share with :math:`|L^*| \\ge |L|`
(coin's ``approximate()`` estimate), with its standard error
:math:`\\sqrt{\\hat p (1 - \\hat p) / B}`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

#: Largest number of sub-multisets enumerated per half for the exact test (262,144: every
#: two-cohort split of up to 36 episodes is exact, more where scores repeat; about 0.3 s).
EXACT_MAX_HALF = 2**18
#: Monte-Carlo resamples when the exact test is too large (standard error of p at most 0.0035).
DEFAULT_RESAMPLES = 20_000
#: Fixed seed: the same data give the same Monte-Carlo p-value.
DEFAULT_SEED = 2019
#: Relative tolerance when comparing a permuted statistic with the observed one (as coin's
#: sqrt(machine epsilon) tolerance: ties in the statistic count as "as extreme").
TOLERANCE = 1e-7


@dataclass(frozen=True)
class PermutationLogrank:
    """One permutation log-rank test.

    ``observed_minus_expected`` is :math:`L = O_g - E_g` of the group; ``statistic``
    is :math:`z`; ``method`` is ``"exact"`` or ``"monte_carlo"`` (then ``resamples`` and
    ``mc_std_error`` are set).
    """

    observed_minus_expected: float
    variance: float
    statistic: float
    p_value: float
    method: str
    n: int
    group_size: int
    exits: int
    resamples: int | None = None
    mc_std_error: float | None = None
    seed: int | None = None


def logrank_scores(time, event) -> np.ndarray:
    """Log-rank scores :math:`a_i = \\delta_i - \\hat\\Lambda(t_i)` (coin's mid-rank scores, sign flipped)."""
    time = np.asarray(time, float)
    event = np.asarray(event, int)
    distinct, position = np.unique(time, return_inverse=True)
    at_risk = len(time) - np.searchsorted(np.sort(time), distinct, side="left")
    exits = np.bincount(position, weights=event, minlength=len(distinct))
    cumulative_hazard = np.cumsum(exits / at_risk)
    return event - cumulative_hazard[position]


def _prepare(time, event, group):
    time = np.asarray(time, float)
    event = np.asarray(event, int)
    group = np.asarray(group, bool)
    if not (len(time) == len(event) == len(group)):
        raise ValueError("time, event and group must have the same length")
    n, m = len(time), int(group.sum())
    if m == 0 or m == n:
        raise ValueError("both groups must hold at least one episode")
    if event.sum() == 0:
        raise ValueError("no exits: the log-rank test is not defined")
    scores = logrank_scores(time, event)
    observed = float(scores[group].sum())
    variance = m * (n - m) / (n * (n - 1)) * float(np.sum((scores - scores.mean()) ** 2))
    return scores, observed, variance, n, m, int(event.sum())


def _half_table(values: np.ndarray, counts: np.ndarray, max_size: int):
    """(size, sum, multiplicity) of every sub-multiset of the pooled scores, sizes up to ``max_size``."""
    size = np.zeros(1, dtype=np.int64)
    total = np.zeros(1)
    weight = np.ones(1)
    for value, count in zip(values, counts):
        k = np.arange(count + 1)
        size = (size[:, None] + k[None, :]).ravel()
        total = (total[:, None] + k[None, :] * value).ravel()
        weight = (weight[:, None] * special.comb(count, k)[None, :]).ravel()
        keep = size <= max_size
        size, total, weight = size[keep], total[keep], weight[keep]
    return size, total, weight


def enumeration_size(scores: np.ndarray) -> int:
    """Sub-multisets enumerated in the larger half by :func:`exact_logrank` for these scores."""
    _, counts = np.unique(scores, return_counts=True)
    first, second = _split(counts)
    return int(max(np.prod(counts[first] + 1.0), np.prod(counts[second] + 1.0)))


def _split(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Indices of two halves of the pooled scores with balanced products of (count + 1)."""
    order = np.argsort(-counts, kind="stable")
    first, second, log_first, log_second = [], [], 0.0, 0.0
    for i in order:
        if log_first <= log_second:
            first.append(i)
            log_first += np.log(counts[i] + 1.0)
        else:
            second.append(i)
            log_second += np.log(counts[i] + 1.0)
    return np.array(first, dtype=int), np.array(second, dtype=int)


def exact_logrank(time, event, group, *, max_half: int = EXACT_MAX_HALF) -> PermutationLogrank:
    """Exact two-sided permutation log-rank test of ``group`` against the rest.

    Raises ``ValueError`` when the enumeration passes ``max_half`` sub-multisets per
    half (use :func:`logrank_permutation_test`, which then falls back to Monte Carlo).
    """
    scores, observed, variance, n, m, exits = _prepare(time, event, group)
    values, counts = np.unique(scores, return_counts=True)
    first, second = _split(counts)
    if max(np.prod(counts[first] + 1.0), np.prod(counts[second] + 1.0)) > max_half:
        raise ValueError(f"the exact enumeration is too large for {n} episodes; use the Monte-Carlo test")
    size_a, sum_a, weight_a = _half_table(values[first], counts[first], m)
    size_b, sum_b, weight_b = _half_table(values[second], counts[second], m)
    margin = TOLERANCE * max(np.sqrt(variance), 1e-300)
    upper, lower = abs(observed) - margin, -abs(observed) + margin
    statistic = observed / np.sqrt(variance) if variance > 0 else np.nan
    if upper <= lower:  # observed O - E of 0: every permutation is as extreme
        return PermutationLogrank(observed, variance, statistic, 1.0, "exact", n, m, exits)
    extreme = 0.0
    for s in np.unique(size_a):
        in_b = size_b == m - s
        if not in_b.any():
            continue
        order = np.argsort(sum_b[in_b], kind="stable")
        b_sums = sum_b[in_b][order]
        b_cum = np.concatenate([[0.0], np.cumsum(weight_b[in_b][order])])
        a_sums, a_weights = sum_a[size_a == s], weight_a[size_a == s]
        at_or_above = b_cum[-1] - b_cum[np.searchsorted(b_sums, upper - a_sums, side="left")]
        at_or_below = b_cum[np.searchsorted(b_sums, lower - a_sums, side="right")]
        extreme += float(np.sum(a_weights * (at_or_above + at_or_below)))
    p_value = min(1.0, extreme / float(special.comb(n, m, exact=True)))
    return PermutationLogrank(observed, variance, statistic, p_value, "exact", n, m, exits)


def monte_carlo_logrank(time, event, group, *, resamples: int = DEFAULT_RESAMPLES,
                        seed: int = DEFAULT_SEED) -> PermutationLogrank:
    """Monte-Carlo permutation log-rank test: ``resamples`` random relabellings, seeded."""
    if resamples < 1:
        raise ValueError(f"resamples must be a positive number, got {resamples!r}")
    scores, observed, variance, n, m, exits = _prepare(time, event, group)
    rng = np.random.default_rng(seed)
    margin = TOLERANCE * max(np.sqrt(variance), 1e-300)
    extreme = 0
    chunk = max(1, min(resamples, 4_000_000 // n))
    done = 0
    while done < resamples:
        b = min(chunk, resamples - done)
        labels = np.argsort(rng.random((b, n)), axis=1)[:, :m]  # a uniformly random m-subset per row
        permuted = scores[labels].sum(axis=1)
        extreme += int(np.count_nonzero(np.abs(permuted) >= abs(observed) - margin))
        done += b
    p_value = extreme / resamples
    return PermutationLogrank(observed, variance, observed / np.sqrt(variance) if variance > 0 else np.nan,
                              p_value, "monte_carlo", n, m, exits, resamples=resamples,
                              mc_std_error=float(np.sqrt(p_value * (1 - p_value) / resamples)), seed=seed)


def logrank_permutation_test(time, event, group, *, resamples: int = DEFAULT_RESAMPLES,
                             seed: int = DEFAULT_SEED) -> PermutationLogrank:
    """The exact test when its enumeration is small enough (:data:`EXACT_MAX_HALF`), else Monte Carlo."""
    scores = logrank_scores(time, event)
    if enumeration_size(scores) <= EXACT_MAX_HALF:
        return exact_logrank(time, event, group)
    return monte_carlo_logrank(time, event, group, resamples=resamples, seed=seed)
