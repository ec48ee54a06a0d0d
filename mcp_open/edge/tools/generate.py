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
WRITES = "`output_path` writes the answer to disk and returns a receipt."
DESCRIPTION = (
    "Run the local open model on routine work (drafting, rewriting, summarising, extraction). `files` are the "
    "material, read on the server; `each` runs once per file. `json_schema` or `choices` constrain the answer "
    "(parsed into `data`). " + WRITES
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
        prompt: Annotated[str | None, Field(description="The request (or give `messages`).")] = None,
        messages: Annotated[list[ChatMessage] | None, Field(description="Chat turns, oldest first.")] = None,
        system: Annotated[str | None, Field(description="System prompt.")] = None,
        max_tokens: Annotated[
            int,
            Field(ge=1, description="Most tokens to write; default 512."),
        ] = default_max_tokens,
        temperature: Annotated[
            float | None,
            Field(ge=0, le=2, allow_inf_nan=False, description="0 is greedy; default 0.7."),
        ] = None,
        top_p: Annotated[float | None, Field(gt=0, le=1, allow_inf_nan=False)] = None,
        top_k: Annotated[int, Field(ge=0, le=1000)] = 20,
        min_p: Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)] = 0.0,
        repeat_penalty: Annotated[float, Field(ge=0.5, le=2, allow_inf_nan=False)] = 1.0,
        seed: Annotated[int | None, Field(ge=0, le=2**32 - 2)] = None,
        stop: Annotated[list[str] | None, Field(max_length=16, description="Stop strings.")] = None,
        thinking: Annotated[bool, Field(description="Reason first (into `reasoning`).")] = False,
        json_schema: Annotated[
            dict[str, Any] | None,
            Field(description="JSON Schema the answer must match."),
        ] = None,
        choices: Annotated[list[str] | None, Field(description="The answer is one of these.")] = None,
        files: FilesArg = None,
        each: Annotated[bool, Field(description="Once per file.")] = False,
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
