"""One real decode of a configured local model, in a worker process of its own: what `mcp-open doctor` runs."""

from __future__ import annotations

import time

from mcp_open.engines.protocol import Prompt, Sampling, Turn
from mcp_open.errors import EngineCrashedError, McpOpenError
from mcp_open.runtime.loading import load_local
from mcp_open.settings import Settings

TRIAL_TOKENS = 4
GREEDY = Sampling(temperature=0.0, top_k=1, top_p=1.0, seed=0)


def try_decode(role: str, spec: str, settings: Settings) -> tuple[bool, str, str | None]:
    """Load the model in a worker and decode a few tokens (or embed a text): (worked, what happened, the fix)."""
    embedding = role == "embedding"
    start = time.perf_counter()
    try:
        loaded = load_local(spec, settings, embedding, lambda _message: None)
    except EngineCrashedError as exc:
        return False, f"its worker process died with {exc.signal_name or 'an exit'} while loading", str(exc)
    except McpOpenError as exc:
        return False, "llama.cpp could not load it", str(exc)
    engine = loaded.engine
    try:
        if embedding:
            engine.embed(["mcp-open doctor"], truncate=True)
            did = "embedded a text"
        else:
            chat = engine.info.chat
            prompt = Prompt.chat([Turn("user", "Hello")]) if chat else Prompt.raw("Hello")
            done = engine.complete(prompt, max_tokens=TRIAL_TOKENS, sampling=GREEDY)
            did = f"decoded {done.completion_tokens} tokens"
    except EngineCrashedError as exc:
        return False, f"its worker process died with {exc.signal_name or 'an exit'} while decoding", str(exc)
    except McpOpenError as exc:
        return False, "it loaded but could not decode", str(exc)
    finally:
        engine.close()
    return True, f"{did} in a worker process ({time.perf_counter() - start:.1f} s with the load)", None
