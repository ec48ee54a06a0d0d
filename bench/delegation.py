"""The delegation suite: the same jobs by value (material in the arguments) and by reference (files named,
results written to disk), measured on the agent's side by the server's own usage ledger and in local wall time."""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from mcp import Client

from bench import goals, machine
from bench.config import Config
from bench.material import Corpus, write_corpus
from bench.models import BenchModel, resolve_models
from bench.procs import serve_args, stdio_server
from bench.session import BenchError, Timed, call_tool, note
from bench.stats import ratio, summarize
from mcp_open.features.accounting.account import Account, Prices
from mcp_open.features.accounting.ledger import ledger_at

PRICES = Prices(5.0, 25.0)  # Claude Opus 4.6 list prices, USD per million tokens (the server's defaults)
TOKEN_GOAL = 20.0  # by reference costs the agent at least 20x fewer tokens
MODES = ("by_value", "by_reference")

SUMMARY = "Summarise the document above in three sentences.\nSummary:"
EXTRACT = "Give the invoice number, date, customer and total of the file above as one line of JSON.\nJSON:"


@dataclass(frozen=True)
class Sizes:
    """How big each job is; the server's context must hold the long document."""

    document_tokens: int
    summary_tokens: int
    texts: int
    sentences: int
    invoices: int
    extract_tokens: int
    ctx: int


CTX_MARGIN = 2_528  # the instruction, the file's frame and the summary, beside the document
FULL = Sizes(
    document_tokens=20_000, summary_tokens=64, texts=10, sentences=6, invoices=50, extract_tokens=24, ctx=22_528
)
QUICK = Sizes(document_tokens=500, summary_tokens=8, texts=3, sentences=2, invoices=4, extract_tokens=6, ctx=1_024)


def framed(path: str, text: str) -> str:
    """Material pasted the way the server frames a named file, so both modes give the model the same prompt."""
    return f'<file path="{path}">\n{text.rstrip()}\n</file>'


Job = Callable[[Client, Corpus, Sizes], Awaitable[list[Timed]]]


async def summarise_by_value(client: Client, corpus: Corpus, sizes: Sizes) -> list[Timed]:
    text = (corpus.root / corpus.document).read_text()
    prompt = f"{framed(corpus.document, text)}\n\n{SUMMARY}"
    return [await call_tool(client, "generate", _greedy(prompt, sizes.summary_tokens))]


async def summarise_by_reference(client: Client, corpus: Corpus, sizes: Sizes) -> list[Timed]:
    args = {**_greedy(SUMMARY, sizes.summary_tokens), "files": [corpus.document]}
    return [await call_tool(client, "generate", args)]


async def translate_by_value(client: Client, corpus: Corpus, sizes: Sizes) -> list[Timed]:
    texts = [(corpus.root / name).read_text() for name in corpus.texts]
    return [await call_tool(client, "translate", {"text": texts, "target_lang": "fr", "source_lang": "en"})]


async def translate_by_reference(client: Client, corpus: Corpus, sizes: Sizes) -> list[Timed]:
    args = {"files": ["notes/*.md"], "target_lang": "fr", "source_lang": "en", "output_path": "out/fr/"}
    return [await call_tool(client, "translate", args)]


async def extract_by_value(client: Client, corpus: Corpus, sizes: Sizes) -> list[Timed]:
    done = []
    for name in corpus.invoices:
        prompt = f"{framed(name, (corpus.root / name).read_text())}\n\n{EXTRACT}"
        done.append(await call_tool(client, "generate", _greedy(prompt, sizes.extract_tokens)))
    return done


async def extract_by_reference(client: Client, corpus: Corpus, sizes: Sizes) -> list[Timed]:
    args = {
        **_greedy(EXTRACT, sizes.extract_tokens),
        "files": ["invoices/*.txt"],
        "each": True,
        "output_path": "out/fields/",
    }
    return [await call_tool(client, "generate", args)]


JOBS: dict[str, dict[str, Job]] = {
    "summarise": {"by_value": summarise_by_value, "by_reference": summarise_by_reference},
    "translate": {"by_value": translate_by_value, "by_reference": translate_by_reference},
    "extract": {"by_value": extract_by_value, "by_reference": extract_by_reference},
}


def _greedy(prompt: str, max_tokens: int) -> dict[str, Any]:
    """Greedy decoding, so both modes generate the same tokens from the same prompt."""
    return {"prompt": prompt, "max_tokens": max_tokens, "temperature": 0, "seed": 1}


def sizes_for(quick: bool, document_tokens: int | None, sentences: int | None = None) -> Sizes:
    """The job sizes, with the document's size (and the context to hold it) and the notes' length as asked."""
    sizes = QUICK if quick else FULL
    if sentences is not None:
        sizes = dataclasses.replace(sizes, sentences=sentences)
    if document_tokens is None:
        return sizes
    return dataclasses.replace(sizes, document_tokens=document_tokens, ctx=document_tokens + CTX_MARGIN)


async def run(config: Config, sizes: Sizes, errlog: TextIO) -> dict[str, Any]:
    """Every job in both modes on the first model, each mode on a fresh server with its own ledger."""
    with tempfile.TemporaryDirectory(prefix="mcp-open-delegation-") as tmp:
        work = Path(tmp)
        model = resolve_models(config.models[:1], work, sizes.ctx)[0]
        corpus = write_corpus(
            work / "root",
            document_tokens=sizes.document_tokens,
            texts=sizes.texts,
            sentences=sizes.sentences,
            invoices=sizes.invoices,
            count=_counter(model.path),
        )
        modes = {mode: await _mode(mode, model, config, sizes, corpus, errlog) for mode in MODES}
    jobs = {name: _compare(modes["by_value"][name], modes["by_reference"][name]) for name in JOBS}
    return {"model": model.describe(), "sizes": dataclasses.asdict(sizes), "jobs": jobs}


async def _mode(
    mode: str, model: BenchModel, config: Config, sizes: Sizes, corpus: Corpus, errlog: TextIO
) -> dict[str, dict[str, Any]]:
    """Every job in one mode on one fresh server (none shares a KV cache with the other mode), with its own ledger."""
    data_dir = corpus.root.parent / f"ledger-{mode}"
    extra = ["--data-dir", str(data_dir), "--allow-dir", str(corpus.root), "--max-tokens", str(sizes.ctx)]
    extra += ["--timeout", "0"]  # a slow shared machine must not cut a job short
    args = serve_args(model.path, model.embed_path, dataclasses.replace(config, ctx=sizes.ctx), *extra)
    out = {}
    async with stdio_server(args, errlog) as client:
        await call_tool(client, "generate", {"prompt": "Hello", "max_tokens": 1})  # load the model untimed
        for name, modes in JOBS.items():
            note(f"delegation: {name} {mode}")
            shutil.rmtree(corpus.root / "out", ignore_errors=True)
            since = time.time()
            start = time.perf_counter()
            results = await modes[mode](client, corpus, sizes)
            wall = time.perf_counter() - start
            await client.read_resource("mcp-open://info")  # returns once the server has recorded every call
            out[name] = _account(data_dir, since, results, wall, corpus)
    return out


def _compare(value: dict[str, Any], reference: dict[str, Any]) -> dict[str, Any]:
    """One job in both modes, and how they compare."""
    return {
        "by_value": value,
        "by_reference": reference,
        "agent_tokens_ratio": ratio(value["agent_tokens"], reference["agent_tokens"], 2),
        "agent_usd_ratio": ratio(value["agent_usd"], reference["agent_usd"], 2),
        "wall_ratio": ratio(reference["wall_seconds"], value["wall_seconds"], 3),
        "same_local_work": value["local_tokens_read"] == reference["local_tokens_read"],
    }


def _account(data_dir: Path, since: float, results: list[Timed], wall: float, corpus: Corpus) -> dict[str, Any]:
    """The ledger's totals for the job's calls, with the agent's tokens and dollars and the local wall time."""
    account = Account(ledger_at(data_dir), PRICES, lambda _model: None)
    try:
        row = account.rows(since=since)[0]
        counted_by = account.counted_by(since)
    finally:
        account.ledger.close()
    if row["calls"] != len(results) or row["failed"]:
        raise BenchError(f"the ledger holds {row['calls']} calls ({row['failed']} failed), expected {len(results)}")
    written = sorted(p.relative_to(corpus.root).as_posix() for p in (corpus.root / "out").rglob("*") if p.is_file())
    return {
        "calls": row["calls"],
        "agent_tokens_sent": row["agent_tokens_sent"],
        "agent_tokens_received": row["agent_tokens_received"],
        "agent_tokens": row["agent_tokens_sent"] + row["agent_tokens_received"],
        "agent_usd": row["delegation_usd"],
        "local_tokens_read": row["local_tokens_read"],
        "local_tokens_written": row["local_tokens_written"],
        "saved_usd": row["saved_usd"],
        "wall_seconds": round(wall, 3),
        "files_written": len(written),
        "counted_by": counted_by,
    }


def _counter(model_path: str) -> Callable[[str], int]:
    """Tokens of plain text in the model's vocabulary (to size the long document)."""
    from llama_cpp import Llama

    vocab = Llama(model_path=model_path, n_ctx=256, verbose=False, vocab_only=True)
    return lambda text: len(vocab.tokenize(text.encode(), add_bos=False, special=False))


def evaluate(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The goals per job: >= 20x fewer agent tokens by reference; local wall time no worse (one run each)."""
    model = data["model"]["name"]
    rows = []
    for name, job in data["jobs"].items():
        tokens, wall = summarize([job["agent_tokens_ratio"]]), summarize([job["wall_ratio"]])
        rows.append(_goal(f"{name}: agent tokens, by value / by reference", model, tokens, ">=", TOKEN_GOAL, "x"))
        rows.append(_goal(f"{name}: local wall time, by reference / by value", model, wall, "<=", 1.0, "x"))
    return rows


def _goal(goal: str, model: str, summary: dict[str, float], op: str, target: float, unit: str) -> dict[str, Any]:
    return {
        "goal": goal,
        "model": model,
        "target": f"{op} {target:g} {unit}",
        "measured": summary["median"],
        "iqr": [summary["q1"], summary["q3"]],
        "unit": unit,
        "verdict": goals.verdict(summary, op, target),
    }


async def run_suite(config: Config, sizes: Sizes, errlog: TextIO) -> dict[str, Any]:
    """The suite with the machine, its goals and when it ran."""
    started = time.perf_counter()
    data = await run(config, sizes, errlog)
    data["goals"] = evaluate(data)
    data["machine"] = machine.describe()
    seconds = round(time.perf_counter() - started, 1)
    data["meta"] = {"seconds": seconds, "quick": config.quick, "threads": config.threads}
    return data
