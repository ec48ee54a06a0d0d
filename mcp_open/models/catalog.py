"""The curated model catalog: aliases for Qwen GGUF repositories and the offline starter model."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from mcp_open.errors import ConfigError

REPO_CATALOG = Path(__file__).resolve().parents[2] / "models" / "catalog.json"


class CatalogEntry(BaseModel):
    """One curated model: where its files live and what it is."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    alias: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]*$", description="Short name, lower case.")
    source: Literal["hub", "package"] = Field("hub", description="Hugging Face Hub repo or a Python package.")
    repo: str | None = Field(None, description="Hub repo id (owner/name) for hub entries.")
    package: str | None = Field(None, description="Importable module with assemble() for package entries.")
    files: dict[str, str | list[str]] = Field(description="Quant -> file name, or the shards of a split GGUF.")
    default_quant: str = Field(description="Quant used when the spec names none.")
    role: Literal["chat", "embed", "any"]
    params: str = Field(description="Parameter count, e.g. '4.0B'.")
    active_params: str | None = Field(None, description="Active parameters per token for MoE models.")
    context_length: int = Field(gt=0, description="Native context length in tokens.")
    embedding_length: int | None = Field(None, gt=0)
    size_gb: dict[str, float] = Field(default_factory=dict, description="Approximate size per quant (1e9 B).")
    license: str
    description: str = ""
    notes: str = ""

    @model_validator(mode="after")
    def _check_consistency(self) -> CatalogEntry:
        """Hub entries need a repo, package entries a package, and the default quant needs a file."""
        if self.source == "hub" and not self.repo:
            raise ValueError(f"{self.alias}: a hub entry needs 'repo'")
        if self.source == "package" and not self.package:
            raise ValueError(f"{self.alias}: a package entry needs 'package'")
        if self.files_for(self.default_quant) is None:
            raise ValueError(f"{self.alias}: default_quant {self.default_quant} has no entry in 'files'")
        return self

    @property
    def quants(self) -> list[str]:
        """The quantisations this entry lists, in catalog order."""
        return list(self.files)

    def files_for(self, quant: str) -> list[str] | None:
        """The file names for a quant (case-insensitive), first shard first; None if not listed."""
        for name, files in self.files.items():
            if name.upper() == quant.upper():
                return [files] if isinstance(files, str) else list(files)
        return None

    def canonical_quant(self, quant: str) -> str | None:
        """The catalog's spelling of a quant given in any case."""
        return next((name for name in self.files if name.upper() == quant.upper()), None)


class _CatalogFile(BaseModel):
    """The catalog file's top level."""

    model_config = ConfigDict(extra="forbid")

    schema_version: int = Field(alias="schema")
    notes: list[str] = Field(default_factory=list)
    models: list[CatalogEntry]


def catalog_path() -> Path:
    """Where the catalog is read from: the packaged copy if installed, else the repository's."""
    packaged = resources.files("mcp_open") / "catalog.json"
    return Path(str(packaged)) if packaged.is_file() else REPO_CATALOG


def read_catalog(path: Path) -> dict[str, CatalogEntry]:
    """Parse and validate a catalog file into alias -> entry."""
    try:
        parsed = _CatalogFile.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except OSError as err:
        raise ConfigError(f"cannot read the model catalog {path}: {err}") from err
    except (ValueError, ValidationError) as err:
        raise ConfigError(f"the model catalog {path} is invalid: {err}") from err
    entries: dict[str, CatalogEntry] = {}
    for entry in parsed.models:
        if entry.alias in entries:
            raise ConfigError(f"the model catalog {path} lists alias {entry.alias!r} twice")
        entries[entry.alias] = entry
    return entries


@cache
def load_catalog() -> dict[str, CatalogEntry]:
    """The catalog, read once per process."""
    return read_catalog(catalog_path())


def lookup(alias: str) -> CatalogEntry | None:
    """The catalog entry for an alias (case-insensitive), or None."""
    return load_catalog().get(alias.strip().lower())
