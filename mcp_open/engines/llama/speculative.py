"""The token stream: sample, and verify prompt-lookup drafts in the same batch, with the same output as without.

Each round evaluates the tokens not yet in the KV cache (the last sampled token, tokens a grammar forced) together
with a draft of what may follow, then samples position after position from that one batch with the call's one
sampler chain. A draft token is kept while it equals what the sampler picks there; the first pick that differs is
emitted in its place and ends the round. Every emitted token is therefore the sampler's own pick from logits
conditioned on exactly the tokens emitted before it, and the chain (penalty history, random state) advances once
per emitted token: the sequence is the plain loop's, token for token, for the same seed.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Sequence
from typing import Any

from mcp_open.engines.constraints import Guide
from mcp_open.engines.drafting import Drafter
from mcp_open.engines.llama.native import Native
from mcp_open.engines.llama.prefix import Prefix
from mcp_open.engines.protocol import StopFn


class Stream:
    """One completion's tokens; drafted and accepted counts are read after it ends."""

    def __init__(
        self,
        llama: Any,
        native: Native,
        prefix: Prefix,
        prompt_tokens: Sequence[int],
        sampler_args: dict[str, Any],
        *,
        guide: Guide | None = None,
        drafter: Drafter | None = None,
        budget: int,
        should_stop: StopFn,
    ) -> None:
        self._llama = llama
        self._native = native
        self._prefix = prefix
        self._should_stop = should_stop
        self._prompt = prompt_tokens
        self._args = sampler_args
        self._guide = guide
        self._drafter = drafter
        self._budget = budget  # tokens the caller takes at most: drafting past them is wasted work
        self.drafted = 0
        self.accepted = 0

    def tokens(self) -> Generator[int, None, None]:
        """Tokens as sampled (forced tokens and a grammar's closing end token included)."""
        llama, native = self._llama, self._native
        with native.sampler(self._args) as sample:
            pending = list(self._prompt[llama.n_tokens :])  # the last batch the prefill left (at least a token)
            emitted = 0
            while True:
                # No draft with the prompt: its logits would cost the first token (a vocabulary-wide row each).
                draft = self._draft(len(pending), emitted) if emitted else []
                self._evaluate(pending, draft, first=emitted == 0)
                kept_end = llama.n_tokens - len(draft)  # KV positions that stay whatever the draft's fate
                round_tokens: list[int] = []
                for i in range(len(draft) + 1):
                    token = self._pick(sample, len(pending) - 1 + i)
                    forced = self._guide.accept(token) if self._guide is not None else []
                    round_tokens += [token, *forced]
                    yield token
                    yield from forced
                    emitted += 1 + len(forced)
                    if self._guide is not None and self._guide.finished:
                        yield self._guide.end()
                        return
                    if i == len(draft) or token != draft[i] or forced:
                        native.roll_back(kept_end + i)  # draft[i:] never happened
                        self._learn(round_tokens, len(draft), i)
                        pending = [token, *forced]
                        break

    def _evaluate(self, pending: list[int], draft: list[int], *, first: bool) -> None:
        """One batch: the pending tokens and the draft, with logits from the last pending token on."""
        if first and len(pending) > 1:
            # The prompt's last batch: prompt work (the batch thread count), a cancel may stop it midway.
            with self._prefix.guarded(self._should_stop):
                self._native.evaluate([*pending, *draft], len(pending) - 1)
            self._prefix.prompt_tokens_evaluated += len(pending)
            return
        # Single tokens and drafts are decode-sized work: on a busy 2-core machine the batch thread count (all
        # cores) ran small batches 7x slower than single tokens (bench/results/structured-speed-*), and one
        # cached prompt token with a draft took 1.5 s instead of 30 ms to a first token (load average 19).
        with self._native.decode_threads():
            self._native.evaluate([*pending, *draft], len(pending) - 1)

    def _draft(self, pending: int, emitted: int) -> list[int]:
        """Draft tokens to verify after the pending ones (none without a drafter or room)."""
        if self._drafter is None:
            return []
        room = min(self._budget - emitted - 1, self._llama.n_batch - pending, self._room_in_context(pending))
        return self._drafter.draft(room) if room > 0 else []

    def _room_in_context(self, pending: int) -> int:
        return int(self._llama.n_ctx()) - self._llama.n_tokens - pending

    def _pick(self, sample: Callable[[int], int], index: int) -> int:
        """The sampler's token at one batch position, resampled among allowed tokens if the grammar rejects it."""
        token = sample(index)
        guide = self._guide
        if guide is not None and not guide.allows(token):
            guide.restrict(self._native.logits(index))
            token = sample(index)
        return token

    def _learn(self, round_tokens: list[int], drafted: int, kept: int) -> None:
        self.drafted += drafted
        self.accepted += kept
        if self._drafter is not None:
            self._drafter.accepted(round_tokens, drafted, kept)
