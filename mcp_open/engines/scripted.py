"""A deterministic engine for tests: it replays scripted token streams through the real protocol."""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from mcp_open.engines.protocol import (
    Cancelled,
    Completion,
    Constraint,
    Embedded,
    EngineInfo,
    FinishReason,
    Hooks,
    Prompt,
    Sampling,
    find_stop,
    room_for,
)

# A reply is a list of token texts, or a function of the rendered prompt that returns one.
Reply = list[str] | Callable[[str], list[str]]
# A token that makes the engine busy until the call is cancelled or timed out: a decoder that never finishes.
HOLD = "<hold>"
HOLD_POLL_SECONDS = 0.005
HOLD_LIMIT_SECONDS = 20.0  # a test whose cancel never arrives fails instead of hanging


@dataclass
class ScriptedCall:
    """What one complete() call was asked, for assertions."""

    rendered: str
    prompt: Prompt
    max_tokens: int
    stop: tuple[str, ...]
    sampling: Sampling
    constraint: Constraint | None


@dataclass
class ScriptedEngine:
    """Replays replies in order (the last one repeats), one token text per step, honouring stops and budgets.

    Prompts render as ChatML so tests can read what the model would see; every whitespace-separated word counts
    as one token. A chat engine ends a reply at "<|im_end|>" the way a model's end-of-generation token would.
    """

    replies: list[Reply] = field(default_factory=lambda: [["ok"]])
    name: str = "scripted"
    n_ctx: int = 4096
    chat: bool = True
    thinking_switch: bool = True
    can_prefill: bool = True
    embedding: bool = False
    architecture: str | None = "qwen3"
    width: int = 256
    calls: list[ScriptedCall] = field(default_factory=list)
    embedded: list[list[str]] = field(default_factory=list)
    closed: bool = False
    tokens_generated: int = 0
    stopped_by_caller: int = 0  # holds that ended because should_stop said so
    hold_limit: float = HOLD_LIMIT_SECONDS  # a HOLD that nobody stops fails after this long
    holding: threading.Event = field(default_factory=threading.Event)  # set while a HOLD token waits
    released: threading.Event = field(default_factory=threading.Event)  # never set: only paces the wait

    @property
    def info(self) -> EngineInfo:
        """Static facts, as configured."""
        return EngineInfo(
            name=self.name,
            kind="scripted",
            n_ctx=self.n_ctx,
            chat=self.chat,
            thinking_switch=self.thinking_switch,
            can_prefill=self.can_prefill,
            architecture=self.architecture,
            embedding=self.embedding,
        )

    def count_tokens(self, text: str) -> int:
        """One token per whitespace-separated word."""
        return len(text.split())

    def render(self, prompt: Prompt) -> str:
        """ChatML for chat prompts (with Qwen3's empty think block when thinking is off), raw text otherwise."""
        if prompt.text is not None:
            return prompt.text
        body = "".join(f"<|im_start|>{t.role}\n{t.content}<|im_end|>\n" for t in prompt.turns)
        body += "<|im_start|>assistant\n"
        if self.thinking_switch and not prompt.thinking:
            body += "<think>\n\n</think>\n\n"
        return body + prompt.prefill

    def prompt_tokens(self, prompt: Prompt) -> int:
        """Words of the rendered prompt."""
        return self.count_tokens(self.render(prompt))

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
        """Emit the next scripted reply token by token."""
        hooks = hooks or Hooks()
        rendered = self.render(prompt)
        budget = room_for(self.count_tokens(rendered), max_tokens, self.n_ctx)
        self.calls.append(ScriptedCall(rendered, prompt, max_tokens, tuple(stop), sampling, constraint))
        reply = self.replies[min(len(self.calls) - 1, len(self.replies) - 1)]
        tokens = reply(rendered) if callable(reply) else reply
        if hooks.on_prompt:
            hooks.on_prompt(self.count_tokens(rendered), self.count_tokens(rendered))
        text, count, reason, matched = self._emit(tokens, budget, stop, hooks)
        self.tokens_generated += count
        return Completion(
            text=text,
            completion_tokens=count,
            prompt_tokens=self.count_tokens(rendered),
            cached_tokens=0,
            finish_reason=reason,
            prompt_seconds=0.0,
            decode_seconds=0.0,
            matched_stop=matched,
            decode_steps=max(0, count - 1),
        )

    def _emit(
        self, tokens: list[str], budget: int, stop: Sequence[str], hooks: Hooks
    ) -> tuple[str, int, FinishReason, str | None]:
        """The decode loop: end of turn, stop strings, the budget and cancellation, like a real engine."""
        text, count = "", 0
        for token in tokens:
            if token == HOLD:
                self._hold(hooks)
            if self.chat and token == "<|im_end|>":
                return text, count, "stop", None
            count += 1
            seen = len(text)
            text += token
            hit = find_stop(text, stop, seen)
            if hit is not None:
                return text[: hit[0]], count, "stop", hit[1]
            if hooks.on_token:
                hooks.on_token(count, budget)
            if count >= budget:
                return text, count, "length", None
            if hooks.should_stop():
                raise Cancelled
        return text, count, "stop", None

    def _hold(self, hooks: Hooks) -> None:
        """Stay busy until the caller asks to stop, like a decoder with an endless budget."""
        self.holding.set()
        deadline = time.monotonic() + self.hold_limit
        try:
            while not hooks.should_stop():
                if time.monotonic() > deadline:
                    raise RuntimeError(f"held {self.hold_limit:g} s and nobody asked the engine to stop")
                self.released.wait(HOLD_POLL_SECONDS)
        finally:
            self.holding.clear()
        self.stopped_by_caller += 1
        raise Cancelled

    def embed(self, texts: Sequence[str], *, truncate: bool, hooks: Hooks | None = None) -> Embedded:
        """Bag-of-words vectors: texts sharing words point the same way."""
        import numpy as np

        hooks = hooks or Hooks()
        self.embedded.append(list(texts))
        vectors = np.zeros((len(texts), self.width), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.lower().split():
                digest = hashlib.sha256(word.strip(".,;:!?").encode()).digest()
                vectors[row, digest[0] % self.width] += 1.0 + digest[1] / 255
            if hooks.on_token:
                hooks.on_token(row + 1, len(texts))
            if hooks.should_stop():
                raise Cancelled
        vectors[:, 0] += 1e-3  # no all-zero rows
        tokens = sum(max(1, self.count_tokens(t)) for t in texts)
        return Embedded(vectors, tokens, [])

    def stats(self) -> dict[str, int]:
        """Counters (the info resource shows them, so a test over stdio can read them too)."""
        return {
            "tokens_generated": self.tokens_generated,
            "calls": len(self.calls),
            "stopped_by_caller": self.stopped_by_caller,
        }

    def close(self) -> None:
        """Nothing to free."""
        self.closed = True


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    """Cosine similarity of two vectors (for tests that read embeddings back)."""
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    return dot / (math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b)) or 1.0)
