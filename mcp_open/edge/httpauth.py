"""Streamable HTTP: bearer-token auth and DNS-rebinding protection for `serve --transport http`."""

from __future__ import annotations

import contextlib
import hmac
import json
import socket
from collections.abc import Awaitable, Callable
from typing import Any

from mcp.server.transport_security import TransportSecuritySettings

from mcp_open.settings import LOOPBACK_HOSTS, Settings

LOOPBACK_NAMES = ["127.0.0.1", "localhost", "[::1]"]
WILDCARD_HOSTS = frozenset({"0.0.0.0", "::", ""})


class BearerGate:
    """ASGI middleware that lets through requests carrying the one static bearer token and answers 401 otherwise.

    The SDK's own bearer support advertises OAuth discovery (protected-resource metadata naming this server as
    its authorization server), which this server does not serve; OAuth-aware clients would be sent to a dead end.
    """

    def __init__(self, app: Asgi, token: str) -> None:
        self.app = app
        self._token = token.encode()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """Pass through lifespan, discovery probes (404 from the app) and authorised requests."""
        if scope["type"] != "http" or scope.get("path", "").startswith("/.well-known/"):
            return await self.app(scope, receive, send)
        sent = _bearer(scope)
        if sent is not None and hmac.compare_digest(sent, self._token):
            return await self.app(scope, receive, send)
        await _refuse(send, wrong=sent is not None)


Asgi = Callable[[dict[str, Any], Any, Any], Awaitable[None]]
HOW_TO_SEND = (
    "this server takes one static bearer token: send the HTTP header 'Authorization: Bearer <token>' with the "
    "token it was started with (--auth-token or MCP_OPEN_AUTH_TOKEN); in an MCP client config that is a "
    "'headers' entry. There is no OAuth login."
)


def _bearer(scope: dict[str, Any]) -> bytes | None:
    """The token of an 'Authorization: Bearer ...' header, if any."""
    for name, value in scope.get("headers", []):
        if name.lower() == b"authorization" and value[:7].lower() == b"bearer ":
            return bytes(value[7:].strip())
    return None


async def _refuse(send: Any, *, wrong: bool) -> None:
    """A 401 that says how to send the token and advertises nothing else."""
    error = "invalid_token" if wrong else "missing_token"
    told = "the bearer token sent is not this server's; " if wrong else "no bearer token was sent; "
    body = json.dumps({"error": error, "error_description": told + HOW_TO_SEND}).encode()
    challenge = f'Bearer realm="mcp-open", error="{error}"' if wrong else 'Bearer realm="mcp-open"'
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"www-authenticate", challenge.encode()),
    ]
    await send({"type": "http.response.start", "status": 401, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def token_gate(app: Asgi, settings: Settings) -> Asgi:
    """The app behind the static bearer-token gate when a token is set."""
    return BearerGate(app, settings.auth_token) if settings.auth_token else app


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def allowed_hosts(host: str, port: int) -> list[str]:
    """Host headers to accept, exactly: loopback always, plus the bound name and this machine's names and addresses.

    Each with the port; without it too on port 80, where clients leave it out. Port 0 (any free port) cannot be
    known here, so it keeps the SDK's ':*' pattern, which matches by prefix.
    """
    names = list(LOOPBACK_NAMES)
    if host not in LOOPBACK_HOSTS:
        extra = {host} - WILDCARD_HOSTS
        if host in WILDCARD_HOSTS:
            extra |= _machine_names()
        names += [_url_host(name) for name in sorted(extra)]
    suffixes = [f":{port}"] + ([""] if port == 80 else []) if port else [":*"]
    return [name + suffix for name in names for suffix in suffixes]


def _machine_names() -> set[str]:
    """This machine's hostname, FQDN and addresses."""
    names = {socket.gethostname(), socket.getfqdn()}
    with contextlib.suppress(OSError):
        names |= {str(info[4][0]) for info in socket.getaddrinfo(socket.gethostname(), None)}
    return {n for n in names if n}


def transport_security(settings: Settings, port: int | None = None) -> TransportSecuritySettings:
    """DNS-rebinding protection that stays on whatever the bind address, comparing Host and Origin exactly."""
    hosts = allowed_hosts(settings.host, settings.port if port is None else port)
    origins = [f"http://{h}" for h in hosts] + [f"https://{h}" for h in hosts]
    return TransportSecuritySettings(enable_dns_rebinding_protection=True, allowed_hosts=hosts, allowed_origins=origins)
