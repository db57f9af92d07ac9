"""A report's inputs key: everything the report depends on, hashed without running anything.

Light on purpose (standard library only, no pandas, no Jupyter): ``regenerate``
computes the key of every report of its matrix on each run, and a run with
nothing to do must stay well under a second.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from .. import __version__, config
from ..errors import AlisError

REPORT_NOTEBOOK = "evaluation_report.ipynb"
#: Notebooks whose contents are part of a report's inputs key.
KEY_NOTEBOOKS = (REPORT_NOTEBOOK,)
#: The installed package's folder: its code, templates, message catalogues and reference tables.
PACKAGE_DIR = Path(__file__).resolve().parent.parent
_SKIPPED_SUFFIXES = (".pyc", ".pyo")
_CHUNK = 1 << 20

# (root, ((relative name, size, mtime_ns), ...)) -> digest: re-hashed only when a file changed
_code_digest_cache: dict[tuple, str] = {}


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_of_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def report_name(dataset, area: str, language: str) -> str:
    """Folder name of a report: ``<dataset>_<area>_<language>``."""
    return f"{Path(str(dataset)).resolve().name}_{area}_{language}"


def notebook_path(name: str = REPORT_NOTEBOOK) -> Path:
    path = config.NOTEBOOKS / name
    if not path.exists():
        raise AlisError(f"notebook {path} not found; it ships with the project in notebooks/")
    return path


def dataset_files(dataset_dir: Path) -> dict[str, str]:
    """SHA-256 of every (non-hidden) file in the dataset folder, by relative name."""
    files = {}
    for path in sorted(Path(dataset_dir).rglob("*")):
        relative = path.relative_to(dataset_dir)
        if path.is_file() and not any(part.startswith(".") for part in relative.parts):
            files[relative.as_posix()] = sha256_of_file(path)
    return files


def report_parameters(dataset_dir: Path, *, as_of, area, language, min_cell) -> dict:
    return {"dataset": Path(dataset_dir).resolve().name, "as_of": str(as_of), "area": area,
            "language": language, "min_cell": int(min_cell)}


def package_files(root: Path | None = None) -> list[Path]:
    """Every file of the package that can change a report: ``*.py``, templates, catalogues, reference tables.

    Compiled files (``__pycache__``, ``*.pyc``) and hidden files are left out:
    they follow from the sources or do not matter.
    """
    root = Path(root or PACKAGE_DIR)
    found = []
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = sorted(d for d in subfolders if d != "__pycache__" and not d.startswith("."))
        found.extend(Path(folder) / name for name in sorted(files)
                     if not name.startswith(".") and not name.endswith(_SKIPPED_SUFFIXES))
    return found


def package_code_digest(root: Path | None = None) -> str:
    """SHA-256 over the contents of every file :func:`package_files` lists, by relative name.

    A fix to an analysis, to disclosure control or to the report's text changes
    it without a version bump. Cached per process, keyed by each file's size and
    modification time, so ten reports of a matrix hash the package once.
    """
    root = Path(root or PACKAGE_DIR)
    files = package_files(root)
    signature = []
    for path in files:
        status = path.stat()
        signature.append((path.relative_to(root).as_posix(), status.st_size, status.st_mtime_ns))
    cache_key = (str(root), tuple(signature))
    cached = _code_digest_cache.get(cache_key)
    if cached is not None:
        return cached
    digest = hashlib.sha256()
    for (relative, _, _), path in zip(signature, files):
        digest.update(f"{relative}\0{sha256_of_file(path)}\n".encode("utf-8"))
    _code_digest_cache.clear()  # one entry per root is all a process needs
    _code_digest_cache[cache_key] = digest.hexdigest()
    return _code_digest_cache[cache_key]


def report_inputs_key(dataset, *, as_of, area: str = "all", language: str = "nb",
                      min_cell: int = config.DEFAULT_MIN_CELL, register=None, publication=None) -> str:
    """SHA-256 over everything a report depends on, computed without running anything.

    Covers the dataset folder's files (the data fingerprint), the parameters,
    the package version, the contents of the package's code, templates,
    message catalogues and reference tables (:func:`package_code_digest`) and
    the report notebook's contents. Equal keys mean the report would come out
    the same, so ``regenerate`` can skip it. A register extract inside the
    dataset folder (``register/``) is part of the dataset's files; one given
    elsewhere (``register``, ``--register``) is added under ``register``. The
    publication metadata (:class:`~alis_research.report.publication.Publication`:
    institution, authors, status, version…) is part of the key: a new version is
    a new report.
    """
    from .publication import Publication  # light: dataclasses only

    dataset_dir = config.dataset_dir(dataset)
    if not Path(dataset_dir).is_dir():
        raise AlisError(f"dataset folder {dataset_dir} does not exist")
    outside = register is not None and not Path(register).resolve().is_relative_to(Path(dataset_dir).resolve())
    document = {
        "data": dataset_files(Path(dataset_dir)),
        "parameters": report_parameters(Path(dataset_dir), as_of=as_of, area=area, language=language,
                                        min_cell=min_cell),
        "package_version": __version__,
        "package_code": package_code_digest(),
        "notebooks": {name: sha256_bytes(notebook_path(name).read_bytes()) for name in KEY_NOTEBOOKS},
        **({"register": dataset_files(Path(register))} if outside else {}),
        **({"publication": publication.as_dict()} if publication is not None and publication != Publication() else {}),
    }
    return sha256_bytes(json.dumps(document, sort_keys=True, ensure_ascii=False).encode("utf-8"))
