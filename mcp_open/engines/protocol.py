"""The engine seam: what the tasks need from any inference engine, local (llama.cpp) or remote (OpenAI API)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

if TYPE_CHECKING:
    import numpy as np

FinishReason = Literal["stop", "length"]
ProgressFn = Callable[[int, int], None]
StopFn = Callable[[], bool]


class Cancelled(Exception):
    """The caller asked the engine to stop."""


def never() -> bool:
    """A should_stop for callers that never stop a call."""
    return False


@dataclass(frozen=True)
class Turn:
    """One chat turn as the engine's template sees it."""

    role: str
    content: str


@dataclass(frozen=True)
class Prompt:
    """What to continue: chat turns (rendered by the engine's template) or raw text (base models)."""

    turns: tuple[Turn, ...] = ()
    text: str | None = None
    thinking: bool = False
    # Assistant text already written (a closed thought); the engine continues after it. Needs can_prefill.
    prefill: str = ""

    @classmethod
    def chat(cls, turns: Sequence[Turn], *, thinking: bool = False, prefill: str = "") -> Prompt:
        """Chat turns for the engine's template."""
        return cls(turns=tuple(turns), thinking=thinking, prefill=prefill)

    @classmethod
    def raw(cls, text: str) -> Prompt:
        """Plain text a base model continues."""
        return cls(text=text)


@dataclass(frozen=True)
class Sampling:
    """Sampler settings for one completion."""

    temperature: float = 0.7
    top_p: float = 0.8
    top_k: int = 20
    min_p: float = 0.0
    repeat_penalty: float = 1.0
    seed: int | None = None


@dataclass(frozen=True)
class Constraint:
    """Decode only text that matches: a JSON Schema (checked as enforceable), fixed choices or a Lark grammar."""

    json_schema: dict[str, Any] | None = None
    choices: tuple[str, ...] | None = None
    lark: str | None = None  # an llguidance Lark grammar (engines with EngineInfo.grammars only)


@dataclass(frozen=True)
class Hooks:
    """How an engine reports progress and learns that the call was cancelled (called from a worker thread)."""

    on_prompt: ProgressFn | None = None
    on_token: ProgressFn | None = None
    should_stop: StopFn = never


@dataclass
class Completion:
    """What one completion produced."""

    text: str
    completion_tokens: int
    prompt_tokens: int
    cached_tokens: int
    finish_reason: FinishReason
    prompt_seconds: float
    decode_seconds: float
    matched_stop: str | None = None
    decode_steps: int = 0  # tokens sampled after the first one: what decode_seconds paid for
    reasoning: str | None = None  # engines that separate reasoning themselves (remote servers) put it here
    token_ids: list[int] = field(default_factory=list)
    drafted_tokens: int = 0  # prompt-lookup draft tokens verified (speculative decoding)
    accepted_tokens: int = 0  # of those, the ones the sampler picked too


@dataclass
class Embedded:
    """Pooled vectors (one row per text, not normalised) and what they cost."""

    vectors: np.ndarray
    prompt_tokens: int
    truncated: list[int]


@dataclass(frozen=True)
class EngineInfo:
    """What the tasks may rely on about an engine."""

    name: str  # what results call the model
    kind: Literal["llama.cpp", "openai", "scripted"]
    n_ctx: int  # context window in tokens
    chat: bool  # renders chat turns itself; False: a base model that continues raw text only
    thinking_switch: bool  # honours Prompt.thinking (Qwen3's enable_thinking)
    can_prefill: bool  # honours Prompt.prefill
    architecture: str | None = None
    embedding: bool = False
    constraints: bool = True  # can decode under a Constraint
    grammars: bool = True  # can decode under a Constraint's Lark grammar (a remote server cannot)
    exact_counts: bool = True  # count_tokens is the engine's own tokenizer, not an estimate


@runtime_checkable
class Engine(Protocol):
    """One loaded model behind any backend; not thread-safe unless the engine says so (callers serialise)."""

    @property
    def info(self) -> EngineInfo:
        """Static facts about the engine."""
        ...

    def count_tokens(self, text: str) -> int:
        """Tokens of plain text (no special tokens)."""
        ...

    def prompt_tokens(self, prompt: Prompt) -> int:
        """Tokens the prompt will take once rendered."""
        ...

    def complete(
        self,
        prompt: Prompt,
        *,
        max_tokens: int,
        sampling: Sampling,
        stop: Sequence[str] = (),
        constraint: Constraint | None = None,
        hooks: Hooks | None = None,
    ) -> Completion:
        """Decode up to max_tokens (fewer if the context is fuller); raises Cancelled, ContextOverflowError."""
        ...

    def embed(self, texts: Sequence[str], *, truncate: bool, hooks: Hooks | None = None) -> Embedded:
        """Pooled vectors for texts, in as few batches as fit; too long is an error unless truncate."""
        ...

    def stats(self) -> dict[str, int]:
        """Counters for the info resource (tokens generated, prompt tokens evaluated, batches)."""
        ...

    def close(self) -> None:
        """Free what the engine holds."""
        ...


@runtime_checkable
class Supervised(Protocol):
    """An engine living in a process of its own, which can end (crash, be killed) while the server goes on."""

    @property
    def alive(self) -> bool:
        """False once the engine's process has ended: the slot then drops it and the next call loads afresh."""
        ...


def find_stop(text: str, stop: Sequence[str], seen: int) -> tuple[int, str] | None:
    """Earliest stop string in text that ends after text[:seen]: (where it starts, which one)."""
    best: tuple[int, str] | None = None
    for s in stop:
        if not s:
            continue
        i = text.find(s, max(0, seen - len(s) + 1))
        if i >= 0 and (best is None or i < best[0]):
            best = (i, s)
    return best


def room_for(prompt_tokens: int, max_tokens: int, n_ctx: int) -> int:
    """The one room-in-context rule: the completion budget that fits, or ContextOverflowError."""
    from mcp_open.errors import ContextOverflowError, InvalidRequestError

    if prompt_tokens == 0:
        raise InvalidRequestError("the prompt is empty; pass some text in 'prompt' or 'messages'")
    room = n_ctx - prompt_tokens
    if room < 1:
        raise ContextOverflowError(prompt_tokens, n_ctx)
    return min(max_tokens, room)
