"""The remote engine: one model on an OpenAI-compatible server (vLLM, SGLang, llama-server, llama-cpp-python).

Streams chat and text completions so progress counts tokens as they arrive, embeds through /v1/embeddings, and
counts tokens with the server's own tokenizer where it has a tokenize endpoint. Safe to call from many threads at
once: the server batches concurrent requests itself.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx2

from mcp_open.engines import openai_wire as wire
from mcp_open.engines.openai_http import CONNECT_ATTEMPTS, Exchange, HttpFailure, make_client
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
    find_stop,
)
from mcp_open.errors import InvalidRequestError, RemoteEngineError

# Texts per /v1/embeddings request: progress and cancellation land between requests.
EMBED_BATCH = 32
# Without a tokenize endpoint, a token is taken to be this many characters (English prose with BPE vocabularies).
CHARS_PER_TOKEN = 4
# What a chat template adds around each turn and to start the reply, for prompt estimates.
TURN_OVERHEAD_TOKENS = 4
REPLY_OVERHEAD_TOKENS = 3
LOOKUP_SECONDS = 10.0
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
    data = _get_json(client, base_url, "/v1/models")
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
            # Qwen embedding models want instruction-wrapped queries; the server does not say what it runs.
            architecture="qwen3" if "qwen" in name.lower() else None,
            embedding=self.config.embedding,
            exact_counts=self._tokenizer is not None,
        )

    def count_tokens(self, text: str) -> int:
        """The server's own count where it can tokenize, else an estimate (info.exact_counts says which)."""
        if self._tokenizer is None or not text:
            return math.ceil(len(text) / CHARS_PER_TOKEN)
        return max(0, self._tokenize(self._tokenizer.path, text) - self._tokenizer.added)

    def prompt_tokens(self, prompt: Prompt) -> int:
        """Raw text as the server counts it; chat turns estimated, since the server renders the template."""
        if prompt.text is not None:
            return self.count_tokens(prompt.text) + (self._tokenizer.added if self._tokenizer else 1)
        turns = sum(self.count_tokens(t.content) + TURN_OVERHEAD_TOKENS for t in prompt.turns)
        return turns + REPLY_OVERHEAD_TOKENS

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
        stream = _Stream(max_tokens, hooks)
        with self._exchange(path, body, streaming=True) as exchange:
            try:
                stream.read(self._lines(exchange, path, hooks.should_stop, constraint))
            except httpx2.TransportError as exc:
                raise self._transport_error(exc, path, stream.count) from exc
        done = stream.completion(stop, constraint, fallback_prompt=lambda: self.prompt_tokens(prompt))
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
        used = usage.get("prompt_tokens") or sum(math.ceil(len(t) / CHARS_PER_TOKEN) for t in batch)
        return [_pooled(item["embedding"]) for item in items], int(used)

    def _lines(
        self, exchange: Exchange, path: str, should_stop: StopFn, constraint: Constraint | None
    ) -> Iterator[str]:
        """The streamed lines; an error status is explained (with a constraint: as a refused JSON-schema mode)."""
        for item in exchange.items(should_stop):
            if isinstance(item, HttpFailure):
                error = self._http_error(item, path)
                raise self._refused_constraint(error) if constraint and item.status not in AUTH_OR_MISSING else error
            if isinstance(item, str):
                yield item

    def _post_json(self, path: str, body: dict[str, Any], should_stop: StopFn) -> dict[str, Any]:
        """One non-streamed request, abortable like a stream."""
        with self._exchange(path, body, streaming=False) as exchange:
            try:
                for item in exchange.items(should_stop):
                    if isinstance(item, HttpFailure):
                        raise self._http_error(item, path)
                    return _json_object(item, self.config.base_url + path)
            except httpx2.TransportError as exc:
                raise self._transport_error(exc, path, 0) from exc
        raise RemoteEngineError(f"{self.config.base_url}{path} closed the connection without an answer")

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
        try:
            response = self._client.post(path, json=body, timeout=LOOKUP_SECONDS)
        except httpx2.TransportError as exc:
            raise self._transport_error(exc, path, 0) from exc
        if response.status_code >= 400:
            raise self._http_error(HttpFailure(response.status_code, response.content), path)
        data = _json_object(response.content, self.config.base_url + path)
        if isinstance(data.get("count"), int):
            return int(data["count"])
        if isinstance(data.get("tokens"), list):
            return len(data["tokens"])
        raise RemoteEngineError(f"{self.config.base_url}{path} answered without tokens")

    def _count(self, **amounts: int) -> None:
        with self._lock:
            for key, amount in amounts.items():
                self._counters[key] += amount

    def _http_error(self, failure: HttpFailure, path: str) -> RemoteEngineError:
        """What an error status means for the user, with the server's own words."""
        where, said = f"{self.config.base_url}{path}", wire.error_text(failure.status, failure.body)
        if failure.status in (401, 403):
            return RemoteEngineError(
                f"{where} refused the API key (HTTP {failure.status}: {said}). Check --backend-api-key "
                "(or MCP_OPEN_BACKEND_API_KEY) against the key the server was started with."
            )
        if failure.status == 404:
            return RemoteEngineError(
                f"{where} answered 404 ({said}): the server does not serve '{self.config.model}' there. Check the "
                "model name (`mcp-open info` lists what the server offers) and that --backend is the server's root."
            )
        return RemoteEngineError(f"{where} failed (HTTP {failure.status}): {said}")

    def _transport_error(self, exc: httpx2.TransportError, path: str, generated: int) -> RemoteEngineError:
        """Unreachable, or the connection dropped mid-answer."""
        where = f"{self.config.base_url}{path}"
        if isinstance(exc, httpx2.ConnectError | httpx2.ConnectTimeout):
            return RemoteEngineError(
                f"cannot reach {where} ({exc or type(exc).__name__}) after {CONNECT_ATTEMPTS} attempts. Check "
                "that the server is running and that --backend (or --embed-backend, --translate-backend) is right."
            )
        return RemoteEngineError(
            f"{where} dropped the connection after {generated} tokens ({type(exc).__name__}: {exc}). The server "
            "may have crashed or restarted; check its log, then try again."
        )

    def _refused_constraint(self, exc: RemoteEngineError) -> RemoteEngineError:
        """An error answer to a constrained completion: most likely the server has no JSON-schema mode."""
        return RemoteEngineError(
            f"{exc}. The backend refused structured output: it takes no response_format of type json_schema "
            "(llama-server, vLLM and SGLang do; llama-cpp-python's server does not). Call without json_schema or "
            "choices, or serve this model from a backend that has a JSON-schema mode."
        )


class _Stream:
    """Reads one streamed completion: text, reasoning, the end and the server's counts, reporting each token."""

    def __init__(self, budget: int, hooks: Hooks) -> None:
        self.budget = budget
        self.hooks = hooks
        self.text: list[str] = []
        self.reasoning: list[str] = []
        self.count = 0
        self.finish: str | None = None
        self.stop_reason: str | None = None
        self.usage: dict[str, Any] = {}
        self.started = time.perf_counter()
        self.first: float | None = None
        self.last: float | None = None

    def read(self, lines: Iterator[str]) -> None:
        """Consume the stream's lines; an error event becomes RemoteEngineError."""
        for line in lines:
            chunk = wire.parse_sse_line(line)
            if chunk is None:
                continue
            if "error" in chunk:
                said = wire.error_text(200, line[5:].encode())
                raise RemoteEngineError(f"the server reported an error after {self.count} tokens: {said}")
            self._take(wire.read_chunk(chunk))
            if self.hooks.should_stop():
                raise Cancelled
        if self.finish is None:
            raise RemoteEngineError(
                f"the server ended the answer after {self.count} tokens without saying why (no finish_reason); "
                "the connection may have dropped. Check the server's log, then try again."
            )

    def _take(self, delta: wire.Delta) -> None:
        if delta.text or delta.reasoning:
            now = time.perf_counter()
            self.first = self.first or now
            self.last = now
            self.count += 1
            self.text.append(delta.text)
            self.reasoning.append(delta.reasoning)
            if self.hooks.on_token:
                self.hooks.on_token(self.count, self.budget)
        self.finish = delta.finish_reason or self.finish
        self.stop_reason = delta.stop_reason or self.stop_reason
        self.usage = delta.usage or self.usage

    def completion(self, stop: Sequence[str], constraint: Constraint | None, fallback_prompt: Any) -> Completion:
        """The finished completion; counts are the server's where it sent usage."""
        end = time.perf_counter()
        text = wire.choice_text("".join(self.text), constraint)
        hit = find_stop(text, stop, 0)  # a server that ignored a stop string still gets cut
        matched = self.stop_reason if self.stop_reason in stop else (hit[1] if hit else None)
        if hit is not None:
            text = text[: hit[0]]
        tokens = int(self.usage.get("completion_tokens") or self.count)
        details = self.usage.get("prompt_tokens_details") or {}
        reasoning = "".join(self.reasoning)
        return Completion(
            text=text,
            completion_tokens=tokens,
            prompt_tokens=int(self.usage.get("prompt_tokens") or fallback_prompt()),
            cached_tokens=int(details.get("cached_tokens") or 0),
            finish_reason="length" if self.finish in wire.LENGTH_REASONS else "stop",
            prompt_seconds=(self.first or end) - self.started,
            decode_seconds=(self.last or end) - (self.first or end),
            matched_stop=matched,
            decode_steps=max(0, self.count - 1),
            reasoning=reasoning if any(self.reasoning) else None,
        )


def _pooled(embedding: list[Any]) -> list[float]:
    """A text's vector; a server without pooling (llama.cpp's --pooling none) sends one per token: mean-pool them."""
    if embedding and isinstance(embedding[0], list):
        import numpy as np

        return [float(x) for x in np.asarray(embedding, dtype=np.float64).mean(axis=0)]
    return embedding


def _check_prompt(prompt: Prompt, constraint: Constraint | None) -> None:
    """What a remote server cannot do: continue written assistant text, or constrain raw-text completions."""
    if prompt.prefill:
        raise InvalidRequestError("a remote backend cannot continue prefilled assistant text")
    if constraint is not None and prompt.text is not None:
        raise InvalidRequestError(
            "structured output on a remote backend needs a chat model (response_format on /v1/chat/completions); "
            "this role is configured as a base model (--no-backend-chat)"
        )


def _json_object(raw: bytes | str, where: str) -> dict[str, Any]:
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise RemoteEngineError(f"{where} answered with something that is not JSON; is it an OpenAI API?") from exc
    if not isinstance(data, dict):
        raise RemoteEngineError(f"{where} answered with JSON that is not an object; is it an OpenAI API?")
    return data


def _get_json(client: httpx2.Client, base_url: str, path: str) -> dict[str, Any]:
    """A short GET (model lists), errors explained."""
    where = base_url + path
    try:
        response = client.get(path, timeout=LOOKUP_SECONDS)
    except httpx2.TransportError as exc:
        raise RemoteEngineError(
            f"cannot reach {where} ({exc or type(exc).__name__}). Check that the server is running and that "
            "--backend (or --embed-backend, --translate-backend) is right."
        ) from exc
    if response.status_code in (401, 403):
        raise RemoteEngineError(
            f"{where} refused the API key (HTTP {response.status_code}: "
            f"{wire.error_text(response.status_code, response.content)}). Check --backend-api-key "
            "(or MCP_OPEN_BACKEND_API_KEY) against the key the server was started with."
        )
    if response.status_code >= 400:
        said = wire.error_text(response.status_code, response.content)
        raise RemoteEngineError(f"{where} failed (HTTP {response.status_code}): {said}")
    return _json_object(response.content, where)
