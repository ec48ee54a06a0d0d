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
    "Search the user's files (folders, files or globs inside the allowed folders) for the passages that answer "
    "`query`, and return only those: path, line range (page for PDF), score, the passage text and whether it "
    "matched by meaning, by words or both. Use it instead of reading whole files into the conversation. The "
    "first search of a folder indexes it (with progress); later searches re-embed only files that changed. "
    "`mode`: hybrid (default; best for most queries), semantic (paraphrases) or lexical (exact identifiers, "
    "names, error codes)."
)
# Reads only, though it keeps the lasting index current as a side effect the user never sees.
ANNOTATIONS = ToolAnnotations(read_only_hint=True, destructive_hint=False, open_world_hint=False, idempotent_hint=True)


def register(mcp: MCPServer, searcher: Searcher, runner: CallRunner) -> None:
    """Add the tool to a server, over one searcher."""

    @mcp.tool(name=NAME, description=DESCRIPTION, annotations=ANNOTATIONS)
    async def search(
        ctx: Context,
        client_roots: Annotated[ListRootsResult | None, Resolve(roots_for_search)],
        query: Annotated[str, Field(description="What you are looking for, in words or as an exact identifier.")],
        paths: Annotated[
            list[str] | None,
            Field(description="Folders, files or globs inside the allowed folders; default: all of them."),
        ] = None,
        top_k: Annotated[int, Field(ge=1, le=100, description="How many passages to return.")] = 5,
        instruction: InstructionArg = None,
        mode: Annotated[SearchMode, Field(description="hybrid (meaning and words), semantic or lexical.")] = "hybrid",
    ) -> SearchResult:
        """Search the user's files."""
        roots = runner.local_roots(client_roots)
        return await runner.run(
            ctx,
            lambda call: searcher.search(
                query, paths, top_k=top_k, instruction=instruction, mode=mode, call=call, client_roots=roots
            ),
        )
