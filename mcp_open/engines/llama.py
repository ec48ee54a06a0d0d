"""The llama.cpp engine: load a GGUF, render and tokenize prompts, complete (streaming, stoppable), embed.

The only module that imports llama_cpp; written against llama-cpp-python 0.3.36 (pinned exactly).
"""

from __future__ import annotations

import codecs
import ctypes
import logging
import random
import sys
import time
from collections.abc import Generator, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mcp_open.engines.constraints import Guide, Guides, Vocabulary
from mcp_open.engines.pieces import split_pieces
from mcp_open.engines.protocol import (
    Cancelled,
    Completion,
    Constraint,
    Embedded,
    EngineInfo,
    FinishReason,
    Hooks,
    ProgressFn,
    Prompt,
    Sampling,
    StopFn,
    find_stop,
    room_for,
)
from mcp_open.engines.templates import render_chat, split_markup, supports_thinking_switch, unfound_texts
from mcp_open.errors import InvalidRequestError, ModelLoadError

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

POOLING = {"none": 0, "mean": 1, "cls": 2, "last": 3, "rank": 4}
KV_TYPES = {"f16": 1, "q8_0": 8, "q4_0": 2}  # ggml_type values
# While a prompt batch is evaluated, llama.cpp asks the abort callback after each graph node; asking the event
# loop whether the call was cancelled at most this often keeps that cheap and a cancel still lands in ~10 ms.
ABORT_POLL_SECONDS = 0.01
# Texts packed into one embedding batch stop at this many tokens (a longer text still gets a batch of its own):
# every sequence's tokens are masked against the whole batch, so cost grows with its square (3.8x on the
# tiny model at 64 texts, unchanged on Gemma; bench/).
EMBED_PACK_TOKENS = 512
# Texts longer than this are tokenized in pieces of about this many characters (see tokenize).
TOKENIZE_PIECE_CHARS = 512
# generate() evaluates the prompt's tail itself; leaving it this many tokens avoids a lone one-token decode.
PREFILL_TAIL = 32


def _never() -> bool:
    return False


@dataclass(frozen=True)
class EngineConfig:
    """How to load one model."""

    n_ctx: int
    n_gpu_layers: int = 0
    n_threads: int | None = None
    flash_attn: bool = False
    kv_cache_type: str = "f16"
    main_gpu: int = 0
    tensor_split: list[float] | None = None
    embedding: bool = False
    pooling: str | None = None
    verbose: bool = False
    name: str | None = None


def build_features() -> dict[str, object]:
    """What this llama.cpp build can do (GPU offload, backends)."""
    import llama_cpp

    system_info = llama_cpp.llama_print_system_info().decode("utf-8", "replace").strip()
    return {
        "llama_cpp_python": llama_cpp.__version__,
        "gpu_offload": bool(llama_cpp.llama_supports_gpu_offload()),
        "max_devices": int(llama_cpp.llama_max_devices()),
        "system_info": system_info,
    }


def supports_gpu_offload() -> bool:
    """Whether this llama.cpp build can put layers on a GPU."""
    import llama_cpp

    return bool(llama_cpp.llama_supports_gpu_offload())


# ggml's log levels (ggml.h); llama-cpp-python's own table predates DEBUG and shows warnings as errors.
GGML_DEBUG, GGML_INFO, GGML_WARN, GGML_ERROR, GGML_CONT = 1, 2, 3, 4, 5
_native_log = {"threshold": GGML_ERROR, "last": GGML_INFO}
# What llama.cpp logs as errors when the abort callback stops a batch.
ABORT_NOISE = (b"failed to compute graph", b"compute_async failed", b"failed to decode, ret = 2")
_native_callback: object = None


def set_native_logging(verbose: bool) -> None:
    """Send llama.cpp's native logs to stderr (never stdout): errors only, everything from INFO with verbose."""
    global _native_callback
    import llama_cpp

    _native_log["threshold"] = GGML_INFO if verbose else GGML_ERROR
    if _native_callback is not None:
        return

    @llama_cpp.llama_log_callback
    def forward(level: int, text: bytes, _user: ctypes.c_void_p) -> None:
        level = _native_log["last"] if level == GGML_CONT else level
        if any(noise in text for noise in ABORT_NOISE):
            level = GGML_INFO  # our own cancel, not an error
        _native_log["last"] = level
        if level >= _native_log["threshold"]:
            sys.stderr.write(text.decode("utf-8", "replace"))
            sys.stderr.flush()

    _native_callback = forward  # keep the ctypes callback alive
    llama_cpp.llama_log_set(forward, ctypes.c_void_p(0))


class LlamaEngine:
    """One loaded llama.cpp model and context; not thread-safe (callers hold a lock)."""

    def __init__(self, path: str, config: EngineConfig) -> None:
        import llama_cpp

        self._llama_cpp = llama_cpp
        self.path = path
        self.config = config
        set_native_logging(config.verbose)
        kwargs: dict[str, object] = {
            "n_ctx": config.n_ctx,
            "n_gpu_layers": config.n_gpu_layers,
            "n_threads": config.n_threads,
            "flash_attn": config.flash_attn,
            "main_gpu": config.main_gpu,
            "tensor_split": config.tensor_split,
            "embedding": config.embedding,
            "verbose": config.verbose,
            "type_k": KV_TYPES[config.kv_cache_type],
            "type_v": KV_TYPES[config.kv_cache_type],
        }
        if config.embedding:
            # Each text must fit one physical batch for pooled embeddings.
            kwargs.update(n_batch=config.n_ctx, n_ubatch=config.n_ctx)
            if config.pooling:
                kwargs["pooling_type"] = POOLING[config.pooling]
        try:
            self._llama = llama_cpp.Llama(model_path=path, **kwargs)  # type: ignore[arg-type]
        except (ValueError, RuntimeError, OSError) as exc:
            raise ModelLoadError(
                f"llama.cpp could not load {path}: {exc}. Check that it is a complete GGUF file for a model "
                "architecture this llama-cpp-python supports (see `mcp-open models info PATH`)."
            ) from exc
        self._vocab = llama_cpp.llama_model_get_vocab(self._llama.model)
        # Read once: after close() the native context is gone, and describing the engine must still be safe.
        self._n_ctx = min(int(self._llama.n_ctx()), config.n_ctx)
        self._n_embd = int(self._llama.n_embd())
        self._metadata = dict(self._llama.metadata)
        self.tokens_generated = 0
        self._abort_requested = False
        self.prompt_tokens_evaluated = 0
        self.embed_batches = 0
        self.texts_embedded = 0
        self._guides: Guides | None = None

    @property
    def n_ctx(self) -> int:
        """Context window in tokens: what we asked for, since llama-cpp-python sizes its buffers to that."""
        return self._n_ctx

    @property
    def n_embd(self) -> int:
        """Embedding width."""
        return self._n_embd

    @property
    def chat_template(self) -> str | None:
        """The Jinja chat template stored in the GGUF, if any."""
        return self._metadata.get("tokenizer.chat_template") or None

    @property
    def metadata(self) -> dict[str, str]:
        """GGUF metadata as llama.cpp reports it."""
        return dict(self._metadata)

    @property
    def info(self) -> EngineInfo:
        """What the tasks may rely on."""
        template = self.chat_template
        return EngineInfo(
            name=self.config.name or self.path,
            kind="llama.cpp",
            n_ctx=self.n_ctx,
            chat=template is not None,
            thinking_switch=supports_thinking_switch(template),
            can_prefill=True,
            architecture=self.metadata.get("general.architecture"),
            embedding=self.config.embedding,
        )

    def token_text(self, token: int) -> str:
        """The text of one special token (e.g. BOS) for chat templates."""
        if token < 0:
            return ""
        return self._llama_cpp.llama_vocab_get_text(self._vocab, token).decode("utf-8", "replace")

    @property
    def bos_text(self) -> str:
        """Text of the BOS token."""
        return self.token_text(self._llama.token_bos())

    @property
    def eos_text(self) -> str:
        """Text of the EOS token."""
        return self.token_text(self._llama.token_eos())

    def tokenize(
        self,
        text: str,
        *,
        add_special: bool = True,
        parse_special: bool = False,
        should_stop: StopFn = _never,
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

    def detokenize(self, tokens: Sequence[int]) -> str:
        """Text of tokens."""
        return self._llama.detokenize(list(tokens)).decode("utf-8", "replace")

    def count_tokens(self, text: str) -> int:
        """Tokens of plain text."""
        return len(self.tokenize(text, add_special=False))

    def prompt_tokens(self, prompt: Prompt) -> int:
        """Tokens the prompt takes once rendered."""
        return len(self.render(prompt))

    def render(self, prompt: Prompt, should_stop: StopFn = _never) -> list[int]:
        """Prompt tokens: the template's markup may hold control tokens, the caller's text never does.

        Stops counting once past the context (the prompt cannot fit anyway) and honours a cancel meanwhile.
        """
        if prompt.text is not None:
            return self.tokenize(prompt.text, add_special=True, should_stop=should_stop, limit=self.n_ctx)
        template = self.chat_template
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
            if len(tokens) > self.n_ctx:
                break  # it cannot fit; the count so far is enough to say so
            room = self.n_ctx - len(tokens)
            tokens += self.tokenize(text, add_special=False, parse_special=markup, should_stop=should_stop, limit=room)
        if prompt.prefill:
            tokens += self.tokenize(prompt.prefill, add_special=False, parse_special=True)
        return tokens

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
        """Decode up to max_tokens after the prompt (fewer if the context is fuller); raises Cancelled."""
        hooks = hooks or Hooks()
        prompt_tokens = self.render(prompt, hooks.should_stop)
        budget = room_for(len(prompt_tokens), max_tokens, self.n_ctx)
        guide = self.guides().compile(constraint) if constraint is not None else None
        return self.complete_tokens(prompt_tokens, budget, sampling, stop, hooks, guide)

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
        cached = self._prefill(prompt_tokens, hooks.on_prompt, hooks.should_stop)
        prompt_done = time.perf_counter()
        text, ids, reason, first_token_at, matched = self._decode(
            prompt_tokens, max_tokens, sampling, stop, hooks.on_token, hooks.should_stop, guide
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
        )

    def stats(self) -> dict[str, int]:
        """Counters for the info resource."""
        return {
            "tokens_generated": self.tokens_generated,
            "prompt_tokens_evaluated": self.prompt_tokens_evaluated,
            "embed_batches": self.embed_batches,
            "texts_embedded": self.texts_embedded,
        }

    def _prefill(self, tokens: list[int], on_prompt: ProgressFn | None, should_stop: StopFn) -> int:
        """Evaluate all but the last prompt token in batches, reusing the cached prefix; returns tokens reused."""
        llama = self._llama
        reused = _common_prefix(llama.input_ids[: llama.n_tokens].tolist(), tokens)
        # generate() replays at least the last prompt token itself to get fresh logits.
        reused = max(0, min(reused, len(tokens) - 1))
        if reused < llama.n_tokens:
            memory = self._llama_cpp.llama_get_memory(llama.ctx)
            if not self._llama_cpp.llama_memory_seq_rm(memory, -1, reused, -1):
                reused = 0
                llama.reset()
                self._llama_cpp.llama_memory_clear(memory, True)
            llama.n_tokens = reused
        done, end = reused, max(reused, len(tokens) - PREFILL_TAIL)
        with self._abortable(should_stop):
            while done < end:
                piece = tokens[done : min(done + llama.n_batch, end)]
                self._eval(piece, should_stop)
                done += len(piece)
                self.prompt_tokens_evaluated += len(piece)
                if on_prompt:
                    on_prompt(done, len(tokens))
        return reused

    def _eval(self, piece: list[int], should_stop: StopFn) -> None:
        """Evaluate one prompt batch; an aborted decode (the call was cancelled) becomes Cancelled."""
        if should_stop():
            raise Cancelled
        try:
            self._llama.eval(piece)
        except RuntimeError:
            if self._abort_requested:
                raise Cancelled from None
            raise

    @contextmanager
    def _abortable(self, should_stop: StopFn) -> Iterator[None]:
        """Let a cancel stop llama.cpp in the middle of a prompt batch, not only between batches."""
        last_poll = 0.0

        def poll(_data: object) -> bool:
            nonlocal last_poll
            now = time.monotonic()
            if not self._abort_requested and now - last_poll >= ABORT_POLL_SECONDS:
                last_poll = now
                self._abort_requested = should_stop()
            return self._abort_requested

        self._abort_requested = False
        callback = self._llama_cpp.ggml_abort_callback(poll)
        _set_abort_callback(self._llama.ctx, callback)
        try:
            yield
        finally:
            # Decoding one token at a time needs no abort hook, and a Python call per graph node would cost.
            _set_abort_callback(self._llama.ctx, None)

    def _decode(
        self,
        prompt_tokens: list[int],
        max_tokens: int,
        sampling: Sampling,
        stop: Sequence[str],
        on_token: ProgressFn | None,
        should_stop: StopFn,
        guide: Guide | None = None,
    ) -> tuple[str, list[int], FinishReason, float | None, str | None]:
        """Sample tokens until end-of-generation, a stop string or max_tokens."""
        llama = self._llama
        llama.set_seed(sampling.seed if sampling.seed is not None else random.randrange(2**31))
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        ids: list[int] = []
        stream = (
            self._guided(prompt_tokens, sampling, guide)
            if guide is not None
            else llama.generate(prompt_tokens, **_sampler_args(sampling), reset=True)
        )
        try:
            return self._sample_loop(stream, max_tokens, stop, on_token, should_stop, decoder, ids)
        finally:
            stream.close()
            self.tokens_generated += len(ids)

    def _sample_loop(
        self,
        stream: Generator[int, Sequence[int] | None, None],
        max_tokens: int,
        stop: Sequence[str],
        on_token: ProgressFn | None,
        should_stop: StopFn,
        decoder: codecs.IncrementalDecoder,
        ids: list[int],
    ) -> tuple[str, list[int], FinishReason, float | None, str | None]:
        """Pull tokens until end-of-generation, a stop string, the budget or a stop request."""
        text = ""
        reason: FinishReason = "length"
        matched: str | None = None
        first_token_at: float | None = None
        for token in stream:
            if first_token_at is None:
                first_token_at = time.perf_counter()
            if self._llama_cpp.llama_vocab_is_eog(self._vocab, token):
                reason = "stop"
                break
            ids.append(token)
            seen = len(text)
            text += decoder.decode(self._piece(token))
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

    def _piece(self, token: int, special: bool = False) -> bytes:
        """Bytes of one token as generated text (control tokens render as nothing unless special)."""
        size = 64
        while True:
            buf = ctypes.create_string_buffer(size)
            n = self._llama_cpp.llama_token_to_piece(self._vocab, token, buf, size, 0, special)
            if n >= 0:
                return buf.raw[:n]
            size = -n

    def guides(self) -> Guides:
        """The constraint compiler for this vocabulary, built on first use."""
        if self._guides is None:
            self._guides = Guides(self._vocabulary())
        return self._guides

    def _vocabulary(self) -> Vocabulary:
        """Every token's bytes, which ones are control tokens, and the end-of-generation tokens."""
        lib, vocab = self._llama_cpp, self._vocab
        pieces, special, ends = [], set(), [int(self._llama.token_eos())]
        for token in range(lib.llama_vocab_n_tokens(vocab)):
            piece = self._piece(token, special=True)
            attr = lib.llama_vocab_get_attr(vocab, token)
            user_control = attr & lib.LLAMA_TOKEN_ATTR_USER_DEFINED and piece[:1] == b"<" and piece[-1:] == b">"
            if attr & lib.LLAMA_TOKEN_ATTR_CONTROL or user_control:
                special.add(token)
            if lib.llama_vocab_is_eog(vocab, token) and token not in ends:
                ends.append(token)
            pieces.append(piece)
        return Vocabulary(pieces, frozenset(special), [t for t in ends if t >= 0], self._tokenize_bytes)

    def _tokenize_bytes(self, text: bytes) -> list[int]:
        return list(self._llama.tokenize(text, add_bos=False, special=False))

    def _guided(
        self, prompt_tokens: list[int], sampling: Sampling, guide: Guide
    ) -> Generator[int, Sequence[int] | None, None]:
        """Tokens under a constraint: sample freely, mask only when the grammar rejects; forced runs in one batch."""
        llama, lib = self._llama, self._llama_cpp
        sampler = llama._init_sampler(**_sampler_args(sampling))
        llama.eval(prompt_tokens[llama.n_tokens :])  # the tail _prefill left, for fresh logits
        # A forced run is a few tokens, decode-sized work: with the batch thread count (all cores) it ran 7x slower
        # than single tokens on a busy 2-core machine (bench/results/structured-speed-*), so it gets decode's.
        lib.llama_set_n_threads(llama.ctx, llama.n_threads, llama.n_threads)
        try:
            while True:
                token = self._llama_cpp.llama_sampler_sample(sampler.sampler, llama.ctx, -1)
                if not guide.allows(token):
                    guide.restrict(self._logits())
                    token = self._llama_cpp.llama_sampler_sample(sampler.sampler, llama.ctx, -1)
                forced = guide.accept(token)
                yield token
                yield from forced
                if guide.finished:
                    yield guide.end()
                    return
                llama.eval([token, *forced])
        finally:
            lib.llama_set_n_threads(llama.ctx, llama.n_threads, llama.n_threads_batch)
            sampler.close()

    def _logits(self) -> np.ndarray:
        """The last evaluated position's logits, in llama.cpp's own buffer (writable, not a copy)."""
        import numpy as np

        ptr = self._llama_cpp.llama_get_logits_ith(self._llama.ctx, -1)
        return np.ctypeslib.as_array(ptr, shape=(int(self._llama.n_vocab()),))

    def embed(self, texts: Sequence[str], *, truncate: bool, hooks: Hooks | None = None) -> Embedded:
        """Pooled vectors, one row per text, packing as many texts into each batch as fit."""
        hooks = hooks or Hooks()
        if not self.config.embedding:
            raise ModelLoadError("this model was loaded for generation, not embeddings")
        token_lists, truncated = self._embedding_tokens(texts, truncate, hooks.should_stop)
        vectors = self._embed_tokens(token_lists, hooks.on_token, hooks.should_stop)
        return Embedded(vectors, sum(len(t) for t in token_lists), truncated)

    def _embedding_tokens(
        self, texts: Sequence[str], truncate: bool, should_stop: StopFn
    ) -> tuple[list[list[int]], list[int]]:
        """Tokens per text within the context; too long is an error unless truncate is set."""
        limit = self.n_ctx
        closing = self._pooled_token()
        token_lists, truncated = [], []
        for i, text in enumerate(texts):
            if should_stop():
                raise Cancelled
            tokens = self.tokenize(text, add_special=True, should_stop=should_stop, limit=limit)
            if closing is not None and (not tokens or tokens[-1] != closing):
                tokens.append(closing)  # last-token pooling reads this token; older GGUFs forget to add it
            if len(tokens) > limit:
                if not truncate:
                    raise InvalidRequestError(
                        f"texts[{i}] is {len(tokens)} tokens but the embedding model takes at most {limit}; "
                        "split it, or pass truncate=true to embed only its first part"
                    )
                tokens = tokens[: limit - 1] + tokens[-1:]  # keep the final token last-token pooling reads
                truncated.append(i)
            token_lists.append(tokens)
        return token_lists, truncated

    def _pooled_token(self) -> int | None:
        """The token a last-token-pooling model must end on (<|endoftext|> for Qwen3-Embedding), else None."""
        if self.config.pooling != "last":
            return None
        eot = self.tokenize("<|endoftext|>", add_special=False, parse_special=True)
        return eot[0] if len(eot) == 1 else int(self._llama.token_eos())

    def _embed_tokens(
        self, token_lists: Sequence[list[int]], on_batch: ProgressFn | None, should_stop: StopFn
    ) -> np.ndarray:
        """Pooled embeddings for token lists in as few llama.cpp batches as fit."""
        llama = self._llama
        pack = min(llama.n_batch, EMBED_PACK_TOKENS)
        n_seq_max = int(llama.context_params.n_seq_max)
        import numpy as np  # only embedding needs it; keeps it out of the server's start-up

        out = np.zeros((len(token_lists), self.n_embd), dtype=np.float32)
        batch: list[int] = []
        used = 0
        for index, tokens in enumerate(token_lists):
            if batch and (used + len(tokens) > pack or len(batch) >= n_seq_max):
                self._embed_batch(token_lists, batch, out)
                if on_batch:
                    on_batch(index, len(token_lists))
                if should_stop():
                    raise Cancelled
                batch, used = [], 0
            batch.append(index)
            used += len(tokens)
        if batch:
            self._embed_batch(token_lists, batch, out)
        if on_batch:
            on_batch(len(token_lists), len(token_lists))
        return out

    def _embed_batch(self, token_lists: Sequence[list[int]], indexes: list[int], out: np.ndarray) -> None:
        """Decode one packed batch and read each sequence's pooled vector."""
        llama = self._llama
        llama._batch.reset()
        for seq_id, index in enumerate(indexes):
            llama._batch.add_sequence(token_lists[index], seq_id, True)
        self._llama_cpp.llama_memory_clear(self._llama_cpp.llama_get_memory(llama.ctx), True)
        llama._ctx.decode(llama._batch)
        self.embed_batches += 1
        self.texts_embedded += len(indexes)
        width = self.n_embd
        for seq_id, index in enumerate(indexes):
            ptr = self._llama_cpp.llama_get_embeddings_seq(llama.ctx, seq_id)
            if not ptr:
                raise ModelLoadError(
                    "llama.cpp returned no pooled embedding; the model's pooling type is 'none'. "
                    "Use an embedding model such as qwen3-embedding-0.6b."
                )
            out[index] = _as_array(ptr, width)
        llama._batch.reset()

    def close(self) -> None:
        """Free the model and context now rather than at garbage collection."""
        self._llama.close()


def _sampler_args(sampling: Sampling) -> dict[str, Any]:
    """llama-cpp-python's sampler arguments for our settings."""
    return {
        "top_k": sampling.top_k,
        "top_p": sampling.top_p,
        "min_p": sampling.min_p,
        "temp": sampling.temperature,
        "repeat_penalty": sampling.repeat_penalty,
    }


def _as_array(ptr: object, width: int) -> np.ndarray:
    """A float vector copied out of llama.cpp's buffer."""
    import numpy as np

    return np.ctypeslib.as_array(ptr, shape=(width,)).copy()


def _set_abort_callback(ctx: object, callback: object | None) -> None:
    """Install (or with None remove) llama.cpp's abort callback through the public binding."""
    import llama_cpp

    hook = callback if callback is not None else llama_cpp.ggml_abort_callback()  # a NULL function pointer
    llama_cpp.llama_set_abort_callback(ctx, hook, None)


def _common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    """Length of the shared prefix of two token lists."""
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def _defuse(text: str) -> str:
    """Text with a zero-width joiner after every '<', so no control token can be spelled in it."""
    return text.replace("<", "<\u200d")
