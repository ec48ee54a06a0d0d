"""Several models side by side, keep-alive unloading, the info resource and the CPU-only warning."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client

from tests.conftest import ClientFactory, tiny_settings
from tests.fakegpu import inject_build

pytestmark = pytest.mark.anyio


async def read_info(client: Client) -> dict[str, Any]:
    return json.loads((await client.read_resource("mcp-open://info")).contents[0].text)


def by_role(info: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {m["role"]: m for m in info["models"]}


async def test_info_describes_each_loaded_model(connect: ClientFactory, tiny_chat: Path, tiny_embed: Path) -> None:
    async with connect(tiny_settings(tiny_chat, tiny_embed)) as client:
        before = by_role(await read_info(client))
        await client.call_tool("generate", {"prompt": "x", "max_tokens": 2})
        info = await read_info(client)
    assert before["generation"]["state"] == "unloaded" and before["embedding"]["state"] == "unloaded"
    gen = by_role(info)["generation"]
    assert gen["state"] == "loaded" and gen["file"] == str(tiny_chat) and gen["source"] == "local"
    assert gen["size_bytes"] == tiny_chat.stat().st_size
    assert gen["architecture"] == "qwen3" and gen["quant"] and gen["context"] == 1024
    assert 0 <= gen["layers_on_gpu"] <= gen["layers_total"] == 2  # how many depends on the build and GPU
    assert gen["load_seconds"] > 0 and gen["chat_template"] is True
    assert by_role(info)["embedding"]["state"] == "unloaded"  # loads only when embedding is used
    assert info["version"] and "gpu_offload" in info["llama_cpp"]


async def test_keep_alive_unloads_idle_models_and_reloads_on_demand(
    connect: ClientFactory, tiny_chat: Path, tiny_embed: Path
) -> None:
    async with connect(tiny_settings(tiny_chat, tiny_embed, keep_alive=0.005)) as client:
        first = await client.call_tool("generate", {"prompt": "a", "max_tokens": 2, "seed": 1})
        with anyio.fail_after(20):
            while by_role(await read_info(client))["generation"]["state"] != "unloaded":
                await anyio.sleep(0.05)
        second = await client.call_tool("generate", {"prompt": "a", "max_tokens": 2, "seed": 1})
        gen = by_role(await read_info(client))["generation"]
    assert not first.is_error and not second.is_error
    assert first.structured_content["text"] == second.structured_content["text"]
    assert gen["loads"] == 2


async def test_translate_model_is_its_own_instance(
    connect: ClientFactory, tiny_chat: Path, tiny_base: Path, tiny_embed: Path
) -> None:
    async with connect(tiny_settings(tiny_chat, tiny_embed, translate_model=str(tiny_base))) as client:
        translated = await client.call_tool(
            "translate", {"text": "Good morning", "target_lang": "de", "source_lang": "en"}
        )
        generated = await client.call_tool("generate", {"prompt": "x", "max_tokens": 2})
        roles = by_role(await read_info(client))
    assert translated.structured_content["model"] == tiny_base.name
    assert generated.structured_content["model"] == tiny_chat.name
    assert set(roles) == {"generation", "translation", "embedding"}
    assert roles["translation"]["state"] == roles["generation"]["state"] == "loaded"


async def test_cpu_build_with_gpu_layers_still_serves_and_says_so(
    connect: ClientFactory, tiny_chat: Path, tiny_embed: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inject_build(monkeypatch, can_offload=False)  # whatever this machine's build is
    async with connect(tiny_settings(tiny_chat, tiny_embed, gpu_layers=8)) as client:
        result = await client.call_tool("generate", {"prompt": "hi", "max_tokens": 2})
        info = await read_info(client)
    assert not result.is_error
    assert by_role(info)["generation"]["layers_on_gpu"] == 0
    assert "cannot offload" in info["gpu"]["warning"] and "GGML_CUDA=on" in info["gpu"]["warning"]
