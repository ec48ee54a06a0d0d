"""Files with real models: the console script over stdio on the tiny models, and Gemma translating a real file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from mcp import Client

from mcp_open.settings import Settings
from tests.conftest import ClientFactory, stdio_params
from tests.filekit import write_samples

pytestmark = pytest.mark.anyio


async def test_files_over_stdio_with_the_console_script(tiny_chat: Path, tiny_embed: Path, tmp_path: Path) -> None:
    root = write_samples(tmp_path / "work")
    (tmp_path / "secret.txt").write_text("TOP SECRET\n")
    args = ["--model", str(tiny_chat), "--embed-model", str(tiny_embed), "--ctx", "1024", "--threads", "2"]
    env = {"PYTHONPATH": os.environ["PYTHONPATH"]} if "PYTHONPATH" in os.environ else {}  # this checkout's code
    async with Client(stdio_params(*args, "--allow-dir", str(root), "--max-files", "50", env=env)) as client:
        gen = await client.call_tool(
            "generate",
            {"prompt": "Summarise.", "files": ["notes.md", "table.csv"], "max_tokens": 6, "output_path": "sum.txt"},
        )
        ranked = await client.call_tool("rank", {"query": "goodbye", "files": ["*.pdf", "*.md"], "top_k": 2})
        escaped = await client.call_tool("generate", {"prompt": "x", "files": ["../secret.txt"]})
    assert not gen.is_error, gen.content
    (receipt,) = gen.structured_content["written"]
    written = (root / "sum.txt").read_text()
    assert receipt["path"] == "sum.txt" and receipt["bytes"] == len(written.encode())
    assert 1 <= receipt["tokens"] <= 6 and gen.structured_content["text"] == ""
    assert gen.structured_content["usage"]["prompt_tokens"] > 40  # the files were read into the prompt
    assert {r["path"] for r in ranked.structured_content["results"]} <= {"report.pdf", "notes.md"}
    assert escaped.is_error and "outside the allowed folders" in escaped.content[0].text
    assert "TOP SECRET" not in escaped.content[0].text


@pytest.mark.slow
async def test_gemma_translates_a_markdown_file(connect_once: ClientFactory, gemma: Path, tmp_path: Path) -> None:
    (tmp_path / "notes.md").write_text(
        "# Travel\n\nI would like a cup of coffee, please.\n\n- Where is the train station?\n"
    )
    settings = Settings(model=str(gemma), embed_model=str(gemma), ctx=1024, threads=2, allow_dirs=[tmp_path])
    async with connect_once(settings) as client:
        result = await client.call_tool(
            "translate", {"files": ["notes.md"], "target_lang": "fr", "source_lang": "en", "output_path": "."}
        )
    assert not result.is_error, result.content
    translated = (tmp_path / "notes.fr.md").read_text()
    assert result.structured_content["written"][0]["path"] == "notes.fr.md"
    lines = translated.split("\n")
    assert lines[0].startswith("# ") and lines[1] == "" and lines[4].startswith("- "), translated
    assert "café" in translated.lower() and "où" in translated.lower(), translated
