"""Streamable HTTP: bearer-token auth and DNS-rebinding protection for `serve --transport http`."""

from __future__ import annotations

import contextlib
import hmac
import socket
from typing import Any

from mcp.server.auth.provider import AccessToken, TokenVerifier
from mcp.server.auth.settings import AuthSettings
from mcp.server.transport_security import TransportSecuritySettings

from mcp_open.settings import LOOPBACK_HOSTS, Settings

LOOPBACK_NAMES = ["127.0.0.1", "localhost", "[::1]"]
WILDCARD_HOSTS = frozenset({"0.0.0.0", "::", ""})


class StaticTokenVerifier(TokenVerifier):
    """Accepts exactly one bearer token, compared in constant time."""

    def __init__(self, token: str) -> None:
        self._token = token

    async def verify_token(self, token: str) -> AccessToken | None:
        """The access token if it matches, None otherwise (401)."""
        if hmac.compare_digest(token.encode(), self._token.encode()):
            return AccessToken(token=token, client_id="mcp-open-client", scopes=[])
        return None


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def auth_options(settings: Settings) -> dict[str, Any]:
    """MCPServer constructor options for bearer auth, when a token is configured for HTTP."""
    if settings.transport != "http" or not settings.auth_token:
        return {}
    base = f"http://{_url_host(settings.host)}:{settings.port}"
    return {
        "token_verifier": StaticTokenVerifier(settings.auth_token),
        "auth": AuthSettings(issuer_url=base, resource_server_url=f"{base}/mcp", validate_token_resource=False),  # type: ignore[arg-type]
    }


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
