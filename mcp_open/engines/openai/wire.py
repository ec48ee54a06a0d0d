"""The OpenAI HTTP API as data: request bodies for chat, completions and embeddings; streamed chunks read back.

Pure functions with no I/O, so the remote engine's wire format can be read and tested on its own.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mcp_open.engines.protocol import Constraint, Prompt, Sampling

# Finish reasons other than "length" (tool calls, content filters, a server's own stop) end the turn.
LENGTH_REASONS = frozenset({"length", "max_tokens"})
CHOICE_SCHEMA_NAME = "choice"
SCHEMA_NAME = "output"


@dataclass
class Delta:
    """What one streamed chunk adds: answer text, separated reasoning, an end, the server's counts."""

    text: str = ""
    reasoning: str = ""
    finish_reason: str | None = None
    stop_reason: str | None = None
    usage: dict[str, Any] | None = None


def sampling_fields(sampling: Sampling) -> dict[str, Any]:
    """Sampler settings under the names OpenAI-compatible servers read (top_k, min_p are common extensions)."""
    fields: dict[str, Any] = {
        "temperature": sampling.temperature,
        "top_p": sampling.top_p,
        "top_k": sampling.top_k,
        "min_p": sampling.min_p,
        # Always sent, since servers' defaults differ (llama-cpp-python's is 1.1). llama-server and
        # llama-cpp-python read the first name, vLLM and SGLang the second; each ignores the other.
        "repeat_penalty": sampling.repeat_penalty,
        "repetition_penalty": sampling.repeat_penalty,
    }
    if sampling.seed is not None:
        fields["seed"] = sampling.seed
    return fields


def response_format(constraint: Constraint) -> dict[str, Any]:
    """The json_schema response format for a constraint; choices become a string enum."""
    if constraint.choices is not None:
        schema: dict[str, Any] = {"type": "string", "enum": list(constraint.choices)}
        name = CHOICE_SCHEMA_NAME
    else:
        schema, name = constraint.json_schema or {}, SCHEMA_NAME
    return {"type": "json_schema", "json_schema": {"name": name, "schema": schema, "strict": True}}


def completion_body(
    model: str,
    prompt: Prompt,
    *,
    max_tokens: int,
    sampling: Sampling,
    stop: Sequence[str],
    constraint: Constraint | None,
) -> dict[str, Any]:
    """A streamed /v1/chat/completions body for chat turns, or a /v1/completions body for raw text."""
    body: dict[str, Any] = {
        "model": model,
        "max_tokens": max_tokens,
        "stream": True,
        "stream_options": {"include_usage": True},
        **sampling_fields(sampling),
    }
    if stop:
        body["stop"] = list(stop)
    if constraint is not None:
        body["response_format"] = response_format(constraint)
    if prompt.text is not None:
        body["prompt"] = prompt.text
    else:
        body["messages"] = [{"role": t.role, "content": t.content} for t in prompt.turns]
        body["chat_template_kwargs"] = {"enable_thinking": prompt.thinking}
    return body


def parse_sse_line(line: str) -> dict[str, Any] | None:
    """The JSON of one `data:` line; None for comments, pings, blank lines and the final [DONE]."""
    if not line.startswith("data:"):
        return None
    data = line[5:].strip()
    if not data or data == "[DONE]":
        return None
    parsed = json.loads(data)
    return parsed if isinstance(parsed, dict) else None


def read_chunk(chunk: dict[str, Any]) -> Delta:
    """One streamed chunk of either endpoint: chat deltas or completion text, and usage when the server sends it."""
    delta = Delta(usage=chunk.get("usage") or None)
    choices = chunk.get("choices") or []
    if not choices:
        return delta
    choice = choices[0]
    message = choice.get("delta") or {}
    delta.text = message.get("content") or choice.get("text") or ""
    # vLLM and SGLang name it reasoning_content; newer vLLM releases call it reasoning.
    delta.reasoning = message.get("reasoning_content") or message.get("reasoning") or ""
    delta.finish_reason = choice.get("finish_reason")
    stop_reason = choice.get("stop_reason")
    delta.stop_reason = stop_reason if isinstance(stop_reason, str) else None
    return delta


def choice_text(text: str, constraint: Constraint | None) -> str:
    """A constrained choice comes back as a JSON string; hand back the bare choice."""
    if constraint is None or constraint.choices is None:
        return text
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return value if isinstance(value, str) else text


def error_text(status: int, body: bytes) -> str:
    """The server's own error message from an error response, whatever shape it comes in."""
    try:
        data = json.loads(body)
    except ValueError:
        return body.decode("utf-8", "replace").strip()[:500] or f"HTTP {status}"
    return _message_of(data)[:500] or f"HTTP {status}"


def _message_of(data: object) -> str:
    """OpenAI puts it in error.message; FastAPI in detail; some servers in message or error."""
    if isinstance(data, dict):
        for key in ("error", "detail", "message"):
            if key in data:
                return _message_of(data[key])
        return json.dumps(data)
    if isinstance(data, list):
        return "; ".join(_message_of(item) for item in data)
    return str(data)
