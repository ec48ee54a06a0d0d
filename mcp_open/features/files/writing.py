"""Atomic writes: every output is staged as a temp file beside its target and renamed only when all are ready."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from mcp_open.errors import FileAccessError


class StagedWrites:
    """Temp files in the target folders, committed together by rename; anything unfinished is removed."""

    def __init__(self) -> None:
        self._staged: list[tuple[Path, Path, bool]] = []

    def stage(self, target: Path, text: str | bytes, *, overwrite: bool) -> int:
        """Write text (UTF-8) or bytes to a temp file next to target; returns its size in bytes."""
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
        temp = Path(name)
        self._staged.append((temp, target, overwrite))
        data = text.encode("utf-8") if isinstance(text, str) else text
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        return len(data)

    def commit(self) -> None:
        """Move every staged file into place: replace when overwrite, else refuse a file that appeared meanwhile."""
        try:
            for temp, target, overwrite in self._staged:
                _place(temp, target, overwrite)
        finally:
            self.discard()

    def discard(self) -> None:
        """Remove the temp files not yet moved into place."""
        for temp, _target, _overwrite in self._staged:
            with contextlib.suppress(FileNotFoundError):
                temp.unlink()
        self._staged.clear()

    def __enter__(self) -> StagedWrites:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.discard()


def _place(temp: Path, target: Path, overwrite: bool) -> None:
    """Rename into place; without overwrite a hard link makes 'create only if absent' atomic."""
    if overwrite:
        os.replace(temp, target)
        return
    try:
        os.link(temp, target)
    except FileExistsError:
        raise FileAccessError(
            f"'{target.name}' appeared while the call ran; pass overwrite=true to replace it, or choose another path"
        ) from None
    except OSError:  # a filesystem without hard links: check, then rename (a small race, documented)
        if target.exists():
            raise FileAccessError(f"'{target.name}' already exists; pass overwrite=true to replace it") from None
        os.replace(temp, target)
    else:
        temp.unlink()


def write_atomic(target: Path, text: str | bytes, *, overwrite: bool) -> int:
    """Write one file atomically; returns its size in bytes."""
    with StagedWrites() as staged:
        size = staged.stage(target, text, overwrite=overwrite)
        staged.commit()
    return size
