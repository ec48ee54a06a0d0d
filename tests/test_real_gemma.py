"""Real output from a real small model (Gemma 3 270M base, from the package index) through the MCP tools."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mcp_open.settings import Settings
from tests.conftest import ClientFactory

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

# Everyday sentences and a French word each translation must contain (greedy decoding, so repeatable).
FRENCH_EXPECTATIONS = {
    "I would like a cup of coffee, please.": "café",
    "The weather is very nice today.": "aujourd",
    "Where is the train station?": "où",
    "The children are playing in the garden.": "enfants",
}


def gemma_settings(gemma: Path) -> Settings:
    return Settings(model=str(gemma), embed_model=str(gemma), ctx=1024, threads=2)


async def test_translates_everyday_sentences_to_french(connect_once: ClientFactory, gemma: Path) -> None:
    sentences = list(FRENCH_EXPECTATIONS)
    async with connect_once(gemma_settings(gemma)) as client:
        result = await client.call_tool("translate", {"text": sentences, "target_lang": "fr"})
    assert not result.is_error, result.content
    translations = result.structured_content["translations"]
    assert len(translations) == len(sentences)
    for sentence, translation in zip(sentences, translations, strict=True):
        assert translation["detected_source_lang"] == "en"
        assert FRENCH_EXPECTATIONS[sentence] in translation["text"].lower(), (sentence, translation["text"])
        assert "\n" not in translation["text"] and not translation["text"].startswith('"')


async def test_translation_keeps_line_breaks_and_markdown(connect_once: ClientFactory, gemma: Path) -> None:
    text = "- I would like a cup of coffee, please.\n- The weather is very nice today.\n\nWhere is the train station?"
    async with connect_once(gemma_settings(gemma)) as client:
        result = await client.call_tool("translate", {"text": text, "target_lang": "fr", "source_lang": "en"})
    out = result.structured_content["translations"][0]["text"]
    lines = out.split("\n")
    assert len(lines) == 4 and lines[2] == ""
    assert lines[0].startswith("- ") and lines[1].startswith("- ")
    assert "café" in lines[0].lower() and "où" in lines[3].lower()


async def test_rank_puts_the_paraphrase_first(connect_once: ClientFactory, gemma: Path) -> None:
    documents = [
        "A chef is cooking pasta.",
        "The rain will stop tomorrow.",
        "A cat is napping on the couch.",
        "The train leaves at noon.",
        "Children are playing football.",
    ]
    async with connect_once(gemma_settings(gemma)) as client:
        ranked = await client.call_tool(
            "rank", {"query": "The cat sleeps on the sofa.", "documents": documents, "top_k": 5}
        )
        market = await client.call_tool(
            "rank",
            {"query": "The stock market fell sharply today.", "documents": [*documents, "Share prices dropped a lot."]},
        )
    assert ranked.structured_content["results"][0]["index"] == 2
    assert market.structured_content["results"][0]["index"] == len(documents)


async def test_generate_returns_fluent_text(connect_once: ClientFactory, gemma: Path) -> None:
    async with connect_once(gemma_settings(gemma)) as client:
        result = await client.call_tool(
            "generate", {"prompt": "The capital of France is", "max_tokens": 24, "temperature": 0, "seed": 1}
        )
    data = result.structured_content
    words = re.findall(r"[A-Za-z]+", data["text"])
    assert "Paris" in data["text"] or "France" in data["text"]
    assert len(words) >= 8
    assert data["usage"]["completion_tokens"] <= 24 and data["usage"]["tokens_per_second"] > 0
