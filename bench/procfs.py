"""Processes as /proc shows them: children of this process and their memory (no psutil needed)."""

from __future__ import annotations

import os
from pathlib import Path


def child_pids(parent: int | None = None) -> list[int]:
    """Processes whose parent is this one (the stdio client's server), or parent."""
    me = str(os.getpid() if parent is None else parent)
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if stat.rsplit(")", 1)[1].split()[1] == me:
                found.append(int(entry.name))
    return found


def memory_of(pid: int) -> dict[str, int]:
    """VmRSS, VmHWM, RssAnon and RssFile of a process, in bytes."""
    wanted = {"VmRSS", "VmHWM", "RssAnon", "RssFile"}
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in wanted:
            values[key] = int(rest.split()[0]) * 1024
    return values


def tree_memory(pid: int) -> dict[str, int]:
    """memory_of a process plus its children's (a server and its model worker processes)."""
    total = memory_of(pid)
    for child in child_pids(pid):
        try:
            for key, value in memory_of(child).items():
                total[key] = total.get(key, 0) + value
        except OSError:
            continue
    return total
