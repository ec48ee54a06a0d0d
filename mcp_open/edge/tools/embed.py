"""The embed tool: one vector per text or file."""

from __future__ import annotations

from typing import Annotated

from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp_types import ToolAnnotations
from pydantic import Field

from mcp_open.edge.calls import CallRunner
from mcp_open.edge.tools.args import FilesArg, RootsIn
from mcp_open.features.common.schemas import EmbedResult
from mcp_open.features.embed.embedder import Embedder

NAME = "embed"
DESCRIPTION = (
    "Embed texts as vectors with the local embedding model (one vector per text, in order). Prefer `rank` "
    "for search: vectors are long and rarely useful in a conversation. `dimensions` truncates vectors "
    "(Matryoshka) and renormalises; `truncate` cuts texts longer than the model's context instead of failing. "
    "`files` instead of `texts` embeds each whole file (one vector per file; `paths` says which)."
)
ANNOTATIONS = ToolAnnotations(read_only_hint=True, destructive_hint=False, open_world_hint=False, idempotent_hint=True)


def register(mcp: MCPServer, embedder: Embedder, runner: CallRunner) -> None:
    """Add the tool to a server, over one embedder."""

    @mcp.tool(name=NAME, description=DESCRIPTION, annotations=ANNOTATIONS)
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
            ),
        )
