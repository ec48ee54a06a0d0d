"""Arguments that several tools take, described the same everywhere."""

from __future__ import annotations

from typing import Annotated

from mcp.server.mcpserver import Resolve
from mcp_types import ListRootsResult
from pydantic import Field

from mcp_open.edge.roots import roots_for_files, roots_for_files_out

FilesArg = Annotated[
    list[str] | None,
    Field(
        description="Paths or globs in the allowed folders.",
        max_length=1000,
    ),
]
OutputArg = Annotated[str | None, Field(description="Write here instead (a folder for many files).")]
OverwriteArg = Annotated[bool, Field(description="Replace files.")]
InstructionArg = Annotated[str | None, Field(description="Task line for Qwen3-Embedding.")]
RootsOut = Annotated[ListRootsResult | None, Resolve(roots_for_files_out)]
RootsIn = Annotated[ListRootsResult | None, Resolve(roots_for_files)]
