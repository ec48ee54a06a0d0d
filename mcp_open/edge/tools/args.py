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
        description="Paths (absolute or relative to an allowed folder), file:// URIs or globs (docs/**/*.md).",
        max_length=1000,
    ),
]
OutputArg = Annotated[
    str | None, Field(description="Write the result here instead of returning it: a file, or a folder for many.")
]
OverwriteArg = Annotated[bool, Field(description="Replace existing files at output_path (otherwise refused).")]
InstructionArg = Annotated[str | None, Field(description="Task for instruction-aware embedders (Qwen3-Embedding).")]
RootsOut = Annotated[ListRootsResult | None, Resolve(roots_for_files_out)]
RootsIn = Annotated[ListRootsResult | None, Resolve(roots_for_files)]
