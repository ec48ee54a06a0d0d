"""The generate tool: text, data or written files from the local model."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp_types import ToolAnnotations
from pydantic import Field

from mcp_open.edge.calls import CallRunner
from mcp_open.edge.tools.args import FilesArg, OutputArg, OverwriteArg, RootsOut
from mcp_open.features.common.schemas import ChatMessage, GenerateRequest, GenerateResult
from mcp_open.features.generate.generator import Generator

NAME = "generate"
DESCRIPTION = (
    "Generate text with the local model. Give either `prompt` (one user message) or `messages` (chat turns "
    "with role system/user/assistant), optionally a `system` prompt. Good for drafting, rewriting, "
    "summarising, classification and extraction that do not need a frontier model. `thinking` (Qwen3) lets "
    "the model reason first; the reasoning comes back in `reasoning`, the answer in `text`. `max_tokens` "
    "bounds the output; usage reports tokens and speed. Files: `files` are read on the server as the material "
    "(each marked with its path; text in any encoding, Markdown, code, CSV, JSON, HTML, PDF with page marks) and "
    "`prompt`/`messages` is the instruction. `each: true` runs the instruction once per file and returns one "
    "answer per file in `files`. `output_path` writes the answer (a folder for each=true, names kept) and returns "
    "a short receipt in `written` instead of the text; existing files are replaced only with `overwrite: true`. "
    "Material longer than the context is an error with the token counts, never cut. For extraction and "
    "classification pass `json_schema` (the answer is JSON that matches it, parsed into `data`; with `each`, one "
    "object per file, or JSON Lines to `output_path`) or `choices` (the answer is exactly one of them)."
)
# It writes files when given output_path, and replaces them only with overwrite=true.
ANNOTATIONS = ToolAnnotations(read_only_hint=False, destructive_hint=True, open_world_hint=False, idempotent_hint=False)


def register(mcp: MCPServer, generator: Generator, runner: CallRunner) -> None:
    """Add the tool to a server, over one generator."""
    default_max_tokens = min(512, generator.max_tokens)

    @mcp.tool(name=NAME, description=DESCRIPTION, annotations=ANNOTATIONS)
    async def generate(
        ctx: Context,
        client_roots: RootsOut,
        prompt: Annotated[str | None, Field(description="The user's request. Give this or `messages`.")] = None,
        messages: Annotated[
            list[ChatMessage] | None, Field(description="Chat turns, oldest first. Give this or `prompt`.")
        ] = None,
        system: Annotated[str | None, Field(description="System prompt: role, rules, output format.")] = None,
        max_tokens: Annotated[
            int,
            Field(ge=1, description="Most tokens to generate (the server's --max-tokens caps it; 4096 unless set)."),
        ] = default_max_tokens,
        temperature: Annotated[
            float | None,
            Field(ge=0, le=2, allow_inf_nan=False, description="Randomness; 0 is greedy. Default 0.7 (0.6 thinking)."),
        ] = None,
        top_p: Annotated[
            float | None, Field(gt=0, le=1, allow_inf_nan=False, description="Nucleus sampling. Default 0.8.")
        ] = None,
        top_k: Annotated[int, Field(ge=0, le=1000, description="Sample from the k likeliest tokens.")] = 20,
        min_p: Annotated[
            float, Field(ge=0, le=1, allow_inf_nan=False, description="Drop tokens below this share of the top.")
        ] = 0.0,
        repeat_penalty: Annotated[
            float, Field(ge=0.5, le=2, allow_inf_nan=False, description="Above 1 discourages repeats.")
        ] = 1.0,
        seed: Annotated[int | None, Field(ge=0, le=2**32 - 2, description="Fix for repeatable sampling.")] = None,
        stop: Annotated[list[str] | None, Field(max_length=16, description="Stop before any of these.")] = None,
        thinking: Annotated[bool, Field(description="Let Qwen3 reason before answering.")] = False,
        json_schema: Annotated[
            dict[str, Any] | None,
            Field(description="Answer as JSON matching this JSON Schema (enforced while decoding); see `data`."),
        ] = None,
        choices: Annotated[
            list[str] | None, Field(description="The answer is exactly one of these strings; see `data`.")
        ] = None,
        files: FilesArg = None,
        each: Annotated[bool, Field(description="Run the instruction once per file; one result per file.")] = False,
        output_path: OutputArg = None,
        overwrite: OverwriteArg = False,
    ) -> GenerateResult:
        """Generate text."""
        req = GenerateRequest(
            prompt=prompt,
            messages=messages,
            system=system,
            max_tokens=max_tokens,
            temperature=temperature,
            top_p=top_p,
            top_k=top_k,
            min_p=min_p,
            repeat_penalty=repeat_penalty,
            seed=seed,
            stop=stop or [],
            thinking=thinking,
            json_schema=json_schema,
            choices=choices,
            files=files or [],
            each=each,
            output_path=output_path,
            overwrite=overwrite,
        )
        roots = runner.local_roots(client_roots)
        return await runner.run(ctx, lambda call: generator.generate(req, call, roots))
