"""Each configured model and the GPU answer, found without loading anything: for info and the start-up lines."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from mcp_open.models.gpu import GpuFacts, OffloadPlan, gpu_notes
from mcp_open.runtime.planning import ModelPlan, plan_model
from mcp_open.runtime.slots import ModelSlot


def _plan_of(slot: ModelSlot, facts: GpuFacts) -> ModelPlan | None:
    """The plan of a local GGUF slot not loaded yet (a loaded one has its real plan; other engines plan nothing)."""
    if slot.model is not None or not slot.local_gguf:
        return None
    return plan_model(slot.role, slot.spec, slot.settings, facts)


def _offloads(slots: Sequence[ModelSlot], plans: Sequence[ModelPlan | None]) -> list[tuple[str, OffloadPlan]]:
    """The offload plan of each model, real for loaded ones, planned for the others."""
    out: list[tuple[str, OffloadPlan]] = []
    for slot, plan in zip(slots, plans, strict=True):
        offload = slot.model.plan if slot.model is not None else plan.layout.offload if plan and plan.layout else None
        if offload is not None:
            out.append((slot.role, offload))
    return out


def report(slots: Sequence[ModelSlot], facts: GpuFacts, build: dict[str, object]) -> dict[str, object]:
    """Build, GPU and per-model facts for the info resource and command (build: what llama.cpp says it can do)."""
    plans = [_plan_of(slot, facts) for slot in slots]
    models = []
    for slot, plan in zip(slots, plans, strict=True):
        described = slot.describe()
        if plan is not None:
            described.update(plan.describe())
        models.append(described)
    return {**_build_report(facts, _offloads(slots, plans), build), "models": models}


def _build_report(
    facts: GpuFacts, plans: Sequence[tuple[str, OffloadPlan]], build: dict[str, object]
) -> dict[str, object]:
    """llama.cpp build features and the GPU answer for the info resource."""
    notes = gpu_notes(facts, plans)
    cards = [dataclasses.asdict(card) for card in facts.cards or []]
    return {
        "llama_cpp": build,
        "gpu": {
            "requested_layers": facts.requested,
            "offload_supported": facts.can_offload,
            "visible_gpus": cards if facts.cards is not None else "nvidia-smi not found or failing",
            "cuda_visible_devices": facts.cuda_visible_devices,
            "notes": notes,
            "warning": "\n".join(notes) or None,
        },
    }


def _model_line(plan: ModelPlan) -> str | None:
    """What start-up says about one model, if anything."""
    if plan.problem:
        return f"the {plan.role} model {plan.spec} cannot be served: {plan.problem}"
    if plan.missing:
        return f"the {plan.role} model {plan.spec} is not on this machine yet: {plan.missing}"
    return None


def startup_lines(slots: Sequence[ModelSlot], facts: GpuFacts) -> list[str]:
    """The plain lines to print at start: models that cannot resolve, and the GPU answer when not an obvious yes."""
    plans = [_plan_of(slot, facts) for slot in slots]
    lines = [line for plan in plans if plan is not None and (line := _model_line(plan))]
    return lines + gpu_notes(facts, _offloads(slots, plans))
