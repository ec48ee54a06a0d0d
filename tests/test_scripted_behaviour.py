"""Exact token streams through the real server: stops, thinking, output cleaning, translation prompts, limits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest

from mcp_open.engines.scripted import HOLD, ScriptedEngine
from tests.conftest import ClientFactory, count_tokens, tiny_settings
from tests.scripted import scripted_client

pytestmark = pytest.mark.anyio


def text_of(result: Any) -> str:
    return " ".join(getattr(block, "text", "") for block in result.content)


async def test_a_stop_string_cuts_the_text_and_ends_the_call() -> None:
    chat = ScriptedEngine(replies=[["Hello", " wor", "ld", " ST", "OP", " never"]])
    async with scripted_client(chat) as client:
        result = await client.call_tool("generate", {"prompt": "Hi", "stop": ["STOP"]})
    out = result.structured_content
    assert out["text"] == "Hello world"
    assert out["finish_reason"] == "stop"
    assert out["usage"]["completion_tokens"] == 5  # the token that completed the stop string was sampled
    assert chat.calls[0].stop == ("STOP",)


async def test_budget_ends_with_length_and_never_exceeds_max_tokens() -> None:
    chat = ScriptedEngine(replies=[["w "] * 50])
    async with scripted_client(chat) as client:
        result = await client.call_tool("generate", {"prompt": "Hi", "max_tokens": 7})
    assert result.structured_content["finish_reason"] == "length"
    assert result.structured_content["usage"]["completion_tokens"] == 7


async def test_model_that_closes_its_thought_gets_its_answer_continued() -> None:
    chat = ScriptedEngine(
        replies=[["<think>", "I ", "reason", "</think>", "ignored"], ["The ", "answer", "<|im_end|>", "x"]]
    )
    async with scripted_client(chat) as client:
        result = await client.call_tool("generate", {"prompt": "Why?", "thinking": True, "max_tokens": 200})
    out = result.structured_content
    assert out["text"] == "The answer"
    assert out["reasoning"] == "I reason"
    assert chat.calls[0].stop == ("</think>",)
    assert "<think>\n\n</think>" not in chat.calls[0].rendered  # thinking on: no empty think block
    assert chat.calls[1].rendered.endswith("<|im_start|>assistant\n<think>I reason</think>\n\n")
    # thought (4, its stop token included) + the closing tag (1 scripted token) + answer (2)
    assert out["usage"]["completion_tokens"] == 7


async def test_a_long_thought_is_closed_and_the_answer_keeps_its_reserve() -> None:
    chat = ScriptedEngine(replies=[["<think>"] + ["hmm "] * 200, ["ans", "<|im_end|>"]])
    async with scripted_client(chat) as client:
        result = await client.call_tool("generate", {"prompt": "Why?", "thinking": True, "max_tokens": 64})
    out = result.structured_content
    assert out["text"] == "ans"
    assert out["reasoning"].startswith("hmm")
    assert chat.calls[0].max_tokens == 64 - 16 - 1  # a quarter (at least 16) kept for the answer, 1 for </think>
    assert chat.calls[1].max_tokens == 64 - chat.calls[0].max_tokens - 1
    assert out["usage"]["completion_tokens"] <= 64


async def test_a_model_that_answers_without_thinking_returns_at_once() -> None:
    chat = ScriptedEngine(replies=[["Direct ", "answer", "<|im_end|>"]])
    async with scripted_client(chat) as client:
        result = await client.call_tool("generate", {"prompt": "Why?", "thinking": True})
    assert result.structured_content["text"] == "Direct answer"
    assert result.structured_content["reasoning"] is None
    assert len(chat.calls) == 1


async def test_thinking_off_sends_the_empty_think_block_and_strips_stray_tags() -> None:
    chat = ScriptedEngine(replies=[["<think>", "x", "</think>", "Plain"]])
    async with scripted_client(chat) as client:
        result = await client.call_tool("generate", {"prompt": "Hi"})
    assert chat.calls[0].rendered.endswith("<think>\n\n</think>\n\n")
    assert result.structured_content["text"] == "Plain"


async def test_translation_output_is_cleaned_and_keeps_the_source_spacing() -> None:
    chat = ScriptedEngine(replies=[["Here is the translation:", ' "Bonjour', ' le monde"']])
    async with scripted_client(chat) as client:
        result = await client.call_tool(
            "translate", {"text": "  Hello world, how are you?  ", "target_lang": "fr", "source_lang": "en"}
        )
    assert result.structured_content["translations"][0]["text"] == "  Bonjour le monde  "


async def test_translation_keeps_quotes_the_source_had() -> None:
    chat = ScriptedEngine(replies=[['"Bonjour"']])
    async with scripted_client(chat) as client:
        result = await client.call_tool("translate", {"text": '"Hello"', "target_lang": "fr", "source_lang": "en"})
    assert result.structured_content["translations"][0]["text"] == '"Bonjour"'


async def test_translation_prompt_carries_languages_formality_and_untranslated_context() -> None:
    chat = ScriptedEngine(replies=[["Sehr geehrte Damen und Herren"]])
    args = {
        "text": "Dear Sir or Madam",
        "target_lang": "de",
        "source_lang": "en",
        "formality": "more",
        "context": "A letter to a tax office.",
    }
    async with scripted_client(chat) as client:
        result = await client.call_tool("translate", args)
    assert result.structured_content["translations"][0]["text"] == "Sehr geehrte Damen und Herren"
    system, user = chat.calls[0].prompt.turns
    assert (system.role, user.role) == ("system", "user")
    assert "from English into German" in system.content
    assert "formal register" in system.content
    assert "A letter to a tax office." in system.content and "do not translate it" in system.content
    assert user.content == "Dear Sir or Madam"  # only the text is translated
    assert chat.calls[0].sampling.temperature == 0.0


@pytest.mark.parametrize(("formality", "phrase"), [("less", "informal register"), ("prefer_more", "Prefer a formal")])
async def test_each_formality_reaches_the_prompt(formality: str, phrase: str) -> None:
    chat = ScriptedEngine(replies=[["Salut"]])
    args = {"text": "Hello there", "target_lang": "fr", "source_lang": "en", "formality": formality}
    async with scripted_client(chat) as client:
        await client.call_tool("translate", args)
    assert phrase in chat.calls[0].prompt.turns[0].content


async def test_paragraphs_are_translated_one_by_one_and_separators_kept() -> None:
    chat = ScriptedEngine(replies=[["Un"], ["Deux"]])
    async with scripted_client(chat) as client:
        result = await client.call_tool(
            "translate", {"text": "One.\n\n\nTwo.\n", "target_lang": "fr", "source_lang": "en"}
        )
    assert result.structured_content["translations"][0]["text"] == "Un\n\n\nDeux\n"
    assert [c.prompt.turns[1].content for c in chat.calls] == ["One.", "Two.\n"]


async def test_items_without_a_detectable_language_pass_through() -> None:
    chat = ScriptedEngine(replies=[["Bonjour, comment allez-vous aujourd'hui ?"]])
    async with scripted_client(chat) as client:
        result = await client.call_tool(
            "translate", {"text": ["42", "Hello, how are you today?", "-- ;;"], "target_lang": "fr"}
        )
    assert not result.is_error, text_of(result)
    items = result.structured_content["translations"]
    assert [i["text"] for i in items] == ["42", "Bonjour, comment allez-vous aujourd'hui ?", "-- ;;"]
    assert [i["detected_source_lang"] for i in items] == [None, "en", None]
    assert items[0]["note"] and "source_lang" in items[0]["note"]
    assert len(chat.calls) == 1


async def test_rank_wraps_the_query_in_the_instruction_for_qwen_embedders() -> None:
    embedder = ScriptedEngine(embedding=True, architecture="qwen3")
    async with scripted_client(embedder=embedder) as client:
        await client.call_tool(
            "rank", {"query": "capital", "documents": ["Paris", "Rome"], "instruction": "Find the city"}
        )
        await client.call_tool("rank", {"query": "capital", "documents": ["Paris"]})
    assert embedder.embedded[0] == ["Instruct: Find the city\nQuery:capital", "Paris", "Rome"]
    assert embedder.embedded[1][0].startswith("Instruct: Given a query, retrieve")


async def test_rank_leaves_queries_alone_for_other_embedders() -> None:
    embedder = ScriptedEngine(embedding=True, architecture="gemma3")
    async with scripted_client(embedder=embedder) as client:
        await client.call_tool("rank", {"query": "capital", "documents": ["Paris"], "instruction": "ignored"})
    assert embedder.embedded[0][0] == "capital"


async def test_rank_orders_by_meaning_of_the_scripted_vectors() -> None:
    async with scripted_client(embedder=ScriptedEngine(embedding=True, architecture=None)) as client:
        result = await client.call_tool(
            "rank", {"query": "red apple", "documents": ["blue sky", "red apple pie", "green grass"], "top_k": 2}
        )
    ranked = result.structured_content["results"]
    assert ranked[0]["index"] == 1 and len(ranked) == 2


async def test_the_servers_timeout_stops_a_busy_engine_and_frees_it() -> None:
    chat = ScriptedEngine(replies=[["a", HOLD], ["free"]])
    async with scripted_client(chat, timeout=0.3) as client:
        stuck = await client.call_tool("generate", {"prompt": "Hi"})
        assert stuck.is_error and "--timeout of 0.3 s" in text_of(stuck)
        assert chat.stopped_by_caller == 1  # the engine was told to stop, and did
        after = await client.call_tool("generate", {"prompt": "Again"})
    assert after.structured_content["text"] == "free"


async def test_a_timeout_inside_the_work_is_not_called_the_servers_timeout() -> None:
    def slow_backend(_prompt: str) -> list[str]:
        raise TimeoutError("the backend took too long")

    async with scripted_client(ScriptedEngine(replies=[slow_backend])) as client:
        result = await client.call_tool("generate", {"prompt": "Hi"})
    assert result.is_error
    assert "--timeout" not in text_of(result)
    assert "TimeoutError" in text_of(result) and "the backend took too long" in text_of(result)


async def test_cancel_frees_the_model_for_the_next_call_at_once() -> None:
    chat = ScriptedEngine(replies=[["a", "b", HOLD], ["next"]])
    async with scripted_client(chat) as client:
        async with anyio.create_task_group() as tg:
            tg.start_soon(lambda: client.call_tool("generate", {"prompt": "Hi"}))
            await anyio.to_thread.run_sync(chat.holding.wait)
            tg.cancel_scope.cancel()
        after = await client.call_tool("generate", {"prompt": "Again"})
    assert after.structured_content["text"] == "next"
    assert chat.stopped_by_caller == 1
    assert chat.tokens_generated == 1  # the cancelled call was counted as nothing; "next" is the only token


async def test_translation_through_the_tiny_models_chat_template(
    connect: ClientFactory, tiny_chat: Path, tiny_embed: Path
) -> None:
    async with connect(tiny_settings(tiny_chat, tiny_embed)) as client:
        result = await client.call_tool(
            "translate", {"text": "Good morning, friends.", "target_lang": "de", "source_lang": "en"}
        )
    assert not result.is_error, text_of(result)
    from mcp_open.features.translate.languages import normalize_source, normalize_target
    from mcp_open.features.translate.translation import system_prompt

    system = system_prompt(normalize_source("en"), normalize_target("de"), None, "default")
    chatml = (
        f"<|im_start|>system\n{system}<|im_end|>\n<|im_start|>user\nGood morning, friends.<|im_end|>\n"
        "<|im_start|>assistant\n<think>\n\n</think>\n\n"
    )
    assert result.structured_content["usage"]["prompt_tokens"] == count_tokens(tiny_chat, chatml)
