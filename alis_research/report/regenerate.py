"""``alis-research regenerate``: bring every report of a report matrix up to date.

The matrix (datasets × health-trust areas × languages) is read from a TOML file,
by default ``reports/reports.toml`` (:mod:`.matrix`).  For each report the cheap *inputs key*
(:func:`alis_research.report.report_inputs_key`: SHA-256 over the data files,
the parameters, the package version, the package's code and templates and the
notebook) is
compared with the ``inputs_key`` in the published report's ``manifest.json``;
a report whose key is unchanged and whose files are all present is skipped,
the others are built in parallel by at most ``jobs`` long-lived worker
processes, each keeping one kernel warm for all the reports it builds.

Safe to run from cron or a systemd timer:

* a non-blocking lock file (``<out>/.regenerate.lock``) makes a second run that
  starts while one is busy exit at once with status :data:`EXIT_LOCKED` (75,
  ``EX_TEMPFAIL`` of ``sysexits.h``: "try again later");
* the builder writes each report into a staging folder and moves it into
  place only when complete, so a run killed at any moment leaves every
  previous report intact; the next run repairs what a kill left
  (:func:`alis_research.report.publish.recover_interrupted`, shared with
  ``alis-research report``);
* a worker that dies (kill -9, the out-of-memory killer) costs only the report
  it held: that report is started once more in a fresh worker and fails alone
  if that one dies too;
* one failing report does not stop the others; the exit status is 1 when any
  failed, with a summary naming the report, the notebook, the failing cell and
  the folder where the executed notebook was kept;
* every run writes ``<restricted>/logs/regenerate-<UTC time>.log`` (per-report
  status, inputs key and timings) and points ``<restricted>/logs/latest.log`` at it;
  ``<restricted>`` is the restricted working root beside the output folder
  (:func:`alis_research.config.restricted_dir_for`): logs name failing cells
  and errors, which may quote data, so they are never in the published folder.

The matrix file is read and checked by :func:`alis_research.report.matrix.load_matrix`
(relative paths resolved against the config file's folder).
"""
from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import signal
import socket
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import __version__, config
from ..errors import AlisError
from ..identity import mask_national_ids
from .publish import (  # noqa: F401  (STALE_TEMP_SECONDS, recover_interrupted: shared with `report`)
    STALE_TEMP_SECONDS,
    recover_interrupted,
    try_lock,
    write_bytes_atomically,
)
from .matrix import ReportMatrix, ReportSpec

#: Name of the report matrix file under ``config.REPORTS``.
CONFIG_FILE_NAME = "reports.toml"
#: Lock file, in the output folder, held for the whole run.
LOCK_FILE_NAME = ".regenerate.lock"
#: Beside the lock: who holds it (pid, host, start time), for the "busy" message.
LOCK_OWNER_FILE_NAME = ".regenerate.lock.owner"
#: Folder (under the output folder) for the per-run logs.
LOG_DIR_NAME = "logs"
#: Link (or copy, where links are not allowed) to the newest run's log.
LATEST_LOG_NAME = "latest.log"
#: Exit status when another run holds the lock (EX_TEMPFAIL in sysexits.h).
EXIT_LOCKED = 75
#: Exit status when at least one report failed.
EXIT_FAILED = 1
#: Files every published report folder must hold for it to count as complete.
REQUIRED_REPORT_FILES = ("manifest.json", "report.pdf", "report.html", "output_check.json")


# --------------------------------------------------------------------------- errors
class RegenerationLocked(AlisError):
    """Another ``regenerate`` run holds the lock of the output folder."""


# --------------------------------------------------------------------------- up-to-date check
def read_manifest(report_dir: Path) -> dict | None:
    """The report's ``manifest.json`` as a dict, or ``None`` when missing or unreadable."""
    try:
        manifest = json.loads((report_dir / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return manifest if isinstance(manifest, dict) else None


def _listed_files(manifest: dict) -> list[str]:
    """Output files the manifest itself lists.

    ``files``/``outputs`` (a list, or a name → hash map) and the executed
    notebooks (``notebooks.<name>.executed``, as :func:`build_report` writes them).
    """
    names: list[str] = []
    notebooks = manifest.get("notebooks")
    if isinstance(notebooks, dict):
        names.extend(str(entry["executed"]) for entry in notebooks.values()
                     if isinstance(entry, dict) and entry.get("executed"))
    for key in ("files", "outputs"):
        listed = manifest.get(key)
        if isinstance(listed, dict):
            names.extend(str(name) for name in listed)
        elif isinstance(listed, list):
            names.extend(str(item.get("path", "")) if isinstance(item, dict) else str(item) for item in listed)
    return [name for name in names if name]


def stale_reason(report_dir: Path, inputs_key: str) -> str | None:
    """Why the report in ``report_dir`` must be rebuilt, or ``None`` when it is up to date.

    Up to date means: ``manifest.json`` is readable, its ``inputs_key`` equals
    ``inputs_key``, and every file of :data:`REQUIRED_REPORT_FILES` and every
    file the manifest lists exists and is not empty.
    """
    if not report_dir.is_dir():
        return "not built yet"
    manifest = read_manifest(report_dir)
    if manifest is None:
        return "manifest.json missing or unreadable"
    if manifest.get("inputs_key") != inputs_key:
        return "inputs changed"
    for name in (*REQUIRED_REPORT_FILES, *_listed_files(manifest)):
        target = report_dir / name
        if not target.is_file() or target.stat().st_size == 0:
            return f"{name} missing or empty"
    return None


# --------------------------------------------------------------------------- outcomes
@dataclass
class ReportStatus:
    """What happened to one report in a run."""

    spec: ReportSpec
    status: str  # "skipped", "built" or "failed"
    seconds: float = 0.0
    inputs_key: str | None = None
    reason: str = ""
    message: str = ""
    notebook: str | None = None
    cell: str | None = None
    kept_notebook: str | None = None
    timings: dict[str, float] = field(default_factory=dict)
    traceback: str | None = None


@dataclass
class RegenerationRun:
    """The result of :func:`regenerate`: one :class:`ReportStatus` per report, and the log."""

    statuses: list[ReportStatus]
    log_path: Path
    seconds: float

    def count(self, status: str) -> int:
        return sum(1 for item in self.statuses if item.status == status)

    @property
    def failed(self) -> list[ReportStatus]:
        return [item for item in self.statuses if item.status == "failed"]

    @property
    def exit_status(self) -> int:
        """0 when every report is up to date, :data:`EXIT_FAILED` when any failed."""
        return EXIT_FAILED if self.failed else 0

    def summary(self) -> str:
        """A few lines for the terminal or a cron mail."""
        lines = [
            f"{len(self.statuses)} report(s): {self.count('built')} built, {self.count('skipped')} up to date, "
            f"{self.count('failed')} failed in {self.seconds:.1f} s (log: {self.log_path})"
        ]
        for item in self.failed:
            lines.append(f"FAILED {item.spec.name}: {_failure_text(item)}")
        return "\n".join(lines)


def _failure_text(item: ReportStatus) -> str:
    """The failure message, plus notebook, cell and kept notebook where the message lacks them."""
    message = item.message or "failed"
    parts = [message]
    if item.notebook and Path(item.notebook).name not in message:
        parts.append(f"notebook {item.notebook}")
    if item.cell and f"cell {item.cell}" not in message:
        parts.append(f"cell {item.cell}")
    if item.kept_notebook and item.kept_notebook not in message:
        parts.append(f"executed notebook kept in {item.kept_notebook}")
    return "; ".join(parts)


# --------------------------------------------------------------------------- building (worker side)
def _first_attribute(obj: Any, names: Iterable[str]) -> str | None:
    for name in names:
        value = getattr(obj, name, None)
        if value not in (None, ""):
            return str(value)
    return None


def _build_one(builder: Callable, spec: ReportSpec, out_dir: Path) -> dict:
    """Build one report; never raises: the result is a plain dict (pickles across processes).

    Custom exception classes do not always survive pickling back from a worker
    process, so the failure is described here, in the worker.
    """
    global _building
    started = time.perf_counter()
    _building = True
    try:
        outcome = builder(
            str(spec.dataset_path),
            as_of=spec.as_of,
            area=spec.area,
            language=spec.language,
            min_cell=spec.min_cell,
            out_dir=str(out_dir),
            **spec.publication_options,
        )
    except _Terminated:
        # concurrent.futures would send the exception back and keep the worker
        # alive; the parent asked it to stop, so stop (the clean-up has run).
        _stop_warm_kernel()
        os._exit(128 + signal.SIGTERM)
    except Exception as exc:  # one failing report must not stop the others
        kept = out_dir / f"{spec.name}.failed"
        return {
            "status": "failed",
            "seconds": time.perf_counter() - started,
            # identity numbers never reach stderr or the log, whatever raised (AlisError masks its own)
            "message": mask_national_ids(f"{type(exc).__name__}: {exc}" if not isinstance(exc, AlisError) else str(exc)),
            "notebook": _first_attribute(exc, ("notebook", "notebook_name")),
            "cell": _first_attribute(exc, ("cell", "cell_index", "failing_cell")),
            "kept_notebook": _first_attribute(exc, ("kept", "kept_dir", "failed_dir", "executed_notebook"))
            or (str(kept) if kept.exists() else None),
            "traceback": None if isinstance(exc, AlisError) else _traceback_text(),
        }
    finally:
        _building = False
    timings = getattr(outcome, "timings", None) or {}
    return {
        "status": "built",
        "seconds": time.perf_counter() - started,
        "path": str(getattr(outcome, "path", "")),
        "timings": {str(k): float(v) for k, v in dict(timings).items() if isinstance(v, (int, float))},
    }


def _traceback_text() -> str:
    """The current traceback with national identity numbers masked (it goes to the log)."""
    import traceback

    return mask_national_ids(traceback.format_exc())


class _Terminated(BaseException):
    """Raised in a worker on SIGTERM; a ``BaseException`` so that builders do not swallow it."""


_building = False  # in a worker process: is a build running right now?


def _exit_on_sigterm(signum, frame):
    if _building:
        raise _Terminated  # unwinds the build: its with-blocks remove temporary folders, stop the kernel
    _stop_warm_kernel()
    os._exit(128 + signum)


def _init_worker(log_path: str | None) -> None:
    """Set up a build worker process: signals, and where its output goes.

    Ctrl-C reaches the whole process group; the parent decides what to do, so a
    worker ignores SIGINT. SIGTERM (sent by the parent when it is interrupted)
    unwinds the running build, so that the builder's ``with`` blocks remove its
    temporary folder and shut its kernel down instead of leaving them behind.
    The worker's standard output and error — and so its kernels', which inherit
    them (e.g. ipykernel's start-up warnings) — are appended to the run's log:
    chatter of a successful run must not end up in a cron mail.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    if log_path:
        sys.stdout.flush()
        sys.stderr.flush()
        descriptor = os.open(log_path, os.O_WRONLY | os.O_APPEND)
        os.dup2(descriptor, 1)
        os.dup2(descriptor, 2)
        os.close(descriptor)


# --------------------------------------------------------------------------- run-level helpers
class _RunLog:
    """The per-run log file: one timestamped line per event, flushed at once."""

    def __init__(self, log_dir: Path, started: _dt.datetime):
        log_dir.mkdir(parents=True, exist_ok=True)
        stamp = started.strftime("%Y%m%dT%H%M%SZ")
        path = log_dir / f"regenerate-{stamp}.log"
        suffix = 1
        while path.exists():  # two runs in the same second
            path = log_dir / f"regenerate-{stamp}-{suffix}.log"
            suffix += 1
        self.path = path
        open(path, "x").close()  # claim the name, then append: workers append their output too
        self._handle = open(path, "a", encoding="utf-8")
        self._point_latest_here(log_dir)

    def _point_latest_here(self, log_dir: Path) -> None:
        latest = log_dir / LATEST_LOG_NAME
        temporary = log_dir / f".{LATEST_LOG_NAME}.{os.getpid()}"
        try:
            with contextlib.suppress(FileNotFoundError):
                temporary.unlink()
            temporary.symlink_to(self.path.name)
            os.replace(temporary, latest)
            self._copy_latest_to = None
        except OSError:  # no symlinks (some Windows set-ups): copy at the end instead
            self._copy_latest_to = latest

    def line(self, text: str) -> None:
        stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        for part in mask_national_ids(text).splitlines() or [""]:
            self._handle.write(f"{stamp} {part}\n")
        self._handle.flush()

    def close(self) -> None:
        self._handle.close()
        if self._copy_latest_to is not None:
            write_bytes_atomically(self._copy_latest_to, self.path.read_bytes())


class _RunLock:
    """The run lock: an OS lock on ``<out>/.regenerate.lock``, freed when its holder ends however it ends."""

    def __init__(self, path: Path):
        self.path = path
        self._descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        if not try_lock(self._descriptor):
            os.close(self._descriptor)
            raise BlockingIOError(path)

    def release(self) -> None:
        os.close(self._descriptor)  # closing frees the lock


def _acquire_lock(out_dir: Path) -> _RunLock:
    """Take the run lock without waiting; raise :class:`RegenerationLocked` when busy."""
    out_dir.mkdir(parents=True, exist_ok=True)
    try:
        lock = _RunLock(out_dir / LOCK_FILE_NAME)
    except BlockingIOError:
        owner = ""
        with contextlib.suppress(OSError):
            owner = (out_dir / LOCK_OWNER_FILE_NAME).read_text(encoding="utf-8").strip()
        raise RegenerationLocked(
            f"another regenerate run is busy with {out_dir} ({owner or 'owner unknown'}); "
            f"nothing done. The lock is {out_dir / LOCK_FILE_NAME} and is freed when that run ends."
        ) from None
    started = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    write_bytes_atomically(
        out_dir / LOCK_OWNER_FILE_NAME, f"pid {os.getpid()} on {socket.gethostname()}, started {started}\n".encode()
    )
    return lock


def _default_builder() -> Callable:
    import functools

    from .build import build_report  # imported lazily: heavy, and only needed when something is built

    # each worker keeps one kernel warm for all the reports it builds
    return functools.partial(build_report, reuse_kernel=True)


def _default_key_fn() -> Callable:
    from .inputs import report_inputs_key  # light: no pandas, no Jupyter

    return report_inputs_key


# --------------------------------------------------------------------------- the run
def regenerate(
    matrix: ReportMatrix,
    *,
    jobs: int = 2,
    force: bool = False,
    progress: bool = False,
    builder: Callable | None = None,
    key_fn: Callable | None = None,
    executor: str = "process",
) -> RegenerationRun:
    """Bring every report of ``matrix`` up to date.

    Parameters
    ----------
    matrix
        The validated matrix (:func:`~alis_research.report.matrix.load_matrix`).
    jobs
        Reports built at once (each build runs one kernel), ≥ 1.
    force
        Rebuild every report even when its inputs are unchanged.
    progress
        Show a progress bar on standard error.
    builder, key_fn
        The report builder and the inputs-key function; default
        :func:`alis_research.report.build_report` and
        :func:`alis_research.report.report_inputs_key` (tests pass fakes).
    executor
        ``"process"`` (default: each build in a worker process, started with
        ``spawn`` so that no lock or thread state is inherited) or ``"thread"``.

    Returns
    -------
    RegenerationRun
        Per-report status and the log path; ``exit_status`` is non-zero when
        any report failed.

    Raises
    ------
    RegenerationLocked
        Another run holds the lock of the output folder; nothing was done.
    """
    if not isinstance(jobs, int) or jobs < 1:
        raise AlisError(f"--jobs {jobs!r}: expected a whole number ≥ 1")
    if executor not in ("process", "thread"):
        raise ValueError(f"executor must be 'process' or 'thread', not {executor!r}")
    out_dir = matrix.out_dir
    lock = _acquire_lock(out_dir)
    try:
        return _run_locked(matrix, jobs=jobs, force=force, progress=progress, builder=builder,
                           key_fn=key_fn, executor=executor)
    finally:
        with contextlib.suppress(OSError):
            (out_dir / LOCK_OWNER_FILE_NAME).unlink()
        lock.release()


def _run_locked(matrix: ReportMatrix, *, jobs: int, force: bool, progress: bool, builder: Callable | None,
                key_fn: Callable | None, executor: str) -> RegenerationRun:
    started_wall = _dt.datetime.now(_dt.timezone.utc)
    started = time.perf_counter()
    out_dir = matrix.out_dir
    log = _RunLog(config.restricted_dir_for(out_dir) / LOG_DIR_NAME, started_wall)
    log.line(
        f"START alis-research {__version__} regenerate config={matrix.config_path} out={out_dir} "
        f"reports={len(matrix.reports)} jobs={jobs} force={force} pid={os.getpid()} host={socket.gethostname()}"
    )
    statuses: dict[str, ReportStatus] = {}
    try:
        recover_interrupted(out_dir, (spec.name for spec in matrix.reports), log.line)
        key_fn = key_fn or _default_key_fn()
        to_build: list[ReportStatus] = []
        for spec in matrix.reports:
            item = _check_one(spec, out_dir, key_fn, force)
            statuses[spec.name] = item
            if item.status == "skipped":
                log.line(f"SKIPPED {spec.name} inputs unchanged key={item.inputs_key[:16]}")
            elif item.status == "failed":
                log.line(f"FAILED {spec.name} 0.00 s inputs key not computable: {item.message}")
            else:
                to_build.append(item)
                log.line(f"QUEUED {spec.name} reason={item.reason!r}")
        if to_build:
            _build_all(to_build, out_dir, jobs=jobs, progress=progress, builder=builder or _default_builder(),
                       executor=executor, log=log, skipped=len(matrix.reports) - len(to_build))
    except KeyboardInterrupt:
        log.line("INTERRUPTED: reports already published, and every previous report, are intact")
        log.close()
        raise
    except BaseException as exc:
        log.line(f"ABORTED {type(exc).__name__}: {exc}")
        log.close()
        raise
    run = RegenerationRun(statuses=[statuses[spec.name] for spec in matrix.reports], log_path=log.path,
                          seconds=time.perf_counter() - started)
    for part in run.summary().splitlines():
        log.line(f"END {part}")
    log.close()
    return run


def _check_one(spec: ReportSpec, out_dir: Path, key_fn: Callable, force: bool) -> ReportStatus:
    started = time.perf_counter()
    try:
        key = key_fn(str(spec.dataset_path), as_of=spec.as_of, area=spec.area, language=spec.language,
                     min_cell=spec.min_cell, **spec.publication_options)
    except Exception as exc:  # e.g. the data folder vanished: that report fails, the others go on
        return ReportStatus(spec, "failed", seconds=time.perf_counter() - started,
                            message=str(exc) if isinstance(exc, AlisError) else f"{type(exc).__name__}: {exc}")
    reason = "--force" if force else stale_reason(out_dir / spec.name, key)
    status = "skipped" if reason is None else "queued"
    return ReportStatus(spec, status, seconds=time.perf_counter() - started, inputs_key=key, reason=reason or "")


#: Times a report is started when its build process dies (kill -9, the out-of-memory killer).
BUILD_ATTEMPTS = 2


def _group(spec: ReportSpec) -> tuple:
    """Reports sharing a worker's caches (prepared data, analyses): same dataset, as-of date and area."""
    return (str(spec.dataset_path), spec.as_of, spec.area, spec.min_cell)


def _pick_next(queue: list[ReportStatus], last: ReportSpec | None, busy_groups: set) -> ReportStatus:
    """The next report for a free worker: the other language of what it just built, else a report of
    an area no other worker is on (its caches are warm for it), else the first in line."""
    if last is not None:
        for item in queue:
            if _group(item.spec) == _group(last):
                return item
    for item in queue:
        if _group(item.spec) not in busy_groups:
            return item
    return queue[0]


def _death_cause(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-exitcode).name}"
        return f"killed by signal {-exitcode}"
    return f"exit status {exitcode}"


class _Worker:
    """One build process, fed one report at a time over a pipe; it lives for the whole run, so
    whatever it keeps warm (the kernel, the prepared dataset) serves every report it builds."""

    def __init__(self, context, builder: Callable, log_path: Path | None):
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_worker_main, args=(child, builder, str(log_path) if log_path else None),
                                       name="regenerate-worker", daemon=True)
        self.process.start()
        child.close()
        self.item: ReportStatus | None = None
        self.last: ReportSpec | None = None

    def give(self, item: ReportStatus, out_dir: Path) -> bool:
        try:
            self.conn.send((item.spec, str(out_dir)))
        except (OSError, EOFError):  # died while idle
            return False
        self.item = item
        return True

    def stop(self, *, wait: float) -> None:
        with contextlib.suppress(OSError, EOFError):
            self.conn.send(None)
        self.process.join(wait)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(wait)
        self.conn.close()


def _worker_main(conn, builder: Callable, log_path: str | None) -> None:
    """A build worker: build each report it is sent until told to stop (``None``)."""
    _init_worker(log_path)
    try:
        while True:
            try:
                task = conn.recv()
            except (EOFError, OSError):
                break
            if task is None:
                break
            spec, out_dir = task
            conn.send(_build_one(builder, spec, Path(out_dir)))
    finally:
        _stop_warm_kernel()


def _stop_warm_kernel() -> None:
    """Shut down the kernel this worker kept warm, if the real builder started one."""
    build = sys.modules.get("alis_research.report.build")
    if build is not None:
        with contextlib.suppress(Exception):
            build.shutdown_warm_kernel()


def _build_all(items: list[ReportStatus], out_dir: Path, *, jobs: int, progress: bool, builder: Callable,
               executor: str, log: _RunLog, skipped: int) -> None:
    from tqdm import tqdm

    bar = tqdm(total=len(items) + skipped, initial=skipped, unit="report", disable=not progress,
               file=sys.stderr, desc="regenerate", dynamic_ncols=True)

    def done(item: ReportStatus, result: dict) -> None:
        _record(item, result, out_dir, log)
        bar.update(1)
        bar.set_postfix_str(f"{item.spec.name} {item.status}", refresh=True)

    try:
        if executor == "thread":
            _build_in_threads(items, out_dir, jobs=jobs, builder=builder, done=done)
        else:
            _build_in_processes(items, out_dir, jobs=jobs, builder=builder, log=log, done=done)
    finally:
        bar.close()


def _build_in_threads(items, out_dir: Path, *, jobs: int, builder: Callable, done: Callable) -> None:
    import concurrent.futures

    pool = concurrent.futures.ThreadPoolExecutor(max_workers=min(jobs, len(items)), thread_name_prefix="regenerate")
    try:
        futures = {pool.submit(_build_one, builder, item.spec, out_dir): item for item in items}
        for future in concurrent.futures.as_completed(futures):
            done(futures[future], future.result())
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def _build_in_processes(items: list[ReportStatus], out_dir: Path, *, jobs: int, builder: Callable, log: _RunLog,
                        done: Callable) -> None:
    """Build ``items`` in at most ``jobs`` long-lived worker processes.

    The parent knows which report each worker holds, so when a worker dies (kill -9, the
    out-of-memory killer, a kernel taking its process down) only that report is affected:
    it is started once more in a fresh worker, and fails alone if that one dies too. The
    other workers and their reports carry on.
    """
    import multiprocessing
    from multiprocessing.connection import wait

    context = multiprocessing.get_context("spawn")  # no lock or thread state inherited
    queue = list(items)
    attempts = {item.spec.name: 0 for item in items}
    idle: list[_Worker] = []
    busy: list[_Worker] = []
    interrupted = True
    try:
        while queue or busy:
            while queue and len(busy) < jobs:
                worker = idle.pop() if idle else _Worker(context, builder, log.path)
                item = _pick_next(queue, worker.last, {_group(w.item.spec) for w in busy})
                if not worker.give(item, out_dir):
                    worker.stop(wait=1.0)
                    continue
                queue.remove(item)
                attempts[item.spec.name] += 1
                busy.append(worker)
            ready = wait([w.conn for w in busy] + [w.process.sentinel for w in busy])
            for worker in list(busy):
                if worker.conn not in ready and worker.process.sentinel not in ready:
                    continue
                result = None
                with contextlib.suppress(EOFError, OSError):
                    if worker.conn.poll():
                        result = worker.conn.recv()
                item, worker.item = worker.item, None
                busy.remove(worker)
                if result is not None:
                    worker.last = item.spec
                    idle.append(worker)
                    done(item, result)
                    continue
                worker.process.join(5.0)
                cause = _death_cause(worker.process.exitcode)
                worker.stop(wait=1.0)
                if attempts[item.spec.name] < BUILD_ATTEMPTS:
                    log.line(f"RETRY {item.spec.name}: its build process died ({cause}); "
                             "starting it once more in a fresh worker")
                    queue.insert(0, item)
                else:
                    done(item, {"status": "failed", "seconds": 0.0,
                                "message": f"the build process died ({cause}) on each of {BUILD_ATTEMPTS} attempts "
                                           "(out of memory? see the run's log)"})
        interrupted = False
    finally:
        if interrupted:  # Ctrl-C / SIGTERM: stop the builds (their staging folders are removed)
            for worker in busy + idle:
                with contextlib.suppress(Exception):
                    worker.process.terminate()
        for worker in busy + idle:
            worker.stop(wait=10.0 if not interrupted else 5.0)


def _record(item: ReportStatus, result: dict, out_dir: Path, log: _RunLog) -> None:
    item.status = result["status"]
    item.seconds = float(result.get("seconds", 0.0))
    item.timings = result.get("timings", {}) or {}
    if item.status == "built":
        timings = " ".join(f"{name}={value:.2f}" for name, value in item.timings.items())
        log.line(f"BUILT {item.spec.name} {item.seconds:.2f} s key={item.inputs_key[:16]} {timings}".rstrip())
        path = result.get("path")
        if path and Path(path).resolve() != (out_dir / item.spec.name).resolve():
            log.line(f"WARNING {item.spec.name}: the builder wrote {path}, not {out_dir / item.spec.name}; "
                     "it will be rebuilt on every run")
        elif stale_reason(out_dir / item.spec.name, item.inputs_key) is not None:
            log.line(f"WARNING {item.spec.name}: built, but its manifest does not match the inputs key "
                     f"({stale_reason(out_dir / item.spec.name, item.inputs_key)}); it will be rebuilt next run")
        return
    item.message = result.get("message", "")
    item.notebook = result.get("notebook")
    item.cell = result.get("cell")
    item.kept_notebook = result.get("kept_notebook")
    item.traceback = result.get("traceback")
    log.line(f"FAILED {item.spec.name} {item.seconds:.2f} s {_failure_text(item)}")
    if item.traceback:
        log.line(item.traceback.rstrip())


# --------------------------------------------------------------------------- command line
