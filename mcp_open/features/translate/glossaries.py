"""Glossaries: source term -> target term, given inline, as a CSV/TSV table, or stored by name; found and checked."""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from mcp_open.errors import InvalidRequestError
from mcp_open.features.translate.grammar import Required, term

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
MAX_ENTRIES = 5000
MAX_TERM_CHARS = 200
# A source term still matches with a short ending (server -> servers, update -> updated): English-style plurals
# and tenses. The target term is required as written; letters may follow it (Server -> Servern), see the docs.
SOURCE_ENDING = r"\w{0,3}"


@dataclass(frozen=True)
class Hit:
    """A glossary entry found in a source text (its own source term, the span matched) and its target term."""

    source: str
    target: str
    start: int
    end: int

    def required(self) -> Required:
        """The target term as a piece decoding must produce."""
        return Required(self.start, self.end, term(self.target))


@dataclass
class Glossary:
    """One-directional term pairs, optionally for one language pair."""

    entries: dict[str, str]
    name: str | None = None
    source_lang: str | None = None
    target_lang: str | None = None
    _pattern: re.Pattern[str] | None = field(default=None, repr=False)

    def hits(self, text: str) -> list[Hit]:
        """The entries whose source term occurs in text (longest first, no overlaps), in text order."""
        if not self.entries:
            return []
        if self._pattern is None:
            terms = sorted(self.entries, key=len, reverse=True)
            alternatives = "|".join(re.escape(t) for t in terms)
            self._pattern = re.compile(rf"(?<!\w)({alternatives}){SOURCE_ENDING}(?!\w)", re.IGNORECASE)
        lowered = {k.lower(): (k, v) for k, v in self.entries.items()}
        found = []
        for match in self._pattern.finditer(text):
            source, target = lowered[match.group(1).lower()]
            found.append(Hit(source, target, match.start(), match.end()))
        return found


def applied(hit: Hit, output: str) -> bool:
    """Whether the translation contains the hit's target term (first letter in either case, endings allowed)."""
    return re.search(term(hit.target), output) is not None


def parse_table(text: str, shown: str) -> dict[str, str]:
    """Entries from CSV or TSV (source, target[, source_lang, target_lang]); the delimiter is told from the text."""
    delimiter = "\t" if "\t" in text.split("\n", 1)[0] else ","
    entries: dict[str, str] = {}
    for number, row in enumerate(csv.reader(io.StringIO(text), delimiter=delimiter), start=1):
        if not row or not "".join(row).strip() or row[0].lstrip().startswith("#"):
            continue
        if len(row) < 2 or not row[0].strip() or not row[1].strip():
            raise InvalidRequestError(
                f"{shown}, row {number}: expected 'source term{delimiter}target term'; got {row!r}. "
                "Write one pair per row (CSV or TSV, no header)"
            )
        entries[row[0].strip()] = row[1].strip()
    return checked(entries, shown)


def checked(entries: dict[str, str], shown: str) -> dict[str, str]:
    """Entries within bounds: non-empty terms of reasonable length, not too many."""
    if not entries:
        raise InvalidRequestError(f"{shown} has no entries; give at least one 'source term': 'target term' pair")
    if len(entries) > MAX_ENTRIES:
        raise InvalidRequestError(f"{shown} has {len(entries)} entries; at most {MAX_ENTRIES} are supported")
    for source, target in entries.items():
        if not source.strip() or not target.strip() or max(len(source), len(target)) > MAX_TERM_CHARS:
            raise InvalidRequestError(
                f"{shown}: the entry {source!r} -> {target!r} must have both terms, each at most "
                f"{MAX_TERM_CHARS} characters"
            )
    return {s.strip(): t.strip() for s, t in entries.items()}


class GlossaryStore:
    """Glossaries stored by name as JSON files in the data directory."""

    def __init__(self, data_dir: Path) -> None:
        self.folder = data_dir / "glossaries"

    def path(self, name: str) -> Path:
        """Where a glossary of this name lives; a bad name is an error."""
        if not NAME.match(name):
            raise InvalidRequestError(
                f"'{name}' is not a glossary name; use letters, digits, '.', '_' or '-' (at most 64 characters)"
            )
        return self.folder / f"{name}.json"

    def save(self, glossary: Glossary) -> Path:
        """Store a glossary under its name, replacing one of the same name."""
        path = self.path(glossary.name or "")
        self.folder.mkdir(parents=True, exist_ok=True)
        data = {
            "name": glossary.name,
            "source_lang": glossary.source_lang,
            "target_lang": glossary.target_lang,
            "entries": glossary.entries,
        }
        temp = path.with_suffix(".json.part")
        temp.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
        temp.replace(path)
        return path

    def load(self, name: str) -> Glossary:
        """A stored glossary; an unknown name says how to list or create one."""
        path = self.path(name)
        if not path.is_file():
            known = ", ".join(self.names()) or "none yet"
            raise InvalidRequestError(
                f"no stored glossary named '{name}' (stored: {known}); create one with "
                "'mcp-open glossary create NAME FILE.csv', or pass the entries inline"
            )
        data = json.loads(path.read_text(encoding="utf-8"))
        return Glossary(dict(data["entries"]), data.get("name"), data.get("source_lang"), data.get("target_lang"))

    def names(self) -> list[str]:
        """The stored glossaries' names, sorted."""
        return sorted(p.stem for p in self.folder.glob("*.json")) if self.folder.is_dir() else []

    def remove(self, name: str) -> bool:
        """Delete a stored glossary; False when there was none."""
        path = self.path(name)
        if not path.is_file():
            return False
        path.unlink()
        return True
