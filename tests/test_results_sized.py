"""Results sized for the calling model: structuredContent complete on its own, a token cap with the way out,
embeddings written to .npy or JSON Lines with a receipt instead of returned."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mcp_open.engines.scripted import ScriptedEngine
from tests.scripted import scripted_client

pytestmark = pytest.mark.anyio

TEXTS = [f"text number {i} about cats" for i in range(200)]  # 200 vectors of 256 numbers: about 60,000 tokens


def text_of(result: object) -> str:
    return result.content[0].text  # type: ignore[attr-defined, no-any-return]


async def test_a_result_over_the_token_cap_is_refused_with_the_way_out(tmp_path: Path) -> None:
    embedder = ScriptedEngine(embedding=True, width=256)
    async with scripted_client(embedder=embedder, allow_dirs=[tmp_path]) as client:
        refused = await client.call_tool("embed", {"texts": TEXTS})
        message = text_of(refused)
        fits = int(message.split("embed at most ")[1].split()[0])
        done = await client.call_tool("embed", {"texts": TEXTS[:fits]})
    assert refused.is_error and refused.structured_content is None
    assert "over this server's limit of 25,000 for what the calling model reads (--max-result-tokens" in message
    assert "pass output_path (a .npy or .jsonl file)" in message
    assert not done.is_error and len(done.structured_content["embeddings"]) == fits  # type: ignore[index]


async def test_the_cap_is_a_setting() -> None:
    async with scripted_client(embedder=ScriptedEngine(embedding=True, width=256), max_result_tokens=1_000) as client:
        small = await client.call_tool("embed", {"texts": TEXTS[:2]})
        refused = await client.call_tool("embed", {"texts": TEXTS[:10]})
    assert not small.is_error
    assert refused.is_error and "limit of 1,000" in text_of(refused)


async def test_read_only_way_out_does_not_offer_output_path() -> None:
    async with scripted_client(embedder=ScriptedEngine(embedding=True, width=256), read_only=True) as client:
        refused = await client.call_tool("embed", {"texts": TEXTS})
    assert refused.is_error and "output_path" not in text_of(refused) and "embed at most" in text_of(refused)


@pytest.mark.parametrize("name", ["vectors.npy", "vectors.jsonl"])
async def test_embed_writes_its_vectors_and_returns_a_receipt(tmp_path: Path, name: str) -> None:
    async with scripted_client(embedder=ScriptedEngine(embedding=True, width=256), allow_dirs=[tmp_path]) as client:
        result = await client.call_tool("embed", {"texts": TEXTS, "output_path": f"out/{name}"})
        again = await client.call_tool("embed", {"texts": TEXTS[:3], "output_path": f"out/{name}"})
        returned = await client.call_tool("embed", {"texts": TEXTS[:3]})
    assert not result.is_error and result.structured_content is not None
    receipt = result.structured_content["written"]
    written = tmp_path / "out" / name
    assert receipt == {
        "path": f"out/{name}",
        "format": name.rsplit(".", 1)[1],
        "count": 200,
        "bytes": written.stat().st_size,
    }
    assert result.structured_content["embeddings"] == [] and result.structured_content["dimensions"] == 256
    if name.endswith(".npy"):
        vectors = np.load(written)
        assert vectors.shape == (200, 256) and vectors.dtype == np.float32
    else:
        lines = [json.loads(line) for line in written.read_text().splitlines()]
        assert [line["index"] for line in lines] == list(range(200)) and len(lines[0]["embedding"]) == 256
        vectors = np.array([line["embedding"] for line in lines], dtype=np.float32)
    first = np.array(returned.structured_content["embeddings"][0], dtype=np.float32)  # type: ignore[index]
    assert np.allclose(vectors[0], first, atol=1e-6)  # the same vectors as returned ones
    assert again.is_error and "already exists; pass overwrite=true" in text_of(again)  # never replaced silently


async def test_embed_output_path_must_name_a_vector_format(tmp_path: Path) -> None:
    embedder = ScriptedEngine(embedding=True)
    async with scripted_client(embedder=embedder, allow_dirs=[tmp_path]) as client:
        refused = await client.call_tool("embed", {"texts": ["a"], "output_path": "vectors.csv"})
    assert refused.is_error and "must end in .npy" in text_of(refused) and not embedder.embedded


async def test_structured_content_stands_alone() -> None:
    """Clients that show the model only structuredContent (Claude Code, pydantic-ai) see the whole result."""
    async with scripted_client(ScriptedEngine(replies=[["a", "short", "answer"]])) as client:
        generated = await client.call_tool("generate", {"prompt": "hi"})
        embedded = await client.call_tool("embed", {"texts": ["one", "two"]})
    assert json.loads(text_of(generated)) == generated.structured_content
    summary = json.loads(text_of(embedded))
    assert embedded.structured_content is not None and len(embedded.structured_content["embeddings"]) == 2
    assert {k: v for k, v in summary.items() if k != "embeddings"} == {
        k: v for k, v in embedded.structured_content.items() if k != "embeddings"
    }
