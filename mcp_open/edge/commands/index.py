"""`mcp-open index PATH...` and `mcp-open index --status`: build indexes ahead of time, show what is indexed."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import anyio

from mcp_open.edge.wiring import App, compose
from mcp_open.errors import McpOpenError, ModelNotDownloadedError
from mcp_open.features.files.sandbox import GLOB_CHARS
from mcp_open.features.search import search
from mcp_open.models.hub.fetching import starter_hint
from mcp_open.runtime.calls import CallContext, ProgressState
from mcp_open.settings import Settings

if TYPE_CHECKING:
    from tqdm import tqdm

BAR_REFRESH_SECONDS = 0.1


def run(settings: Settings, paths: Sequence[str]) -> int:
    """Index the paths with a progress bar on stderr, then print a one-line summary on stdout."""
    roots = [*settings.allow_dirs, *_roots_of(paths)]
    app = compose(settings.model_copy(update={"allow_dirs": roots}))
    try:
        report = anyio.run(_index, app, [str(Path(p).expanduser().resolve()) for p in paths])
    except ModelNotDownloadedError as exc:
        raise _offline(exc, settings.embed_model, paths) from None
    finally:
        app.close()
    counts = report.counts
    print(
        f"{report.model}: {report.files} files, {counts.updated} indexed, {counts.unchanged} unchanged, "
        f"{counts.removed} removed, {counts.skipped} unreadable; {counts.chunks_embedded} passages embedded "
        f"({counts.tokens} tokens) in {counts.seconds:.1f} s"
    )
    if report.rebuilt:
        print(f"rebuilt: {report.rebuilt}")
    return 0


async def _index(app: App, paths: list[str]) -> search.IndexReport:
    from tqdm import tqdm

    state = ProgressState()
    call = CallContext(state)
    failure: McpOpenError | None = None
    with tqdm(total=0, unit="file", file=sys.stderr, desc="indexing", dynamic_ncols=True) as bar:
        async with anyio.create_task_group() as tg:
            tg.start_soon(_follow, state, bar)
            try:
                report = await app.searcher.index(paths, call)
            except McpOpenError as exc:  # raised here, not wrapped in the task group's ExceptionGroup
                failure = exc
            finally:
                tg.cancel_scope.cancel()
                _show(state, bar)
    if failure is not None:
        raise failure
    return report


def _offline(exc: ModelNotDownloadedError, spec: str, paths: Sequence[str]) -> McpOpenError:
    """The embedding model is not here: how to get it, and how to index with the starter model right now."""
    cause = exc.__cause__ if isinstance(exc.__cause__, ModelNotDownloadedError) else exc
    if cause.why is None:
        return exc
    again = " ".join(["mcp-open index --embed-model starter", *paths])
    return ModelNotDownloadedError(
        f"cannot index: the embedding model {spec} is not downloaded ({cause.what} is not in the Hugging Face "
        f"cache, and {cause.why}). When you are online, run `mcp-open models pull {spec}`; "
        + starter_hint(f"to index offline now, use the starter model: `{again}`")
    )


async def _follow(state: ProgressState, bar: tqdm[None]) -> None:
    while True:
        _show(state, bar)
        await anyio.sleep(BAR_REFRESH_SECONDS)


def _show(state: ProgressState, bar: tqdm[None]) -> None:
    """Mirror the call's progress (files read of files to read) and message in the bar."""
    progress, total, message = state.next_report()
    if total is not None and bar.total != int(total):
        bar.total = int(total)
    bar.n = int(progress)
    bar.set_postfix_str(message.split(", ", 1)[-1] if message else "", refresh=False)
    bar.refresh()


def _roots_of(paths: Sequence[str]) -> list[Path]:
    """Paths typed on the command line are allowed: folders as they are, files by their folder, globs from here."""
    roots = []
    for spec in paths:
        if GLOB_CHARS.intersection(spec):
            roots.append(Path.cwd())
            continue
        path = Path(spec).expanduser().resolve()
        roots.append(path if path.is_dir() else path.parent)
    return roots


def show_status(settings: Settings) -> int:
    """Print every index: model, counts, size and the folders it covers."""
    indexes = search.status(settings.data_path / "index")
    if not indexes:
        print(f"no search index yet in {settings.data_path / 'index'}; run `mcp-open index PATH` or search once")
        return 0
    for entry in indexes:
        print(_describe(entry))
    return 0


def _describe(entry: dict[str, object]) -> str:
    if "error" in entry:
        return f"{entry['file']}: {entry['error']}"
    size = int(str(entry["bytes"])) / 1e6
    lines = [
        f"{entry['model']} ({entry['dimensions']} dimensions): {entry['files']} files, {entry['chunks']} passages, "
        f"{size:.1f} MB in {entry['file']}"
    ]
    roots = entry["roots"]
    assert isinstance(roots, list)
    lines += [f"  {root['path']}  (indexed {root['indexed_at']})" for root in roots]
    return "\n".join(lines)
