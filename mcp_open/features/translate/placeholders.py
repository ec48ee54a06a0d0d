"""What in a text is not language: placeholders, tags, ICU syntax, URLs, code spans, numbers; found and checked."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

# Order matters: earlier alternatives win where two could start at the same place.
SIMPLE = re.compile(
    "|".join(
        (
            r"`[^`\n]+`",  # a code span
            r"(?:https?|ftp)://[^\s<>\"'`)\]]*[^\s<>\"'`)\].,;:!?]",  # a URL, without trailing punctuation
            r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+",  # an e-mail address
            r"<!--.*?-->",  # an XML/HTML comment
            r"<(code|kbd|samp|var)\b[^<>]*>.*?</\1>",  # an HTML code element, whole
            r"</?[A-Za-z][\w:.-]*(?:\s+[^<>]*?)?/?>",  # an XML/HTML tag
            r"&(?:[A-Za-z]+|#\d+|#x[0-9A-Fa-f]+);",  # an entity
            r"\$\{[^{}\n]*\}|\$t\([^()\n]*\)",  # ${var} (JS templates), $t(key) (i18next nesting)
            r"%\([\w.-]+\)[-+0#]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]",  # %(name)s (Python)
            r"%[{<][\w.-]+[}>][a-z]?",  # %{name} (Ruby, Rails)
            r"%(?:\d+\$)?[-+0#]*(?:\d+|\*)?(?:\.\d+)?(?:hh|h|ll|l|L|z|j|t)?[diouxXeEfFgGaAcspn@%]",  # printf
            r"\\u[0-9A-Fa-f]{4}|\\[nrt'\"\\@?]",  # escapes (Android, Java, C)
            r"\d+(?:[.,:]\d+)*",  # a number
        )
    ),
    re.DOTALL,
)
ICU_COMPLEX = re.compile(r"\{\s*([\w.-]+)\s*,\s*(plural|select|selectordinal)\s*,", re.DOTALL)
ICU_BRANCH = re.compile(r"\s*((?:=\d+|[\w-]+)\s*\{)")
ICU_OFFSET = re.compile(r"\s*offset:\d+")
MAX_SIMPLE_BRACE = 80  # a longer {...} is prose in braces, not a placeholder


@dataclass(frozen=True)
class Span:
    """One protected piece: where it is in the text and what it says."""

    start: int
    end: int
    text: str


def spans(text: str) -> list[Span]:
    """Every protected piece of text, left to right, none overlapping."""
    found: list[Span] = []
    _scan(text, 0, len(text), found)
    return found


def protected(text: str) -> list[str]:
    """The protected pieces of text in order (what must come back exactly)."""
    return [s.text for s in spans(text)]


def problems(source: str, output: str) -> list[str]:
    """What the output lost or added of the source's protected pieces; empty when it kept them exactly."""
    want, got = Counter(protected(source)), Counter(protected(output))
    lost = sorted((want - got).elements())
    added = sorted((got - want).elements())
    found = [f"lost {piece!r}" for piece in lost] + [f"added {piece!r}" for piece in added]
    if source.strip() and not output.strip():
        found.append("the translation is empty")
    return found


def _scan(text: str, start: int, end: int, found: list[Span]) -> None:
    """Protected pieces of text[start:end]: braces by their own scanner, the rest by SIMPLE."""
    i = start
    while i < end:
        match = SIMPLE.search(text, i, end)
        brace = text.find("{", i, end)
        if match and (brace < 0 or match.start() < brace):
            found.append(Span(match.start(), match.end(), match.group()))
            i = match.end()
        elif brace >= 0:
            i = _brace(text, brace, end, found)
        else:
            return


def _brace(text: str, at: int, end: int, found: list[Span]) -> int:
    """Handle the brace at `at`; returns where scanning goes on."""
    close = _matching(text, at, end)
    if close < 0:  # an unbalanced brace is text
        found.append(Span(at, at + 1, "{"))
        return at + 1
    complex_ = ICU_COMPLEX.match(text, at, close)
    if complex_:
        _icu(text, complex_.end(), close, found, at)
        return close + 1
    if close - at <= MAX_SIMPLE_BRACE:
        found.append(Span(at, close + 1, text[at : close + 1]))  # {name}, {{count}}, {0}, {n, number}
        return close + 1
    found.append(Span(at, at + 1, "{"))
    return at + 1


def _icu(text: str, body: int, close: int, found: list[Span], at: int) -> None:
    """An ICU plural/select: its syntax protected, its branch texts scanned (they are language)."""
    offset = ICU_OFFSET.match(text, body, close)
    head_end = offset.end() if offset else body
    found.append(Span(at, head_end, re.sub(r"\s+", " ", text[at:head_end])))
    i = head_end
    while True:
        branch = ICU_BRANCH.match(text, i, close)
        if not branch:
            break
        found.append(Span(branch.start(1), branch.end(1), re.sub(r"\s+", " ", branch.group(1))))
        inner_close = _matching(text, branch.end(1) - 1, close)
        if inner_close < 0:
            break
        _branch_text(text, branch.end(1), inner_close, found)
        found.append(Span(inner_close, inner_close + 1, "}"))
        i = inner_close + 1
    found.append(Span(close, close + 1, "}"))


def _branch_text(text: str, start: int, end: int, found: list[Span]) -> None:
    """A plural branch: '#' is the number, the rest is scanned like any text."""
    i = start
    for hash_at in [k for k in range(start, end) if text[k] == "#" and _depth(text, start, k) == 0]:
        _scan(text, i, hash_at, found)
        found.append(Span(hash_at, hash_at + 1, "#"))
        i = hash_at + 1
    _scan(text, i, end, found)


def _depth(text: str, start: int, at: int) -> int:
    return text.count("{", start, at) - text.count("}", start, at)


def _matching(text: str, at: int, end: int) -> int:
    """The index of the brace closing the one at `at`, or -1."""
    depth = 0
    for k in range(at, end):
        if text[k] == "{":
            depth += 1
        elif text[k] == "}":
            depth -= 1
            if depth == 0:
                return k
    return -1
