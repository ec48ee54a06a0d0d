"""The search use case: keep the index of the asked folders current, then find the passages that answer."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from mcp_open.features.common.embedding import check_texts
from mcp_open.features.files.folders import Folders
from mcp_open.features.search import search as searching
from mcp_open.features.search.schemas import SearchMode, SearchResult
from mcp_open.runtime.calls import CallContext
from mcp_open.runtime.slots import ModelSlot


class Searcher:
    """Searches and indexes the allowed folders with the embedding model and the index store."""

    def __init__(self, slot: ModelSlot, indexes: searching.Indexes, folders: Folders) -> None:
        self.slot = slot
        self.indexes = indexes
        self.folders = folders

    async def search(
        self,
        query: str,
        paths: Sequence[str] | None,
        *,
        top_k: int,
        instruction: str | None,
        mode: SearchMode,
        call: CallContext,
        client_roots: Sequence[Path] = (),
    ) -> SearchResult:
        """Find the passages of the user's files that answer a query, indexing what changed first."""
        check_texts([query], "query")
        sandbox = self.folders.sandbox(client_roots)
        # Walking folders of thousands of files takes a while: never on the event loop (pings must answer).
        files, folders = await call.run_abandonable(lambda: searching.scope_of(sandbox, paths))
        job = searching.SearchJob(query, mode, top_k, instruction, files, folders, sandbox)
        started = time.perf_counter()
        async with searching.embedder_for(self.slot, call) as model:
            outcome = await call.run_in_thread(
                lambda: searching.search(self.indexes, model.engine, job, call.progress.update, call.should_stop)
            )
        return searching.result_of(outcome, sandbox.shown, model.name, mode, time.perf_counter() - started)

    async def index(
        self, paths: Sequence[str], call: CallContext, client_roots: Sequence[Path] = ()
    ) -> searching.IndexReport:
        """Bring the index of the given folders, files or globs up to date without searching."""
        sandbox = self.folders.sandbox(client_roots)
        files, folders = await call.run_abandonable(lambda: searching.scope_of(sandbox, paths))
        async with searching.embedder_for(self.slot, call) as model:
            counts, rebuilt = await call.run_in_thread(
                lambda: searching.update(
                    self.indexes, model.engine, files, folders, call.progress.update, call.should_stop, sandbox
                )
            )
        return searching.IndexReport(model.name, len(files), counts, rebuilt)

    def close(self) -> None:
        """Close every open index."""
        self.indexes.close()
