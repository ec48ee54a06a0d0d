"""Tokenising one loaded model's text and rendering prompts (chat templates, control tokens kept out of user text)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mcp_open.engines.llama.native import Native
from mcp_open.engines.pieces import split_pieces
from mcp_open.engines.protocol import Cancelled, Prompt, StopFn, never
from mcp_open.engines.templates import render_chat, split_markup, supports_thinking_switch, unfound_texts
from mcp_open.errors import InvalidRequestError

# Texts longer than this are tokenized in pieces of about this many characters (see tokenize).
TOKENIZE_PIECE_CHARS = 512


class Tokens:
    """Text to tokens and back for one model, and prompts to tokens through its chat template."""

    def __init__(self, llama: Any, native: Native, n_ctx: int, chat_template: str | None) -> None:
        self._llama = llama
        self._native = native
        self._n_ctx = n_ctx
        self._template = chat_template

    @property
    def bos_text(self) -> str:
        """Text of the BOS token."""
        return self._native.token_text(self._llama.token_bos())

    @property
    def eos_text(self) -> str:
        """Text of the EOS token."""
        return self._native.token_text(self._llama.token_eos())

    def tokenize(
        self,
        text: str,
        *,
        add_special: bool = True,
        parse_special: bool = False,
        should_stop: StopFn = never,
        limit: int | None = None,
    ) -> list[int]:
        """Tokens of text; add_special adds BOS/EOS as the vocabulary asks; parse_special reads control tokens.

        Long texts go in pieces (some llama.cpp tokenizers slow down with the square of the length), so a cancel
        lands between pieces and a text already past limit tokens stops there (the count is then a lower bound).
        """
        if len(text) <= TOKENIZE_PIECE_CHARS:
            return list(self._llama.tokenize(text.encode("utf-8"), add_bos=add_special, special=parse_special))
        body: list[int] = []
        for piece in split_pieces(text, TOKENIZE_PIECE_CHARS):
            if should_stop():
                raise Cancelled
            body += self._llama.tokenize(piece.encode("utf-8"), add_bos=False, special=parse_special)
            if limit is not None and len(body) > limit:
                break
        head, tail = self._special_ends() if add_special else ([], [])
        return head + body + tail

    def _special_ends(self) -> tuple[list[int], list[int]]:
        """The tokens add_special puts before and after a text (BOS, EOS), read off a one-letter text."""
        plain = list(self._llama.tokenize(b"a", add_bos=False, special=False))
        full = list(self._llama.tokenize(b"a", add_bos=True, special=False))
        at = next((i for i in range(len(full)) if full[i : i + len(plain)] == plain), 0)
        return full[:at], full[at + len(plain) :]

    def tokenize_bytes(self, text: bytes) -> list[int]:
        """Tokens of raw bytes, no special tokens (the constraint compiler's tokenizer)."""
        return list(self._llama.tokenize(text, add_bos=False, special=False))

    def detokenize(self, tokens: Sequence[int]) -> str:
        """Text of tokens."""
        return str(self._llama.detokenize(list(tokens)).decode("utf-8", "replace"))

    def render(self, prompt: Prompt, should_stop: StopFn = never) -> list[int]:
        """Prompt tokens: the template's markup may hold control tokens, the caller's text never does.

        Stops counting once past the context (the prompt cannot fit anyway) and honours a cancel meanwhile.
        """
        if prompt.text is not None:
            return self.tokenize(prompt.text, add_special=True, should_stop=should_stop, limit=self._n_ctx)
        template = self._template
        if template is None:
            raise InvalidRequestError("this model has no chat template; send raw text (a base model) instead")
        thinking = prompt.thinking and supports_thinking_switch(template)
        rendered = render_chat(template, prompt.turns, bos=self.bos_text, eos=self.eos_text, enable_thinking=thinking)
        spans = split_markup(rendered, prompt.turns)
        for lost in unfound_texts(spans, prompt.turns):
            # The template rewrote this text, so it sits inside markup: make sure it cannot carry control tokens.
            spans = [(t.replace(lost, _defuse(lost)) if markup else t, markup) for t, markup in spans]
        tokens: list[int] = []
        for text, markup in spans:
            if len(tokens) > self._n_ctx:
                break  # it cannot fit; the count so far is enough to say so
            room = self._n_ctx - len(tokens)
            tokens += self.tokenize(text, add_special=False, parse_special=markup, should_stop=should_stop, limit=room)
        if prompt.prefill:
            tokens += self.tokenize(prompt.prefill, add_special=False, parse_special=True)
        return tokens


def _defuse(text: str) -> str:
    """Text with a zero-width joiner after every '<', so no control token can be spelled in it."""
    return text.replace("<", "<\u200d")
