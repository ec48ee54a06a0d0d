"""The remote engine: one model on an OpenAI-compatible server (vLLM, SGLang, llama-server, llama-cpp-python).

Streams chat and text completions so progress counts tokens as they arrive, embeds through /v1/embeddings, and
counts tokens with the server's own tokenizer where it has a tokenize endpoint. Safe to call from many threads at
once: the server batches concurrent requests itself.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx2

from mcp_open.engines.estimates import estimate_tokens
from mcp_open.engines.openai import wire
from mcp_open.engines.openai.errors import (
    http_error,
    json_object,
    misbehaved,
    refused_constraint,
    request_json,
    transport_error,
)
from mcp_open.engines.openai.http import Exchange, HttpFailure, Misbehaved, make_client
from mcp_open.engines.openai.stream import StreamReader, pooled
from mcp_open.engines.protocol import (
    Cancelled,
    Completion,
    Constraint,
    Embedded,
    EngineInfo,
    Hooks,
    Prompt,
    Sampling,
    StopFn,
)
from mcp_open.errors import InvalidRequestError, RemoteEngineError

# Texts per /v1/embeddings request: progress and cancellation land between requests.
EMBED_BATCH = 32
# What a chat template adds around each turn and to start the reply, for prompt estimates.
TURN_OVERHEAD_TOKENS = 4
REPLY_OVERHEAD_TOKENS = 3
LOOKUP_SECONDS = 10.0

log = logging.getLogger(__name__)
AUTH_OR_MISSING = (401, 403, 404)


@dataclass(frozen=True)
class RemoteConfig:
    """Where the model is served and how to talk to it."""

    base_url: str  # scheme://host:port[/prefix], without the trailing /v1
    model: str
    api_key: str | None = None
    chat: bool = True  # False: a base model, sent raw text on /v1/completions
    n_ctx: int = 8192  # used when the server does not say
    embedding: bool = False
    max_connections: int = 32


@dataclass(frozen=True)
class Tokenizer:
    """A tokenize endpoint found on the server, and how many special tokens it adds to any text."""

    path: str
    added: int


def served_models(client: httpx2.Client, base_url: str) -> list[dict[str, Any]]:
    """What /v1/models lists, or a RemoteEngineError that says what to check."""
    data = request_json(client, "GET", base_url, "/v1/models", timeout=LOOKUP_SECONDS)
    models = data.get("data") if isinstance(data, dict) else None
    if not isinstance(models, list):
        raise RemoteEngineError(f"{base_url}/v1/models did not return a model list; is it an OpenAI-compatible API?")
    return [m for m in models if isinstance(m, dict) and "id" in m]


def context_of(model: dict[str, Any]) -> int | None:
    """The context window a /v1/models entry declares (vLLM: max_model_len; llama-server: meta.n_ctx_train)."""
    meta = model.get("meta")
    meta = meta if isinstance(meta, dict) else {}
    for value in (model.get("max_model_len"), model.get("context_length"), meta.get("n_ctx"), meta.get("n_ctx_train")):
        if isinstance(value, int) and value > 0:
            return value
    return None


class RemoteEngine:
    """A model served over HTTP; thread-safe."""

    def __init__(self, config: RemoteConfig) -> None:
        self.config = config
        self._client = make_client(config.base_url, config.api_key, config.max_connections)
        self._lock = threading.Lock()
        self._counters = dict.fromkeys(
            ("requests", "tokens_generated", "prompt_tokens", "texts_embedded", "cancelled", "retries"), 0
        )
        self._inflight = 0
        self._peak_inflight = 0
        try:
            self._served = self._find_model()
            self._tokenizer = self._find_tokenizer()
        except BaseException:
            self._client.close()
            raise

    @property
    def info(self) -> EngineInfo:
        """What the tasks may rely on; the template is the server's, so no prefill."""
        name = self.config.model
        return EngineInfo(
            name=name,
            kind="openai",
            n_ctx=context_of(self._served) or self.config.n_ctx,
            chat=self.config.chat,
            thinking_switch=self.config.chat,
            can_prefill=False,
            grammars=False,
            # Qwen embedding models want instruction-wrapped queries; the server does not say what it runs.
            architecture="qwen3" if "qwen" in name.lower() else None,
            embedding=self.config.embedding,
            exact_counts=self._tokenizer is not None,
        )

    def count_tokens(self, text: str) -> int:
        """The server's own count where it can tokenize, else an estimate (info.exact_counts says which)."""
        if self._tokenizer is None or not text:
            return estimate_tokens(text)
        try:
            return max(0, self._tokenize(self._tokenizer.path, text) - self._tokenizer.added)
        except RemoteEngineError as exc:
            # A server that tokenizes under its model lock (llama-cpp-python's) cannot answer while it decodes.
            log.info("estimating tokens: %s", exc)
            return estimate_tokens(text)

    def prompt_tokens(self, prompt: Prompt) -> int:
        """Raw text as the server counts it; chat turns estimated, since the server renders the template."""
        if prompt.text is not None:
            return self.count_tokens(prompt.text) + (self._tokenizer.added if self._tokenizer else 1)
        turns = sum(self.count_tokens(t.content) + TURN_OVERHEAD_TOKENS for t in prompt.turns)
        return turns + REPLY_OVERHEAD_TOKENS

    def estimated_prompt_tokens(self, prompt: Prompt) -> int:
        """The prompt's size without asking the server (for answers that came without usage)."""
        texts = [prompt.text] if prompt.text is not None else [t.content for t in prompt.turns]
        overhead = 1 if prompt.text is not None else TURN_OVERHEAD_TOKENS * len(texts) + REPLY_OVERHEAD_TOKENS
        return sum(estimate_tokens(t) for t in texts) + overhead

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
        """Stream a completion; raises Cancelled (the stream is closed, so the server stops) or RemoteEngineError."""
        hooks = hooks or Hooks()
        _check_prompt(prompt, constraint)
        body = wire.completion_body(
            self.config.model, prompt, max_tokens=max_tokens, sampling=sampling, stop=stop, constraint=constraint
        )
        path = "/v1/completions" if prompt.text is not None else "/v1/chat/completions"
        stream = StreamReader(max_tokens, hooks)
        with self._exchange(path, body, streaming=True) as exchange:
            try:
                stream.read(self._lines(exchange, path, hooks.should_stop, constraint))
            except httpx2.TransportError as exc:
                raise transport_error(self._where(path), exc, stream.count) from exc
        # Without usage in the stream, no second request: it would queue behind other calls on a busy server.
        done = stream.completion(stop, constraint, lambda: self.estimated_prompt_tokens(prompt))
        self._count(tokens_generated=done.completion_tokens, prompt_tokens=done.prompt_tokens)
        return done

    def embed(self, texts: Sequence[str], *, truncate: bool, hooks: Hooks | None = None) -> Embedded:
        """Vectors from /v1/embeddings, a batch of texts per request, in order."""
        import numpy as np

        hooks = hooks or Hooks()
        rows: list[list[float]] = []
        tokens = 0
        for start in range(0, len(texts), EMBED_BATCH):
            batch = list(texts[start : start + EMBED_BATCH])
            vectors, used = self._embed_batch(batch, truncate, hooks.should_stop)
            rows += vectors
            tokens += used
            if hooks.on_token:
                hooks.on_token(len(rows), len(texts))
        self._count(texts_embedded=len(texts), prompt_tokens=tokens)
        return Embedded(np.asarray(rows, dtype=np.float32), tokens, [])

    def stats(self) -> dict[str, int]:
        """Counters for the info resource, with how many requests were open at once at most."""
        with self._lock:
            return {**self._counters, "inflight": self._inflight, "peak_inflight": self._peak_inflight}

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def _embed_batch(self, batch: list[str], truncate: bool, should_stop: StopFn) -> tuple[list[list[float]], int]:
        body: dict[str, Any] = {"model": self.config.model, "input": batch, "encoding_format": "float"}
        if truncate and context_of(self._served):
            body["truncate_prompt_tokens"] = context_of(self._served)  # vLLM's name; others ignore it
        data = self._post_json("/v1/embeddings", body, should_stop)
        items = sorted(data.get("data") or [], key=lambda item: item.get("index", 0))
        if len(items) != len(batch):
            raise RemoteEngineError(
                f"{self.config.base_url} returned {len(items)} embeddings for {len(batch)} texts; is "
                f"'{self.config.model}' an embedding model (vLLM: a pooling runner; llama-server: --embeddings)?"
            )
        usage = data.get("usage") or {}
        used = usage.get("prompt_tokens") or sum(estimate_tokens(t) for t in batch)
        return [pooled(item["embedding"]) for item in items], int(used)

    def _lines(
        self, exchange: Exchange, path: str, should_stop: StopFn, constraint: Constraint | None
    ) -> Iterator[str]:
        """The streamed lines; an error status is explained (with a constraint: as a refused JSON-schema mode)."""
        for item in exchange.items(should_stop):
            if isinstance(item, HttpFailure):
                error = http_error(self._where(path), item, self.config.model)
                refused = constraint and item.status >= 400 and item.status not in AUTH_OR_MISSING
                raise refused_constraint(error) if refused else error
            if isinstance(item, Misbehaved):
                raise misbehaved(self._where(path), item.reason)
            if isinstance(item, str):
                yield item

    def _post_json(self, path: str, body: dict[str, Any], should_stop: StopFn) -> dict[str, Any]:
        """One non-streamed request, abortable like a stream."""
        with self._exchange(path, body, streaming=False) as exchange:
            try:
                for item in exchange.items(should_stop):
                    if isinstance(item, HttpFailure):
                        raise http_error(self._where(path), item, self.config.model)
                    if isinstance(item, Misbehaved):
                        raise misbehaved(self._where(path), item.reason)
                    return json_object(item, self._where(path))
            except httpx2.TransportError as exc:
                raise transport_error(self._where(path), exc, 0) from exc
        raise RemoteEngineError(f"{self._where(path)} closed the connection without an answer")

    @contextmanager
    def _exchange(self, path: str, body: dict[str, Any], *, streaming: bool) -> Iterator[Exchange]:
        """An exchange counted as in flight; aborted on the way out unless it ended (cancel, timeout, error)."""
        exchange = Exchange(self._client, path, body, streaming=streaming)
        with self._lock:
            self._inflight += 1
            self._peak_inflight = max(self._peak_inflight, self._inflight)
            self._counters["requests"] += 1
        ended = cancelled = False
        try:
            yield exchange
            ended = True
        except Cancelled:
            cancelled = True
            raise
        finally:
            if not ended:
                exchange.abort()
            with self._lock:
                self._inflight -= 1
                self._counters["retries"] += exchange.retries
                self._counters["cancelled"] += int(cancelled)

    def _find_model(self) -> dict[str, Any]:
        """The served model we were told to use, or an error listing what the server does serve."""
        models = served_models(self._client, self.config.base_url)
        for model in models:
            if model["id"] == self.config.model:
                return model
        names = ", ".join(repr(m["id"]) for m in models) or "nothing"
        raise RemoteEngineError(
            f"{self.config.base_url} does not serve a model named '{self.config.model}'; it serves {names}. "
            "Pass one of those as the model (--model, --embed-model or --translate-model)."
        )

    def _find_tokenizer(self) -> Tokenizer | None:
        """The first tokenize endpoint that answers (vLLM and llama-server, then llama-cpp-python's), if any."""
        for path in ("/tokenize", "/extras/tokenize"):
            try:
                added = self._tokenize(path, "")
            except RemoteEngineError:
                continue
            return Tokenizer(path, added)
        return None

    def _tokenize(self, path: str, text: str) -> int:
        """Tokens of text by one endpoint; one body carries every server's field names."""
        body = {
            "model": self.config.model,
            "prompt": text,  # vLLM, SGLang
            "content": text,  # llama-server
            "input": text,  # llama-cpp-python
            "add_special_tokens": False,
            "add_special": False,
        }
        data = request_json(self._client, "POST", self.config.base_url, path, timeout=LOOKUP_SECONDS, body=body)
        if isinstance(data.get("count"), int):
            return int(data["count"])
        if isinstance(data.get("tokens"), list):
            return len(data["tokens"])
        raise RemoteEngineError(f"{self._where(path)} answered without tokens")

    def _where(self, path: str) -> str:
        return self.config.base_url + path

    def _count(self, **amounts: int) -> None:
        with self._lock:
            for key, amount in amounts.items():
                self._counters[key] += amount


def _check_prompt(prompt: Prompt, constraint: Constraint | None) -> None:
    """What a remote server cannot do: continue written assistant text, or constrain raw-text completions."""
    if prompt.prefill:
        raise InvalidRequestError("a remote backend cannot continue prefilled assistant text")
    if constraint is not None and prompt.text is not None:
        raise InvalidRequestError(
            "structured output on a remote backend needs a chat model (response_format on /v1/chat/completions); "
            "this role is configured as a base model (--no-backend-chat)"
        )
