"""Build one published report: validate, run the notebook once, render PDF and HTML, publish atomically.

The sequence (see ``docs/reports.md``):

1. validate and prepare the dataset in this process, so a user error raises
   :class:`~alis_research.errors.AlisError` before any kernel starts;
2. execute ``notebooks/evaluation_report.ipynb`` with papermill **once**
   (one kernel start per report), parameters injected through the Python API
   (strings stay strings), ``cwd`` set, kernel named explicitly, start
   timeout with one retry; the notebook writes ``content.json``, figures,
   tables and ``results.json`` through :mod:`alis_research.report`;
3. protect the whole report (:mod:`.publish`: ledger, suppression, attacker
   audit) and write only protected content into the published folder;
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

import hashlib
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from .. import __version__, config
from .. import io as alis_io
from ..errors import AlisError
from .render import render_html, render_pdf, template_files
from .sections import check_area
from .text import check_language

REPORT_NOTEBOOK = "evaluation_report.ipynb"
#: Notebooks whose contents are part of a report's inputs key.
KEY_NOTEBOOKS = (REPORT_NOTEBOOK,)
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

    def __str__(self) -> str:
        steps = ", ".join(f"{k} {v:.1f} s" for k, v in self.timings.items())
        return f"report in {self.path} ({steps})"


# --------------------------------------------------------------------------- names and keys
def report_name(dataset, area: str, language: str) -> str:
    """Folder name of a report: ``<dataset>_<area>_<language>``."""
    return f"{Path(str(dataset)).resolve().name}_{area}_{language}"


def notebook_path(name: str = REPORT_NOTEBOOK) -> Path:
    path = config.NOTEBOOKS / name
    if not path.exists():
        raise AlisError(f"notebook {path} not found; it ships with the project in notebooks/")
    return path


def _sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _dataset_files(dataset_dir: Path) -> dict[str, str]:
    """SHA-256 of every (non-hidden) file in the dataset folder, by relative name."""
    files = {}
    for path in sorted(dataset_dir.rglob("*")):
        relative = path.relative_to(dataset_dir)
        if path.is_file() and not any(part.startswith(".") for part in relative.parts):
            files[relative.as_posix()] = alis_io.sha256_file(path)
    return files


def _parameters(dataset_dir: Path, *, as_of, area, language, min_cell) -> dict:
    return {"dataset": dataset_dir.resolve().name, "as_of": str(as_of), "area": area,
            "language": language, "min_cell": int(min_cell)}


def report_inputs_key(dataset, *, as_of, area: str = "all", language: str = "nb",
                      min_cell: int = config.DEFAULT_MIN_CELL, register=None) -> str:
    """SHA-256 over everything a report depends on, computed without running anything.

    Covers the dataset folder's files (the data fingerprint), the parameters,
    the package version, the report notebook's contents and the PDF
    template's contents. Equal keys mean the report would come out the same,
    so ``regenerate`` can skip it. A register extract inside the dataset folder
    (``register/``) is part of the dataset's files; one given elsewhere
    (``register``, ``--register``) is added under ``register``.
    """
    dataset_dir = config.dataset_dir(dataset)
    if not Path(dataset_dir).is_dir():
        raise AlisError(f"dataset folder {dataset_dir} does not exist")
    outside = register is not None and not Path(register).resolve().is_relative_to(Path(dataset_dir).resolve())
    document = {
        "data": _dataset_files(Path(dataset_dir)),
        "parameters": _parameters(Path(dataset_dir), as_of=as_of, area=area, language=language, min_cell=min_cell),
        "package_version": __version__,
        "notebooks": {name: _sha256_bytes(notebook_path(name).read_bytes()) for name in KEY_NOTEBOOKS},
        "templates": {name: _sha256_bytes(data) for name, data in template_files().items()},
        **({"register": _dataset_files(Path(register))} if outside else {}),
    }
    return _sha256_bytes(json.dumps(document, sort_keys=True, ensure_ascii=False).encode("utf-8"))


# --------------------------------------------------------------------------- kernel
def _private_jupyter_dir() -> Path:
    tag = _sha256_bytes(sys.executable.encode("utf-8"))[:12]
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


def execute_notebook(notebook: Path, output: Path, parameters: dict, *, kernel_name: str, cwd: Path,
                     failed_dir: Path | None = None) -> None:
    """Run one notebook with papermill; raise :class:`ReportFailed` on a failing cell.

    A kernel that fails to start is retried once. On a failing cell the
    executed notebook is copied to ``failed_dir`` (if given) before raising.
    """
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    output.parent.mkdir(parents=True, exist_ok=True)
    for attempt in (1, 2):
        try:
            pm.execute_notebook(
                str(notebook), str(output), parameters=parameters, kernel_name=kernel_name, cwd=str(cwd),
                language="python", progress_bar=False, start_timeout=KERNEL_START_TIMEOUT, log_output=False,
                # ipykernel 7 warns on every start that local TCP is unencrypted: noise for our users
                extra_arguments=["--IPKernelApp.log_level=ERROR"],
            )
            return
        except PapermillExecutionError as exc:
            kept = None
            if failed_dir is not None and output.exists():
                with alis_io.atomic_output_dir(failed_dir) as tmp:
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
            if attempt == 2 or type(exc).__name__ not in _RETRYABLE:
                raise AlisError(f"could not run {notebook.name} with kernel {kernel_name!r}: "
                                f"{type(exc).__name__}: {exc}") from exc
            time.sleep(1.0)


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
    root = Path(restricted_dir) if restricted_dir else (config.RESTRICTED if not out_dir else out.parent / "restricted")
    if root.resolve().is_relative_to(out.resolve()):
        raise AlisError(f"the restricted folder {root} must not lie inside the published reports folder {out}")
    return root


def build_report(dataset, *, as_of, area: str = "all", language: str = "nb", min_cell: int = config.DEFAULT_MIN_CELL,
                 out_dir=None, kernel_name: str | None = None, register=None, restricted_dir=None) -> ReportOutcome:
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
    restricted_dir : path, optional
        Root of the restricted working folders (default :func:`restricted_root`).

    Returns
    -------
    ReportOutcome

    Raises
    ------
    AlisError
        Bad parameters or data (before any kernel starts).
    ReportFailed
        A notebook cell failed; the previous report is left intact.
    DisclosureAuditFailed
        The attacker audit found a count it can narrow to 1 … min_cell − 1; nothing is published.
    """
    from ..comparison import find_register
    from ..register import load_register
    from .sections import load_for_report
    from .sections_costs import load_pathway_inputs

    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    check_area(area)
    check_language(language)
    if int(min_cell) < 1:
        raise AlisError(f"--min-cell must be at least 1, got {min_cell}")
    dataset_dir = Path(config.dataset_dir(dataset)).resolve()
    prepared = load_for_report(dataset_dir, as_of=as_of, area=area)
    load_pathway_inputs(dataset_dir, as_of=as_of)  # the optional supervision.csv, checked before any kernel
    register_dir = find_register(dataset_dir, register)  # the optional register extract, checked before any kernel
    register_files = load_register(register_dir).attrs["input_files"] if register_dir is not None else {}
    timings["prepare"] = time.perf_counter() - t0

    inputs_key = report_inputs_key(dataset_dir, as_of=as_of, area=area, language=language, min_cell=min_cell,
                                   register=register_dir)
    kernel = resolve_kernel(kernel_name)
    from .protection import protect_content, write_output_check

    restricted = restricted_root(out_dir, restricted_dir)
    out_dir = Path(out_dir) if out_dir else config.REPORTS
    final_dir = out_dir / report_name(dataset_dir, area, language)
    work_final = restricted / report_name(dataset_dir, area, language)
    failed_dir = work_final.with_name(work_final.name + ".failed")
    notebook = notebook_path()

    with alis_io.atomic_output_dir(final_dir) as tmp, alis_io.atomic_output_dir(work_final) as work:
        executed = work / EXECUTED_DIR / REPORT_NOTEBOOK
        parameters = {"dataset": str(dataset_dir), "as_of": str(as_of), "area": area, "language": language,
                      "min_cell": int(min_cell), "output_dir": str(work),
                      "register": str(register_dir.resolve()) if register_dir is not None else ""}
        wall = time.time()
        t1 = time.perf_counter()
        execute_notebook(notebook, executed, parameters, kernel_name=kernel, cwd=config.PROJECT_ROOT,
                         failed_dir=failed_dir)
        run_time = time.perf_counter() - t1
        split = notebook_timings(executed, wall)
        timings.update(split or {"notebook": run_time})
        timings["notebook_total"] = run_time
        t_protect = time.perf_counter()
        protection = protect_content(work, tmp, min_cell=int(min_cell))
        timings["protect"] = time.perf_counter() - t_protect
        t2 = time.perf_counter()
        render_pdf(tmp)
        timings["pdf"] = time.perf_counter() - t2
        t3 = time.perf_counter()
        render_html(tmp)
        timings["html"] = time.perf_counter() - t3
        write_output_check(work, tmp, protection)
        timings["total"] = time.perf_counter() - t0
        manifest = {
            "schema": MANIFEST_SCHEMA,
            "inputs_key": inputs_key,
            "parameters": _parameters(dataset_dir, as_of=as_of, area=area, language=language, min_cell=min_cell),
            "package_version": __version__,
            "data_fingerprint": prepared.fingerprint,
            "synthetic": bool(prepared.synthetic),
            "input_files": dict(prepared.manifest.get("input_files", {})),
            **({"register_input_files": dict(register_files)} if register_dir is not None else {}),
            # the executed notebook holds unprotected numbers: it stays in the restricted folder
            "notebooks": {REPORT_NOTEBOOK: {"template_sha256": _sha256_bytes(notebook.read_bytes())}},
            "files": ["report.pdf", "report.html", "content.json", "output_check.json", "output_check.md"],
            "templates": {name: _sha256_bytes(data) for name, data in template_files().items()},
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
                         timings=timings, restricted=work_final, output_check=final_dir / "output_check.json")
