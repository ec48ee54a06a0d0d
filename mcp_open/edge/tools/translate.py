"""The translate tool: texts or whole files into another language."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp_types import ToolAnnotations
from pydantic import Field

from mcp_open.edge.calls import CallRunner
from mcp_open.edge.tools.args import FilesArg, OutputArg, OverwriteArg, RootsOut
from mcp_open.features.common.schemas import Formality, TranslateRequest, TranslateResult
from mcp_open.features.translate.translator import Translator

if TYPE_CHECKING:
    from mcp_open.edge.wiring import App

NAME = "translate"
WRITES = "`output_path` writes the translations (notes.md -> notes.de.md), returning receipts."
DESCRIPTION = (
    "Translate with the local model, formatting kept. `text` is a string or a list; or `files` read on the server. "
    "The source language is detected unless given. " + WRITES
)
# It writes files when given output_path (replacing them only with overwrite=true); the same call writes the same.
ANNOTATIONS = ToolAnnotations(read_only_hint=False, destructive_hint=True, open_world_hint=False, idempotent_hint=True)


def mount(mcp: MCPServer, app: App, runner: CallRunner) -> None:
    """Add the tool to a server, over the app's translator."""
    register(mcp, app.translator, runner)


def register(mcp: MCPServer, translator: Translator, runner: CallRunner) -> None:
    """Add the tool to a server, over one translator."""

    @mcp.tool(name=NAME, description=DESCRIPTION, annotations=ANNOTATIONS)
    async def translate(
        ctx: Context,
        client_roots: RootsOut,
        target_lang: Annotated[str, Field(description="Language code: de, fr, ja, pt-BR, zh-Hant (see `languages`).")],
        text: Annotated[str | list[str] | None, Field(description="A text or a list of texts.")] = None,
        source_lang: Annotated[str | None, Field(description="Detected if omitted.")] = None,
        context: Annotated[str | None, Field(description="Background, not translated.")] = None,
        formality: Formality = "default",
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
        roots = runner.local_roots(client_roots)
        return await runner.run(ctx, lambda call: translator.translate(req, call, roots))
