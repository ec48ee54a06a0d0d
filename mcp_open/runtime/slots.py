"""Model slots: load on first use, one call at a time per model, unload when idle."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Future
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import anyio

from mcp_open.engines.protocol import Engine, Supervised
from mcp_open.errors import EngineCrashedError, McpOpenError, ModelLoadError, redact
from mcp_open.runtime.calls import CallContext
from mcp_open.runtime.queueing import FifoGate, InflightGate
from mcp_open.settings import Settings

if TYPE_CHECKING:
    from mcp_open.models.ggufinfo import GgufInfo
    from mcp_open.models.gpu import OffloadPlan
    from mcp_open.models.specs import ResolvedModel

log = logging.getLogger(__name__)
LOAD_POLL_SECONDS = 0.05  # how often a call waiting for a load checks whether it is done (or was cancelled)

# A model whose worker dies this many times within CRASH_WINDOW_SECONDS is marked failed instead of restarted.
MAX_CRASHES = 3
CRASH_WINDOW_SECONDS = 300.0


@dataclass
class LoadedModel:
    """A model ready to serve, with everything known about how it got there."""

    engine: Engine
    load_seconds: float
    # Local GGUF models only: where the file came from, its header and the GPU plan.
    resolved: ResolvedModel | None = None
    gguf: GgufInfo | None = None
    plan: OffloadPlan | None = None

    @property
    def name(self) -> str:
        """A short name for results: repo:QUANT for hub models, the file name or served name otherwise."""
        return self.engine.info.name


Loader = Callable[[str, Settings, bool, Callable[[str], None]], LoadedModel]


def short_name(spec: str) -> str:
    """How errors name a model: a local file by its name only (its folder is nobody else's business)."""
    return Path(spec).name if spec.endswith(".gguf") else spec


class ModelSlot:
    """One configured model: its gate, its loaded instance (if any) and its history."""

    def __init__(
        self,
        role: str,
        spec: str,
        settings: Settings,
        *,
        embedding: bool,
        loader: Loader,
        gate: InflightGate | None = None,
        backend: str | None = None,
        local_gguf: bool = False,
    ) -> None:
        self.role = role
        self.spec = spec
        self.settings = settings
        self.embedding = embedding
        self.loader = loader
        self.backend = backend
        self.local_gguf = local_gguf  # a GGUF file loaded by llama.cpp here: preflight can plan it before it loads
        # One call at a time on a local model; a remote server batches concurrent calls itself (up to the gate).
        self.gate: FifoGate | InflightGate = gate or FifoGate(
            f"the {role} model ({short_name(spec)})", settings.max_queue
        )
        self._loading = anyio.Lock()
        self._pending: Future[None] | None = None  # the load in progress, if any
        self.model: LoadedModel | None = None
        self.last_error: str | None = None
        self.loads = 0
        self.last_used = time.monotonic()
        self.crashes: list[float] = []  # when its worker died, within the last CRASH_WINDOW_SECONDS
        self.failure: str | None = None  # set after MAX_CRASHES: no more restarts until the server restarts

    @property
    def state(self) -> str:
        """unloaded, loaded or failed."""
        if self.model is not None:
            return "loaded"
        return "failed" if self.last_error or self.failure else "unloaded"

    @asynccontextmanager
    async def use(self, call: CallContext) -> AsyncIterator[LoadedModel]:
        """Wait our turn, load the model if needed, and hold it for the call."""
        async with self.gate.enter(lambda pos: call.progress.note(f"queued for the {self.role} model: position {pos}")):
            self._drop_if_dead()
            if self.failure:
                raise EngineCrashedError(self.failure, model=self.spec)
            async with self._loading:  # concurrent calls on a remote slot load it once
                if self.model is None:
                    await self._loaded(call)
            assert self.model is not None
            try:
                yield self.model
            except EngineCrashedError as exc:
                self._crashed(exc)
                raise
            finally:
                self.last_used = time.monotonic()
                self._drop_if_dead()

    def _drop_if_dead(self) -> None:
        """Forget a model whose worker process ended (a crash, a cancel that had to kill it): load afresh."""
        engine = self.model.engine if self.model is not None else None
        if isinstance(engine, Supervised) and not engine.alive:
            log.info("the %s model's worker ended; the next call starts a fresh one", self.role)
            engine.close()
            self.model = None

    def _crashed(self, exc: EngineCrashedError) -> None:
        """Count a worker's death; too many in a short time mark the model failed, with the last reason."""
        now = time.monotonic()
        self.crashes = [t for t in self.crashes if now - t < CRASH_WINDOW_SECONDS] + [now]
        self.last_error = str(exc)
        if len(self.crashes) >= MAX_CRASHES:
            minutes = CRASH_WINDOW_SECONDS / 60
            self.failure = (
                f"the {self.role} model {short_name(self.spec)} is marked failed: its worker process died "
                f"{len(self.crashes)} times within {minutes:g} minutes, so it is not restarted again. Fix the cause "
                f"and restart the server (`mcp-open doctor` decodes with each model and names the fix). "
                f"The last crash: {exc}"
            )

    async def _loaded(self, call: CallContext) -> None:
        """Load the model once. A download or a llama.cpp load cannot be interrupted, so it runs in a thread of its
        own: a cancel, --timeout or stop signal answers the waiting call at once, and the load runs on to serve the
        next call (which waits for the same load instead of starting another)."""
        if self._pending is None:
            pending: Future[None] = Future()

            def load() -> None:
                try:
                    self._load(call)
                except BaseException as exc:  # handed to every call waiting for this load
                    pending.set_exception(exc)
                else:
                    pending.set_result(None)

            self._pending = pending
            threading.Thread(target=load, name=f"mcp-open load {self.role}", daemon=True).start()
        pending = self._pending
        while not pending.done():
            await anyio.sleep(LOAD_POLL_SECONDS)
        if self._pending is pending:
            self._pending = None  # a failed load is tried afresh by the next call
        pending.result()

    def _load(self, call: CallContext) -> None:
        """Load (in the load's own thread); a crash of the model's worker process while loading counts as a crash."""
        call.progress.note(f"loading the {self.role} model {self.spec}")
        try:
            self.model = self.loader(self.spec, self.settings, self.embedding, call.progress.note)
        except EngineCrashedError as exc:
            self._crashed(exc)
            raise
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
        if self.backend:
            out["backend"] = redact(self.backend)
        if self.last_error:
            out["last_error"] = self.last_error
        if self.crashes:
            out["worker_crashes"] = len(self.crashes)
        if self.failure:
            out["failure"] = self.failure
        if self.model is not None:
            out.update(describe_loaded(self.model))
        return out


def describe_loaded(m: LoadedModel) -> dict[str, object]:
    """What is known about a loaded model: file, quantisation and GPU plan (local), and counters."""
    info = m.engine.info
    out: dict[str, object] = {"name": info.name, "engine": info.kind, "context": info.n_ctx}
    if m.resolved is not None and m.gguf is not None and m.plan is not None:
        out.update(
            file=str(m.resolved.path),
            source=m.resolved.source,
            quant=m.resolved.quant or m.gguf.quantization,
            note=m.resolved.note,
            size_bytes=m.resolved.size_bytes,
            architecture=m.gguf.architecture,
            layers_on_gpu=m.plan.layers_on_gpu,
            layers_total=m.plan.total_layers,
            offload=m.plan.reason,
        )
    out.update(load_seconds=round(m.load_seconds, 3), chat_template=info.chat, **m.engine.stats())
    if not info.exact_counts:
        out["token_counts"] = "estimated: the server has no tokenize endpoint"
    return out
