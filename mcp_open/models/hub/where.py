"""Where the Hugging Face cache and Hub are, and whether offline mode is on, read from the environment now."""

from __future__ import annotations

import os
from pathlib import Path

from huggingface_hub import constants as hf_constants

_TRUE = {"1", "ON", "YES", "TRUE"}


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


def hub_endpoint() -> str:
    """The Hub's base URL (HF_ENDPOINT, else huggingface_hub's default)."""
    return (os.environ.get("HF_ENDPOINT") or hf_constants.ENDPOINT).rstrip("/")
