"""What one server's search may see of a shared index: files in its scope, never secrets, never stale."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from mcp_open.features.files.sandbox import Sandbox
from mcp_open.features.search.index_store import FileRecord

# A file modified this close to when we read it may change again within the same timestamp tick: hash it next time.
RACY_NS = 2_000_000_000


def in_scope(path: str, paths: set[str], box: Sandbox) -> bool:
    """Checked on each row returned: its file is one this call may read (another server's rows never are)."""
    return path in paths and box.allowed_name(Path(path))


def secret_rows(indexed: Iterable[str], box: Sandbox) -> list[str]:
    """Indexed paths whose names look secret (an older version indexed them): to drop now."""
    return [path for path in indexed if not box.allowed_name(Path(path))]


def still_current(record: FileRecord | None, path: Path) -> bool:
    """Same size, mtime, ctime and inode as when indexed (utime cannot set ctime back), and read after that settled."""
    if record is None:
        return False
    try:
        stat = os.stat(path, follow_symlinks=False)
    except OSError:
        return False
    same = (record.size, record.mtime_ns, record.ctime_ns, record.ino, record.dev) == (
        stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino, stat.st_dev,
    )  # fmt: skip
    # A change within the same timestamp tick as our read would keep every field: such a file is hashed again.
    return same and record.checked_ns - max(record.mtime_ns, record.ctime_ns) > RACY_NS
