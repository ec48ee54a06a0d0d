"""The usage ledger: its arithmetic, persistence across restarts, concurrent servers, and `mcp-open usage`."""

from __future__ import annotations

import json
import math
import multiprocessing
import time
from pathlib import Path
from typing import Any

import anyio
import pytest
from llama_cpp import Llama
from mcp import Client

from mcp_open.edge.cli import main
from mcp_open.engines.estimates import ESTIMATE
from mcp_open.engines.pieces import split_pieces
from mcp_open.engines.scripted import ScriptedEngine
from mcp_open.features.accounting.account import PIECE_CHARS, Account, FinishedCall, Prices
from mcp_open.features.accounting.ledger import CallRecord, Ledger, ledger_at
from mcp_open.features.accounting.recorder import Recorder
from tests.conftest import ClientFactory, stdio_params, tiny_settings

OPUS_IN, OPUS_OUT = 5.0, 25.0  # Claude Opus 4.6 list prices, USD per million tokens


def saved(own_read: int, own_written: int, sent: int, received: int) -> float:
    """The README's formula, written out independently of the code under test."""
    return (own_read * OPUS_IN + own_written * OPUS_OUT - sent * OPUS_OUT - received * OPUS_IN) / 1e6


def estimate_account(data_dir: Path) -> Account:
    """An account with no model loaded: agent-side tokens are estimated at 4 characters each."""
    return Account(ledger_at(data_dir), Prices(OPUS_IN, OPUS_OUT), lambda _model: None)


def call(tool: str, sent_chars: int, received_chars: int, read: int, written: int = 0) -> FinishedCall:
    usage = {"prompt_tokens": read, "completion_tokens": written}
    return FinishedCall(tool, "a" * sent_chars, "b" * received_chars, usage, "gemma", 1.5, ok=True)


# A 20,000-token document summarised in 200 tokens: pasted into the arguments, then named by path.
BY_VALUE = call("generate", 80_000, 1_200, read=20_040, written=200)
BY_REFERENCE = call("generate", 400, 1_200, read=20_040, written=200)
EMBED = call("embed", 40, 4_004, read=10)


def test_saved_is_own_work_minus_delegation_at_reference_prices(tmp_path: Path) -> None:
    account = estimate_account(tmp_path)
    for finished in (BY_VALUE, BY_REFERENCE, EMBED):
        account.record(finished)
    rows = {row["key"]: row for row in account.rows(by="tool")}
    total = account.rows()[0]
    by_value = saved(20_040, 200, 20_000, 300)
    by_reference = saved(20_040, 200, 100, 300)
    embed = saved(0, 0, 10, 1_001)  # an agent cannot embed in its own context: no work saved
    assert by_value < 0 < by_reference and embed < 0
    assert rows["generate"]["saved_usd"] == round(by_value + by_reference, 6)
    assert rows["embed"]["saved_usd"] == round(embed, 6)
    assert total["saved_usd"] == round(by_value + by_reference + embed, 6)
    assert total["own_work_usd"] == round(2 * (20_040 * OPUS_IN + 200 * OPUS_OUT) / 1e6, 6)
    assert (total["agent_tokens_sent"], total["agent_tokens_received"]) == (20_110, 1_601)
    assert (total["local_tokens_read"], total["local_tokens_written"]) == (40_090, 400)
    assert account.counted_by() == {ESTIMATE: 3}


def test_a_loaded_model_counts_with_its_tokenizer(tmp_path: Path) -> None:
    engine = ScriptedEngine(name="gemma")  # counts one token per word
    account = Account(ledger_at(tmp_path), Prices(OPUS_IN, OPUS_OUT), {"gemma": engine}.get)
    finished = FinishedCall("generate", "one two three", "four five", {"prompt_tokens": 7}, "gemma", 0.1, ok=True)
    entry = account.record(finished)
    assert (entry.agent_sent, entry.agent_received, entry.local_read, entry.own_read) == (3, 2, 7, 7)
    assert entry.counted_by == "tokenizer of gemma"


def test_long_texts_are_counted_in_pieces_that_add_up_to_the_text() -> None:
    text = ("word " * 3000 + "\n") * 5 + "x" * 10_000
    parts = split_pieces(text, PIECE_CHARS, hard=True)  # the splitter the ledger counts with
    assert "".join(parts) == text and max(len(p) for p in parts) <= 4096 and len(parts) > 10
    engine = ScriptedEngine(name="gemma")  # one token per word: cuts at spaces keep the count exact
    account = Account(Ledger(Path("unused")), Prices(OPUS_IN, OPUS_OUT), {"gemma": engine}.get)
    count, _how = account._counter("gemma")
    assert count(text) == len(text.split()) + 2  # the 10,000-character run has no space: cut twice


def test_the_recorder_writes_in_the_background_and_drains_on_close(tmp_path: Path) -> None:
    recorder = Recorder(estimate_account(tmp_path))
    for _ in range(20):
        recorder.submit(BY_REFERENCE)
    assert recorder.flush(timeout=30) and not recorder.busy
    assert recorder.account.rows()[0]["calls"] == 20
    recorder.submit(EMBED)
    recorder.close()
    assert estimate_account(tmp_path).rows()[0]["calls"] == 21


def text_tokens(model: Path, text: str) -> int:
    """Tokens of plain text in the model's vocabulary, the way the server counts the agent's side."""
    vocab = Llama(model_path=str(model), n_ctx=256, verbose=False, vocab_only=True)
    return len(vocab.tokenize(text.encode(), add_bos=False, special=False))


def compact(arguments: dict[str, Any]) -> str:
    return json.dumps(arguments, ensure_ascii=False, separators=(",", ":"))


async def read_info(client: Client) -> dict[str, Any]:
    return json.loads((await client.read_resource("mcp-open://info")).contents[0].text)


@pytest.mark.anyio
async def test_ledger_survives_a_server_restart(
    connect_once: ClientFactory, tiny_chat: Path, tiny_embed: Path, tmp_path: Path
) -> None:
    settings = tiny_settings(tiny_chat, tiny_embed, data_dir=tmp_path)
    args = {"prompt": "Summarise this.", "max_tokens": 4, "seed": 3}
    bad = {"text": "Hello there", "target_lang": "zz"}
    async with connect_once(settings) as client:
        first = await client.call_tool("generate", args)
        refused = await client.call_tool("translate", bad)
    async with connect_once(settings) as client:
        second = await client.call_tool("generate", args)
        totals = (await read_info(client))["savings"]
    assert refused.is_error and not first.is_error and not second.is_error
    results = [r.content[0].text for r in (first, second)]  # exactly the text the client received
    error_text = refused.content[0].text
    assert totals["calls"] == 3 and totals["failed"] == 1
    assert totals["agent_tokens_sent"] == 2 * text_tokens(tiny_chat, compact(args)) + math.ceil(len(compact(bad)) / 4)
    assert totals["agent_tokens_received"] == sum(text_tokens(tiny_chat, t) for t in results) + math.ceil(
        len(error_text) / 4
    )
    usages = [r.structured_content["usage"] for r in (first, second)]
    assert totals["local_tokens_read"] == sum(u["prompt_tokens"] for u in usages)
    assert totals["local_tokens_written"] == sum(u["completion_tokens"] for u in usages)
    assert totals["agent_tokens_counted_by"] == {f"tokenizer of {tiny_chat.name}": 2, ESTIMATE: 1}
    assert totals["prices_usd_per_mtok"] == {"input": 5.0, "output": 25.0}


SERVER_CALLS = 12


async def _serve_and_call(chat: Path, embed: Path, data_dir: Path, results: list[bool]) -> None:
    args = ["--model", str(chat), "--embed-model", str(embed), "--ctx", "512", "--threads", "1"]
    async with Client(stdio_params(*args, "--data-dir", str(data_dir))) as client:
        for i in range(SERVER_CALLS):
            result = await client.call_tool("generate", {"prompt": f"call {i}", "max_tokens": 1})
            results.append(not result.is_error)


@pytest.mark.anyio
async def test_two_servers_write_one_ledger_at_once(tiny_chat: Path, tiny_embed: Path, tmp_path: Path) -> None:
    results: list[bool] = []
    async with anyio.create_task_group() as tg:
        for _ in range(2):
            tg.start_soon(_serve_and_call, tiny_chat, tiny_embed, tmp_path, results)
    assert results == [True] * 2 * SERVER_CALLS
    totals = Ledger(tmp_path / "usage.sqlite3").totals()[0]
    assert totals.calls == 2 * SERVER_CALLS and totals.failed == 0


WRITES_PER_PROCESS = 300


def _hammer(path: str, writer: int, barrier: Any) -> None:
    """Append WRITES_PER_PROCESS rows as fast as possible, starting together with the other writers."""
    ledger = Ledger(Path(path))
    record = CallRecord(time.time(), f"tool{writer}", "m", True, 0.0, 1, 1, 1, 1, 1, 1, ESTIMATE)
    ledger.record(record)  # schema created before the race
    barrier.wait()
    for _ in range(WRITES_PER_PROCESS - 1):
        ledger.record(record)
    ledger.close()


def test_concurrent_writers_lose_nothing(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(3)
    path = tmp_path / "usage.sqlite3"
    procs = [context.Process(target=_hammer, args=(str(path), i, barrier)) for i in range(3)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(60)
    assert [p.exitcode for p in procs] == [0, 0, 0]
    rows = Ledger(path).totals(by="tool")
    assert [(r.key, r.calls) for r in rows] == [(f"tool{i}", WRITES_PER_PROCESS) for i in range(3)]


def run_usage(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert main(["usage", *args]) == 0
    return capsys.readouterr().out


def test_usage_table_shows_negative_savings_as_negative(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    account = estimate_account(tmp_path)
    for finished in (BY_VALUE, BY_REFERENCE, EMBED):
        account.record(finished)
    out = run_usage(capsys, "--data-dir", str(tmp_path), "--by", "tool")
    by_value, by_reference, embed = saved(20_040, 200, 20_000, 300), saved(20_040, 200, 100, 300), -0.005255
    generate, total = by_value + by_reference, by_value + by_reference + embed
    assert out.splitlines()[:4] == [
        "tool      calls  failed  agent wrote  agent read  local read  local wrote  saved USD",
        f"embed         1       0           10       1,001          10            0    {embed:+.4f}",
        f"generate      2       0       20,100         600      40,080          400    {generate:+.4f}",
        f"total         3       0       20,110       1,601      40,090          400    {total:+.4f}",
    ]
    assert "-0.2951" in out and "-0.0053" in out and "-0.3004" in out
    assert "Prices: $5 input, $25 output per million tokens" in out
    assert "Negative saved: delegating cost the agent more" in out
    assert f"Agent-side tokens counted by {ESTIMATE}: 3 calls" in out


def test_usage_since_by_day_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ledger = ledger_at(tmp_path)
    now = time.time()
    for days_ago in (10, 1, 0):
        ledger.record(CallRecord(now - days_ago * 86_400, "rank", "e", True, 0.5, 4, 40, 400, 0, 400, 0, ESTIMATE))
    ledger.close()
    report = json.loads(run_usage(capsys, "--data-dir", str(tmp_path), "--since", "7d", "--by", "day", "--json"))
    assert [g["calls"] for g in report["groups"]] == [1, 1]
    assert report["total"]["calls"] == 2
    assert report["total"]["saved_usd"] == round(2 * saved(400, 0, 4, 40), 6) > 0
    assert "Negative" not in run_usage(capsys, "--data-dir", str(tmp_path), "--price-input", "1")


def test_usage_refuses_a_bad_since_and_reads_no_ledger_without_creating_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["usage", "--data-dir", str(tmp_path / "none"), "--since", "last week"]) == 2
    assert "--since 'last week'" in capsys.readouterr().err
    assert run_usage(capsys, "--data-dir", str(tmp_path / "none")).startswith("No calls recorded")
    assert not (tmp_path / "none").exists()
