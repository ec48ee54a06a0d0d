# ruff: noqa  (a standalone reproduction for an upstream report, kept minimal)
"""mcp 2.3.0 streamable HTTP: a 2025-11-25 client that drops its stream does not cancel the call; id null is
taken for a notification; a batch gets a pydantic dump; ':*' host/origin patterns match by prefix."""

import json, subprocess, sys, time
import httpx2
from mcp.server.transport_security import TransportSecurityMiddleware, TransportSecuritySettings

port = 18799
server = subprocess.Popen([sys.executable, "http_server.py", str(port)], stderr=subprocess.PIPE, text=True)
for _ in range(200):
    try:
        httpx2.get(f"http://127.0.0.1:{port}/", timeout=0.2)
        break
    except httpx2.HTTPError:
        time.sleep(0.1)
url, H = (
    f"http://127.0.0.1:{port}/mcp",
    {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"},
)
with httpx2.Client(timeout=30) as c:
    init = {
        "jsonrpc": "2.0",
        "id": 0,
        "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "r", "version": "1"}},
    }
    r = c.post(url, json=init, headers=H)
    H |= {"mcp-session-id": r.headers["mcp-session-id"], "mcp-protocol-version": "2025-11-25"}
    c.post(url, json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=H)
    r = c.post(url, content=b'{"jsonrpc":"2.0","id":null,"method":"ping"}', headers=H)
    print("id null ->", r.status_code, repr(r.text[:80]))
    r = c.post(url, content=b'[{"jsonrpc":"2.0","id":1,"method":"ping"}]', headers=H)
    print("batch ->", r.status_code, r.text[:140].replace("\n", " "))
    t = time.monotonic()
    with c.stream(
        "POST",
        url,
        json={"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "slow", "arguments": {}}},
        headers=H,
    ):
        time.sleep(1)  # then hang up without notifications/cancelled
    print(f"dropped the stream after {time.monotonic() - t:.1f} s")
time.sleep(11)
server.terminate()
print("server stderr:", [l for l in server.stderr.read().splitlines() if "slow()" in l])
guard = TransportSecurityMiddleware(
    TransportSecuritySettings(allowed_hosts=["127.0.0.1:*"], allowed_origins=["http://localhost:*"])
)
print("Host 127.0.0.1:evil allowed:", guard._validate_host("127.0.0.1:evil"))
print("Origin http://localhost:8000.evil.com allowed:", guard._validate_origin("http://localhost:8000.evil.com"))
