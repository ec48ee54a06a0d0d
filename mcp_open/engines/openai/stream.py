"""Reading one streamed completion: answer text, separated reasoning, the end, the server's counts."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from mcp_open.engines.openai import wire
from mcp_open.engines.protocol import Cancelled, Completion, Constraint, Hooks, find_stop
from mcp_open.errors import RemoteEngineError

# A server may overshoot max_tokens by a little (a last multi-token chunk); past this many, it ignores the bound.
TOKEN_MARGIN = 16
# Text per token no tokenizer reaches (long whitespace runs are the longest real tokens).
MAX_CHARS_PER_TOKEN = 256


class StreamReader:
    """Consumes server-sent lines, reporting each token as it arrives and polling for cancellation."""

    def __init__(self, budget: int, hooks: Hooks) -> None:
        self.budget = budget
        self.hooks = hooks
        self.text: list[str] = []
        self.reasoning: list[str] = []
        self.count = 0
        self.chars = 0
        self.finish: str | None = None
        self.stop_reason: str | None = None
        self.usage: dict[str, Any] = {}
        self.started = time.perf_counter()
        self.first: float | None = None
        self.last: float | None = None

    def read(self, lines: Iterator[str]) -> None:
        """Consume the stream; an error event, garbage, an answer past max_tokens (plus a margin), or an end
        without a finish reason, is a RemoteEngineError (the caller then closes the connection)."""
        for line in lines:
            try:
                chunk = wire.parse_sse_line(line)
            except ValueError:
                raise RemoteEngineError(
                    f"the server sent an event that is not JSON after {self.count} tokens ({line[:80]!r}); is it an "
                    "OpenAI-compatible API? Check --backend and the server's log"
                ) from None
            if chunk is None:
                continue
            if "error" in chunk:
                said = wire.error_text(200, line[5:].encode())
                raise RemoteEngineError(f"the server reported an error after {self.count} tokens: {said}")
            self._take(wire.read_chunk(chunk))
            self._check_bounds()
            if self.hooks.should_stop():
                raise Cancelled
        if self.finish is None:
            raise RemoteEngineError(
                f"the server ended the answer after {self.count} tokens without saying why (no finish_reason); "
                "the connection may have dropped. Check the server's log, then try again."
            )

    def _check_bounds(self) -> None:
        """A server that ignores max_tokens (or streams forever) is cut off instead of filling memory."""
        limit = self.budget + max(TOKEN_MARGIN, self.budget // 10)
        chars = self.chars
        if self.count > limit or chars > limit * MAX_CHARS_PER_TOKEN:
            raise RemoteEngineError(
                f"the server kept sending past max_tokens={self.budget} ({self.count} tokens, {chars:,} characters "
                "so far), so the stream was closed; it ignores max_tokens. Check the backend's configuration, or "
                "serve the model from another backend"
            )

    def _take(self, delta: wire.Delta) -> None:
        if delta.text or delta.reasoning:
            now = time.perf_counter()
            self.first = self.first or now
            self.last = now
            self.count += 1
            self.chars += len(delta.text) + len(delta.reasoning)
            self.text.append(delta.text)
            self.reasoning.append(delta.reasoning)
            if self.hooks.on_token:
                self.hooks.on_token(self.count, self.budget)
        self.finish = delta.finish_reason or self.finish
        self.stop_reason = delta.stop_reason or self.stop_reason
        self.usage = delta.usage or self.usage

    def completion(
        self, stop: Sequence[str], constraint: Constraint | None, prompt_tokens: Callable[[], int]
    ) -> Completion:
        """The finished completion; counts are the server's where it sent usage (prompt_tokens() otherwise)."""
        end = time.perf_counter()
        text = wire.choice_text("".join(self.text), constraint)
        hit = find_stop(text, stop, 0)  # a server that ignored a stop string still gets cut
        matched = self.stop_reason if self.stop_reason in stop else (hit[1] if hit else None)
        if hit is not None:
            text = text[: hit[0]]
        details = self.usage.get("prompt_tokens_details") or {}
        reasoning = "".join(self.reasoning)
        return Completion(
            text=text,
            completion_tokens=int(self.usage.get("completion_tokens") or self.count),
            prompt_tokens=int(self.usage.get("prompt_tokens") or prompt_tokens()),
            cached_tokens=int(details.get("cached_tokens") or 0),
            finish_reason="length" if self.finish in wire.LENGTH_REASONS else "stop",
            prompt_seconds=(self.first or end) - self.started,
            decode_seconds=(self.last or end) - (self.first or end),
            matched_stop=matched,
            decode_steps=max(0, self.count - 1),
            reasoning=reasoning if any(self.reasoning) else None,
        )


def pooled(embedding: list[Any]) -> list[float]:
    """A text's vector; a server without pooling (llama.cpp's --pooling none) sends one per token: mean-pool them."""
    if embedding and isinstance(embedding[0], list):
        import numpy as np

        return [float(x) for x in np.asarray(embedding, dtype=np.float64).mean(axis=0)]
    return embedding
