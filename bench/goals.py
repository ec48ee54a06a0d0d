"""The issue's goals, as a verdict column over the results (a benchmark verdict, never an assertion)."""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

COMPARE: dict[str, Callable[[float, float], bool]] = {">=": operator.ge, "<=": operator.le, "<": operator.lt}


def evaluate(results: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per goal and model: target, measured median, pass or miss."""
    rows = _roundtrip(results["roundtrip"]) + _initialize(results["initialize"])
    for model, data in results["generate"].items():
        valid = data["checks"]["full_length"] and data["checks"]["prompt_tokens_match"]
        rows.append(_row("generate decode tok/s, MCP / direct", model, data["ratio"]["decode"], ">=", 0.98, "x", valid))
    for model, data in results["embed"].items():
        largest = str(data["speedup"]["sizes"][1])
        rows.append(_row(f"embed texts/s batch {largest}, MCP / direct", model, data["batches"][largest]["ratio"], ">=", 0.9, "x"))
        rows.append(_row(f"embed per-text speedup, batch {largest} over 1 (MCP)", model, data["speedup"]["mcp"], ">=", 3.0, "x"))
    for model, data in results["prefix"].items():
        rows.append(_row("time to first token, cold / warm shared prefix", model, data["speedup"], ">=", 3.0, "x"))
    return rows


def _roundtrip(data: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        _row("round trip over stdio: tools/list", None, data["stdio"]["tools_list_ms"], "<=", 3.0, "ms"),
        _row("round trip over stdio: languages tool", None, data["stdio"]["languages_ms"], "<=", 3.0, "ms"),
    ]


def _initialize(data: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        _row("initialize over stdio (spawn + initialize + tools/list)", None, data["stdio_total_s"], "<", 0.5, "s"),
        _row("initialize over HTTP (running server: connect + initialize + tools/list)", None,
             data["http_handshake_s"], "<", 0.5, "s"),
    ]


def _row(
    goal: str, model: str | None, summary: dict[str, float], op: str, target: float, unit: str, valid: bool = True
) -> dict[str, Any]:
    measured = summary["median"]
    verdict = ("pass" if COMPARE[op](measured, target) else "miss") if valid else "invalid"
    return {
        "goal": goal,
        "model": model,
        "target": f"{op} {target:g} {unit}",
        "measured": measured,
        "spread": [summary["min"], summary["max"]],
        "unit": unit,
        "verdict": verdict,
    }
