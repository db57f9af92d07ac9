"""The report's appendix: provenance (every input's SHA-256, the parameters, the package version)
and the place of the suppression record.

Split from :mod:`.sections` (issue 11, size).
"""
from __future__ import annotations

import pandas as pd

from .. import __version__, config
from .content import Section
from .text import T


def input_files(prepared, *, dataset=None, comparison=None) -> dict[str, str]:
    """Every input of a report, file name -> SHA-256: the dataset's files, ``supervision.csv``
    (when the dataset has one) and a GP-register extract's files (``register/<name>``)."""
    from ..data import io as alis_io
    from ..analysis.pathway import SUPERVISION

    files = dict(prepared.manifest.get("input_files", {}))
    if dataset is not None:
        folder = config.dataset_dir(dataset)
        supervision = alis_io.find_table(folder, SUPERVISION)
        if supervision is not None:
            files[supervision.name] = alis_io.sha256_file(supervision)
    register = getattr(comparison, "register", None)
    if register is not None:
        files.update({f"register/{name}": sha for name, sha in register.input_files.items()})
    return dict(sorted(files.items()))


def appendix_section(prepared, *, dataset, area: str, language: str = "nb", min_cell: int = config.DEFAULT_MIN_CELL,
                     suppression: list | None = None, comparison=None) -> Section:
    """Provenance (every input's SHA-256, parameters, version) and the list of suppression applied.

    ``comparison`` (from :func:`~alis_research.report.load_comparison`) adds the register
    extract's files; ``supervision.csv`` is found in ``dataset``.
    """
    from pathlib import Path

    section = Section("appendix", T("appendix", language))
    section.heading(T("provenance", language))
    rows = list(input_files(prepared, dataset=dataset, comparison=comparison).items())
    section.table("inputs", pd.DataFrame(rows, columns=[T("col_file", language), T("col_sha", language)]),
                  T("cap_inputs", language))
    params = [
        (T("col_dataset", language), Path(str(dataset)).name),
        (T("as_of", language), f"{prepared.as_of:%Y-%m-%d}"),
        (T("area", language), T("all_areas", language) if area == "all" else area),
        (T("col_language", language), language),
        (T("min_cell", language), str(min_cell)),
        (T("fingerprint", language), prepared.fingerprint),
        (T("package_version", language), __version__),
    ]
    section.table("parameters", pd.DataFrame(params, columns=[T("col_parameter", language), T("col_value", language)]),
                  T("cap_parameters", language))
    section.heading(T("suppression_applied", language))
    # filled in by the protection step (report/protection.py) from the whole report's ledger
    section.blocks.append({"type": "withheld_record"})
    return section
