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
DESCRIPTION = (
    "Rank `documents` by meaning against a `query` on the server, with the local embedding model, and return "
    "the `top_k` best as {index, score, text snippet}. Use this instead of pulling raw embeddings into the "
    "conversation: semantic search, deduplication, picking the relevant files or passages. `files` instead of "
    "`documents` ranks the passages of those files (paragraphs of up to about 1,200 characters, cut as `search` "
    "cuts them), each result "
    "with its `path`, first `line` and, for PDFs, `page`."
)
ANNOTATIONS = ToolAnnotations(read_only_hint=True, destructive_hint=False, open_world_hint=False, idempotent_hint=True)


def register(mcp: MCPServer, embedder: Embedder, runner: CallRunner) -> None:
    """Add the tool to a server, over one embedder."""

    @mcp.tool(name=NAME, description=DESCRIPTION, annotations=ANNOTATIONS)
    async def rank(
        ctx: Context,
        client_roots: RootsIn,
        query: Annotated[str, Field(description="What you are looking for.")],
        documents: Annotated[list[str] | None, Field(description="Candidate texts to rank.")] = None,
        top_k: Annotated[int, Field(ge=1, le=10_000, description="How many of the best to return.")] = 5,
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
