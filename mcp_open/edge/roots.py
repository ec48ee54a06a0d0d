"""The client's declared roots, asked for only when a call names files and the client offers roots."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlparse

from mcp.server.mcpserver import Context, ListRoots
from mcp_types import ListRootsResult


def _offers_roots(ctx: Context) -> bool:
    capabilities = ctx.client_capabilities
    return capabilities is not None and capabilities.roots is not None


def roots_for_files(ctx: Context, files: list[str] | None) -> ListRoots | None:
    """Ask the client for its roots when the call reads files (resolver for embed and rank)."""
    return ListRoots() if files and _offers_roots(ctx) else None


def roots_for_files_out(ctx: Context, files: list[str] | None, output_path: str | None) -> ListRoots | None:
    """Ask the client for its roots when the call reads or writes files (resolver for generate and translate)."""
    return ListRoots() if (files or output_path) and _offers_roots(ctx) else None


def roots_for_search(ctx: Context) -> ListRoots | None:
    """Ask the client for its roots for every search (search always reads files)."""
    return ListRoots() if _offers_roots(ctx) else None


def root_paths(result: ListRootsResult | None) -> list[Path]:
    """Local folders from the client's file:// roots; other schemes and hosts are ignored."""
    if result is None:
        return []
    paths = []
    for root in result.roots:
        uri = urlparse(str(root.uri))
        if uri.scheme == "file" and uri.netloc in ("", "localhost") and "\x00" not in uri.path:
            paths.append(Path(unquote(uri.path)))
    return paths
