"""Every translated piece checked against its source; a failing one retried under a grammar, else kept and reported."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from mcp_open.engines.protocol import Constraint, EngineInfo
from mcp_open.features.translate import grammar, placeholders
from mcp_open.features.translate.glossaries import Glossary, Hit, applied

# One attempt at translating a piece, decoded under the constraint when one is given; returns the cleaned text.
Attempt = Callable[[Constraint | None], str]
MAX_PROBLEMS_SHOWN = 4


@dataclass
class Outcome:
    """A translated piece: its text, the glossary entries it applied, and why its source was kept (if it was)."""

    text: str
    applied: list[str] = field(default_factory=list)  # "source -> target" of each entry applied
    problems: list[str] = field(default_factory=list)


def hits_of(glossary: Glossary | None, text: str) -> list[Hit]:
    """The glossary entries a piece of source text calls for."""
    return glossary.hits(text) if glossary else []


def verdict(source: str, output: str, hits: list[Hit]) -> list[str]:
    """What is wrong with an output: protected pieces lost or added, glossary terms missing."""
    found = placeholders.problems(source, output)
    found += [f"glossary term {h.target!r} (for {h.source!r}) missing" for h in hits if not applied(h, output)]
    return found


def grammars_of(info: EngineInfo) -> bool:
    """Whether the engine can decode under a Lark grammar."""
    return info.constraints and info.grammars


def constraint_for(source: str, hits: list[Hit], *, keep: bool, multiline: bool, end: str) -> Constraint | None:
    """The grammar a piece decodes under: its glossary terms, and with keep its protected pieces too."""
    required = [h.required() for h in hits] + (grammar.kept_pieces(source) if keep else [])
    if not required:
        return None
    return Constraint(lark=grammar.single(source, required, multiline=multiline, end=end, strict=keep))


def translated(
    info: EngineInfo, source: str, hits: list[Hit], attempt: Attempt, *, multiline: bool, end: str = ""
) -> Outcome:
    """Translate a piece with glossary terms enforced; on a failed check retry keeping every protected piece."""
    guided = grammars_of(info)
    first = constraint_for(source, hits, keep=False, multiline=multiline, end=end) if guided else None
    return settle(info, source, hits, attempt, attempt(first), multiline=multiline, end=end)


def settle(
    info: EngineInfo, source: str, hits: list[Hit], attempt: Attempt, output: str, *, multiline: bool, end: str = ""
) -> Outcome:
    """Accept an output that passes the check; else retry once under the full grammar; else keep the source."""
    problems = verdict(source, output, hits)
    if problems and grammars_of(info):
        full = constraint_for(source, hits, keep=True, multiline=multiline, end=end)
        if full is not None:
            output = attempt(full)
            problems = verdict(source, output, hits)
    if problems:
        shown = "; ".join(problems[:MAX_PROBLEMS_SHOWN]) + ("; ..." if len(problems) > MAX_PROBLEMS_SHOWN else "")
        return Outcome(source, [], [f"kept the source text of {_short(source)!r}: {shown}"])
    return Outcome(output, [f"{h.source} -> {h.target}" for h in hits], [])


def translatable(text: str) -> bool:
    """Whether a piece has language in it: a letter outside its protected pieces."""
    rest, last = [], 0
    for span in placeholders.spans(text):
        rest.append(text[last : span.start])
        last = span.end
    rest.append(text[last:])
    return any(c.isalpha() for c in "".join(rest))


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
