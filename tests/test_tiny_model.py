"""The tiny qwen3 GGUF is readable by gguf, loads in llama.cpp, chats, embeds and renders Qwen3's template."""

from __future__ import annotations

import math
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, cast

import gguf
import jinja2
import llama_cpp
import pytest
from jinja2.sandbox import ImmutableSandboxedEnvironment

from models import tiny_qwen3
from models.tiny_qwen3 import CHAT_TEMPLATE, ENDOFTEXT, IM_END, IM_START, THINK, build

REPO = Path(__file__).resolve().parent.parent
VOCAB = tiny_qwen3.build_vocab()
ACCENTED = "Hello, the cat! Le modèle écrit à l'été : garçon, naïve, où, cœur, 42."
CHATML_TURN = b"<|im_start|>user\nhi<|im_end|>"
THINKING_OFF = "<|im_start|>assistant\n<think>\n\n</think>\n\n"


def field(path: Path, key: str) -> Any:
    """Return one metadata value as read back by gguf's own reader, or None when absent."""
    reader = gguf.GGUFReader(path)
    return reader.fields[key].contents() if key in reader.fields else None


def load(path: Path, **kwargs: Any) -> llama_cpp.Llama:
    """Load a GGUF quietly with a small context."""
    return llama_cpp.Llama(model_path=str(path), n_ctx=512, verbose=False, **kwargs)


def greedy(path: Path, n_tokens: int = 10) -> tuple[list[int], str]:
    """Decode n_tokens greedily after a ChatML prompt (ignoring end-of-generation) and complete once."""
    llm = load(path)
    prompt = llm.tokenize(CHATML_TURN + b"\n<|im_start|>assistant\n", add_bos=False, special=True)
    tokens: list[int] = []
    for token in llm.generate(prompt, temp=0.0):
        tokens.append(token)
        if len(tokens) == n_tokens:
            break
    completion = cast(dict[str, Any], llm.create_completion("The cat is", max_tokens=n_tokens, temperature=0.0))
    return tokens, completion["choices"][0]["text"]


def render(messages: list[dict[str, str]], **context: Any) -> str:
    """Render the chat template the way transformers does (plain sandboxed environment)."""
    return ImmutableSandboxedEnvironment().from_string(CHAT_TEMPLATE).render(messages=messages, **context)


def test_gguf_reader_sees_a_small_qwen3(tmp_path: Path) -> None:
    started = time.perf_counter()
    path = build(tmp_path / "nested" / "tiny.gguf", context_length=2048)
    elapsed = time.perf_counter() - started
    reader = gguf.GGUFReader(path)
    assert field(path, "general.architecture") == "qwen3"
    assert field(path, "general.name") == "tiny-qwen3"
    assert field(path, "qwen3.block_count") == 2
    assert field(path, "qwen3.embedding_length") == 64
    assert field(path, "qwen3.attention.head_count") == 4
    assert field(path, "qwen3.attention.head_count_kv") == 2
    assert field(path, "qwen3.context_length") == 2048
    assert field(path, "tokenizer.chat_template") == CHAT_TEMPLATE
    assert field(path, "qwen3.pooling_type") is None
    assert len(reader.tensors) == 3 + 2 * 11
    assert path.stat().st_size < 5 * 1024 * 1024
    assert elapsed < 30.0  # a bound against pathological slowness only; speed is the benchmark's job


def test_chat_template_can_be_left_out(tmp_path: Path) -> None:
    path = build(tmp_path / "base.gguf", chat_template=False)
    assert field(path, "tokenizer.chat_template") is None
    assert load(path).metadata.get("tokenizer.chat_template") is None


def test_vocabulary_has_qwen_token_types_and_learned_merges(tmp_path: Path) -> None:
    path = build(tmp_path / "tiny.gguf")
    types = field(path, "tokenizer.ggml.token_type")
    tokens = field(path, "tokenizer.ggml.tokens")
    assert tokens[-5:] == ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<think>", "</think>"]
    assert types[-5:] == [3, 3, 3, 4, 4]
    assert set(types[:-5]) == {1}
    assert len(field(path, "tokenizer.ggml.merges")) >= 200
    assert field(path, "tokenizer.ggml.bos_token_id") == VOCAB.id_of(ENDOFTEXT)
    assert field(path, "tokenizer.ggml.eos_token_id") == VOCAB.id_of(IM_END)
    assert field(path, "tokenizer.ggml.add_bos_token") is False
    assert field(path, "tokenizer.ggml.add_eos_token") is None


@pytest.mark.parametrize(("pooling", "enum"), [("mean", 1), ("cls", 2), ("last", 3)])
def test_pooling_makes_an_embedding_model(tmp_path: Path, pooling: str, enum: int) -> None:
    path = build(tmp_path / "embed.gguf", pooling=pooling)
    assert field(path, "qwen3.pooling_type") == enum
    assert field(path, "tokenizer.ggml.add_eos_token") is True
    assert field(path, "tokenizer.ggml.eos_token_id") == VOCAB.id_of(ENDOFTEXT)


def test_unknown_pooling_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="pooling"):
        build(tmp_path / "bad.gguf", pooling="max")


def test_same_seed_same_bytes_other_seed_other_weights(tmp_path: Path) -> None:
    first = build(tmp_path / "a.gguf").read_bytes()
    assert build(tmp_path / "b.gguf").read_bytes() == first
    assert build(tmp_path / "c.gguf", seed=1).read_bytes() != first


def test_command_line_builds_an_embedding_model(tmp_path: Path) -> None:
    out = tmp_path / "cli.gguf"
    script = REPO / "models" / "tiny_qwen3.py"
    args = [sys.executable, str(script), str(out), "--pooling", "last", "--no-chat-template"]
    subprocess.run(args, check=True, capture_output=True, cwd=tmp_path)
    assert field(out, "qwen3.pooling_type") == 3
    assert field(out, "tokenizer.chat_template") is None


def test_llama_cpp_parses_chatml_and_think_tokens(tmp_path: Path) -> None:
    llm = load(build(tmp_path / "tiny.gguf"))
    tokens = llm.tokenize(CHATML_TURN, add_bos=False, special=True)
    assert tokens[0] == VOCAB.id_of(IM_START)
    assert tokens[-1] == VOCAB.id_of(IM_END)
    assert len(tokens) < len(CHATML_TURN) - len(b"<|im_start|><|im_end|>") + 2
    assert VOCAB.id_of(IM_START) not in llm.tokenize(CHATML_TURN, add_bos=False, special=False)
    assert llm.tokenize(THINK.encode(), add_bos=False, special=False) == [VOCAB.id_of(THINK)]
    assert (llm.token_bos(), llm.token_eos()) == (VOCAB.id_of(ENDOFTEXT), VOCAB.id_of(IM_END))
    assert llm.tokenize(b"hi", add_bos=True) == llm.tokenize(b"hi", add_bos=False)


def test_llama_cpp_round_trips_text_with_merged_tokens(tmp_path: Path) -> None:
    llm = load(build(tmp_path / "tiny.gguf"))
    tokens = llm.tokenize(ACCENTED.encode(), add_bos=False)
    assert llm.detokenize(tokens).decode() == ACCENTED
    assert len(tokens) < len(ACCENTED.encode()) * 0.75
    assert len(llm.tokenize(b" the", add_bos=False)) == 1


def test_greedy_generation_is_deterministic_across_fresh_loads(tmp_path: Path) -> None:
    tokens, text = greedy(build(tmp_path / "a.gguf"))
    assert len(tokens) == 10
    assert greedy(build(tmp_path / "b.gguf")) == (tokens, text)
    assert greedy(build(tmp_path / "c.gguf", seed=7))[0] != tokens


def test_llama_cpp_uses_the_embedded_template_for_chat(tmp_path: Path) -> None:
    llm = load(build(tmp_path / "tiny.gguf"))
    assert llm.chat_format == "chat_template.default"
    reply = cast(
        dict[str, Any],
        llm.create_chat_completion([{"role": "user", "content": "hi"}], max_tokens=4, temperature=0.0),
    )
    assert reply["usage"]["prompt_tokens"] == len(
        llm.tokenize(CHATML_TURN + b"\n<|im_start|>assistant\n", add_bos=False, special=True)
    )


def assert_two_distinct_vectors(vectors: list[list[float]]) -> None:
    """Check embed() output: two finite 64-dim vectors that differ."""
    assert len(vectors) == 2
    assert [len(v) for v in vectors] == [64, 64]
    assert all(math.isfinite(x) for v in vectors for x in v)
    assert vectors[0] != vectors[1]


def test_embedding_build_pools_the_appended_endoftext(tmp_path: Path) -> None:
    llm = load(build(tmp_path / "embed.gguf", pooling="last"), embedding=True)
    assert llm.pooling_type() == llama_cpp.LLAMA_POOLING_TYPE_LAST
    assert llm.tokenize(b"b c")[-1] == VOCAB.id_of(ENDOFTEXT)
    assert_two_distinct_vectors(llm.embed(["a", "b c"]))


def test_chat_build_embeds_with_requested_last_pooling(tmp_path: Path) -> None:
    llm = load(build(tmp_path / "tiny.gguf"), embedding=True, pooling_type=llama_cpp.LLAMA_POOLING_TYPE_LAST)
    assert llm.pooling_type() == llama_cpp.LLAMA_POOLING_TYPE_LAST
    assert_two_distinct_vectors(llm.embed(["a", "b c"]))


def test_template_renders_chatml_turns() -> None:
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "hi"},
    ]
    assert render(messages, add_generation_prompt=False) == (
        "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n"
    )
    assert render(messages, add_generation_prompt=True).endswith("<|im_end|>\n<|im_start|>assistant\n")


@pytest.mark.parametrize(
    ("context", "thinking_off"),
    [
        ({"enable_thinking": False}, True),
        ({"enable_thinking": True}, False),
        ({}, False),
    ],
)
def test_template_closes_an_empty_think_block_only_when_thinking_is_off(
    context: dict[str, bool], thinking_off: bool
) -> None:
    prompt = render([{"role": "user", "content": "hi"}], add_generation_prompt=True, **context)
    assert prompt.endswith(THINKING_OFF) is thinking_off
    assert prompt.endswith("<|im_end|>\n<|im_start|>assistant\n") is not thinking_off


def test_template_drops_reasoning_of_earlier_turns_and_folds_tool_results() -> None:
    messages = [
        {"role": "user", "content": "one"},
        {"role": "assistant", "content": "<think>\nhmm\n</think>\n\nfirst"},
        {"role": "user", "content": "two"},
        {"role": "assistant", "content": "<think>\nwell\n</think>\n\nsecond"},
        {"role": "tool", "content": "42"},
    ]
    prompt = render(messages, add_generation_prompt=False)
    assert "<|im_start|>assistant\nfirst<|im_end|>\n" in prompt
    assert "<|im_start|>assistant\n<think>\nwell\n</think>\n\nsecond<|im_end|>\n" in prompt
    assert prompt.endswith("<|im_start|>user\n<tool_response>\n42\n</tool_response><|im_end|>\n")


def test_llama_cpp_formatter_renders_like_transformers() -> None:
    messages: list[dict[str, str]] = [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}]
    formatter = llama_cpp.llama_chat_format.Jinja2ChatFormatter(CHAT_TEMPLATE, eos_token=IM_END, bos_token=ENDOFTEXT)
    formatted = formatter(messages=messages, enable_thinking=False)  # type: ignore[arg-type]
    assert formatted.prompt == render(messages, add_generation_prompt=True, enable_thinking=False)
    assert formatted.prompt.endswith(THINKING_OFF)


def test_template_is_strict_jinja() -> None:
    environment = ImmutableSandboxedEnvironment(undefined=jinja2.StrictUndefined)
    prompt = environment.from_string(CHAT_TEMPLATE).render(
        messages=[{"role": "user", "content": "hi"}], add_generation_prompt=True, enable_thinking=True
    )
    assert prompt == "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"
