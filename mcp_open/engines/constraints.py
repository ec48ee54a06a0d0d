"""Constrained decoding with llguidance: a Constraint compiled to a token matcher that a sampling loop consults.

Engine-neutral: the engine hands over its vocabulary as token bytes and samples; this module says which tokens
may come next. Decoding samples first and masks only when the grammar rejects the sampled token (the result is
the same distribution as masking every step: an accepted token keeps its probability, a rejection resamples from
the allowed rest), and tokens the grammar forces are handed back so the engine can evaluate them in one batch.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mcp_open.engines.protocol import Constraint
from mcp_open.errors import InvalidRequestError

if TYPE_CHECKING:
    import llguidance
    import numpy as np

# Compact but natural JSON: what models have seen most, so the sampled token is rarely rejected.
JSON_OPTIONS = {"whitespace_flexible": False, "item_separator": ", ", "key_separator": ": "}
# llguidance's marker for control tokens, so that grammar text can never spell them.
SPECIAL_PREFIX = b"\xff"
# A run of digits stops growing here when the grammar allows anything else: small models can loop on a number
# ("119.6000000...") until max_tokens, which is valid JSON grammar-wise but never completes the answer.
MAX_DIGIT_RUN = 24


@dataclass(frozen=True)
class Vocabulary:
    """An engine's tokens as llguidance needs them."""

    pieces: Sequence[bytes]  # the bytes of every token id, in order
    special: frozenset[int]  # control tokens (never part of a constrained answer)
    end_tokens: Sequence[int]  # end-of-generation tokens; the first one ends a finished answer
    tokenize: Callable[[bytes], list[int]]  # plain text to tokens (no special tokens added)


class _Tokenizer:
    """The shape llguidance.TokenizerWrapper reads."""

    def __init__(self, vocab: Vocabulary) -> None:
        self.eos_token_id = vocab.end_tokens[0]
        self.bos_token_id = None
        self.tokens = [SPECIAL_PREFIX + p if i in vocab.special else p for i, p in enumerate(vocab.pieces)]
        self.special_token_ids = sorted(vocab.special)
        self._tokenize = vocab.tokenize
        self._special = vocab.special
        self._pieces = vocab.pieces

    def __call__(self, text: bytes) -> list[int]:
        tokens = self._tokenize(text)
        if not self._special.intersection(tokens):
            return tokens
        # Some vocabularies hold text as control tokens (Gemma's "<b>", "<h1>"), which the tokenizer picks even for
        # plain text; the grammar never allows a control token, so such text is spelled with ordinary tokens.
        spelled: list[int] = []
        for token in tokens:
            if token in self._special:
                piece = self._pieces[token]
                spelled += [t for k in range(len(piece)) for t in self._tokenize(piece[k : k + 1])]
            else:
                spelled.append(token)
        return spelled


class Guides:
    """Compiles constraints for one vocabulary (the tokenizer is built once: about a second on 262k tokens)."""

    def __init__(self, vocab: Vocabulary) -> None:
        import llguidance

        self._llg = llguidance
        self.end_tokens = list(vocab.end_tokens)
        self.n_vocab = len(vocab.pieces)
        wrapper = llguidance.TokenizerWrapper(_Tokenizer(vocab))
        self.tokenizer = llguidance.LLTokenizer(wrapper, n_vocab=self.n_vocab, eos_token=self.end_tokens)
        self.digits = [len(p) if p.isdigit() else 0 for p in vocab.pieces]  # digit characters of digit-only tokens
        self.special = vocab.special - set(self.end_tokens)

    def compile(self, constraint: Constraint) -> Guide:
        """A fresh matcher for one completion; a grammar llguidance cannot build is a clear error."""
        grammar = grammar_of(constraint)
        matcher = self._llg.LLMatcher(self.tokenizer, grammar, log_level=0)
        if matcher.is_error():
            raise InvalidRequestError(
                f"the constraint cannot be enforced: {first_line(matcher.get_error())}. Simplify the schema (see the "
                "supported subset in the README); nothing was generated"
            )
        return Guide(matcher, self.n_vocab, self.end_tokens[0], self.digits, self.special)


def first_line(error: str, limit: int = 200) -> str:
    """The gist of an llguidance error, without the parser state it may dump after it."""
    line = (error.strip().splitlines() or [""])[0]
    return line if len(line) <= limit else line[: limit - 1] + "…"


def grammar_of(constraint: Constraint) -> str:
    """The llguidance grammar of a constraint: a JSON Schema, exactly one of fixed strings, or a Lark grammar."""
    import llguidance

    if constraint.lark is not None:
        return llguidance.LLMatcher.grammar_from_lark(constraint.lark)
    if constraint.json_schema is not None:
        try:
            return llguidance.LLMatcher.grammar_from_json_schema(constraint.json_schema, overrides=JSON_OPTIONS)  # type: ignore[arg-type]
        except (ValueError, TypeError, RuntimeError) as exc:
            raise InvalidRequestError(
                f"the constraint cannot be enforced: {first_line(str(exc))}. Simplify the schema (see the supported "
                "subset in the README); nothing was generated"
            ) from None
    if constraint.choices:
        alternatives = " | ".join(json.dumps(choice) for choice in constraint.choices)
        return llguidance.LLMatcher.grammar_from_lark(f"start: {alternatives}\n")
    raise InvalidRequestError("a constraint needs json_schema or a non-empty list of choices")


class Guide:
    """The grammar's state during one completion."""

    def __init__(
        self,
        matcher: llguidance.LLMatcher,
        n_vocab: int,
        end_token: int,
        digits: list[int],
        special: frozenset[int] = frozenset(),
    ) -> None:
        self._matcher = matcher
        self._special = special
        self._n_vocab = n_vocab
        self._digits = digits
        self._digit_run = 0
        self.end_token = end_token
        self.rejections = 0
        self.forced = 0
        self.ended = False  # the grammar closed the answer: its end token was never sampled

    def allows(self, token: int) -> bool:
        """Whether the grammar accepts this token next (cheap: no mask is built) and it does not prolong a loop."""
        if self._digit_run >= MAX_DIGIT_RUN and self._digits[token]:
            return False
        if token in self._special:  # validate_tokens can pass a control token where the grammar forces bytes
            return False
        return bool(self._matcher.validate_tokens([token]) == 1)

    def restrict(self, logits: np.ndarray) -> None:
        """Set every token the grammar forbids next to -inf, in place (logits of the whole vocabulary)."""
        import numpy as np

        self.rejections += 1
        mask = np.frombuffer(self._matcher.compute_bitmask(), dtype=np.uint8)
        allowed = np.unpackbits(mask, bitorder="little")[: self._n_vocab].astype(bool)
        if self._digit_run >= MAX_DIGIT_RUN:
            other = allowed & (np.asarray(self._digits[: len(allowed)]) == 0)
            allowed = other if other.any() else allowed  # a pattern that demands more digits still gets them
        logits[: len(allowed)][~allowed] = -np.inf
        if self._special:
            logits[np.fromiter(self._special, dtype=np.int64)] = -np.inf

    def accept(self, token: int) -> list[int]:
        """Advance past a token; returns the tokens the grammar now forces (already accepted)."""
        if not self._matcher.consume_token(token):
            raise InvalidRequestError(f"constrained decoding went wrong: {first_line(self._matcher.get_error())}")
        self._count_digits([token])
        if self._matcher.is_stopped():
            return []
        forced = list(self._matcher.compute_ff_tokens())
        if forced and not self._matcher.consume_tokens(forced):
            raise InvalidRequestError(f"constrained decoding went wrong: {first_line(self._matcher.get_error())}")
        self._count_digits(forced)
        self.forced += len(forced)
        return forced

    def _count_digits(self, tokens: list[int]) -> None:
        for token in tokens:
            self._digit_run = self._digit_run + self._digits[token] if self._digits[token] else 0

    def end(self) -> int:
        """The end-of-generation token that closes a finished answer (not sampled, so no decode step)."""
        self.ended = True
        return self.end_token

    @property
    def finished(self) -> bool:
        """True once nothing but the end of the answer can follow."""
        return bool(self._matcher.is_stopped())
