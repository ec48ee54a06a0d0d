"""Files in and out through a real in-memory MCP client, on the scripted engine (exact outputs) and real files."""

from __future__ import annotations

import re
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp_types import ListRootsResult, Root

from mcp_open.edge.server import build_server
from mcp_open.edge.wiring import compose
from mcp_open.engines.scripted import ScriptedEngine
from mcp_open.runtime.slots import LoadedModel
from mcp_open.settings import Settings
from tests.filekit import make_pdf, write_samples

pytestmark = pytest.mark.anyio

FILE_TAG = re.compile(r'<file path="([^"]+)">')
USER_TURN = re.compile(r"<\|im_start\|>user\n(.*?)<\|im_end\|>", re.DOTALL)


def files_seen(rendered: str) -> list[str]:
    """A scripted reply: the paths of the files the model was shown, as its answer."""
    return ["saw: ", " ".join(FILE_TAG.findall(rendered)) or "-"]


def shouted(rendered: str) -> list[str]:
    """A scripted 'translation': the user's segment in capitals."""
    return [USER_TURN.findall(rendered)[-1].upper()]


class Engines:
    """Scripted chat and embedding engines behind a server, and the calls they saw."""

    def __init__(self, reply: Any = files_seen, n_ctx: int = 4096) -> None:
        self.chat = ScriptedEngine(replies=[reply], n_ctx=n_ctx)
        self.embed = ScriptedEngine(embedding=True, width=16)

    def loader(self, spec: str, settings: Settings, embedding: bool, on_progress: Callable[[str], None]) -> LoadedModel:
        return LoadedModel(self.embed if embedding else self.chat, 0.0)


@pytest.fixture(params=["auto", "legacy"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def world(tmp_path: Path) -> tuple[Path, Path]:
    """An allowed folder with samples of every kind, and a secret folder outside it."""
    root = write_samples(tmp_path / "work")
    (root / "docs" / "deep").mkdir(parents=True)
    (root / "docs" / "a.md").write_text("# Alpha\n\nFirst paragraph.\n\nSecond paragraph.\n")
    (root / "docs" / "deep" / "b.md").write_text("Beta text.\n")
    outside = tmp_path / "secret"
    outside.mkdir()
    (outside / "key.txt").write_text("TOP SECRET\n")
    return root, outside


@asynccontextmanager
async def serve(
    engines: Engines, *roots: Path, mode: str = "auto", client_roots: list[Path] | None = None, **settings: Any
) -> AsyncIterator[Client]:
    """A server on the scripted engines allowing roots, and a client (declaring client_roots if given)."""
    config = Settings(model="chat", embed_model="embed", allow_dirs=list(roots), **settings)
    server = build_server(config, compose(config, loader=engines.loader))
    options: dict[str, Any] = {}
    if client_roots is not None:

        async def list_roots(_ctx: object) -> ListRootsResult:
            return ListRootsResult(roots=[Root(uri=p.as_uri(), name=p.name) for p in client_roots])

        options["list_roots_callback"] = list_roots
    async with Client(server, mode=mode, **options) as client:
        yield client


async def call(client: Client, tool: str, args: dict[str, Any], **kw: Any) -> dict[str, Any]:
    result = await client.call_tool(tool, args, **kw)
    assert not result.is_error, result.content
    assert result.structured_content is not None
    return result.structured_content


async def error_of(client: Client, tool: str, args: dict[str, Any]) -> str:
    result = await client.call_tool(tool, args)
    assert result.is_error, result.structured_content
    return str(result.content[0].text)  # type: ignore[union-attr]


def listing(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))


async def test_generate_reads_files_as_material_marked_with_paths(world: tuple[Path, Path], mode: str) -> None:
    root, _ = world
    engines = Engines()
    async with serve(engines, root, mode=mode) as client:
        data = await call(client, "generate", {"prompt": "Summarise.", "files": ["docs/**/*.md", "notes.md"]})
    assert data["text"] == "saw: docs/a.md docs/deep/b.md notes.md"
    assert data["files"] is None and data["written"] is None
    user = USER_TURN.findall(engines.chat.calls[-1].rendered)[0]
    assert user.startswith('<file path="docs/a.md">\n# Alpha\n\nFirst paragraph.')
    assert user.endswith("</file>\n\nSummarise.")  # the instruction comes after the material
    assert data["usage"]["prompt_tokens"] == engines.chat.count_tokens(engines.chat.calls[-1].rendered)


async def test_every_input_kind_reaches_the_model_as_text(world: tuple[Path, Path]) -> None:
    root, _ = world
    engines = Engines()
    async with serve(engines, root) as client:
        await call(client, "generate", {"messages": [{"role": "user", "content": "Read."}], "files": ["*"]})
    seen = engines.chat.calls[-1].rendered
    for expected in (
        "Grüße aus Köln",  # UTF-16
        "Café crème à la française",  # Latin-1
        "return a + b",
        "pear,5",
        '"invoice": 42',
        "Title\n\nFirst & second.\n\nThird",  # HTML as text, no script or style
        '<file path="report.pdf">\n[page 1]\nPage one says hello.\n\n[page 2]\nPage two says goodbye.',
    ):
        assert expected in seen, expected
    assert "var x" not in seen


async def test_each_runs_once_per_file_with_progress_per_file(world: tuple[Path, Path], mode: str) -> None:
    root, _ = world
    messages: list[str] = []
    reported = {1: threading.Event(), 2: threading.Event()}

    def waits_for_progress(rendered: str) -> Iterator[str]:
        """Answer for a file only once the client has heard progress about that file (no timing involved)."""
        index = len(engines.chat.calls)
        yield "saw: "
        reported[index].wait(30)
        yield " ".join(FILE_TAG.findall(rendered))

    async def progress(_p: float, _total: float | None, message: str | None) -> None:
        messages.append(message or "")
        for index, event in reported.items():
            if (message or "").startswith(f"file {index}/2"):
                event.set()

    engines = Engines(reply=waits_for_progress)

    async with serve(engines, root, mode=mode) as client:
        data = await call(
            client,
            "generate",
            {"prompt": "Title?", "files": ["docs/**/*.md"], "each": True},
            progress_callback=progress,
        )
    assert [(f["path"], f["text"]) for f in data["files"]] == [
        ("docs/a.md", "saw: docs/a.md"),
        ("docs/deep/b.md", "saw: docs/deep/b.md"),
    ]
    assert data["text"] == "" and len(engines.chat.calls) == 2
    assert data["usage"]["prompt_tokens"] == sum(f["usage"]["prompt_tokens"] for f in data["files"])
    assert data["usage"]["completion_tokens"] == sum(f["usage"]["completion_tokens"] for f in data["files"])
    assert any(m.startswith("file 1/2 docs/a.md: ") for m in messages), messages
    assert any(m.startswith("file 2/2 docs/deep/b.md: ") for m in messages), messages


async def test_output_file_receipt_and_overwrite(world: tuple[Path, Path]) -> None:
    root, _ = world
    engines = Engines(reply=lambda _r: ["line one\n", "line two\n", "three\n", "4\n", "5\n", "6\n", "7"])
    args = {"prompt": "Write.", "files": ["notes.md"], "output_path": "out/summary.md"}
    async with serve(engines, root) as client:
        data = await call(client, "generate", args)
        again = await error_of(client, "generate", args)
        replaced = await call(client, "generate", {**args, "overwrite": True})
    written = (root / "out" / "summary.md").read_text()
    assert written == "line one\nline two\nthree\n4\n5\n6\n7"
    assert data["text"] == "" and replaced["written"][0]["path"] == "out/summary.md"
    (receipt,) = data["written"]
    assert receipt == {
        "path": "out/summary.md",
        "source": None,
        "bytes": len(written.encode()),
        "tokens": 7,
        "preview": "line one\nline two\nthree\n...",
        "source_lang": None,
    }
    assert "'out/summary.md' already exists; pass overwrite=true" in again
    assert listing(root / "out") == ["summary.md"]  # no temp files left


async def test_each_writes_a_folder_keeping_names(world: tuple[Path, Path]) -> None:
    root, _ = world
    engines = Engines()
    async with serve(engines, root) as client:
        data = await call(
            client,
            "generate",
            {"prompt": "Do.", "files": ["docs/**/*.md", "report.pdf"], "each": True, "output_path": "results"},
        )
    assert listing(root / "results") == ["docs", "docs/a.md", "docs/deep", "docs/deep/b.md", "report.txt"]
    assert (root / "results" / "report.txt").read_text() == "saw: report.pdf"
    assert [(w["path"], w["source"]) for w in data["written"]] == [
        ("results/docs/a.md", "docs/a.md"),
        ("results/docs/deep/b.md", "docs/deep/b.md"),
        ("results/report.txt", "report.pdf"),
    ]
    assert data["files"] is None  # the answers are in the files; the receipts say where


async def test_translate_whole_files_to_suffixed_names(world: tuple[Path, Path], mode: str) -> None:
    root, _ = world
    engines = Engines(reply=shouted)
    async with serve(engines, root, mode=mode) as client:
        data = await call(
            client,
            "translate",
            {"files": ["docs/**/*.md"], "target_lang": "de", "source_lang": "en", "output_path": "de"},
        )
        inline = await call(client, "translate", {"files": ["docs/a.md"], "target_lang": "fr", "source_lang": "en"})
    assert (root / "de" / "a.de.md").read_text() == "# ALPHA\n\nFIRST PARAGRAPH.\n\nSECOND PARAGRAPH.\n"
    assert (root / "de" / "deep" / "b.de.md").read_text() == "BETA TEXT.\n"
    assert [(w["path"], w["source_lang"]) for w in data["written"]] == [("de/a.de.md", "en"), ("de/deep/b.de.md", "en")]
    assert data["translations"] == [] and data["usage"]["completion_tokens"] > 0
    assert inline["translations"][0]["path"] == "docs/a.md"
    assert inline["translations"][0]["text"].startswith("# ALPHA")


async def test_embed_and_rank_files(world: tuple[Path, Path]) -> None:
    root, _ = world
    engines = Engines()
    async with serve(engines, root) as client:
        emb = await call(client, "embed", {"files": ["docs/**/*.md"]})
        ranked = await call(client, "rank", {"query": "Page two says goodbye.", "files": ["report.pdf", "docs/a.md"]})
    assert emb["paths"] == ["docs/a.md", "docs/deep/b.md"] and len(emb["embeddings"]) == 2
    assert engines.embed.embedded[0] == ["# Alpha\n\nFirst paragraph.\n\nSecond paragraph.\n", "Beta text.\n"]
    # search's chunker: paragraphs merged up to the size limit (one passage for a small file), never across a page
    where = sorted((r["path"], r["line"], r["page"]) for r in ranked["results"])
    assert where == [("docs/a.md", 1, None), ("report.pdf", 1, 1), ("report.pdf", 3, 2)]
    assert all(r["text"] for r in ranked["results"])


async def test_rank_passages_carry_lines_and_pages(tmp_path: Path) -> None:
    (tmp_path / "long.md").write_text("intro\n\n" + "\n\n".join(f"para {i} " + "x" * 600 for i in range(4)))
    (tmp_path / "book.pdf").write_bytes(make_pdf(["cats " * 200, "dogs " * 200]))
    engines = Engines()
    async with serve(engines, tmp_path) as client:
        ranked = await call(client, "rank", {"query": "dogs", "files": ["*"], "top_k": 10})
    where = sorted((r["path"], r["line"], r["page"]) for r in ranked["results"])
    assert where == [
        ("book.pdf", 1, 1),
        ("book.pdf", 3, 2),
        ("long.md", 1, None),  # 'intro' merged with the first long paragraph
        ("long.md", 5, None),
        ("long.md", 7, None),
        ("long.md", 9, None),
    ]


def until_cancelled(deadline: float = 30) -> bool:
    """In the worker thread of a call: wait until the call is cancelled (True), or the deadline passes."""
    stop = threading.Event()
    for _ in range(int(deadline / 0.01)):
        try:
            anyio.from_thread.check_cancelled()
        except BaseException:  # the event loop's cancellation exception
            return True
        stop.wait(0.01)
    return False


async def test_cancelled_generation_writes_nothing(world: tuple[Path, Path], mode: str) -> None:
    root, _ = world
    started = threading.Event()
    seen_cancel: list[bool] = []

    def tokens_until_cancelled(_rendered: str) -> Iterator[str]:
        yield "partial "
        started.set()
        seen_cancel.append(until_cancelled())
        yield from ["more "] * 50

    engines = Engines(reply=tokens_until_cancelled)
    args = {"prompt": "Go.", "files": ["docs/**/*.md"], "each": True, "output_path": "out"}
    async with serve(engines, root, mode=mode) as client:
        async with anyio.create_task_group() as tg:
            tg.start_soon(lambda: client.call_tool("generate", args))
            await anyio.to_thread.run_sync(started.wait, 30)
            tg.cancel_scope.cancel()
        engines.chat.replies = [files_seen]
        # The model serves one call at a time, so this one runs after the cancelled call has ended.
        await call(client, "generate", {"prompt": "after"})
    assert seen_cancel == [True]
    assert not (root / "out").exists() or listing(root / "out") == []
    assert engines.chat.tokens_generated < 10


async def test_failed_call_writes_nothing(world: tuple[Path, Path]) -> None:
    root, _ = world
    replies = iter([["fine"]])

    def second_fails(_rendered: str) -> list[str]:
        return next(replies)  # StopIteration -> RuntimeError on the second file

    engines = Engines(reply=second_fails)
    async with serve(engines, root) as client:
        message = await error_of(
            client, "generate", {"prompt": "Go.", "files": ["docs/**/*.md"], "each": True, "output_path": "out"}
        )
    assert "unexpected" in message
    assert listing(root / "out") == []  # the folder may exist; no file, no temp file


ESCAPES = {
    "dotdot": ("../secret/key.txt", "outside the allowed folders"),
    "symlink": ("link.txt", "'link.txt' is outside"),
    "symlinked folder": ("linked/key.txt", "outside"),
    "absolute": ("{outside}/key.txt", "outside"),
    "uri": ("file://{outside}/key.txt", "outside"),
    "home": ("~/.ssh/id_rsa", "'~/.ssh/id_rsa' is outside"),
    "nul": ("notes.md\x00../../etc/passwd", "NUL byte"),
    "glob up": ("../secret/*", "outside"),
    "glob climbing": ("docs/**/../../../secret/*.txt", "may not climb out"),
    "glob absolute": ("{outside}/*.txt", "outside"),
}


@pytest.mark.parametrize("spec, reason", list(ESCAPES.values()), ids=list(ESCAPES))
async def test_escape_attempts_are_refused_and_reveal_nothing(world: tuple[Path, Path], spec: str, reason: str) -> None:
    root, outside = world
    (root / "link.txt").symlink_to(outside / "key.txt")
    (root / "linked").symlink_to(outside)
    spec = spec.format(outside=outside)
    engines = Engines()
    async with serve(engines, root) as client:
        for tool, args in (
            ("generate", {"prompt": "x", "files": [spec]}),
            ("translate", {"files": [spec], "target_lang": "de"}),
            ("embed", {"files": [spec]}),
            ("rank", {"query": "x", "files": [spec]}),
        ):
            message = await error_of(client, tool, args)
            assert reason in message, message
            assert "TOP SECRET" not in message
            assert str(outside) not in message.replace(spec, ""), message  # nothing beyond what the caller typed
    assert engines.chat.calls == [] and engines.embed.embedded == []


async def test_writing_outside_is_refused(world: tuple[Path, Path]) -> None:
    root, outside = world
    (root / "exit").symlink_to(outside)
    async with serve(Engines(), root) as client:
        for target in ("../secret/x.md", str(outside / "x.md"), "exit/x.md", "~/x.md"):
            message = await error_of(client, "generate", {"prompt": "x", "output_path": target})
            assert "outside" in message, message
        linked = await error_of(
            client, "generate", {"prompt": "x", "files": ["notes.md"], "each": True, "output_path": "exit"}
        )
    assert "outside" in linked
    assert listing(outside) == ["key.txt"]


async def test_bad_files_are_refused(world: tuple[Path, Path], tmp_path: Path) -> None:
    root, _ = world
    (root / "big.log").write_bytes(b"x\n" * 600_000)
    (root / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    async with serve(Engines(), root, max_file_mb=1, max_files=3) as client:
        big = await error_of(client, "generate", {"prompt": "x", "files": ["big.log"]})
        binary = await error_of(client, "generate", {"prompt": "x", "files": ["image.png"]})
        folder = await error_of(client, "generate", {"prompt": "x", "files": ["docs"]})
        many = await error_of(client, "generate", {"prompt": "x", "files": ["*"]})
    assert "'big.log' is 1.2 MB, over this server's limit of 1 MB" in big and "--max-file-mb" in big
    assert "'image.png' is a binary file" in binary
    assert "'docs' is a folder" in folder
    assert "matches more than 3 files" in many and "--max-files" in many


async def test_no_roots_is_an_error_naming_the_flag(tmp_path: Path, mode: str) -> None:
    async with serve(Engines(), mode=mode) as client:
        for tool, args in (
            ("generate", {"prompt": "x", "files": ["a.md"]}),
            ("generate", {"prompt": "x", "output_path": "a.md"}),
            ("rank", {"query": "x", "files": ["*.md"]}),
        ):
            assert "--allow-dir" in await error_of(client, tool, args)


async def test_client_roots_are_honoured(world: tuple[Path, Path], mode: str) -> None:
    root, _ = world
    engines = Engines()
    async with serve(engines, mode=mode, client_roots=[root / "docs"]) as client:
        data = await call(client, "generate", {"prompt": "x", "files": ["a.md"]})
        refused = await error_of(client, "generate", {"prompt": "x", "files": [str(root / "notes.md")]})
        plain = await call(client, "generate", {"prompt": "no files"})
    assert data["text"] == "saw: a.md"
    assert "outside the allowed folders" in refused
    assert plain["text"] == "saw: -"


async def test_material_too_long_for_the_context_is_an_error_not_a_cut(world: tuple[Path, Path]) -> None:
    root, _ = world
    (root / "long.md").write_text("word " * 500)
    async with serve(Engines(n_ctx=300), root) as client:
        message = await error_of(client, "generate", {"prompt": "x", "files": ["long.md", "notes.md"]})
        alone = await error_of(client, "generate", {"prompt": "x", "files": ["long.md"], "each": True})
    assert re.search(
        r"the prompt is [\d,]+ (tokens but the context window is|bytes, more than a context of) 300 tokens", message
    ), message
    assert "each=true" in message and "--ctx" in message and "fewer files" in message
    assert "'long.md' alone" in alone


async def test_annotations_are_truthful_and_old_shapes_hold(world: tuple[Path, Path]) -> None:
    root, _ = world
    async with serve(Engines(), root) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        plain = await call(client, "translate", {"text": "Hello there", "target_lang": "de", "source_lang": "en"})
        both = await error_of(client, "translate", {"text": "a", "files": ["notes.md"], "target_lang": "de"})
    for name in ("generate", "translate", "embed"):  # embed writes its vectors when given output_path
        hints = tools[name].annotations
        assert hints is not None and hints.read_only_hint is False and hints.destructive_hint is True
    for name in ("rank", "search", "languages"):
        hints = tools[name].annotations
        assert hints is not None and hints.read_only_hint is True
    assert "client_roots" not in tools["generate"].input_schema["properties"]
    assert {"files", "each", "output_path", "overwrite"} <= set(tools["generate"].input_schema["properties"])
    assert plain["translations"][0]["path"] is None and plain["written"] is None
    assert "not both" in both


async def test_client_roots_are_ignored_when_serving_http(world: tuple[Path, Path]) -> None:
    """Over HTTP a client's roots name folders on its own machine, not this one: only --allow-dir counts."""
    root, _ = world
    async with serve(Engines(), client_roots=[Path("/")], transport="http") as client:
        message = await error_of(client, "generate", {"prompt": "x", "files": [str(root / "notes.md")]})
    assert "--allow-dir" in message


async def test_output_is_a_folder_for_each_and_globs_even_with_one_match(world: tuple[Path, Path]) -> None:
    root, _ = world
    async with serve(Engines(reply=shouted), root) as client:
        await call(
            client, "translate", {"files": ["docs/*.md"], "target_lang": "de", "source_lang": "en", "output_path": "g"}
        )
        await call(
            client,
            "translate",
            {"files": ["notes.md"], "target_lang": "de", "source_lang": "en", "output_path": "n.md"},
        )
        await call(client, "generate", {"prompt": "x", "files": ["notes.md"], "each": True, "output_path": "e"})
        one = await error_of(client, "generate", {"prompt": "x", "files": ["notes.md"], "output_path": "docs"})
    assert listing(root / "g") == ["a.de.md"]
    assert (root / "n.md").read_text().startswith("# NOTES")
    assert listing(root / "e") == ["notes.md"]
    assert "'docs' is a folder, but this call writes one result" in one


async def test_many_written_files_cost_the_agent_little(tmp_path: Path) -> None:
    root = tmp_path / "many"
    (root / "in").mkdir(parents=True)
    for i in range(6):
        (root / "in" / f"invoice{i}.txt").write_text(f"Invoice {i}: total {i * 10} EUR\n")
    async with serve(Engines(), root) as client:
        data = await call(
            client, "generate", {"prompt": "Extract.", "files": ["in/*.txt"], "each": True, "output_path": "out"}
        )
    assert len(listing(root / "out")) == 6
    (sample,) = data["written"]  # one receipt shows the format; the rest are summed
    assert sample["path"] == "out/invoice0.txt" and sample["preview"]
    others = [root / "out" / f"invoice{i}.txt" for i in range(1, 6)]
    assert data["more_written"] == {
        "count": 5,
        "folder": "out",
        "bytes": sum(p.stat().st_size for p in others),
        "tokens": data["usage"]["completion_tokens"] - sample["tokens"],
    }
    assert data["files"] is None
