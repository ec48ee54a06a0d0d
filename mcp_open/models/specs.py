"""Model spec parsing: path | alias[:QUANT] | owner/repo[:QUANT], with Hub URL prefixes stripped."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from mcp_open.errors import ConfigError

SpecKind = Literal["path", "alias", "hub"]

_HUB_REPO = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
_PATH_PREFIXES = ("/", "./", "../", "~", ".\\", "..\\", "\\")
_HUB_PREFIXES = ("https://huggingface.co/", "huggingface.co/", "hf.co/", "hf://")


@dataclass(frozen=True)
class ModelSpec:
    """A model spec split into its kind, its target (path, alias or repo id) and an optional quant."""

    text: str
    kind: SpecKind
    target: str
    quant: str | None = None


def looks_like_path(text: str) -> bool:
    """Whether a spec is meant as a file path rather than an alias or owner/repo."""
    return (
        text.lower().endswith(".gguf")
        or text.startswith(_PATH_PREFIXES)
        or text.count("/") > 1
        or "\\" in text
        or re.match(r"^[A-Za-z]:[\\/]", text) is not None
    )


def _split_quant(text: str) -> tuple[str, str | None]:
    """'name:Q5_K_M' -> ('name', 'Q5_K_M')."""
    name, sep, quant = text.rpartition(":")
    if not sep or "/" in quant:
        return text, None
    if not quant or not name:
        raise ConfigError(f"model spec {text!r} has an empty name or quant around ':'; write e.g. qwen3-4b:Q5_K_M")
    return name, quant.upper()


def _strip_hub_prefix(text: str) -> str:
    """'hf.co/owner/repo:Q4_K_M' (as Ollama writes it) -> 'owner/repo:Q4_K_M'."""
    prefix = next((p for p in _HUB_PREFIXES if text.lower().startswith(p)), "")
    return text[len(prefix) :]


def parse_spec(spec: str) -> ModelSpec:
    """Split a model spec: path | alias[:QUANT] | owner/repo[:QUANT]."""
    given = spec.strip()
    if not given:
        raise ConfigError(
            "empty model spec; pass a .gguf path, an alias like qwen3-4b or a repo like Qwen/Qwen3-4B-GGUF"
        )
    bare = _strip_hub_prefix(given)
    if bare == given and (looks_like_path(given) or Path(given).expanduser().is_file()):
        return ModelSpec(given, "path", given)
    name, quant = _split_quant(bare)
    if _HUB_REPO.match(name):
        return ModelSpec(given, "hub", name, quant)
    return ModelSpec(given, "alias", name.lower(), quant)


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
