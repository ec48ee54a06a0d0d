"""`mcp-open models list`: the catalog with what the local cache holds of each entry."""

from __future__ import annotations

from pathlib import Path

from mcp_open.models.catalog import CatalogEntry, load_catalog
from mcp_open.models.hub.cache import cached_repo
from mcp_open.models.hub.resolution import package_file


def _files_of(entry: CatalogEntry) -> dict[str, Path]:
    """File name -> local file for what is on disk of a catalog entry."""
    if entry.repo:
        return cached_repo(entry.repo).files
    assembled = package_file(entry)
    return {assembled.name: assembled} if assembled is not None else {}


def _size_on_disk(entry: CatalogEntry, quant: str, files: dict[str, Path]) -> int | None:
    """Bytes of a quant's files when all of them are cached, else None."""
    paths = [files.get(name) for name in entry.files_for(quant) or []]
    present = [p for p in paths if p is not None]
    return sum(p.stat().st_size for p in present) if present and len(present) == len(paths) else None


def _quant_row(entry: CatalogEntry, quant: str, size_on_disk: int | None) -> dict[str, object]:
    """One quant of a catalog entry with its cache state."""
    return {
        "quant": quant,
        "files": entry.files_for(quant) or [],
        "size_gb": entry.size_gb.get(quant),
        "cached": size_on_disk is not None,
        "size_on_disk": size_on_disk,
    }


def _table_row(entry: CatalogEntry) -> dict[str, object]:
    """One catalog entry for `mcp-open models list`."""
    files = _files_of(entry)
    sizes = {quant: _size_on_disk(entry, quant, files) for quant in entry.quants}
    return {
        "alias": entry.alias,
        "role": entry.role,
        "source": entry.source,
        "repo": entry.repo,
        "package": entry.package,
        "params": entry.params,
        "context_length": entry.context_length,
        "license": entry.license,
        "default_quant": entry.default_quant,
        "description": entry.description,
        "cached": ", ".join(f"{q} ({size / 1e9:.2f} GB)" for q, size in sizes.items() if size is not None),
        "quants": [_quant_row(entry, quant, size) for quant, size in sizes.items()],
        "cached_bytes": sum(size or 0 for size in sizes.values()),
    }


def models_table() -> list[dict[str, object]]:
    """The catalog with, per quant, whether it is cached and its size on disk."""
    return [_table_row(entry) for entry in load_catalog().values()]
