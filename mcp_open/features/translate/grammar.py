"""Lark grammars (llguidance) that make decoding keep what a translation must contain, and its numbered shape."""

from __future__ import annotations

from dataclasses import dataclass

from mcp_open.features.translate import placeholders

LINE = "[^\\n]"
ANY = "(?:.|\\n)"
# Free text before a required piece, or after the last one, may be this many times its source span (plus slack):
# enough for any language's expansion, and the bound is what forces a required piece the model does not write.
GROWTH = 3
SLACK = 24
PIECE_OPENERS = "{}<>%$`\\&#@"  # characters that open or close a protected piece


@dataclass(frozen=True)
class Required:
    """A piece the translation must contain: where its counterpart sits in the source, and the piece's regex."""

    start: int
    end: int
    pattern: str


def literal(text: str) -> str:
    """A regex matching text exactly (ASCII punctuation hex-escaped: `\\<` would be a word boundary)."""
    return "".join(f"\\x{ord(c):02X}" if c.isascii() and not c.isalnum() and c != " " else c for c in text)


def term(text: str) -> str:
    """A regex for a glossary term: exact, but its first letter in either case (Server, server)."""
    first, rest = text[:1], text[1:]
    if first.lower() != first.upper():
        return f"[{literal(first.upper())}{literal(first.lower())}]{literal(rest)}"
    return literal(text)


def kept_pieces(source: str) -> list[Required]:
    """The source's protected pieces as required pieces (in source order)."""
    return [Required(s.start, s.end, literal(s.text)) for s in placeholders.spans(source)]


def unit(
    name: str, source: str, required: list[Required], *, multiline: bool, strict: bool = False
) -> tuple[str, list[str]]:
    """One translated unit: free text and the required pieces in source order, each gap bounded.

    Returns the rule's body and its terminals. A piece's terminal is "text without the piece, then the piece", so
    the lexer (greedy, no backtracking) ends it right after the piece instead of running past it. With strict (every
    protected piece required), free text may not hold digits or the characters that open a piece, so the model
    cannot invent a number or a stray tag: those come only from the required pieces.
    """
    chars = free_chars(source, multiline=multiline, strict=strict)
    body, terminals, done = [], [], 0
    for k, piece in enumerate(sorted(required, key=lambda r: (r.start, r.end))):
        gap = GROWTH * max(0, piece.start - done) + SLACK
        terminals.append(f"{name}_{k}: (/{chars}{{0,{gap}}}/ & ~/{ANY}*{piece.pattern}{ANY}*/) /{piece.pattern}/")
        body.append(f"{name}_{k}")
        done = max(done, piece.end)
    terminals.append(f"{name}_T: /{chars}{{1,{GROWTH * max(0, len(source) - done) + SLACK}}}/")
    body.append(f"{name}_T?")  # a lexeme is never empty: the tail is optional instead
    return " ".join(body), terminals


def free_chars(source: str, *, multiline: bool, strict: bool) -> str:
    """The character class of free text: no newline in a line; strict: no digits, no piece-opening characters."""
    if not strict:
        return ANY if multiline else LINE
    free, last = [], 0
    for span in placeholders.spans(source):
        free.append(source[last : span.start])
        last = span.end
    free.append(source[last:])
    plain = "".join(free)
    banned = [c for c in PIECE_OPENERS if c not in plain]
    return "[^" + ("" if multiline else "\\n") + "0-9" + "".join(literal(c) for c in banned) + "]"


def single(source: str, required: list[Required], *, multiline: bool, end: str = "", strict: bool = False) -> str:
    """The whole grammar for one unit (end: a literal that closes it, e.g. the newline a base model stops at)."""
    body, terminals = unit("U", source, required, multiline=multiline, strict=strict)
    closing = f" {_quoted(end)}" if end else ""
    return f"start: {body}{closing}\n" + "\n".join(terminals) + "\n"


def numbered(units: list[tuple[str, list[Required]]], *, lead: str, end: str = "") -> str:
    """A numbered list, one line per unit ("1. ...", "2. ..."), each line held to its unit's grammar."""
    body, terminals = [_quoted(lead)] if lead else [], []
    for number, (source, required) in enumerate(units, start=1):
        if number > 1:
            body.append(_quoted(f"\n{number}. "))
        part, found = unit(f"U{number}", source, required, multiline=False)
        body.append(part)
        terminals.extend(found)
    if end:
        body.append(_quoted(end))
    return "start: " + " ".join(body) + "\n" + "\n".join(terminals) + "\n"


def interleaved(units: list[tuple[str, list[Required]]], separators: list[str], *, end: str) -> str:
    """Translations one per line with the grammar writing each next source line between them (base models).

    separators[k] is the text before unit k+1 ("\nEnglish: <source>\nFrench:"); llguidance forces it, so one
    call gives a few-shot model each source right before its translation, as it was prompted.
    """
    body, terminals = [], []
    for number, (source, required) in enumerate(units, start=1):
        if number > 1:
            body.append(_quoted(separators[number - 2]))
        part, found = unit(f"U{number}", source, required, multiline=False)
        body.append(part)
        terminals.extend(found)
    body.append(_quoted(end))
    return "start: " + " ".join(body) + "\n" + "\n".join(terminals) + "\n"


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
