"""The real server over real stdio, its models scripted: `python -m tests.scripted_server REPLIES_JSON`.

The console script can only load GGUF files, so stdio tests that need an exact token stream (a decoder that holds
until it is cancelled) launch this instead. It serves the way `mcp-open serve` does (`build_server(...).run("stdio")`).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from mcp import StdioServerParameters

from mcp_open.edge.server import build_server
from mcp_open.edge.wiring import compose
from mcp_open.engines.scripted import ScriptedEngine
from mcp_open.settings import Settings
from tests.conftest import child_env
from tests.scripted import scripted_loader

REPO = Path(__file__).resolve().parent.parent
# Long enough that no load makes a held decoder give up before the cancel arrives; a lost cancel still ends the test.
STDIO_HOLD_LIMIT_SECONDS = 60.0


def scripted_stdio_params(replies: list[list[str]]) -> StdioServerParameters:
    """Launch this module over stdio with the chat engine's replies (run from the repository, so it is this code)."""
    return StdioServerParameters(
        command=sys.executable,
        args=["-m", "tests.scripted_server", json.dumps(replies)],
        cwd=str(REPO),
        env=child_env(),
    )


def main(argv: list[str]) -> None:
    """Serve a scripted chat engine (replies from argv) and a scripted embedder over stdio."""
    chat = ScriptedEngine(replies=json.loads(argv[0]), hold_limit=STDIO_HOLD_LIMIT_SECONDS)
    embedder = ScriptedEngine(embedding=True, name="scripted-embed")
    settings = Settings(model="scripted", embed_model="scripted-embed")
    build_server(settings, compose(settings, loader=scripted_loader(chat, embedder))).run("stdio")


if __name__ == "__main__":
    main(sys.argv[1:])
