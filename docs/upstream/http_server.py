# ruff: noqa  (a standalone reproduction for an upstream report, kept minimal)
import sys, time
import anyio
from mcp.server import MCPServer

mcp = MCPServer("repro")


@mcp.tool()
async def slow() -> str:
    started = time.monotonic()
    try:
        await anyio.sleep(10)
    finally:
        print(f"slow() ended after {time.monotonic() - started:.1f} s", file=sys.stderr, flush=True)
    return "done"


if __name__ == "__main__":
    mcp.run("streamable-http", port=int(sys.argv[1]))
