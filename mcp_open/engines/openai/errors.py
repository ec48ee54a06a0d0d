"""What a failed exchange with an OpenAI-compatible server means for the user: each error says what to check."""

from __future__ import annotations

import json
from typing import Any

import httpx2

from mcp_open.engines.openai.http import CONNECT_ATTEMPTS, HttpFailure
from mcp_open.engines.openai.wire import error_text
from mcp_open.errors import RemoteEngineError

WHICH_BACKEND = "--backend (or --embed-backend, --translate-backend)"


def http_error(where: str, failure: HttpFailure, model: str | None = None) -> RemoteEngineError:
    """An error status or a redirect, with the server's own words (credentials redacted by RemoteEngineError)."""
    if 300 <= failure.status < 400:
        target = f" to {failure.location}" if failure.location else ""
        return RemoteEngineError(
            f"{where} redirected the request (HTTP {failure.status}{target}); mcp-open does not follow redirects "
            f"(a POST must not change address silently). Set {WHICH_BACKEND} to the address the server names."
        )
    said = error_text(failure.status, failure.body)
    if failure.status in (401, 403):
        return RemoteEngineError(
            f"{where} refused the API key (HTTP {failure.status}: {said}). Check --backend-api-key "
            "(or MCP_OPEN_BACKEND_API_KEY) against the key the server was started with."
        )
    if failure.status == 404:
        served = f"does not serve '{model}' there" if model else "has no OpenAI API there"
        return RemoteEngineError(
            f"{where} answered 404 ({said}): the server {served}. Check the model name (`mcp-open info` lists "
            f"what the server offers) and that {WHICH_BACKEND} is the server's root, e.g. http://host:8000/v1."
        )
    return RemoteEngineError(f"{where} failed (HTTP {failure.status}): {said}")


def transport_error(where: str, exc: httpx2.TransportError, generated: int) -> RemoteEngineError:
    """Unreachable, or the connection dropped mid-answer."""
    if isinstance(exc, httpx2.ConnectError | httpx2.ConnectTimeout):
        return RemoteEngineError(
            f"cannot reach {where} ({exc or type(exc).__name__}) after {CONNECT_ATTEMPTS} attempts. Check that the "
            f"server is running and that {WHICH_BACKEND} is right."
        )
    if isinstance(exc, httpx2.TimeoutException):
        return RemoteEngineError(
            f"{where} did not answer in time ({type(exc).__name__}); the server may be overloaded or stuck. "
            "Check its log and load, then try again."
        )
    return RemoteEngineError(
        f"{where} dropped the connection after {generated} tokens ({type(exc).__name__}: {exc}). The server may "
        "have crashed or restarted; check its log, then try again."
    )


def misbehaved(where: str, reason: str, generated: int = 0) -> RemoteEngineError:
    """The server broke the protocol or a bound (garbage events, a plain JSON body, an endless stream)."""
    return RemoteEngineError(
        f"{where} {reason} (after {generated} tokens). Is {WHICH_BACKEND} an OpenAI-compatible API, and is the "
        "server healthy? Check its log."
    )


def refused_constraint(exc: RemoteEngineError) -> RemoteEngineError:
    """An error answer to a constrained completion: most likely the server has no JSON-schema mode."""
    return RemoteEngineError(
        f"{exc}. The backend refused structured output: it takes no response_format of type json_schema "
        "(llama-server, vLLM and SGLang do; llama-cpp-python's server does not). Call without json_schema or "
        "choices, or serve this model from a backend that has a JSON-schema mode."
    )


def json_object(raw: bytes | str, where: str) -> dict[str, Any]:
    """A JSON object answer, or an error saying the server does not speak the API."""
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise RemoteEngineError(f"{where} answered with something that is not JSON; is it an OpenAI API?") from exc
    if not isinstance(data, dict):
        raise RemoteEngineError(f"{where} answered with JSON that is not an object; is it an OpenAI API?")
    return data


def request_json(
    client: httpx2.Client, method: str, base_url: str, path: str, *, timeout: float, body: Any = None
) -> dict[str, Any]:
    """A short request (model lists, token counts) whose failures are explained."""
    where = base_url + path
    try:
        response = client.request(method, path, json=body, timeout=timeout)
    except httpx2.TransportError as exc:
        raise transport_error(where, exc, 0) from exc
    if response.status_code >= 400:
        raise http_error(where, HttpFailure(response.status_code, response.content), body and body.get("model"))
    return json_object(response.content, where)
