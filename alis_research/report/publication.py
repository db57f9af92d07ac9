"""Who publishes a report: institution, authors, commissioner, status and version.

These are report parameters, not analysis inputs: they go on the title page, into the PDF's
document metadata and the HTML ``<meta>`` tags, and into the report's inputs key (a new
version or status rebuilds the report). ``alis-research report`` takes them as options,
``reports/reports.toml`` as a ``[publication]`` table (for every dataset) or a
``publication`` table inside one ``[[datasets]]`` entry (overriding the shared one).

Defaults: no institution, authors or commissioner (the title page says "not stated"),
status ``draft`` and version ``0.1`` — a report is a draft until someone says otherwise.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Mapping

from ..errors import AlisError

STATUSES = ("draft", "final")
FIELDS = ("institution", "authors", "commissioner", "status", "version")
DEFAULT_VERSION = "0.1"


@dataclass(frozen=True)
class Publication:
    """Publication metadata of one report (all plain text; nothing here is data)."""

    institution: str = ""
    authors: tuple[str, ...] = field(default_factory=tuple)
    commissioner: str = ""
    status: str = "draft"
    version: str = DEFAULT_VERSION

    def as_dict(self) -> dict:
        values = asdict(self)
        values["authors"] = list(self.authors)
        return values

    def merged(self, overrides: Mapping[str, Any] | None) -> "Publication":
        """This publication with the fields given in ``overrides`` replaced (checked)."""
        if not overrides:
            return self
        return publication_from_mapping({**self.as_dict(), **dict(overrides)})


def _text(value: Any, key: str, where: str, problems: list[str]) -> str:
    if not isinstance(value, str):
        problems.append(f"{where}{key} = {value!r}: expected text")
        return ""
    value = " ".join(value.split())
    if len(value) > 300:
        problems.append(f"{where}{key}: {len(value)} characters, expected at most 300")
    return value


def publication_from_mapping(values: Mapping[str, Any] | None, *, where: str = "") -> Publication:
    """Check and build a :class:`Publication` from a mapping (a TOML table, CLI options).

    ``authors`` may be a list of names or one text with names separated by ``;``.
    Every problem is reported at once, each naming the key, the value and what was expected.
    """
    values = dict(values or {})
    problems: list[str] = []
    unknown = sorted(set(values) - set(FIELDS))
    if unknown:
        problems.append(f"{where}unknown key(s) {', '.join(unknown)}: expected some of {', '.join(FIELDS)}")
    authors_value = values.get("authors", ())
    if isinstance(authors_value, str):
        authors_value = [a for a in authors_value.split(";")]
    authors: list[str] = []
    if isinstance(authors_value, (list, tuple)):
        for author in authors_value:
            name = _text(author, "authors", where, problems)
            if name:
                authors.append(name)
    else:
        problems.append(f"{where}authors = {authors_value!r}: expected a list of names")
    status = values.get("status", "draft")
    if status not in STATUSES:
        problems.append(f"{where}status = {status!r}: expected one of {', '.join(STATUSES)}")
        status = "draft"
    version = values.get("version", DEFAULT_VERSION)
    if isinstance(version, (int, float)) and not isinstance(version, bool):
        version = str(version)
    version = _text(version, "version", where, problems) or DEFAULT_VERSION
    publication = Publication(
        institution=_text(values.get("institution", ""), "institution", where, problems),
        authors=tuple(authors),
        commissioner=_text(values.get("commissioner", ""), "commissioner", where, problems),
        status=status,
        version=version,
    )
    if problems:
        raise AlisError("publication metadata: " + "; ".join(problems))
    return publication

