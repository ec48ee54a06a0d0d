"""The configured models by role: generation, translation (often the same slot) and embedding."""

from __future__ import annotations

from dataclasses import dataclass

from mcp_open.engines.protocol import Engine
from mcp_open.runtime.slots import ModelSlot


@dataclass
class Roles:
    """The model slots the features use; a slot shared by two roles appears once in `slots`."""

    chat: ModelSlot
    translator: ModelSlot
    embedder: ModelSlot

    @property
    def slots(self) -> list[ModelSlot]:
        """Each distinct model slot once."""
        unique = {id(s): s for s in (self.chat, self.translator, self.embedder)}
        return list(unique.values())

    def engine_named(self, model_name: str) -> Engine | None:
        """The loaded engine serving a model name (it counts the agent's side of that model's calls)."""
        for slot in self.slots:
            if slot.model is not None and slot.model.name == model_name:
                return slot.model.engine
        return None

    def unload_idle(self, idle_seconds: float) -> list[str]:
        """Unload the models idle past idle_seconds; returns the roles unloaded."""
        return [slot.role for slot in self.slots if slot.unload_if_idle(idle_seconds)]

    def unload(self) -> None:
        """Free every model now."""
        for slot in self.slots:
            slot.unload()
