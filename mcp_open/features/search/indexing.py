"""Bring an index up to date with files on disk: re-embed only what changed, drop what is gone."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from mcp_open.engines.pieces import iter_pieces
from mcp_open.engines.protocol import Cancelled, Engine, Hooks
from mcp_open.errors import McpOpenError
from mcp_open.features.common.embedding import unit_rows
from mcp_open.features.files.chunking import CHUNK_TOKENS, MARKDOWN_SUFFIXES, Chunk, chunk_text
from mcp_open.features.files.readers import read_document
from mcp_open.features.files.sandbox import Sandbox
from mcp_open.features.search.index_store import FileRecord, IndexStore, NewChunk, NewFile
from mcp_open.features.search.scope import secret_rows, still_current

# Passages embedded per engine call and per committed transaction: what a cancel can lose at most.
BATCH_CHUNKS = 64
HEADER_TOKENS = 24
# Texts are tokenized in pieces of this size: a cancel or --timeout lands between pieces, and llama.cpp's
# tokenizers slow down sharply on one long unbroken text.
COUNT_PIECE_CHARS = 4096
STAT_CHECK = 256  # files stat'ed between two cancel checks

if TYPE_CHECKING:
    import numpy as np

ProgressFn = Callable[[float, int, str], None]


@dataclass
class SyncCounts:
    """What one update of the index did."""

    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    skipped: int = 0
    chunks_embedded: int = 0
    tokens: int = 0
    seconds: float = 0.0
    skipped_paths: list[str] = field(default_factory=list)


@dataclass
class _Pending:
    stat: os.stat_result
    checked_ns: int
    digest: str
    chunks: list[Chunk]
    header: str


@dataclass
class Syncer:
    """One index update: the store, the engine and how to report progress and learn of a cancel."""

    store: IndexStore
    engine: Engine
    dims: int
    progress: ProgressFn
    should_stop: Callable[[], bool]
    box: Sandbox
    counts: SyncCounts = field(default_factory=SyncCounts)
    _total: int = field(default=0, init=False)
    _done: int = field(default=0, init=False)  # files whose passages are stored (or need none)

    def run(self, files: Sequence[Path], folders: Sequence[Path]) -> SyncCounts:
        """Index new and changed files, drop deleted ones under the given folders (blocking)."""
        started = time.perf_counter()
        known = self.store.files()
        current = {str(p) for p in files}
        # Only files really gone: one another server indexed after our walk must not be dropped.
        gone = [p for p in known if p not in current and _under_any(p, folders) and not os.path.lexists(p)]
        # What an older version indexed from names that hold secrets goes at the first search that sees it.
        self.counts.removed = self.store.remove([*gone, *secret_rows(known, self.box)])
        todo = [p for p in self._checking(files) if not still_current(known.get(str(p)), p)]
        self.counts.unchanged = len(files) - len(todo)
        self._index(todo, known)
        self.counts.seconds = time.perf_counter() - started
        return self.counts

    def _checking(self, files: Sequence[Path]) -> Iterator[Path]:
        """The files, with a cancel check every STAT_CHECK files (a stat each: 20,000 files take a while)."""
        for i, path in enumerate(files):
            if i % STAT_CHECK == 0 and self.should_stop():
                raise Cancelled
            yield path

    def _index(self, todo: list[Path], known: dict[str, FileRecord]) -> None:
        # A file counts as done once its passages are stored, so the count moves while passages embed.
        pending: dict[str, _Pending] = {}
        self._total, self._done = len(todo), 0
        for read, path in enumerate(todo):
            if self.should_stop():
                raise Cancelled
            self._read(path, known.get(str(path)), pending)
            self._done += str(path) not in pending  # unchanged or unreadable: nothing to embed
            if sum(len(p.chunks) for p in pending.values()) >= BATCH_CHUNKS:
                self._flush(pending)
            self._report(self._done, read + 1)
        self._flush(pending)

    def _report(self, done: float, read: int, embedding: int = 0) -> None:
        embedded = self.counts.chunks_embedded + embedding
        self.progress(done, self._total, f"indexing: {read}/{self._total} files read, {embedded} passages embedded")

    def _read(self, path: Path, record: FileRecord | None, pending: dict[str, _Pending]) -> None:
        """Hash a file; unchanged content only refreshes its stat signature, new content is chunked."""
        try:
            checked_ns = time.time_ns()
            stat, data = self.box.read(path)  # by descriptor: a link swapped in meanwhile is not followed out
            document = read_document(path, str(path), data)
        except (OSError, McpOpenError):
            self.counts.skipped += 1
            self.counts.skipped_paths.append(str(path))
            self.store.remove([str(path)])  # never serve passages of a file we can no longer read
            return
        digest = hashlib.sha256(f"{document.kind}\0{document.text}".encode("utf-8", "surrogatepass")).hexdigest()
        if record is not None and record.hash == digest:
            self.store.touch(str(path), stat, checked_ns)
            self.counts.unchanged += 1
            return
        chunks = chunk_text(
            document.text,
            self._count,
            markdown=path.suffix.lower() in MARKDOWN_SUFFIXES,
            pages=document.pages,
            max_tokens=min(CHUNK_TOKENS, self.engine.info.n_ctx - HEADER_TOKENS - 8),
        )
        pending[str(path)] = _Pending(stat, checked_ns, digest, chunks, path.name)

    def _count(self, text: str) -> int:
        """Tokens of text, counted in pieces with a cancel check between (one huge line took minutes whole)."""
        total = 0
        for piece in iter_pieces(text, COUNT_PIECE_CHARS):
            if self.should_stop():
                raise Cancelled
            total += self.engine.count_tokens(piece)
        return total

    def _flush(self, pending: dict[str, _Pending]) -> None:
        """Embed the pending files' passages in one engine call and commit them in one transaction."""
        if not pending:
            return
        import numpy as np

        texts = [_embedded_text(p.header, c) for p in pending.values() for c in p.chunks]
        vectors = np.zeros((0, self.dims), dtype=np.float32)
        tokens = 0
        if texts:
            files, read = len(pending), self._done + len(pending)

            def embedded(count: int, total: int) -> None:
                self._report(self._done + files * count / max(1, total), read, count)

            hooks = Hooks(on_token=embedded, should_stop=self.should_stop)
            done = self.engine.embed(texts, truncate=True, hooks=hooks)
            vectors, tokens = unit_rows(done.vectors), done.prompt_tokens
        new_files, row = [], 0
        for path, p in pending.items():
            block = vectors[row : row + len(p.chunks)]
            row += len(p.chunks)
            new_files.append(_new_file(path, p, block, tokens * len(p.chunks) // max(1, len(texts))))
        self.store.store(new_files)
        self._done += len(new_files)
        self.counts.updated += len(new_files)
        self.counts.chunks_embedded += len(texts)
        self.counts.tokens += tokens
        pending.clear()


def _embedded_text(header: str, chunk: Chunk) -> str:
    """What the model embeds: the file name and heading trail give a passage its context."""
    title = f"{header} > {chunk.heading}" if chunk.heading else header
    return f"{title}\n{chunk.text}"


def _new_file(path: str, p: _Pending, vectors: np.ndarray, tokens: int) -> NewFile:
    chunks = [NewChunk(c.start_line, c.end_line, c.page, c.text) for c in p.chunks]
    info = p.stat
    return NewFile(
        path, info.st_size, info.st_mtime_ns, p.digest, p.checked_ns, chunks, vectors, tokens,
        info.st_ctime_ns, info.st_ino, info.st_dev,
    )  # fmt: skip


def _under_any(path: str, folders: Sequence[Path]) -> bool:
    return any(Path(path).is_relative_to(folder) for folder in folders)
