"""The lasting search index of one embedding model: files, passages, float16 vectors and an FTS5 table, in SQLite."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from mcp_open.errors import StoreError
from mcp_open.store.db import connect, connect_read_only, holding, retrying
from mcp_open.store.migrations import Migration, migrate, statements

if TYPE_CHECKING:
    import numpy as np

T = TypeVar("T")
SCHEMA_VERSION = 1
# sqlite3 error codes meaning the file itself is damaged: SQLITE_CORRUPT, SQLITE_NOTADB.
CORRUPT_CODES = (11, 26)

# Numbered, never edited once released: a new change is a new migration (tested from old files).
MIGRATIONS: list[Migration] = [
    (
        "m001_index",
        statements(
            "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
            """CREATE TABLE IF NOT EXISTS files (
                id INTEGER PRIMARY KEY, path TEXT NOT NULL UNIQUE, size INTEGER NOT NULL,
                mtime_ns INTEGER NOT NULL, hash TEXT NOT NULL, checked_ns INTEGER NOT NULL, chunks INTEGER NOT NULL,
                tokens INTEGER NOT NULL, version INTEGER NOT NULL, vectors BLOB NOT NULL
            )""",
            """CREATE TABLE IF NOT EXISTS chunks (
                id INTEGER PRIMARY KEY, file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
                seq INTEGER NOT NULL, start_line INTEGER NOT NULL, end_line INTEGER NOT NULL, page INTEGER,
                text TEXT NOT NULL
            )""",
            "CREATE INDEX IF NOT EXISTS chunks_by_file ON chunks(file_id, seq)",
            "CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(text, content='chunks', content_rowid='id')",
            """CREATE TRIGGER IF NOT EXISTS chunks_fts_add AFTER INSERT ON chunks BEGIN
                INSERT INTO chunks_fts(rowid, text) VALUES (new.id, new.text);
            END""",
            """CREATE TRIGGER IF NOT EXISTS chunks_fts_drop AFTER DELETE ON chunks BEGIN
                INSERT INTO chunks_fts(chunks_fts, rowid, text) VALUES ('delete', old.id, old.text);
            END""",
            "CREATE TABLE IF NOT EXISTS roots (path TEXT PRIMARY KEY, indexed_at REAL NOT NULL)",
        ),
    ),
    (
        # Freshness by ctime and inode too (utime cannot set them back); older rows hold 0, so are re-checked once.
        "m002_file_identity",
        statements(
            "ALTER TABLE files ADD COLUMN ctime_ns INTEGER NOT NULL DEFAULT 0",
            "ALTER TABLE files ADD COLUMN ino INTEGER NOT NULL DEFAULT 0",
            "ALTER TABLE files ADD COLUMN dev INTEGER NOT NULL DEFAULT 0",
        ),
    ),
]
FILE_COLUMNS = "id, path, size, mtime_ns, hash, checked_ns, chunks, ctime_ns, ino, dev"
# Files per read transaction when loading vectors: a lock wait or a cancel is checked between batches.
VECTOR_BATCH = 256


LEXICAL_ALL = "SELECT rowid, rank FROM chunks_fts WHERE chunks_fts MATCH ? ORDER BY rank LIMIT ?"
LEXICAL_WITHIN = (
    "SELECT c.id, chunks_fts.rank FROM chunks_fts JOIN chunks c ON c.id = chunks_fts.rowid "
    "WHERE chunks_fts MATCH ? AND c.file_id IN (SELECT value FROM json_each(?)) ORDER BY chunks_fts.rank LIMIT ?"
)


class IndexCorrupt(Exception):
    """The index file is damaged; the caller rebuilds it."""


def is_corrupt(exc: sqlite3.DatabaseError) -> bool:
    """Whether an SQLite error means a damaged file (as opposed to a busy or locked one)."""
    code = getattr(exc, "sqlite_errorcode", None)
    return code in CORRUPT_CODES or type(exc) is sqlite3.DatabaseError


def index_file_name(model_name: str) -> str:
    """A file name for a model's index: its display name, made safe."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", model_name).strip("._")[:120] + ".sqlite3"


@dataclass(frozen=True)
class Identity:
    """What makes vectors comparable: the model's name, its width and its vector for a fixed probe text."""

    name: str
    dims: int
    probe: tuple[float, ...]

    def same_model(self, other: Identity) -> bool:
        """Same name and width, and probe vectors pointing the same way (tolerates GPU/CPU rounding)."""
        if self.name != other.name or self.dims != other.dims or len(self.probe) != len(other.probe):
            return False
        dot = sum(a * b for a, b in zip(self.probe, other.probe, strict=True))
        norms = (sum(a * a for a in self.probe) * sum(b * b for b in other.probe)) ** 0.5
        return norms > 0 and dot / norms >= 0.99


@dataclass(frozen=True)
class FileRecord:
    """One indexed file as the index last saw it."""

    id: int
    path: str
    size: int
    mtime_ns: int
    hash: str
    checked_ns: int
    chunks: int
    ctime_ns: int = 0
    ino: int = 0
    dev: int = 0


@dataclass(frozen=True)
class NewChunk:
    """A passage to store."""

    start_line: int
    end_line: int
    page: int | None
    text: str


@dataclass(frozen=True)
class NewFile:
    """A file's new content to store: its stat signature, hash, passages and their unit vectors."""

    path: str
    size: int
    mtime_ns: int
    hash: str
    checked_ns: int
    chunks: Sequence[NewChunk]
    vectors: np.ndarray
    tokens: int
    ctime_ns: int = 0
    ino: int = 0
    dev: int = 0


@dataclass(frozen=True)
class StoredChunk:
    """A passage read back for a result."""

    id: int
    path: str
    start_line: int
    end_line: int
    page: int | None
    text: str


class IndexStore:
    """One SQLite index file; every method is safe to call from any thread and from several processes, and no
    wait on another process's lock lasts more than a few seconds (then StoreError)."""

    def __init__(self, path: Path, *, read_only: bool = False) -> None:
        self.path = path
        self.read_only = read_only  # a folder we cannot write: serve what is indexed, change nothing
        self._lock = threading.RLock()
        self._conn = _open(path, read_only)

    def _run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Reads (or one statement) under our lock, tried again while another process holds the file."""
        with holding(self._lock, self.path):
            return retrying(lambda: work(self._conn), self.path)

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken up front so two servers never deadlock upgrading a read lock."""
        if self.read_only:
            raise StoreError(f"{self.path.parent} is read-only: the search index cannot be updated", read_only=True)
        with holding(self._lock, self.path):
            retrying(lambda: self._conn.execute("BEGIN IMMEDIATE"), self.path)
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def close(self) -> None:
        """Close the connection (skipped if a stuck call holds it: the process is ending anyway)."""
        if self._lock.acquire(timeout=0.5):
            try:
                self._conn.close()
            finally:
                self._lock.release()

    def meta(self) -> dict[str, str]:
        """The meta table as a dict."""
        return self._run(lambda db: dict(db.execute("SELECT key, value FROM meta").fetchall()))

    def identity(self) -> Identity | None:
        """The model the stored vectors came from, if any were stored."""
        return _identity_of(self.meta())

    def adopt(self, identity: Identity) -> str | None:
        """Make the index belong to this model; returns why it was emptied, or None if it already did."""
        current = self.meta()
        if "identity" in current and _rebuild_reason(current, identity) is None:
            return None  # the common case, without taking the write lock
        with self._write() as db:
            meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
            reason = _rebuild_reason(meta, identity)
            if reason is None and "identity" in meta:
                return None
            if reason is not None:
                db.execute("DELETE FROM chunks")
                db.execute("DELETE FROM files")
                db.execute("DELETE FROM roots")
            payload = {"name": identity.name, "dims": identity.dims, "probe": list(identity.probe)}
            _set_meta(db, "identity", json.dumps(payload))
            _set_meta(db, "schema_version", str(SCHEMA_VERSION))
            _set_meta(db, "generation", str(_generation(db) + 1))
            return reason

    def files(self) -> dict[str, FileRecord]:
        """Every indexed file by path."""
        sql = f"SELECT {FILE_COLUMNS} FROM files"
        rows = self._run(lambda db: db.execute(sql).fetchall())
        return {row[1]: FileRecord(*row) for row in rows}

    def store(self, new_files: Sequence[NewFile]) -> int:
        """Replace the passages of several files in one transaction; returns how many were really replaced."""
        with self._write() as db:
            generation = _generation(db) + 1
            replaced = sum(_replace(db, f, generation) for f in new_files)
            _set_meta(db, "generation", str(generation))
        return replaced

    def touch(self, path: str, info: os.stat_result, checked_ns: int) -> None:
        """Record a new stat signature (size, mtime, ctime, inode) for a file whose content did not change."""
        with self._write() as db:
            db.execute(
                "UPDATE files SET size = ?, mtime_ns = ?, checked_ns = ?, ctime_ns = ?, ino = ?, dev = ? "
                "WHERE path = ?",
                (info.st_size, info.st_mtime_ns, checked_ns, info.st_ctime_ns, info.st_ino, info.st_dev, path),
            )

    def remove(self, paths: Sequence[str]) -> int:
        """Drop files (and their passages); returns how many were indexed."""
        if not paths:
            return 0
        with self._write() as db:
            removed = db.execute(
                "DELETE FROM files WHERE path IN (SELECT value FROM json_each(?))", (json.dumps(list(paths)),)
            )
            if removed.rowcount:
                _set_meta(db, "generation", str(_generation(db) + 1))
            return removed.rowcount

    def note_roots(self, roots: Sequence[str], *, changed: bool = True) -> None:
        """Remember the folders and files a search or `mcp-open index` covered, and when (for --status)."""
        known = {r[0] for r in self._run(lambda db: db.execute("SELECT path FROM roots").fetchall())}
        if not changed and known.issuperset(roots):
            return  # nothing new to say: no write lock for a plain search
        now = time.time()
        with self._write() as db:
            db.executemany("INSERT OR REPLACE INTO roots(path, indexed_at) VALUES (?, ?)", [(r, now) for r in roots])

    def generation(self) -> int:
        """A counter every change bumps, so caches in any process know when to reload."""
        return self._run(_generation)

    def versions(self) -> dict[int, int]:
        """file id -> the generation that last wrote its vectors."""
        return self._run(lambda db: dict(db.execute("SELECT id, version FROM files").fetchall()))

    def vectors_of(self, file_ids: Sequence[int]) -> Iterator[tuple[int, int, list[int], bytes]]:
        """(file id, version, chunk ids in order, float16 vector bytes) for each file still indexed."""
        for start in range(0, len(file_ids), VECTOR_BATCH):
            batch = file_ids[start : start + VECTOR_BATCH]
            yield from self._run(lambda db, batch=batch: _vectors(db, batch))  # type: ignore[misc]

    def lexical(self, match: str, file_ids: Sequence[int] | None, limit: int) -> list[tuple[int, float]]:
        """(chunk id, bm25 relevance, higher is better) of the best full-text matches, within files if given."""
        args: tuple[object, ...]
        if file_ids is None:  # the whole index: no join, and FTS5's own rank order (bm25) with its LIMIT
            sql, args = LEXICAL_ALL, (match, limit)
        else:
            sql, args = LEXICAL_WITHIN, (match, json.dumps(list(file_ids)), limit)
        return [(int(i), -float(s)) for i, s in self._run(lambda db: db.execute(sql, args).fetchall())]

    def chunks(self, ids: Sequence[int]) -> dict[int, StoredChunk]:
        """Passages by id, with their file's path."""
        sql = (
            "SELECT c.id, f.path, c.start_line, c.end_line, c.page, c.text FROM chunks c JOIN files f "
            "ON f.id = c.file_id WHERE c.id IN (SELECT value FROM json_each(?))"
        )
        rows = self._run(lambda db: db.execute(sql, (json.dumps(list(ids)),)).fetchall())
        return {row[0]: StoredChunk(*row) for row in rows}

    def status(self) -> dict[str, object]:
        """What is indexed: model, counts, size on disk and the folders covered."""
        files, chunks, tokens, roots, meta = self._run(_status)
        identity = _identity_of(meta)
        return {
            "file": str(self.path),
            "model": identity.name if identity else None,
            "dimensions": identity.dims if identity else None,
            "schema_version": int(meta.get("schema_version", SCHEMA_VERSION)),
            "files": files,
            "chunks": chunks,
            "tokens": tokens,
            "bytes": _size_on_disk(self.path),
            "roots": [{"path": p, "indexed_at": _when(t)} for p, t in roots],
        }


def _snapshot(db: sqlite3.Connection, read: Callable[[sqlite3.Connection], T]) -> T:
    """Several reads from one consistent snapshot."""
    db.execute("BEGIN")
    try:
        return read(db)
    finally:
        db.execute("COMMIT")


def _vectors(db: sqlite3.Connection, file_ids: Sequence[int]) -> list[tuple[int, int, list[int], bytes]]:
    def read(db: sqlite3.Connection) -> list[tuple[int, int, list[int], bytes]]:
        out = []
        for file_id in file_ids:
            row = db.execute("SELECT version, vectors FROM files WHERE id = ?", (file_id,)).fetchone()
            if row is not None:
                ids = [r[0] for r in db.execute("SELECT id FROM chunks WHERE file_id = ? ORDER BY seq", (file_id,))]
                out.append((file_id, row[0], ids, row[1]))
        return out

    return _snapshot(db, read)


def _status(db: sqlite3.Connection) -> tuple[int, int, int, list[tuple[str, float]], dict[str, str]]:
    def read(db: sqlite3.Connection) -> tuple[int, int, int, list[tuple[str, float]], dict[str, str]]:
        files, chunks, tokens = db.execute(
            "SELECT count(*), coalesce(sum(chunks), 0), coalesce(sum(tokens), 0) FROM files"
        ).fetchone()
        roots = db.execute("SELECT path, indexed_at FROM roots ORDER BY path").fetchall()
        return files, chunks, tokens, roots, dict(db.execute("SELECT key, value FROM meta").fetchall())

    return _snapshot(db, read)


def _identity_of(meta: dict[str, str]) -> Identity | None:
    """The identity the meta table records, if any (the one place it is parsed)."""
    raw = meta.get("identity")
    if raw is None:
        return None
    data = json.loads(raw)
    return Identity(data["name"], int(data["dims"]), tuple(data["probe"]))


def _open(path: Path, read_only: bool) -> sqlite3.Connection:
    """Connect, bring the schema up to date and read once, so a damaged file shows itself now (IndexCorrupt)."""
    conn: sqlite3.Connection | None = None
    try:
        conn = connect_read_only(path) if read_only else connect(path)
        if not read_only:
            migrate(conn, MIGRATIONS, path)
        conn.execute("PRAGMA foreign_keys = ON")
        retrying(lambda: conn.execute("SELECT count(*), sum(length(vectors)) FROM files").fetchone(), path)
        return conn
    except (sqlite3.DatabaseError, StoreError) as exc:
        if conn is not None:
            conn.close()
        if isinstance(exc, StoreError) and exc.damaged:
            raise IndexCorrupt(str(exc.__cause__ or exc)) from exc
        if isinstance(exc, sqlite3.DatabaseError) and is_corrupt(exc):
            raise IndexCorrupt(str(exc)) from exc
        raise


def discard(path: Path) -> None:
    """Move a damaged index aside (kept once, for a post-mortem) with its write-ahead files."""
    path.replace(path.with_name(path.name + ".corrupt"))
    for suffix in ("-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)


def _rebuild_reason(meta: dict[str, str], identity: Identity) -> str | None:
    """Why stored vectors cannot be used with this model, or None."""
    if "identity" not in meta:
        return None
    if meta.get("schema_version") != str(SCHEMA_VERSION):
        return f"the index was written by another version of mcp-open (schema {meta.get('schema_version')})"
    stored = _identity_of(meta)
    if stored is None or stored.same_model(identity):
        return None
    return (
        f"the index was built by another embedding model ({stored.name}, {stored.dims} dimensions) "
        f"than the one loaded now ({identity.name}, {identity.dims} dimensions)"
    )


def _replace(db: sqlite3.Connection, new: NewFile, generation: int) -> bool:
    """Write one file's passages unless the index already holds exactly this content (another server did it)."""
    row = db.execute("SELECT id, hash FROM files WHERE path = ?", (new.path,)).fetchone()
    if row is not None and row[1] == new.hash:
        db.execute(
            "UPDATE files SET size = ?, mtime_ns = ?, checked_ns = ?, ctime_ns = ?, ino = ?, dev = ? WHERE id = ?",
            (new.size, new.mtime_ns, new.checked_ns, new.ctime_ns, new.ino, new.dev, row[0]),
        )
        return False
    if row is not None:
        db.execute("DELETE FROM files WHERE id = ?", (row[0],))
    import numpy as np

    blob = np.ascontiguousarray(new.vectors, dtype=np.float16).tobytes()
    file_id = db.execute(
        "INSERT INTO files(path, size, mtime_ns, hash, checked_ns, chunks, tokens, version, vectors, ctime_ns, ino, "
        "dev) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            new.path,
            new.size,
            new.mtime_ns,
            new.hash,
            new.checked_ns,
            len(new.chunks),
            new.tokens,
            generation,
            blob,
            new.ctime_ns,
            new.ino,
            new.dev,
        ),
    ).lastrowid
    db.executemany(
        "INSERT INTO chunks(file_id, seq, start_line, end_line, page, text) VALUES (?, ?, ?, ?, ?, ?)",
        [(file_id, seq, c.start_line, c.end_line, c.page, c.text) for seq, c in enumerate(new.chunks)],
    )
    return True


def _generation(db: sqlite3.Connection) -> int:
    row = db.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
    return int(row[0]) if row else 0


def _set_meta(db: sqlite3.Connection, key: str, value: str) -> None:
    db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))


def _when(seconds: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(seconds))


def _size_on_disk(path: Path) -> int:
    """The database and its write-ahead log."""
    return sum(p.stat().st_size for p in (path, path.with_name(path.name + "-wal")) if p.exists())
