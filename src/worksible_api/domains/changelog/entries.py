"""The changelog (API.md §15): one source, docs/CHANGELOG.md, read three ways.

The package carries the file as CHANGELOG.md (a link to docs/CHANGELOG.md in the repository,
a copy in a wheel). Releases are its `## vX.Y.Z (YYYY-MM-DD)` headings; the kinds of change are
the `###` headings under them (Keep a Changelog's: Added, Changed, Deprecated, Removed, Fixed,
Security), each with a list of changes. Every heading gets an id, so the deprecation `Link`
header and notices can point at an entry.
"""

import functools
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Literal, get_args

from markdown_it import MarkdownIt
from markdown_it.token import Token

SOURCE = Path(__file__).resolve().parents[2] / "CHANGELOG.md"
ChangeKind = Literal["added", "changed", "deprecated", "removed", "fixed", "security"]
KINDS: tuple[ChangeKind, ...] = get_args(ChangeKind)
_RELEASE = re.compile(r"^v(\d+\.\d+\.\d+) \((\d{4}-\d{2}-\d{2})\)$")
# Links to the other pages of docs/ resolve on the documentation site.
DOCS_SITE = "https://docs.worksible.com/"


@dataclass(frozen=True)
class Change:
    type: ChangeKind
    text: str  # Markdown, as written


@dataclass(frozen=True)
class Release:
    version: str
    date: date
    changes: tuple[Change, ...]

    @property
    def anchor(self) -> str:
        return f"v{self.version}"


@dataclass(frozen=True)
class Changelog:
    releases: tuple[Release, ...]
    html: str  # the whole file, rendered, headings with ids

    def release_html(self, release: Release) -> str:
        """One release's changes as HTML, grouped by kind: an Atom entry's content."""
        parts = []
        for kind in KINDS:
            changes = [change for change in release.changes if change.type == kind]
            if changes:
                items = "".join(f"<li>{_markdown().renderInline(c.text)}</li>" for c in changes)
                parts.append(f"<h3>{kind.capitalize()}</h3><ul>{items}</ul>")
        return "".join(parts)


@functools.cache
def _markdown() -> MarkdownIt:
    # No raw HTML from the file: it is rendered into our pages and feed.
    return MarkdownIt("commonmark", {"html": False}).enable("table")


def slug(text: str) -> str:
    """A heading's id: `2026-11-01 company alias` -> `2026-11-01-company-alias`."""
    release = _RELEASE.match(text)
    if release:
        return f"v{release.group(1)}"
    words = re.sub(r"[^\w\s-]", "", text.lower()).split()
    return "-".join(words)


def parse(source: str) -> Changelog:
    tokens = _markdown().parse(source)
    lines = source.splitlines()
    releases: list[Release] = []
    current: tuple[str, date, list[Change]] | None = None
    kind: ChangeKind | None = None
    used: set[str] = set()
    for index, token in enumerate(tokens):
        if token.type == "heading_open":
            title = tokens[index + 1].content
            # A kind's heading repeats in every release: its id names the release too.
            within = f"v{current[0]}-" if current and token.tag == "h3" else ""
            token.attrSet("id", _unique(within + slug(title), used))
            if token.tag == "h2":
                if current is not None:
                    releases.append(Release(current[0], current[1], tuple(current[2])))
                found = _RELEASE.match(title)
                current = (
                    (found.group(1), date.fromisoformat(found.group(2)), []) if found else None
                )
                kind = None
            elif token.tag == "h3":
                kind = next((k for k in KINDS if k == title.lower()), None)
        elif token.type == "list_item_open" and token.level == 1 and current and kind:
            current[2].append(Change(kind, _item_text(token, lines)))
        elif token.type == "inline":
            _rewrite_docs_links(token.children or [])
    if current is not None:
        releases.append(Release(current[0], current[1], tuple(current[2])))
    return Changelog(tuple(releases), _markdown().renderer.render(tokens, _markdown().options, {}))


def _unique(anchor: str, used: set[str]) -> str:
    candidate, number = anchor, 1
    while candidate in used:
        number += 1
        candidate = f"{anchor}-{number}"
    used.add(candidate)
    return candidate


def _item_text(item: Token, lines: list[str]) -> str:
    """The list item as written, its lines joined: `- text` and its continuation lines."""
    start, end = item.map or (0, 0)
    text = " ".join(line.strip() for line in lines[start:end])
    return text.removeprefix("- ").removeprefix("* ").strip()


def _rewrite_docs_links(inline: list[Token]) -> None:
    for token in inline:
        href = token.attrGet("href") if token.type == "link_open" else None
        if isinstance(href, str) and href.endswith(".md") and "://" not in href:
            token.attrSet("href", DOCS_SITE + href.removesuffix(".md"))


@functools.cache
def changelog() -> Changelog:
    """The package's changelog, read once per process."""
    return parse(SOURCE.read_text(encoding="utf-8"))
