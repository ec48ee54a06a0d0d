"""The decode loop: prefill the prompt, sample tokens until end-of-generation, a stop string or the budget."""

from __future__ import annotations

import codecs
import random
import time
from collections.abc import Generator, Sequence
from typing import Any

from mcp_open.engines.constraints import Guide
from mcp_open.engines.drafting import DraftCounts, Drafter
from mcp_open.engines.llama.native import Native
from mcp_open.engines.llama.prefix import Prefix
from mcp_open.engines.llama.speculative import Stream
from mcp_open.engines.protocol import (
    Cancelled,
    Completion,
    FinishReason,
    Hooks,
    ProgressFn,
    Sampling,
    StopFn,
    find_stop,
)

Decoded = tuple[str, list[int], FinishReason, float | None, str | None]


class Decoder:
    """Completions for one loaded model: prompt evaluation (with prefix reuse), then sampling."""

    def __init__(self, llama: Any, native: Native, prefix: Prefix, draft_tokens: int) -> None:
        self._llama = llama
        self._native = native
        self._prefix = prefix
        # Prompt-lookup drafts per batch, 0 for none; models whose cache cannot forget a rejected draft get none.
        self.draft_tokens = draft_tokens if native.can_roll_back() else 0
        self.tokens_generated = 0
        self.drafts = DraftCounts()  # over the engine's life, for the info resource

    def complete_tokens(
        self,
        prompt_tokens: list[int],
        max_tokens: int,
        sampling: Sampling,
        stop: Sequence[str],
        hooks: Hooks,
        guide: Guide | None = None,
    ) -> Completion:
        """Decode after already tokenized prompt tokens (which must leave room for max_tokens)."""
        start = time.perf_counter()
        cached = self._prefix.prefill(prompt_tokens, hooks.on_prompt, hooks.should_stop)
        prompt_done = time.perf_counter()
        counts = DraftCounts()
        text, ids, reason, first_token_at, matched = self._decode(
            prompt_tokens, max_tokens, sampling, stop, hooks, guide, counts
        )
        end = time.perf_counter()
        ended = guide is not None and guide.ended
        prompt_seconds = (first_token_at or end) - start
        return Completion(
            text=text,
            completion_tokens=len(ids),
            prompt_tokens=len(prompt_tokens),
            cached_tokens=cached,
            finish_reason=reason,
            prompt_seconds=max(prompt_seconds, prompt_done - start),
            decode_seconds=end - (first_token_at or end),
            token_ids=ids,
            matched_stop=matched,
            # An end-of-generation token was sampled too, but is not part of the completion.
            decode_steps=max(0, len(ids) - (0 if reason == "stop" and matched is None and not ended else 1)),
            drafted_tokens=counts.drafted,
            accepted_tokens=counts.accepted,
        )

    def _decode(
        self,
        prompt_tokens: list[int],
        max_tokens: int,
        sampling: Sampling,
        stop: Sequence[str],
        hooks: Hooks,
        guide: Guide | None,
        counts: DraftCounts,
    ) -> Decoded:
        """Sample tokens until end-of-generation, a stop string or max_tokens."""
        llama = self._llama
        llama.set_seed(sampling.seed if sampling.seed is not None else random.randrange(2**31))
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        ids: list[int] = []
        drafter = Drafter(prompt_tokens, max_draft=self.draft_tokens) if self.draft_tokens > 0 else None
        stream = Stream(
            llama,
            self._native,
            self._prefix,
            prompt_tokens,
            sampler_args(sampling),
            guide=guide,
            drafter=drafter,
            budget=max_tokens,
            should_stop=hooks.should_stop,
        )
        tokens = stream.tokens()
        try:
            return self._sample_loop(tokens, max_tokens, stop, hooks.on_token, hooks.should_stop, decoder, ids)
        finally:
            tokens.close()
            self.tokens_generated += len(ids)
            counts.drafted, counts.accepted = stream.drafted, stream.accepted
            self.drafts.add(counts)

    def _sample_loop(
        self,
        stream: Generator[int, None, None],
        max_tokens: int,
        stop: Sequence[str],
        on_token: ProgressFn | None,
        should_stop: StopFn,
        decoder: codecs.IncrementalDecoder,
        ids: list[int],
    ) -> Decoded:
        """Pull tokens until end-of-generation, a stop string, the budget or a stop request."""
        text = ""
        reason: FinishReason = "length"
        matched: str | None = None
        first_token_at: float | None = None
        for token in stream:
            if first_token_at is None:
                first_token_at = time.perf_counter()
            if self._native.is_eog(token):
                reason = "stop"
                break
            ids.append(token)
            seen = len(text)
            text += decoder.decode(self._native.piece(token))
            hit = find_stop(text, stop, seen)
            if hit is not None:
                text, matched, reason = text[: hit[0]], hit[1], "stop"
                break
            if on_token:
                on_token(len(ids), max_tokens)
            if len(ids) >= max_tokens:
                break
            if should_stop():
                raise Cancelled
        return text + decoder.decode(b"", final=True), ids, reason, first_token_at, matched


def sampler_args(sampling: Sampling) -> dict[str, Any]:
    """llama-cpp-python's sampler arguments for our settings."""
    return {
        "top_k": sampling.top_k,
        "top_p": sampling.top_p,
        "min_p": sampling.min_p,
        "temp": sampling.temperature,
        "repeat_penalty": sampling.repeat_penalty,
    }
