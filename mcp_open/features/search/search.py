"""Search the user's files: keep the model's index current, then rank passages by meaning, by words, or both."""

from __future__ import annotations

import logging
import sqlite3
import threading
import weakref
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from mcp_open.engines.protocol import Engine
from mcp_open.errors import FileAccessError, ModelLoadError, ModelNotFoundError, StoreError
from mcp_open.features.common.embedding import query_text, unit_rows
from mcp_open.features.files.sandbox import GLOB_CHARS, NO_ROOTS, Sandbox
from mcp_open.features.search.fusion import Why, fts_query, relative_score_fusion, single
from mcp_open.features.search.index_store import (
    Identity,
    IndexCorrupt,
    IndexStore,
    StoredChunk,
    discard,
    index_file_name,
    is_corrupt,
)
from mcp_open.features.search.indexing import ProgressFn, SyncCounts, Syncer
from mcp_open.features.search.schemas import IndexStats, Passage, SearchMode, SearchResult, SearchUsage
from mcp_open.features.search.scope import in_scope
from mcp_open.features.search.vectors import VectorCache
from mcp_open.runtime.calls import CallContext
from mcp_open.runtime.slots import LoadedModel, ModelSlot
from mcp_open.store.db import holding

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)
T = TypeVar("T")

_READ_ONLY_SAID: set[Path] = set()  # read-only index files already reported in the log
READ_ONLY_NOTE = (
    "the index folder {folder} is read-only: this searched what was indexed before; files added or changed since "
    "were not read. Make the folder writable (or set --data-dir) to keep the index current."
)
PROBE_TEXT = "mcp-open index probe: which model wrote these vectors?"
MIN_CANDIDATES = 50  # each ranking contributes at least this many candidates to the fusion


@dataclass(frozen=True)
class SearchJob:
    """One search: what to look for, how, and in which files (already checked against the allowed folders)."""

    query: str
    mode: SearchMode
    top_k: int
    instruction: str | None
    files: Sequence[Path]
    folders: Sequence[Path]
    box: Sandbox


@dataclass(frozen=True)
class Found:
    """One ranked passage."""

    chunk: StoredChunk
    score: float
    why: Why


@dataclass
class SearchOutcome:
    """Ranked passages and what keeping the index current cost."""

    found: list[Found]
    counts: SyncCounts
    rebuilt: str | None
    files: int
    chunks: int
    query_tokens: int


@dataclass(frozen=True)
class IndexReport:
    """What `mcp-open index` did."""

    model: str
    files: int
    counts: SyncCounts
    rebuilt: str | None


@dataclass
class OpenIndex:
    store: IndexStore
    cache: VectorCache
    identity: Identity


class Indexes:
    """The open index of each embedding model, shared by all calls of one service."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._open: dict[str, OpenIndex] = {}
        self._probe: tuple[weakref.ref[Engine], Identity] | None = None
        self._lock = threading.Lock()

    def path_for(self, model_name: str) -> Path:
        """The index file of a model."""
        return self.folder / index_file_name(model_name)

    def open(self, engine: Engine) -> tuple[OpenIndex, str | None]:
        """The model's index, adopted by it; the second value says why it was rebuilt, if it was."""
        identity = self._identity(engine)
        path = self.path_for(identity.name)
        with holding(self._lock, path):
            current = self._open.get(identity.name)
            note = None
            if current is None:
                store, note = _open_store(path)
                current = self._open[identity.name] = OpenIndex(store, VectorCache(), identity)
            current.identity = identity
            reason = None if current.store.read_only else current.store.adopt(identity)
            return current, note or reason

    def drop(self, model_name: str) -> None:
        """Forget an index whose file turned out damaged, and move the file aside."""
        with holding(self._lock, self.path_for(model_name)):
            current = self._open.pop(model_name, None)
            if current is not None:
                current.store.close()
            discard(self.path_for(model_name))

    def close(self) -> None:
        """Close every open index."""
        if not self._lock.acquire(timeout=0.5):  # a call stuck on the file holds it; the process is ending anyway
            return
        try:
            for current in self._open.values():
                current.store.close()
            self._open.clear()
        finally:
            self._lock.release()

    def _identity(self, engine: Engine) -> Identity:
        """The engine's name, width and vector for the probe text (computed once per loaded engine)."""
        if self._probe is not None and self._probe[0]() is engine:
            return self._probe[1]
        vector = unit_rows(engine.embed([PROBE_TEXT], truncate=True).vectors)[0]
        identity = Identity(engine.info.name, int(vector.shape[0]), tuple(float(x) for x in vector))
        self._probe = (weakref.ref(engine), identity)  # weak: an unloaded model must be free to go
        return identity


def scope_of(sandbox: Sandbox, paths: Sequence[str] | None) -> tuple[list[Path], list[Path]]:
    """The files to search (every allowed folder when no paths are given) and the folders among the paths."""
    specs = list(paths) if paths else [str(root) for root in sandbox.roots]
    if not specs:
        raise FileAccessError(NO_ROOTS)
    files = sandbox.input_tree(specs)
    located = [sandbox.locate(spec) for spec in specs if not GLOB_CHARS.intersection(spec)]
    return files, [path for path in located if path.is_dir()]


@asynccontextmanager
async def embedder_for(slot: ModelSlot, call: CallContext) -> AsyncIterator[LoadedModel]:
    """The embedding model, held for the call; failing to load it says that search needs it."""
    async with AsyncExitStack() as stack:
        try:
            model = await stack.enter_async_context(slot.use(call))
        except (ModelNotFoundError, ModelLoadError) as exc:
            raise type(exc)(
                f"search indexes and queries with the embedding model ({slot.spec}), which is not available: "
                f"{exc}. Set --embed-model to a local .gguf embedding model or a catalog alias you have pulled."
            ) from exc
        yield model


def search(
    indexes: Indexes, engine: Engine, job: SearchJob, progress: ProgressFn, should_stop: Callable[[], bool]
) -> SearchOutcome:
    """Update the index for the job's files, then rank (blocking); a damaged index is rebuilt once."""
    return _with_rebuild(
        indexes, engine, lambda opened, note: _search(opened, note, engine, job, progress, should_stop)
    )


def update(
    indexes: Indexes,
    engine: Engine,
    files: Sequence[Path],
    folders: Sequence[Path],
    progress: ProgressFn,
    should_stop: Callable[[], bool],
    box: Sandbox,
) -> tuple[SyncCounts, str | None]:
    """Only bring the index up to date (`mcp-open index`)."""

    def work(opened: OpenIndex, note: str | None) -> tuple[SyncCounts, str | None]:
        syncer = Syncer(opened.store, engine, opened.identity.dims, progress, should_stop, box)
        counts = syncer.run(files, folders)
        opened.store.note_roots([str(f) for f in folders] or [str(f) for f in files])
        return counts, note

    return _with_rebuild(indexes, engine, work)


def _with_rebuild(indexes: Indexes, engine: Engine, work: Callable[[OpenIndex, str | None], T]) -> T:
    """Run work on the open index; if the file proves damaged, move it aside, start afresh and say so."""
    damaged: str | None = None
    for _attempt in range(2):
        try:
            opened, note = indexes.open(engine)
            return work(opened, damaged or note)
        except (IndexCorrupt, sqlite3.DatabaseError, StoreError) as exc:
            corrupt = isinstance(exc, IndexCorrupt) or (exc.damaged if isinstance(exc, StoreError) else is_corrupt(exc))
            if not corrupt or damaged is not None:
                raise
            log.warning("the search index for %s is damaged (%s); rebuilding it", engine.info.name, exc)
            indexes.drop(engine.info.name)
            damaged = f"the index file was damaged ({exc}); it was moved aside and rebuilt"
    raise AssertionError("unreachable")


def _search(
    opened: OpenIndex,
    note: str | None,
    engine: Engine,
    job: SearchJob,
    progress: ProgressFn,
    should_stop: Callable[[], bool],
) -> SearchOutcome:
    if opened.store.read_only:  # served as is; rows from secret names are still filtered out below
        counts, note = SyncCounts(), READ_ONLY_NOTE.format(folder=opened.store.path.parent)
    else:
        syncer = Syncer(opened.store, engine, opened.identity.dims, progress, should_stop, job.box)
        counts = syncer.run(job.files, job.folders)
        opened.store.note_roots([str(f) for f in job.folders], changed=bool(counts.updated or counts.removed))
    records = opened.store.files()
    scope = [records[str(p)] for p in job.files if str(p) in records]
    scope_ids = [r.id for r in scope]
    progress(1, 1, "searching")
    query, query_tokens = _query_vector(engine, job) if job.mode != "lexical" else (None, 0)
    ranked = rank_scope(opened, job, query, scope_ids, len(records))
    chunks = opened.store.chunks([item for item, _score, _why in ranked[: job.top_k * 2]])
    paths = {str(p) for p in job.files}
    kept = [(i, score, why) for i, score, why in ranked if i in chunks and in_scope(chunks[i].path, paths, job.box)]
    found = [Found(chunks[i], score, why) for i, score, why in kept]
    found = found[: job.top_k]
    return SearchOutcome(found, counts, note, len(scope), sum(r.chunks for r in scope), query_tokens)


def rank_scope(
    opened: OpenIndex, job: SearchJob, query: np.ndarray | None, scope_ids: list[int], indexed_files: int
) -> list[tuple[int, float, Why]]:
    """Fused (chunk id, score, why) among the scope's passages, best first (query: the unit query vector)."""
    limit = max(MIN_CANDIDATES, job.top_k * 4)
    semantic: list[tuple[int, float]] = []
    lexical: list[tuple[int, float]] = []
    if query is not None:
        opened.cache.refresh(opened.store)
        semantic = opened.cache.top(query, scope_ids, limit)
    match = fts_query(job.query)
    if job.mode != "semantic" and match is not None and scope_ids:
        lexical = opened.store.lexical(match, None if len(scope_ids) == indexed_files else scope_ids, limit)
    if job.mode == "semantic":
        return single(semantic, "semantic")
    if job.mode == "lexical":
        return single(lexical, "lexical")
    return relative_score_fusion(semantic, lexical)


def _query_vector(engine: Engine, job: SearchJob) -> tuple[np.ndarray, int]:
    """The query's unit vector (Qwen embedders get it wrapped in the instruction) and its token count."""
    text = query_text(job.query, job.instruction, engine.info.architecture)
    done = engine.embed([text], truncate=True)
    return unit_rows(done.vectors)[0], done.prompt_tokens


def _open_store(path: Path) -> tuple[IndexStore, str | None]:
    """Open an index file; a damaged one is moved aside and replaced by an empty one, which the note says; in a
    read-only folder an existing index is opened for reading (said once in the log, and in every result)."""
    try:
        return IndexStore(path), None
    except StoreError as exc:
        if not exc.read_only or not path.is_file():
            raise
        if path not in _READ_ONLY_SAID:
            _READ_ONLY_SAID.add(path)
            log.warning("%s; searching what it already holds, without updating it", exc)
        return IndexStore(path, read_only=True), None
    except IndexCorrupt as exc:
        log.warning("the search index %s is damaged (%s); rebuilding it", path, exc)
        discard(path)
        return IndexStore(path), f"the index file was damaged ({exc}); it was moved aside and rebuilt"


def status(folder: Path) -> list[dict[str, object]]:
    """What every index under the folder holds (`mcp-open index --status`)."""
    out: list[dict[str, object]] = []
    for path in sorted(folder.glob("*.sqlite3")):
        try:
            store = IndexStore(path)
        except StoreError as exc:
            out.append({"file": str(path), "error": str(exc)})
            continue
        except (IndexCorrupt, sqlite3.DatabaseError) as exc:
            out.append({"file": str(path), "error": f"damaged ({exc}); the next search or index run rebuilds it"})
            continue
        try:
            out.append(store.status())
        finally:
            store.close()
    return out


def result_of(
    outcome: SearchOutcome, shown: Callable[[Path], str], model: str, mode: SearchMode, seconds: float
) -> SearchResult:
    """The tool's result: passages with paths as the user knows them, index counters and usage."""
    counts = outcome.counts
    passages = [_passage(f, shown) for f in outcome.found]
    return SearchResult(
        passages=passages,
        mode=mode,
        index=IndexStats(
            files=outcome.files,
            chunks=outcome.chunks,
            updated=counts.updated,
            unchanged=counts.unchanged,
            removed=counts.removed,
            skipped=counts.skipped,
            chunks_embedded=counts.chunks_embedded,
            rebuilt=outcome.rebuilt,
            seconds=round(counts.seconds, 4),
        ),
        usage=SearchUsage(prompt_tokens=counts.tokens + outcome.query_tokens, seconds=round(seconds, 4)),
        model=model,
    )


def _passage(found: Found, shown: Callable[[Path], str]) -> Passage:
    chunk = found.chunk
    paged = chunk.page is not None
    return Passage(
        path=shown(Path(chunk.path)),
        start_line=None if paged else chunk.start_line,
        end_line=None if paged else chunk.end_line,
        page=chunk.page,
        score=round(found.score, 6),
        matched=found.why,
        text=chunk.text,
    )
