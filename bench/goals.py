"""The issue's goals, as a verdict column over the results (a benchmark verdict, never an assertion)."""

from __future__ import annotations

from typing import Any

Row = dict[str, Any]


def evaluate(results: dict[str, Any]) -> list[Row]:
    """One row per goal and model: target, measured median, and pass, miss or unclear."""
    rt, init = results["roundtrip"]["stdio"], results["initialize"]
    rows = [
        _row("trivial round trip over stdio: tools/list", None, rt["tools_list_ms"], "<=", 3.0, "ms"),
        _row("trivial round trip over stdio: languages tool", None, rt["languages_ms"], "<=", 3.0, "ms"),
        _row("initialize over stdio: spawn + initialize + tools/list", None, init["stdio_total_s"], "<", 0.5, "s"),
        _row("initialize over HTTP: connect + initialize + tools/list", None, init["http_handshake_s"], "<", 0.5, "s"),
    ]
    for model, data in results["generate"].items():
        valid = data["checks"]["full_length"] and data["checks"]["prompt_tokens_match"]
        ratio = data["ratio"]["mcp"]["decode_tps"]
        rows.append(_row("generate decode tok/s, MCP / direct", model, ratio, ">=", 0.98, "x", valid))
    for model, data in results["embed"].items():
        small, large = data["speedup"]["sizes"]
        ratio = data["batches"][str(large)]["ratio"]
        rows.append(_row(f"embed texts/s at batch {large}, MCP / direct", model, ratio, ">=", 0.95, "x"))
        speedup = data["speedup"]["mcp"]
        rows.append(_row(f"embed per-text speedup, batch {large} over {small} (MCP)", model, speedup, ">=", 3.0, "x"))
    for model, data in results["prefix"].items():
        rows.append(_row("time to first token, cold / warm shared prefix", model, data["speedup"], ">=", 3.0, "x"))
    for model, data in results.get("worker", {}).items():
        decode, embedded = data["decode"]["ratio"], data["embed"]["wall_ratio"]
        rows.append(_row("decode tok/s, engine in its worker / in this process", model, decode, ">=", 0.98, "x"))
        rows.append(_row("embed 64 texts, in this process / in its worker (time)", model, embedded, ">=", 0.95, "x"))
    return rows


def _row(
    goal: str, model: str | None, summary: dict[str, float], op: str, target: float, unit: str, valid: bool = True
) -> Row:
    return {
        "goal": goal,
        "model": model,
        "target": f"{op} {target:g} {unit}",
        "measured": summary["median"],
        "iqr": [summary["q1"], summary["q3"]],
        "unit": unit,
        "verdict": verdict(summary, op, target) if valid else "invalid",
    }


def verdict(summary: dict[str, float], op: str, target: float) -> str:
    """pass or miss by the median; unclear when the median misses but the target lies inside the quartiles."""
    median, q1, q3 = summary["median"], summary["q1"], summary["q3"]
    if op == ">=":
        return "pass" if median >= target else ("unclear" if q3 >= target else "miss")
    if op == "<=":
        return "pass" if median <= target else ("unclear" if q1 <= target else "miss")
    return "pass" if median < target else ("unclear" if q1 < target else "miss")
