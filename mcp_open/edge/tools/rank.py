"""The rank tool: documents, or the passages of files, ordered by meaning against a query."""

from __future__ import annotations

from typing import Annotated

from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp_types import ToolAnnotations
from pydantic import Field

from mcp_open.edge.calls import CallRunner
from mcp_open.edge.tools.args import FilesArg, InstructionArg, RootsIn
from mcp_open.features.common.schemas import RankResult
from mcp_open.features.embed.embedder import Embedder

NAME = "rank"
DESCRIPTION = "Rank `documents`, or the passages of `files`, by meaning against `query`; returns the best, with scores."
ANNOTATIONS = ToolAnnotations(read_only_hint=True, destructive_hint=False, open_world_hint=False, idempotent_hint=True)


def register(mcp: MCPServer, embedder: Embedder, runner: CallRunner) -> None:
    """Add the tool to a server, over one embedder."""

    @mcp.tool(name=NAME, description=DESCRIPTION, annotations=ANNOTATIONS)
    async def rank(
        ctx: Context,
        client_roots: RootsIn,
        query: Annotated[str, Field(description="What to look for.")],
        documents: Annotated[list[str] | None, Field(description="Texts to rank.")] = None,
        top_k: Annotated[int, Field(ge=1, le=10_000, description="How many; default 5.")] = 5,
        instruction: InstructionArg = None,
        files: FilesArg = None,
    ) -> RankResult:
        """Rank documents, or the passages of files, against a query."""
        roots = runner.local_roots(client_roots)
        return await runner.run(
            ctx,
            lambda call: embedder.rank(
                query, documents or [], top_k=top_k, instruction=instruction, call=call, files=files or [], roots=roots
            ),
        )
