"""The translate tool: texts or whole files into another language."""

from __future__ import annotations

from typing import Annotated

from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp_types import ToolAnnotations
from pydantic import Field

from mcp_open.edge.calls import CallRunner
from mcp_open.edge.tools.args import FilesArg, OutputArg, OverwriteArg, RootsOut
from mcp_open.features.common.schemas import Formality, TagHandling, TranslateRequest, TranslateResult
from mcp_open.features.translate.translator import Translator

NAME = "translate"
WRITES = "`output_path` writes notes.de.md files instead."
DESCRIPTION = (
    "Translate `text` (a string or a list) or `files` with the local model; documents keep their format (docx, "
    "xlsx, html, srt, JSON, .po, ...). Placeholders and tags are checked (failures in "
    "`problems`). " + WRITES
)
GlossaryArg = Annotated[
    dict[str, str] | str | None,
    Field(description="Terms to use: a JSON object of source: target terms, a CSV/TSV file or a stored name."),
]
InstructionsArg = Annotated[
    list[Annotated[str, Field(min_length=1, max_length=300)]] | None,
    Field(max_length=10, description="E.g. 'Use British spelling'."),
]
TagsArg = Annotated[
    TagHandling | None,
    Field(description="The text is html or xml: tags kept."),
]
# It writes files when given output_path (replacing them only with overwrite=true); the same call writes the same.
ANNOTATIONS = ToolAnnotations(read_only_hint=False, destructive_hint=True, open_world_hint=False, idempotent_hint=True)


def register(mcp: MCPServer, translator: Translator, runner: CallRunner) -> None:
    """Add the tool to a server, over one translator."""

    @mcp.tool(name=NAME, description=DESCRIPTION, annotations=ANNOTATIONS)
    async def translate(
        ctx: Context,
        client_roots: RootsOut,
        target_lang: Annotated[str, Field(description="de, fr, ja, pt-BR, ... (see `languages`).")],
        text: Annotated[str | list[str] | None, Field(description="A text or a list of texts.")] = None,
        source_lang: Annotated[str | None, Field(description="Detected if omitted.")] = None,
        context: Annotated[str | None, Field(description="Background, not translated.")] = None,
        formality: Formality = "default",
        files: FilesArg = None,
        output_path: OutputArg = None,
        overwrite: OverwriteArg = False,
        glossary: GlossaryArg = None,
        custom_instructions: InstructionsArg = None,
        tag_handling: TagsArg = None,
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
            glossary=glossary,
            custom_instructions=custom_instructions or [],
            tag_handling=tag_handling,
        )
        roots = runner.local_roots(client_roots)
        return await runner.run(ctx, lambda call: translator.translate(req, call, roots))
