"""Four ways to decode under a JSON Schema, timed in process on one engine against free decoding of the same length."""

from __future__ import annotations

import json
import time
from typing import Any

from llama_cpp import LlamaGrammar

from bench.config import Config
from bench.direct import load_engine
from bench.models import BenchModel
from bench.stats import ratio, summarize
from mcp_open.engines.constraints import Guide
from mcp_open.engines.llama import LlamaEngine
from mcp_open.engines.protocol import Constraint, Hooks, Prompt, Sampling, Turn
from mcp_open.features.generate.structured import decoding_schema

LLAMA_GRAMMAR = "llama.cpp grammar sampler (LlamaGrammar.from_json_schema)"


class NoForcedBatches:
    """llguidance, sampling first, but every forced token sampled and evaluated on its own."""

    def __init__(self, guide: Guide) -> None:
        self.guide = guide
        self.end_token = guide.end_token

    def end(self) -> int:
        return self.guide.end()

    @property
    def ended(self) -> bool:
        return self.guide.ended

    def allows(self, token: int) -> bool:
        return self.guide.allows(token)

    def restrict(self, logits: Any) -> None:
        self.guide.restrict(logits)

    def accept(self, token: int) -> list[int]:
        if not self.guide._matcher.consume_token(token):
            raise RuntimeError(self.guide._matcher.get_error())
        return []

    @property
    def finished(self) -> bool:
        return self.guide.finished


class MaskEveryStep(NoForcedBatches):
    """llguidance building and applying the full mask before every token (the textbook way)."""

    def allows(self, token: int) -> bool:
        return False


def measure(
    model: BenchModel, config: Config, prompt_text: str, schema: dict[str, Any], repeats: int, max_tokens: int
) -> dict[str, Any]:
    """Decode tokens/s of each decoder, median over seeds, and its ratio to free decoding."""
    engine = load_engine(model, config)
    try:
        prompt = Prompt.chat([Turn("user", prompt_text)]) if engine.info.chat else Prompt.raw(prompt_text)
        tokens = engine.render(prompt)
        constraint = Constraint(json_schema=decoding_schema(schema))
        engine.guides()  # build the tokenizer outside the timings
        runs: dict[str, list[float]] = {}
        for seed in range(repeats):
            for name, tps in _one_seed(engine, tokens, constraint, schema, seed, max_tokens).items():
                runs.setdefault(name, []).append(tps)
    finally:
        engine.close()
    free = summarize(runs.pop("free"))
    out = {
        name: {"tps": summarize(v), "ratio": ratio(summarize(v)["median"], free["median"])} for name, v in runs.items()
    }
    return {"free": {"tps": free, "ratio": 1.0}, **out}


def _one_seed(
    engine: LlamaEngine, tokens: list[int], constraint: Constraint, schema: dict[str, Any], seed: int, limit: int
) -> dict[str, float]:
    sampling = Sampling(temperature=0.7, top_p=0.8, top_k=20, seed=seed)
    shipped = engine.complete_tokens(tokens, limit, sampling, (), Hooks(), engine.guides().compile(constraint))
    n = max(1, shipped.completion_tokens)
    free = engine.complete_tokens(tokens, n, sampling, (), Hooks())
    results = {"free": free, "llguidance, sample first, forced tokens batched (shipped)": shipped}
    for name, wrap in (
        ("llguidance, sample first, no forced batches", NoForcedBatches),
        ("llguidance, full mask every step", MaskEveryStep),
    ):
        guide: Any = wrap(engine.guides().compile(constraint))
        results[name] = engine.complete_tokens(tokens, limit, sampling, (), Hooks(), guide)
    out = {name: c.decode_steps / c.decode_seconds for name, c in results.items() if c.decode_seconds > 0}
    out[LLAMA_GRAMMAR] = _llama_grammar(engine, tokens, schema, seed, limit)
    return out


def _llama_grammar(engine: LlamaEngine, tokens: list[int], schema: dict[str, Any], seed: int, limit: int) -> float:
    """llama-cpp-python's own JSON-schema grammar path: decode tokens/s until end of generation or the limit."""
    llama = engine._llama
    grammar = LlamaGrammar.from_json_schema(json.dumps(schema), verbose=False)
    llama.set_seed(seed)
    stream = llama.generate(tokens, top_k=20, top_p=0.8, min_p=0.0, temp=0.7, grammar=grammar, reset=True)
    count, first = 0, 0.0
    for token in stream:
        if count == 0:
            first = time.perf_counter()
        if engine.native.is_eog(token) or count >= limit:
            break
        count += 1
    stream.close()
    seconds = time.perf_counter() - first
    return (count - 1) / seconds if count > 1 and seconds > 0 else 0.0
