"""MCP wiring: the server, its lifespan, thin tools and the info resource. The only module that imports mcp."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, TypeVar

import anyio
import anyio.to_thread
from mcp.server import MCPServer
from mcp.server.mcpserver import Context, Resolve
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import ListRootsResult
from pydantic import Field

from mcp_open import __version__
from mcp_open.edge import recording, tool_docs
from mcp_open.edge.lifecycle import CallStopped, in_flight_of
from mcp_open.edge.results import shape_results
from mcp_open.edge.roots import root_paths, roots_for_files, roots_for_files_out, roots_for_search
from mcp_open.edge.rpcerrors import explain_errors
from mcp_open.engines.protocol import Cancelled
from mcp_open.errors import McpOpenError
from mcp_open.features.common.schemas import (
    ChatMessage,
    EmbedResult,
    Formality,
    GenerateRequest,
    GenerateResult,
    LanguagesResult,
    RankResult,
    TranslateRequest,
    TranslateResult,
)
from mcp_open.features.search.schemas import SearchMode, SearchResult
from mcp_open.features.service import Service
from mcp_open.runtime.calls import CallContext, ProgressState
from mcp_open.settings import Settings

log = logging.getLogger(__name__)
notice = logging.getLogger("mcp_open.notice")  # plain lines for the operator, on stderr
T = TypeVar("T")

# File arguments, the same on every tool that takes them.
FilesArg = Annotated[
    list[str] | None,
    Field(
        description="Paths (absolute or relative to an allowed folder), file:// URIs or globs (docs/**/*.md).",
        max_length=1000,
    ),
]
OutputArg = Annotated[
    str | None, Field(description="Write the result here instead of returning it: a file, or a folder for many.")
]
OverwriteArg = Annotated[bool, Field(description="Replace existing files at output_path (otherwise refused).")]
RootsOut = Annotated[ListRootsResult | None, Resolve(roots_for_files_out)]
RootsIn = Annotated[ListRootsResult | None, Resolve(roots_for_files)]

PROGRESS_TICK_SECONDS = 0.1  # at most ten notifications a second
HEARTBEAT_SECONDS = 0.5  # at least one a second (with margin), so timeouts that reset on progress never fire
KEEP_ALIVE_CHECK_SECONDS = 15.0


class ServerTimeout(Exception):
    """A call ran past --timeout and was stopped."""


@dataclass
class AppState:
    """What the lifespan hands to every request."""

    service: Service


async def _pump_progress(ctx: Context, state: ProgressState) -> None:
    """Send progress when it changes (at most 10/s) and a heartbeat at least once a second."""
    sent_version = -1
    last_sent = time.monotonic()
    while True:
        await anyio.sleep(PROGRESS_TICK_SECONDS)
        now = time.monotonic()
        if state.version == sent_version and now - last_sent < HEARTBEAT_SECONDS:
            continue
        sent_version = state.version
        await ctx.report_progress(*state.next_report())
        last_sent = now


async def _keep_alive_loop(service: Service) -> None:
    """Unload models idle past --keep-alive."""
    minutes = service.settings.keep_alive or 0
    period = min(KEEP_ALIVE_CHECK_SECONDS, max(minutes * 60 / 4, 0.05))
    while True:
        await anyio.sleep(period)
        for role in service.unload_idle():
            log.info("unloaded the idle %s model", role)


async def _announce(service: Service) -> None:
    """Say at start, off the handshake's path, which models cannot be served and the GPU answer if not a plain yes."""
    try:
        lines = await anyio.to_thread.run_sync(service.startup_warnings, abandon_on_cancel=True)
    except Exception:  # a start-up note must never take the server down
        log.exception("could not check the configured models at start")
        return
    for line in lines:
        notice.warning(line)


def build_server(settings: Settings, service: Service | None = None) -> MCPServer:
    """The MCP server over one service; nothing loads until a tool needs a model."""
    service = service or Service(settings)

    @asynccontextmanager
    async def lifespan(_server: MCPServer) -> AsyncIterator[AppState]:
        async with anyio.create_task_group() as tg:
            tg.start_soon(_announce, service)
            if settings.keep_alive is not None:
                tg.start_soon(_keep_alive_loop, service)
            try:
                yield AppState(service)
            finally:
                tg.cancel_scope.cancel()
                service.close()
                log.info("models closed")

    mcp = MCPServer(
        "mcp-open",
        version=__version__,
        instructions=tool_docs.SERVER_INSTRUCTIONS,
        lifespan=lifespan,
        log_level="INFO" if settings.verbose else "WARNING",
        middleware=[explain_errors, shape_results],
    )
    in_flight = in_flight_of(mcp)

    def local_roots(declared: ListRootsResult | None) -> list[Path]:
        """A client's roots name folders on its own machine: honoured over stdio, ignored over HTTP."""
        return root_paths(declared) if settings.transport == "stdio" else []

    async def run_call(ctx: Context, work: Callable[[CallContext], Awaitable[T]]) -> T:
        """Run one call, recorded in the usage ledger."""
        return await recording.recorded(ctx, service.recorder, lambda: run_tool(ctx, work))

    async def run_tool(ctx: Context, work: Callable[[CallContext], Awaitable[T]]) -> T:
        """Run one call with progress, the timeout and errors turned into tool errors."""
        call = CallContext()
        failure: BaseException | None = None
        result: T | None = None
        try:
            async with in_flight.track(ctx.request_context.request), anyio.create_task_group() as tg:
                tg.start_soon(_pump_progress, ctx, call.progress)
                try:
                    # move_on_after, not fail_after: only our own limit may be reported as the server's --timeout.
                    with anyio.move_on_after(settings.timeout) as limit:
                        result = await work(call)
                    if limit.cancelled_caught:
                        failure = ServerTimeout()
                except (McpOpenError, Cancelled) as exc:
                    failure = exc
                except Exception as exc:  # a bug or an engine failure: say so, keep serving
                    log.exception("unexpected failure in a tool call")
                    failure = exc
                finally:
                    tg.cancel_scope.cancel()
        except CallStopped as exc:  # shutdown or a dropped HTTP client: answer (if anyone listens), free the model
            failure = exc
        if failure is not None:
            raise ToolError(_explain(failure, settings))
        assert result is not None
        return result

    @mcp.tool(name="generate", description=tool_docs.GENERATE, annotations=tool_docs.WRITES_FILES)
    async def generate(
        ctx: Context,
        client_roots: RootsOut,
        prompt: Annotated[str | None, Field(description="The user's request. Give this or `messages`.")] = None,
        messages: Annotated[
            list[ChatMessage] | None, Field(description="Chat turns, oldest first. Give this or `prompt`.")
        ] = None,
        system: Annotated[str | None, Field(description="System prompt: role, rules, output format.")] = None,
        max_tokens: Annotated[
            int,
            Field(ge=1, description="Most tokens to generate (the server's --max-tokens caps it; 4096 unless set)."),
        ] = min(512, settings.max_tokens),
        temperature: Annotated[
            float | None,
            Field(ge=0, le=2, allow_inf_nan=False, description="Randomness; 0 is greedy. Default 0.7 (0.6 thinking)."),
        ] = None,
        top_p: Annotated[
            float | None, Field(gt=0, le=1, allow_inf_nan=False, description="Nucleus sampling. Default 0.8.")
        ] = None,
        top_k: Annotated[int, Field(ge=0, le=1000, description="Sample from the k likeliest tokens.")] = 20,
        min_p: Annotated[
            float, Field(ge=0, le=1, allow_inf_nan=False, description="Drop tokens below this share of the top.")
        ] = 0.0,
        repeat_penalty: Annotated[
            float, Field(ge=0.5, le=2, allow_inf_nan=False, description="Above 1 discourages repeats.")
        ] = 1.0,
        seed: Annotated[int | None, Field(ge=0, le=2**32 - 2, description="Fix for repeatable sampling.")] = None,
        stop: Annotated[list[str] | None, Field(max_length=16, description="Stop before any of these.")] = None,
        thinking: Annotated[bool, Field(description="Let Qwen3 reason before answering.")] = False,
        json_schema: Annotated[
            dict[str, Any] | None,
            Field(description="Answer as JSON matching this JSON Schema (enforced while decoding); see `data`."),
        ] = None,
        choices: Annotated[
            list[str] | None, Field(description="The answer is exactly one of these strings; see `data`.")
        ] = None,
        files: FilesArg = None,
        each: Annotated[bool, Field(description="Run the instruction once per file; one result per file.")] = False,
        output_path: OutputArg = None,
        overwrite: OverwriteArg = False,
    ) -> GenerateResult:
        """Generate text."""
        req = GenerateRequest(
            prompt=prompt,
            messages=messages,
            system=system,
            max_tokens=max_tokens,
            temperature=temperature,
            top_p=top_p,
            top_k=top_k,
            min_p=min_p,
            repeat_penalty=repeat_penalty,
            seed=seed,
            stop=stop or [],
            thinking=thinking,
            json_schema=json_schema,
            choices=choices,
            files=files or [],
            each=each,
            output_path=output_path,
            overwrite=overwrite,
        )
        roots = local_roots(client_roots)
        return await run_call(ctx, lambda call: service.generate(req, call, roots))

    @mcp.tool(name="translate", description=tool_docs.TRANSLATE, annotations=tool_docs.WRITES_FILES_IDEMPOTENT)
    async def translate(
        ctx: Context,
        client_roots: RootsOut,
        target_lang: Annotated[str, Field(description="Target language code, e.g. de, fr, ja, pt-BR, en-GB.")],
        text: Annotated[
            str | list[str] | None, Field(description="A text, or a list of texts translated one by one.")
        ] = None,
        source_lang: Annotated[str | None, Field(description="Source language code; detected if omitted.")] = None,
        context: Annotated[str | None, Field(description="Background that helps; it is not translated.")] = None,
        formality: Annotated[Formality, Field(description="Register of the translation.")] = "default",
        files: FilesArg = None,
        output_path: OutputArg = None,
        overwrite: OverwriteArg = False,
    ) -> TranslateResult:
        """Translate text or files."""
        req = TranslateRequest(
            texts=[text] if isinstance(text, str) else text or [],
            target_lang=target_lang,
            source_lang=source_lang,
            context=context,
            formality=formality,
            files=files or [],
            output_path=output_path,
            overwrite=overwrite,
        )
        roots = local_roots(client_roots)
        return await run_call(ctx, lambda call: service.translate(req, call, roots))

    @mcp.tool(name="embed", description=tool_docs.EMBED, annotations=tool_docs.READ_ONLY_IDEMPOTENT)
    async def embed(
        ctx: Context,
        client_roots: RootsIn,
        texts: Annotated[str | list[str] | None, Field(description="A text or a list of texts.")] = None,
        normalize: Annotated[bool, Field(description="Scale vectors to unit length.")] = True,
        dimensions: Annotated[int | None, Field(ge=1, description="Keep only the first N components.")] = None,
        truncate: Annotated[bool, Field(description="Cut over-long texts instead of failing.")] = False,
        files: FilesArg = None,
    ) -> EmbedResult:
        """Embed texts or whole files."""
        items = [texts] if isinstance(texts, str) else texts or []
        roots = local_roots(client_roots)
        return await run_call(
            ctx,
            lambda call: service.embed(
                items,
                normalize=normalize,
                dimensions=dimensions,
                truncate=truncate,
                call=call,
                files=files or [],
                roots=roots,
            ),
        )

    @mcp.tool(name="rank", description=tool_docs.RANK, annotations=tool_docs.READ_ONLY_IDEMPOTENT)
    async def rank(
        ctx: Context,
        client_roots: RootsIn,
        query: Annotated[str, Field(description="What you are looking for.")],
        documents: Annotated[list[str] | None, Field(description="Candidate texts to rank.")] = None,
        top_k: Annotated[int, Field(ge=1, le=10_000, description="How many of the best to return.")] = 5,
        instruction: Annotated[
            str | None, Field(description="Task for instruction-aware embedders (Qwen3-Embedding).")
        ] = None,
        files: FilesArg = None,
    ) -> RankResult:
        """Rank documents, or the passages of files, against a query."""
        roots = local_roots(client_roots)
        return await run_call(
            ctx,
            lambda call: service.rank(
                query, documents or [], top_k=top_k, instruction=instruction, call=call, files=files or [], roots=roots
            ),
        )

    @mcp.tool(name="search", description=tool_docs.SEARCH, annotations=tool_docs.READ_ONLY_IDEMPOTENT)
    async def search(
        ctx: Context,
        client_roots: Annotated[ListRootsResult | None, Resolve(roots_for_search)],
        query: Annotated[str, Field(description="What you are looking for, in words or as an exact identifier.")],
        paths: Annotated[
            list[str] | None,
            Field(description="Folders, files or globs inside the allowed folders; default: all of them."),
        ] = None,
        top_k: Annotated[int, Field(ge=1, le=100, description="How many passages to return.")] = 5,
        instruction: Annotated[
            str | None, Field(description="Task for instruction-aware embedders (Qwen3-Embedding).")
        ] = None,
        mode: Annotated[SearchMode, Field(description="hybrid (meaning and words), semantic or lexical.")] = "hybrid",
    ) -> SearchResult:
        """Search the user's files."""
        roots = local_roots(client_roots)
        return await run_call(
            ctx,
            lambda call: service.search(
                query, paths, top_k=top_k, instruction=instruction, mode=mode, call=call, client_roots=roots
            ),
        )

    @mcp.tool(name="languages", description=tool_docs.LANGUAGES, annotations=tool_docs.READ_ONLY_IDEMPOTENT)
    async def languages() -> LanguagesResult:
        """List languages (async: a worker-thread hop would cost more than the work)."""
        return service.languages()

    @mcp.resource("mcp-open://info", name="server-info", mime_type="application/json")
    async def server_info() -> str:
        """Version, llama.cpp build features and each model's state (read off the event loop: the ledger may wait)."""
        return json.dumps(await anyio.to_thread.run_sync(service.info, abandon_on_cancel=True), indent=2)

    return mcp


def _explain(failure: BaseException, settings: Settings) -> str:
    """The user-facing text of a failed call."""
    if isinstance(failure, ServerTimeout):
        return (
            f"the call ran past the server's --timeout of {settings.timeout:g} s and was stopped; the model is free "
            "again. Ask for less (fewer max_tokens, shorter input) or restart the server with a larger --timeout."
        )
    if isinstance(failure, Cancelled):
        return "the call was cancelled"
    if isinstance(failure, CallStopped):
        return str(failure)
    if not isinstance(failure, McpOpenError):
        return (
            f"unexpected {type(failure).__name__}: {failure}. The server is still running; its stderr has the "
            "details (run with -v for more). Retrying with a shorter input or another model may help."
        )
    return str(failure)
