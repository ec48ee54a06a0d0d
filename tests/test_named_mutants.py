"""The one-line mutations the file-trust audit found no test catching, each now killed by a fast test here.

is_relative_to -> startswith (sandbox root check) and the racy-mtime window are killed in test_files_trust.py
(test_a_sibling_folder_sharing_the_root_name_is_outside, test_freshness_trusts_only_an_unchanged_settled_signature);
`python -m bench.mutation` applies all four and checks each is killed.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest

from mcp_open.errors import InvalidRequestError
from mcp_open.features.generate import structured
from mcp_open.store.db import connect, retrying


@pytest.mark.parametrize(
    ("fmt", "bad", "good"),
    [
        ("email", "not an address", "ann@example.com"),
        ("date", "2023-02-29", "2024-02-29"),
        ("ipv4", "300.1.1.1", "10.0.0.1"),
    ],
)
def test_structured_answers_are_validated_against_the_schemas_formats(fmt: str, bad: str, good: str) -> None:
    shape = structured.prepare({"type": "string", "format": fmt}, None)
    assert shape is not None
    assert shape.validate(f'"{good}"') == good
    with pytest.raises(InvalidRequestError, match="does not match the schema at the top level"):
        shape.validate(f'"{bad}"')


def test_a_file_another_connection_holds_for_a_moment_is_waited_for(tmp_path: Path) -> None:
    path = tmp_path / "shared.sqlite3"
    holder, waiter = connect(path), connect(path)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN IMMEDIATE")
    held = threading.Event()

    def release_soon() -> None:
        held.wait()
        time.sleep(0.4)  # longer than SQLite's own busy wait (100 ms): only a retry gets through
        holder.execute("COMMIT")

    thread = threading.Thread(target=release_soon)
    thread.start()
    held.set()
    started = time.monotonic()
    retrying(lambda: waiter.execute("BEGIN IMMEDIATE"), path)
    waited = time.monotonic() - started
    waiter.execute("INSERT INTO t VALUES (1)")
    waiter.execute("COMMIT")
    thread.join()
    assert waited >= 0.2 and sqlite3.connect(path).execute("SELECT count(*) FROM t").fetchone() == (1,)
