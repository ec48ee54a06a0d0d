"""The embed and rank use cases: vectors for texts or files, and texts or file passages ranked by meaning."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from mcp_open.engines.protocol import Embedded
from mcp_open.errors import InvalidRequestError
from mcp_open.features.common.embedding import check_texts, query_text
from mcp_open.features.common.limits import check_rank_size
from mcp_open.features.common.schemas import EmbedResult, EmbedUsage, RankedDocument, RankResult
from mcp_open.features.embed.embedding import embed_texts, rank, shape_vectors, to_lists
from mcp_open.features.embed.written import vectors_target, write_vectors
from mcp_open.features.files import material
from mcp_open.features.files.folders import Folders
from mcp_open.runtime.calls import CallContext
from mcp_open.runtime.slots import ModelSlot

RANK_SNIPPET_CHARS = 160


class Embedder:
    """Embeds and ranks with the embedding model, reading files from the allowed folders."""

    def __init__(self, slot: ModelSlot, folders: Folders) -> None:
        self.slot = slot
        self.folders = folders

    async def embed(
        self,
        texts: list[str],
        *,
        normalize: bool,
        dimensions: int | None,
        truncate: bool,
        call: CallContext,
        files: Sequence[str] = (),
        roots: Sequence[Path] = (),
        output_path: str | None = None,
        overwrite: bool = False,
    ) -> EmbedResult:
        """Embed texts (or whole files), one vector each, in order; returned, or written to output_path."""
        box = self.folders.sandbox(roots)
        target = vectors_target(box, output_path, overwrite=overwrite) if output_path else None
        sources = await self._sources(texts, files, "texts", roots, call)
        texts = [s.doc.text for s in sources] if sources else texts
        check_texts(texts)
        async with self.slot.use(call) as model:
            started = time.perf_counter()
            done = await call.run_in_thread(lambda: embed_texts(model.engine, texts, truncate, call))
        vectors = shape_vectors(done.vectors, normalize=normalize, dimensions=dimensions)
        paths = [s.shown for s in sources] or None
        written = None
        if target is not None:
            written = await call.run_in_thread(lambda: write_vectors(box, target, vectors, paths, overwrite=overwrite))
        return EmbedResult(
            embeddings=[] if written else to_lists(vectors),
            dimensions=int(vectors.shape[1]),
            truncated=done.truncated,
            usage=_embed_usage(done, len(texts), started),
            model=model.name,
            paths=paths,
            written=written,
        )

    async def rank(
        self,
        query: str,
        documents: list[str],
        *,
        top_k: int,
        instruction: str | None,
        call: CallContext,
        files: Sequence[str] = (),
        roots: Sequence[Path] = (),
    ) -> RankResult:
        """Rank documents (or the passages of files) by meaning against a query, on the server."""
        if not query.strip():
            raise InvalidRequestError("'query' is empty; pass the text to rank the documents against")
        passages = await self._passages(documents, files, roots, call)
        documents = [p.text for p in passages] if files else documents
        check_texts(documents, "documents", "a non-empty list of strings")
        check_rank_size([_ranked(i, documents, passages).model_dump_json() for i in range(len(documents))], top_k)
        async with self.slot.use(call) as model:
            wrapped = query_text(query, instruction, model.engine.info.architecture)
            started = time.perf_counter()
            done = await call.run_in_thread(lambda: embed_texts(model.engine, [wrapped, *documents], True, call))
        results = [_ranked(i, documents, passages, round(score, 6)) for i, score in rank(done.vectors, top_k)]
        return RankResult(results=results, usage=_embed_usage(done, len(documents) + 1, started), model=model.name)

    async def _sources(
        self, values: Sequence[str], files: Sequence[str], field: str, roots: Sequence[Path], call: CallContext
    ) -> list[material.Source]:
        """The files of an embed call, read; they replace the texts, so both at once is refused.

        Reading shares nothing with a model, so a cancel or --timeout answers at once (the thread is abandoned)."""
        if not files:
            return []
        if values:
            raise InvalidRequestError(f"pass either '{field}' or 'files', not both")
        box = self.folders.sandbox(roots)
        return await call.run_abandonable(lambda: material.load(box, list(files)))

    async def _passages(
        self, documents: Sequence[str], files: Sequence[str], roots: Sequence[Path], call: CallContext
    ) -> list[material.Passage]:
        """The passages of a rank call's files, read and cut off the event loop (abandoned on a cancel)."""
        if not files:
            return []
        if documents:
            raise InvalidRequestError("pass either 'documents' or 'files', not both")
        box = self.folders.sandbox(roots)
        return await call.run_abandonable(
            lambda: [p for source in material.load(box, list(files)) for p in material.passages(source)]
        )


def _ranked(
    index: int, documents: list[str], passages: list[material.Passage], score: float = -0.123456
) -> RankedDocument:
    """One ranked document or file passage as the result shows it."""
    hit = RankedDocument(index=index, score=score, text=documents[index][:RANK_SNIPPET_CHARS])
    if passages:
        where = passages[index]
        hit.path, hit.line, hit.page = where.source.shown, where.line, where.page
    return hit


def _embed_usage(done: Embedded, count: int, started: float) -> EmbedUsage:
    seconds = time.perf_counter() - started
    return EmbedUsage(
        prompt_tokens=done.prompt_tokens,
        seconds=round(seconds, 4),
        texts_per_second=round(count / seconds, 2) if seconds > 0 else 0.0,
    )
