"""search through a real MCP client on a real corpus on disk: indexing, freshness, cancel, fusion, errors."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any

import anyio
import pytest

from mcp_open.features.search.index_store import IndexStore
from mcp_open.settings import Settings
from tests.conftest import tiny_settings
from tests.filekit import make_pdf
from tests.searchkit import (
    GatedEngine,
    bow_engine,
    client_on,
    passage_texts,
    search,
    search_error,
    search_settings,
    write_corpus,
)

pytestmark = pytest.mark.anyio


class Progress:
    """Collects progress notifications."""

    def __init__(self) -> None:
        self.events: list[tuple[float, float | None, str | None]] = []

    async def __call__(self, progress: float, total: float | None, message: str | None) -> None:
        self.events.append((progress, total, message))

    def messages(self) -> list[str]:
        return [m for _p, _t, m in self.events if m]


def index_file(settings: Settings) -> Path:
    files = list((settings.data_path / "index").glob("*.sqlite3"))
    assert len(files) == 1, files
    return files[0]


def many_files(root: Path, count: int = 30) -> Path:
    """count Markdown files of 3 passages each: more than one engine batch of 64 passages."""
    root.mkdir()
    for i in range(count):
        (root / f"f{i:02}.md").write_text("".join(f"# Part {j}\n\n" + f"word{i} " * 100 + "\n\n" for j in range(3)))
    return root


async def test_first_search_reports_files_and_passages_while_indexing(tmp_path: Path) -> None:
    root = many_files(tmp_path / "corpus")
    engine = GatedEngine(name="gated", embedding=True, width=16, n_ctx=2048, hold_after=2)  # probe + one batch

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append(message or "")
        if message and message.startswith("indexing") and not message.endswith(" 0 passages embedded"):
            engine.release.set()  # the first batch was reported while the call is still running

    seen: list[str] = []
    async with client_on(engine, search_settings(root)) as client:
        result = await client.call_tool("search", {"query": "word7"}, progress_callback=on_progress)
    assert not result.is_error and result.structured_content is not None
    assert result.structured_content["index"]["updated"] == 30
    assert any(m.startswith("indexing: ") and "/30 files read, 6" in m for m in seen), seen


async def test_first_search_indexes_then_reuses_the_index(tmp_path: Path) -> None:
    root = write_corpus(tmp_path / "corpus")
    engine = bow_engine()
    async with client_on(engine, search_settings(root)) as client:
        first = await search(client, "penalty for late delivery", paths=["docs", "src"])
        assert first["index"]["files"] == 5 and first["index"]["updated"] == 5
        assert first["index"]["chunks_embedded"] == first["index"]["chunks"] > 0
        assert first["passages"][0]["path"] == "docs/contracts.md"
        assert first["usage"]["prompt_tokens"] > 0 and first["usage"]["completion_tokens"] == 0
        embedded = len(passage_texts(engine.embedded))
        again = await search(client, "penalty for late delivery", paths=["docs", "src"])
        assert again["index"]["updated"] == 0 and again["index"]["unchanged"] == 5
        assert len(passage_texts(engine.embedded)) == embedded + 1  # only the query
        assert again["passages"] == first["passages"]


async def test_passages_carry_lines_why_and_shown_paths(tmp_path: Path) -> None:
    root = write_corpus(tmp_path / "corpus")
    async with client_on(bow_engine(), search_settings(root)) as client:
        found = await search(client, "parse_retry_header", paths=[str(root / "src")], mode="lexical", top_k=1)
    passage = found["passages"][0]
    assert passage["path"] == "src/http_client.py" and passage["matched"] == "lexical"
    assert passage["start_line"] <= 4 <= passage["end_line"] and passage["page"] is None
    assert "def parse_retry_header" in passage["text"]


async def test_incremental_update_after_edit_add_and_delete(tmp_path: Path) -> None:
    root = write_corpus(tmp_path / "corpus")
    engine = bow_engine()
    async with client_on(engine, search_settings(root)) as client:
        first = await search(client, "tomatoes", paths=["."])
        total = first["index"]["files"]
        (root / "docs" / "garden.md").write_text("# Garden\n\nCucumbers climb the trellis in July.\n")
        (root / "docs" / "birds.md").write_text("# Birds\n\nRobins nest in the hedge every spring.\n")
        (root / "notes.txt").unlink()
        before = len(engine.embedded)
        after = await search(client, "cucumbers trellis", paths=["."], mode="lexical")
        newly = passage_texts(engine.embedded[before:])
        stale = await search(client, "tomatoes watering", paths=["."], mode="lexical")
        gone = await search(client, "launch spring nobody objected", paths=["."], mode="lexical")
    assert after["index"] == after["index"] | {
        "files": total,
        "updated": 2,
        "unchanged": total - 2,
        "removed": 1,
        "chunks_embedded": 2,
    }
    assert sorted(t.split("\n")[0] for t in newly) == ["birds.md > Birds", "garden.md > Garden"]
    assert after["passages"][0]["path"] == "docs/garden.md" and "Cucumbers" in after["passages"][0]["text"]
    assert all("Tomatoes" not in p["text"] for p in stale["passages"])
    assert all(p["path"] != "notes.txt" for p in gone["passages"])


async def test_cancel_mid_index_keeps_what_finished_and_resume_does_the_rest(tmp_path: Path) -> None:
    root = many_files(tmp_path / "corpus")
    engine = GatedEngine(name="gated", embedding=True, width=16, n_ctx=2048, hold_after=2)  # probe + one batch
    settings = search_settings(root)
    async with client_on(engine, settings) as client:
        progress = Progress()
        async with anyio.create_task_group() as tg:
            tg.start_soon(lambda: client.call_tool("search", {"query": "word3"}, progress_callback=progress))
            with anyio.fail_after(30):
                while not engine.holding.is_set():
                    await anyio.sleep(0.01)
            tg.cancel_scope.cancel()
        kept = IndexStore(index_file(settings)).files()
        first_batch = len(passage_texts(engine.embedded[1:]))
        assert 0 < len(kept) < 30 and sum(r.chunks for r in kept.values()) == first_batch
        engine.hold_after = None
        before = len(engine.embedded)
        resumed = await search(client, "word3", mode="lexical")
    assert resumed["index"]["updated"] == 30 - len(kept) and resumed["index"]["unchanged"] == len(kept)
    assert len(passage_texts(engine.embedded[before:])) == 90 - first_batch  # only the rest (lexical: no query)
    assert resumed["passages"][0]["path"] == "f03.md"


async def test_hybrid_finds_an_exact_identifier_that_semantic_alone_misses(tmp_path: Path) -> None:
    root = write_corpus(tmp_path / "corpus", project=False)
    for i in range(8):  # passages full of the words Qwen's query instruction adds, to crowd semantic search
        (root / f"faq{i}.md").write_text(f"# FAQ {i}\n\nGiven a query, retrieve the passages most relevant to it.\n")
    async with client_on(bow_engine(), search_settings(root)) as client:
        semantic = await search(client, "parse_retry_header", mode="semantic", top_k=3)
        hybrid = await search(client, "parse_retry_header", mode="hybrid", top_k=3)
    assert all(p["path"] != "src/http_client.py" for p in semantic["passages"])
    top = hybrid["passages"][0]
    assert top["path"] == "src/http_client.py" and top["matched"] in ("lexical", "both")
    assert {p["matched"] for p in semantic["passages"]} == {"semantic"}


async def test_pdf_passages_carry_pages(tmp_path: Path) -> None:
    root = tmp_path / "corpus"
    root.mkdir()
    (root / "report.pdf").write_bytes(make_pdf(["Revenue grew in the north.", "The penalty clause was invoked."]))
    async with client_on(bow_engine(), search_settings(root)) as client:
        found = await search(client, "penalty clause", mode="lexical", top_k=1)
    passage = found["passages"][0]
    assert passage["page"] == 2 and passage["start_line"] is None and "penalty" in passage["text"]


async def test_an_index_built_by_another_model_is_rebuilt_and_says_so(tmp_path: Path) -> None:
    root = write_corpus(tmp_path / "corpus", project=False)
    settings = search_settings(root)
    async with client_on(bow_engine(width=64), settings) as client:
        await search(client, "backoff")
    async with client_on(bow_engine(width=32), settings) as client:  # same name, other vectors
        rebuilt = await search(client, "backoff")
        again = await search(client, "backoff")
    assert "another embedding model" in rebuilt["index"]["rebuilt"]
    assert rebuilt["index"]["updated"] == rebuilt["index"]["files"] == len(os.listdir(root / "docs")) + 3
    assert again["index"]["rebuilt"] is None and again["index"]["updated"] == 0


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
async def test_a_corrupt_index_file_is_rebuilt_not_a_crash(tmp_path: Path, damage: str) -> None:
    root = write_corpus(tmp_path / "corpus")
    settings = search_settings(root)
    async with client_on(bow_engine(), settings) as client:
        first = await search(client, "backoff", mode="lexical")
    path = index_file(settings)
    data = path.read_bytes()
    path.write_bytes(b"this is not a database " * 400 if damage == "garbage" else data[: len(data) // 3])
    async with client_on(bow_engine(), settings) as client:
        rebuilt = await search(client, "backoff", mode="lexical")
        again = await search(client, "backoff", mode="lexical")
    assert "damaged" in rebuilt["index"]["rebuilt"] and rebuilt["index"]["updated"] == first["index"]["files"]
    assert rebuilt["passages"] == first["passages"] and again["index"]["rebuilt"] is None
    assert path.with_name(path.name + ".corrupt").exists()
    assert sqlite3.connect(path).execute("PRAGMA integrity_check").fetchone() == ("ok",)


async def test_every_path_escape_is_refused(tmp_path: Path) -> None:
    root = write_corpus(tmp_path / "corpus", project=False)
    outside = tmp_path / "secret"
    outside.mkdir()
    (outside / "key.txt").write_text("the launch code is 1234\n")
    (root / "link").symlink_to(outside)
    async with client_on(bow_engine(), search_settings(root)) as client:
        for paths in (["../secret"], [str(outside)], ["link/key.txt"], ["~"], ["../**/*.txt"], ["docs/\x00x"]):
            text = await search_error(client, "launch code", paths=paths)
            revealed = str(outside) in text and not any(str(outside) in p for p in paths)  # a resolved link
            assert "1234" not in text and not revealed and ("outside the allowed" in text or "NUL" in text)
        found = await search(client, "launch code", mode="lexical")  # the symlinked folder is not walked into
    assert all("1234" not in p["text"] for p in found["passages"])


async def test_no_allowed_folder_and_no_embedding_model_are_clear_errors(
    tmp_path: Path, tiny_chat: Path, tiny_embed: Path
) -> None:
    async with client_on(bow_engine(), Settings(model="x", embed_model="y")) as client:
        assert "--allow-dir" in await search_error(client, "anything")
    root = write_corpus(tmp_path / "corpus", project=False)
    settings = tiny_settings(tiny_chat, tmp_path / "missing-embedder.gguf", allow_dirs=[root])
    from mcp import Client

    from mcp_open.edge.server import build_server

    async with Client(build_server(settings)) as client:
        text = await search_error(client, "anything")
    assert "search indexes and queries with the embedding model" in text and "--embed-model" in text


async def test_tiny_embedding_model_indexes_the_projects_own_files(
    tmp_path: Path, tiny_chat: Path, tiny_embed: Path, connect_once: Any
) -> None:
    root = write_corpus(tmp_path / "corpus", readme=False, sources=1)  # the tiny model embeds slowly on 2 cores
    settings = tiny_settings(tiny_chat, tiny_embed, allow_dirs=[root])
    async with connect_once(settings) as client:
        found = await search(client, "parse_retry_header", top_k=3)
        lexical = await search(client, "parse_retry_header", mode="lexical", top_k=1)
        again = await search(client, "reciprocal rank fusion", paths=["project"], top_k=2)
    assert found["index"]["updated"] == found["index"]["files"] == 7 and found["model"] == "tiny-qwen3-embed.gguf"
    assert any(p["path"] == "src/http_client.py" for p in found["passages"])
    assert lexical["passages"][0]["path"] == "src/http_client.py"
    assert again["index"]["updated"] == 0 and all(p["path"].startswith("project/") for p in again["passages"])
