"""The search tool: the passages of the user's files that answer a query."""

from __future__ import annotations

from typing import Annotated

from mcp.server import MCPServer
from mcp.server.mcpserver import Context, Resolve
from mcp_types import ListRootsResult, ToolAnnotations
from pydantic import Field

from mcp_open.edge.calls import CallRunner
from mcp_open.edge.roots import roots_for_search
from mcp_open.edge.tools.args import InstructionArg
from mcp_open.features.search.schemas import SearchMode, SearchResult
from mcp_open.features.search.searcher import Searcher

NAME = "search"
DESCRIPTION = (
    "The passages of the user's files that answer `query`, with path and lines: use it instead of reading "
    "whole files. A folder's first search indexes it (slow once)."
)
# Reads only, though it keeps the lasting index current as a side effect the user never sees.
ANNOTATIONS = ToolAnnotations(read_only_hint=True, destructive_hint=False, open_world_hint=False, idempotent_hint=True)


def register(mcp: MCPServer, searcher: Searcher, runner: CallRunner) -> None:
    """Add the tool to a server, over one searcher."""

    @mcp.tool(name=NAME, description=DESCRIPTION, annotations=ANNOTATIONS)
    async def search(
        ctx: Context,
        client_roots: Annotated[ListRootsResult | None, Resolve(roots_for_search)],
        query: Annotated[str, Field(description="Words, or an exact identifier.")],
        paths: Annotated[
            list[str] | None,
            Field(description="Folders, files or globs; default: all."),
        ] = None,
        top_k: Annotated[int, Field(ge=1, le=100, description="How many; default 5.")] = 5,
        instruction: InstructionArg = None,
        mode: Annotated[SearchMode, Field(description="Default hybrid; lexical for exact words.")] = "hybrid",
    ) -> SearchResult:
        """Search the user's files."""
        roots = runner.local_roots(client_roots)
        return await runner.run(
            ctx,
            lambda call: searcher.search(
                query, paths, top_k=top_k, instruction=instruction, mode=mode, call=call, client_roots=roots
            ),
        )
