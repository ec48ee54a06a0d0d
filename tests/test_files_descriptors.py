"""Descriptors the sandbox opens are all closed again: a long-lived server must not run out of them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mcp_open.errors import FileAccessError
from mcp_open.features.files.sandbox import Sandbox

ROUNDS = 300


def open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="counts descriptors through /proc")
def test_reads_through_links_inside_and_refusals_close_every_descriptor(tmp_path: Path) -> None:
    root, outside = tmp_path / "A", tmp_path / "outside"
    (root / "docs").mkdir(parents=True)
    outside.mkdir()
    (root / "docs" / "real.txt").write_text("inside text\n")
    (outside / "secret.txt").write_text("outside\n")
    (root / "alias").symlink_to(root / "docs")  # a folder link inside: followed
    (root / "note.txt").symlink_to(root / "docs" / "real.txt")  # a file link inside: followed
    (root / "away.txt").symlink_to(outside / "secret.txt")  # a link out: refused
    box = Sandbox([root], max_file_bytes=1_000_000, max_matches=1000, allow_secrets=False)
    for path in (root / "alias" / "real.txt", root / "note.txt"):  # warm caches that hold descriptors for good
        box.read(path)
    before = open_descriptors()
    for _ in range(ROUNDS):
        assert box.read(root / "alias" / "real.txt")[1] == b"inside text\n"
        assert box.read(root / "note.txt")[1] == b"inside text\n"
        with pytest.raises(FileAccessError):
            box.read(root / "away.txt")
    assert open_descriptors() - before < 5
