"""Every tool through a real in-memory MCP client, on the tiny qwen3 models (plumbing, templates, accounting)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from llama_cpp import Llama

from mcp_open.engines.llama import EMBED_PACK_TOKENS
from tests.conftest import ClientFactory, count_tokens, tiny_settings

pytestmark = pytest.mark.anyio

EMPTY_THINK = "<think>\n\n</think>\n\n"


def chatml(system: str | None, user: str, *, thinking: bool) -> str:
    """The Qwen3 ChatML prompt, written out by hand."""
    head = f"<|im_start|>system\n{system}<|im_end|>\n" if system else ""
    tail = "" if thinking else EMPTY_THINK
    return f"{head}<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n{tail}"


async def test_lists_tools_with_output_schemas(connect: ClientFactory, tiny_chat: Path, tiny_embed: Path) -> None:
    async with connect(tiny_settings(tiny_chat, tiny_embed)) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    assert set(tools) == {"generate", "translate", "embed", "rank", "search", "languages"}
    for tool in tools.values():
        assert tool.output_schema is not None, tool.name
        assert tool.description and len(tool.description) > 40
    gen_props = tools["generate"].input_schema["properties"]
    assert {
        "prompt",
        "messages",
        "system",
        "max_tokens",
        "thinking",
        "seed",
        "stop",
        "min_p",
        "json_schema",
        "choices",
    } <= set(gen_props)
    assert "req" not in gen_props  # flat arguments, no wrapper object


async def test_generate_uses_chatml_and_counts_tokens(
    connect: ClientFactory, tiny_chat: Path, tiny_embed: Path
) -> None:
    async with connect(tiny_settings(tiny_chat, tiny_embed)) as client:
        result = await client.call_tool(
            "generate", {"prompt": "Say hello.", "system": "Be brief.", "max_tokens": 12, "seed": 1}
        )
    assert not result.is_error, result.content
    data = result.structured_content
    assert data["usage"]["prompt_tokens"] == count_tokens(tiny_chat, chatml("Be brief.", "Say hello.", thinking=False))
    assert 1 <= data["usage"]["completion_tokens"] <= 12
    assert data["usage"]["total_tokens"] == data["usage"]["prompt_tokens"] + data["usage"]["completion_tokens"]
    assert data["finish_reason"] in ("stop", "length")
    assert data["model"] == tiny_chat.name
    assert data["reasoning"] is None


async def test_generate_messages_match_prompt_form(connect: ClientFactory, tiny_chat: Path, tiny_embed: Path) -> None:
    args = {"max_tokens": 8, "seed": 7, "temperature": 0}
    async with connect(tiny_settings(tiny_chat, tiny_embed)) as client:
        as_prompt = await client.call_tool("generate", {"prompt": "Hi there", "system": "S", **args})
        as_messages = await client.call_tool(
            "generate",
            {"messages": [{"role": "system", "content": "S"}, {"role": "user", "content": "Hi there"}], **args},
        )
    assert as_prompt.structured_content["text"] == as_messages.structured_content["text"]
    assert (
        as_prompt.structured_content["usage"]["prompt_tokens"]
        == as_messages.structured_content["usage"]["prompt_tokens"]
    )


async def test_same_seed_same_text_and_max_tokens_is_a_hard_cap(
    connect: ClientFactory, tiny_chat: Path, tiny_embed: Path
) -> None:
    async with connect(tiny_settings(tiny_chat, tiny_embed)) as client:
        runs = [
            await client.call_tool("generate", {"prompt": "Count", "max_tokens": 30, "seed": 42, "temperature": 1.0})
            for _ in range(2)
        ]
    texts = [r.structured_content["text"] for r in runs]
    assert texts[0] == texts[1]
    assert all(r.structured_content["usage"]["completion_tokens"] <= 30 for r in runs)


async def test_thinking_switch_changes_the_prompt(connect: ClientFactory, tiny_chat: Path, tiny_embed: Path) -> None:
    async with connect(tiny_settings(tiny_chat, tiny_embed)) as client:
        off = await client.call_tool("generate", {"prompt": "Why?", "max_tokens": 4, "seed": 3})
        on = await client.call_tool("generate", {"prompt": "Why?", "max_tokens": 64, "seed": 3, "thinking": True})
    think_block = count_tokens(tiny_chat, EMPTY_THINK)
    assert (
        off.structured_content["usage"]["prompt_tokens"] - on.structured_content["usage"]["prompt_tokens"]
        == think_block
    )
    assert off.structured_content["usage"]["prompt_tokens"] == count_tokens(
        tiny_chat, chatml(None, "Why?", thinking=False)
    )


async def test_thinking_budget_never_starves_the_answer(
    connect: ClientFactory, tiny_chat: Path, tiny_embed: Path
) -> None:
    # The noise model never closes its thought, so the server must close it and leave room to answer.
    async with connect(tiny_settings(tiny_chat, tiny_embed)) as client:
        result = await client.call_tool(
            "generate", {"prompt": "Think.", "max_tokens": 64, "seed": 5, "thinking": True, "temperature": 1.0}
        )
    data = result.structured_content
    assert not result.is_error
    assert data["reasoning"]
    assert data["text"].strip()
    assert "<think>" not in data["text"] and "</think>" not in data["text"]
    assert 48 < data["usage"]["completion_tokens"] <= 64


async def test_base_model_plain_completion(connect: ClientFactory, tiny_base: Path, tiny_embed: Path) -> None:
    async with connect(tiny_settings(tiny_base, tiny_embed)) as client:
        result = await client.call_tool("generate", {"prompt": "Once upon a time", "max_tokens": 6, "seed": 1})
    assert not result.is_error
    # No template: the prompt is the text itself.
    assert result.structured_content["usage"]["prompt_tokens"] == count_tokens(tiny_base, "Once upon a time")


async def test_embed_last_token_pooling_and_dimensions(
    connect: ClientFactory, tiny_chat: Path, tiny_embed: Path
) -> None:
    texts = ["first text", "a second, longer text", "third"]
    async with connect(tiny_settings(tiny_chat, tiny_embed)) as client:
        full = await client.call_tool("embed", {"texts": texts})
        cut = await client.call_tool("embed", {"texts": texts, "dimensions": 16})
        raw = await client.call_tool("embed", {"texts": texts[0], "normalize": False})
    vectors = np.array(full.structured_content["embeddings"])
    assert vectors.shape == (3, 64) and full.structured_content["dimensions"] == 64
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert not np.allclose(vectors[0], vectors[1])
    short = np.array(cut.structured_content["embeddings"])
    assert short.shape == (3, 16)
    assert np.allclose(np.linalg.norm(short, axis=1), 1.0, atol=1e-5)
    # Matryoshka: the cut vector is the renormalised head of the raw one.
    raw_vec = np.array(raw.structured_content["embeddings"][0])
    assert np.allclose(short[0], raw_vec[:16] / np.linalg.norm(raw_vec[:16]), atol=1e-5)
    # Batched embedding gives what embedding one text alone gives.
    assert np.allclose(vectors[0], raw_vec / np.linalg.norm(raw_vec), atol=1e-4)


async def test_embed_matches_direct_last_token_pooling(
    tiny_chat: Path, tiny_embed: Path, connect: ClientFactory
) -> None:
    import llama_cpp

    direct = Llama(
        model_path=str(tiny_embed),
        embedding=True,
        n_ctx=256,
        verbose=False,
        pooling_type=llama_cpp.LLAMA_POOLING_TYPE_LAST,
    ).embed(["hello world"], normalize=False)
    async with connect(tiny_settings(tiny_chat, tiny_embed)) as client:
        ours = await client.call_tool("embed", {"texts": ["hello world"], "normalize": False})
    assert np.allclose(np.array(ours.structured_content["embeddings"][0]), np.array(direct[0]), atol=1e-4)


async def test_rank_and_languages(connect: ClientFactory, tiny_chat: Path, tiny_embed: Path) -> None:
    docs = ["alpha", "beta gamma", "delta", "epsilon zeta eta"]
    async with connect(tiny_settings(tiny_chat, tiny_embed)) as client:
        ranked = await client.call_tool("rank", {"query": "beta", "documents": docs, "top_k": 3})
        langs = await client.call_tool("languages", {})
    results = ranked.structured_content["results"]
    assert len(results) == 3
    assert [r["score"] for r in results] == sorted((r["score"] for r in results), reverse=True)
    assert all(docs[r["index"]].startswith(r["text"]) for r in results)
    codes = {lang["code"] for lang in langs.structured_content["languages"]}
    assert {"de", "fr", "ja", "pt-BR", "zh-Hans", "en-GB"} <= codes


async def test_translate_structure_on_tiny_model(connect: ClientFactory, tiny_chat: Path, tiny_embed: Path) -> None:
    async with connect(tiny_settings(tiny_chat, tiny_embed)) as client:
        result = await client.call_tool(
            "translate",
            {
                "text": ["Hello there, how are you today my friend?", "Second text."],
                "target_lang": "FR",
                "source_lang": "en",
            },
        )
    data = result.structured_content
    assert not result.is_error, result.content
    assert data["target_lang"] == "fr"
    assert [t["detected_source_lang"] for t in data["translations"]] == ["en", "en"]
    assert data["usage"]["completion_tokens"] > 0


async def test_embed_packs_a_list_into_few_batches(connect: ClientFactory, tiny_chat: Path, tiny_embed: Path) -> None:
    import json

    texts = [f"number {i} here" for i in range(30)]
    assert sum(count_tokens(tiny_embed, t) + 1 for t in texts) <= EMBED_PACK_TOKENS  # so one batch holds them all
    long_texts = ["the model " * 50 for _ in range(6)]
    per_text = count_tokens(tiny_embed, long_texts[0]) + 1  # plus the EOS the embedder appends
    expected = -(-6 // (min(1024, EMBED_PACK_TOKENS) // per_text))  # equal texts: as many per batch as fit
    async with connect(tiny_settings(tiny_chat, tiny_embed)) as client:
        await client.call_tool("embed", {"texts": texts})
        first = json.loads((await client.read_resource("mcp-open://info")).contents[0].text)
        await client.call_tool("embed", {"texts": long_texts})
        second = json.loads((await client.read_resource("mcp-open://info")).contents[0].text)
    embed_1 = next(m for m in first["models"] if m["role"] == "embedding")
    embed_2 = next(m for m in second["models"] if m["role"] == "embedding")
    assert embed_1["embed_batches"] == 1 and embed_1["texts_embedded"] == 30
    assert 1 < expected < 6
    assert embed_2["embed_batches"] - embed_1["embed_batches"] == expected


async def test_embed_rejects_or_truncates_over_long_texts(
    connect: ClientFactory, tiny_chat: Path, tiny_embed: Path
) -> None:
    texts = ["short", "word " * 2000]
    async with connect(tiny_settings(tiny_chat, tiny_embed, ctx=256)) as client:
        rejected = await client.call_tool("embed", {"texts": texts})
        cut = await client.call_tool("embed", {"texts": texts, "truncate": True})
    message = rejected.content[0].text
    assert rejected.is_error and "texts[1]" in message and "256" in message and "truncate" in message
    assert not cut.is_error and cut.structured_content["truncated"] == [1]
    assert len(cut.structured_content["embeddings"]) == 2
