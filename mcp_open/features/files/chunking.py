"""Cut a document into passages of a bounded token count, along headings, definitions and paragraphs."""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

CHUNK_TOKENS = 256
OVERLAP_TOKENS = 32

# How good a place the start of a line is to begin a new passage.
NONE, PARAGRAPH, NESTED, SECTION, PAGE = range(5)

MARKDOWN_SUFFIXES = (".md", ".markdown", ".mdx", ".rst")
HEADING = re.compile(r"^(#{1,6})\s+(.*)")
TOP_DEFINITION = re.compile(
    r"^(async\s+def|def|class|function|func|fn|pub(\(\w+\))?\s|impl|interface|struct|enum|trait|type|"
    r"export|public|private|protected|static|module|package|object|sub|proc|CREATE)\b"
)
NESTED_DEFINITION = re.compile(r"^\s+(async\s+def|def|class|function|func|fn|pub\s|public|private|protected)\b")
DECORATOR = re.compile(r"^\s*@\w")


@dataclass(frozen=True)
class Chunk:
    """One passage: its text, 1-based line range, PDF page (else None) and the heading it sits under."""

    text: str
    start_line: int
    end_line: int
    page: int | None
    heading: str


@dataclass
class _Line:
    text: str
    number: int
    tokens: int
    boundary: int
    page: int | None


def chunk_text(
    text: str,
    count: Callable[[str], int],
    *,
    markdown: bool = False,
    pages: Sequence[int] | None = None,
    max_tokens: int = CHUNK_TOKENS,
    overlap: int = OVERLAP_TOKENS,
) -> list[Chunk]:
    """Passages of at most about max_tokens, cut at the best boundary, overlapping only where cut mid-section."""
    lines = _lines(text, count, markdown, pages, max_tokens)
    spans = _spans(lines, max_tokens, overlap)
    headings = _headings(lines) if markdown else [""] * len(lines)
    chunks = [_chunk(lines[a:b], headings[a]) for a, b in spans]
    return [c for c in chunks if c is not None]


def _lines(
    text: str, count: Callable[[str], int], markdown: bool, pages: Sequence[int] | None, max_tokens: int
) -> list[_Line]:
    """Lines with token counts and boundary strengths; over-long lines split into pieces."""
    out: list[_Line] = []
    offset, previous_blank = 0, True
    raw = text.splitlines(keepends=True)
    strengths = _boundaries(raw, markdown)
    page_of = _page_finder(pages)
    last_page = None
    for number, (line, strength) in enumerate(zip(raw, strengths, strict=True), start=1):
        page = page_of(offset)
        boundary = PAGE if page != last_page and number > 1 else max(strength, PARAGRAPH if previous_blank else NONE)
        for i, piece in enumerate(_pieces(line, count, max_tokens)):
            out.append(_Line(piece, number, count(piece), boundary if i == 0 else NONE, page))
        offset += len(line)
        previous_blank, last_page = not line.strip(), page
    return out


def _boundaries(raw: list[str], markdown: bool) -> list[int]:
    """Boundary strength per line; a definition's decorators start with it."""
    strengths = [_strength(line, markdown) for line in raw]
    for i in range(len(raw) - 1, 0, -1):
        if strengths[i] >= NESTED and DECORATOR.match(raw[i - 1]):
            strengths[i - 1], strengths[i] = strengths[i], NONE
    return strengths


def _strength(line: str, markdown: bool) -> int:
    if markdown:
        heading = HEADING.match(line)
        if heading:
            return SECTION if len(heading.group(1)) <= 3 else NESTED
        return NONE
    if TOP_DEFINITION.match(line):
        return SECTION
    return NESTED if NESTED_DEFINITION.match(line) else NONE


def _page_finder(pages: Sequence[int] | None) -> Callable[[int], int | None]:
    """Offset in the text -> 1-based page number (None for documents without pages)."""
    if not pages:
        return lambda _offset: None
    starts = list(pages)
    return lambda offset: max(1, bisect.bisect_right(starts, offset))


def _pieces(line: str, count: Callable[[str], int], max_tokens: int) -> list[str]:
    """A line longer than half a passage, split at spaces into pieces that fit."""
    tokens = count(line)
    if tokens <= max_tokens // 2:
        return [line]
    parts = max(2, -(-tokens * 2 // max_tokens))
    size = -(-len(line) // parts)
    pieces, start = [], 0
    while start < len(line):
        end = min(len(line), start + size)
        space = line.rfind(" ", start + size // 2, end) if end < len(line) else -1
        end = space + 1 if space > start else end
        pieces.append(line[start:end])
        start = end
    return pieces


def _spans(lines: list[_Line], max_tokens: int, overlap: int) -> list[tuple[int, int]]:
    """Greedy packing into [start, end) spans of lines."""
    spans: list[tuple[int, int]] = []
    start, used, i = 0, 0, 0
    while i < len(lines):
        line = lines[i]
        early = line.boundary == PAGE or (line.boundary >= SECTION and used >= max_tokens // 3)
        if i > start and (early or used + line.tokens > max_tokens):
            cut = i if early else _best_cut(lines, start, i, max_tokens)
            spans.append((start, cut))
            start = cut if lines[cut].boundary >= SECTION else _overlap_start(lines, start, cut, overlap)
            used = sum(x.tokens for x in lines[start:i])
            continue
        used += line.tokens
        i += 1
    if start < len(lines):
        spans.append((start, len(lines)))
    return spans


def _best_cut(lines: list[_Line], start: int, end: int, max_tokens: int) -> int:
    """The strongest boundary in the second half of the span (latest on ties), else end."""
    best, best_strength, filled = end, lines[end].boundary, 0
    for j in range(start + 1, end):
        filled += lines[j - 1].tokens
        if filled >= max_tokens // 2 and lines[j].boundary > best_strength:
            best, best_strength = j, lines[j].boundary
    return best


def _overlap_start(lines: list[_Line], start: int, cut: int, overlap: int) -> int:
    """Where the next span starts so that it repeats at most `overlap` tokens of whole lines, never crossing a page."""
    begin, carried = cut, 0
    while begin - 1 > start and carried + lines[begin - 1].tokens <= overlap and lines[begin].boundary != PAGE:
        begin -= 1
        carried += lines[begin].tokens
    return begin


def _headings(lines: list[_Line]) -> list[str]:
    """The Markdown heading trail in force at each line."""
    trail: list[str] = []
    out = []
    for line in lines:
        match = HEADING.match(line.text) if line.boundary >= NESTED else None
        if match:
            level = len(match.group(1))
            trail = [*trail[: level - 1], match.group(2).strip()]
        out.append(" > ".join(t for t in trail if t))
    return out


def _chunk(lines: list[_Line], heading: str) -> Chunk | None:
    """A passage from lines, its range trimmed of blank lines; None when only blank."""
    filled = [x for x in lines if x.text.strip()]
    if not filled:
        return None
    text = "".join(x.text for x in lines).strip("\n")
    return Chunk(text, filled[0].number, filled[-1].number, filled[0].page, heading)
