"""An agent-side script: launch `mcp-open serve` over stdio and delegate one call to each tool.

Run it with the offline starter model (no network needed):  python examples/delegate.py
or with any model spec:  python examples/delegate.py --model qwen3-4b --embed-model qwen3-embedding-0.6b
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys

import anyio
from mcp import Client, StdioServerParameters


def server_params(model: str, embed_model: str) -> StdioServerParameters:
    """The same launch Claude Desktop performs: the mcp-open console script with `serve`."""
    command = shutil.which("mcp-open") or sys.executable
    prefix = [] if command.endswith("mcp-open") else ["-m", "mcp_open"]
    return StdioServerParameters(
        command=command, args=[*prefix, "serve", "--model", model, "--embed-model", embed_model, "--ctx", "2048"]
    )


async def progress(done: float, total: float | None, message: str | None) -> None:
    """Show progress notifications the way a client would keep a long call alive."""
    print(f"  ... {message}", file=sys.stderr)


async def delegate(model: str, embed_model: str) -> None:
    """Call generate, translate, embed, rank and languages once each and print what came back."""
    async with Client(server_params(model, embed_model)) as client:
        tools = [tool.name for tool in (await client.list_tools()).tools]
        print("tools:", ", ".join(tools))

        generated = await client.call_tool(
            "generate",
            {"prompt": "The three primary colours are", "max_tokens": 32, "temperature": 0},
            progress_callback=progress,
        )
        print("generate:", json.dumps(generated.structured_content, ensure_ascii=False))

        translated = await client.call_tool(
            "translate",
            {"text": ["I would like a cup of coffee, please.", "Where is the train station?"], "target_lang": "fr"},
        )
        print("translate:", json.dumps(translated.structured_content["translations"], ensure_ascii=False))

        embedded = await client.call_tool("embed", {"texts": ["local models save money"], "dimensions": 8})
        print("embed:", json.dumps(embedded.structured_content["embeddings"][0]))

        ranked = await client.call_tool(
            "rank",
            {
                "query": "The cat sleeps on the sofa.",
                "documents": [
                    "A chef is cooking pasta.",
                    "A cat is napping on the couch.",
                    "The train leaves at noon.",
                ],
                "top_k": 2,
            },
        )
        print("rank:", json.dumps(ranked.structured_content["results"], ensure_ascii=False))

        languages = await client.call_tool("languages", {})
        print("languages:", len(languages.structured_content["languages"]), "codes")


def main() -> None:
    """Parse the model choice and run the delegation."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="starter")
    parser.add_argument("--embed-model", default="starter")
    args = parser.parse_args()
    anyio.run(delegate, args.model, args.embed_model)


if __name__ == "__main__":
    main()
