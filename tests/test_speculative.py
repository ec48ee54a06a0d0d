"""Speculative decoding in the llama.cpp engine: the same tokens as one at a time, faster where output copies input.

Equality is checked on the tiny model, whose F32 weights give the same logits for a position whether it is
evaluated alone or in a batch (to 1e-5). Quantised CPU kernels do not (Gemma 3 270M Q4_K_M: up to 1.2 of 18.5
between the two), so there a near-tie can fall the other way; bench/ reports how often that happened.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from mcp_open.engines.llama import EngineConfig, LlamaEngine
from mcp_open.engines.protocol import Cancelled, Completion, Constraint, Hooks, Prompt, Sampling, Turn
from tests.conftest import ClientFactory, tiny_settings

GREEDY = Sampling(temperature=0.0, seed=0)
# Near-greedy but sampled: the random state is drawn at every token, and drafts are still accepted.
SAMPLED = Sampling(temperature=0.05, top_k=3, top_p=1.0, seed=11)
WARM = Sampling(temperature=0.8, seed=5)
RECORDS = "\n".join(json.dumps({"id": i, "name": f"record {i}", "berth": f"B{i % 4}"}) for i in range(12))
REWRITE = f"Copy these records and add a field to each.\n\n{RECORDS}\n\nRecords:\n"


@pytest.fixture(scope="module")
def engine(tiny_chat: Path) -> Iterator[LlamaEngine]:
    engine = LlamaEngine(str(tiny_chat), EngineConfig(n_ctx=2048, n_threads=2, name="tiny"))
    yield engine
    engine.close()


def both(engine: LlamaEngine, prompt: Prompt, **kwargs: object) -> tuple[Completion, Completion]:
    """The same completion decoded one token at a time, then with drafts (8 per batch)."""
    done = []
    for drafts in (0, 8):
        engine.decoder.draft_tokens = drafts
        done.append(engine.complete(prompt, **kwargs))  # type: ignore[arg-type]
    return done[0], done[1]


@pytest.mark.parametrize(
    ("sampling", "least_accepted"), [(GREEDY, 40), (SAMPLED, 2), (WARM, 0)], ids=["greedy", "sampled", "warm"]
)
def test_same_tokens_as_one_at_a_time(engine: LlamaEngine, sampling: Sampling, least_accepted: int) -> None:
    plain, fast = both(engine, Prompt.chat([Turn("user", REWRITE)]), max_tokens=160, sampling=sampling)
    assert fast.token_ids == plain.token_ids and fast.text == plain.text
    assert (plain.drafted_tokens, plain.accepted_tokens) == (0, 0)
    # near-greedy output repeats itself, so drafts from it are accepted (noise at temperature 0.8 rarely repeats)
    assert fast.accepted_tokens >= least_accepted, (fast.drafted_tokens, fast.accepted_tokens)
    assert fast.accepted_tokens <= fast.drafted_tokens


def test_stop_strings_and_budget_hold_mid_batch(engine: LlamaEngine) -> None:
    full = both(engine, Prompt.raw(REWRITE), max_tokens=120, sampling=GREEDY)[1]
    assert full.accepted_tokens > 0
    stop = full.text[len(full.text) // 2 :][:3]  # text from inside an accepted run
    plain, fast = both(engine, Prompt.raw(REWRITE), max_tokens=120, sampling=GREEDY, stop=[stop])
    assert fast.matched_stop == plain.matched_stop == stop and fast.text == plain.text
    assert fast.finish_reason == "stop" and stop not in fast.text
    for budget in (1, 2, 37):
        plain, fast = both(engine, Prompt.raw(REWRITE), max_tokens=budget, sampling=GREEDY)
        assert fast.completion_tokens == plain.completion_tokens == budget and fast.token_ids == plain.token_ids


def test_constrained_tokens_all_pass_the_grammar(engine: LlamaEngine) -> None:
    schema = {
        "type": "object",
        "properties": {"names": {"type": "array", "items": {"type": "string", "maxLength": 12}, "maxItems": 6}},
        "required": ["names"],
    }
    prompt = Prompt.chat([Turn("user", REWRITE + '{"names": ["record 1", "record 2", "record 3"]}')])
    for sampling in (GREEDY, SAMPLED):
        plain, fast = both(engine, prompt, max_tokens=200, sampling=sampling, constraint=Constraint(json_schema=schema))
        assert fast.token_ids == plain.token_ids
        assert isinstance(json.loads(fast.text)["names"], list)


def test_thinking_prompts_decode_the_same(engine: LlamaEngine) -> None:
    prompt = Prompt.chat([Turn("user", REWRITE)], thinking=True)
    plain, fast = both(engine, prompt, max_tokens=80, sampling=SAMPLED)
    assert fast.token_ids == plain.token_ids


def test_progress_counts_every_token_and_cancel_lands_inside_a_run(engine: LlamaEngine) -> None:
    engine.decoder.draft_tokens = 8
    seen: list[int] = []
    done = engine.complete(
        Prompt.raw(REWRITE), max_tokens=60, sampling=GREEDY, hooks=Hooks(on_token=lambda n, _m: seen.append(n))
    )
    assert done.accepted_tokens > 0 and seen == list(range(1, 61))
    stopped = []
    for drafts in (0, 8):
        engine.decoder.draft_tokens = drafts
        out: list[int] = []
        hooks = Hooks(on_token=lambda n, _m, out=out: out.append(n), should_stop=lambda out=out: len(out) >= 20)
        before = engine.tokens_generated
        with pytest.raises(Cancelled):
            engine.complete(Prompt.raw(REWRITE), max_tokens=60, sampling=GREEDY, hooks=hooks)
        stopped.append(engine.tokens_generated - before)
    assert stopped == [20, 20]  # at the token it was asked at, not at the end of a batch


def test_prefix_reuse_after_drafts_gives_the_cold_answer(engine: LlamaEngine, tiny_chat: Path) -> None:
    engine.decoder.draft_tokens = 8
    first = engine.complete(Prompt.raw(REWRITE), max_tokens=90, sampling=GREEDY)
    # a follow-up that shares the prompt and part of the answer: the cache holds accepted and rejected drafts
    follow = Prompt.raw(REWRITE + first.text[:40])
    warm = engine.complete(follow, max_tokens=50, sampling=GREEDY)
    cold_engine = LlamaEngine(str(tiny_chat), EngineConfig(n_ctx=2048, n_threads=2, draft_tokens=0))
    try:
        cold = cold_engine.complete(follow, max_tokens=50, sampling=GREEDY)
    finally:
        cold_engine.close()
    assert warm.cached_tokens > len(engine.render(Prompt.raw(REWRITE))) - 2
    assert warm.token_ids == cold.token_ids


def test_free_writing_pauses_drafting(engine: LlamaEngine) -> None:
    engine.decoder.draft_tokens = 8
    prompt = Prompt.chat([Turn("user", "Write a story about the sea, in your own words.\n" + RECORDS)])
    done = engine.complete(prompt, max_tokens=300, sampling=WARM)
    # noise output: guesses fail, and after a few failed rounds drafting pauses for longer and longer
    assert done.accepted_tokens <= done.drafted_tokens // 4
    assert done.drafted_tokens < 0.3 * done.completion_tokens


def test_engine_counts_drafts_for_info(engine: LlamaEngine) -> None:
    engine.decoder.draft_tokens = 8
    before = engine.stats()
    done = engine.complete(Prompt.raw(REWRITE), max_tokens=60, sampling=GREEDY)
    after = engine.stats()
    assert after["drafted_tokens"] - before["drafted_tokens"] == done.drafted_tokens > 0
    assert after["accepted_tokens"] - before["accepted_tokens"] == done.accepted_tokens


@pytest.mark.anyio
async def test_usage_and_info_report_drafts_through_mcp(
    connect_once: ClientFactory, tiny_chat: Path, tiny_embed: Path
) -> None:
    args = {"prompt": REWRITE, "max_tokens": 80, "temperature": 0, "seed": 0}
    async with connect_once(tiny_settings(tiny_chat, tiny_embed, draft_tokens=8)) as client:
        result = await client.call_tool("generate", args)
        info = json.loads((await client.read_resource("mcp-open://info")).contents[0].text)
    async with connect_once(tiny_settings(tiny_chat, tiny_embed)) as client:  # a CPU: off by default
        plain = await client.call_tool("generate", args)
    usage = result.structured_content["usage"]
    assert usage["accepted_tokens"] > 0 and usage["drafted_tokens"] >= usage["accepted_tokens"]
    generation = next(m for m in info["models"] if m["role"] == "generation")
    assert generation["drafted_tokens"] == usage["drafted_tokens"]
    assert generation["accepted_tokens"] == usage["accepted_tokens"]
    assert plain.structured_content["usage"]["drafted_tokens"] == 0
    assert plain.structured_content["text"] == result.structured_content["text"]


def test_drafts_default_on_with_gpu_layers_only() -> None:
    from mcp_open.runtime.loading import draft_tokens

    assert draft_tokens(None, 0) == 0 and draft_tokens(None, -1) == 8 and draft_tokens(None, 12) == 8
    assert draft_tokens(4, 0) == 4 and draft_tokens(0, -1) == 0
