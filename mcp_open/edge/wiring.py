"""The composition root: the one place that picks implementations and builds engines, slots, stores and features."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from mcp_open.edge.about import About
from mcp_open.features.accounting.account import Account, Prices
from mcp_open.features.accounting.ledger import ledger_at
from mcp_open.features.accounting.recorder import Recorder
from mcp_open.features.embed.embedder import Embedder
from mcp_open.features.files.folders import Folders
from mcp_open.features.generate.generator import Generator
from mcp_open.features.search.search import Indexes
from mcp_open.features.search.searcher import Searcher
from mcp_open.features.translate.glossaries import GlossaryStore
from mcp_open.features.translate.translator import Translator
from mcp_open.runtime.queueing import InflightGate
from mcp_open.runtime.remote_loading import remote_loader
from mcp_open.runtime.roles import Roles
from mcp_open.runtime.slots import LoadedModel, Loader, ModelSlot
from mcp_open.settings import Settings


@dataclass
class App:
    """Everything one server (or one CLI command) serves from: the features, the models and the ledger."""

    settings: Settings
    roles: Roles
    generator: Generator
    translator: Translator
    embedder: Embedder
    searcher: Searcher
    account: Account
    recorder: Recorder
    about: About

    def unload_idle(self) -> list[str]:
        """Unload models idle past --keep-alive; returns the roles unloaded."""
        if self.settings.keep_alive is None or self.recorder.busy:  # a tokenizer may be counting a call
            return []
        return self.roles.unload_idle(self.settings.keep_alive * 60)

    def close(self) -> None:
        """Record the calls still queued (with their models' tokenizers), then free every model and index."""
        self.recorder.close()
        self.roles.unload()
        self.searcher.close()


def load_gguf(spec: str, settings: Settings, embedding: bool, on_progress: Callable[[str], None]) -> LoadedModel:
    """Load a local GGUF with llama.cpp in a worker process of its own (this process never imports llama_cpp)."""
    from mcp_open.runtime.loading import load_local

    return load_local(spec, settings, embedding, on_progress)


def compose(settings: Settings, loader: Loader | None = None) -> App:
    """Build the app from settings; `loader` replaces llama.cpp for the local models (tests inject scripted ones)."""
    slots = _Slots(settings, loader)
    named = settings.model_fields_set
    chat = slots.slot("generation", settings.model, settings.backend, "model" in named)
    same = settings.translation_model == settings.model and settings.translation_backend == settings.backend
    translator = (
        chat
        if same
        else slots.slot(
            "translation",
            settings.translation_model,
            settings.translation_backend,
            bool({"model", "translate_model"} & named),
        )
    )
    embedder = slots.slot("embedding", settings.embed_model, settings.embed_backend, "embed_model" in named)
    roles = Roles(chat, translator, embedder)
    folders = Folders(settings.allow_dirs, settings.max_file_mb, settings.max_files, settings.allow_secret_files)
    account = Account(
        ledger_at(settings.data_path), Prices(settings.price_input, settings.price_output), roles.engine_named
    )
    recorder = Recorder(account)
    return App(
        settings=settings,
        roles=roles,
        generator=Generator(chat, folders, settings.max_tokens),
        translator=Translator(translator, folders, settings.max_tokens, GlossaryStore(settings.data_path)),
        embedder=Embedder(embedder, folders),
        searcher=Searcher(embedder, Indexes(settings.data_path / "index"), folders),
        account=account,
        recorder=recorder,
        about=About(settings, roles, account, recorder, folders, list(slots.gates)),
    )


class _Slots:
    """Makes model slots: local ones with llama.cpp (or the injected loader), remote ones sharing a gate per server."""

    def __init__(self, settings: Settings, loader: Loader | None) -> None:
        self.settings = settings
        self.loader = loader
        self.gates: dict[str, InflightGate] = {}  # one --max-inflight limit per backend server

    def slot(self, role: str, spec: str, backend: str | None, named: bool) -> ModelSlot:
        """A local model slot, or one on a backend server (sharing that server's in-flight limit)."""
        embedding = role == "embedding"
        if backend is None:
            local = self.loader or load_gguf
            return ModelSlot(
                role, spec, self.settings, embedding=embedding, loader=local, local_gguf=self.loader is None
            )
        if backend not in self.gates:
            self.gates[backend] = InflightGate(f"the backend {backend}", self.settings.max_inflight)
        loader = remote_loader(backend, explicit=named)
        return ModelSlot(
            role, spec, self.settings, embedding=embedding, loader=loader, gate=self.gates[backend], backend=backend
        )
