"""Issue 23: what the ledger records, errors by meaning, and calls that must not hold the server."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

import pytest

from mcp_open.engines.scripted import ScriptedEngine
from mcp_open.features.accounting.ledger import ledger_at
from mcp_open.features.files import writing
from tests.scripted import scripted_client


@pytest.mark.anyio
async def test_the_ledger_records_an_oversized_result_as_the_error_the_client_got(tmp_path: Path) -> None:
    embedder = ScriptedEngine(embedding=True, name="scripted-embed", width=4096)
    async with scripted_client(embedder=embedder, data_dir=tmp_path) as client:
        result = await client.call_tool("embed", {"texts": [f"text {i}" for i in range(400)]})
        assert result.is_error and "it was not sent" in result.content[0].text
        ok = await client.call_tool("embed", {"texts": ["one text"]})
        assert not ok.is_error
    rows = ledger_at(tmp_path).totals(by="tool")
    (embed,) = rows
    assert (embed.calls, embed.failed) == (2, 1)
    # What the agent read: one error message and one small result, not 400 vectors of 4,096 numbers.
    assert embed.agent_received < 20_000, embed


def nested(levels: int) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    for _ in range(levels - 1):
        schema = {"type": "object", "properties": {"a": schema}}
    return schema


RECURSIVE_REQUIRED = {
    "$defs": {"node": {"type": "object", "properties": {"child": {"$ref": "#/$defs/node"}}, "required": ["child"]}},
    "$ref": "#/$defs/node",
}
RECURSIVE_OPTIONAL = {
    "$defs": {"node": {"type": "object", "properties": {"child": {"$ref": "#/$defs/node"}}}},
    "$ref": "#/$defs/node",
}


@pytest.mark.anyio
async def test_schema_errors_name_the_cause_without_engine_internals(tmp_path: Path) -> None:
    async with scripted_client(data_dir=tmp_path) as client:
        for schema, expected in [
            (RECURSIVE_REQUIRED, "cannot be satisfied: #/$defs/node always requires itself"),
            (nested(100), "nested more than 64 levels deep"),
        ]:
            result = await client.call_tool("generate", {"prompt": "x", "json_schema": schema, "max_tokens": 8})
            text = result.content[0].text
            assert result.is_error and expected in text, text
            assert "max_tokens" not in text and "unexpected" not in text and "Retrying" not in text
        fine = await client.call_tool("generate", {"prompt": "x", "json_schema": RECURSIVE_OPTIONAL, "max_tokens": 8})
        assert "cannot be satisfied" not in fine.content[0].text


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("code", "meaning"),
    [
        (errno.ENOSPC, "the disk is full; free some space"),
        (errno.EROFS, "the file system is read-only"),
        (errno.ENAMETOOLONG, "the name is too long for the file system; use a shorter"),
    ],
)
async def test_os_errors_are_explained_by_their_meaning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int, meaning: str
) -> None:
    """A full disk or a read-only file system cannot be made here: the write itself fails as the OS would."""

    def failing(*_args: object, **_kwargs: object) -> int:
        raise OSError(code, os.strerror(code), str(tmp_path / "out.txt"))

    monkeypatch.setattr(writing.StagedWrites, "stage", failing)
    async with scripted_client(allow_dirs=[tmp_path], data_dir=tmp_path / "data") as client:
        result = await client.call_tool("generate", {"prompt": "x", "output_path": "out.txt", "max_tokens": 4})
    text = result.content[0].text
    assert result.is_error and meaning in text and errno.errorcode[code] in text, text
    assert "unexpected" not in text and "shorter input or another model" not in text
