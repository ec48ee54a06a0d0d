"""The allowed folders: every file argument is opened by descriptor below one of them, and checked on the descriptor."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import unquote, urlparse

from mcp_open.errors import FileAccessError
from mcp_open.features.files import listing
from mcp_open.features.files.descriptors import FILE_FLAGS, Opened, Refused, Tree, is_folder, is_regular, read_all
from mcp_open.features.files.readers import SNIFF_BYTES, binary_head, kind_of
from mcp_open.features.files.secrets import SECRET_HINT, secret_part

GLOB_CHARS = frozenset("*?[")
NO_ROOTS = (
    "file arguments need an allowed folder, and this server has none; restart it with --allow-dir DIR "
    "(repeatable, or MCP_OPEN_ALLOW_DIRS), or use a client that declares its roots"
)
MIN_FREE_BYTES = 1_000_000  # a target folder with less room than this is called full before the model runs
REASONS = {
    "missing": "does not exist in the allowed folders ({roots})",
    "loop": "goes through too many links (a link loop?); name the file itself",
    "unreadable": "cannot be read (permission denied); fix its permissions or pass another file",
    "special": "is not a regular file (a device, pipe or socket); pass ordinary files",
    "changed": "changed while it was being opened (a link or folder was swapped); nothing was read or written",
}


class Sandbox:
    """Reads and writes only inside its roots, within the size and match limits, never a secret unless allowed."""

    def __init__(
        self, roots: Iterable[Path], *, max_file_bytes: int, max_matches: int, allow_secrets: bool = False
    ) -> None:
        resolved = [Path(root).expanduser().resolve() for root in roots]
        self.roots = list(dict.fromkeys(root for root in resolved if root.is_dir()))
        self.missing = [root for root in resolved if not root.is_dir()]
        self.max_file_bytes = max_file_bytes
        self.max_matches = max_matches
        self.allow_secrets = allow_secrets
        self.tree = Tree(self.roots)
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
                found.update(self._matching(path, listing.EVERY_FILE, spec))
            else:
                found.update(self.input_files([spec]))
            self._check_count(len(found), spec)
        return sorted(found)

    def read(self, path: Path, shown: str | None = None) -> tuple[os.stat_result, bytes]:
        """A file's bytes and the fstat of the very descriptor they came from (no link out, no pipe, no secret)."""
        name = shown or self.shown(path)
        with self._opened(path, name) as opened:
            self._check_opened(opened, name)
            data = read_all(opened.fd, self.max_file_bytes)
        if len(data) > self.max_file_bytes:
            raise FileAccessError(self._too_big(name, len(data)))
        return opened.info, data

    def output_path(self, spec: str, *, overwrite: bool) -> Path:
        """Where to write: in one allowed folder, no link out, no secret name, no existing file unless overwrite."""
        path = self.output_location(spec)
        self.check_target(path, spec, overwrite=overwrite)
        return path

    def output_location(self, spec: str) -> Path:
        """The real path an output spec names: links in the part that exists resolved inside the roots, checked."""
        self._require_roots()
        root, lexical = self._output_lexical(spec)
        parts = lexical.relative_to(root).parts
        for depth in range(len(parts), -1, -1):
            try:
                with self.tree.opened(root.joinpath(*parts[:depth])) as opened:
                    if depth < len(parts) and not is_folder(opened.info):
                        shown = "/".join(parts[:depth])
                        raise FileAccessError(f"'{spec}': '{shown}' is a file, so nothing can be written below it")
                    real = opened.path.joinpath(*parts[depth:])
                    break
            except Refused as exc:
                if exc.why != "missing" or depth == 0:
                    raise FileAccessError(self.refusal(exc, spec)) from None
        self._check_secret(real, spec)
        return real

    def check_target(self, path: Path, spec: str, *, overwrite: bool) -> None:
        """Refuse writing over an existing file without overwrite, or over anything but a file or folder."""
        try:
            info = os.stat(path, follow_symlinks=False)
        except FileNotFoundError:
            return
        except OSError:
            raise FileAccessError(f"'{spec}' cannot be checked (permission denied); choose another path") from None
        if is_folder(info):
            return
        if not is_regular(info):
            raise FileAccessError(f"'{spec}' exists and is not a regular file; choose another output path")
        if not overwrite:
            raise FileAccessError(f"'{spec}' already exists; pass overwrite=true to replace it, or choose another path")

    def check_writable(self, path: Path, spec: str) -> None:
        """Before the model runs: the nearest existing folder of a target takes a new file and has room left."""
        root = self.tree.root_of(path)
        folder = path.parent
        while folder != root and not os.path.lexists(folder):
            folder = folder.parent
        try:
            with self.tree.opened(folder, follow=False) as opened:
                room = os.statvfs(opened.fd)
                writable = os.access(f"/proc/self/fd/{opened.fd}", os.W_OK | os.X_OK) or not _PROC.exists()
        except Refused as exc:
            raise FileAccessError(self.refusal(exc, spec)) from None
        if room.f_flag & os.ST_RDONLY or not writable:
            raise FileAccessError(f"'{spec}' cannot be written: its folder is read-only; choose a writable folder")
        if room.f_bavail * room.f_frsize < MIN_FREE_BYTES:
            raise FileAccessError(f"'{spec}' cannot be written: its disk is full; free space or choose another folder")

    def shown(self, path: Path) -> str:
        """How a path inside the roots appears in results: relative to its root when that names it unambiguously."""
        for index, root in enumerate(self.roots):
            if path.is_relative_to(root):
                relative = path.relative_to(root)
                earlier = any(os.path.lexists(other / relative) for other in self.roots[:index])
                return str(path) if earlier or relative == Path() else relative.as_posix()
        return "(outside the allowed folders)"

    def locate(self, spec: str, *, given: str | None = None) -> Path:
        """A spec as the real path it names inside the roots (opened by descriptor to find out), else an error."""
        self._require_roots()
        name = given or spec
        candidates = self._candidates(spec)
        if not candidates:
            raise FileAccessError(self._outside(name))
        for candidate in candidates:
            try:
                with self.tree.opened(candidate) as opened:
                    self._check_secret(opened.path, name)
                    return opened.path
            except Refused as exc:
                if exc.why != "missing":
                    raise FileAccessError(self.refusal(exc, name)) from None
        raise FileAccessError(self.refusal(Refused("missing"), name))

    def contains(self, path: Path) -> bool:
        """True when a real path lies inside one of the roots."""
        return self.tree.root_of(path) is not None

    def allowed_name(self, path: Path) -> bool:
        """False for a path below a root whose names look secret (unless secrets are allowed)."""
        root = self.tree.root_of(path)
        return self.allow_secrets or root is None or secret_part(path.relative_to(root).parts) is None

    def _candidates(self, spec: str) -> list[Path]:
        """Lexically normal absolute paths a spec may name inside the roots, in the order they are tried."""
        raw = _path_of(spec)
        if raw.is_absolute():
            lexical = Path(os.path.normpath(raw))
            if self.contains(lexical):
                return [lexical]
            real = raw.resolve()  # a link above the roots (the user's own namespace) may lead into them
            return [real] if self.contains(real) else []
        return [c for c in (Path(os.path.normpath(root / raw)) for root in self.roots) if self.contains(c)]

    def _output_lexical(self, spec: str) -> tuple[Path, Path]:
        """The root and the path an output spec names; a relative one must belong to exactly one allowed folder."""
        candidates = [(root, c) for c in self._candidates(spec) if (root := self.tree.root_of(c)) is not None]
        if not candidates:
            raise FileAccessError(self._outside(spec))
        if _path_of(spec).is_absolute() or len(self.roots) == 1:
            return candidates[0]
        first = _path_of(spec).parts[0]
        holders = [root for root in self.roots if os.path.lexists(root / first)]
        if len(holders) == 1:
            lexical = Path(os.path.normpath(holders[0] / _path_of(spec)))
            root = self.tree.root_of(lexical)
            if root is None:
                raise FileAccessError(self._outside(spec))
            return root, lexical
        where = ", ".join(str(root) for root in (holders or self.roots))
        raise FileAccessError(
            f"'{spec}' could name a place in more than one allowed folder ({where}); pass the output path "
            "as an absolute path inside the folder you mean"
        )

    def _literal(self, spec: str) -> Path | None:
        """A spec with glob characters that names an existing file as written ('report [final].md')."""
        try:
            return self.locate(spec)
        except FileAccessError:
            return None

    def _require_roots(self) -> None:
        if not self.roots:
            missing = f" (not folders, so ignored: {', '.join(map(str, self.missing))})" if self.missing else ""
            raise FileAccessError(NO_ROOTS + missing)

    def _checked_file(self, path: Path, spec: str) -> Path:
        """A located path that is an existing, regular, small enough text file."""
        with self._opened(path, spec) as opened:
            if is_folder(opened.info):
                raise FileAccessError(f"'{spec}' is a folder; name its files or use a glob such as '{spec}/**/*.md'")
            self._check_opened(opened, spec)
            if _binary(opened) and not self._packaged(opened.path):
                raise FileAccessError(f"'{spec}' is a binary file; pass text, Markdown, code, CSV, JSON, HTML or PDF")
            return opened.path

    @contextmanager
    def _opened(self, path: Path, name: str) -> Iterator[Opened]:
        """The open descriptor of a path inside the roots that is not a secret; refusals as FileAccessError."""
        try:
            opened = self.tree.open(path)
        except Refused as exc:
            raise FileAccessError(self.refusal(exc, name)) from None
        try:
            self._check_secret(opened.path, name)
            yield opened
        finally:
            opened.close()

    def _check_opened(self, opened: Opened, name: str) -> None:
        """On the descriptor itself: a regular file within the size limit."""
        if not is_regular(opened.info):
            raise FileAccessError(f"'{name}' {REASONS['special']}")
        if opened.info.st_size > self.max_file_bytes:
            raise FileAccessError(self._too_big(name, opened.info.st_size))

    def _check_secret(self, path: Path, name: str) -> None:
        root = self.tree.root_of(path)
        found = None if self.allow_secrets or root is None else secret_part(path.relative_to(root).parts)
        if found is not None:
            raise FileAccessError(
                f"'{name}' looks like it holds secrets ('{found}'): mcp-open does not read, index or write such "
                f"files; pass other files, or {SECRET_HINT}"
            )

    def _glob(self, spec: str) -> list[Path]:
        """The files a glob matches inside the roots; a glob whose fixed part leaves the roots is refused."""
        base, pattern = _split_glob(spec)
        parts = listing.pattern_parts(pattern)
        if ".." in parts:
            raise FileAccessError(f"'{spec}': globs may not climb out with '..'; start the glob inside a folder")
        bases = [self.locate(base, given=spec)] if base else list(self.roots)
        files: set[Path] = set()
        for folder in bases:
            files.update(self._matching(folder, parts, spec, already=len(files)))
        if not files:
            raise FileAccessError(f"'{spec}' matches no readable file in the allowed folders ({self._roots_text()})")
        return sorted(files)

    def _matching(self, folder: Path, parts: tuple[str, ...], spec: str, already: int = 0) -> list[Path]:
        """Usable files below a folder matching pattern parts (a walk is the pattern '**/*')."""
        found: list[Path] = []
        try:
            opened = self.tree.open(folder)
        except Refused:
            return found
        try:
            if not is_folder(opened.info):
                return found
            for entry in listing.matches(opened.fd, opened.path, parts, secrets=self.allow_secrets):
                path = self._usable(entry)
                if path is not None:
                    found.append(path)
                    self._check_count(already + len(found), spec)
        finally:
            opened.close()
        return found

    def _usable(self, entry: listing.Entry) -> Path | None:
        """Regular, within the size limit and text: what globs and folder walks keep (silently); links checked."""
        if entry.is_link:
            try:
                with self.tree.opened(entry.path) as opened:
                    text = self._packaged(opened.path) or not _binary(opened)
                    ok = self.allowed_name(opened.path) and self._fits(opened.info) and text
                    return opened.path if ok else None
            except (Refused, OSError):
                return None
        if not self._fits(entry.info):
            return None
        key = _version(entry.info)
        binary = _SNIFFED.get(key)
        if binary is None:
            try:
                fd = os.open(entry.path.name, FILE_FLAGS, dir_fd=entry.dir_fd)
            except OSError:
                return None
            try:
                info = os.fstat(fd)
                binary = not is_regular(info) or binary_head(os.read(fd, SNIFF_BYTES), kind_of(entry.path))
            finally:
                os.close(fd)
            _remember(key, binary)
        return None if binary and not self._packaged(entry.path) else entry.path

    def _packaged(self, path: Path) -> bool:
        """A zip document this caller reads in its own format (translate's .docx, .pptx, .xlsx)."""
        return path.suffix.lower() in self.packaged

    def _fits(self, info: os.stat_result) -> bool:
        return is_regular(info) and info.st_size <= self.max_file_bytes

    def _check_count(self, count: int, spec: str) -> None:
        if count > self.max_matches:
            raise FileAccessError(
                f"'{spec}' matches more than {self.max_matches} files; narrow the glob, or restart the server "
                "with a larger --max-files"
            )

    def refusal(self, exc: Refused, name: str) -> str:
        """The message for a refused open; it names only the spec as given (never where a link led)."""
        if exc.why == "outside":
            return self._outside(name)
        return f"'{name}' " + REASONS[exc.why].format(roots=self._roots_text())

    def _outside(self, name: str) -> str:
        return f"'{name}' is outside the allowed folders ({self._roots_text()}); {_ROOTS_HINT}"

    def _too_big(self, name: str, size: int) -> str:
        return (
            f"'{name}' is {size / 1e6:.1f} MB, over this server's limit of "
            f"{self.max_file_bytes / 1e6:g} MB; split it, or restart the server with a larger --max-file-mb"
        )

    def _roots_text(self) -> str:
        return ", ".join(str(root) for root in self.roots)


_PROC = Path("/proc/self/fd")
_ROOTS_HINT = "pass a path inside one of them, or restart the server with another --allow-dir"
_SNIFFED: dict[tuple[int, ...], bool] = {}
_SNIFF_CACHE = 65_536


def _version(info: os.stat_result) -> tuple[int, ...]:
    """What identifies one version of a file: device, inode, size, mtime and ctime."""
    return (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)


def _remember(key: tuple[int, ...], binary: bool) -> None:
    if len(_SNIFFED) >= _SNIFF_CACHE:
        _SNIFFED.clear()
    _SNIFFED[key] = binary


def _binary(opened: Opened) -> bool:
    """Sniff an open file's head (remembered per file version)."""
    key = _version(opened.info)
    if key not in _SNIFFED:
        _remember(key, binary_head(os.pread(opened.fd, SNIFF_BYTES, 0), kind_of(opened.path)))
    return _SNIFFED[key]


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
    return str(Path(*parts[:first])) if first else "", "/".join(parts[first:])
