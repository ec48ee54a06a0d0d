"""Build a tiny, deterministic qwen3-architecture GGUF (random weights, real tokenizer and chat template)."""

from __future__ import annotations

import argparse
import itertools
import re
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import gguf
import numpy as np

ARCH = "qwen3"
N_EMBD = 64
N_LAYER = 2
N_HEAD = 4
N_HEAD_KV = 2
HEAD_DIM = 16
N_FF = 128
ROPE_FREQ_BASE = 1_000_000.0
RMS_EPS = 1e-6
WEIGHT_SCALE = 0.02
MAX_MERGES = 300

# Same order as Qwen3's added tokens (151643..151645), placed after the BPE vocabulary as in Qwen.
ENDOFTEXT, IM_START, IM_END = "<|endoftext|>", "<|im_start|>", "<|im_end|>"
THINK, END_THINK = "<think>", "</think>"
CONTROL_TOKENS = (ENDOFTEXT, IM_START, IM_END)
USER_DEFINED_TOKENS = (THINK, END_THINK)

POOLING_TYPES: dict[str, gguf.PoolingType] = {
    "mean": gguf.PoolingType.MEAN,
    "cls": gguf.PoolingType.CLS,
    "last": gguf.PoolingType.LAST,
}

# Behaviourally the official Qwen3 template minus tool declarations and tool calls: ChatML turns, reasoning
# kept only for assistant turns after the last real user query, tool results folded into a user turn,
# and an empty think block when enable_thinking is false.
CHAT_TEMPLATE = r"""
{%- if messages and messages[0].role == 'system' %}
    {{- '<|im_start|>system\n' + messages[0].content + '<|im_end|>\n' }}
{%- endif %}
{%- set ns = namespace(multi_step_tool=true, last_query_index=messages|length - 1) %}
{%- for message in messages[::-1] %}
    {%- set index = (messages|length - 1) - loop.index0 %}
    {%- set text = message.content if message.content is string else '' %}
    {%- if ns.multi_step_tool and message.role == 'user'
          and not (text.startswith('<tool_response>') and text.endswith('</tool_response>')) %}
        {%- set ns.multi_step_tool = false %}
        {%- set ns.last_query_index = index %}
    {%- endif %}
{%- endfor %}
{%- for message in messages %}
    {%- set content = message.content if message.content is string else '' %}
    {%- if message.role == 'user' or (message.role == 'system' and not loop.first) %}
        {{- '<|im_start|>' + message.role + '\n' + content + '<|im_end|>\n' }}
    {%- elif message.role == 'assistant' %}
        {%- set reasoning_content = '' %}
        {%- if message.reasoning_content is defined and message.reasoning_content is string %}
            {%- set reasoning_content = message.reasoning_content %}
        {%- elif '</think>' in content %}
            {%- set reasoning_content = (content.split('</think>')|first).rstrip('\n') %}
            {%- set reasoning_content = (reasoning_content.split('<think>')|last).lstrip('\n') %}
            {%- set content = (content.split('</think>')|last).lstrip('\n') %}
        {%- endif %}
        {%- if loop.index0 > ns.last_query_index and (loop.last or reasoning_content) %}
            {{- '<|im_start|>assistant\n<think>\n' + reasoning_content.strip('\n') + '\n</think>\n\n'
                + content.lstrip('\n') }}
        {%- else %}
            {{- '<|im_start|>assistant\n' + content }}
        {%- endif %}
        {{- '<|im_end|>\n' }}
    {%- elif message.role == 'tool' %}
        {%- if loop.first or messages[loop.index0 - 1].role != 'tool' %}
            {{- '<|im_start|>user' }}
        {%- endif %}
        {{- '\n<tool_response>\n' + content + '\n</tool_response>' }}
        {%- if loop.last or messages[loop.index0 + 1].role != 'tool' %}
            {{- '<|im_end|>\n' }}
        {%- endif %}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\n' }}
    {%- if enable_thinking is defined and enable_thinking is false %}
        {{- '<think>\n\n</think>\n\n' }}
    {%- endif %}
{%- endif %}
""".strip()

TRAINING_TEXT = """\
The model reads the text and writes a short answer. When the user asks for a translation, the assistant
translates the text from English to French, or from French to English, and keeps the meaning of every
sentence. The cat is sleeping on the sofa, and the dog is waiting at the door of the house. This is a
small test of the tokenizer: it should learn that the most common words of the language are worth a
single token, while rare words are split into pieces. Please translate the following sentence. What is
the weather like today? It is sunny in the morning and it will rain in the evening. Thank you for your
help, and have a good day. The server loads the model once, then answers every request in order.
Le modèle lit le texte et écrit une réponse courte. Quand l'utilisateur demande une traduction,
l'assistant traduit le texte du français vers l'anglais, ou de l'anglais vers le français, et garde le
sens de chaque phrase. Le chat dort sur le canapé, et le chien attend à la porte de la maison. C'est un
petit test du tokeniseur : il doit apprendre que les mots les plus fréquents de la langue méritent un
seul jeton, alors que les mots rares sont coupés en morceaux. Merci de traduire la phrase suivante.
Quel temps fait-il aujourd'hui ? Il fait beau le matin et il pleuvra le soir. Merci pour votre aide,
et bonne journée. Le serveur charge le modèle une fois, puis répond à chaque requête dans l'ordre.
Bonjour, comment allez-vous ? Je vais très bien, merci. Hello, how are you? I am very well, thank you.
"""

# An ASCII approximation of the qwen2 pre-tokenizer; llama.cpp applies the learned merges inside its own
# pre-tokenized words, so the merges only need to be valid, not identical to Qwen's.
PRETOKENIZE = re.compile(
    r"'(?:[sStTmMdD]|[rR][eE]|[vV][eE]|[lL][lL])|[^\r\n\w]?[^\W\d_]+|\d| ?[^\s\w]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)


@dataclass(frozen=True)
class Vocab:
    """A byte-level BPE vocabulary: token strings, their GGUF types and the merge rules."""

    tokens: list[str]
    types: list[gguf.TokenType]
    merges: list[str]

    def id_of(self, token: str) -> int:
        """Return the id of a token string."""
        return self.tokens.index(token)


@cache
def bytes_to_unicode() -> dict[int, str]:
    """Return GPT-2's reversible byte-to-printable-character mapping."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    chars = list(printable)
    extra = 0
    for byte in range(256):
        if byte not in printable:
            printable.append(byte)
            chars.append(256 + extra)
            extra += 1
    return {byte: chr(char) for byte, char in zip(printable, chars, strict=True)}


def byte_level(word: str) -> tuple[str, ...]:
    """Split a word into its byte-level unicode symbols."""
    table = bytes_to_unicode()
    return tuple(table[byte] for byte in word.encode("utf-8"))


def merge_word(word: tuple[str, ...], pair: tuple[str, str]) -> tuple[str, ...]:
    """Apply one merge everywhere in a word."""
    merged: list[str] = []
    i = 0
    while i < len(word):
        if i + 1 < len(word) and (word[i], word[i + 1]) == pair:
            merged.append(word[i] + word[i + 1])
            i += 2
        else:
            merged.append(word[i])
            i += 1
    return tuple(merged)


def pair_counts(words: Counter[tuple[str, ...]]) -> Counter[tuple[str, str]]:
    """Count adjacent symbol pairs over all words, weighted by word frequency."""
    counts: Counter[tuple[str, str]] = Counter()
    for word, freq in words.items():
        for pair in itertools.pairwise(word):
            counts[pair] += freq
    return counts


@cache
def learn_merges(text: str = TRAINING_TEXT, max_merges: int = MAX_MERGES) -> tuple[tuple[str, str], ...]:
    """Learn BPE merges over the text, deterministically (ties broken by the pair itself)."""
    words: Counter[tuple[str, ...]] = Counter(byte_level(w) for w in PRETOKENIZE.findall(text))
    merges: list[tuple[str, str]] = []
    while len(merges) < max_merges:
        counts = pair_counts(words)
        if not counts:
            break
        best = min(counts, key=lambda pair: (-counts[pair], pair))
        merges.append(best)
        words = Counter({merge_word(word, best): freq for word, freq in words.items()})
    return tuple(merges)


@cache
def build_vocab() -> Vocab:
    """Return the tiny model's vocabulary: bytes, merged tokens, then Qwen's added tokens."""
    tokens = list(bytes_to_unicode().values())
    merges = learn_merges()
    for left, right in merges:
        if left + right not in tokens:
            tokens.append(left + right)
    types = [gguf.TokenType.NORMAL] * len(tokens)
    tokens += [*CONTROL_TOKENS, *USER_DEFINED_TOKENS]
    types += [gguf.TokenType.CONTROL] * len(CONTROL_TOKENS)
    types += [gguf.TokenType.USER_DEFINED] * len(USER_DEFINED_TOKENS)
    return Vocab(tokens=tokens, types=types, merges=[f"{left} {right}" for left, right in merges])


def random_weights(rng: np.random.Generator, n_vocab: int) -> dict[str, np.ndarray]:
    """Return all qwen3 tensors by GGUF name, numpy shapes being ggml's ne reversed."""

    def linear(n_out: int, n_in: int) -> np.ndarray:
        return (rng.standard_normal((n_out, n_in)) * WEIGHT_SCALE).astype(np.float32)

    def norm(n: int) -> np.ndarray:
        return np.ones(n, dtype=np.float32)

    names = gguf.TENSOR_NAMES
    tensors = {names[gguf.MODEL_TENSOR.TOKEN_EMBD]: linear(n_vocab, N_EMBD)}
    for bid in range(N_LAYER):
        block = {
            gguf.MODEL_TENSOR.ATTN_NORM: norm(N_EMBD),
            gguf.MODEL_TENSOR.ATTN_Q: linear(N_HEAD * HEAD_DIM, N_EMBD),
            gguf.MODEL_TENSOR.ATTN_K: linear(N_HEAD_KV * HEAD_DIM, N_EMBD),
            gguf.MODEL_TENSOR.ATTN_V: linear(N_HEAD_KV * HEAD_DIM, N_EMBD),
            gguf.MODEL_TENSOR.ATTN_OUT: linear(N_EMBD, N_HEAD * HEAD_DIM),
            gguf.MODEL_TENSOR.ATTN_Q_NORM: norm(HEAD_DIM),
            gguf.MODEL_TENSOR.ATTN_K_NORM: norm(HEAD_DIM),
            gguf.MODEL_TENSOR.FFN_NORM: norm(N_EMBD),
            gguf.MODEL_TENSOR.FFN_GATE: linear(N_FF, N_EMBD),
            gguf.MODEL_TENSOR.FFN_UP: linear(N_FF, N_EMBD),
            gguf.MODEL_TENSOR.FFN_DOWN: linear(N_EMBD, N_FF),
        }
        tensors.update({names[kind].format(bid=bid): array for kind, array in block.items()})
    tensors[names[gguf.MODEL_TENSOR.OUTPUT_NORM]] = norm(N_EMBD)
    tensors[names[gguf.MODEL_TENSOR.OUTPUT]] = linear(n_vocab, N_EMBD)
    return {f"{name}.weight": array for name, array in tensors.items()}


def add_hparams(writer: gguf.GGUFWriter, *, name: str, context_length: int) -> None:
    """Write general.* and qwen3.* hyperparameters."""
    writer.add_name(name)
    writer.add_type(gguf.GGUFType.MODEL)
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)
    writer.add_quantization_version(gguf.GGML_QUANT_VERSION)
    writer.add_context_length(context_length)
    writer.add_embedding_length(N_EMBD)
    writer.add_block_count(N_LAYER)
    writer.add_feed_forward_length(N_FF)
    writer.add_head_count(N_HEAD)
    writer.add_head_count_kv(N_HEAD_KV)
    writer.add_key_length(HEAD_DIM)
    writer.add_value_length(HEAD_DIM)
    writer.add_rope_freq_base(ROPE_FREQ_BASE)
    writer.add_layer_norm_rms_eps(RMS_EPS)


def add_tokenizer(writer: gguf.GGUFWriter, vocab: Vocab, *, embedding: bool, chat_template: bool) -> None:
    """Write the tokenizer.* keys the way llama.cpp's converter does for Qwen3 and Qwen3-Embedding."""
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("qwen2")
    writer.add_token_list(vocab.tokens)
    writer.add_token_types(vocab.types)
    writer.add_token_merges(vocab.merges)
    writer.add_bos_token_id(vocab.id_of(ENDOFTEXT))
    writer.add_pad_token_id(vocab.id_of(ENDOFTEXT))
    writer.add_add_bos_token(False)
    if embedding:
        # Qwen3-Embedding appends <|endoftext|> to every input and pools the last token, i.e. that one.
        writer.add_eos_token_id(vocab.id_of(ENDOFTEXT))
        writer.add_eot_token_id(vocab.id_of(IM_END))
        writer.add_add_eos_token(True)
    else:
        writer.add_eos_token_id(vocab.id_of(IM_END))
    if chat_template:
        writer.add_chat_template(CHAT_TEMPLATE)


def build(
    path: Path,
    *,
    pooling: str | None = None,
    seed: int = 0,
    context_length: int = 4096,
    chat_template: bool = True,
    name: str = "tiny-qwen3",
) -> Path:
    """Write the tiny qwen3 GGUF to path and return path."""
    if pooling is not None and pooling not in POOLING_TYPES:
        raise ValueError(f"pooling must be one of {sorted(POOLING_TYPES)} or None, not {pooling!r}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    vocab = build_vocab()
    writer = gguf.GGUFWriter(path, ARCH)
    add_hparams(writer, name=name, context_length=context_length)
    if pooling is not None:
        writer.add_pooling_type(POOLING_TYPES[pooling])
    add_tokenizer(writer, vocab, embedding=pooling is not None, chat_template=chat_template)
    for tensor_name, array in random_weights(np.random.default_rng(seed), len(vocab.tokens)).items():
        writer.add_tensor(tensor_name, array)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def main(argv: Sequence[str] | None = None) -> int:
    """Build the tiny model from the command line."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", type=Path, help="where to write the .gguf file")
    parser.add_argument("--pooling", choices=sorted(POOLING_TYPES), help="build an embedding model")
    parser.add_argument("--no-chat-template", action="store_true", help="omit tokenizer.chat_template")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--context-length", type=int, default=4096)
    parser.add_argument("--name", default="tiny-qwen3")
    args = parser.parse_args(argv)
    path = build(
        args.out,
        pooling=args.pooling,
        seed=args.seed,
        context_length=args.context_length,
        chat_template=not args.no_chat_template,
        name=args.name,
    )
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
