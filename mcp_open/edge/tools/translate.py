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
DESCRIPTION = (
    "Translate text with the local model. `text` is a string or a list of strings (one translation each, in "
    "order). `target_lang` is a language code such as de, fr, ja, pt-BR, en-GB, zh-Hant (see the "
    "`languages` tool); `source_lang` is detected when omitted and the detected code is reported. `context` "
    "helps with ambiguity and is not translated. `formality`: default, more, less, prefer_more, "
    "prefer_less. Line breaks and markdown are kept; the output is only the translation. Instead of `text`, "
    "`files` translates whole files read on the server; with `output_path` the translations are written (a "
    "folder for several files, names kept with a language suffix: notes.md -> notes.de.md) and `written` "
    "holds receipts; existing files are replaced only with `overwrite: true`. Documents keep their own format "
    "and structure (docx, pptx, xlsx, html, srt, vtt, xliff, JSON, YAML, .po, Android strings.xml): only text "
    "changes; .docx/.pptx/.xlsx need `output_path`. Placeholders ({name}, {{count}}, %s, %1$d, ICU plural/select), "
    "tags, URLs, code and numbers are checked in every output; a text that fails even under constraint keeps its "
    "source and is listed in `problems`. `glossary` terms are enforced while decoding and listed per text in "
    "`glossary_applied`. Many short strings are translated in batches."
)
GlossaryArg = Annotated[
    dict[str, str] | str | None,
    Field(
        description="Terms decoding must use: inline {'source term': 'target term'}, a CSV/TSV file in the allowed "
        "folders, or the name of a stored glossary (mcp-open glossary create)."
    ),
]
InstructionsArg = Annotated[
    list[Annotated[str, Field(min_length=1, max_length=300)]] | None,
    Field(max_length=10, description="Up to 10 instructions of up to 300 characters, e.g. 'Use British spelling'."),
]
TagsArg = Annotated[
    TagHandling | None,
    Field(description="'html' or 'xml': the text is markup; only its text is translated, tags and attributes kept."),
]
# It writes files when given output_path (replacing them only with overwrite=true); the same call writes the same.
ANNOTATIONS = ToolAnnotations(read_only_hint=False, destructive_hint=True, open_world_hint=False, idempotent_hint=True)


def register(mcp: MCPServer, translator: Translator, runner: CallRunner) -> None:
    """Add the tool to a server, over one translator."""

    @mcp.tool(name=NAME, description=DESCRIPTION, annotations=ANNOTATIONS)
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
