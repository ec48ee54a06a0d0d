"""Prompt-lookup drafting: guess the next tokens from where the text so far already occurred in the context.

Engine-neutral and pure Python. The context is the prompt (files included) plus the output so far; the draft is
what followed the latest earlier occurrence of the last few tokens. A decode loop verifies a draft in one batch
and keeps the tokens its sampler would have picked anyway, so drafting changes speed, never output. The policy
here only decides how much to draft: longer while drafts are accepted, nothing for a while when they are not, so
free writing (where guesses rarely hold) pays almost nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

MAX_NGRAM = 4  # the longest suffix looked up: longer matches first, they are the better evidence
MIN_NGRAM = 2  # one-token matches are mostly noise in prose
FIRST_DRAFT = 4  # draft length at the start and after a pause
LOW_RATE = 0.3  # below this recent acceptance, drafting pauses
RATE_WEIGHT = 0.35  # weight of the latest round in the recent acceptance rate
PAUSES = (16, 32, 64, 128)  # tokens without drafts after each consecutive low stretch


@dataclass
class DraftCounts:
    """Draft tokens proposed and accepted, over a call or an engine's life."""

    drafted: int = 0
    accepted: int = 0

    def add(self, other: DraftCounts) -> None:
        """Add another count to this one."""
        self.drafted += other.drafted
        self.accepted += other.accepted

    @property
    def rate(self) -> float:
        """Accepted share of drafted tokens (0 when nothing was drafted)."""
        return self.accepted / self.drafted if self.drafted else 0.0


class NgramIndex:
    """Where each short token sequence last occurred, with what followed it."""

    def __init__(self, tokens: Iterable[int] = (), *, max_ngram: int = MAX_NGRAM, min_ngram: int = MIN_NGRAM) -> None:
        if not 1 <= min_ngram <= max_ngram:
            raise ValueError("need 1 <= min_ngram <= max_ngram")
        self._sizes = range(max_ngram, min_ngram - 1, -1)
        # n-gram -> index of the token after its latest occurrence; an n-gram enters once that token is known,
        # so the suffix being looked up never finds itself.
        self._next: dict[int, dict[tuple[int, ...], int]] = {n: {} for n in self._sizes}
        self.tokens: list[int] = []
        self._follow: int | None = None  # where the last draft came from, advanced while the text keeps agreeing
        self.extend(tokens)

    def extend(self, tokens: Iterable[int]) -> None:
        """Append tokens (prompt, then output as it is accepted)."""
        history = self.tokens
        for token in tokens:
            follow = self._follow
            agrees = follow is not None and follow < len(history) and history[follow] == token
            self._follow = follow + 1 if agrees and follow is not None else None
            history.append(token)
            end = len(history) - 1  # the index of the token just learned: it follows the n-grams ending before it
            for n in self._sizes:
                if end >= n:
                    self._next[n][tuple(history[end - n : end])] = end

    def propose(self, limit: int) -> list[int]:
        """Up to limit tokens that may come next, or none when the recent tokens occurred nowhere before."""
        if limit <= 0:
            return []
        start = self._follow if self._follow is not None else self._lookup()
        if start is None:
            return []
        self._follow = start
        return self.tokens[start : start + limit]

    def _lookup(self) -> int | None:
        """Index after the latest earlier occurrence of the longest suffix found."""
        history = self.tokens
        for n in self._sizes:
            if len(history) > n:
                found = self._next[n].get(tuple(history[-n:]))
                if found is not None:
                    return found
        return None


class Drafter:
    """One call's drafting: proposes from the index, learns from what was accepted, pauses when guesses fail."""

    def __init__(self, context: Sequence[int], *, max_draft: int) -> None:
        self.index = NgramIndex(context)
        self.max_draft = max_draft
        self.counts = DraftCounts()
        self._length = min(FIRST_DRAFT, max_draft)
        self._rate = 1.0  # recent acceptance; starts trusting
        self._pause = 0  # tokens left before drafting again
        self._lows = 0  # consecutive pauses, for the next pause's length

    def draft(self, room: int) -> list[int]:
        """Tokens to verify after the next one (at most room); none while paused or when nothing matches."""
        if self._pause > 0 or self.max_draft <= 0:
            return []
        return self.index.propose(min(self._length, room))

    def accepted(self, tokens: Sequence[int], drafted: int, kept: int) -> None:
        """Learn the tokens emitted since the last call; of drafted draft tokens, kept were accepted."""
        self.index.extend(tokens)
        self._pause = max(0, self._pause - len(tokens))
        if drafted == 0:
            return
        self.counts.drafted += drafted
        self.counts.accepted += kept
        self._length = min(self.max_draft, self._length * 2) if kept == drafted else max(2, kept + 1)
        self._rate += RATE_WEIGHT * (kept / drafted - self._rate)
        if self._rate < LOW_RATE:
            self._pause = PAUSES[min(self._lows, len(PAUSES) - 1)]
            self._lows += 1
            self._rate = 1.0
            self._length = min(FIRST_DRAFT, self.max_draft)
        elif kept == drafted:
            self._lows = 0

    @property
    def paused(self) -> bool:
        """Whether drafting is paused for low acceptance."""
        return self._pause > 0
