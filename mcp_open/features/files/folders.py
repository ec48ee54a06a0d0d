"""The folders a call may touch: the operator's --allow-dir plus the roots the client declared."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from mcp_open.features.files.sandbox import Sandbox

MB = 1_000_000


@dataclass(frozen=True)
class Folders:
    """Builds each call's sandbox from the allowed folders and the limits on what it reads."""

    allowed: Sequence[Path]
    max_file_mb: float
    max_files: int
    allow_secrets: bool = False

    def sandbox(self, client_roots: Sequence[Path] = ()) -> Sandbox:
        """The folders this call may read and write: --allow-dir plus the roots the client declared."""
        return Sandbox(
            [*self.allowed, *client_roots],
            max_file_bytes=int(self.max_file_mb * MB),
            max_matches=self.max_files,
            allow_secrets=self.allow_secrets,
        )
