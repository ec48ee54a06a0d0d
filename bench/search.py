"""`python -m bench.search`: search latency at 10k and 100k passages, re-embedding after one change, and recall."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio
import numpy as np
from mcp import Client

from bench.search_corpus import SyntheticEmbedder, vocabulary, write_synthetic_corpus
from bench.search_quality import run_quality
from bench.stats import summarize
from mcp_open.edge.server import build_server
from mcp_open.edge.wiring import App, compose
from mcp_open.features.files.sandbox import Sandbox
from mcp_open.features.search import search as searching
from mcp_open.features.search.index_store import NewChunk, NewFile
from mcp_open.runtime.slots import LoadedModel
from mcp_open.settings import Settings

OUT = Path(__file__).resolve().parent / "results"
QUERIES = ("penalty clause supplier delivery", "retry backoff timeout", "tomato watering greenhouse", "berth_tug")


def note(message: str) -> None:
    """Progress on stderr."""
    print(f"[bench.search] {message}", file=sys.stderr, flush=True)


def _service(engine: SyntheticEmbedder, settings: Settings) -> App:
    return compose(settings, loader=lambda _s, _t, _e, _n: LoadedModel(engine, 0.0))


async def end_to_end(workdir: Path, files: int, repeats: int) -> dict[str, Any]:
    """A corpus on disk, searched through an in-memory MCP client: first index, warm queries, one changed file."""
    root = write_synthetic_corpus(workdir / "corpus", files)
    engine = SyntheticEmbedder()
    settings = Settings(model="x", embed_model="x", allow_dirs=[root], data_dir=workdir / "data", max_files=100_000)
    out: dict[str, Any] = {"files": files}
    async with Client(build_server(settings, _service(engine, settings))) as client:
        started = time.perf_counter()
        first = await _call(client, "warm up")
        out["first_index"] = {"seconds": round(time.perf_counter() - started, 2), **first["index"]}
        note(f"indexed {first['index']['chunks']} passages in {out['first_index']['seconds']} s")
        for mode in ("hybrid", "semantic", "lexical"):
            out[mode] = await _latencies(client, engine, mode, repeats)
        out["one_file_changed"] = await _change_one(client, engine, root)
    return out


async def _call(client: Client, query: str, **args: Any) -> dict[str, Any]:
    result = await client.call_tool("search", {"query": query, **args})
    assert not result.is_error and result.structured_content is not None, result.content
    return result.structured_content


async def _latencies(client: Client, engine: SyntheticEmbedder, mode: str, repeats: int) -> dict[str, Any]:
    """Client wall time per query, minus the time the query's own embedding took (measured on the engine)."""
    walls, server, freshness = [], [], []
    for i in range(repeats):
        query = QUERIES[i % len(QUERIES)]
        embed = _embed_seconds(engine, query) if mode != "lexical" else 0.0
        started = time.perf_counter()
        found = await _call(client, query, mode=mode)
        walls.append((time.perf_counter() - started - embed) * 1000)
        server.append((found["usage"]["seconds"] - embed) * 1000)
        freshness.append(found["index"]["seconds"] * 1000)
        assert found["index"]["updated"] == 0
    return {"client_ms": summarize(walls), "server_ms": summarize(server), "freshness_check_ms": summarize(freshness)}


def _embed_seconds(engine: SyntheticEmbedder, query: str) -> float:
    started = time.perf_counter()
    engine.embed([query], truncate=True)
    return time.perf_counter() - started


async def _change_one(client: Client, engine: SyntheticEmbedder, root: Path) -> dict[str, Any]:
    """Edit one file of the corpus and search again: only that file's passages may be embedded."""
    target = sorted(root.glob("*.md"))[len(list(root.glob("*.md"))) // 2]
    target.write_text(target.read_text().replace("Section 3", "Section three, edited"))
    before_texts, before_calls = engine.texts_embedded, len(engine.calls_made)
    started = time.perf_counter()
    found = await _call(client, "edited section three")
    return {
        "seconds": round(time.perf_counter() - started, 3),
        **found["index"],
        "texts_embedded": engine.texts_embedded - before_texts,  # the file's passages plus the query
        "engine_calls": len(engine.calls_made) - before_calls,
    }


def ranking_scaling(workdir: Path, sizes: Sequence[int], repeats: int) -> dict[str, Any]:
    """Ranking alone (semantic, lexical, fusion and fetching passages) over synthetic indexes of each size."""
    out: dict[str, Any] = {}
    for size in sizes:
        out[str(size)] = _rank_at(workdir / f"scale{size}", size, repeats)
        note(f"ranking over {size} passages: {out[str(size)]['hybrid_ms']['median']} ms")
    small, large = (out[str(s)]["hybrid_ms"]["median"] for s in (min(sizes), max(sizes)))
    out["growth"] = {"passages": max(sizes) / min(sizes), "time": round(large / small, 2) if small else None}
    return out


def _rank_at(folder: Path, chunks: int, repeats: int) -> dict[str, Any]:
    engine = SyntheticEmbedder()
    indexes = searching.Indexes(folder)
    opened, _ = indexes.open(engine)
    started = time.perf_counter()
    file_ids = _fill(opened, engine, chunks)
    build = time.perf_counter() - started
    opened.cache.refresh(opened.store)
    timings: dict[str, list[float]] = {"hybrid": [], "semantic": [], "lexical": []}
    for i in range(repeats):
        query_text = QUERIES[i % len(QUERIES)]
        query = searching.unit_rows(engine.embed([query_text], truncate=True).vectors)[0]
        for mode in timings:
            job = searching.SearchJob(
                query_text, mode, 5, None, (), (), Sandbox([folder], max_file_bytes=1, max_matches=1)
            )  # type: ignore[arg-type]
            begun = time.perf_counter()
            ranked = searching.rank_scope(opened, job, None if mode == "lexical" else query, file_ids, len(file_ids))
            opened.store.chunks([item for item, _s, _w in ranked[:5]])
            timings[mode].append((time.perf_counter() - begun) * 1000)
    indexes.close()
    return {
        "build_seconds": round(build, 1),
        "bytes_on_disk": sum(p.stat().st_size for p in folder.iterdir()),
        **{f"{mode}_ms": summarize(values) for mode, values in timings.items()},
    }


def _fill(opened: searching.OpenIndex, engine: SyntheticEmbedder, chunks: int, per_file: int = 10) -> list[int]:
    """Store chunks passages of generated text with synthetic vectors, 500 files per transaction."""
    rng = np.random.default_rng(3)
    vocab, weights = vocabulary()
    batch: list[NewFile] = []
    for f in range(chunks // per_file):
        texts = [" ".join(rng.choice(vocab, size=150, p=weights)) for _ in range(per_file)]
        vectors = searching.unit_rows(rng.standard_normal((per_file, engine.width)).astype(np.float32))
        rows = [NewChunk(1 + 10 * j, 10 + 10 * j, None, t) for j, t in enumerate(texts)]
        batch.append(NewFile(f"/virtual/doc{f:06}.md", 1, 1, str(f), 1, rows, vectors, 1200))
        if len(batch) == 500:
            opened.store.store(batch)
            batch = []
    opened.store.store(batch)
    return [r.id for r in opened.store.files().values()]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the suites and write bench/results/search-latest.{json,md} and a timestamped copy."""
    parser = argparse.ArgumentParser(prog="python -m bench.search", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="Small sizes, no Gemma: seconds, for CI.")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--topics", type=int, default=60, help="Labelled topics for the Gemma recall suite.")
    parser.add_argument("--chars", type=int, default=1000, help="Characters kept of each labelled topic.")
    parser.add_argument("--no-quality", action="store_true", help="Skip the Gemma recall suite.")
    parser.add_argument("--no-scaling", action="store_true", help="Skip the 10k/100k ranking suite.")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    results = anyio.run(_run, args)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    args.out.mkdir(parents=True, exist_ok=True)
    for name in ("search-latest", f"search-{stamp}"):
        (args.out / f"{name}.json").write_text(json.dumps(results, indent=2) + "\n")
        (args.out / f"{name}.md").write_text(render(results))
    print(render(results))
    return 0


async def _run(args: argparse.Namespace) -> dict[str, Any]:
    started = datetime.now(UTC)
    files, sizes = (20, (200, 1_000)) if args.quick else (1_000, (10_000, 100_000))
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="mcp-open-search-bench-") as tmp:
        workdir = Path(tmp)
        note(f"end to end over {files} files")
        results["end_to_end"] = await end_to_end(workdir, files, args.repeats)
        if not args.no_scaling:
            results["scaling"] = await anyio.to_thread.run_sync(ranking_scaling, workdir, sizes, args.repeats)
        if not (args.quick or args.no_quality):
            results["quality"] = await anyio.to_thread.run_sync(run_quality, workdir, args.topics, args.chars)
    results["meta"] = {
        "started": started.strftime("%Y-%m-%d %H:%M:%S UTC"),
        "command": "python -m bench.search " + " ".join(sys.argv[1:]),
        "load_average": list(__import__("os").getloadavg()),
        "seconds": round((datetime.now(UTC) - started).total_seconds(), 1),
    }
    return results


def render(results: dict[str, Any]) -> str:
    """The results as markdown."""
    e2e, scaling, meta = results["end_to_end"], results.get("scaling", {}), results["meta"]
    lines = [
        f"# mcp-open search benchmark ({meta['started']})",
        f"Command: `{meta['command']}`, {meta['seconds']} s; load average {meta['load_average']}.",
        "",
        f"## Query latency, {e2e['first_index']['chunks']} passages in {e2e['files']} files on disk",
        "Through an in-memory MCP client; the query's own embedding (synthetic, 1024 dimensions) is subtracted.",
        "Server time includes walking the folder and checking every file is still current.",
        "",
        "| mode | client ms (median [q1–q3]) | server ms | of which freshness check ms |",
        "|---|---|---|---|",
    ]
    for mode in ("hybrid", "semantic", "lexical"):
        row = e2e[mode]
        lines.append(
            f"| {mode} | {_fmt(row['client_ms'])} | {_fmt(row['server_ms'])} | {_fmt(row['freshness_check_ms'])} |"
        )
    changed = e2e["one_file_changed"]
    lines += [
        "",
        f"First index: {e2e['first_index']['seconds']} s. After editing one file of {e2e['files']}: "
        f"{changed['updated']} file re-embedded ({changed['chunks_embedded']} passages; the engine embedded "
        f"{changed['texts_embedded']} texts counting the query), {changed['unchanged']} unchanged, "
        f"{changed['seconds']} s.",
        "",
        "## Ranking alone as the index grows (synthetic 1024-dimension vectors, float16 on disk)",
        "",
        "| passages | hybrid ms | semantic ms | lexical ms | build s | MB on disk |",
        "|---|---|---|---|---|---|",
    ]
    for size, row in scaling.items():
        if size == "growth":
            continue
        lines.append(
            f"| {size} | {_fmt(row['hybrid_ms'])} | {_fmt(row['semantic_ms'])} | {_fmt(row['lexical_ms'])} | "
            f"{row['build_seconds']} | {row['bytes_on_disk'] / 1e6:.0f} |"
        )
    if "growth" in scaling:
        growth = scaling["growth"]
        lines += ["", f"{growth['passages']:g}x the passages took {growth['time']}x the time (hybrid, median)."]
    if "quality" in results:
        from bench.search_quality import render_quality

        lines += ["", *render_quality(results["quality"])]
    return "\n".join(lines) + "\n"


def _fmt(summary: dict[str, float]) -> str:
    return f"{summary['median']:.2f} [{summary['q1']:.2f}–{summary['q3']:.2f}]"


if __name__ == "__main__":
    raise SystemExit(main())
