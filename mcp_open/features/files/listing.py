"""Globs and folder walks over open folder descriptors: hidden names only when named, no link followed."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path

from mcp_open.features.files.descriptors import DIR_FLAGS, Refused, verify
from mcp_open.features.files.secrets import is_hidden, is_secret_name

MAX_DEPTH = 32  # folders nested deeper than this below a walk's start are skipped
EVERY_FILE = ("**", "*")


@dataclass(frozen=True)
class Entry:
    """A name that matched: its folder (open while the entry is used), its real path and its lstat."""

    dir_fd: int
    path: Path
    info: os.stat_result
    is_link: bool


def pattern_parts(pattern: str) -> tuple[str, ...]:
    """A glob's parts, runs of '**' collapsed ('a/**/**/b' is 'a/**/b'), '.' dropped."""
    parts: list[str] = []
    for part in pattern.split("/"):
        if part in ("", ".") or (part == "**" and parts and parts[-1] == "**"):
            continue
        parts.append(part)
    return tuple(parts)


def visible(name: str, part: str, *, secrets: bool) -> bool:
    """Whether a pattern part may match a name: hidden names only by a part that starts with a dot."""
    if is_hidden(name) and not part.startswith("."):
        return False
    return secrets or not is_secret_name(name)


def matches(dir_fd: int, here: Path, parts: tuple[str, ...], *, secrets: bool, depth: int = 0) -> Iterator[Entry]:
    """Entries below an open folder matching the pattern parts (files, links and other non-folders)."""
    if not parts or depth > MAX_DEPTH:
        return
    head, rest = parts[0], parts[1:]
    if head == "**":
        yield from matches(dir_fd, here, rest, secrets=secrets, depth=depth)
    try:
        with os.scandir(dir_fd) as scan:
            entries = sorted(scan, key=lambda e: e.name)
    except OSError:
        return  # an unreadable folder is skipped
    for entry in entries:
        try:
            is_dir = entry.is_dir(follow_symlinks=False)
            info = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if head == "**":
            if is_dir and visible(entry.name, "", secrets=secrets):
                yield from _below(dir_fd, here, entry.name, parts, secrets, depth)
            continue
        if not fnmatchcase(entry.name, head) or not visible(entry.name, head, secrets=secrets):
            continue
        if not rest and not is_dir:
            yield Entry(dir_fd, here / entry.name, info, entry.is_symlink())
        elif rest and is_dir:
            yield from _below(dir_fd, here, entry.name, rest, secrets, depth)


def _below(dir_fd: int, here: Path, name: str, parts: tuple[str, ...], secrets: bool, depth: int) -> Iterator[Entry]:
    """Matches inside a sub-folder, opened without following a link (one swapped in meanwhile is skipped)."""
    try:
        child = os.open(name, DIR_FLAGS, dir_fd=dir_fd)
    except OSError:
        return
    try:
        verify(child, here / name)
        yield from matches(child, here / name, parts, secrets=secrets, depth=depth + 1)
    except Refused:
        return  # a folder that moved away meanwhile is skipped like an unreadable one
    finally:
        os.close(child)
