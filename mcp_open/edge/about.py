"""What the server says about itself: the info resource and command, and the lines printed at start."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from mcp_open import __version__
from mcp_open.errors import StoreError
from mcp_open.features.accounting.account import Account
from mcp_open.features.accounting.recorder import Recorder
from mcp_open.features.files.folders import Folders
from mcp_open.models.gpu import GpuFacts
from mcp_open.runtime import environment, preflight
from mcp_open.runtime.remote_loading import describe_backend
from mcp_open.runtime.roles import Roles
from mcp_open.settings import Settings

RECORD_WAIT_SECONDS = 1.0  # the info resource waits at most this long for calls still being recorded


class About:
    """Version, build and GPU facts, each model's state or plan, the ledger's totals and the limits."""

    def __init__(
        self,
        settings: Settings,
        roles: Roles,
        account: Account,
        recorder: Recorder,
        folders: Folders,
        backends: Sequence[str] = (),
        gpu_facts: Callable[[Settings], GpuFacts] = environment.gpu_facts,
        build_features: Callable[[], dict[str, object]] = environment.build_features,
    ) -> None:
        self.settings = settings
        self.roles = roles
        self.account = account
        self.recorder = recorder
        self.folders = folders
        self.backend_urls = list(backends)
        self._read_gpu_facts = gpu_facts
        self._build_features = build_features
        self._gpu_facts: GpuFacts | None = None

    def info(self, *, probe_backends: bool = False) -> dict[str, object]:
        """Version, llama.cpp build features, the GPU answer, each model's state or plan, and (probing) what each
        backend serves."""
        backends = {"backends": self.backends()} if probe_backends and self.backend_urls else {}
        return {
            **backends,
            "version": __version__,
            **preflight.report(self.roles.slots, self.gpu_facts(), self._build_features()),
            "savings": self._usage_totals(),
            "limits": {
                "max_tokens": self.settings.max_tokens,
                "max_queue": self.settings.max_queue,
                "max_inflight": self.settings.max_inflight,
                "timeout_seconds": self.settings.timeout,
                "keep_alive_minutes": self.settings.keep_alive,
            },
        }

    def backends(self) -> list[dict[str, object]]:
        """What each configured backend server offers (blocking: asks each one)."""
        return [describe_backend(url, self.settings.backend_api_key) for url in self.backend_urls]

    def gpu_facts(self) -> GpuFacts:
        """The build and GPUs, read once (they do not change while serving)."""
        if self._gpu_facts is None:
            self._gpu_facts = self._read_gpu_facts(self.settings)
        return self._gpu_facts

    def startup_warnings(self) -> list[str]:
        """What the operator must hear at start: models that cannot resolve, the GPU answer when not a plain yes,
        allowed folders that do not exist."""
        missing = [f"--allow-dir {path} is not a folder; it is ignored" for path in self.folders.sandbox().missing]
        return [*preflight.startup_lines(self.roles.slots, self.gpu_facts()), *missing]

    def _usage_totals(self) -> dict[str, object]:
        """The ledger's totals, once the calls still being recorded are in."""
        self.recorder.flush(timeout=RECORD_WAIT_SECONDS)
        try:
            summary = self.account.summary()
        except StoreError as exc:  # the info resource still answers, and says what is wrong with the ledger
            summary = {"error": str(exc)}
        if self.recorder.kept:
            summary["kept_calls"] = self.recorder.kept
            summary["ledger_problem"] = self.recorder.problem
        return summary
