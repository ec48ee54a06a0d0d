"""Work by reference: the agent names files and destinations; the text never passes through it.

It summarises each note into a folder (generate), translates the notes into French files (translate), ranks their
passages against a question (rank) and searches the folder through its lasting index (search).

Run it with the offline starter model (no network needed):  python examples/by_reference.py
or on your own folder and model:  python examples/by_reference.py --folder ~/notes --model qwen3-4b
Without --folder it writes three small notes into a temporary folder first.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import anyio
from mcp import Client, StdioServerParameters

NOTES = {
    "coffee.md": "# Coffee\n\nI would like a cup of coffee, please.\n",
    "station.md": "# Station\n\nWhere is the train station?\n",
    "garden.md": "# Garden\n\nThe children are playing in the garden.\n",
}


def server_params(model: str, embed_model: str, folder: Path) -> StdioServerParameters:
    """The launch Claude Desktop performs, with the folder allowed."""
    command = shutil.which("mcp-open") or sys.executable
    prefix = [] if command.endswith("mcp-open") else ["-m", "mcp_open"]
    args = ["serve", "--model", model, "--embed-model", embed_model, "--ctx", "2048", "--allow-dir", str(folder)]
    # A source checkout run with PYTHONPATH serves its own code; the SDK passes only a few variables on.
    env = {"PYTHONPATH": os.environ["PYTHONPATH"]} if "PYTHONPATH" in os.environ else None
    return StdioServerParameters(command=command, args=[*prefix, *args], env=env)


async def work(model: str, embed_model: str, folder: Path) -> None:
    """Summarise each note into a folder, translate the notes to French files, then find passages two ways."""
    async with Client(server_params(model, embed_model, folder)) as client:
        summaries = await client.call_tool(
            "generate",
            {
                "prompt": "Say in a few words what this note is about.",
                "files": ["*.md"],
                "each": True,
                "output_path": "summaries",
                "overwrite": True,
                "max_tokens": 24,
                "temperature": 0,
            },
        )
        print("generate:", json.dumps(summaries.structured_content["written"], ensure_ascii=False))
        translated = await client.call_tool(
            "translate",
            {"files": ["*.md"], "target_lang": "fr", "source_lang": "en", "output_path": "fr", "overwrite": True},
        )
        print("translate:", json.dumps(translated.structured_content["written"], ensure_ascii=False))
        ranked = await client.call_tool("rank", {"query": "a hot drink", "files": ["*.md"], "top_k": 1})
        print("rank:", json.dumps(ranked.structured_content["results"], ensure_ascii=False))
        found = await client.call_tool("search", {"query": "a cup of coffee", "paths": ["*.md"], "top_k": 1})
        result = found.structured_content
        hit = {k: result["passages"][0][k] for k in ("path", "start_line", "end_line", "matched")}
        print("search:", json.dumps({**hit, "index": {k: result["index"][k] for k in ("files", "chunks_embedded")}}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="starter")
    parser.add_argument("--embed-model", default="starter")
    parser.add_argument("--folder", type=Path, help="a folder of text files (default: three sample notes)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.folder or Path(scratch)
        if args.folder is None:
            for name, text in NOTES.items():
                (folder / name).write_text(text)
        anyio.run(work, args.model, args.embed_model, folder.expanduser().resolve())
        if args.folder is None:
            print("files:", ", ".join(sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.md"))))


if __name__ == "__main__":
    main()
