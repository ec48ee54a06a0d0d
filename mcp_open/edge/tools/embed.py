"""The embed tool: one vector per text or file."""

from __future__ import annotations

from typing import Annotated

from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp_types import ToolAnnotations
from pydantic import Field

from mcp_open.edge.calls import CallRunner
from mcp_open.edge.tools.args import FilesArg, OverwriteArg, RootsOut
from mcp_open.features.common.schemas import EmbedResult
from mcp_open.features.embed.embedder import Embedder

NAME = "embed"
WRITES = "`output_path` writes them to a file instead."
DESCRIPTION = (
    "Vectors from the local embedding model, one per text or file. They are long: prefer `rank` or `search`. " + WRITES
)
# It writes a file when given output_path (replacing one only with overwrite=true); the same call writes the same.
ANNOTATIONS = ToolAnnotations(read_only_hint=False, destructive_hint=True, open_world_hint=False, idempotent_hint=True)


def register(mcp: MCPServer, embedder: Embedder, runner: CallRunner) -> None:
    """Add the tool to a server, over one embedder."""

    @mcp.tool(name=NAME, description=DESCRIPTION, annotations=ANNOTATIONS)
    async def embed(
        ctx: Context,
        client_roots: RootsOut,
        texts: Annotated[str | list[str] | None, Field(description="A text or a list of texts.")] = None,
        normalize: Annotated[bool, Field(description="Default true.")] = True,
        dimensions: Annotated[int | None, Field(ge=1, description="Keep the first N components.")] = None,
        truncate: Annotated[bool, Field(description="Cut over-long texts instead of failing.")] = False,
        files: FilesArg = None,
        output_path: Annotated[str | None, Field(description="A .npy or .jsonl file.")] = None,
        overwrite: OverwriteArg = False,
    ) -> EmbedResult:
        """Embed texts or whole files."""
        items = [texts] if isinstance(texts, str) else texts or []
        roots = runner.local_roots(client_roots)
        return await runner.run(
            ctx,
            lambda call: embedder.embed(
                items,
                normalize=normalize,
                dimensions=dimensions,
                truncate=truncate,
                call=call,
                files=files or [],
                roots=roots,
                output_path=output_path,
                overwrite=overwrite,
            ),
        )
