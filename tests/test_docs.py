"""Every relative link in README.md and docs/*.md points to a file or folder that exists."""
from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

_FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.MULTILINE | re.DOTALL)
_CODE_SPAN = re.compile(r"(`+)(?!`).*?(?<!`)\1(?!`)", re.DOTALL)
_INLINE_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]*)>?(?:\s+[\"'(][^)]*)?\)")
_REFERENCE_DEFINITION = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$", re.MULTILINE)
_EXTERNAL = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*:|//)")  # http:, https:, mailto:, //host


def relative_links(text: str) -> list[str]:
    """Link targets in markdown ``text`` that are relative paths (code blocks and spans ignored)."""
    text = _CODE_SPAN.sub("", _FENCE.sub("", text))
    targets = _INLINE_LINK.findall(text) + _REFERENCE_DEFINITION.findall(text)
    return [t for t in targets if t and not t.startswith("#") and not _EXTERNAL.match(t)]


def missing_targets(document: Path) -> list[str]:
    missing = []
    for target in relative_links(document.read_text(encoding="utf-8")):
        path = unquote(target.split("#", 1)[0].split("?", 1)[0])
        resolved = (ROOT / path.lstrip("/")) if path.startswith("/") else (document.parent / path)
        if not resolved.exists():
            missing.append(target)
    return missing


def test_the_documents_are_there():
    assert (ROOT / "README.md").is_file()
    assert len(DOCUMENTS) > 1


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(document):
    missing = missing_targets(document)
    assert not missing, f"{document.relative_to(ROOT)}: links to missing files: {', '.join(missing)}"


def test_the_link_finder_sees_links_and_skips_code():
    text = "[a](docs/x.md) [b](https://e.org) [c](#top) `[d](no.md)`\n```\n[e](no.md)\n```\n[f]: y.md#part\n"
    assert relative_links(text) == ["docs/x.md", "y.md#part"]
