"""The delegation suite's results as JSON and markdown (delegation-latest plus a timestamped copy)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.report import goals_table, table

NOTE = (
    "Agent-side tokens are what the server's usage ledger recorded for the job's calls: the arguments the agent wrote "
    "(paid at the output price, $25 per million) and the results it read (input price, $5 per million), counted with "
    "the served model's tokenizer. By value the agent must also have read the material into its context before "
    "pasting it; that is not counted here, so by-value figures are a lower bound. Local wall time is the client's, "
    "model load excluded; one run per job and mode, each mode on its own fresh server (no KV cache shared between "
    "modes), on a machine shared with other work: wall-time ratios near 1 are within its noise."
)


def write(data: dict[str, Any], out: Path, stamp: str) -> list[Path]:
    """Write delegation-latest.{json,md} and copies named by model and time; returns the paths."""
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in ("delegation-latest", f"delegation-{data['model']['name']}-{stamp}"):
        for suffix, body in ((".json", json.dumps(data, indent=2) + "\n"), (".md", render(data))):
            path = out / f"{name}{suffix}"
            path.write_text(body)
            paths.append(path)
    return paths


def render(data: dict[str, Any]) -> str:
    """Goals, then one table per job."""
    sizes, meta = data["sizes"], data["meta"]
    parts = [
        f"# mcp-open delegation benchmark ({data['model']['name']})",
        f"{meta['seconds']:.0f} s on {meta['threads']} threads"
        + (" (quick)" if meta["quick"] else "")
        + f". Jobs: summarise a {sizes['document_tokens']:,}-token file; translate {sizes['texts']} files "
        f"(en -> fr); extract fields from {sizes['invoices']} small files.",
        "## Goals\n" + goals_table(data["goals"]),
        "## Jobs\n" + _jobs(data["jobs"]),
        NOTE,
    ]
    return "\n\n".join(parts) + "\n"


def _jobs(jobs: dict[str, Any]) -> str:
    header = [
        "job",
        "mode",
        "calls",
        "agent wrote",
        "agent read",
        "agent tokens",
        "agent USD",
        "local read",
        "local wrote",
        "files written",
        "local wall s",
        "saved USD",
    ]
    rows = []
    for name, job in jobs.items():
        for mode in ("by_value", "by_reference"):
            m = job[mode]
            rows.append(
                (
                    name,
                    mode.replace("_", " "),
                    m["calls"],
                    f"{m['agent_tokens_sent']:,}",
                    f"{m['agent_tokens_received']:,}",
                    f"{m['agent_tokens']:,}",
                    f"{m['agent_usd']:.4f}",
                    f"{m['local_tokens_read']:,}",
                    f"{m['local_tokens_written']:,}",
                    m["files_written"],
                    f"{m['wall_seconds']:.1f}",
                    f"{m['saved_usd']:+.4f}",
                )
            )
        rows.append(
            (
                name,
                "ratio",
                "",
                "",
                "",
                f"{job['agent_tokens_ratio']:g}x",
                f"{job['agent_usd_ratio']:g}x",
                "",
                "",
                "",
                f"{job['wall_ratio']:g}x",
                "",
            )
        )
    return table(header, rows)
