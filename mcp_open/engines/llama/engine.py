"""The llama.cpp engine: one loaded GGUF and its context, assembled from the parts that do each job."""

from __future__ import annotations

from collections.abc import Sequence

from mcp_open.engines.config import EngineConfig
from mcp_open.engines.constraints import Guide, Guides
from mcp_open.engines.llama import native
from mcp_open.engines.llama.decode import Decoder
from mcp_open.engines.llama.embedding import Embedder
from mcp_open.engines.llama.guided import Guided
from mcp_open.engines.llama.logs import set_native_logging
from mcp_open.engines.llama.prefix import Prefix
from mcp_open.engines.llama.tokens import Tokens
from mcp_open.engines.protocol import (
    Completion,
    Constraint,
    Embedded,
    EngineInfo,
    Hooks,
    Prompt,
    Sampling,
    StopFn,
    never,
    room_for,
)
from mcp_open.engines.templates import supports_thinking_switch
from mcp_open.errors import ModelLoadError


def llama_kwargs(config: EngineConfig) -> dict[str, object]:
    """llama_cpp.Llama's arguments for a config."""
    kwargs: dict[str, object] = {
        "n_ctx": config.n_ctx,
        "n_gpu_layers": config.n_gpu_layers,
        "n_threads": config.n_threads,
        "flash_attn": config.flash_attn,
        "main_gpu": config.main_gpu,
        "tensor_split": config.tensor_split,
        "embedding": config.embedding,
        "verbose": config.verbose,
        "type_k": native.KV_TYPES[config.kv_cache_type],
        "type_v": native.KV_TYPES[config.kv_cache_type],
    }
    if config.embedding:
        # Each text must fit one physical batch for pooled embeddings.
        kwargs.update(n_batch=config.n_ctx, n_ubatch=config.n_ctx)
        if config.pooling:
            kwargs["pooling_type"] = native.POOLING[config.pooling]
    return kwargs


class LlamaEngine:
    """One loaded llama.cpp model and context; not thread-safe (callers hold a lock)."""

    def __init__(self, path: str, config: EngineConfig) -> None:
        self.path = path
        self.config = config
        set_native_logging(config.verbose)
        try:
            self._llama = native.load(path, llama_kwargs(config))
        except (ValueError, RuntimeError, OSError) as exc:
            raise ModelLoadError(
                f"llama.cpp could not load {path}: {exc}. Check that it is a complete GGUF file for a model "
                "architecture this llama-cpp-python supports (see `mcp-open models info PATH`)."
            ) from exc
        self.native = native.Native(self._llama)
        # Read once: after close() the native context is gone, and describing the engine must still be safe.
        self._n_ctx = min(int(self._llama.n_ctx()), config.n_ctx)
        self._n_embd = int(self._llama.n_embd())
        self._metadata = dict(self._llama.metadata)
        self.tokens = Tokens(self._llama, self.native, self._n_ctx, self.chat_template)
        self._prefix = Prefix(self._llama, self.native)
        self._guided = Guided(self._llama, self.native, self.tokens.tokenize_bytes)
        self.decoder = Decoder(self._llama, self.native, self._prefix, config.draft_tokens)
        self._embedder = Embedder(self._llama, self.native, self.tokens, self._n_ctx, self._n_embd, config.pooling)

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

    def tokenize(
        self,
        text: str,
        *,
        add_special: bool = True,
        parse_special: bool = False,
        should_stop: StopFn = never,
        limit: int | None = None,
    ) -> list[int]:
        """Tokens of text (see Tokens.tokenize)."""
        return self.tokens.tokenize(
            text, add_special=add_special, parse_special=parse_special, should_stop=should_stop, limit=limit
        )

    def detokenize(self, tokens: Sequence[int]) -> str:
        """Text of tokens."""
        return self.tokens.detokenize(tokens)

    def count_tokens(self, text: str) -> int:
        """Tokens of plain text."""
        return len(self.tokens.tokenize(text, add_special=False))

    def prompt_tokens(self, prompt: Prompt) -> int:
        """Tokens the prompt takes once rendered."""
        return len(self.tokens.render(prompt))

    def render(self, prompt: Prompt, should_stop: StopFn = never) -> list[int]:
        """Prompt tokens (see Tokens.render)."""
        return self.tokens.render(prompt, should_stop)

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
        prompt_tokens = self.tokens.render(prompt, hooks.should_stop)
        budget = room_for(len(prompt_tokens), max_tokens, self.n_ctx)
        guide = self.guides().compile(constraint) if constraint is not None else None
        return self.decoder.complete_tokens(prompt_tokens, budget, sampling, stop, hooks, guide)

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
        return self.decoder.complete_tokens(prompt_tokens, max_tokens, sampling, stop, hooks, guide)

    def guides(self) -> Guides:
        """The constraint compiler for this vocabulary, built on first use."""
        return self._guided.guides()

    def embed(self, texts: Sequence[str], *, truncate: bool, hooks: Hooks | None = None) -> Embedded:
        """Pooled vectors, one row per text, packing as many texts into each batch as fit."""
        if not self.config.embedding:
            raise ModelLoadError("this model was loaded for generation, not embeddings")
        return self._embedder.embed(texts, truncate=truncate, hooks=hooks or Hooks())

    def embedding_tokens(
        self, texts: Sequence[str], truncate: bool, should_stop: StopFn
    ) -> tuple[list[list[int]], list[int]]:
        """Tokens per text as embed() would decode them."""
        return self._embedder.embedding_tokens(texts, truncate, should_stop)

    @property
    def tokens_generated(self) -> int:
        """Tokens sampled so far."""
        return self.decoder.tokens_generated

    @property
    def prompt_tokens_evaluated(self) -> int:
        """Prompt tokens evaluated in batches so far (reused prefixes excluded)."""
        return self._prefix.prompt_tokens_evaluated

    def stats(self) -> dict[str, int]:
        """Counters for the info resource."""
        return {
            "tokens_generated": self.tokens_generated,
            "prompt_tokens_evaluated": self.prompt_tokens_evaluated,
            "embed_batches": self._embedder.embed_batches,
            "texts_embedded": self._embedder.texts_embedded,
            "drafted_tokens": self.decoder.drafts.drafted,
            "accepted_tokens": self.decoder.drafts.accepted,
        }

    def close(self) -> None:
        """Free the model and context now rather than at garbage collection."""
        self._llama.close()
