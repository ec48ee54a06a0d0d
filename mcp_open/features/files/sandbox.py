"""The allowed folders: every file argument is resolved ('..', '~', symlinks) and checked against them first."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path
from urllib.parse import unquote, urlparse

from mcp_open.errors import FileAccessError
from mcp_open.features.files.readers import looks_binary

GLOB_CHARS = frozenset("*?[")
NO_ROOTS = (
    "file arguments need an allowed folder, and this server has none; restart it with --allow-dir DIR "
    "(repeatable, or MCP_OPEN_ALLOW_DIRS), or use a client that declares its roots"
)


class Sandbox:
    """Reads and writes only inside its roots, within the size and match limits."""

    def __init__(self, roots: Iterable[Path], *, max_file_bytes: int, max_matches: int) -> None:
        resolved = [Path(root).expanduser().resolve() for root in roots]
        self.roots = list(dict.fromkeys(root for root in resolved if root.is_dir()))
        self.missing = [root for root in resolved if not root.is_dir()]
        self.max_file_bytes = max_file_bytes
        self.max_matches = max_matches
        self.packaged: frozenset[str] = frozenset()  # suffixes of zip documents a caller reads itself (.docx)

    def input_files(self, specs: Sequence[str]) -> list[Path]:
        """Paths, file:// URIs and globs -> the regular text files they name inside the roots, sorted, unique."""
        self._require_roots()
        found: set[Path] = set()
        for spec in specs:
            literal = self._literal(spec) if is_glob(spec) else self.locate(spec)
            if literal is None:
                found.update(self._glob(spec))
            else:
                found.add(self._checked_file(literal, spec))
        return sorted(found)

    def input_tree(self, specs: Sequence[str]) -> list[Path]:
        """Like input_files, but folders expand recursively to their readable, visible files (for search)."""
        self._require_roots()
        found: set[Path] = set()
        for spec in specs:
            path = None if is_glob(spec) else self.locate(spec)
            if path is not None and path.is_dir():
                found.update(self._walk(path, spec))
            else:
                found.update(self.input_files([spec]))
            self._check_count(len(found), spec)
        return sorted(found)

    def output_path(self, spec: str, *, overwrite: bool) -> Path:
        """Where to write: inside the roots, and not an existing file unless overwrite."""
        path = self.locate(spec, for_output=True)
        self.check_target(path, spec, overwrite=overwrite)
        return path

    def check_target(self, path: Path, spec: str, *, overwrite: bool) -> None:
        """Refuse writing over an existing file without overwrite, or over anything but a file or folder."""
        if not path.exists() or path.is_dir():
            return
        if not path.is_file():
            raise FileAccessError(f"'{spec}' exists and is not a regular file; choose another output path")
        if not overwrite:
            raise FileAccessError(f"'{spec}' already exists; pass overwrite=true to replace it, or choose another path")

    def shown(self, path: Path) -> str:
        """How a path inside the roots appears in results: relative to its root when that names it unambiguously."""
        for index, root in enumerate(self.roots):
            if path.is_relative_to(root):
                relative = path.relative_to(root)
                earlier = any((other / relative).exists() for other in self.roots[:index])
                return str(path) if earlier or relative == Path() else relative.as_posix()
        return "(outside the allowed folders)"

    def locate(self, spec: str, *, for_output: bool = False, given: str | None = None) -> Path:
        """A spec as a resolved path inside the roots; the check comes before anything about the file is learnt."""
        self._require_roots()
        path = self._resolve(spec, for_output)
        if not self.contains(path):
            name = given or spec
            raise FileAccessError(f"'{name}' is outside the allowed folders ({self._roots_text()}); {_ROOTS_HINT}")
        return path

    def _literal(self, spec: str) -> Path | None:
        """A spec with glob characters that names an existing file as written ('report [final].md')."""
        try:
            path = self.locate(spec)
        except FileAccessError:
            return None
        return path if path.exists() else None

    def _require_roots(self) -> None:
        if not self.roots:
            missing = f" (not folders, so ignored: {', '.join(map(str, self.missing))})" if self.missing else ""
            raise FileAccessError(NO_ROOTS + missing)

    def contains(self, path: Path) -> bool:
        """True when a resolved path lies inside one of the roots."""
        return any(path.is_relative_to(root) for root in self.roots)

    def _resolve(self, spec: str, for_output: bool) -> Path:
        """Absolute, '~' expanded, '..' and symlinks resolved; relative specs try each root in turn."""
        raw = _path_of(spec)
        if raw.is_absolute():
            return raw.resolve()
        candidates = [(root / raw).resolve() for root in self.roots]
        probe = (lambda p: p.parent.is_dir()) if for_output else Path.exists
        inside = [c for c in candidates if self.contains(c)]
        return next((c for c in inside if probe(c)), inside[0] if inside else candidates[0])

    def _checked_file(self, path: Path, spec: str) -> Path:
        """A located path that is an existing, regular, small enough text file."""
        try:
            info = path.stat()
        except OSError:
            raise FileAccessError(f"'{spec}' does not exist in the allowed folders ({self._roots_text()})") from None
        if stat.S_ISDIR(info.st_mode):
            raise FileAccessError(f"'{spec}' is a folder; name its files or use a glob such as '{spec}/**/*.md'")
        if not stat.S_ISREG(info.st_mode):
            raise FileAccessError(f"'{spec}' is not a regular file (a device, pipe or socket); pass ordinary files")
        if info.st_size > self.max_file_bytes:
            raise FileAccessError(
                f"'{spec}' is {info.st_size / 1e6:.1f} MB, over this server's limit of "
                f"{self.max_file_bytes / 1e6:g} MB; split it, or restart the server with a larger --max-file-mb"
            )
        if path.suffix.lower() not in self.packaged and looks_binary(path):
            raise FileAccessError(f"'{spec}' is a binary file; pass text, Markdown, code, CSV, JSON, HTML or PDF")
        return path

    def _glob(self, spec: str) -> list[Path]:
        """The files a glob matches inside the roots; a glob whose fixed part leaves the roots is refused."""
        base, pattern = _split_glob(spec)
        if ".." in Path(pattern).parts:
            raise FileAccessError(f"'{spec}': globs may not climb out with '..'; start the glob inside a folder")
        bases = [self.locate(base, given=spec)] if base else list(self.roots)
        files: set[Path] = set()
        for match in (m.resolve() for b in bases if b.is_dir() for m in b.glob(pattern)):
            if self.contains(match) and self._usable(match):
                files.add(match)
                self._check_count(len(files), spec)
        if not files:
            raise FileAccessError(f"'{spec}' matches no readable file in the allowed folders ({self._roots_text()})")
        return sorted(files)

    def _walk(self, folder: Path, spec: str) -> list[Path]:
        """Visible, readable files under a folder, recursively."""
        found = []
        for dirpath, dirnames, filenames in os.walk(folder):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for name in filenames:
                path = Path(dirpath, name)
                # The walk starts at a resolved folder and does not follow linked folders, so only a link needs
                # resolving (resolve() per file was most of a search's time over 1,000 files).
                path = path.resolve() if path.is_symlink() else path
                if not name.startswith(".") and self.contains(path) and self._usable(path):
                    found.append(path)
                    self._check_count(len(found), spec)
        return found

    def _usable(self, path: Path) -> bool:
        """Regular, within the size limit and text: what globs and folder walks keep (silently)."""
        try:
            info = path.stat()
            ok = stat.S_ISREG(info.st_mode) and info.st_size <= self.max_file_bytes
            packaged = path.suffix.lower() in self.packaged
            return ok and (packaged or not _looks_binary_cached(str(path), info.st_size, info.st_mtime_ns))
        except OSError:
            return False

    def _check_count(self, count: int, spec: str) -> None:
        if count > self.max_matches:
            raise FileAccessError(
                f"'{spec}' matches more than {self.max_matches} files; narrow the glob, or restart the server "
                "with a larger --max-files"
            )

    def _roots_text(self) -> str:
        return ", ".join(str(root) for root in self.roots)


_ROOTS_HINT = "pass a path inside one of them, or restart the server with another --allow-dir"


def _path_of(spec: str) -> Path:
    """A path from a spec: a file:// URI or a path, with '~' expanded; NUL bytes refused."""
    if "\x00" in spec:
        raise FileAccessError("a file argument contains a NUL byte; pass a plain path")
    if spec.startswith("file:"):
        uri = urlparse(spec)
        if uri.netloc not in ("", "localhost"):
            raise FileAccessError(f"'{spec}' names another host; pass a local file:// URI or a path")
        return Path(unquote(uri.path))
    if not spec.strip():
        raise FileAccessError("a file argument is empty; pass a path, a file:// URI or a glob")
    return Path(spec).expanduser()


def is_glob(spec: str) -> bool:
    """True when a spec has wildcard characters."""
    return any(ch in GLOB_CHARS for ch in spec)


def _split_glob(spec: str) -> tuple[str, str]:
    """The fixed folder before the first wildcard, and the pattern after it."""
    parts = Path(spec).expanduser().parts
    first = next(i for i, part in enumerate(parts) if any(ch in GLOB_CHARS for ch in part))
    if first == len(parts) - 1 and parts[-1] == "**":
        parts = (*parts, "*")  # 'dir/**' means every file below dir
    return str(Path(*parts[:first])) if first else "", str(Path(*parts[first:]))


@lru_cache(maxsize=65_536)
def _looks_binary_cached(path: str, _size: int, _mtime_ns: int) -> bool:
    """looks_binary, remembered per file version (size and mtime are part of the key)."""
    return looks_binary(Path(path))
