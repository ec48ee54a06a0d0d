"""What the local Hugging Face cache holds, read through huggingface_hub's own cache API."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import huggingface_hub as hf

from mcp_open.models.hub.where import hub_cache_dir


@dataclass(frozen=True)
class CachedRepo:
    """Repo-relative file name -> cached file (the revision refs/main points at first, then newest first)."""

    files: dict[str, Path] = field(default_factory=dict)
    damage: str | None = None  # why huggingface_hub could not read the repo's cache, if it could not


def cached_repo(repo: str) -> CachedRepo:
    """The cached files of one model repo, or why its cache entry is unreadable."""
    cache = hub_cache_dir()
    if not cache.is_dir():
        return CachedRepo()
    scan = hf.scan_cache_dir(cache)
    folder = cache / f"models--{repo.replace('/', '--')}"
    damage = next((str(w) for w in scan.warnings if str(folder) in str(w)), None)
    found = next((r for r in scan.repos if r.repo_id == repo and r.repo_type == "model"), None)
    if found is None:
        return CachedRepo(damage=damage)
    revisions = sorted(found.revisions, key=lambda r: ("main" not in r.refs, -r.last_modified))
    files: dict[str, Path] = {}
    for revision in revisions:
        for file in revision.files:
            files.setdefault(Path(file.file_path).relative_to(revision.snapshot_path).as_posix(), Path(file.file_path))
    return CachedRepo(files, damage)


def cached_file(repo: str, name: str) -> Path | None:
    """One file of the repo's main revision, if cached (interrupted downloads never count)."""
    found = hf.try_to_load_from_cache(repo, name, cache_dir=hub_cache_dir())
    return Path(found) if isinstance(found, str) else cached_repo(repo).files.get(name)


def cached_files(repo: str) -> list[tuple[str, int]]:
    """(file name, size in bytes) of every file of `repo` already in the Hugging Face cache."""
    return sorted((name, path.stat().st_size) for name, path in cached_repo(repo).files.items())
