"""Issue 23, findings 1-4: waits on the server's own SQLite files are bounded, and nothing is lost or misleading."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import time
from pathlib import Path

import anyio
import pytest

from mcp_open.edge.cli import main
from mcp_open.errors import StoreError
from mcp_open.features.accounting.account import ESTIMATE, Account, FinishedCall, Prices
from mcp_open.features.accounting.ledger import CallRecord, Ledger, ledger_at
from mcp_open.features.accounting.recorder import Recorder
from mcp_open.features.search import index_store
from mcp_open.features.search.index_store import IndexStore
from mcp_open.store import db
from mcp_open.store.migrations import applied
from tests.fuzzkit import StdioServer, server_args
from tests.lockkit import held
from tests.searchkit import bow_engine, client_on, search, search_error, search_settings, write_corpus
from tests.test_hardening import tool_call

WAIT = 1.0  # the lock budget these tests run with (the product's is db.LOCK_WAIT_SECONDS)


@pytest.fixture(autouse=True)
def short_lock_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(db, "LOCK_WAIT_SECONDS", WAIT)


def row(tool: str = "generate") -> CallRecord:
    return CallRecord(time.time(), tool, "m", True, 0.1, 1, 2, 3, 4, 5, 6, ESTIMATE)


def index_file(data: Path) -> Path:
    (path,) = (data / "index").glob("*.sqlite3")
    return path


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["plain", "exclusive"])
async def test_a_locked_index_costs_a_search_seconds_and_a_clear_error(tmp_path: Path, mode: str) -> None:
    root = write_corpus(tmp_path / "root", project=False)
    settings = search_settings(root, data_dir=tmp_path / "data")
    async with client_on(bow_engine(), settings) as client:
        await search(client, "penalty clause")
    (root / "docs" / "new.md").write_text("# New\n\nA penalty clause for late delivery.\n")  # forces a write
    # An exclusive-mode holder takes the file before this server opens it (SQLite's rule in WAL mode).
    async with client_on(bow_engine(), settings) as client:
        with held(index_file(tmp_path / "data"), mode=mode):
            started = time.monotonic()
            error = await search_error(client, "penalty clause")
            waited = time.monotonic() - started
        assert waited < WAIT * 3 + 2.5, waited
        assert "is locked by another program" in error and "unexpected" not in error, error
        assert "Try again once it is released" in error
        found = await search(client, "penalty clause")  # released: served again, the new file included
        assert any(p["path"].endswith("new.md") for p in found["passages"])


@pytest.mark.anyio
async def test_timeout_lands_while_waiting_on_a_locked_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(db, "LOCK_WAIT_SECONDS", 30.0)  # the wait alone would outlast the call's --timeout
    root = write_corpus(tmp_path / "root", project=False)
    settings = search_settings(root, data_dir=tmp_path / "data", timeout=1.0)
    async with client_on(bow_engine(), settings) as client:
        await search(client, "penalty clause")
    async with client_on(bow_engine(), settings) as client:
        with held(index_file(tmp_path / "data"), mode="exclusive"):
            started = time.monotonic()
            error = await search_error(client, "penalty clause")
            waited = time.monotonic() - started
        assert "--timeout of 1 s" in error, error
        assert waited < 2.5, waited


def test_a_wait_on_sqlite_needs_the_retry_to_survive_a_short_lock(tmp_path: Path) -> None:
    """SQLite's own wait is short (BUSY_TIMEOUT_MS); a lock held longer is outlasted only by retrying()."""
    ledger = Ledger(tmp_path / "usage.sqlite3", budget=5.0)
    ledger.record(row())
    with held(ledger.path, seconds=1.0) as holder:
        ledger.record(row())  # waits out the holder's second
        assert holder.poll() is None or holder.returncode == 0
    assert ledger.totals()[0].calls == 2


def test_a_locked_ledger_keeps_rows_and_writes_them_later(tmp_path: Path) -> None:
    account = Account(ledger_at(tmp_path), Prices(5, 25), lambda _m: None)
    recorder = Recorder(account)
    done = FinishedCall("generate", "{}", "{}", {"prompt_tokens": 3}, "m", 0.1, ok=True)
    recorder.submit(done)
    assert recorder.flush(5)
    with held(account.ledger.path):
        for _ in range(3):
            recorder.submit(done)
        assert recorder.flush(WAIT * 3 + 2)  # counted and kept: no call waits for the ledger
        assert recorder.kept == 3 and recorder.problem and "locked" in recorder.problem
    deadline = time.monotonic() + 10
    while recorder.kept and time.monotonic() < deadline:
        time.sleep(0.05)
    assert recorder.kept == 0
    assert account.ledger.totals()[0].calls == 4
    recorder.close()


def test_shutdown_with_a_locked_ledger_takes_under_a_second_and_loses_nothing(tmp_path: Path) -> None:
    account = Account(ledger_at(tmp_path), Prices(5, 25), lambda _m: None)
    recorder = Recorder(account)
    done = FinishedCall("embed", "{}", "{}", {}, "m", 0.1, ok=True)
    recorder.submit(done)
    assert recorder.flush(5)
    with held(account.ledger.path):
        for _ in range(5):
            recorder.submit(done)
        started = time.monotonic()
        recorder.close()
        assert time.monotonic() - started < 1.0
        assert list(tmp_path.glob("usage.pending.*.jsonl"))
    reopened = ledger_at(tmp_path)
    assert reopened.totals()[0].calls == 6  # the set-aside rows were written in, once
    assert not list(tmp_path.glob("usage.pending.*.jsonl"))
    assert ledger_at(tmp_path).totals()[0].calls == 6


@pytest.mark.anyio
async def test_info_answers_with_a_locked_ledger_and_says_why(tmp_path: Path) -> None:
    root = write_corpus(tmp_path / "root", project=False)
    settings = search_settings(root, data_dir=tmp_path / "data")
    async with client_on(bow_engine(), settings) as client:
        await search(client, "penalty clause")
        with held(tmp_path / "data" / "usage.sqlite3"):
            await search(client, "penalty clause")  # the call is served; its row waits
            with anyio.fail_after(WAIT * 4 + 3):
                info = json.loads((await client.read_resource("mcp-open://info")).contents[0].text)
        savings = info["savings"]
        assert "locked by another program" in savings.get("error", "") + str(savings.get("ledger_problem")), savings


@pytest.mark.parametrize("damage", ["garbage", "folder"])
def test_usage_and_info_say_plainly_what_is_wrong_with_a_damaged_ledger(
    tmp_path: Path, damage: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "usage.sqlite3"
    if damage == "garbage":
        path.write_bytes(b"this is not a database at all " * 100)
    else:
        path.mkdir()
    assert main(["usage", "--data-dir", str(tmp_path)]) != 0
    err = capsys.readouterr().err
    assert "Traceback" not in err
    expected = "damaged or is not an SQLite database" if damage == "garbage" else "is a folder"
    assert expected in err and "usage.sqlite3" in err, err
    with pytest.raises(StoreError, match=expected):
        Account(Ledger(path), Prices(5, 25), lambda _m: None).summary()


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_data_dir_is_said_plainly(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    data.chmod(0o555)
    try:
        with pytest.raises(StoreError) as caught:
            Ledger(data / "usage.sqlite3").record(row())
        assert "--data-dir" in str(caught.value) and "unexpected" not in str(caught.value)
    finally:
        data.chmod(0o755)


def test_a_data_dir_that_is_a_file_is_said_by_its_meaning(tmp_path: Path) -> None:
    (tmp_path / "data").write_text("not a folder")
    with pytest.raises(StoreError, match=r"a file is in the way where a folder should be.*\[EEXIST\]"):
        Ledger(tmp_path / "data" / "usage.sqlite3").record(row())


OLD_LEDGER_DDL = """
CREATE TABLE calls (
    id INTEGER PRIMARY KEY, at REAL NOT NULL, tool TEXT NOT NULL, model TEXT NOT NULL, ok INTEGER NOT NULL,
    seconds REAL NOT NULL, agent_sent INTEGER NOT NULL, agent_received INTEGER NOT NULL,
    local_read INTEGER NOT NULL, local_written INTEGER NOT NULL, own_read INTEGER NOT NULL,
    own_written INTEGER NOT NULL, counted_by TEXT NOT NULL
);
CREATE INDEX calls_at ON calls (at);
INSERT INTO calls VALUES (NULL, 1.0, 'generate', 'm', 1, 0.5, 1, 2, 3, 4, 5, 6, 'estimate');
INSERT INTO calls VALUES (NULL, 2.0, 'embed', 'm', 0, 0.5, 1, 2, 3, 4, 5, 6, 'estimate');
"""


def test_a_ledger_from_before_migrations_keeps_its_rows_and_gets_every_migration(tmp_path: Path) -> None:
    path = tmp_path / "usage.sqlite3"
    old = sqlite3.connect(path)
    old.executescript(OLD_LEDGER_DDL)
    old.close()
    ledger = Ledger(path)
    assert ledger.totals()[0].calls == 2
    ledger.record(row(), row())
    assert ledger.totals()[0].calls == 4
    with sqlite3.connect(path) as conn:
        assert applied(conn) == ["m001_calls", "m002_call_uid", "m003_call_uid_unique"]
        assert "uid" in {r[1] for r in conn.execute("PRAGMA table_info(calls)")}


def test_an_index_from_before_migrations_opens_with_its_passages(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    old = sqlite3.connect(path)
    from mcp_open.features.search.index_store import MIGRATIONS

    MIGRATIONS[0][1](old)  # the schema as the raw DDL of the last release created it
    old.execute("INSERT INTO meta VALUES ('schema_version', '1')")
    old.execute("INSERT INTO files VALUES (1, '/a.txt', 1, 1, 'h', 1, 1, 1, 1, x'')")
    old.execute("INSERT INTO chunks VALUES (1, 1, 0, 1, 1, NULL, 'penalty clause')")
    old.commit()
    old.close()
    store = IndexStore(path)
    assert set(store.files()) == {"/a.txt"}
    assert store.lexical('"penalty"', None, 5)[0][0] == 1
    store.close()
    with sqlite3.connect(path) as conn:
        assert applied(conn) == [name for name, _step in MIGRATIONS]  # m001, then m002 (file identity)


def test_usage_with_a_locked_ledger_answers_within_the_lock_budget(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ledger = Ledger(tmp_path / "usage.sqlite3")
    ledger.record(row())
    ledger.close()  # an exclusive-mode holder needs the file to itself
    with held(tmp_path / "usage.sqlite3", mode="exclusive"):
        started = time.monotonic()
        assert main(["usage", "--data-dir", str(tmp_path)]) != 0
        assert time.monotonic() - started < WAIT * 3 + 2
    err = capsys.readouterr().err
    assert "is locked by another program" in err and "Traceback" not in err, err


@pytest.mark.slow
@pytest.mark.parametrize("stop", ["SIGTERM", "stdin closed"])
def test_a_locked_ledger_never_delays_shutdown_and_loses_no_row(
    stop: str, tiny_chat: Path, tiny_embed: Path, tmp_path: Path
) -> None:
    """Finding 2: with the ledger locked, the server still stops within about a second; the rows come later."""
    data = tmp_path / "data"
    Ledger(data / "usage.sqlite3").record(row())
    with held(data / "usage.sqlite3"):
        server = StdioServer([*server_args(tiny_chat, tiny_embed), "--data-dir", str(data)], tmp_path / "stderr")
        for i in range(3):
            answer = server.call(tool_call(f"e{i}", "embed", {"texts": ["a few words"]}))
            assert not answer["result"].get("isError"), answer
        started = time.monotonic()
        if stop == "SIGTERM":
            server.proc.send_signal(signal.SIGTERM)
        else:
            assert server.proc.stdin is not None
            server.proc.stdin.close()
        code = server.proc.wait(timeout=30)
        elapsed = time.monotonic() - started
    print(f"\n{stop} with the ledger locked: exited {elapsed:.2f} s later")
    assert code == 0 and elapsed < 3.0, (code, elapsed)
    assert Ledger(data / "usage.sqlite3").totals()[0].calls == 4  # the 3 calls, set aside and written in now


@pytest.mark.anyio
async def test_a_read_only_index_folder_still_serves_what_is_indexed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Finding 3. Root writes anywhere, so the folder's refusal is the one SQLite gives (unable to open)."""
    root = write_corpus(tmp_path / "root", project=False)
    settings = search_settings(root, data_dir=tmp_path / "data")
    async with client_on(bow_engine(), settings) as client:
        await search(client, "penalty clause")

    def read_only_folder(path: Path, **_kwargs: object) -> sqlite3.Connection:
        raise db.store_error(path, sqlite3.OperationalError("unable to open database file"))

    monkeypatch.setattr(index_store, "connect", read_only_folder)
    async with client_on(bow_engine(), settings) as client:
        for _ in range(2):
            found = await search(client, "penalty clause")
            assert found["passages"] and "contracts.md" in found["passages"][0]["path"]
            assert "is read-only: this searched what was indexed before" in found["index"]["rebuilt"]
    assert caplog.text.count("searching what it already holds") == 1  # said once
