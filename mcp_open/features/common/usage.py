"""Usage added up, one way: over an engine's completions (one call's pieces) or over whole calls' usages."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from mcp_open.engines.protocol import Completion
from mcp_open.features.common.schemas import Usage


@dataclass(frozen=True)
class Spent:
    """What one piece of model work cost, in the units that add up."""

    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int
    prompt_seconds: float
    seconds: float
    decode_steps: float  # tokens sampled after the first one: what decode_seconds paid for
    decode_seconds: float
    drafted_tokens: int = 0  # speculative decoding: draft tokens checked
    accepted_tokens: int = 0  # and kept


def added(pieces: Iterable[Spent], extra_tokens: int = 0) -> Usage:
    """The usage of all pieces together; speed is decode steps over decode time, not an average of speeds."""
    parts = list(pieces)
    prompt = sum(p.prompt_tokens for p in parts)
    completion = sum(p.completion_tokens for p in parts) + extra_tokens
    decode = sum(p.decode_seconds for p in parts)
    return Usage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=prompt + completion,
        cached_prompt_tokens=sum(p.cached_tokens for p in parts),
        prompt_seconds=round(sum(p.prompt_seconds for p in parts), 4),
        seconds=round(sum(p.seconds for p in parts), 4),
        tokens_per_second=round(sum(p.decode_steps for p in parts) / decode, 2) if decode > 0 else 0.0,
        drafted_tokens=sum(p.drafted_tokens for p in parts),
        accepted_tokens=sum(p.accepted_tokens for p in parts),
    )


def usage_of(parts: list[Completion], extra_tokens: int = 0, *, one_prompt: bool = True) -> Usage:
    """Usage over completions: one prompt continued (thinking: only the first prompt counts) or many prompts."""
    return added((_spent(p, prompt=i == 0 or not one_prompt) for i, p in enumerate(parts)), extra_tokens)


def _spent(done: Completion, *, prompt: bool) -> Spent:
    """A completion's cost; a continued prompt's tokens were counted with the first piece."""
    return Spent(
        prompt_tokens=done.prompt_tokens if prompt else 0,
        completion_tokens=done.completion_tokens,
        cached_tokens=done.cached_tokens if prompt else 0,
        prompt_seconds=done.prompt_seconds if prompt else 0.0,
        seconds=done.prompt_seconds + done.decode_seconds,
        decode_steps=done.decode_steps,
        decode_seconds=done.decode_seconds,
        drafted_tokens=done.drafted_tokens,
        accepted_tokens=done.accepted_tokens,
    )


def summed(usages: list[Usage]) -> Usage:
    """The usage of several calls (or files) together."""
    return added(
        Spent(
            prompt_tokens=u.prompt_tokens,
            completion_tokens=u.completion_tokens,
            cached_tokens=u.cached_prompt_tokens,
            prompt_seconds=u.prompt_seconds,
            seconds=u.seconds,
            decode_steps=u.tokens_per_second * (u.seconds - u.prompt_seconds),
            decode_seconds=u.seconds - u.prompt_seconds,
            drafted_tokens=u.drafted_tokens,
            accepted_tokens=u.accepted_tokens,
        )
        for u in usages
    )
