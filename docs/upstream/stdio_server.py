# ruff: noqa  (a standalone reproduction for an upstream report, kept minimal)
from mcp.server import MCPServer

mcp = MCPServer("repro")


@mcp.tool()
def echo(text: str) -> str:
    return text


if __name__ == "__main__":
    mcp.run()
