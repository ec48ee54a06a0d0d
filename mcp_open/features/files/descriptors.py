"""Paths below the allowed folders opened by descriptor, one name at a time, a link followed only after its check."""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# Non-blocking: opening a FIFO for reading must not wait for a writer; no controlling terminal from a device.
FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
MAX_LINKS = 40  # the kernel's own limit on links followed in one lookup
PROC_FD = Path("/proc/self/fd")


class Refused(Exception):
    """A path the walk will not open; `why` says which kind: outside, missing, loop, unreadable, special, changed."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


@dataclass
class Opened:
    """An open descriptor, the real path it was reached by (no link in it), its root and what fstat said."""

    fd: int
    path: Path
    root: Path
    info: os.stat_result

    @property
    def parts(self) -> tuple[str, ...]:
        """The names below the root."""
        return self.path.relative_to(self.root).parts

    def close(self) -> None:
        """Close the descriptor."""
        os.close(self.fd)


class Tree:
    """The allowed folders (real paths) and how to open what lies below them without leaving them."""

    def __init__(self, roots: Sequence[Path]) -> None:
        self.roots = list(roots)
        # Longest first: with nested roots, a path belongs to the innermost one.
        self._by_depth = sorted(self.roots, key=lambda r: len(r.parts), reverse=True)

    def root_of(self, path: PurePosixPath | Path) -> Path | None:
        """The root a lexically normal absolute path lies in, or None."""
        return next((root for root in self._by_depth if Path(path).is_relative_to(root)), None)

    def open(self, path: Path, *, follow: bool = True) -> Opened:
        """Open a path (absolute, lexically normal); links inside the roots are followed when follow, else refused."""
        pending = Path(path)
        for _hop in range(MAX_LINKS + 1):
            root = self.root_of(pending)
            if root is None:
                raise Refused("outside")
            step = self._walk(root, pending.relative_to(root).parts, follow)
            if isinstance(step, Opened):
                return step
            pending = step
        raise Refused("loop")

    @contextmanager
    def opened(self, path: Path, *, follow: bool = True) -> Iterator[Opened]:
        """open() as a context that closes the descriptor."""
        found = self.open(path, follow=follow)
        try:
            yield found
        finally:
            found.close()

    def parent(self, path: Path) -> Opened:
        """The folder a new file goes into, held open; missing folders are made; no link is followed."""
        root = self.root_of(path)
        if root is None:
            raise Refused("outside")
        names = path.relative_to(root).parts[:-1]
        fd = _open_root(root)
        try:
            for name in names:
                fd = _descend(fd, name)
            info = os.fstat(fd)
            verify(fd, root.joinpath(*names))
        except BaseException:
            os.close(fd)
            raise
        return Opened(fd, root.joinpath(*names), root, info)

    def _walk(self, root: Path, names: tuple[str, ...], follow: bool) -> Opened | Path:
        """Open names one by one below root; a link met on the way gives the path to restart from instead."""
        fd = _open_root(root)
        try:
            for index, name in enumerate(names):
                last = index == len(names) - 1
                try:
                    child = os.open(name, FILE_FLAGS if last else DIR_FLAGS, dir_fd=fd)
                except OSError as exc:
                    here = root.joinpath(*names[:index])
                    target = _link_target(exc, name, fd)
                    if target is None:
                        raise Refused(_why(exc)) from None
                    if not follow:
                        raise Refused("changed") from None
                    os.close(fd)  # the walk restarts from the link's target: nothing of this one is kept
                    return Path(os.path.normpath(here / target)).joinpath(*names[index + 1 :])
                os.close(fd)
                fd = child
            real = root.joinpath(*names)
            verify(fd, real)
            return Opened(fd, real, root, os.fstat(fd))
        except BaseException:
            os.close(fd)
            raise


def verify(fd: int, expected: Path) -> None:
    """Check on the open descriptor that it is where the walk went (a folder moved away meanwhile is not)."""
    try:
        actual = os.readlink(PROC_FD / str(fd))
    except OSError:
        return  # no /proc here: the descriptor walk alone holds
    if actual != str(expected):
        raise Refused("changed")


def _open_root(root: Path) -> int:
    try:
        return os.open(root, DIR_FLAGS)
    except OSError as exc:
        raise Refused("changed" if exc.errno in (errno.ELOOP, errno.ENOTDIR) else _why(exc)) from None


def _descend(fd: int, name: str) -> int:
    """The sub-folder name of fd (made when missing), replacing fd (closed)."""
    for _attempt in range(3):
        try:
            child = os.open(name, DIR_FLAGS, dir_fd=fd)
        except FileNotFoundError:
            with suppress(FileExistsError):
                os.mkdir(name, 0o777, dir_fd=fd)
            continue
        except OSError as exc:
            raise Refused("changed" if exc.errno in (errno.ELOOP, errno.ENOTDIR) else _why(exc)) from None
        os.close(fd)
        return child
    raise Refused("changed")


def _link_target(exc: OSError, name: str, fd: int) -> str | None:
    """What a link met by an O_NOFOLLOW open points to; None when the entry is not a link."""
    if exc.errno not in (errno.ELOOP, errno.ENOTDIR, errno.EMLINK):
        return None
    try:
        return os.readlink(name, dir_fd=fd)
    except OSError:
        return None


def _why(exc: OSError) -> str:
    """The kind of refusal an open's error means."""
    if exc.errno in (errno.ENOENT, errno.ENOTDIR):
        return "missing"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "unreadable"
    if exc.errno in (errno.ENXIO, errno.EOPNOTSUPP, errno.ENODEV):
        return "special"
    if exc.errno in (errno.ELOOP, errno.EMLINK):
        return "loop"
    return "unreadable"


def read_all(fd: int, limit: int) -> bytes:
    """Up to limit + 1 bytes from a descriptor (one more than allowed tells the caller it is too big)."""
    chunks, size = [], 0
    while size <= limit:
        chunk = os.read(fd, min(1 << 20, limit + 1 - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def is_regular(info: os.stat_result) -> bool:
    """A regular file (not a folder, pipe, socket or device)."""
    return stat.S_ISREG(info.st_mode)


def is_folder(info: os.stat_result) -> bool:
    """A folder."""
    return stat.S_ISDIR(info.st_mode)
