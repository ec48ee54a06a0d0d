"""Translation on a loaded model: segmenting, prompts for chat and base models, clean output."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from mcp_open.engines.protocol import Completion, Constraint, Engine, Hooks, Prompt, Sampling, Turn
from mcp_open.errors import ContextOverflowError
from mcp_open.features.common.limits import check_bytes, has_content, utf8_size
from mcp_open.features.common.thinking import split_thinking
from mcp_open.features.translate.checked import Outcome, hits_of, translated
from mcp_open.features.translate.glossaries import Glossary
from mcp_open.features.translate.languages import Language
from mcp_open.runtime.calls import CallContext

ProgressHook = Callable[[int, int], None]

# Greedy decoding: translation wants the most likely rendering, not variety.
TRANSLATION_SAMPLING = Sampling(temperature=0.0, top_k=1, top_p=1.0, min_p=0.0, repeat_penalty=1.0, seed=0)
PARAGRAPH_BREAK = re.compile(r"(\n[ \t]*\n\s*)")
MARKDOWN_PREFIX = re.compile(r"^(\s*(?:#{1,6}\s+|[-*+]\s+(?:\[[ xX]\]\s+)?|\d+[.)]\s+|>\s*)*)(.*?)(\s*)$", re.DOTALL)
PREAMBLE = re.compile(r"^(?:here(?:'s| is) (?:the |your )?translation[^:\n]*:|translation:)\s*", re.IGNORECASE)
QUOTE_PAIRS = (('"', '"'), ("“", "”"), ("«", "»"), ("'", "'"), ("„", "“"))

FORMALITY_INSTRUCTIONS = {
    "default": "",
    "more": " Use a formal register (for example formal 'you': vous, Sie, usted).",
    "less": " Use an informal register (for example informal 'you': tu, du, tú).",
    "prefer_more": " Prefer a formal register where the language distinguishes one.",
    "prefer_less": " Prefer an informal register where the language distinguishes one.",
}

# The same two sentences in every language: few-shot pairs for base models in any direction.
EXAMPLES: dict[str, tuple[str, str]] = {
    "ar": ("أين المكتبة؟", "أنا سعيد جدا اليوم."),
    "bg": ("Къде е библиотеката?", "Днес съм много щастлив."),
    "cs": ("Kde je knihovna?", "Dnes jsem velmi šťastný."),
    "da": ("Hvor er biblioteket?", "Jeg er meget glad i dag."),
    "de": ("Wo ist die Bibliothek?", "Ich bin heute sehr glücklich."),
    "el": ("Πού είναι η βιβλιοθήκη;", "Είμαι πολύ χαρούμενος σήμερα."),
    "en": ("Where is the library?", "I am very happy today."),
    "es": ("¿Dónde está la biblioteca?", "Hoy estoy muy feliz."),
    "et": ("Kus on raamatukogu?", "Ma olen täna väga õnnelik."),
    "fi": ("Missä kirjasto on?", "Olen tänään hyvin onnellinen."),
    "fr": ("Où est la bibliothèque ?", "Je suis très heureux aujourd'hui."),
    "he": ("איפה הספרייה?", "אני מאוד שמח היום."),
    "hi": ("पुस्तकालय कहाँ है?", "मैं आज बहुत खुश हूँ।"),
    "hu": ("Hol van a könyvtár?", "Ma nagyon boldog vagyok."),
    "id": ("Di mana perpustakaan?", "Saya sangat senang hari ini."),
    "it": ("Dov'è la biblioteca?", "Oggi sono molto felice."),
    "ja": ("図書館はどこですか？", "今日はとても幸せです。"),
    "ko": ("도서관은 어디에 있습니까?", "저는 오늘 정말 행복합니다."),
    "lt": ("Kur yra biblioteka?", "Šiandien esu labai laimingas."),
    "lv": ("Kur ir bibliotēka?", "Es šodien esmu ļoti laimīgs."),
    "nb": ("Hvor er biblioteket?", "Jeg er veldig glad i dag."),
    "nl": ("Waar is de bibliotheek?", "Ik ben vandaag erg blij."),
    "pl": ("Gdzie jest biblioteka?", "Jestem dziś bardzo szczęśliwy."),
    "pt": ("Onde fica a biblioteca?", "Estou muito feliz hoje."),
    "ro": ("Unde este biblioteca?", "Astăzi sunt foarte fericit."),
    "ru": ("Где находится библиотека?", "Я сегодня очень счастлив."),
    "sk": ("Kde je knižnica?", "Dnes som veľmi šťastný."),
    "sl": ("Kje je knjižnica?", "Danes sem zelo srečen."),
    "sv": ("Var är biblioteket?", "Jag är mycket glad i dag."),
    "th": ("ห้องสมุดอยู่ที่ไหน", "วันนี้ฉันมีความสุขมาก"),
    "tr": ("Kütüphane nerede?", "Bugün çok mutluyum."),
    "uk": ("Де знаходиться бібліотека?", "Я сьогодні дуже щасливий."),
    "vi": ("Thư viện ở đâu?", "Hôm nay tôi rất vui."),
    "zh": ("图书馆在哪里？", "我今天很开心。"),
}


@dataclass(frozen=True)
class Job:
    """What every piece of one translation shares."""

    source: Language
    target: Language
    context: str | None
    formality: str
    cap: int
    glossary: Glossary | None = None
    instructions: tuple[str, ...] = field(default_factory=tuple)  # custom instructions, bounded at the edge


class TokenTally:
    """Completion tokens produced so far across the pieces of one call, reported as progress."""

    def __init__(self, call: CallContext, budget: int) -> None:
        self.call = call
        self.budget = budget
        self.completions: list[Completion] = []
        self.done = 0

    def hook(self, label: str) -> ProgressHook:
        """A per-piece token callback that reports the running total."""
        base = self.done

        def on_token(done: int, _budget: int) -> None:
            total = max(self.budget, base + done)
            self.call.progress.update(base + done, total, f"{label}: {base + done}/{total} tokens")

        return on_token

    def add(self, completion: Completion | None) -> None:
        """Count a finished piece."""
        if completion is not None:
            self.completions.append(completion)
            self.done += completion.completion_tokens


def units_of(engine: Engine, text: str) -> list[str]:
    """The pieces translated one at a time: paragraphs for chat models, lines for base models."""
    paragraphs = [p for p in split_segments(text)[::2] if p.strip()]
    if engine.info.chat:
        return paragraphs
    return [line for p in paragraphs for line in p.split("\n") if line.strip()]


def check_sizes(engine: Engine, texts: list[str]) -> None:
    """Refuse a paragraph too big for the context before any of it is tokenized."""
    for index, text in enumerate(texts):
        for unit in units_of(engine, text):
            advice = "split it with blank lines, or restart the server with a larger --ctx"
            check_bytes(utf8_size(unit), engine.info.n_ctx, f"a paragraph of text[{index}]", advice)


def budget_of(engine: Engine, texts: list[str], cap: int) -> int:
    """The token budget of translating all texts, for progress totals."""
    return sum(budget_for(engine, unit, cap) for text in texts for unit in units_of(engine, text))


def translate_text(engine: Engine, text: str, job: Job, call: CallContext, tally: TokenTally, label: str) -> Outcome:
    """Translate one text paragraph by paragraph (line by line for base models), separators untouched, each checked."""
    system = system_prompt(job.source, job.target, job.context, job.formality, job.instructions)
    pieces = split_segments(text)
    outcome = Outcome(text)
    for i in range(0, len(pieces), 2):
        if not has_content(pieces[i]):
            continue
        if engine.info.chat:
            done = [_chat_piece(engine, pieces[i], system, job, call, tally.hook(label), tally)]
        else:
            done = [_base_piece(engine, line, job, call, tally.hook(label), tally) for line in pieces[i].split("\n")]
        pieces[i] = "\n".join(part.text for part in done)
        for part in done:
            outcome.applied += part.applied
            outcome.problems += part.problems
    outcome.text = "".join(pieces)
    return outcome


def _chat_piece(
    engine: Engine, segment: str, system: str, job: Job, call: CallContext, on_token: ProgressHook, tally: TokenTally
) -> Outcome:
    """One paragraph through the chat template, glossary enforced and protected pieces checked."""

    def attempt(constraint: Constraint | None) -> str:
        done = translate_segment_chat(engine, segment, system, job.cap, call, on_token, constraint)
        tally.add(done.completion)
        return done.text

    return translated(engine.info, segment, hits_of(job.glossary, segment), attempt, multiline=True)


def _base_piece(
    engine: Engine, line: str, job: Job, call: CallContext, on_token: ProgressHook, tally: TokenTally
) -> Outcome:
    """One line through a few-shot prompt, its markdown prefix and spacing kept, glossary and pieces checked."""
    match = MARKDOWN_PREFIX.match(line)
    prefix, content, suffix = match.groups() if match else ("", line, "")
    if not has_content(content):
        return Outcome(line)
    source = content.strip()

    def attempt(constraint: Constraint | None) -> str:
        done = translate_line_base(engine, source, job.source, job.target, job.cap, call, on_token, constraint)
        tally.add(done.completion)
        return done.text.strip()

    done = translated(engine.info, source, hits_of(job.glossary, source), attempt, multiline=False, end="\n")
    done.text = f"{prefix}{done.text}{suffix}"
    return done


@dataclass
class SegmentResult:
    """One translated piece and what it cost."""

    text: str
    completion: Completion | None


def split_segments(text: str) -> list[str]:
    """Alternating [content, separator, content, ...] at blank lines; joining gives the text back."""
    return PARAGRAPH_BREAK.split(text)


def system_prompt(
    source: Language, target: Language, context: str | None, formality: str, instructions: tuple[str, ...] = ()
) -> str:
    """Instructions for a chat model."""
    prompt = (
        f"You are a professional translator. Translate the user's text from {source.name} into {target.name}."
        " Output only the translation: no preamble, no quotes, no notes, no explanations."
        " Keep the line breaks, markdown, code, URLs, numbers and placeholders exactly as they are."
        + FORMALITY_INSTRUCTIONS[formality]
    )
    if instructions:
        prompt += "\nAlso follow these instructions:\n" + "\n".join(f"- {line}" for line in instructions)
    if context:
        prompt += f"\nContext, for understanding only (do not translate it or include it):\n{context}"
    return prompt


def few_shot_prompt(source: Language, target: Language, line: str) -> str:
    """A short few-shot prompt a small base model continues with the translation."""
    src, tgt = EXAMPLES[source.base], EXAMPLES[target.base]
    shots = "".join(f"{source.name}: {s}\n{target.name}: {t}\n" for s, t in zip(src, tgt, strict=True))
    return f"{shots}{source.name}: {line}\n{target.name}:"


def clean_output(raw: str, original: str) -> str:
    """Strip thinking, preambles and quotes the source did not have; keep the source's outer spacing."""
    _, text = split_thinking(raw)
    text = PREAMBLE.sub("", text.strip()).strip()
    stripped = original.strip()
    for left, right in QUOTE_PAIRS:
        quoted = text.startswith(left) and text.endswith(right) and len(text) >= 2
        if quoted and not (stripped.startswith(left) and stripped.endswith(right)):
            text = text[len(left) : len(text) - len(right)].strip()
    lead = original[: len(original) - len(original.lstrip())]
    trail = original[len(original.rstrip()) :]
    return f"{lead}{text}{trail}"


def budget_for(engine: Engine, text: str, cap: int) -> int:
    """Tokens a translation of text may take: generous, since some scripts need more tokens."""
    return min(cap, 2 * engine.count_tokens(text) + 24)


def translate_segment_chat(
    engine: Engine,
    segment: str,
    system: str,
    cap: int,
    call: CallContext,
    on_token: ProgressHook,
    constraint: Constraint | None = None,
) -> SegmentResult:
    """Translate one paragraph with the model's chat template."""
    prompt = Prompt.chat([Turn("system", system), Turn("user", segment)], thinking=False)
    done = _complete(engine, prompt, budget_for(engine, segment, cap), [], call, on_token, constraint)
    return SegmentResult(clean_output(done.text, segment), done)


def translate_line_base(
    engine: Engine,
    line: str,
    source: Language,
    target: Language,
    cap: int,
    call: CallContext,
    on_token: ProgressHook,
    constraint: Constraint | None = None,
) -> SegmentResult:
    """Translate one line (no markdown prefix) with a few-shot prompt."""
    prompt = Prompt.raw(few_shot_prompt(source, target, line))
    done = _complete(engine, prompt, budget_for(engine, line, cap), ["\n"], call, on_token, constraint)
    return SegmentResult(clean_output(done.text, line), done)


def _complete(
    engine: Engine,
    prompt: Prompt,
    budget: int,
    stop: list[str],
    call: CallContext,
    on_token: ProgressHook,
    constraint: Constraint | None = None,
) -> Completion:
    """One greedy completion; a piece too long for the context says to split it."""
    hooks = Hooks(on_token=on_token, should_stop=call.should_stop)
    try:
        return engine.complete(
            prompt, max_tokens=budget, sampling=TRANSLATION_SAMPLING, stop=stop, constraint=constraint, hooks=hooks
        )
    except ContextOverflowError as exc:
        raise exc.with_advice(
            "a paragraph of the text is too long to translate in one piece; split it with a blank line, or "
            "restart the server with a larger --ctx"
        ) from exc
