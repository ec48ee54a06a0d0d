"""Generation on a loaded model: prompt building, the thinking budget, token accounting."""

from __future__ import annotations

from dataclasses import dataclass

from mcp_open.calls import CallContext
from mcp_open.chat import build_messages, render_chat, render_plain, split_thinking, supports_thinking_switch
from mcp_open.engine import Completion, FinishReason, LlamaEngine, Sampling
from mcp_open.errors import InvalidRequestError
from mcp_open.schemas import ChatMessage, GenerateRequest, Usage

THINK_CLOSE = "</think>\n\n"
# Below this budget thinking would starve the answer, so it is switched off.
MIN_THINKING_BUDGET = 32
# Qwen3's model cards: (temperature, top_p) without and with thinking.
QWEN_DEFAULTS = {False: (0.7, 0.8), True: (0.6, 0.95)}


@dataclass
class Prompt:
    """A prompt ready for the engine."""

    text: str
    tokens: list[int]
    templated: bool


def make_prompt(engine: LlamaEngine, messages: list[ChatMessage], *, thinking: bool) -> Prompt:
    """Render and tokenize turns with the model's chat template, or as plain text for a base model."""
    template = engine.chat_template
    if template:
        text = render_chat(template, messages, bos=engine.bos_text, eos=engine.eos_text, enable_thinking=thinking)
        return Prompt(text, engine.tokenize(text, add_special=False, parse_special=True), True)
    text = render_plain(messages)
    return Prompt(text, engine.tokenize(text, add_special=True), False)


def check_fits(engine: LlamaEngine, prompt_tokens: int, max_tokens: int) -> int:
    """The completion budget that fits the context; an error when the prompt alone does not."""
    if prompt_tokens == 0:
        raise InvalidRequestError("the prompt is empty; pass some text in 'prompt' or 'messages'")
    room = engine.n_ctx - prompt_tokens
    if room < 1:
        raise InvalidRequestError(
            f"the prompt is {prompt_tokens} tokens but the context window is {engine.n_ctx} tokens; "
            "shorten the prompt, or restart the server with a larger --ctx"
        )
    return min(max_tokens, room)


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


def generate(engine: LlamaEngine, req: GenerateRequest, call: CallContext) -> Generated:
    """Run one generate request to completion (blocking; call from a worker thread)."""
    messages = build_messages(req.prompt, req.messages, req.system)
    thinking = req.thinking and supports_thinking_switch(engine.chat_template)
    prompt = make_prompt(engine, messages, thinking=thinking)
    budget = check_fits(engine, len(prompt.tokens), req.max_tokens)
    if thinking and budget < MIN_THINKING_BUDGET:
        # Too little room to think and still answer: answer directly.
        thinking = False
        prompt = make_prompt(engine, messages, thinking=False)
        budget = check_fits(engine, len(prompt.tokens), req.max_tokens)
    if thinking:
        return _generate_thinking(engine, prompt, budget, req, call)
    parts = [_complete(engine, prompt.tokens, budget, req, req.stop, call, offset=0)]
    reasoning, answer = split_thinking(parts[0].text) if prompt.templated else (None, parts[0].text)
    return Generated(answer, reasoning, parts[0].finish_reason, usage_of(parts))


def _generate_thinking(
    engine: LlamaEngine, prompt: Prompt, budget: int, req: GenerateRequest, call: CallContext
) -> Generated:
    """Think within part of the budget, then close the thought and answer with the rest."""
    close_tokens = len(engine.tokenize(THINK_CLOSE, add_special=False, parse_special=True))
    answer_reserve = max(budget // 4, 16)
    think_budget = max(1, budget - answer_reserve - close_tokens)
    thought = _complete(engine, prompt.tokens, think_budget, req, ["</think>"], call, offset=0)
    if thought.finish_reason == "stop" and thought.matched_stop is None:
        reasoning, early = split_thinking(thought.text)
        if early:  # the model ended its turn on its own, with an answer
            return Generated(early, reasoning, "stop", usage_of([thought]))
    reasoning = thought.text.replace("<think>", "", 1).strip() or None
    spent = thought.completion_tokens + close_tokens
    follow = prompt.text + thought.text + THINK_CLOSE
    tokens = engine.tokenize(follow, add_special=False, parse_special=True)
    room = check_fits(engine, len(tokens), budget - spent)
    answer = _complete(engine, tokens, room, req, req.stop, call, offset=spent)
    return Generated(answer.text.strip(), reasoning, answer.finish_reason, usage_of([thought, answer], close_tokens))


def _complete(
    engine: LlamaEngine,
    tokens: list[int],
    budget: int,
    req: GenerateRequest,
    stop: list[str],
    call: CallContext,
    *,
    offset: int,
) -> Completion:
    """One engine completion wired to the call's progress and cancellation."""
    total = req.max_tokens
    return engine.complete(
        tokens,
        max_tokens=budget,
        sampling=sampling_of(req),
        stop=stop,
        on_prompt=lambda done, n: call.progress.update(offset, total, f"reading the prompt: {done}/{n} tokens"),
        on_token=lambda done, _n: call.progress.update(offset + done, total, f"{offset + done}/{total} tokens"),
        should_stop=call.should_stop,
    )


def usage_of(parts: list[Completion], extra_tokens: int = 0, *, one_prompt: bool = True) -> Usage:
    """Usage summed over completions: one prompt continued (thinking) or many prompts (translation pieces)."""
    prompts = parts[:1] if one_prompt else parts
    prompt = sum(p.prompt_tokens for p in prompts)
    completion = sum(p.completion_tokens for p in parts) + extra_tokens
    decode = sum(p.decode_seconds for p in parts)
    return Usage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=prompt + completion,
        cached_prompt_tokens=sum(p.cached_tokens for p in prompts),
        prompt_seconds=round(sum(p.prompt_seconds for p in prompts), 4),
        seconds=round(sum(p.prompt_seconds + p.decode_seconds for p in parts), 4),
        tokens_per_second=round(sum(p.decode_steps for p in parts) / decode, 2) if decode > 0 else 0.0,
    )
