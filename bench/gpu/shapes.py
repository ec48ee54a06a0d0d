"""Qwen3-shaped GGUFs with random Q8_0 weights: the real models' sizes for speed runs where no weights can be fetched.

Decode speed depends on tensor shapes and types, not values. The vocabulary is the tiny model's byte-level BPE
padded to Qwen3's 151,936 tokens (so the output layer costs what it costs), with its ChatML template. The
end-of-generation tokens' rows of the tied embedding are zero: their logit is 0 while the largest of the others is
a few units, so no run stops early and every run decodes its full count.
"""

from __future__ import annotations

import argparse
import string
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import gguf
import numpy as np

from models.tiny_qwen3 import CHAT_TEMPLATE, ENDOFTEXT, IM_END, IM_START, Vocab, build_vocab

N_VOCAB = 151_936
BLOCK, BLOCK_BYTES = gguf.GGML_QUANT_SIZES[gguf.GGMLQuantizationType.Q8_0]
Q8_SCALE = 0.02 / 73  # uniform int8 in [-127, 127] times this: standard deviation about 0.02


@dataclass(frozen=True)
class Shape:
    """A Qwen3 model's dimensions (from its config.json)."""

    n_embd: int
    n_layer: int
    n_head: int
    n_head_kv: int
    n_ff: int
    head_dim: int = 128


SHAPES = {
    "qwen3-0.6b": Shape(n_embd=1024, n_layer=28, n_head=16, n_head_kv=8, n_ff=3072),
    "qwen3-4b": Shape(n_embd=2560, n_layer=36, n_head=32, n_head_kv=8, n_ff=9728),
    # For rehearsals on a CPU: the same code path, seconds to write and to run.
    "rehearsal": Shape(n_embd=256, n_layer=4, n_head=4, n_head_kv=2, n_ff=512, head_dim=64),
}


def padded_vocab(size: int) -> Vocab:
    """The tiny model's vocabulary padded with filler tokens (plain ASCII, never produced by merges)."""
    vocab = build_vocab()
    fillers = [f"zq{_letters(i)}" for i in range(size - len(vocab.tokens))]
    types = [*vocab.types, *[gguf.TokenType.NORMAL] * len(fillers)]
    return Vocab(tokens=[*vocab.tokens, *fillers], types=types, merges=vocab.merges)


def _letters(i: int) -> str:
    out = ""
    while True:
        i, r = divmod(i, 26)
        out += string.ascii_lowercase[r]
        if i == 0:
            return out


def q8_0(rng: np.random.Generator, rows: int, cols: int) -> np.ndarray:
    """Random Q8_0 data as GGUF stores it: per 32 values, an f16 scale then 32 int8."""
    blocks = rows * cols // BLOCK
    data = np.empty((blocks, BLOCK_BYTES), dtype=np.uint8)
    data[:, :2] = np.frombuffer(np.float16(Q8_SCALE).tobytes(), dtype=np.uint8)
    data[:, 2:] = rng.integers(-127, 128, size=(blocks, BLOCK), dtype=np.int8).view(np.uint8)
    return data.reshape(rows, cols // BLOCK * BLOCK_BYTES)


def build(path: Path, shape: Shape, *, seed: int = 0, name: str = "qwen3-shaped") -> Path:
    """Write the GGUF; one random tensor per role is shared by every layer (values do not matter)."""
    rng = np.random.default_rng(seed)
    vocab = padded_vocab(N_VOCAB)
    writer = gguf.GGUFWriter(path, "qwen3")
    _hparams(writer, shape, name)
    _tokenizer(writer, vocab)
    embd = q8_0(rng, N_VOCAB, shape.n_embd)
    for token in (vocab.tokens.index(t) for t in (ENDOFTEXT, IM_END, IM_START)):
        embd[token] = 0  # scale 0 and values 0: a zero row, so end-of-generation never wins
    q_out, kv_out = shape.n_head * shape.head_dim, shape.n_head_kv * shape.head_dim
    block = {
        "attn_q": q8_0(rng, q_out, shape.n_embd),
        "attn_k": q8_0(rng, kv_out, shape.n_embd),
        "attn_v": q8_0(rng, kv_out, shape.n_embd),
        "attn_output": q8_0(rng, shape.n_embd, q_out),
        "ffn_gate": q8_0(rng, shape.n_ff, shape.n_embd),
        "ffn_up": q8_0(rng, shape.n_ff, shape.n_embd),
        "ffn_down": q8_0(rng, shape.n_embd, shape.n_ff),
    }
    norms = {"attn_norm": shape.n_embd, "ffn_norm": shape.n_embd}
    norms |= {"attn_q_norm": shape.head_dim, "attn_k_norm": shape.head_dim}
    q8 = gguf.GGMLQuantizationType.Q8_0
    writer.add_tensor("token_embd.weight", embd, raw_dtype=q8)  # tied: Qwen3-0.6B and -4B reuse it as output
    for bid in range(shape.n_layer):
        for role, data in block.items():
            writer.add_tensor(f"blk.{bid}.{role}.weight", data, raw_dtype=q8)
        for role, width in norms.items():
            writer.add_tensor(f"blk.{bid}.{role}.weight", np.ones(width, dtype=np.float32))
    writer.add_tensor("output_norm.weight", np.ones(shape.n_embd, dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def _hparams(writer: gguf.GGUFWriter, shape: Shape, name: str) -> None:
    writer.add_name(name)
    writer.add_type(gguf.GGUFType.MODEL)
    writer.add_file_type(gguf.LlamaFileType.MOSTLY_Q8_0)
    writer.add_quantization_version(gguf.GGML_QUANT_VERSION)
    writer.add_context_length(40_960)
    writer.add_embedding_length(shape.n_embd)
    writer.add_block_count(shape.n_layer)
    writer.add_feed_forward_length(shape.n_ff)
    writer.add_head_count(shape.n_head)
    writer.add_head_count_kv(shape.n_head_kv)
    writer.add_key_length(shape.head_dim)
    writer.add_value_length(shape.head_dim)
    writer.add_rope_freq_base(1_000_000.0)
    writer.add_layer_norm_rms_eps(1e-6)


def _tokenizer(writer: gguf.GGUFWriter, vocab: Vocab) -> None:
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("qwen2")
    writer.add_token_list(vocab.tokens)
    writer.add_token_types(vocab.types)
    writer.add_token_merges(vocab.merges)
    writer.add_bos_token_id(vocab.id_of(ENDOFTEXT))
    writer.add_pad_token_id(vocab.id_of(ENDOFTEXT))
    writer.add_eos_token_id(vocab.id_of(IM_END))
    writer.add_add_bos_token(False)
    writer.add_chat_template(CHAT_TEMPLATE)


def main(argv: Sequence[str] | None = None) -> int:
    """Write one shaped GGUF: python -m bench.gpu.shapes SHAPE OUT."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("shape", choices=sorted(SHAPES))
    parser.add_argument("out", type=Path)
    args = parser.parse_args(argv)
    print(build(args.out, SHAPES[args.shape], name=args.shape))
    return 0


if __name__ == "__main__":
    sys.exit(main())
