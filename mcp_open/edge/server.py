"""The MCP server assembled: the app from the composition root, the lifespan, and the tool modules in order."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import get_args

import anyio
import anyio.to_thread
from mcp.server import MCPServer

from mcp_open import __version__
from mcp_open.edge.calls import CallRunner
from mcp_open.edge.protocol import protocol_answers
from mcp_open.edge.results import ResultLimits, result_shaper
from mcp_open.edge.rpcerrors import explain_errors
from mcp_open.edge.surface import model_view
from mcp_open.edge.tools import embed, generate, info, languages, rank, search, translate
from mcp_open.edge.wiring import App, compose
from mcp_open.settings import Settings, ToolName

log = logging.getLogger(__name__)
notice = logging.getLogger("mcp_open.notice")  # plain lines for the operator, on stderr

KEEP_ALIVE_CHECK_SECONDS = 15.0
# The tools and the info resource, in the order tools/list shows them: each tool module over its feature.
Mount = Callable[[MCPServer, App, CallRunner], None]
TOOLS: tuple[Mount, ...] = (
    lambda mcp, app, runner: generate.register(mcp, app.generator, runner),
    lambda mcp, app, runner: translate.register(mcp, app.translator, runner),
    lambda mcp, app, runner: embed.register(mcp, app.embedder, runner),
    lambda mcp, app, runner: rank.register(mcp, app.embedder, runner),
    lambda mcp, app, runner: search.register(mcp, app.searcher, runner),
    lambda mcp, app, runner: languages.register(mcp, app.translator),
    lambda mcp, app, runner: info.register(mcp, app.about.info),
)

TOOL_NAMES: tuple[str, ...] = get_args(ToolName)

SERVER_INSTRUCTIONS = (
    "mcp-open runs an open model (Qwen by default) on this machine. Delegate routine work to it to save "
    "money: drafting, rewriting, summarising and extraction with `generate`; translation with `translate`; "
    "semantic search with `rank` (returns the best matching documents, not vectors) or `embed` when you "
    "really need vectors. Long calls report progress; cancelling a call stops the model at once. Work by "
    "reference to save the most: pass `files` (paths, file:// URIs, globs inside the folders the user allowed) "
    "instead of pasting their text, and `output_path` to have results written to disk instead of returned."
)


@dataclass
class AppState:
    """What the lifespan hands to every request."""

    app: App


async def _keep_alive_loop(app: App) -> None:
    """Unload models idle past --keep-alive."""
    minutes = app.settings.keep_alive or 0
    period = min(KEEP_ALIVE_CHECK_SECONDS, max(minutes * 60 / 4, 0.05))
    while True:
        await anyio.sleep(period)
        for role in app.unload_idle():
            log.info("unloaded the idle %s model", role)


async def _announce(app: App) -> None:
    """Say at start, off the handshake's path, which models cannot be served and the GPU answer if not a plain yes."""
    try:
        lines = await anyio.to_thread.run_sync(app.about.startup_warnings, abandon_on_cancel=True)
    except Exception:  # a start-up note must never take the server down
        log.exception("could not check the configured models at start")
        return
    for line in lines:
        notice.warning(line)


def build_server(settings: Settings, app: App | None = None) -> MCPServer:
    """The MCP server over one app (composed from settings unless given); nothing loads until a tool needs a model."""
    app = app or compose(settings)

    @asynccontextmanager
    async def lifespan(_server: MCPServer) -> AsyncIterator[AppState]:
        async with anyio.create_task_group() as tg:
            tg.start_soon(_announce, app)
            if settings.keep_alive is not None:
                tg.start_soon(_keep_alive_loop, app)
            try:
                yield AppState(app)
            finally:
                tg.cancel_scope.cancel()
                app.close()
                log.info("models closed")

    limits = ResultLimits(settings.max_result_tokens, can_write=not settings.read_only)
    mcp = MCPServer(
        "mcp-open",
        version=__version__,
        instructions=SERVER_INSTRUCTIONS,
        lifespan=lifespan,
        log_level="INFO" if settings.verbose else "WARNING",
        middleware=[explain_errors, result_shaper(limits)],
    )
    mcp.middleware.append(protocol_answers(lambda: _tool_names(mcp)))
    mcp.middleware.append(model_view(mcp, settings.read_only, {m.NAME: m.WRITES for m in (generate, translate, embed)}))
    runner = CallRunner(mcp, settings, app.recorder)
    for mount in TOOLS:
        mount(mcp, app, runner)
    for name in TOOL_NAMES:
        if settings.tools and name not in settings.tools:
            mcp.remove_tool(name)  # --tools: offer only these
    return mcp


async def _tool_names(mcp: MCPServer) -> list[str]:
    """The names tools/list offers."""
    return [tool.name for tool in await mcp.list_tools()]
