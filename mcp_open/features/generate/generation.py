"""Generation on any engine: prompt building, the thinking budget, token accounting."""

from __future__ import annotations

from dataclasses import dataclass

from mcp_open.engines.protocol import (
    Completion,
    Constraint,
    Engine,
    FinishReason,
    Hooks,
    Prompt,
    Sampling,
    room_for,
)
from mcp_open.features.common.limits import check_bytes, utf8_size
from mcp_open.features.common.schemas import ChatMessage, GenerateRequest, Usage
from mcp_open.features.common.thinking import split_thinking
from mcp_open.features.common.usage import usage_of
from mcp_open.features.generate.chat import build_messages, render_plain, to_turns
from mcp_open.features.generate.structured import Structured, with_instruction
from mcp_open.runtime.calls import CallContext

THINK_CLOSE = "</think>\n\n"
# Below this budget thinking would starve the answer, so it is switched off.
MIN_THINKING_BUDGET = 32
# Qwen3's model cards: (temperature, top_p) without and with thinking.
QWEN_DEFAULTS = {False: (0.7, 0.8), True: (0.6, 0.95)}


def make_prompt(engine: Engine, messages: list[ChatMessage], *, thinking: bool, prefill: str = "") -> Prompt:
    """Chat turns for a model with a template, or a plain transcript for a base model."""
    if engine.info.chat:
        return Prompt.chat(to_turns(messages), thinking=thinking, prefill=prefill)
    return Prompt.raw(render_plain(messages) + prefill)


def sampling_of(req: GenerateRequest) -> Sampling:
    """Sampler settings from a request, with Qwen3's recommended defaults for the mode."""
    default_temperature, default_top_p = QWEN_DEFAULTS[req.thinking]
    return Sampling(
        temperature=default_temperature if req.temperature is None else req.temperature,
        top_p=default_top_p if req.top_p is None else req.top_p,
        top_k=req.top_k,
        min_p=req.min_p,
        repeat_penalty=req.repeat_penalty,
        seed=req.seed,
    )


@dataclass
class Generated:
    """A finished generation before it becomes a tool result."""

    text: str
    reasoning: str | None
    finish_reason: FinishReason
    usage: Usage


def generate(
    engine: Engine, req: GenerateRequest, call: CallContext, structured: Structured | None = None
) -> Generated:
    """Run one generate request to completion (blocking; call from a worker thread)."""
    messages = build_messages(req.prompt, req.messages, req.system)
    if structured is not None:
        messages = _instructed(messages, structured)
    constraint = structured.constraint if structured is not None else None
    info = engine.info
    size = sum(utf8_size(m.content) for m in messages)
    check_bytes(size, info.n_ctx, "the prompt", "shorten it, or restart the server with a larger --ctx")
    thinking = req.thinking and info.thinking_switch
    prompt = make_prompt(engine, messages, thinking=thinking)
    if thinking and info.can_prefill:
        budget = room_for(engine.prompt_tokens(prompt), req.max_tokens, info.n_ctx)
        if budget >= MIN_THINKING_BUDGET:
            return _generate_thinking(engine, messages, prompt, budget, req, call, constraint)
        # Too little room to think and still answer: answer directly.
        thinking = False
        prompt = make_prompt(engine, messages, thinking=False)
    done = _complete(engine, prompt, req.max_tokens, req, req.stop, call, offset=0, constraint=constraint)
    reasoning, answer = _split(done, info.chat)
    return Generated(answer, reasoning, done.finish_reason, usage_of([done]))


def _instructed(messages: list[ChatMessage], structured: Structured) -> list[ChatMessage]:
    """The turns with the output instruction (the schema or the choices) after the last user turn's text."""
    users = [i for i, m in enumerate(messages) if m.role == "user"]
    if not users:
        return [*messages, ChatMessage(role="user", content=structured.instruction)]
    last = users[-1]
    shown = ChatMessage(role="user", content=with_instruction(messages[last].content, structured))
    return [*messages[:last], shown, *messages[last + 1 :]]


def _split(done: Completion, chat: bool) -> tuple[str | None, str]:
    """Reasoning and answer of a completion: the engine's own split, else <think> tags."""
    if done.reasoning is not None:
        return done.reasoning.strip() or None, done.text.strip()
    return split_thinking(done.text) if chat else (None, done.text)


def _generate_thinking(
    engine: Engine,
    messages: list[ChatMessage],
    prompt: Prompt,
    budget: int,
    req: GenerateRequest,
    call: CallContext,
    constraint: Constraint | None = None,
) -> Generated:
    """Think within part of the budget, then close the thought and answer with the rest (constrained, if asked)."""
    close_tokens = engine.count_tokens(THINK_CLOSE)
    # A constrained answer (a whole JSON object) needs more of the budget than a free one usually does.
    answer_reserve = max(budget // (2 if constraint else 4), 16)
    think_budget = max(1, budget - answer_reserve - close_tokens)
    thought = _complete(engine, prompt, think_budget, req, ["</think>"], call, offset=0)
    # An answer the model gave on its own, unconstrained, is only taken when no constraint was asked for.
    if thought.finish_reason == "stop" and thought.matched_stop is None and constraint is None:
        reasoning, early = split_thinking(thought.text)
        if early:  # the model ended its turn on its own, with an answer
            return Generated(early, reasoning, "stop", usage_of([thought]))
    reasoning = thought.text.replace("<think>", "", 1).strip() or None
    spent = thought.completion_tokens + close_tokens
    follow = make_prompt(engine, messages, thinking=True, prefill=thought.text + THINK_CLOSE)
    answer = _complete(engine, follow, budget - spent, req, req.stop, call, offset=spent, constraint=constraint)
    return Generated(answer.text.strip(), reasoning, answer.finish_reason, usage_of([thought, answer], close_tokens))


def _complete(
    engine: Engine,
    prompt: Prompt,
    budget: int,
    req: GenerateRequest,
    stop: list[str],
    call: CallContext,
    *,
    offset: int,
    constraint: Constraint | None = None,
) -> Completion:
    """One engine completion wired to the call's progress and cancellation."""
    total = req.max_tokens
    hooks = Hooks(
        on_prompt=lambda done, n: call.progress.update(offset, total, f"reading the prompt: {done}/{n} tokens"),
        on_token=lambda done, _n: call.progress.update(offset + done, total, f"{offset + done}/{total} tokens"),
        should_stop=call.should_stop,
    )
    return engine.complete(
        prompt, max_tokens=max(1, budget), sampling=sampling_of(req), stop=stop, constraint=constraint, hooks=hooks
    )
