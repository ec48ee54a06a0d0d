"""Every tool on a remote backend: a real OpenAI-compatible server (llama-cpp-python's) started on loopback."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client

from bench.openai_server import OpenAIServer, free_port, start_server
from mcp_open.edge.cli import main
from mcp_open.engines.openai.remote import RemoteConfig, RemoteEngine
from mcp_open.engines.protocol import Constraint, Hooks, Prompt, Sampling, Turn
from mcp_open.errors import RemoteEngineError
from mcp_open.features.translate.languages import detect_language
from mcp_open.settings import Settings
from tests.conftest import ClientFactory

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

GEMMA = "gemma-270m"
LONG = {"prompt": "Once upon a time", "max_tokens": 2000, "temperature": 0}
# llama-cpp-python's temperature 0 is not greedy by itself: top_k 1 is.
SAME = {"temperature": 0, "top_k": 1, "seed": 1, "repeat_penalty": 1.0}
GREEDY = Sampling(temperature=0.0, top_k=1, top_p=1.0, repeat_penalty=1.0)


@pytest.fixture(scope="session")
def gemma_server(gemma: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenAIServer]:
    """Gemma 270M (a base model) behind /v1/completions and /v1/chat/completions."""
    server = start_server(gemma, GEMMA, tmp_path_factory.mktemp("srv") / "gemma.log", n_ctx=4096)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def embed_server(gemma: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenAIServer]:
    """Gemma 270M behind /v1/embeddings (no pooling on the server: one vector per token)."""
    log = tmp_path_factory.mktemp("srv") / "embed.log"
    server = start_server(gemma, "gemma-embed", log, "--embedding", "true", n_ctx=512)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def chat_server(tiny_chat: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenAIServer]:
    """The tiny qwen3 chat model (a ChatML template) behind /v1/chat/completions, with an API key."""
    log = tmp_path_factory.mktemp("srv") / "chat.log"
    server = start_server(tiny_chat, "tiny-chat", log, "--api_key", "right-key", n_ctx=1024)
    yield server
    server.stop()


def remote_settings(server: OpenAIServer, tiny_embed: Path, **overrides: Any) -> Settings:
    """Generation and translation on the server's base model, embeddings local unless overridden."""
    values: dict[str, Any] = {
        "backend": server.url,
        "model": server.alias,
        "backend_chat": False,
        "embed_model": str(tiny_embed),
        "threads": 2,
    }
    return Settings(**{**values, **overrides})


class TimedProgress:
    """Progress notifications with their arrival times."""

    def __init__(self) -> None:
        self.events: list[tuple[float, float]] = []

    async def __call__(self, progress: float, total: float | None, message: str | None) -> None:
        if message and "tokens" in message:
            self.events.append((time.monotonic(), progress))

    async def wait_for_tokens(self, count: int, seconds: float = 60) -> None:
        with anyio.fail_after(seconds):
            while len(self.events) < 2 or self.events[-1][1] < count:
                await anyio.sleep(0.02)

    def seconds_per_token(self) -> float:
        (t0, p0), (t1, p1) = self.events[0], self.events[-1]
        return (t1 - t0) / (p1 - p0)


async def model_stats(client: Client, role: str) -> dict[str, Any]:
    info = json.loads((await client.read_resource("mcp-open://info")).contents[0].text)
    return next(m for m in info["models"] if m["role"] == role)


def direct_completion(server: OpenAIServer, prompt: str, max_tokens: int, **extra: Any) -> dict[str, Any]:
    """The server's own answer, asked without mcp-open."""
    body = {"model": server.alias, "prompt": prompt, "max_tokens": max_tokens, **SAME, **extra}
    response = httpx2.post(f"{server.url}/completions", json=body, timeout=120)
    response.raise_for_status()
    return response.json()


def evict_prompt_cache(server: OpenAIServer) -> None:
    """Make the server's next prompt start from scratch: a reused prefix is evaluated in other batches, which
    shifts the logits enough to change a greedy choice between near-equal tokens."""
    direct_completion(server, "Zebra crossings are striped.", 1)


async def test_generate_streams_the_servers_own_answer(
    connect_once: ClientFactory, gemma_server: OpenAIServer, tiny_embed: Path
) -> None:
    log = TimedProgress()
    async with connect_once(remote_settings(gemma_server, tiny_embed)) as client:
        evict_prompt_cache(gemma_server)
        result = await client.call_tool("generate", {**LONG, **SAME, "max_tokens": 32}, progress_callback=log)
        stats = await model_stats(client, "generation")
    assert not result.is_error, result.content
    data = result.structured_content
    evict_prompt_cache(gemma_server)
    direct = direct_completion(gemma_server, "Once upon a time", 32)
    assert data["text"] == direct["choices"][0]["text"]
    assert data["model"] == GEMMA and data["finish_reason"] == "length"
    assert data["usage"]["completion_tokens"] == 32
    # This server sends no usage in streams: the prompt is estimated (vLLM, SGLang, llama-server send usage).
    assert 0 < data["usage"]["prompt_tokens"] <= 2 * direct["usage"]["prompt_tokens"]
    # Progress counted tokens as they arrived, before the call returned.
    assert [p for _, p in log.events] == sorted(p for _, p in log.events) and 0 < log.events[0][1] < 32
    assert stats["engine"] == "openai" and stats["backend"] == gemma_server.url.removesuffix("/v1")


async def test_stop_strings_end_the_answer(
    connect_once: ClientFactory, gemma_server: OpenAIServer, tiny_embed: Path
) -> None:
    evict_prompt_cache(gemma_server)
    full = direct_completion(gemma_server, "Once upon a time", 24)["choices"][0]["text"]
    stop = full.split()[3]
    async with connect_once(remote_settings(gemma_server, tiny_embed)) as client:
        evict_prompt_cache(gemma_server)
        result = await client.call_tool("generate", {**LONG, **SAME, "max_tokens": 24, "stop": [stop]})
    data = result.structured_content
    assert data["finish_reason"] == "stop"
    assert data["text"] == full[: full.index(stop)]


async def test_translate_few_shot_on_a_base_model(
    connect_once: ClientFactory, gemma_server: OpenAIServer, tiny_embed: Path
) -> None:
    args = {"text": "The cat is sleeping on the sofa.", "target_lang": "fr", "source_lang": "en"}
    async with connect_once(remote_settings(gemma_server, tiny_embed)) as client:
        result = await client.call_tool("translate", args)
    assert not result.is_error, result.content
    text = result.structured_content["translations"][0]["text"]
    detected = detect_language(text)
    assert detected is not None and detected.base == "fr", text
    assert "\n" not in text
    assert result.structured_content["usage"]["completion_tokens"] > 0


async def test_embed_and_rank_on_a_remote_embedder(
    connect_once: ClientFactory, gemma_server: OpenAIServer, embed_server: OpenAIServer, tiny_embed: Path
) -> None:
    settings = remote_settings(gemma_server, tiny_embed, embed_backend=embed_server.url, embed_model="gemma-embed")
    documents = ["A man is playing a guitar.", "The stock market fell sharply today.", "Bake the bread for an hour."]
    async with connect_once(settings) as client:
        embedded = await client.call_tool("embed", {"texts": ["hello", "world"], "dimensions": 64})
        ranked = await client.call_tool("rank", {"query": "Someone plays an instrument.", "documents": documents})
        stats = await model_stats(client, "embedding")
    assert not embedded.is_error, embedded.content
    vectors = embedded.structured_content["embeddings"]
    assert len(vectors) == 2 and all(len(v) == 64 for v in vectors)
    assert ranked.structured_content["results"][0]["index"] == 0
    assert stats["engine"] == "openai" and stats["texts_embedded"] == 6


async def test_the_servers_only_model_is_the_default(
    connect_once: ClientFactory, gemma_server: OpenAIServer, tiny_embed: Path
) -> None:
    settings = Settings(backend=gemma_server.url, backend_chat=False, embed_model=str(tiny_embed))
    async with connect_once(settings) as client:
        generated = await client.call_tool("generate", {"prompt": "Hello", "max_tokens": 2})
    assert not generated.is_error and generated.structured_content["model"] == GEMMA


async def test_local_and_remote_roles_mix(
    connect_once: ClientFactory, gemma_server: OpenAIServer, tiny_embed: Path
) -> None:
    async with connect_once(remote_settings(gemma_server, tiny_embed)) as client:
        generated = await client.call_tool("generate", {"prompt": "Hello", "max_tokens": 2})
        embedded = await client.call_tool("embed", {"texts": ["local"]})
        generation, embedding = await model_stats(client, "generation"), await model_stats(client, "embedding")
    assert not generated.is_error and not embedded.is_error
    assert generation["engine"] == "openai" and embedding["engine"] == "llama.cpp"
    assert embedded.structured_content["model"] == tiny_embed.name


async def test_cancel_closes_the_stream_and_frees_the_server(
    connect_once: ClientFactory, gemma_server: OpenAIServer, tiny_embed: Path
) -> None:
    log = TimedProgress()
    async with connect_once(remote_settings(gemma_server, tiny_embed)) as client:
        async with anyio.create_task_group() as tg:
            tg.start_soon(lambda: client.call_tool("generate", LONG, progress_callback=log))
            await log.wait_for_tokens(8)
            tg.cancel_scope.cancel()
        remaining = (LONG["max_tokens"] - log.events[-1][1]) * log.seconds_per_token()
        started = time.monotonic()
        after = await client.call_tool("generate", {"prompt": "Hello", "max_tokens": 3, "temperature": 0})
        waited = time.monotonic() - started
        stats = await model_stats(client, "generation")
    assert not after.is_error, after.content
    # The server serves one request at a time: had it kept decoding, the next call would wait for the rest.
    assert waited < remaining / 10, (waited, remaining)
    assert stats["cancelled"] == 1


async def test_timeout_closes_the_stream_and_frees_the_server(
    connect_once: ClientFactory, gemma_server: OpenAIServer, tiny_embed: Path
) -> None:
    engine = RemoteEngine(RemoteConfig(gemma_server.url.removesuffix("/v1"), GEMMA, chat=False))
    measured = engine.complete(Prompt.raw("Warm up"), max_tokens=16, sampling=GREEDY)
    async with connect_once(remote_settings(gemma_server, tiny_embed, timeout=2.0)) as client:
        timed_out = await client.call_tool("generate", LONG)
    started = time.monotonic()
    engine.complete(Prompt.raw("Hello"), max_tokens=3, sampling=GREEDY)  # the server's next request
    waited = time.monotonic() - started
    engine.close()
    assert timed_out.is_error and "--timeout" in timed_out.content[0].text
    remaining = LONG["max_tokens"] * measured.decode_seconds / measured.decode_steps - 2.0
    assert waited < remaining / 10, (waited, remaining)


async def test_concurrent_calls_are_in_flight_together(
    connect_once: ClientFactory, gemma_server: OpenAIServer, tiny_embed: Path
) -> None:
    log = TimedProgress()
    async with connect_once(remote_settings(gemma_server, tiny_embed, max_inflight=2)) as client:
        async with anyio.create_task_group() as tg:
            tg.start_soon(lambda: client.call_tool("generate", LONG, progress_callback=log))
            await log.wait_for_tokens(2)
            tg.start_soon(lambda: client.call_tool("generate", {"prompt": "Second", "max_tokens": 4}))
            with anyio.fail_after(30):
                while (await model_stats(client, "generation"))["inflight"] < 2:
                    await anyio.sleep(0.02)
            # Both are at the server now: no FIFO gate of ours holds the second one back; a third is turned away.
            busy = await client.call_tool("generate", {"prompt": "Third", "max_tokens": 2})
            assert busy.is_error and "--max-inflight" in busy.content[0].text
            tg.cancel_scope.cancel()
        stats = await model_stats(client, "generation")
    assert stats["peak_inflight"] == 2 and stats["cancelled"] == 2 and stats["inflight"] == 0


def test_llama_cpp_python_server_decodes_one_request_at_a_time(gemma_server: OpenAIServer) -> None:
    """What is true of this server: concurrent requests are open together, but their tokens do not interleave."""
    engine = RemoteEngine(RemoteConfig(gemma_server.url.removesuffix("/v1"), GEMMA, chat=False))
    arrivals: list[list[float]] = [[], []]

    def run(index: int) -> None:
        hooks = Hooks(on_token=lambda _done, _n: arrivals[index].append(time.monotonic()))
        engine.complete(Prompt.raw(f"Story {index}:"), max_tokens=16, sampling=GREEDY, hooks=hooks)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    engine.close()
    first, second = sorted(arrivals, key=lambda times: times[0])
    assert engine.stats()["peak_inflight"] == 2
    assert first[-1] <= second[0]  # llama-cpp-python's server holds one lock per model


def test_engine_progress_counts_every_streamed_token(gemma_server: OpenAIServer) -> None:
    engine = RemoteEngine(RemoteConfig(gemma_server.url.removesuffix("/v1"), GEMMA, chat=False))
    counts: list[int] = []
    done = engine.complete(
        Prompt.raw("Once upon a time"),
        max_tokens=12,
        sampling=GREEDY,
        hooks=Hooks(on_token=lambda n, _: counts.append(n)),
    )
    counted = engine.count_tokens("Once upon a time")
    engine.close()
    assert counts == list(range(1, 13)) and done.completion_tokens == 12
    assert engine.info.exact_counts and counted == 4  # the server's tokenizer, BOS left out


def test_seeded_chat_repeats_and_thinking_passes(chat_server: OpenAIServer) -> None:
    config = RemoteConfig(chat_server.url.removesuffix("/v1"), "tiny-chat", api_key="right-key")
    engine = RemoteEngine(config)
    prompt = Prompt.chat([Turn("system", "Be brief."), Turn("user", "Say hello.")])
    seeded = Sampling(temperature=1.0, top_k=50, top_p=1.0, seed=7)
    first = engine.complete(prompt, max_tokens=10, sampling=seeded)
    second = engine.complete(prompt, max_tokens=10, sampling=seeded)
    thinking = engine.complete(Prompt.chat(prompt.turns, thinking=True), max_tokens=4, sampling=seeded)
    engine.close()
    assert first.text == second.text and first.completion_tokens == second.completion_tokens
    assert thinking.completion_tokens >= 1
    assert engine.info.kind == "openai" and not engine.info.can_prefill


def test_structured_output_is_refused_where_the_server_has_no_json_schema_mode(chat_server: OpenAIServer) -> None:
    engine = RemoteEngine(RemoteConfig(chat_server.url.removesuffix("/v1"), "tiny-chat", api_key="right-key"))
    schema = Constraint(json_schema={"type": "object", "properties": {"a": {"type": "integer"}}})
    with pytest.raises(RemoteEngineError, match="refused structured output") as caught:
        engine.complete(Prompt.chat([Turn("user", "Hi")]), max_tokens=8, sampling=GREEDY, constraint=schema)
    engine.close()
    assert "json_schema" in str(caught.value) and "HTTP 500" in str(caught.value)  # with the server's own words


async def test_wrong_key_and_unknown_model_are_plain_errors(
    connect_once: ClientFactory, chat_server: OpenAIServer, tiny_embed: Path
) -> None:
    common = {"model": "tiny-chat", "backend_chat": True}
    async with connect_once(remote_settings(chat_server, tiny_embed, backend_api_key="wrong", **common)) as client:
        refused = await client.call_tool("generate", {"prompt": "Hi", "max_tokens": 2})
        assert (await client.call_tool("languages", {})).is_error is False  # still serving
    assert refused.is_error and "refused the API key" in refused.content[0].text
    assert "--backend-api-key" in refused.content[0].text
    settings = remote_settings(chat_server, tiny_embed, backend_api_key="right-key", model="no-such-model")
    async with connect_once(settings) as client:
        unknown = await client.call_tool("generate", {"prompt": "Hi", "max_tokens": 2})
    assert unknown.is_error and "does not serve a model named 'no-such-model'" in unknown.content[0].text
    assert "'tiny-chat'" in unknown.content[0].text


async def test_unreachable_server_is_a_plain_error(connect_once: ClientFactory, tiny_embed: Path) -> None:
    settings = Settings(backend=f"http://127.0.0.1:{free_port()}/v1", model="m", embed_model=str(tiny_embed))
    async with connect_once(settings) as client:
        failed = await client.call_tool("generate", {"prompt": "Hi", "max_tokens": 2})
        again = await client.call_tool("languages", {})
    assert failed.is_error and "cannot reach http://127.0.0.1:" in failed.content[0].text
    assert "--backend" in failed.content[0].text
    assert not again.is_error


async def test_server_killed_mid_stream(
    connect_once: ClientFactory, gemma: Path, tiny_embed: Path, tmp_path: Path
) -> None:
    server = start_server(gemma, GEMMA, tmp_path / "doomed.log", n_ctx=4096)
    log = TimedProgress()
    results: list[Any] = []
    try:
        async with connect_once(remote_settings(server, tiny_embed)) as client:
            async with anyio.create_task_group() as tg:

                async def call() -> None:
                    results.append(await client.call_tool("generate", LONG, progress_callback=log))

                tg.start_soon(call)
                await log.wait_for_tokens(3)
                server.kill()
            after = await client.call_tool("generate", {"prompt": "Hi", "max_tokens": 2})
            still = await client.call_tool("languages", {})
    finally:
        server.stop()
    dropped = results[0]
    assert dropped.is_error and "dropped the connection" in dropped.content[0].text, dropped.content
    assert after.is_error and "cannot reach" in after.content[0].text
    assert not still.is_error


def test_info_lists_what_each_backend_offers(
    gemma_server: OpenAIServer, tiny_embed: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    unreachable = f"http://127.0.0.1:{free_port()}"
    args = ["info", "--backend", gemma_server.url, "--embed-backend", unreachable, "--embed-model", "e"]
    assert main(args) == 0
    info = json.loads(capsys.readouterr().out)
    backends = {b["url"]: b for b in info["backends"]}
    assert backends[gemma_server.url.removesuffix("/v1")]["models"] == [{"id": GEMMA, "context": None}]
    assert "cannot reach" in backends[unreachable]["error"]
