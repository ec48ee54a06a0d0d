"""Model slots: load on first use, one call at a time per model, unload when idle."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mcp_open.calls import CallContext
from mcp_open.engine import EngineConfig, LlamaEngine, supports_gpu_offload
from mcp_open.errors import McpOpenError, ModelLoadError
from mcp_open.gpu import OffloadPlan, free_vram_bytes, kv_cache_bytes, plan_offload
from mcp_open.queueing import FifoGate
from mcp_open.settings import Settings

if TYPE_CHECKING:
    from mcp_open.ggufinfo import GgufInfo
    from mcp_open.hub import ResolvedModel

log = logging.getLogger(__name__)

# Architectures whose embedding models pool on the last token (Qwen3-Embedding and kin).
LAST_TOKEN_POOLING_ARCHS = ("qwen2", "qwen3")


@dataclass
class LoadedModel:
    """A model in memory with everything known about how it got there."""

    engine: LlamaEngine
    resolved: ResolvedModel
    info: GgufInfo
    plan: OffloadPlan
    load_seconds: float

    @property
    def name(self) -> str:
        """A short name for results: repo:QUANT for hub models, the file name otherwise."""
        if self.resolved.repo and self.resolved.quant:
            return f"{self.resolved.repo}:{self.resolved.quant}"
        return Path(self.resolved.path).name


Loader = Callable[[str, Settings, bool, Callable[[str], None]], LoadedModel]


def default_pooling(info: GgufInfo) -> str:
    """The pooling an embedding model wants: its own, else last-token for Qwen, mean otherwise."""
    if info.pooling_type and info.pooling_type != "none":
        return info.pooling_type
    return "last" if info.architecture in LAST_TOKEN_POOLING_ARCHS else "mean"


def load_model(spec: str, settings: Settings, embedding: bool, on_progress: Callable[[str], None]) -> LoadedModel:
    """Resolve, inspect, plan offload and load one model (blocking)."""
    # Imported on first load so the MCP handshake never pays for huggingface_hub and gguf.
    from mcp_open.ggufinfo import read_info
    from mcp_open.hub import resolve

    start = time.perf_counter()
    resolved = resolve(spec, on_progress=on_progress)
    on_progress(f"loading {Path(resolved.path).name}")
    info = read_info(resolved.path)
    n_ctx = min(settings.ctx, info.context_length or settings.ctx)
    kv_width = info.kv_width or info.embedding_length or 0
    plan = plan_offload(
        settings.gpu_layers,
        supports_offload=supports_gpu_offload(),
        total_layers=info.block_count or 0,
        model_bytes=resolved.size_bytes,
        kv_bytes=kv_cache_bytes(n_ctx, info.block_count or 0, kv_width, settings.kv_cache_type),
        free_vram=free_vram_bytes(settings.main_gpu) if settings.gpu_layers == "auto" else None,
    )
    if plan.warning:
        log.warning(plan.warning)
    config = EngineConfig(
        n_ctx=n_ctx,
        n_gpu_layers=plan.n_gpu_layers,
        n_threads=settings.threads,
        flash_attn=settings.flash_attn,
        kv_cache_type=settings.kv_cache_type,
        main_gpu=settings.main_gpu,
        tensor_split=settings.tensor_split,
        embedding=embedding,
        pooling=default_pooling(info) if embedding else None,
        verbose=settings.verbose,
    )
    engine = LlamaEngine(str(resolved.path), config)
    seconds = time.perf_counter() - start
    log.info("loaded %s in %.2f s (%s; %s)", resolved.path, seconds, plan.reason, f"ctx {n_ctx}")
    return LoadedModel(engine, resolved, info, plan, seconds)


class ModelSlot:
    """One configured model: its gate, its loaded instance (if any) and its history."""

    def __init__(
        self, role: str, spec: str, settings: Settings, *, embedding: bool, loader: Loader = load_model
    ) -> None:
        self.role = role
        self.spec = spec
        self.settings = settings
        self.embedding = embedding
        self.loader = loader
        self.gate = FifoGate(f"the {role} model ({spec})", settings.max_queue)
        self.model: LoadedModel | None = None
        self.last_error: str | None = None
        self.loads = 0
        self.last_used = time.monotonic()

    @property
    def state(self) -> str:
        """unloaded, loaded or failed."""
        if self.model is not None:
            return "loaded"
        return "failed" if self.last_error else "unloaded"

    @asynccontextmanager
    async def use(self, call: CallContext) -> AsyncIterator[LoadedModel]:
        """Wait our turn, load the model if needed, and hold it for the call."""
        async with self.gate.enter(lambda pos: call.progress.note(f"queued for the {self.role} model: position {pos}")):
            if self.model is None:
                await call.run_in_thread(lambda: self._load(call))
            assert self.model is not None
            try:
                yield self.model
            finally:
                self.last_used = time.monotonic()

    def _load(self, call: CallContext) -> None:
        """Load in a worker thread; the model stays loaded even if the call that asked is cancelled."""
        call.progress.note(f"loading the {self.role} model {self.spec}")
        try:
            self.model = self.loader(self.spec, self.settings, self.embedding, call.progress.note)
        except McpOpenError as exc:
            self.last_error = str(exc)
            raise
        except Exception as exc:  # network, disk or llama.cpp failures while loading
            self.last_error = f"{type(exc).__name__}: {exc}"
            raise ModelLoadError(
                f"could not load the {self.role} model {self.spec}: {self.last_error}. Check the spec with "
                f"`mcp-open models info {self.spec}`, or pick another model."
            ) from exc
        self.last_error = None
        self.loads += 1

    def unload_if_idle(self, idle_seconds: float) -> bool:
        """Free the model if nobody used it for idle_seconds and nobody is using or awaiting it."""
        if self.model is None or time.monotonic() - self.last_used < idle_seconds:
            return False
        if not self.gate.try_enter():
            return False
        try:
            self.unload()
        finally:
            self.gate.leave()
        return True

    def unload(self) -> None:
        """Free the model now."""
        if self.model is not None:
            log.info("unloading the %s model %s", self.role, self.spec)
            self.model.engine.close()
            self.model = None

    def describe(self) -> dict[str, object]:
        """What the info resource shows for this slot."""
        out: dict[str, object] = {"role": self.role, "spec": self.spec, "state": self.state, "loads": self.loads}
        if self.last_error:
            out["last_error"] = self.last_error
        if self.model is not None:
            m = self.model
            out.update(
                file=str(m.resolved.path),
                source=m.resolved.source,
                quant=m.resolved.quant or m.info.quantization,
                note=m.resolved.note,
                size_bytes=m.resolved.size_bytes,
                architecture=m.info.architecture,
                context=m.engine.n_ctx,
                layers_on_gpu=m.plan.layers_on_gpu,
                layers_total=m.plan.total_layers,
                offload=m.plan.reason,
                load_seconds=round(m.load_seconds, 3),
                chat_template=m.engine.chat_template is not None,
                tokens_generated=m.engine.tokens_generated,
                prompt_tokens_evaluated=m.engine.prompt_tokens_evaluated,
                embed_batches=m.engine.embed_batches,
                texts_embedded=m.engine.texts_embedded,
            )
        return out
