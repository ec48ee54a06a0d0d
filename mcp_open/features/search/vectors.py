"""The index's vectors held in memory as one float32 matrix, reloaded file by file when another writer changed them."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from mcp_open.features.search.index_store import IndexStore

if TYPE_CHECKING:
    import numpy as np


class VectorCache:
    """Rows of unit vectors with the chunk and file each belongs to; scores a query against any set of files."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._generation = -1
        self._blocks: dict[int, tuple[int, np.ndarray, np.ndarray]] = {}  # file id -> (version, chunk ids, vectors)
        self._matrix: np.ndarray | None = None
        self._chunk_ids: np.ndarray | None = None
        self._file_ids: np.ndarray | None = None
        self._present: frozenset[int] = frozenset()

    def refresh(self, store: IndexStore) -> int:
        """Bring the matrix up to date with the index; returns how many files were (re)loaded."""
        with self._lock:
            generation = store.generation()
            if generation == self._generation:
                return 0
            loaded = self._reload(store)
            self._generation = generation
            return loaded

    def _reload(self, store: IndexStore) -> int:
        import numpy as np

        versions = store.versions()
        stale = [fid for fid, version in versions.items() if self._blocks.get(fid, (None,))[0] != version]
        for fid in set(self._blocks) - set(versions):
            del self._blocks[fid]
        for fid, version, ids, blob in store.vectors_of(stale):
            vectors = np.frombuffer(blob, dtype=np.float16).astype(np.float32).reshape(len(ids), -1)
            self._blocks[fid] = (version, np.asarray(ids, dtype=np.int64), vectors)
        self._assemble()
        return len(stale)

    def _assemble(self) -> None:
        """One contiguous matrix: a query is then a single matrix-vector product."""
        import numpy as np

        blocks = [b for b in self._blocks.values() if len(b[1])]
        if not blocks:
            self._matrix = self._chunk_ids = self._file_ids = None
            return
        self._present = frozenset(fid for fid, b in self._blocks.items() if len(b[1]))
        self._matrix = np.concatenate([b[2] for b in blocks])
        self._chunk_ids = np.concatenate([b[1] for b in blocks])
        self._file_ids = np.concatenate([np.full(len(b[1]), fid) for fid, b in self._blocks.items() if len(b[1])])

    def top(self, query: np.ndarray, file_ids: list[int], limit: int) -> list[tuple[int, float]]:
        """(chunk id, cosine) of the best rows among the given files' passages, best first."""
        import numpy as np

        with self._lock:
            matrix, chunk_ids, owners, present = self._matrix, self._chunk_ids, self._file_ids, self._present
        if matrix is None or chunk_ids is None or owners is None or not file_ids:
            return []
        # einsum, not BLAS: OpenBLAS threads a matrix-vector product and, on cores busy with llama.cpp or other
        # processes, that made it 25 ms instead of 0.05 ms at 1,000 rows (measured, bench/search.py).
        everything = np.einsum("ij,j->i", matrix, query.astype(np.float32))
        whole = present.issubset(file_ids)
        rows = np.arange(len(owners)) if whole else np.flatnonzero(np.isin(owners, np.asarray(file_ids)))
        scores = everything[rows]
        best = np.argpartition(-scores, limit - 1)[:limit] if len(scores) > limit else np.arange(len(scores))
        best = best[np.argsort(-scores[best], kind="stable")]
        return [(int(chunk_ids[rows[i]]), float(scores[i])) for i in best]
