"""Remote roles: a model served by an OpenAI-compatible server becomes an engine, and servers describe themselves."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx2

from mcp_open.engines.openai.http import make_client
from mcp_open.engines.openai.remote import RemoteConfig, RemoteEngine, context_of, served_models
from mcp_open.errors import RemoteEngineError, redact
from mcp_open.runtime.slots import LoadedModel, Loader
from mcp_open.settings import Settings


def remote_loader(url: str, *, explicit: bool) -> Loader:
    """A loader for one role on the server at url; explicit: the model name was given, not a default."""

    def load(spec: str, settings: Settings, embedding: bool, on_progress: Callable[[str], None]) -> LoadedModel:
        return load_remote(url, spec, settings, embedding, on_progress, explicit=explicit)

    return load


def load_remote(
    url: str,
    spec: str,
    settings: Settings,
    embedding: bool,
    on_progress: Callable[[str], None],
    *,
    explicit: bool = True,
) -> LoadedModel:
    """Connect to the server, check it serves the model (the only one it serves, if none was named), count tokens."""
    start = time.perf_counter()
    on_progress(f"connecting to {redact(url)}")
    name = spec if explicit else _only_model(url, settings) or spec
    config = RemoteConfig(
        base_url=url,
        model=name,
        api_key=settings.backend_api_key,
        chat=settings.backend_chat,
        n_ctx=settings.ctx,
        embedding=embedding,
        max_connections=settings.max_inflight,
    )
    return LoadedModel(RemoteEngine(config), time.perf_counter() - start)


def _only_model(url: str, settings: Settings) -> str | None:
    """The model a server serves when it serves exactly one (so --model may be left out)."""
    with make_client(url, settings.backend_api_key, 1) as client:
        models = served_models(client, url)
    return str(models[0]["id"]) if len(models) == 1 else None


def describe_backend(url: str, api_key: str | None) -> dict[str, object]:
    """What a server offers (for `mcp-open info`): its models and their context windows, or why it cannot say."""
    try:
        with make_client(url, api_key, 1) as client:
            models = served_models(client, url)
    except (RemoteEngineError, httpx2.HTTPError) as exc:
        return {"url": redact(url), "error": redact(str(exc))}
    return {"url": redact(url), "models": [{"id": m["id"], "context": context_of(m)} for m in models]}
