"""The one settings class: defaults < MCP_OPEN_* environment < command-line flags."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from mcp_open.models.gpu import GpuLayers, parse_gpu_layers

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
MIN_TOKEN_CHARS = 16  # bearer tokens for binds other than loopback

KvCacheType = Literal["f16", "q8_0", "q4_0"]
Transport = Literal["stdio", "http"]
ToolName = Literal["generate", "translate", "embed", "rank", "search", "languages"]


def backend_root(url: str) -> str:
    """A backend URL without a trailing slash or /v1: the engine adds /v1/... and finds /tokenize at the root."""
    root = url.strip().rstrip("/")
    if not root.startswith(("http://", "https://")):
        raise ValueError(f"backend URL {url!r} must start with http:// or https://, e.g. http://gpu-box:8000/v1")
    return root.removesuffix("/v1")


class Settings(BaseSettings):
    """Everything `mcp-open serve` can be told, each field also an MCP_OPEN_* variable."""

    model_config = SettingsConfigDict(env_prefix="MCP_OPEN_", extra="ignore")

    model: str = Field(
        "qwen3-4b",
        description="Generation model: a local .gguf path, a catalog alias (qwen3-4b, qwen3-8b:Q8_0, starter) "
        "or a hub spec owner/repo[:QUANT].",
    )
    embed_model: str = Field(
        "qwen3-embedding-0.6b",
        description="Embedding model, in the same forms as --model.",
    )
    translate_model: str | None = Field(
        None, description="Model for translate; defaults to the generation model (same instance)."
    )
    backend: str | None = Field(
        None,
        description="OpenAI-compatible server (vLLM, SGLang, llama-server) for generation and translation, "
        "e.g. http://gpu-box:8000/v1; --model then names a model it serves.",
    )
    embed_backend: str | None = Field(
        None, description="OpenAI-compatible server for embed and rank (not implied by --backend)."
    )
    translate_backend: str | None = Field(
        None, description="OpenAI-compatible server for translate (default: --backend)."
    )
    backend_api_key: str | None = Field(None, description="Bearer key the backends expect.", repr=False)
    backend_chat: bool = Field(
        True, description="Backend models take chat turns; --no-backend-chat sends raw text (base models)."
    )
    max_inflight: int = Field(32, ge=1, le=10_000, description="Calls in flight per backend before 'busy'.")
    ctx: int = Field(8192, ge=256, le=1_048_576, description="Context length in tokens (capped at the model's own).")
    gpu_layers: GpuLayers = Field(
        "auto", description="Layers to offload to the GPU: a number, 'all' or 'auto' (all that fit)."
    )
    threads: int | None = Field(None, ge=1, le=1024, description="CPU threads for decoding (default: half the cores).")
    flash_attn: bool = Field(False, description="Use flash attention (GPU builds).")
    draft_tokens: int | None = Field(
        None,
        ge=0,
        le=64,
        description="Speculative decoding: tokens guessed from the prompt and files and checked in one batch, "
        "same output, faster rewrites on a GPU (0: off; default 8 with GPU layers, off on a CPU).",
    )
    kv_cache_type: KvCacheType = Field("f16", description="KV cache element type: f16, q8_0 or q4_0.")
    main_gpu: int = Field(0, ge=0, le=64, description="GPU that holds the model when not split.")
    tensor_split: Annotated[list[float] | None, NoDecode] = Field(
        None, description="Share of the model per GPU, comma separated (e.g. 3,1)."
    )
    keep_alive: float | None = Field(
        None, gt=0, description="Unload a model after this many idle minutes; the next call reloads it."
    )
    max_tokens: int = Field(4096, ge=1, le=262_144, description="Most tokens one call may ask to generate.")
    max_queue: int = Field(16, ge=0, le=10_000, description="Calls that may wait per model before 'busy'.")
    timeout: float | None = Field(
        900.0, ge=0, description="Seconds one tool call may run before it is stopped (0: no limit)."
    )
    price_input: float = Field(
        5.0, ge=0, description="Reference frontier price, USD per million input tokens, for the usage account."
    )
    price_output: float = Field(
        25.0, ge=0, description="Reference frontier price, USD per million output tokens, for the usage account."
    )
    transport: Transport = Field("stdio", description="stdio (for desktop clients) or http (streamable HTTP).")
    host: str = Field("127.0.0.1", description="HTTP bind address.")
    port: int = Field(8000, ge=0, le=65535, description="HTTP port.")
    auth_token: str | None = Field(None, description="Bearer token HTTP clients must send.", repr=False)
    session_idle: float = Field(
        1800.0, gt=0, le=604_800, description="Seconds an idle HTTP session is kept (then the client starts anew)."
    )
    max_sessions: int = Field(1000, ge=1, le=1_000_000, description="Most HTTP sessions open at once.")
    request_seconds: float = Field(
        10.0, gt=0, le=3600, description="Seconds an HTTP request may take to arrive in full before it is dropped."
    )
    verbose: bool = Field(False, description="Log our steps and llama.cpp's native logs to stderr.")
    data_dir: Path | None = Field(
        None, description="Where the usage ledger and search indexes live (default: the user data directory)."
    )
    allow_dirs: Annotated[list[Path], NoDecode] = Field(
        default_factory=list,
        description="Folder the file tools may read and write (repeatable; env: comma or os.pathsep separated).",
    )
    max_file_mb: float = Field(20.0, gt=0, le=100_000, description="Largest file the file tools read, in MB.")
    max_files: int = Field(1000, ge=1, le=1_000_000, description="Most files one glob or folder may match.")
    tools: Annotated[list[ToolName], NoDecode] = Field(
        default_factory=list,
        description="Offer only these tools, comma separated (e.g. search,rank); default: all "
        "(generate, translate, embed, rank, search, languages).",
    )
    read_only: bool = Field(
        False, description="Offer no way to write files: no output_path or overwrite, every tool marked read-only."
    )
    max_result_tokens: int = Field(
        25_000,
        ge=100,
        le=10_000_000,
        description="Largest tool result, in estimated tokens, the calling model is sent (Claude Code cuts at 25,000).",
    )
    allow_secret_files: bool = Field(
        False,
        description="Let the file tools read, index and write names that usually hold secrets (.env, .git/, "
        ".ssh/, *.pem, *.key, id_*, credentials*, ...); off by default.",
    )

    @field_validator("allow_dirs", mode="before")
    @classmethod
    def _split_allow_dirs(cls, value: object) -> object:
        if isinstance(value, str):
            value = [value]
        if isinstance(value, list | tuple):
            parts = [p for item in value for p in str(item).replace(os.pathsep, ",").split(",")]
            return [p.strip() for p in parts if p.strip()]
        return value

    @field_validator("tools", mode="before")
    @classmethod
    def _split_tools(cls, value: object) -> object:
        if isinstance(value, str):
            value = [value]
        if isinstance(value, list | tuple):
            return list(dict.fromkeys(p.strip() for item in value for p in str(item).split(",") if p.strip()))
        return value

    @field_validator("gpu_layers", mode="before")
    @classmethod
    def _parse_gpu_layers(cls, value: object) -> GpuLayers:
        return parse_gpu_layers(value)

    @field_validator("timeout", mode="after")
    @classmethod
    def _zero_means_no_timeout(cls, value: float | None) -> float | None:
        return value or None

    @field_validator("tensor_split", mode="before")
    @classmethod
    def _parse_tensor_split(cls, value: object) -> object:
        if isinstance(value, str):
            return [float(part) for part in value.split(",") if part.strip()] or None
        return value

    @model_validator(mode="after")
    def _check_http_auth(self) -> Settings:
        if self.transport != "http" or self.host in LOOPBACK_HOSTS:
            return self
        if not self.auth_token:
            raise ValueError(
                f"refusing to serve HTTP on {self.host} without a bearer token: anyone who can reach it could "
                "use your GPU. Set --auth-token (or MCP_OPEN_AUTH_TOKEN), or bind --host 127.0.0.1."
            )
        if len(self.auth_token.strip()) < MIN_TOKEN_CHARS:
            raise ValueError(
                f"--auth-token is {len(self.auth_token.strip())} characters; a server on {self.host} needs at least "
                f"{MIN_TOKEN_CHARS}, or it can be guessed. Make one with "
                "`python -c 'import secrets; print(secrets.token_urlsafe(24))'`, or bind --host 127.0.0.1."
            )
        return self

    @property
    def data_path(self) -> Path:
        """The data directory in force."""
        if self.data_dir is not None:
            return self.data_dir.expanduser()
        from mcp_open.store.db import default_data_dir

        return default_data_dir()

    @field_validator("backend", "embed_backend", "translate_backend", mode="after")
    @classmethod
    def _check_backend_url(cls, value: str | None) -> str | None:
        return backend_root(value) if value else None

    @property
    def translation_backend(self) -> str | None:
        """The server translate uses, if any."""
        return self.translate_backend or self.backend

    @property
    def translation_model(self) -> str:
        """The spec translate uses."""
        return self.translate_model or self.model
