"""All-or-nothing writes: temp files made inside parent folders held open by descriptor, committed together."""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

from mcp_open.errors import FileAccessError
from mcp_open.features.files.descriptors import Opened, Refused
from mcp_open.features.files.sandbox import Sandbox

CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
NO_HARD_LINKS = (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK)


@dataclass
class _Staged:
    parent: Opened
    temp: str
    name: str
    shown: str
    overwrite: bool
    backup: str | None = None
    placed: bool = False


class StagedWrites:
    """Temp files beside their targets, moved into place together; if one fails, the others are undone."""

    def __init__(self, box: Sandbox) -> None:
        self.box = box
        self._staged: list[_Staged] = []

    def stage(self, target: Path, text: str | bytes, *, overwrite: bool, shown: str | None = None) -> int:
        """Write text (or a document's bytes) to a temp file in target's folder (no link followed); returns its size."""
        shown = shown or self.box.shown(target)
        try:
            parent = self.box.tree.parent(target)
        except Refused as exc:
            raise FileAccessError(self.box.refusal(exc, shown) + "; nothing was written") from None
        temp = f".{target.name}.{secrets.token_hex(4)}.part"
        item = _Staged(parent, temp, target.name, shown, overwrite)
        data = text if isinstance(text, bytes) else text.encode("utf-8")
        try:
            fd = os.open(temp, CREATE_FLAGS, 0o666, dir_fd=parent.fd)
        except OSError as exc:
            parent.close()
            raise _failed(shown, exc) from None
        self._staged.append(item)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as exc:
            raise _failed(shown, exc) from None
        return len(data)

    def commit(self) -> None:
        """Move every staged file into place, or none: a failure puts back what was there before."""
        try:
            for item in self._staged:
                _place(item)
        except BaseException:
            for item in reversed(self._staged):
                _undo(item)
            raise
        finally:
            self.discard()

    def discard(self) -> None:
        """Remove temp files and kept originals, and close the folders."""
        for item in self._staged:
            for name in (item.temp, item.backup):
                if name is not None:
                    with contextlib.suppress(OSError):
                        os.unlink(name, dir_fd=item.parent.fd)
            item.parent.close()
        self._staged.clear()

    def __enter__(self) -> StagedWrites:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.discard()


def _place(item: _Staged) -> None:
    """Keep the original (when replacing), then rename; without overwrite a hard link is 'create if absent'."""
    fd = item.parent.fd
    if item.overwrite:
        item.backup = _keep_original(item)
        os.rename(item.temp, item.name, src_dir_fd=fd, dst_dir_fd=fd)
        item.placed = True
        return
    try:
        os.link(item.temp, item.name, src_dir_fd=fd, dst_dir_fd=fd, follow_symlinks=False)
    except FileExistsError:
        raise FileAccessError(
            f"'{item.shown}' appeared while the call ran; pass overwrite=true to replace it, or choose another path; "
            "nothing was written"
        ) from None
    except OSError as exc:
        if exc.errno not in NO_HARD_LINKS:
            raise _failed(item.shown, exc) from None
        # A filesystem without hard links: check, then rename (a small race, documented).
        if _exists(item.name, fd):
            raise FileAccessError(f"'{item.shown}' already exists; pass overwrite=true to replace it") from None
        os.rename(item.temp, item.name, src_dir_fd=fd, dst_dir_fd=fd)
    item.placed = True


def _keep_original(item: _Staged) -> str | None:
    """A second name for the file about to be replaced, so a failed call can put it back."""
    fd = item.parent.fd
    try:
        info = os.stat(item.name, dir_fd=fd, follow_symlinks=False)
    except FileNotFoundError:
        return None
    if stat.S_ISDIR(info.st_mode):
        raise FileAccessError(f"'{item.shown}' is a folder now; choose another output path; nothing was written")
    backup = f".{item.name}.{secrets.token_hex(4)}.orig"
    try:
        os.link(item.name, backup, src_dir_fd=fd, dst_dir_fd=fd, follow_symlinks=False)
    except OSError as exc:
        if exc.errno not in NO_HARD_LINKS:
            raise _failed(item.shown, exc) from None
        os.rename(item.name, backup, src_dir_fd=fd, dst_dir_fd=fd)
    return backup


def _undo(item: _Staged) -> None:
    """Put back what a placed item replaced (or remove what it created)."""
    fd = item.parent.fd
    with contextlib.suppress(OSError):
        if item.backup is not None:
            os.rename(item.backup, item.name, src_dir_fd=fd, dst_dir_fd=fd)
            item.backup = None
        elif item.placed:
            os.unlink(item.name, dir_fd=fd)


def _exists(name: str, fd: int) -> bool:
    try:
        os.stat(name, dir_fd=fd, follow_symlinks=False)
    except FileNotFoundError:
        return False
    return True


def _failed(shown: str, exc: OSError) -> FileAccessError:
    return FileAccessError(f"'{shown}' could not be written ({exc.strerror}); nothing was written")


def write_atomic(box: Sandbox, target: Path, text: str | bytes, *, overwrite: bool) -> int:
    """Write one file atomically inside the sandbox; returns its size in bytes."""
    with StagedWrites(box) as staged:
        size = staged.stage(target, text, overwrite=overwrite)
        staged.commit()
    return size
