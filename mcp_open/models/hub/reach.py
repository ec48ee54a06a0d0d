"""Whether the Hub can be reached: probed once in well under a second, then remembered.

huggingface_hub retries a refused or dropped connection for about 23 s; without this, every call on a machine
without network would wait that long before failing.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit
from urllib.request import getproxies, proxy_bypass

from mcp_open.models.hub.where import hub_endpoint

notice = logging.getLogger("mcp_open.notice")  # plain lines for the operator

PROBE_TIMEOUT_S = 0.8
REMEMBER_S = 300.0  # after this long a new call probes again, so coming online needs no restart


@dataclass
class _Verdict:
    reason: str | None  # None: reachable
    at: float


_verdicts: dict[str, _Verdict] = {}
_lock = threading.Lock()


def _connect(host: str, port: int, outcome: list[str | None]) -> None:
    """Open and close one TCP connection (DNS included), recording why it failed."""
    try:
        socket.create_connection((host, port), timeout=PROBE_TIMEOUT_S).close()
        outcome.append(None)
    except OSError as err:
        outcome.append(err.strerror or type(err).__name__)


def first_hop(endpoint: str) -> tuple[str, int]:
    """The host and port a request to `endpoint` connects to first: its proxy (HTTPS_PROXY, ...) if one applies."""
    url = urlsplit(endpoint)
    proxy = getproxies().get(url.scheme)
    if proxy and not proxy_bypass(url.hostname or ""):
        url = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
    return url.hostname or "", url.port or (443 if url.scheme == "https" else 80)


def probe(endpoint: str) -> str | None:
    """Why `endpoint` cannot be reached, or None; never takes longer than PROBE_TIMEOUT_S."""
    host, port = first_hop(endpoint)
    outcome: list[str | None] = []
    worker = threading.Thread(target=_connect, args=(host, port, outcome), daemon=True)
    worker.start()
    worker.join(PROBE_TIMEOUT_S)  # DNS lookups ignore socket timeouts; the thread bounds them too
    return outcome[0] if outcome else f"no answer within {PROBE_TIMEOUT_S:g} s"


def unreachable_reason() -> str | None:
    """Why the Hub cannot be reached now ('connection refused'), or None; probes at most every REMEMBER_S."""
    endpoint = hub_endpoint()
    with _lock:
        known = _verdicts.get(endpoint)
        if known is None or time.monotonic() - known.at > REMEMBER_S:
            known = _remember(endpoint, probe(endpoint))
    return known.reason


def mark_unreachable(reason: str) -> None:
    """Remember a network failure seen by a real Hub request."""
    with _lock:
        _remember(hub_endpoint(), reason)


def forget() -> None:
    """Drop what is remembered (tests; a user who just came online restarts anyway)."""
    with _lock:
        _verdicts.clear()


def _remember(endpoint: str, reason: str | None) -> _Verdict:
    """Store a verdict, saying so once when the Hub turns unreachable."""
    before = _verdicts.get(endpoint)
    if reason is not None and (before is None or before.reason is None):
        notice.warning(
            "the Hugging Face Hub at %s cannot be reached (%s); models not in the local cache cannot be "
            "downloaded now, and calls that need one fail at once",
            endpoint,
            reason,
        )
    verdict = _Verdict(reason, time.monotonic())
    _verdicts[endpoint] = verdict
    return verdict
