"""Short texts (strings, cells, cues) translated many per model call as a numbered list, each line then checked."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from mcp_open.engines.protocol import Constraint, Engine, Prompt, Turn
from mcp_open.features.translate import grammar
from mcp_open.features.translate.checked import Outcome, grammars_of, hits_of, settle, translatable, translated
from mcp_open.features.translate.glossaries import Hit
from mcp_open.features.translate.translation import (
    Job,
    TokenTally,
    _complete,
    clean_output,
    few_shot_prompt,
    system_prompt,
    translate_line_base,
    translate_segment_chat,
    translate_text,
)
from mcp_open.runtime.calls import CallContext

BATCH_UNITS = 40  # lines per call: enough to pay the prompt once for many, few enough to stay on track
BATCH_SOURCE_TOKENS = 600
# Fewer texts than this go one by one: each then sees only its own prompt (a small model drifts with context), and
# the calls saved would be few.
BATCH_MIN = 8
NUMBERED = re.compile(r"^\s*(\d+)[.)]\s?(.*)$")
BATCH_INSTRUCTION = (
    " The user sends numbered lines. Translate each line on its own and answer with the same numbers, one line"
    " each, in the same order, nothing else."
)


@dataclass
class Line:
    """One unit waiting in a batch: its index among the call's units, text and glossary hits."""

    index: int
    text: str
    hits: list[Hit]


@dataclass
class TextCount:
    """Progress of a call in texts (strings, cells, cues): what is done of how many."""

    call: CallContext
    total: int
    done: int = 0

    def add(self, count: int, label: str) -> None:
        """Count finished texts and report them."""
        self.done += count
        self.call.progress.update(self.done, self.total, f"{label}: {self.done}/{self.total} texts")


def translate_units(
    engine: Engine, units: list[str], job: Job, call: CallContext, tally: TokenTally, count: TextCount, label: str
) -> list[Outcome]:
    """Translate every unit; single lines in numbered batches, multi-line ones paragraph by paragraph.

    Progress counts texts, so the tally should be a QuietTally (tokens counted, not reported).
    """
    results: list[Outcome | None] = [None] * len(units)
    waiting: list[Line] = []

    def progress(n: int) -> None:
        count.add(n, label)

    for index, unit in enumerate(units):
        if not translatable(unit):
            results[index] = Outcome(unit)
            progress(1)
        elif "\n" in unit.strip():
            results[index] = translate_text(engine, unit, job, call, tally, label)
            progress(1)
        else:
            waiting.append(Line(index, unit, hits_of(job.glossary, unit)))
    for batch in batches_of(engine, waiting):
        for line, outcome in zip(batch, _batch(engine, batch, job, call, tally), strict=True):
            results[line.index] = outcome
        progress(len(batch))
    return [r if r is not None else Outcome(u) for r, u in zip(results, units, strict=True)]


def batches_of(engine: Engine, lines: list[Line]) -> list[list[Line]]:
    """Lines grouped into calls by count and source tokens; a few, or a base model's without a grammar, go alone."""
    if len(lines) < BATCH_MIN or (not engine.info.chat and not grammars_of(engine.info)):
        return [[line] for line in lines]
    found: list[list[Line]] = []
    current: list[Line] = []
    tokens = 0
    for line in lines:
        size = engine.count_tokens(line.text)
        if current and (len(current) >= BATCH_UNITS or tokens + size > BATCH_SOURCE_TOKENS):
            found.append(current)
            current, tokens = [], 0
        current.append(line)
        tokens += size
    if current:
        found.append(current)
    return found


def _batch(engine: Engine, batch: list[Line], job: Job, call: CallContext, tally: TokenTally) -> list[Outcome]:
    """One call for the batch, then each line checked (a failing line retried alone)."""
    if len(batch) == 1:
        return [_alone(engine, batch[0], job, call, tally, None)]
    texts = [_inline(line.text) for line in batch]
    units = [(t, [h.required() for h in line.hits]) for t, line in zip(texts, batch, strict=True)]
    budget = min(job.cap, sum(2 * engine.count_tokens(t) + 8 for t in texts) + 16)
    if engine.info.chat:
        guided = grammars_of(engine.info)
        constraint = Constraint(lark=grammar.numbered(units, lead="1. ")) if guided else None
        done = _complete(engine, _chat_prompt(texts, job), budget, [], call, tally.hook("batch"), constraint)
        lines = _numbered(done.text)
        outputs = [lines.get(number, "") for number in range(1, len(texts) + 1)]
    else:
        separators = [f"\n{job.source.name}: {t}\n{job.target.name}:" for t in texts[1:]]
        constraint = Constraint(lark=grammar.interleaved(units, separators, end="\n"))
        budget = min(job.cap, budget + sum(engine.count_tokens(s) + 2 for s in separators))
        prompt = Prompt.raw(few_shot_prompt(job.source, job.target, texts[0]))
        done = _complete(engine, prompt, budget, [], call, tally.hook("batch"), constraint)
        outputs = _interleaved(done.text, separators)
    tally.add(done)
    return [
        _alone(engine, line, job, call, tally, clean_output(output, text))
        for line, text, output in zip(batch, texts, outputs, strict=True)
    ]


def _interleaved(text: str, separators: list[str]) -> list[str]:
    """The translations between the forced source lines (a cut-off reply leaves the rest empty)."""
    found, rest = [], text
    for separator in separators:
        at = rest.find(separator)
        if at < 0:
            found.append(rest.split("\n", 1)[0])
            rest = ""
            continue
        found.append(rest[:at])
        rest = rest[at + len(separator) :]
    found.append(rest.split("\n", 1)[0])
    return found


def _alone(engine: Engine, line: Line, job: Job, call: CallContext, tally: TokenTally, output: str | None) -> Outcome:
    """Check a batched line's output; translate it alone when it failed (or was never batched)."""
    source = line.text.strip()
    lead = line.text[: len(line.text) - len(line.text.lstrip())]
    trail = line.text[len(line.text.rstrip()) :]
    system = system_prompt(job.source, job.target, job.context, job.formality, job.instructions)
    end = "" if engine.info.chat else "\n"

    def attempt(constraint: Constraint | None) -> str:
        if engine.info.chat:
            piece = translate_segment_chat(engine, source, system, job.cap, call, tally.hook("line"), constraint)
        else:
            piece = translate_line_base(
                engine, source, job.source, job.target, job.cap, call, tally.hook("line"), constraint
            )
        tally.add(piece.completion)
        return piece.text.strip()

    if output is None:
        done = translated(engine.info, source, line.hits, attempt, multiline=False, end=end)
    else:
        done = settle(engine.info, source, line.hits, attempt, output.strip(), multiline=False, end=end)
    if done.text != line.text:
        done.text = f"{lead}{done.text}{trail}"
    return done


def _chat_prompt(texts: list[str], job: Job) -> Prompt:
    """Numbered lines in, numbered lines out."""
    numbered = "\n".join(f"{n}. {t}" for n, t in enumerate(texts, start=1))
    system = system_prompt(job.source, job.target, job.context, job.formality, job.instructions)
    system += BATCH_INSTRUCTION + _glossary_note(texts, job)
    return Prompt.chat([Turn("system", system), Turn("user", numbered)], thinking=False)


def _glossary_note(texts: list[str], job: Job) -> str:
    """The glossary entries the batch calls for, told to a chat model (decoding enforces them either way)."""
    hits = {h.source.lower(): h for t in texts for h in hits_of(job.glossary, t)}
    if not hits:
        return ""
    return "\nUse these terms: " + "; ".join(f"{h.source} -> {h.target}" for h in hits.values()) + "."


def _inline(text: str) -> str:
    return " ".join(text.split())


def _numbered(text: str) -> dict[int, str]:
    """'N. line' rows of a reply by number (the first of each number wins)."""
    found: dict[int, str] = {}
    for row in text.split("\n"):
        match = NUMBERED.match(row)
        if match:
            found.setdefault(int(match.group(1)), match.group(2))
    return found


class QuietTally(TokenTally):
    """A tally that counts tokens but reports no token progress (the count of texts is the progress)."""

    def __init__(self, call: CallContext) -> None:
        super().__init__(call, 0)

    def hook(self, label: str) -> Callable[[int, int], None]:
        """A token callback that reports nothing."""
        return lambda _done, _budget: None
