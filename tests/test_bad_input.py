"""Each bad input is a clear tool error, and the same server serves the next good call."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from tests.conftest import ClientFactory, count_tokens, tiny_settings

pytestmark = pytest.mark.anyio

GOOD_GENERATE = {"prompt": "Hello", "max_tokens": 4, "seed": 1}


def error_text(result: Any) -> str:
    assert result.is_error, result.structured_content
    return " ".join(getattr(block, "text", "") for block in result.content)


async def assert_still_serves(client: Client) -> None:
    ok = await client.call_tool("generate", GOOD_GENERATE)
    assert not ok.is_error, ok.content
    assert ok.structured_content["usage"]["completion_tokens"] >= 1


async def test_missing_model_file(connect: ClientFactory, tiny_embed: Path, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "model.gguf"
    async with connect(tiny_settings(missing, tiny_embed)) as client:
        text = error_text(await client.call_tool("generate", GOOD_GENERATE))
        assert str(missing) in text or "model.gguf" in text
        assert "not found" in text.lower() or "does not exist" in text.lower() or "no such" in text.lower()
        ok = await client.call_tool("embed", {"texts": ["still here"]})
        assert not ok.is_error


async def test_unreadable_model_path(connect: ClientFactory, tiny_embed: Path, tmp_path: Path) -> None:
    folder = tmp_path / "folder.gguf"
    folder.mkdir()
    async with connect(tiny_settings(folder, tiny_embed)) as client:
        text = error_text(await client.call_tool("generate", GOOD_GENERATE))
        assert "folder.gguf" in text
        assert not (await client.call_tool("embed", {"texts": "x"})).is_error


async def test_file_that_is_not_gguf(connect: ClientFactory, tiny_embed: Path, tmp_path: Path) -> None:
    fake = tmp_path / "fake.gguf"
    fake.write_text("this is not a model\n" * 10)
    async with connect(tiny_settings(fake, tiny_embed)) as client:
        text = error_text(await client.call_tool("generate", GOOD_GENERATE))
        assert "GGUF" in text and "fake.gguf" in text
        assert not (await client.call_tool("embed", {"texts": "x"})).is_error


async def test_prompt_longer_than_context(connect: ClientFactory, tiny_chat: Path, tiny_embed: Path) -> None:
    async with connect(tiny_settings(tiny_chat, tiny_embed, ctx=256)) as client:
        text = error_text(await client.call_tool("generate", {"prompt": "word " * 600, "max_tokens": 4}))
        assert "256" in text and "tokens" in text and "--ctx" in text
        await assert_still_serves(client)


async def test_unknown_language_code(connect: ClientFactory, tiny_chat: Path, tiny_embed: Path) -> None:
    async with connect(tiny_settings(tiny_chat, tiny_embed)) as client:
        text = error_text(await client.call_tool("translate", {"text": "Hello", "target_lang": "xx"}))
        assert "'xx'" in text and "de" in text and "fr" in text and "ja" in text
        ok = await client.call_tool("translate", {"text": "Hello friend", "target_lang": "de", "source_lang": "en"})
        assert not ok.is_error


@pytest.mark.parametrize("texts", [[], ["fine", "   "]])
async def test_empty_texts(connect: ClientFactory, tiny_chat: Path, tiny_embed: Path, texts: list[str]) -> None:
    async with connect(tiny_settings(tiny_chat, tiny_embed)) as client:
        text = error_text(await client.call_tool("embed", {"texts": texts}))
        assert "empty" in text
        assert not (await client.call_tool("embed", {"texts": ["fine"]})).is_error


@pytest.mark.parametrize("max_tokens", [0, -5, 10**7])
async def test_max_tokens_out_of_range(
    connect: ClientFactory, tiny_chat: Path, tiny_embed: Path, max_tokens: int
) -> None:
    async with connect(tiny_settings(tiny_chat, tiny_embed)) as client:
        text = error_text(await client.call_tool("generate", {"prompt": "Hi", "max_tokens": max_tokens}))
        assert "max_tokens" in text
        await assert_still_serves(client)


async def test_max_tokens_above_server_cap(connect: ClientFactory, tiny_chat: Path, tiny_embed: Path) -> None:
    async with connect(tiny_settings(tiny_chat, tiny_embed, max_tokens=64)) as client:
        text = error_text(await client.call_tool("generate", {"prompt": "Hi", "max_tokens": 65}))
        assert "64" in text and "--max-tokens" in text
        await assert_still_serves(client)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ({"prompt": "Hi", "messages": [{"role": "user", "content": "Hi"}]}, ["exactly one", "prompt", "messages"]),
        ({}, ["exactly one", "prompt", "messages"]),
        ({"messages": []}, ["messages", "empty"]),
    ],
    ids=["both", "neither", "empty-messages"],
)
async def test_prompt_xor_messages(
    connect: ClientFactory, tiny_chat: Path, tiny_embed: Path, args: dict[str, Any], expected: list[str]
) -> None:
    async with connect(tiny_settings(tiny_chat, tiny_embed)) as client:
        text = error_text(await client.call_tool("generate", {"max_tokens": 4, **args}))
        assert all(word in text for word in expected), text
        await assert_still_serves(client)


async def test_bad_role_and_unknown_tool(connect: ClientFactory, tiny_chat: Path, tiny_embed: Path) -> None:
    async with connect(tiny_settings(tiny_chat, tiny_embed)) as client:
        bad_role = await client.call_tool("generate", {"messages": [{"role": "wizard", "content": "x"}]})
        assert bad_role.is_error and "role" in error_text(bad_role)
        await assert_still_serves(client)


async def test_odd_context_size_keeps_errors_clear(connect: ClientFactory, tiny_chat: Path, tiny_embed: Path) -> None:
    # llama.cpp pads a 300-token context to 512; limits must follow the 300 the buffers were sized for.
    async with connect(tiny_settings(tiny_chat, tiny_embed, ctx=300)) as client:
        long_prompt = await client.call_tool("generate", {"prompt": "the model " * 200, "max_tokens": 4})
        long_text = await client.call_tool("embed", {"texts": ["the model " * 200]})
        assert "300" in error_text(long_prompt) and "--ctx" in error_text(long_prompt)
        assert "300" in error_text(long_text) and "truncate" in error_text(long_text)
        await assert_still_serves(client)


async def test_empty_prompt_on_a_base_model(connect: ClientFactory, tiny_base: Path, tiny_embed: Path) -> None:
    async with connect(tiny_settings(tiny_base, tiny_embed)) as client:
        text = error_text(await client.call_tool("generate", {"prompt": "", "max_tokens": 4}))
        assert "empty" in text
        await assert_still_serves(client)


@pytest.mark.parametrize("room", [20, 40])  # below and above the smallest budget worth thinking in
async def test_thinking_with_little_room_still_answers(
    connect: ClientFactory, tiny_chat: Path, tiny_embed: Path, room: int
) -> None:
    async with connect(tiny_settings(tiny_chat, tiny_embed, ctx=256)) as client:
        probe = await client.call_tool("generate", {"prompt": "the", "max_tokens": 1, "thinking": True})
        per_word = count_tokens(tiny_chat, " the")
        filler = (256 - probe.structured_content["usage"]["prompt_tokens"] - room) // per_word
        result = await client.call_tool(
            "generate", {"prompt": "the" + " the" * filler, "max_tokens": 200, "thinking": True, "seed": 2}
        )
    assert not result.is_error, result.content
    usage = result.structured_content["usage"]
    assert usage["prompt_tokens"] + usage["completion_tokens"] <= 256


async def test_seed_beyond_32_bits_is_rejected(connect: ClientFactory, tiny_chat: Path, tiny_embed: Path) -> None:
    async with connect(tiny_settings(tiny_chat, tiny_embed)) as client:
        text = error_text(await client.call_tool("generate", {"prompt": "hi", "seed": 2**40}))
        assert "seed" in text
        await assert_still_serves(client)
