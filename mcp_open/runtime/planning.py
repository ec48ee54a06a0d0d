"""What loading a configured model would do, found without loading it: file, quantisation, context, KV cache, GPU."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path

from mcp_open.errors import McpOpenError, ModelNotDownloadedError
from mcp_open.models.ggufinfo import GgufInfo, read_info
from mcp_open.models.gpu import GpuFacts, OffloadPlan, kv_cache_bytes, plan_offload
from mcp_open.models.hub import ResolvedModel, catalog_choice, download_blocker, not_downloaded, parse_spec, resolve
from mcp_open.settings import Settings


@dataclass(frozen=True)
class Layout:
    """Context, KV cache and GPU layers for one model file on this machine."""

    n_ctx: int
    kv_bytes: int
    offload: OffloadPlan


@dataclass(frozen=True)
class ModelPlan:
    """One configured model as it would load now, or why it cannot."""

    role: str
    spec: str
    resolved: ResolvedModel | None = None
    gguf: GgufInfo | None = None
    layout: Layout | None = None
    missing: str | None = None  # valid, but not on this machine: what happens about it
    problem: str | None = None  # cannot be served as configured: what to do
    expected: dict[str, object] = field(default_factory=dict)  # catalog facts for a model not downloaded

    def describe(self) -> dict[str, object]:
        """The plan as the info command and resource show it."""
        out: dict[str, object] = {"file": str(self.resolved.path) if self.resolved else "not downloaded"}
        if self.problem:
            out.update(file=None, problem=self.problem)
        if self.missing:
            out["missing"] = self.missing
        out.update(self.expected)
        if self.resolved is not None:
            out.update(source=self.resolved.source, quant=self.resolved.quant, size_bytes=self.resolved.size_bytes)
            if self.resolved.note:
                out["note"] = self.resolved.note
        if self.gguf is not None and self.layout is not None:
            out.update(_layout_fields(self.gguf, self.layout))
        return out


def _layout_fields(info: GgufInfo, layout: Layout) -> dict[str, object]:
    """Header and layout facts for describe()."""
    return {
        "quant": info.quantization,
        "architecture": info.architecture,
        "context": layout.n_ctx,
        "kv_cache_bytes": layout.kv_bytes,
        "planned_gpu_layers": layout.offload.layers_on_gpu,
        "layers_total": layout.offload.total_layers,
        "offload": layout.offload.reason,
    }


def layout_for(resolved: ResolvedModel, info: GgufInfo, settings: Settings, facts: GpuFacts) -> Layout:
    """Context (capped at the model's), KV cache bytes and the offload plan for a resolved file."""
    n_ctx = min(settings.ctx, info.context_length or settings.ctx)
    layers = info.block_count or 0
    kv_bytes = kv_cache_bytes(n_ctx, layers, info.kv_width or info.embedding_length or 0, settings.kv_cache_type)
    free = None
    if settings.gpu_layers == "auto" and facts.cards and settings.main_gpu < len(facts.cards):
        free = facts.cards[settings.main_gpu].free_bytes
    offload = plan_offload(
        settings.gpu_layers,
        supports_offload=facts.can_offload,
        total_layers=layers,
        model_bytes=resolved.size_bytes,
        kv_bytes=kv_bytes,
        free_vram=free,
    )
    return Layout(n_ctx, kv_bytes, offload)


@functools.lru_cache(maxsize=32)
def _header(path: Path, size: int, mtime_ns: int) -> GgufInfo:
    """A GGUF header, read once per file version (a large vocabulary takes tens of ms; info is read often)."""
    return read_info(path)


def read_header(path: Path) -> GgufInfo:
    """The header of a GGUF file, cached while the file is unchanged."""
    stat = path.stat()
    return _header(path, stat.st_size, stat.st_mtime_ns)


def plan_model(role: str, spec: str, settings: Settings, facts: GpuFacts) -> ModelPlan:
    """Resolve a spec without downloading or loading, and plan its layout."""
    try:
        resolved = resolve(spec, download=False)
    except ModelNotDownloadedError as err:
        return _not_downloaded(role, spec, settings, err)
    except McpOpenError as err:
        return ModelPlan(role, spec, problem=str(err))
    try:
        info = read_header(resolved.path)
    except (OSError, ValueError) as err:
        problem = f"{resolved.path} is not a readable GGUF file ({err}); pass a .gguf model file"
        return ModelPlan(role, spec, resolved, problem=problem)
    return ModelPlan(role, spec, resolved, info, layout_for(resolved, info, settings, facts))


def _not_downloaded(role: str, spec: str, settings: Settings, err: ModelNotDownloadedError) -> ModelPlan:
    """A valid spec whose file is not here: downloaded on first use, or blocked (offline, Hub unreachable)."""
    expected = _catalog_facts(spec, settings)
    if err.what is None:
        return ModelPlan(role, spec, missing=str(err), expected=expected)  # a packaged model, assembled on first use
    blocker = download_blocker()
    if blocker is None:
        size = f" ({expected['size_gb']} GB)" if "size_gb" in expected else ""
        missing = f"the first call downloads it{size}; `mcp-open models pull {spec}` does it now"
        return ModelPlan(role, spec, missing=missing, expected=expected)
    return ModelPlan(role, spec, problem=str(not_downloaded(spec, err.what, blocker)), expected=expected)


def _catalog_facts(spec: str, settings: Settings) -> dict[str, object]:
    """Quantisation, size and context a catalog alias promises before its file is here."""
    parsed = parse_spec(spec)
    if parsed.kind != "alias":
        return {}
    try:
        entry, quant = catalog_choice(parsed)
    except McpOpenError:
        return {}
    facts: dict[str, object] = {"quant": quant, "context": min(settings.ctx, entry.context_length)}
    if quant in entry.size_gb:
        facts["size_gb"] = entry.size_gb[quant]
    return facts
