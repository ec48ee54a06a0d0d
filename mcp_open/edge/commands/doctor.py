"""`mcp-open doctor`: every part of the path a user depends on, each with what to do when it is wrong."""

from __future__ import annotations

import importlib.metadata
import re
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from mcp_open.models.gpu import GpuFacts, gpu_notes
from mcp_open.models.hub import hub_cache_dir
from mcp_open.runtime.environment import gpu_facts
from mcp_open.runtime.planning import ModelPlan, plan_model
from mcp_open.runtime.trial import try_decode
from mcp_open.settings import Settings

MIN_PYTHON = (3, 11)
GB = 1e9


@dataclass(frozen=True)
class Check:
    """One finding: what was checked, whether it is fine, and what to do if not."""

    topic: str
    ok: bool
    text: str
    fix: str | None = None


def check_python(version: Sequence[int] = sys.version_info[:3]) -> Check:
    """Python 3.11 or newer."""
    shown = ".".join(str(part) for part in version)
    if tuple(version[:2]) >= MIN_PYTHON:
        return Check("python", True, f"Python {shown}")
    return Check("python", False, f"Python {shown} is too old", "install Python 3.11 or newer and make a new venv")


def _pinned_llama_version() -> str | None:
    """The llama-cpp-python version mcp-open's metadata pins."""
    for requirement in importlib.metadata.requires("mcp-open") or []:
        if match := re.match(r"llama[-_]cpp[-_]python\s*==\s*([\w.]+)", requirement):
            return match[1]
    return None


def check_llama(installed: str | None, pinned: str | None) -> Check:
    """llama-cpp-python present, at the version the engine was written against."""
    reinstall = f'pip install "llama-cpp-python=={pinned}"' if pinned else "pip install llama-cpp-python"
    if installed is None:
        return Check("llama-cpp-python", False, "llama-cpp-python is not installed", reinstall)
    if pinned and installed != pinned:
        text = f"llama-cpp-python {installed} is installed but mcp-open is written against {pinned}"
        return Check("llama-cpp-python", False, text, reinstall)
    return Check("llama-cpp-python", True, f"llama-cpp-python {installed}")


def check_gpu(facts: GpuFacts, plans: Sequence[ModelPlan]) -> list[Check]:
    """The build's offload ability and the visible GPUs, with a line for each way they disagree."""
    build = "can offload to a GPU" if facts.can_offload else "CPU only (no GPU offload)"
    cards = ", ".join(card.name for card in facts.cards or []) or "none visible"
    checks = [Check("llama.cpp build", True, build), Check("GPUs", True, f"NVIDIA GPUs: {cards}")]
    offloads = [(p.role, p.layout.offload) for p in plans if p.layout is not None]
    return checks + [Check("GPU", False, note) for note in gpu_notes(facts, offloads)]


def _free_bytes(folder: Path) -> int:
    """Free bytes on the disk that holds `folder` (or its nearest existing parent)."""
    existing = next(p for p in (folder, *folder.parents) if p.exists())
    return shutil.disk_usage(existing).free


def check_cache(cache: Path, free: int, needed: float) -> Check:
    """The Hugging Face cache and room on its disk for what is still to download."""
    text = f"Hugging Face cache {cache}: {free / GB:.1f} GB free"
    if free < needed:
        fix = f"free {needed / GB:.1f} GB there, or point HF_HOME at a bigger disk"
        return Check("cache", False, f"{text}; the models still to download need {needed / GB:.1f} GB", fix)
    return Check("cache", True, text)


def check_model(plan: ModelPlan, settings: Settings) -> Check:
    """One configured model: on disk and decoding in a worker, downloadable, or not servable (and why)."""
    topic = f"{plan.role} model"
    if plan.problem:
        return Check(topic, False, f"{plan.spec}: cannot be served", plan.problem)
    if plan.missing:
        return Check(topic, True, f"{plan.spec}: not downloaded yet; {plan.missing}")
    assert plan.resolved is not None
    size = plan.resolved.size_bytes / GB
    where = f"{plan.spec}: {plan.resolved.path} ({size:.2f} GB, {plan.resolved.quant or '?'})"
    worked, trial, fix = try_decode(plan.role, plan.spec, settings)
    return Check(topic, worked, f"{where}; {trial}", fix)


def _to_download(plans: Sequence[ModelPlan]) -> float:
    """Bytes the first calls will download, as far as the catalog knows."""
    total = 0.0
    for plan in plans:
        size = plan.expected.get("size_gb")
        if plan.missing and isinstance(size, int | float):
            total += size * GB
    return total


def _specs(settings: Settings) -> list[tuple[str, str]]:
    """(role, spec) of each configured model, once each."""
    pairs = [("generation", settings.model), ("translation", settings.translation_model)]
    pairs.append(("embedding", settings.embed_model))
    return [(role, spec) for role, spec in pairs if role != "translation" or spec != settings.model]


def run_checks(settings: Settings) -> list[Check]:
    """Every check, in the order a user meets the parts."""
    facts = gpu_facts(settings)
    plans = [plan_model(role, spec, settings, facts) for role, spec in _specs(settings)]
    try:
        installed: str | None = importlib.metadata.version("llama-cpp-python")
    except importlib.metadata.PackageNotFoundError:
        installed = None
    cache = hub_cache_dir()
    return [
        check_python(),
        check_llama(installed, _pinned_llama_version()),
        *check_gpu(facts, plans),
        check_cache(cache, _free_bytes(cache), _to_download(plans)),
        *(check_model(plan, settings) for plan in plans),
    ]
