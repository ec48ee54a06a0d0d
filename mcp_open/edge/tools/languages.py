"""The languages tool: the codes translate accepts."""

from __future__ import annotations

from mcp.server import MCPServer
from mcp_types import ToolAnnotations

from mcp_open.features.common.schemas import LanguagesResult
from mcp_open.features.translate.translator import Translator

NAME = "languages"
DESCRIPTION = "The language codes `translate` accepts, with names."
ANNOTATIONS = ToolAnnotations(read_only_hint=True, destructive_hint=False, open_world_hint=False, idempotent_hint=True)


def register(mcp: MCPServer, translator: Translator) -> None:
    """Add the tool to a server, over one translator."""

    @mcp.tool(name=NAME, description=DESCRIPTION, annotations=ANNOTATIONS)
    async def languages() -> LanguagesResult:
        """List languages (async: a worker-thread hop would cost more than the work)."""
        return translator.languages()
