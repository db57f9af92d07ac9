"""Results of deterministic analyses kept for the next call with the same inputs, in this process.

A ``regenerate`` worker builds the nb and the en report of an area one after the
other on one warm kernel (:mod:`alis_research.report.regenerate`): both run the
very same analyses on the very same prepared data, and within one report the
robustness and small-cohort estimates are computed by their section and again
for ``results.json``. :func:`memoised` makes an analysis function compute once per
distinct input and hand out copies after that (issue 15).

The key is the **content** of every argument: SHA-256 over the pickled
``(function, args, kwargs)``. Equal bytes mean equal data and parameters, so a
hit can never be stale, whatever a path, a name or a timestamp says; the worst a
key can do is miss (two equal inputs pickled differently). Arguments that cannot
be pickled are not memoised: the call runs as always.

Every hit returns a deep copy of the stored result (and the stored copy was
taken when it was computed), so a caller that changes its result cannot change
what the next caller gets. Warnings the analysis issued are issued again on a
hit, so the executed notebook (the report's log) shows the same caveats for each
report. Exceptions are not stored: a failing call fails again next time.

Only functions whose result depends on nothing but their arguments may be
decorated: no global random state, no reading of files that may change, no
clock. Module constants and shipped reference tables are not part of the key,
so the store is **off unless switched on**: in the kernels the report builder
starts (:func:`alis_research.report.build.execute_notebook` sets
:data:`ENV_VAR` ``=1`` in the kernel's environment; nothing there changes a
constant between reports), or within :func:`enabled` (tests, benchmarks). A
library call, a test that patches a constant, a notebook opened in JupyterLab:
each computes afresh. The store holds :data:`MAX_ENTRIES` results, least
recently used out.
"""
from __future__ import annotations

import contextlib
import copy
import functools
import hashlib
import os
import pickle
import threading
import warnings
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

#: Set to ``1`` in a process's environment to switch the store on for the whole process.
ENV_VAR = "ALIS_RESEARCH_MEMO"
#: Results kept per process (a report uses about 25 distinct calls; nb and en share them).
MAX_ENTRIES = 128

_F = TypeVar("_F", bound=Callable[..., Any])
_store: OrderedDict[str, tuple[Any, list[warnings.WarningMessage]]] = OrderedDict()
_lock = threading.Lock()
_state = threading.local()  # per-thread switch: :func:`enabled` / :func:`disabled` over :data:`ENV_VAR`
#: Hits and misses since the process started or :func:`clear` (for tests and benchmarks).
stats = {"hits": 0, "misses": 0, "unkeyed": 0}


def content_key(*parts: Any) -> str | None:
    """SHA-256 of the pickled ``parts``, or None when they cannot be pickled."""
    try:
        data = pickle.dumps(parts, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:  # a lambda, an open file, a matplotlib axis: no key, no memo
        return None
    return hashlib.sha256(data).hexdigest()


def _reissue(caught: list[warnings.WarningMessage]) -> None:
    for w in caught:
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, source=w.source)


def memoised(func: _F) -> _F:
    """Decorate a deterministic analysis: computed once per distinct input, copies handed out after."""
    name = f"{func.__module__}.{func.__qualname__}"

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        if not is_on():
            return func(*args, **kwargs)
        key = content_key(name, args, sorted(kwargs.items()))
        if key is None:
            stats["unkeyed"] += 1
            return func(*args, **kwargs)
        with _lock:
            hit = _store.get(key)
            if hit is not None:
                _store.move_to_end(key)
                stats["hits"] += 1
        if hit is not None:
            result, caught = hit
            _reissue(caught)
            return copy.deepcopy(result)
        with warnings.catch_warnings(record=True) as caught:  # the caller's filters apply as always
            result = func(*args, **kwargs)
        _reissue(caught)
        with _lock:
            stats["misses"] += 1
            _store[key] = (copy.deepcopy(result), list(caught))
            while len(_store) > MAX_ENTRIES:
                _store.popitem(last=False)
        return result

    wrapper.__wrapped__ = func
    return wrapper  # type: ignore[return-value]


def is_on() -> bool:
    """Whether memoised functions use the store here and now (this thread)."""
    switch = getattr(_state, "switch", None)
    return os.environ.get(ENV_VAR) == "1" if switch is None else switch


@contextlib.contextmanager
def _switched(value: bool) -> Iterator[None]:
    before = getattr(_state, "switch", None)
    _state.switch = value
    try:
        yield
    finally:
        _state.switch = before


def enabled() -> contextlib.AbstractContextManager[None]:
    """Within this block (this thread), memoised functions use the store, whatever :data:`ENV_VAR` says."""
    return _switched(True)


def disabled() -> contextlib.AbstractContextManager[None]:
    """Within this block (this thread), every memoised function computes afresh and stores nothing."""
    return _switched(False)


def clear() -> None:
    """Forget every stored result and reset :data:`stats`."""
    with _lock:
        _store.clear()
        stats.update(hits=0, misses=0, unkeyed=0)


__all__ = ["ENV_VAR", "MAX_ENTRIES", "clear", "content_key", "disabled", "enabled", "is_on", "memoised", "stats"]
