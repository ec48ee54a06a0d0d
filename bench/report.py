"""Results as JSON and as markdown tables under the output directory (latest plus a timestamped copy)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

Row = tuple[object, ...]

GOALS_NOTE = (
    "Verdicts go by the median; UNCLEAR means the median misses but the target lies inside the quartiles, i.e. "
    "within this machine's noise. The generate and embed goals are meant for Gemma 3 270M; the tiny model (random "
    "weights, a fraction of a millisecond per token) magnifies every fixed per-call cost and is listed for reference."
)


def write(results: dict[str, Any], out: Path, stamp: str) -> list[Path]:
    """Write latest.json, latest.md and timestamped copies; returns the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    text = json.dumps(results, indent=2) + "\n"
    markdown = render(results)
    paths = []
    for name in ("latest", stamp):
        for suffix, body in ((".json", text), (".md", markdown)):
            path = out / f"{name}{suffix}"
            path.write_text(body)
            paths.append(path)
    return paths


def render(results: dict[str, Any]) -> str:
    """The whole report as markdown."""
    meta = results["meta"]
    parts = [
        f"# mcp-open benchmark ({meta['started']})",
        f"Command: `{meta['command']}` — {meta['seconds']:.0f} s, {meta['repeats']} repeats"
        + (" (quick)" if meta["quick"] else "")
        + ". Medians, with [min–max] over repeats; MCP and direct runs interleaved per repeat.",
        _machine(results["machine"], meta),
        "## Goals\n" + goals_table(results["goals"]) + "\n\n" + GOALS_NOTE,
        "## Round trip of a trivial call (ms per call: median [quartiles])\n" + _roundtrip(results["roundtrip"]),
        "## generate: MCP (stdio) against direct llama-cpp-python\n" + _generate(results["generate"]),
        "## embed: MCP (stdio) against direct batched llama-cpp-python (texts/s)\n" + _embed(results["embed"]),
        "## Time to first token with a shared ~1,000-token prefix\n" + _prefix(results["prefix"]),
        "## initialize with a large model configured\n" + _initialize(results["initialize"]),
        "## Server memory beyond the model file\n" + _memory(results["memory"]),
        "## The model worker process: the same engine in this process and in its worker\n"
        + _worker(results.get("worker", {})),
    ]
    return "\n\n".join(parts) + "\n"


def table(header: list[str], rows: Iterable[Iterable[object]]) -> str:
    """A markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def fmt(summary: dict[str, float], digits: int = 2) -> str:
    """median [min–max]."""
    return f"{summary['median']:.{digits}f} [{summary['min']:.{digits}f}–{summary['max']:.{digits}f}]"


def quartiles(summary: dict[str, float], digits: int = 2) -> str:
    """median [q1–q3]."""
    return f"{summary['median']:.{digits}f} [{summary['q1']:.{digits}f}–{summary['q3']:.{digits}f}]"


def _machine(machine: dict[str, Any], meta: dict[str, Any]) -> str:
    llama = machine["llama_cpp"]
    rows = [
        ("CPU", f"{machine['cpu']} ({machine['physical_cores']} cores, {machine['logical_cores']} threads)"),
        ("RAM", f"{machine['ram_gb']} GB"),
        ("GPU", ", ".join(machine["gpu"]) or "none"),
        ("llama.cpp", f"llama-cpp-python {llama['llama_cpp_python']}, GPU offload {llama['gpu_offload']}"),
        ("build features", llama["system_info"].replace("|", "/")),
        ("settings", f"threads {meta['threads']}, GPU layers {meta['gpu_layers']}, ctx {meta['ctx']}"),
        ("load average", f"{machine['load_average_at_start']} at start, {meta['load_average_at_end']} at end"),
        ("Python", f"{machine['python']}; " + ", ".join(f"{k} {v}" for k, v in machine["packages"].items() if v)),
    ]
    return "## Machine\n" + table(["", ""], rows)


def goals_table(goals: list[dict[str, Any]]) -> str:
    """The goals and their verdicts as a markdown table."""
    rows = [
        (g["goal"], g["model"] or "—", g["target"], f"{g['measured']:.3g} {g['unit']}", _iqr(g), g["verdict"].upper())
        for g in goals
    ]
    return table(["goal", "model", "target", "median", "quartiles", "verdict"], rows)


def _iqr(goal: dict[str, Any]) -> str:
    low, high = goal["iqr"]
    return f"{low:.3g}–{high:.3g}"


def _roundtrip(data: dict[str, Any]) -> str:
    rows = [
        (name, quartiles(data[name]["languages_ms"]), quartiles(data[name]["tools_list_ms"]), data["calls"])
        for name in ("stdio", "http", "memory")
    ]
    rows.append(("plain function call (no MCP)", quartiles(data["function"]["languages_ms"], 3), "—", data["calls"]))
    return table(["transport", "languages tool", "tools/list", "calls"], rows)


def _generate(data: dict[str, Any]) -> str:
    rows: list[Row] = []
    for model, g in data.items():
        for side, label in (("mcp", "MCP (stdio)"), ("engine", "mcp-open engine, no MCP"), ("direct", "direct")):
            s = g[side]
            rows.append(
                (
                    model,
                    label,
                    fmt(s["ttft_s"], 3),
                    fmt(s["prompt_tps"], 1),
                    fmt(s["decode_tps"], 1),
                    fmt(s["e2e_tps"], 1),
                )
            )
        for side, label in (("mcp", "**MCP / direct**"), ("engine", "**engine / direct**")):
            r = g["ratio"][side]
            e2e = fmt(r["e2e_tps"], 3) if "e2e_tps" in r else ""
            rows.append((model, label, "", fmt(r["prompt_tps"], 3), fmt(r["decode_tps"], 3), e2e))
    header = ["model", "side", "TTFT s", "prompt tok/s", "decode tok/s", "end-to-end tok/s"]
    return table(header, rows) + "\n\n" + table(["model", "prompt tokens", "tokens", "checks"], _generate_checks(data))


def _generate_checks(data: dict[str, Any]) -> list[Row]:
    rows: list[Row] = []
    for model, g in data.items():
        c = g["checks"]
        same = sum(c["same_text_as_direct"])
        checks = (
            f"same prompt tokens on every side: {c['prompt_tokens_match']}; all runs {g['max_tokens']} tokens: "
            f"{c['full_length']}; MCP text equal to direct in {same}/{len(c['same_text_as_direct'])} runs"
        )
        rows.append((model, g["prompt_tokens"], g["max_tokens"], checks))
    return rows


def _embed(data: dict[str, Any]) -> str:
    rows = []
    for model, e in data.items():
        for size, b in e["batches"].items():
            rows.append(
                (
                    model,
                    size,
                    fmt(b["mcp_tps"], 1),
                    fmt(b["server_tps"], 1),
                    fmt(b["direct_tps"], 1),
                    fmt(b["ratio"], 3),
                )
            )
        sizes = e["speedup"]["sizes"]
        rows.append(
            (
                model,
                f"per-text speedup {sizes[1]} over {sizes[0]}",
                fmt(e["speedup"]["mcp"]),
                "",
                fmt(e["speedup"]["direct"]),
                "",
            )
        )
    header = ["model", "batch", "MCP (client wall)", "MCP (server-side)", "direct", "MCP / direct"]
    return table(header, rows)


def _prefix(data: dict[str, Any]) -> str:
    rows: list[Row] = []
    for model, p in data.items():
        cached = ", ".join(map(str, p["warm_cached_prompt_tokens"]))
        tokens = f"{p['prompt_tokens']['median']:.0f}"
        rows.append(
            (
                model,
                "MCP",
                tokens,
                fmt(p["cold"]["ttft_s"], 3),
                fmt(p["warm"]["ttft_s"], 3),
                cached,
                fmt(p["speedup"], 1),
            )
        )
        d = p["direct"]
        rows.append(
            (
                model,
                "direct",
                tokens,
                fmt(d["cold"]["ttft_s"], 3),
                fmt(d["warm"]["ttft_s"], 3),
                "",
                fmt(d["speedup"], 1),
            )
        )
        rows.append((model, "**MCP / direct, cold**", "", fmt(p["cold_ttft_mcp_over_direct"], 3), "", "", ""))
    header = ["model", "side", "prompt tokens", "cold TTFT s", "warm TTFT s", "warm cached tokens", "speedup"]
    return table(header, rows)


def _initialize(data: dict[str, Any]) -> str:
    rows = [
        ("stdio: spawn → initialized", fmt(data["stdio_initialize_s"], 3)),
        ("stdio: tools/list", fmt(data["tools_list_s"], 3)),
        ("stdio: total", fmt(data["stdio_total_s"], 3)),
        ("fresh interpreter importing the server (floor under stdio)", fmt(data["import_floor_s"], 3)),
        ("HTTP, server running: connect + initialize + tools/list", fmt(data["http_handshake_s"], 3)),
        ("any model loaded by the handshake?", str(data["models_loaded_after_handshake"])),
    ]
    return f"Configured model: `{data['large_model']}` (HF_HUB_OFFLINE=1).\n\n" + table(["step", "seconds"], rows)


def _memory(data: dict[str, Any]) -> str:
    rows = []
    for model, m in data.items():
        for side in ("server", "direct"):
            s = m[side]
            rows.append(
                (
                    model,
                    side,
                    m["model_file_mb"],
                    s["rss_mb"],
                    s["peak_rss_mb"],
                    s["anon_mb"],
                    s["file_mb"],
                    s["beyond_model_mb"],
                )
            )
        rows.append((model, "**MCP server − direct**", "", "", "", "", "", m["mcp_overhead_mb"]))
    header = ["model", "process", "GGUF MB", "RSS MB", "peak RSS MB", "anon MB", "file MB", "RSS − GGUF MB"]
    return table(header, rows)


def _worker(data: dict[str, Any]) -> str:
    """Start-up, decode and embed: in this process against in the worker, and the worker's cost."""
    rows: list[Row] = []
    for model, suite in data.items():
        start = suite["startup"]
        rows.append(
            (
                model,
                "start-up to a loaded model",
                fmt(start["in_process_s"], 3) + " s",
                fmt(start["worker_s"], 3) + " s",
                f"+{fmt(start['extra_s'], 3)} s on the first call",
                "",
            )
        )
        for name, unit in (("decode", "token"), ("embed", "llama.cpp batch")):
            part = suite[name]
            rows.append(
                (
                    model,
                    f"{name} ({part['units_per_call']} {unit}s per call)",
                    fmt(part["in_process_wall_s"], 4) + " s",
                    fmt(part["worker_wall_s"], 4) + " s",
                    f"{fmt(part['worker_extra_ms_per_call'], 3)} ms per call, "
                    f"{fmt(part['worker_extra_ms_per_unit'], 4)} ms per {unit}",
                    fmt(part["ratio"], 3),
                )
            )
    header = ["model", "what", "in this process", "in its worker", "worker's cost (median)", "rate ratio"]
    return table(header, rows) + (
        "\n\nRate ratio: decode tok/s (timed inside the engine) or texts/s (wall), worker over in-process. The "
        "worker's cost is the difference in wall time seen by the caller (pipe, pickling, progress messages); on a "
        "busy machine it is within the noise and may come out negative."
    )


def worker_page(results: dict[str, Any]) -> str:
    """The worker suite alone, as markdown: machine, command, and the worker table."""
    machine = results["machine"]
    return (
        "\n\n".join(
            [
                "# mcp-open benchmark: the model worker process",
                f"Command: `{results['command']}`, {results['repeats']} repeats, {results['threads']} threads. Medians "
                "[quartiles]; in-process and worker runs interleaved per repeat.",
                f"Machine: {machine.get('cpu')}, {machine.get('logical_cores')} logical cores; load average "
                f"{machine.get('load_average_at_start')} at start, {results['load_average_at_end']} at end.",
                _worker(results["worker"]),
            ]
        )
        + "\n"
    )
