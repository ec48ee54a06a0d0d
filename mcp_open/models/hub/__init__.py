"""Model specs to local GGUF files through the Hugging Face cache and Hub: the only huggingface_hub user.

resolution (spec -> file), fetching (Hub listing and downloads), cache (what is on disk, via huggingface_hub's
cache API), reach (is the Hub there), progress (download progress), listing (`models list`), where (paths, env).
"""

from mcp_open.models.hub.cache import cached_files
from mcp_open.models.hub.fetching import STARTER_HINT, download_blocker, not_downloaded
from mcp_open.models.hub.listing import models_table
from mcp_open.models.hub.resolution import catalog_choice, pull, resolve
from mcp_open.models.hub.where import hub_cache_dir, hub_endpoint, is_offline
from mcp_open.models.quants import DEFAULT_QUANT, quant_label
from mcp_open.models.specs import ModelSpec, ResolvedModel, looks_like_path, parse_spec

__all__ = [
    "DEFAULT_QUANT",
    "STARTER_HINT",
    "ModelSpec",
    "ResolvedModel",
    "cached_files",
    "catalog_choice",
    "download_blocker",
    "hub_cache_dir",
    "hub_endpoint",
    "is_offline",
    "looks_like_path",
    "models_table",
    "not_downloaded",
    "parse_spec",
    "pull",
    "quant_label",
    "resolve",
]
