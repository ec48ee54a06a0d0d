"""Structured output through a real MCP client: schemas and choices enforced while decoding, refusals, validation."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import jsonschema
import pytest
from mcp import Client

from mcp_open.edge.server import build_server
from mcp_open.edge.wiring import compose
from mcp_open.engines.scripted import ScriptedEngine
from mcp_open.runtime.slots import LoadedModel
from mcp_open.settings import Settings
from tests.conftest import ClientFactory, tiny_settings

pytestmark = pytest.mark.anyio

PERSON = {
    "type": "object",
    "properties": {
        "person": {
            "type": "object",
            "properties": {
                "name": {"type": "string", "maxLength": 16},
                "age": {"type": "integer", "minimum": 0, "maximum": 120},
            },
            "required": ["name", "age"],
        },
        "tags": {"type": "array", "items": {"type": "string", "maxLength": 10}, "minItems": 1, "maxItems": 3},
        "mood": {"enum": ["happy", "sad", "neutral"]},
        "note": {"type": "string", "maxLength": 12},
    },
    "required": ["person", "tags", "mood"],
}
# Bounded everywhere, so even the tiny model's noise finishes within a small budget.
SMALL = {
    "type": "object",
    "properties": {
        "ok": {"type": "boolean"},
        "n": {"type": "integer", "minimum": 0, "maximum": 9},
        "kind": {"enum": ["a", "b"]},
    },
    "required": ["ok", "n", "kind"],
}


def gemma_settings(gemma: Path, tiny_embed: Path) -> Settings:
    return Settings(model=str(gemma), embed_model=str(tiny_embed), ctx=2048, threads=2)


def error_text(result: Any) -> str:
    assert result.is_error, result.structured_content
    return str(result.content[0].text)


def assert_matches(result: Any, schema: dict[str, Any]) -> Any:
    assert not result.is_error, result.content
    data = result.structured_content["data"]
    jsonschema.validate(data, schema)
    assert json.loads(result.structured_content["text"]) == data
    return data


@pytest.mark.slow
async def test_gemma_fills_nested_objects_arrays_and_enums_and_picks_a_choice(
    connect_once: ClientFactory, gemma: Path, tiny_embed: Path
) -> None:
    prompt = "Describe Ada, a 36 year old engineer who loves chess, as a record."
    choices = ["bug report", "feature request", "question"]
    ticket = "Ticket: 'The app crashes when I press save.' Category:"
    async with connect_once(gemma_settings(gemma, tiny_embed)) as client:
        results = [
            await client.call_tool("generate", {"prompt": prompt, "json_schema": PERSON, "max_tokens": 120, "seed": s})
            for s in (1, 2)
        ]
        chosen = await client.call_tool("generate", {"prompt": ticket, "choices": choices, "max_tokens": 8})
    for result in results:
        data = assert_matches(result, PERSON)
        assert 1 <= len(data["tags"]) <= 3 and set(data["person"]) == {"name", "age"}
        assert set(data) <= set(PERSON["properties"])  # no invented keys
    assert not chosen.is_error, chosen.content
    assert chosen.structured_content["data"] in choices
    assert chosen.structured_content["text"] == chosen.structured_content["data"]


async def test_tiny_model_output_always_validates(connect: ClientFactory, tiny_chat: Path, tiny_embed: Path) -> None:
    async with connect(tiny_settings(tiny_chat, tiny_embed)) as client:
        for seed in range(4):
            result = await client.call_tool(
                "generate", {"prompt": "Fill it in.", "json_schema": SMALL, "max_tokens": 40, "seed": seed}
            )
            assert_matches(result, SMALL)
        chosen = await client.call_tool("generate", {"prompt": "Pick.", "choices": ["red", "green"], "max_tokens": 4})
    assert chosen.structured_content["data"] in ("red", "green")


async def test_thinking_then_a_constrained_answer(
    connect_once: ClientFactory, tiny_chat: Path, tiny_embed: Path
) -> None:
    args = {"prompt": "Think, then answer.", "json_schema": SMALL, "thinking": True, "max_tokens": 80, "seed": 3}
    async with connect_once(tiny_settings(tiny_chat, tiny_embed)) as client:
        result = await client.call_tool("generate", args)
    assert_matches(result, SMALL)
    assert result.structured_content["reasoning"]  # the tiny model's noise, but it was thinking
    assert result.structured_content["usage"]["completion_tokens"] <= 80


@pytest.mark.parametrize(
    ("schema", "named"),
    [
        ({"type": "array", "items": {"type": "string"}, "uniqueItems": True}, "'uniqueItems' at #"),
        ({"type": "object", "properties": {"a": {"not": {"type": "string"}}}}, "'not' at #/properties/a"),
        ({"oneOf": [{"type": "string"}, {"type": "integer"}]}, "'oneOf' at #"),
        ({"type": "string", "format": "hostname"}, "format 'hostname'"),
        ({"$ref": "https://example.com/schema.json"}, "points outside the schema"),
    ],
)
async def test_unsupported_keywords_are_refused_by_name(
    connect_once: ClientFactory, tiny_chat: Path, tiny_embed: Path, schema: dict[str, Any], named: str
) -> None:
    async with connect_once(tiny_settings(tiny_chat, tiny_embed)) as client:
        result = await client.call_tool("generate", {"prompt": "x", "json_schema": schema})
        info = json.loads((await client.read_resource("mcp-open://info")).contents[0].text)
    text = error_text(result)
    assert named in text and ("supported keywords: type" in text or "formats" in text or "local" in text)
    assert info["models"][0]["state"] != "loaded"  # refused before any model was loaded


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ({"json_schema": {"type": "strnig"}}, "not a valid JSON Schema"),
        ({"json_schema": {"type": "object", "required": "name"}}, "not a valid JSON Schema"),
        ({"json_schema": {"type": "string"}, "choices": ["a"]}, "not both"),
        ({"choices": []}, "between 1 and"),
        ({"choices": ["a", "a"]}, "distinct"),
        ({"json_schema": {"type": "string"}, "stop": ["x"]}, "'stop' cannot be combined"),
    ],
)
async def test_invalid_requests_are_refused(
    connect_once: ClientFactory, tiny_chat: Path, tiny_embed: Path, args: dict[str, Any], expected: str
) -> None:
    async with connect_once(tiny_settings(tiny_chat, tiny_embed)) as client:
        result = await client.call_tool("generate", {"prompt": "x", **args})
        assert expected in error_text(result)
        still = await client.call_tool("generate", {"prompt": "x", "max_tokens": 2})
    assert not still.is_error


@asynccontextmanager
async def scripted_client(engine: ScriptedEngine) -> AsyncIterator[Client]:
    settings = Settings(model="scripted", embed_model="scripted")
    service = compose(settings, loader=lambda *_: LoadedModel(engine, 0.0))
    async with Client(build_server(settings, service)) as client:
        yield client


async def test_schema_is_shown_to_the_model_and_the_answer_validated() -> None:
    engine = ScriptedEngine(replies=[['{"ok": true, "n": 3, "kind": "a"}'], ['{"ok": 1}'], ['{"ok": tr']])
    async with scripted_client(engine) as client:
        good = await client.call_tool("generate", {"prompt": "Check it.", "json_schema": SMALL})
        wrong = await client.call_tool("generate", {"prompt": "Check it.", "json_schema": SMALL})
        cut = await client.call_tool("generate", {"prompt": "Check it.", "json_schema": SMALL, "max_tokens": 1})
    assert good.structured_content["data"] == {"ok": True, "n": 3, "kind": "a"}
    rendered = engine.calls[0].rendered
    assert "Check it.\n\n" in rendered and json.dumps(SMALL, separators=(",", ":")) in rendered
    constraint = engine.calls[0].constraint
    assert constraint is not None and constraint.json_schema is not None
    assert constraint.json_schema["additionalProperties"] is False  # the decoder never invents keys
    assert "does not match the schema" in error_text(wrong)
    assert "max_tokens=1" in error_text(cut)


async def test_engines_without_constraints_refuse() -> None:
    class Plain(ScriptedEngine):
        @property
        def info(self) -> Any:
            from dataclasses import replace

            return replace(super().info, constraints=False)

    async with scripted_client(Plain()) as client:
        result = await client.call_tool("generate", {"prompt": "x", "choices": ["a", "b"]})
    assert "cannot constrain its output" in error_text(result)


@pytest.mark.slow
async def test_cancel_mid_object_stops_the_decoder(connect_once: ClientFactory, gemma: Path, tiny_embed: Path) -> None:
    long_list = {"type": "array", "items": {"type": "string", "maxLength": 12}, "minItems": 400}
    args = {"prompt": "List words.", "json_schema": long_list, "max_tokens": 3000}
    seen: list[float] = []

    async def progress(p: float, total: float | None, message: str | None) -> None:
        seen.append(p)

    async with connect_once(gemma_settings(gemma, tiny_embed)) as client:
        async with anyio.create_task_group() as tg:
            tg.start_soon(lambda: client.call_tool("generate", args, progress_callback=progress))
            with anyio.fail_after(60):
                while not any(p >= 5 for p in seen):
                    await anyio.sleep(0.02)
            tg.cancel_scope.cancel()
        started = time.monotonic()
        after = await client.call_tool("generate", {"prompt": "Hi", "choices": ["yes", "no"], "max_tokens": 4})
        waited = time.monotonic() - started
        info = json.loads((await client.read_resource("mcp-open://info")).contents[0].text)
    stats = next(m for m in info["models"] if m["role"] == "generation")
    assert not after.is_error and after.structured_content["data"] in ("yes", "no")
    assert stats["tokens_generated"] < 300, stats  # 3000 were allowed; the decoder stopped at the cancel
    assert waited < 20


INVOICE = {
    "type": "object",
    "properties": {
        "supplier": {"type": "string", "maxLength": 30},
        "total": {"type": "number", "minimum": 0},
        "currency": {"enum": ["EUR", "USD", "GBP"]},
    },
    "required": ["supplier", "total", "currency"],
}
INVOICES = {
    "a.txt": "Invoice from Acme Tools. Total due: 120.50 EUR.",
    "b.txt": "Bill of Northwind Traders, amount 75 USD, thank you.",
}


@pytest.mark.slow
async def test_one_validated_object_per_file_and_json_lines(
    connect_once: ClientFactory, gemma: Path, tiny_embed: Path, tmp_path: Path
) -> None:
    for name, text in INVOICES.items():
        (tmp_path / name).write_text(text)
    settings = gemma_settings(gemma, tiny_embed).model_copy(update={"allow_dirs": [tmp_path]})
    args = {"prompt": "Extract the invoice.", "files": ["*.txt"], "each": True, "json_schema": INVOICE}
    async with connect_once(settings) as client:
        answers = await client.call_tool("generate", {**args, "max_tokens": 96, "seed": 1})
        written = await client.call_tool("generate", {**args, "max_tokens": 96, "seed": 2, "output_path": "out.jsonl"})
        folder = await client.call_tool("generate", {**args, "output_path": str(tmp_path) + "/"})
    assert not answers.is_error, answers.content
    files = answers.structured_content["files"]
    assert [f["path"] for f in files] == sorted(INVOICES)
    for item in files:
        jsonschema.validate(item["data"], INVOICE)
        assert json.loads(item["text"]) == item["data"]
    assert not written.is_error, written.content
    assert [w["path"] for w in written.structured_content["written"]] == ["out.jsonl"]
    rows = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [r["path"] for r in rows] == sorted(INVOICES)
    for row in rows:
        jsonschema.validate(row["data"], INVOICE)
    assert "name the file to write" in error_text(folder)  # JSON Lines go to one file, not a folder


def test_the_docs_list_the_supported_subset() -> None:
    from mcp_open.features.generate.structured import ANNOTATIONS, FORMATS, SUPPORTED

    section = (Path(__file__).resolve().parent.parent / "docs" / "structured-output.md").read_text()
    for word in [*SUPPORTED, *FORMATS, *ANNOTATIONS]:
        assert f"`{word}`" in section, word


def test_dates_decode_only_as_real_calendar_days(tiny_chat: Path) -> None:
    import datetime
    import re

    from mcp_open.engines.llama import EngineConfig, LlamaEngine
    from mcp_open.engines.protocol import Constraint
    from mcp_open.features.generate.structured import DATE_PATTERN, decoding_schema

    for year in (1, 4, 100, 400, 1900, 2000, 2024, 2025, 9999):
        for month in range(1, 13):
            for day in range(1, 32):
                text = f"{year:04d}-{month:02d}-{day:02d}"
                try:
                    real = datetime.date.fromisoformat(text) is not None
                except ValueError:
                    real = False
                assert bool(re.fullmatch(DATE_PATTERN, text)) == real, text
    engine = LlamaEngine(str(tiny_chat), EngineConfig(n_ctx=256))
    schema = decoding_schema({"type": "string", "format": "date"})

    def decodable(text: str) -> bool:
        guide = engine.guides().compile(Constraint(json_schema=schema))
        tokens = engine.tokenize(f'"{text}"', add_special=False)
        while tokens:
            if not guide.allows(tokens[0]):
                return False
            forced = guide.accept(tokens.pop(0))  # tokens the grammar forces are already taken
            if tokens[: len(forced)] != forced:
                return False
            del tokens[: len(forced)]
        return guide.finished

    try:
        assert decodable("2024-02-29") and not decodable("2025-02-29") and not decodable("0000-01-01")
    finally:
        engine.close()


def test_a_run_of_digits_ends_unless_the_grammar_needs_more(tiny_chat: Path) -> None:
    import numpy as np

    from mcp_open.engines.constraints import MAX_DIGIT_RUN
    from mcp_open.engines.llama import EngineConfig, LlamaEngine
    from mcp_open.engines.protocol import Constraint

    engine = LlamaEngine(str(tiny_chat), EngineConfig(n_ctx=256))
    one = engine.tokenize("1", add_special=False)[0]

    def after_digits(schema: dict[str, Any], opening: str) -> tuple[bool, float]:
        guide = engine.guides().compile(Constraint(json_schema=schema))
        for token in engine.tokenize(opening, add_special=False) + [one] * MAX_DIGIT_RUN:
            guide.accept(token)
        logits = np.zeros(guide._n_vocab, dtype=np.float32)
        guide.restrict(logits)
        return guide.allows(one), float(logits[one])

    try:
        # A number may stop: no more digits. A pattern that demands more digits still gets them.
        assert after_digits({"type": "number"}, "") == (False, -np.inf)
        assert after_digits({"type": "string", "pattern": "^[0-9]{40}$"}, '"') == (False, 0.0)
    finally:
        engine.close()
