"""Test helpers for search: a corpus on disk, scripted embedders and a client on a service that uses them."""

from __future__ import annotations

import shutil
import threading
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mcp import Client

from mcp_open.edge.server import build_server
from mcp_open.edge.wiring import App, compose
from mcp_open.engines.protocol import Cancelled, Embedded, Hooks
from mcp_open.engines.scripted import ScriptedEngine
from mcp_open.runtime.slots import LoadedModel
from mcp_open.settings import Settings

ROOT = Path(__file__).resolve().parent.parent

DOCS = {
    "docs/retries.md": "# Retries\n\nWhen a request to the payment gateway fails we retry with exponential backoff, "
    "waiting longer after every failure, and give up after five attempts.\n\n## Timeouts\n\nEach attempt has its "
    "own deadline of ten seconds.\n",
    "docs/contracts.md": "# Supplier contract\n\nIf the supplier delivers late, a penalty clause applies: two "
    "percent of the order value for every week of delay.\n\n# Payment terms\n\nInvoices are due within thirty "
    "days.\n",
    "docs/garden.md": "# Garden\n\nTomatoes need full sun and regular watering. Prune the side shoots weekly.\n",
    "src/http_client.py": 'import time\n\n\ndef parse_retry_header(value):\n    """Seconds to wait from a '
    'Retry-After value."""\n    return int(value)\n\n\nclass Session:\n    def send(self, request):\n'
    "        return request\n",
    "src/cooking.py": 'def boil_pasta(minutes):\n    """Boil pasta in salted water."""\n    return minutes\n',
    "notes.txt": "Meeting notes: the team agreed to move the launch to spring. Nobody objected.\n",
}


PROJECT_SOURCES = (
    "features/search/fusion.py",
    "features/files/chunking.py",
    "features/search/indexing.py",
    "features/search/search.py",
    "features/embed/embedding.py",
    "features/generate/chat.py",
)


def write_corpus(folder: Path, *, project: bool = True, readme: bool = True, sources: int = 6) -> Path:
    """Generated documents and code, plus (project=True) the project's own README and some task sources."""
    for name, text in DOCS.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    if project:
        (folder / "project").mkdir(exist_ok=True)
        if readme:
            shutil.copy(ROOT / "README.md", folder / "project" / "README.md")
        for name in PROJECT_SOURCES[:sources]:
            shutil.copy(ROOT / "mcp_open" / name, folder / "project" / Path(name).name)
    return folder


def bow_engine(**overrides: Any) -> ScriptedEngine:
    """A scripted embedder whose bag-of-words vectors make texts sharing words similar (predictable semantics)."""
    values: dict[str, Any] = {"name": "bow-embedder", "embedding": True, "width": 64, "n_ctx": 2048}
    values.update(overrides)
    return ScriptedEngine(**values)


@dataclass
class GatedEngine(ScriptedEngine):
    """Embeds normally for `hold_after` calls, then holds each call until released or cancelled."""

    hold_after: int | None = None
    holding: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)

    def embed(self, texts: Sequence[str], *, truncate: bool, hooks: Hooks | None = None) -> Embedded:
        """Past hold_after calls, wait for `release` (then embed) or for the call's cancellation (then stop)."""
        hooks = hooks or Hooks()
        if self.hold_after is not None and len(self.embedded) >= self.hold_after:
            self.holding.set()
            while not self.release.wait(0.005):
                if hooks.should_stop():
                    raise Cancelled
        return super().embed(texts, truncate=truncate, hooks=hooks)


def passage_texts(embedded: list[list[str]]) -> list[str]:
    """Every text an engine embedded, flattened."""
    return [text for batch in embedded for text in batch]


def app_on(engine: ScriptedEngine, settings: Settings) -> App:
    """An app whose every model slot is the given engine."""
    return compose(settings, loader=lambda _spec, _settings, _embedding, _note: LoadedModel(engine, 0.0))


@asynccontextmanager
async def client_on(engine: ScriptedEngine, settings: Settings) -> AsyncIterator[Client]:
    """An in-memory MCP client on a server whose models are the given engine."""
    async with Client(build_server(settings, app_on(engine, settings))) as client:
        yield client


def search_settings(root: Path, **overrides: Any) -> Settings:
    """Settings that allow one folder."""
    values: dict[str, Any] = {"model": "unused", "embed_model": "unused", "allow_dirs": [root]}
    values.update(overrides)
    return Settings(**values)


async def search(client: Client, query: str, **args: Any) -> dict[str, Any]:
    """Call search and return its structured result (failing on a tool error)."""
    result = await client.call_tool("search", {"query": query, **args})
    assert not result.is_error, result.content
    assert result.structured_content is not None
    return result.structured_content


async def search_error(client: Client, query: str, **args: Any) -> str:
    """Call search expecting a tool error; returns its text."""
    result = await client.call_tool("search", {"query": query, **args})
    assert result.is_error, result.structured_content
    return "".join(getattr(c, "text", "") for c in result.content)
