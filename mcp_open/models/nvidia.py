"""The NVIDIA GPUs this process may use: nvidia-smi's list filtered and ordered by CUDA_VISIBLE_DEVICES.

nvidia-smi ignores CUDA_VISIBLE_DEVICES and numbers GPUs physically; CUDA (and so llama.cpp's --main-gpu) numbers
only the visible ones, in the order the variable lists them. Reading VRAM for "GPU 0" must follow CUDA's numbering.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass

QUERY = "--query-gpu=index,uuid,name,memory.total,memory.free"
MIB = 1024 * 1024


@dataclass(frozen=True)
class GpuCard:
    """One GPU as nvidia-smi reports it."""

    index: int  # nvidia-smi's physical index
    uuid: str
    name: str
    total_bytes: int
    free_bytes: int


def visible_devices(env: Mapping[str, str] = os.environ) -> list[str] | None:
    """CUDA_VISIBLE_DEVICES as a list (CUDA stops at the first invalid entry), or None when unset."""
    value = env.get("CUDA_VISIBLE_DEVICES")
    if value is None:
        return None
    entries: list[str] = []
    for entry in (part.strip() for part in value.split(",")):
        if not entry or entry.startswith("-") or not (entry.isdigit() or entry.upper().startswith(("GPU-", "MIG-"))):
            break
        entries.append(entry)
    return entries


def _parse(line: str) -> GpuCard:
    """One CSV line of the query."""
    index, uuid, name, total, free = (part.strip() for part in line.split(","))
    return GpuCard(int(index), uuid, name, int(float(total)) * MIB, int(float(free)) * MIB)


def all_cards() -> list[GpuCard] | None:
    """Every GPU nvidia-smi sees, or None when nvidia-smi is missing or fails."""
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return None
    try:
        out = subprocess.run(
            [exe, QUERY, "--format=csv,noheader,nounits"], capture_output=True, text=True, timeout=10, check=True
        ).stdout
        return [_parse(line) for line in out.splitlines() if line.strip()]
    except (OSError, subprocess.SubprocessError, ValueError):
        return None


def _matches(card: GpuCard, entry: str) -> bool:
    """Whether a CUDA_VISIBLE_DEVICES entry (index or UUID prefix) names this card."""
    return str(card.index) == entry if entry.isdigit() else card.uuid.upper().startswith(entry.upper())


def visible_cards(env: Mapping[str, str] = os.environ) -> list[GpuCard] | None:
    """The GPUs CUDA will show this process, in CUDA's order; None when nvidia-smi is missing or fails."""
    cards = all_cards()
    wanted = visible_devices(env)
    if cards is None or wanted is None:
        return cards
    return [card for entry in wanted for card in cards if _matches(card, entry)]


def free_vram_bytes(main_gpu: int = 0) -> int | None:
    """Free memory of the GPU llama.cpp calls `main_gpu`, or None if unknown."""
    cards = visible_cards()
    if cards is None or main_gpu >= len(cards):
        return None
    return cards[main_gpu].free_bytes
