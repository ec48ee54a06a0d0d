"""An agent-side script: launch `mcp-open serve` over stdio and delegate one call to each tool.

Run it with the offline starter model (no network needed):  python examples/delegate.py
or with any model spec:  python examples/delegate.py --model qwen3-4b --embed-model qwen3-embedding-0.6b

The starter model is Gemma 3 270M, a base model of 270 million parameters: a toy for trying the tools offline.
The calls below are the kind it does well (a short completion that ends at a stop string, an everyday sentence
translated, texts ranked by meaning); it cannot follow instructions, classify or extract reliably.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from collections.abc import Callable
from typing import Any

import anyio
from mcp import Client, StdioServerParameters
from mcp.types import CallToolResult

TOY = (
    "The starter model is Gemma 3 270M, a toy for trying the tools offline: short completions, everyday "
    "sentences translated, texts ranked. For real work pull a Qwen model: mcp-open models pull qwen3-4b"
)
# MCP clients start servers with a short allow-list of variables; pass on the ones that steer mcp-open.
PASSED_ON = ("HF_", "MCP_OPEN_", "CUDA_VISIBLE_DEVICES", "PYTHONPATH")


def server_params(model: str, embed_model: str) -> StdioServerParameters:
    """The same launch Claude Desktop performs: the mcp-open console script with `serve`, plus an `env` block."""
    command = shutil.which("mcp-open") or sys.executable
    prefix = [] if command.endswith("mcp-open") else ["-m", "mcp_open"]
    env = {name: value for name, value in os.environ.items() if name.startswith(PASSED_ON)}
    args = [*prefix, "serve", "--model", model, "--embed-model", embed_model, "--ctx", "2048"]
    return StdioServerParameters(command=command, args=args, env=env)


class Progress:
    """Shows progress messages the way a client keeps a long call alive, each distinct message once."""

    def __init__(self) -> None:
        self.last: str | None = None

    async def __call__(self, done: float, total: float | None, message: str | None) -> None:
        if message and message != self.last:
            print(f"  ... {message}", file=sys.stderr)
        self.last = message


class Delegation:
    """Calls tools and prints each answer, or the server's error message as an error."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.failures = 0

    async def call(self, tool: str, args: dict[str, Any], show: Callable[[dict[str, Any]], object]) -> None:
        """One tool call: `tool: <what show picks>` on success, `tool: error: <message>` on failure."""
        result: CallToolResult = await self.client.call_tool(tool, args, progress_callback=Progress())
        if result.is_error:
            self.failures += 1
            text = " ".join(getattr(block, "text", "") for block in result.content)
            print(f"{tool}: error: {text}")
            return
        picked = show(result.structured_content or {})
        print(f"{tool}:", picked if isinstance(picked, str) else json.dumps(picked, ensure_ascii=False))


async def delegate(model: str, embed_model: str) -> int:
    """Call generate, translate, embed, rank and languages once each; the exit status counts the failures."""
    async with Client(server_params(model, embed_model)) as client:
        tools = [tool.name for tool in (await client.list_tools()).tools]
        print("tools:", ", ".join(tools))
        if model == "starter":
            print(TOY, file=sys.stderr)
        run = Delegation(client)
        # A base model continues text: a stop string ends it where the answer ends.
        completion = {"prompt": "The three primary colours are", "max_tokens": 16, "temperature": 0, "stop": ["."]}
        await run.call("generate", completion, lambda r: r["text"].strip())
        sentences = ["I would like a cup of coffee, please.", "Where is the train station?"]
        await run.call("translate", {"text": sentences, "target_lang": "fr"}, lambda r: r["translations"])
        embed_args = {"texts": ["local models save money"], "dimensions": 8}
        await run.call("embed", embed_args, lambda r: r["embeddings"][0])
        documents = ["A chef is cooking pasta.", "A cat is napping on the couch.", "The train leaves at noon."]
        rank_args = {"query": "The cat sleeps on the sofa.", "documents": documents, "top_k": 2}
        await run.call("rank", rank_args, lambda r: r["results"])
        await run.call("languages", {}, lambda r: f"{len(r['languages'])} codes")
        return 1 if run.failures else 0


def main() -> None:
    """Parse the model choice and run the delegation."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="starter")
    parser.add_argument("--embed-model", default="starter")
    args = parser.parse_args()
    sys.exit(anyio.run(delegate, args.model, args.embed_model))


if __name__ == "__main__":
    main()
