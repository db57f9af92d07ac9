"""Build one published report: validate, run the notebook once, render PDF and HTML, publish atomically.

The sequence (see ``docs/reports.md``):

1. validate and prepare the dataset in this process, so a user error raises
   :class:`~alis_research.errors.AlisError` before any notebook cell runs (a fresh
   kernel boots meanwhile and is stopped unused);
2. execute ``notebooks/evaluation_report.ipynb`` with papermill **once**
   (one kernel start per report), parameters injected through the Python API
   (strings stay strings), ``cwd`` set, kernel named explicitly, start
   timeout with one retry; the notebook writes ``content.json``, figures,
   tables and ``results.json`` through :mod:`alis_research.report`;
3. protect the whole report (:mod:`.protection`: ledger, suppression, attacker
   audit; started beside the notebook's last cell, :class:`EarlyProtection`) and
   write only protected content into the published folder;
4. outside the kernel render ``report.pdf`` (Typst) and ``report.html``;
5. write the output-checking record and ``manifest.json`` and swap the whole
   folder into place.

Two folders per report: the *restricted working folder*
``<restricted>/<report>/`` (the notebook's ``content.json`` with the ledger,
``results.json``, the executed notebook: unprotected, never published) and the
*published folder* ``<out>/<report>/`` (only protected artefacts). Each is
written into a temporary folder beside its target and replaces the previous
one only when complete. A failing cell raises :class:`ReportFailed` naming the
notebook and the cell, and the executed notebook is kept in
``<restricted>/<report>.failed/`` for diagnosis.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from .. import __version__, config
from ..data import io as alis_io
from ..errors import AlisError
from .inputs import (  # noqa: F401  (report_inputs_key, report_name, notebook_path: public here too)
    KEY_NOTEBOOKS,
    REPORT_NOTEBOOK,
    notebook_path,
    report_inputs_key,
    report_name,
    report_parameters,
    sha256_bytes,
)
from .publish import recover_interrupted, staged_output
from .publication import Publication
from .render import render_html, render_pdf, template_files
from .sections import check_area
from .text import check_language

MANIFEST_SCHEMA = "alis-research/report-manifest/1"
EXECUTED_DIR = "notebooks"
KERNEL_START_TIMEOUT = 60
#: Kernel start-up failures worth one more try (parallel runs: papermill #776, #476).
_RETRYABLE = ("RuntimeError", "TimeoutError", "DeadKernelError", "ZMQError")


class ReportFailed(AlisError):
    """A notebook cell failed; the executed notebook is kept for diagnosis."""

    def __init__(self, message: str, *, notebook: Path | None = None, cell_index: int | None = None,
                 kept: Path | None = None):
        super().__init__(message)
        self.notebook = notebook
        self.cell_index = cell_index
        self.kept = kept


@dataclass
class ReportOutcome:
    """Where a report was published (and its restricted working folder) and how long each step took (seconds)."""

    path: Path
    pdf: Path
    html: Path
    results_json: Path  # in the restricted working folder, never in the published one
    manifest: Path
    timings: dict[str, float] = field(default_factory=dict)
    restricted: Path | None = None
    output_check: Path | None = None
    #: What this run repaired of earlier killed runs (``RESTORED …``, ``CLEANED …`` lines).
    repairs: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        steps = ", ".join(f"{k} {v:.1f} s" for k, v in self.timings.items())
        return f"report in {self.path} ({steps})"


# --------------------------------------------------------------------------- kernel
def _private_jupyter_dir() -> Path:
    tag = sha256_bytes(sys.executable.encode("utf-8"))[:12]
    return Path(tempfile.gettempdir()) / f"alis-research-jupyter-{tag}"


def register_private_kernel() -> Path:
    """Write a kernelspec named ``config.KERNEL_NAME`` for this interpreter in a private folder.

    The folder is put on ``JUPYTER_PATH`` for this process and its children
    (papermill, the ``papermill`` command in tests), so a fresh checkout or a
    CI machine needs no separate ``ipykernel install`` step. Returns the folder.
    """
    folder = _private_jupyter_dir()
    spec_dir = folder / "kernels" / config.KERNEL_NAME
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": f"Python ({config.KERNEL_NAME})",
        "language": "python",
        "metadata": {"debugger": True},
    }
    text = json.dumps(spec, indent=1)
    target = spec_dir / "kernel.json"
    if not target.exists() or target.read_text(encoding="utf-8") != text:
        alis_io.atomic_write_text(target, text)
    paths = [p for p in os.environ.get("JUPYTER_PATH", "").split(os.pathsep) if p]
    if str(folder) not in paths:
        os.environ["JUPYTER_PATH"] = os.pathsep.join([str(folder), *paths])
    return folder


def resolve_kernel(kernel_name: str | None = None) -> str:
    """The kernel to run notebooks with.

    An explicit ``kernel_name`` must exist. Otherwise the project kernel
    (``config.KERNEL_NAME``) if it is registered and runs this interpreter;
    if not, one is registered privately for the current interpreter.
    """
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    manager = KernelSpecManager()
    if kernel_name:
        try:
            manager.get_kernel_spec(kernel_name)
        except NoSuchKernel:
            names = ", ".join(sorted(manager.find_kernel_specs()))
            raise AlisError(f"Jupyter kernel {kernel_name!r} is not installed (installed: {names}); "
                            f"register it with: python -m ipykernel install --sys-prefix --name {kernel_name}") from None
        return kernel_name
    try:
        spec = manager.get_kernel_spec(config.KERNEL_NAME)
        executable = spec.argv[0] if spec.argv else ""
        if executable in ("python", "python3") or Path(executable).resolve() == Path(sys.executable).resolve():
            return config.KERNEL_NAME
    except NoSuchKernel:
        pass
    register_private_kernel()
    return config.KERNEL_NAME


# --------------------------------------------------------------------------- running the notebook
def _first_line(source: str) -> str:
    for line in source.splitlines():
        if line.strip():
            return line.strip()
    return ""


#: Extra arguments of every kernel: ipykernel 7 warns on each start that local TCP is unencrypted,
#: which is noise for our users.
KERNEL_ARGUMENTS = ["--IPKernelApp.log_level=ERROR"]
#: Run in a warm kernel before each report after the first: a fresh namespace and execution
#: counter (``InteractiveShell.reset``), figures closed. Imported modules stay loaded (the package
#: keeps no state between reports), which is what makes a warm kernel fast.
RESET_CODE = ("get_ipython().reset(new_session=True)\n"
              "import sys as _sys, gc as _gc\n"
              "if 'matplotlib.pyplot' in _sys.modules: _sys.modules['matplotlib.pyplot'].close('all')\n"
              "_gc.collect(); del _sys, _gc")


def kernel_environment() -> dict[str, str]:
    """The environment of a report kernel: ours, with the analyses' memo switched on.

    In a report kernel nothing changes a module constant or a reference table between
    reports, so an analysis given the same data and parameters gives the same result:
    the en report of an area reuses what its nb report computed on the same warm kernel
    (:mod:`alis_research.analysis.memo`, keyed by the content of the inputs).
    """
    from ..analysis.memo import ENV_VAR

    return {**os.environ, ENV_VAR: "1"}


class WarmKernel:
    """A Jupyter kernel we start and stop ourselves; a ``regenerate`` worker keeps one for all its reports.

    Starting a kernel and importing pandas, lifelines and matplotlib in it is
    most of a small report's time; a worker that builds several reports pays it
    once. After each report the namespace is reset (:data:`RESET_CODE`) while
    the worker renders the PDF; the next report waits for that reset's reply
    and gets a fresh kernel instead if the reset failed or the kernel died.
    """

    def __init__(self, kernel_name: str, cwd: Path):
        from jupyter_client.manager import AsyncKernelManager
        from jupyter_core.utils import run_sync

        self.kernel_name, self.cwd, self.reports = kernel_name, Path(cwd), 0
        # The asynchronous manager, as nbclient makes for itself: with a blocking one, nbclient's
        # wait for output blocks its event loop, and a kernel killed mid-cell is never noticed.
        self.manager = AsyncKernelManager(kernel_name=kernel_name)
        self._run_sync = run_sync  # nbclient's own loop runner: one event loop per thread
        # papermill's client waits until the kernel answers (start timeout, one retry)
        run_sync(self.manager.start_kernel)(cwd=str(cwd), extra_arguments=KERNEL_ARGUMENTS, env=kernel_environment())
        self._pending_reset = None
        #: True once a report has run on it (a kernel started ahead by the builder may go unused)
        self.used = False
        #: False from the start of a report until its reset has been confirmed
        self.clean = True

    def alive(self) -> bool:
        try:
            return bool(self._run_sync(self.manager.is_alive)())
        except Exception:
            return False

    def begin_reset(self) -> None:
        """Ask the kernel to reset its namespace, without waiting (after a report)."""
        # A shell-only client of our own, closed once the reply is in: a client left connected
        # with an unread IOPub queue makes the kernel drop its messages (the zmq high-water mark).
        from jupyter_client.blocking import BlockingKernelClient

        client = BlockingKernelClient()
        client.load_connection_info(self.manager.get_connection_info())
        client.start_channels(shell=True, iopub=False, stdin=False, hb=False, control=False)
        self._pending_reset = (client, client.execute(RESET_CODE, silent=True, store_history=False))

    def finish_reset(self) -> None:
        """Wait for the reset asked by :meth:`begin_reset` (before the next report); raise if it failed."""
        if self._pending_reset is None:
            return
        client, msg_id = self._pending_reset
        self._pending_reset = None
        try:
            deadline = time.monotonic() + KERNEL_START_TIMEOUT
            while True:
                reply = client.get_shell_msg(timeout=max(deadline - time.monotonic(), 0.01))
                if reply["parent_header"].get("msg_id") == msg_id:
                    break
            if reply["content"].get("status") != "ok":
                raise RuntimeError(f"could not reset the kernel: {reply['content'].get('evalue', '')}")
            self.clean = True
        finally:
            client.stop_channels()

    def shutdown(self) -> None:
        if self._pending_reset is not None:
            with contextlib.suppress(Exception):
                self._pending_reset[0].stop_channels()
            self._pending_reset = None
        with contextlib.suppress(Exception):
            self._run_sync(self.manager.shutdown_kernel)(now=True)


# One warm kernel per thread (a regenerate worker has one thread; threads never share a kernel).
_warm_kernels: dict[int, WarmKernel] = {}


def warm_kernel(kernel_name: str, cwd: Path) -> WarmKernel:
    """This thread's warm kernel: started on first use, reset after each report, replaced if it died."""
    thread = threading.get_ident()
    kernel = _warm_kernels.get(thread)
    if kernel is not None and (kernel.kernel_name != kernel_name or kernel.cwd != Path(cwd) or not kernel.alive()):
        shutdown_warm_kernel()
        kernel = None
    if kernel is not None:
        try:
            kernel.finish_reset()
        except Exception:  # a kernel that does not answer is replaced
            kernel.clean = False
        if not kernel.clean:  # never run a report in a namespace another report left
            shutdown_warm_kernel()
            kernel = None
    if kernel is None:
        kernel = _warm_kernels[thread] = WarmKernel(kernel_name, cwd)
    kernel.clean = False
    return kernel


def running_warm_kernels() -> list[WarmKernel]:
    """The warm kernels of this process (one per thread that built a report with ``reuse_kernel``)."""
    return list(_warm_kernels.values())


def shutdown_warm_kernel() -> None:
    """Stop this thread's warm kernel (a ``regenerate`` worker calls this when it ends)."""
    kernel = _warm_kernels.pop(threading.get_ident(), None)
    if kernel is not None:
        kernel.shutdown()


class KernelShutdowns:
    """Fresh kernels being stopped in the background while the builder goes on (protection, PDF).

    A kernel's shutdown takes about 0.1 s (ask, wait for the process to end); a report need not
    wait for it, only its builder must before returning: :meth:`wait` (no kernel outlives a build).
    """

    def __init__(self):
        self._threads: list[threading.Thread] = []

    def stop(self, kernel: WarmKernel) -> None:
        thread = threading.Thread(target=kernel.shutdown, name="alis-kernel-shutdown", daemon=True)
        thread.start()
        self._threads.append(thread)

    def wait(self) -> None:
        while self._threads:
            self._threads.pop().join()


#: Tag of the notebook cell after which the report's content is complete (``evaluation_report.ipynb``:
#: the appendix); the cells after it write restricted files only (``results.json``).
CONTENT_COMPLETE_TAG = "content-complete"


class EarlyProtection:
    """Protect a report while its notebook still runs the cells after its content.

    When the cell tagged :data:`CONTENT_COMPLETE_TAG` has run without error, the
    protection (:func:`~.protection.protect_content`) starts in a thread of the builder,
    beside the kernel computing ``results.json``. :meth:`result` returns it once the
    notebook has ended if the working content is still what it read (SHA-256 of
    ``content.json`` and the figures); otherwise, or if no cell was tagged, it protects
    again from an empty published folder. Either way the result is the protection of the
    finished content; an audit failure is raised as before.
    """

    def __init__(self, work: Path, publish_dir: Path, min_cell: int):
        self.work, self.publish_dir, self.min_cell = Path(work), Path(publish_dir), int(min_cell)
        self._thread: threading.Thread | None = None
        self._digest = None
        self._outcome = None
        self._error: BaseException | None = None
        self.seconds = 0.0

    def cell_executed(self, cell=None, cell_index=None, execute_reply=None, **_):
        """nbclient's ``on_cell_executed`` hook."""
        tags = (cell or {}).get("metadata", {}).get("tags", [])
        ok = (execute_reply or {}).get("content", {}).get("status") == "ok"
        if self._thread is None and ok and CONTENT_COMPLETE_TAG in tags:
            self._digest = self._content_digest()
            self._thread = threading.Thread(target=self._protect, name="alis-protection", daemon=True)
            self._thread.start()

    def _content_digest(self) -> str:
        digest = hashlib.sha256()
        for path in [self.work / "content.json", *sorted((self.work / "figures").glob("*.svg"))]:
            if path.is_file():
                digest.update(path.name.encode() + b"\0" + path.read_bytes())
        return digest.hexdigest()

    def _protect(self) -> None:
        from .protection import protect_content

        started = time.perf_counter()
        try:
            self._outcome = protect_content(self.work, self.publish_dir, min_cell=self.min_cell)
        except BaseException as exc:  # noqa: BLE001 - handed to the builder's thread by result()
            self._error = exc
        self.seconds = time.perf_counter() - started

    def forget(self) -> None:
        """Wait for a protection under way and drop it and what it wrote (the notebook runs again, or failed)."""
        if self._thread is not None:
            while self._thread.is_alive():  # (a second Ctrl-C while waiting must not leave it running)
                try:
                    self._thread.join()
                except BaseException:  # noqa: BLE001 - keep waiting: the folder is removed next
                    continue
            _empty_folder(self.publish_dir)
        self._thread = self._outcome = self._error = self._digest = None

    def result(self):
        """The protection of the finished content (see the class); ``seconds`` says how long it took."""
        fresh = self._thread is None
        if not fresh:
            self._thread.join()
            if self._digest != self._content_digest():
                _empty_folder(self.publish_dir)  # later cells changed the content: protect it again
                fresh = True
        if fresh:
            self._error = None
            self._protect()  # here, in the builder's thread
        if self._error is not None:
            raise self._error
        return self._outcome


def start_fresh_kernel(kernel_name: str, cwd: Path) -> WarmKernel | None:
    """Start a kernel now, to boot while this process validates the data (None if it cannot start now).

    Starting only spawns the process; papermill waits for it to answer later. A kernel
    that cannot be started here is left to :func:`execute_notebook`, which starts
    one itself and reports the error there.
    """
    try:
        return WarmKernel(kernel_name, cwd)
    except Exception:  # noqa: BLE001 - execute_notebook retries and reports it
        return None


def execute_notebook(notebook: Path, output: Path, parameters: dict, *, kernel_name: str, cwd: Path,
                     failed_dir: Path | None = None, reuse_kernel: bool = False,
                     published_dir: Path | None = None, started: WarmKernel | None = None,
                     shutdowns: KernelShutdowns | None = None, early: "EarlyProtection | None" = None) -> None:
    """Run one notebook with papermill; raise :class:`ReportFailed` on a failing cell.

    A kernel that fails to start (or, with ``reuse_kernel``, a warm kernel that
    died) is retried once with a fresh one. On a failing cell the executed
    notebook is copied to ``failed_dir`` (if given) before raising. With
    ``published_dir``, the executed notebook records that folder wherever the
    parameters name the staging folder ``parameters["output_dir"]`` (see
    :func:`record_published_path`). ``started``: a fresh kernel already started
    (:func:`start_fresh_kernel`) for the first attempt; ``shutdowns``: stop the fresh
    kernel in the background there instead of waiting for it; ``early``: protect the
    report while the cells after its content run (:class:`EarlyProtection`).
    """
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    for attempt in (1, 2):
        output.parent.mkdir(parents=True, exist_ok=True)
        kernel = None
        try:
            # our own kernel manager either way: papermill then neither waits for a polite
            # shutdown nor saves the notebook after every cell (it saves it at the end, and on failure)
            if reuse_kernel:
                kernel = warm_kernel(kernel_name, cwd)
            elif started is not None and attempt == 1:
                kernel, started = started, None
                kernel.used = True
            else:
                kernel = WarmKernel(kernel_name, cwd)
            try:
                pm.execute_notebook(
                    str(notebook), str(output), parameters=parameters, kernel_name=kernel_name, cwd=str(cwd),
                    language="python", progress_bar=False, start_timeout=KERNEL_START_TIMEOUT, log_output=False,
                    km=kernel.manager, request_save_on_cell_execute=False,
                    **({"on_cell_executed": early.cell_executed} if early is not None else {}),
                )
            finally:
                if not reuse_kernel:
                    if shutdowns is not None:
                        shutdowns.stop(kernel)
                    else:
                        kernel.shutdown()
                elif kernel.alive():
                    with contextlib.suppress(Exception):  # if it cannot be asked, the kernel is replaced
                        kernel.begin_reset()  # runs while this process renders the PDF
            kernel.reports += 1
            if published_dir is not None:
                record_published_path(output, str(parameters["output_dir"]), str(published_dir))
            return
        except PapermillExecutionError as exc:
            if kernel is not None:
                kernel.reports += 1
            kept = None
            if failed_dir is not None and output.exists():
                with staged_output(failed_dir) as tmp:
                    shutil.copy2(output, tmp / notebook.name)
                    (tmp / "error.txt").write_text(
                        f"cell {exc.cell_index}: {exc.ename}: {exc.evalue}\n\n" + "\n".join(exc.traceback or []),
                        encoding="utf-8")
                kept = failed_dir / notebook.name
            where = f"; executed notebook kept in {kept}" if kept else ""
            raise ReportFailed(
                f"notebook {notebook.name} failed in cell {exc.cell_index} "
                f"('{_first_line(exc.source)}'): {exc.ename}: {exc.evalue}{where}",
                notebook=notebook, cell_index=exc.cell_index, kept=kept,
            ) from None
        except Exception as exc:  # kernel did not start / died: retry once
            if reuse_kernel:  # never reuse a kernel that failed us
                shutdown_warm_kernel()
            if attempt == 2 or type(exc).__name__ not in _RETRYABLE:
                raise AlisError(f"could not run {notebook.name} with kernel {kernel_name!r}: "
                                f"{type(exc).__name__}: {exc}") from exc
            if early is not None:
                early.forget()  # it may be reading the folder emptied next
            _empty_folder(parameters.get("output_dir"))  # the second attempt starts from nothing
            time.sleep(1.0)


def _empty_folder(folder) -> None:
    if folder and Path(folder).is_dir():
        for entry in Path(folder).iterdir():
            if entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)


def record_published_path(executed: Path, staging: str, published: str) -> None:
    """Make the executed notebook name the published folder instead of the staging folder it ran in.

    The notebook writes into a staging folder that is renamed into place when
    the report is complete, so the folder it was given no longer exists
    afterwards. Every mention of it (papermill's injected-parameters cell, the
    parameters in the notebook's metadata, printed output) is replaced by the
    published folder, where those files now are; the metadata says so.
    """
    import nbformat

    nb = nbformat.read(executed, as_version=4)
    text = nbformat.writes(nb)
    replaced = text.replace(json.dumps(staging)[1:-1], json.dumps(published)[1:-1])
    nb = nbformat.reads(replaced, as_version=4)
    nb.metadata["alis_research"] = {"output_dir": published,
                                    "note": "written into a staging folder beside it, then renamed into place"}
    alis_io.atomic_write_text(executed, nbformat.writes(nb))


def notebook_timings(executed: Path, started: float) -> dict[str, float]:
    """Split a papermill run into kernel start, imports and analyses from the cells' metadata."""
    import datetime as _dt

    import nbformat

    nb = nbformat.read(executed, as_version=4)
    cells = [c for c in nb.cells if c.cell_type == "code" and c.metadata.get("papermill", {}).get("start_time")]
    if not cells:
        return {}

    def stamp(text):
        return _dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()

    first = stamp(cells[0].metadata.papermill.start_time)
    imports = next((c for c in cells if c.source.lstrip().startswith(("import ", "from "))), None)
    import_time = float(imports.metadata.papermill.get("duration") or 0.0) if imports is not None else 0.0
    total_cells = sum(float(c.metadata.papermill.get("duration") or 0.0) for c in cells)
    return {"kernel_start": max(first - started, 0.0), "imports": import_time,
            "analyses": max(total_cells - import_time, 0.0)}


# --------------------------------------------------------------------------- the report
def restricted_root(out_dir=None, restricted_dir=None) -> Path:
    """The restricted working root: ``restricted_dir``, else ``restricted/`` beside the reports folder.

    Refused when it lies inside the published reports folder (a web server
    serving the reports would serve the unprotected results too).
    """
    out = Path(out_dir) if out_dir else config.REPORTS
    root = Path(restricted_dir) if restricted_dir else config.restricted_dir_for(out_dir)
    if root.resolve().is_relative_to(out.resolve()):
        raise AlisError(f"the restricted folder {root} must not lie inside the published reports folder {out}")
    return root


def build_report(dataset, *, as_of, area: str = "all", language: str = "nb", min_cell: int = config.DEFAULT_MIN_CELL,
                 out_dir=None, kernel_name: str | None = None, register=None,
                 publication: Publication | None = None, reuse_kernel: bool = False,
                 restricted_dir=None) -> ReportOutcome:
    """Validate, analyse and publish one report folder ``<out_dir>/<dataset>_<area>_<language>/``.

    Parameters
    ----------
    dataset : str or path
        Raw dataset folder (or a name under ``data/raw``).
    as_of : str
        As-of date ``YYYY-MM-DD``.
    area : {"all", "Finnmark", "UNN", "Nordland", "Helgeland"}
    language : {"nb", "en"}
    min_cell : int
        Smallest count shown in published tables and figures.
    out_dir : path, optional
        Folder under which the report folder is made (default ``config.REPORTS``).
    kernel_name : str, optional
        Jupyter kernel; default the project kernel (registered privately if needed).
    register : path, optional
        GP-register extract for the comparison-groups section (``--register``); default
        ``<dataset>/register/`` when it exists, else the section is left out.
    publication : Publication, optional
        Institution, authors, commissioner, status and version for the title page and the
        document metadata (default: a draft, version 0.1, nothing else stated).
    reuse_kernel : bool
        Run the notebook on this process's warm kernel (:func:`warm_kernel`), started
        on first use and kept for the next report (``regenerate`` workers do this);
        default a fresh kernel for this report only.
    restricted_dir : path, optional
        Root of the restricted working folders (default :func:`restricted_root`).

    Returns
    -------
    ReportOutcome

    Raises
    ------
    AlisError
        Bad parameters or data (before any notebook cell runs).
    ReportFailed
        A notebook cell failed; the previous report is left intact.
    DisclosureAuditFailed
        The attacker audit found a count it can narrow to 1 … min_cell − 1; nothing is published.
    """
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    check_area(area)
    check_language(language)
    if int(min_cell) < 1:
        raise AlisError(f"--min-cell must be at least 1, got {min_cell}")
    dataset_dir = Path(config.dataset_dir(dataset)).resolve()
    shutdowns = KernelShutdowns()
    # A fresh kernel boots (0.5 s) while the data are validated here; a user error stops it unused.
    started = None
    if not reuse_kernel:
        with contextlib.suppress(AlisError):  # a kernel error is reported where it always was, below
            started = start_fresh_kernel(resolve_kernel(kernel_name), config.PROJECT_ROOT)
    try:
        return _build_report(dataset_dir, t0, timings, started, shutdowns, as_of=as_of, area=area,
                             language=language, min_cell=min_cell, out_dir=out_dir, kernel_name=kernel_name,
                             register=register, publication=publication, reuse_kernel=reuse_kernel,
                             restricted_dir=restricted_dir)
    finally:
        if started is not None and not started.used:
            shutdowns.stop(started)
        shutdowns.wait()  # no kernel outlives its build


def _build_report(dataset_dir: Path, t0: float, timings: dict, started, shutdowns: KernelShutdowns, *, as_of,
                  area, language, min_cell, out_dir, kernel_name, register, publication, reuse_kernel,
                  restricted_dir) -> ReportOutcome:
    from ..analysis.comparison import find_register
    from ..data.register import load_register
    from .sections import load_for_report

    # validated once (supervision.csv included) before any cell runs
    prepared = load_for_report(dataset_dir, as_of=as_of, area=area)
    register_dir = find_register(dataset_dir, register)  # the optional register extract, checked before any cell
    register_files = load_register(register_dir).attrs["input_files"] if register_dir is not None else {}
    timings["prepare"] = time.perf_counter() - t0

    inputs_key = report_inputs_key(dataset_dir, as_of=as_of, area=area, language=language, min_cell=min_cell,
                                   register=register_dir, publication=publication)
    kernel = resolve_kernel(kernel_name)
    from .protection import write_output_check

    restricted = restricted_root(out_dir, restricted_dir)
    out_dir = Path(out_dir or config.REPORTS).absolute()
    final_dir = out_dir / report_name(dataset_dir, area, language)
    work_final = restricted / report_name(dataset_dir, area, language)
    failed_dir = work_final.with_name(work_final.name + ".failed")
    notebook = notebook_path()

    repairs: list[str] = []
    recover_interrupted(out_dir, None, repairs.append)  # what a killed run left beside the reports

    # the restricted working folder (unprotected) and the published folder (protected only)
    with staged_output(final_dir) as tmp, alis_io.atomic_output_dir(work_final) as work:
        executed = work / EXECUTED_DIR / REPORT_NOTEBOOK
        parameters = {"dataset": str(dataset_dir), "as_of": str(as_of), "area": area, "language": language,
                      "min_cell": int(min_cell), "output_dir": str(work),
                      "register": str(register_dir.resolve()) if register_dir is not None else ""}
        wall = time.time()
        t1 = time.perf_counter()
        early = EarlyProtection(work, tmp, int(min_cell))
        try:  # until the protection is in, whatever is raised (Ctrl-C too) first stops its thread
            execute_notebook(notebook, executed, parameters, kernel_name=kernel, cwd=config.PROJECT_ROOT,
                             failed_dir=failed_dir, reuse_kernel=reuse_kernel, published_dir=work_final,
                             started=started, shutdowns=shutdowns, early=early)
            run_time = time.perf_counter() - t1
            split = notebook_timings(executed, wall)
            timings.update(split or {"notebook": run_time})
            timings["notebook_total"] = run_time
            t_protect = time.perf_counter()
            protection = early.result()  # started when the content was complete, beside the last cells
        except BaseException:
            early.forget()  # never leave a thread writing into a folder about to be removed
            raise
        timings["protect_wait"] = time.perf_counter() - t_protect
        timings["protect"] = early.seconds
        t2 = time.perf_counter()
        render_pdf(tmp, publication)
        timings["pdf"] = time.perf_counter() - t2
        t3 = time.perf_counter()
        render_html(tmp, publication)
        timings["html"] = time.perf_counter() - t3
        write_output_check(work, tmp, protection)
        timings["total"] = time.perf_counter() - t0
        manifest = {
            "schema": MANIFEST_SCHEMA,
            "inputs_key": inputs_key,
            "parameters": report_parameters(dataset_dir, as_of=as_of, area=area, language=language, min_cell=min_cell),
            "publication": (publication or Publication()).as_dict(),
            "package_version": __version__,
            "data_fingerprint": prepared.fingerprint,
            "synthetic": bool(prepared.synthetic),
            "input_files": dict(prepared.manifest.get("input_files", {})),
            **({"register_input_files": dict(register_files)} if register_dir is not None else {}),
            # the executed notebook holds unprotected numbers: it stays in the restricted folder
            "notebooks": {REPORT_NOTEBOOK: {"template_sha256": sha256_bytes(notebook.read_bytes())}},
            "files": ["report.pdf", "report.html", "content.json", "output_check.json", "output_check.md"],
            "templates": {name: sha256_bytes(data) for name, data in template_files().items()},
            "kernel": kernel,
            "python": platform.python_version(),
            "made": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "timings_seconds": {k: round(v, 3) for k, v in timings.items()},
        }
        alis_io.atomic_write_text(tmp / "manifest.json",
                                  json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True) + "\n")
    if failed_dir.exists():  # a clean run supersedes an old failure
        shutil.rmtree(failed_dir, ignore_errors=True)
    return ReportOutcome(path=final_dir, pdf=final_dir / "report.pdf", html=final_dir / "report.html",
                         results_json=work_final / "results.json", manifest=final_dir / "manifest.json",
                         timings=timings, restricted=work_final, output_check=final_dir / "output_check.json",
                         repairs=repairs)
