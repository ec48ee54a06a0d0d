# ruff: noqa  (a standalone reproduction for an upstream report, kept minimal)
"""Frames the SDK's stdio transport never answers (mcp 2.3.0). Each line: frame -> reply (or nothing in 1 s)."""

import json, subprocess, sys

proc = subprocess.Popen(
    [sys.executable, "stdio_server.py"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
)

count = 0


def send(line: bytes) -> list[str]:
    """Write a frame, then a ping; everything before the ping's answer is the frame's answer."""
    global count
    count += 1
    sentinel = f'{{"jsonrpc":"2.0","id":"sentinel-{count}","method":"ping"}}'.encode()
    proc.stdin.write(line + b"\n" + sentinel + b"\n")
    proc.stdin.flush()
    out = []
    while True:
        reply = proc.stdout.readline().decode()
        if f'"sentinel-{count}"' in reply:
            return out
        out.append(reply[:150].strip())


init = {
    "jsonrpc": "2.0",
    "id": 0,
    "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "r", "version": "1"}},
}
send(json.dumps(init).encode())
send(b'{"jsonrpc":"2.0","method":"notifications/initialized"}')
for frame in [
    b'{"id":1,"method":"ping"}',  # jsonrpc missing
    b'{"jsonrpc":"2.0","id":1.5,"method":"ping"}',  # id with a fraction
    b'{"jsonrpc":"2.0","id":null,"method":"ping"}',  # id null
    b'[{"jsonrpc":"2.0","id":2,"method":"ping"}]',  # batch
    b'{"jsonrpc":"2.0","id":3,"method":"ping","params":[]}',  # params array
    b'{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"echo","arguments":{"text":"\\ud800"}}}',  # lone surrogate
    b"hello",  # not JSON: no -32700 either
    b'{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"echo","arguments":[1]}}',  # answered, but vaguely
    b'{"jsonrpc":"2.0","id":6,"method":"prompts/get","params":{"name":"nope"}}',  # code 0
]:
    print(frame.decode()[:70], "->", send(frame) or "NO ANSWER")
proc.stdin.close()
proc.wait()
