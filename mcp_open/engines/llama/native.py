"""The one module below llama-cpp-python's public `Llama` API: every `llama_cpp.llama_*` call and private attribute.

The only module that imports llama_cpp; written against llama-cpp-python 0.3.36 (pinned exactly), so an upgrade
is checked here first.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

POOLING = {"none": 0, "mean": 1, "cls": 2, "last": 3, "rank": 4}
KV_TYPES = {"f16": 1, "q8_0": 8, "q4_0": 2}  # ggml_type values

LogFn = Callable[[int, bytes], None]
_log_hook: object = None


def load(path: str, kwargs: dict[str, object]) -> Any:
    """A llama_cpp.Llama for the GGUF at path."""
    import llama_cpp

    return llama_cpp.Llama(model_path=path, **kwargs)  # type: ignore[arg-type]


def build_features() -> dict[str, object]:
    """What this llama.cpp build can do (GPU offload, backends)."""
    import llama_cpp

    system_info = llama_cpp.llama_print_system_info().decode("utf-8", "replace").strip()
    return {
        "llama_cpp_python": llama_cpp.__version__,
        "gpu_offload": bool(llama_cpp.llama_supports_gpu_offload()),
        "max_devices": int(llama_cpp.llama_max_devices()),
        "system_info": system_info,
    }


def supports_gpu_offload() -> bool:
    """Whether this llama.cpp build can put layers on a GPU."""
    import llama_cpp

    return bool(llama_cpp.llama_supports_gpu_offload())


def install_log_hook(forward: LogFn) -> None:
    """Route llama.cpp's native log lines (level, bytes) to forward; installed once per process."""
    global _log_hook
    if _log_hook is not None:
        return
    import llama_cpp

    @llama_cpp.llama_log_callback
    def hook(level: int, text: bytes, _user: ctypes.c_void_p) -> None:
        forward(level, text)

    _log_hook = hook  # keep the ctypes callback alive
    llama_cpp.llama_log_set(hook, ctypes.c_void_p(0))


class Native:
    """Low-level access to one loaded Llama: vocabulary, KV memory, abort hook, sampler, logits, packed batches."""

    def __init__(self, llama: Any) -> None:
        import llama_cpp

        self._lib = llama_cpp
        self._llama = llama
        self._vocab = llama_cpp.llama_model_get_vocab(llama.model)

    def token_text(self, token: int) -> str:
        """The text of one special token (e.g. BOS) for chat templates."""
        if token < 0:
            return ""
        return self._lib.llama_vocab_get_text(self._vocab, token).decode("utf-8", "replace")

    def is_eog(self, token: int) -> bool:
        """Whether token ends generation (EOS, EOT and kin)."""
        return bool(self._lib.llama_vocab_is_eog(self._vocab, token))

    def piece(self, token: int, special: bool = False) -> bytes:
        """Bytes of one token as generated text (control tokens render as nothing unless special)."""
        size = 64
        while True:
            buf = ctypes.create_string_buffer(size)
            n = self._lib.llama_token_to_piece(self._vocab, token, buf, size, 0, special)
            if n >= 0:
                return buf.raw[:n]
            size = -n

    def vocabulary(self) -> Iterator[tuple[int, bytes, bool, bool]]:
        """Every token: (id, bytes, is a control token, ends generation)."""
        lib, vocab = self._lib, self._vocab
        for token in range(lib.llama_vocab_n_tokens(vocab)):
            piece = self.piece(token, special=True)
            attr = lib.llama_vocab_get_attr(vocab, token)
            user_control = attr & lib.LLAMA_TOKEN_ATTR_USER_DEFINED and piece[:1] == b"<" and piece[-1:] == b">"
            control = bool(attr & lib.LLAMA_TOKEN_ATTR_CONTROL or user_control)
            yield token, piece, control, bool(lib.llama_vocab_is_eog(vocab, token))

    def keep_cache(self, reused: int) -> int:
        """Drop the KV cache after the first `reused` tokens; returns how many stay (0 when it had to clear all)."""
        llama = self._llama
        if reused < llama.n_tokens:
            memory = self._lib.llama_get_memory(llama.ctx)
            if not self._lib.llama_memory_seq_rm(memory, -1, reused, -1):
                reused = 0
                llama.reset()
                self._lib.llama_memory_clear(memory, True)
            llama.n_tokens = reused
        return reused

    @contextmanager
    def abort_hook(self, poll: Callable[[], bool]) -> Iterator[None]:
        """llama.cpp asks poll after each graph node while evaluating a batch; True aborts the batch."""
        lib = self._lib
        callback = lib.ggml_abort_callback(lambda _data: poll())
        lib.llama_set_abort_callback(self._llama.ctx, callback, None)
        try:
            yield
        finally:
            # Decoding one token at a time needs no abort hook, and a Python call per graph node would cost.
            lib.llama_set_abort_callback(self._llama.ctx, lib.ggml_abort_callback(), None)  # a NULL pointer

    @contextmanager
    def sampler(self, args: dict[str, Any]) -> Iterator[Callable[[int], int]]:
        """A sampler chain for args (llama-cpp-python's own, as its generate builds it); yields a function that
        samples the logits of one position of the last batch (-1: its last) and advances the chain's state."""
        llama = self._llama
        chain = llama._init_sampler(**args)

        def sample(index: int = -1) -> int:
            return int(self._lib.llama_sampler_sample(chain.sampler, llama.ctx, index))

        try:
            yield sample
        finally:
            chain.close()

    @contextmanager
    def decode_threads(self) -> Iterator[None]:
        """Evaluate batches with the decode thread count instead of the batch one (all cores)."""
        llama = self._llama
        self._lib.llama_set_n_threads(llama.ctx, llama.n_threads, llama.n_threads)
        try:
            yield
        finally:
            self._lib.llama_set_n_threads(llama.ctx, llama.n_threads, llama.n_threads_batch)

    def logits(self, index: int = -1) -> np.ndarray:
        """One position's logits from the last batch (-1: its last), in llama.cpp's own buffer (writable)."""
        import numpy as np

        ptr = self._lib.llama_get_logits_ith(self._llama.ctx, index)
        return np.ctypeslib.as_array(ptr, shape=(int(self._llama.n_vocab()),))

    def evaluate(self, tokens: Sequence[int], first_output: int) -> None:
        """Append tokens to the KV cache in one batch, with logits for every position from first_output on."""
        llama = self._llama
        if len(tokens) > llama.n_batch:
            raise ValueError(f"{len(tokens)} tokens do not fit one batch of {llama.n_batch}")
        batch, n_past = llama._batch.batch, llama.n_tokens
        batch.n_tokens = len(tokens)
        for i, token in enumerate(tokens):
            batch.token[i] = token
            batch.pos[i] = n_past + i
            batch.seq_id[i][0] = 0
            batch.n_seq_id[i] = 1
            batch.logits[i] = i >= first_output
        llama._ctx.decode(llama._batch)
        llama.input_ids[n_past : n_past + len(tokens)] = tokens
        llama.n_tokens = n_past + len(tokens)

    def can_roll_back(self) -> bool:
        """Whether the KV cache can forget its last positions (not for recurrent or hybrid models)."""
        model = self._llama.model
        return not (self._lib.llama_model_is_recurrent(model) or self._lib.llama_model_is_hybrid(model))

    def roll_back(self, keep: int) -> None:
        """Forget every cached position from keep on (draft tokens that were not accepted)."""
        llama = self._llama
        if keep < llama.n_tokens:
            if not self._lib.llama_memory_seq_rm(self._lib.llama_get_memory(llama.ctx), -1, keep, -1):
                raise RuntimeError("llama.cpp could not drop rejected draft tokens from the KV cache")
            llama.n_tokens = keep

    def n_seq_max(self) -> int:
        """How many sequences one batch may hold."""
        return int(self._llama.context_params.n_seq_max)

    def pooled(self, token_lists: Sequence[list[int]], width: int) -> list[np.ndarray | None]:
        """Decode the token lists as one packed batch (one sequence each) and copy out each pooled vector."""
        import numpy as np

        llama, lib = self._llama, self._lib
        llama._batch.reset()
        for seq_id, tokens in enumerate(token_lists):
            llama._batch.add_sequence(tokens, seq_id, True)
        lib.llama_memory_clear(lib.llama_get_memory(llama.ctx), True)
        llama._ctx.decode(llama._batch)
        rows: list[np.ndarray | None] = []
        for seq_id in range(len(token_lists)):
            ptr = lib.llama_get_embeddings_seq(llama.ctx, seq_id)
            rows.append(np.ctypeslib.as_array(ptr, shape=(width,)).copy() if ptr else None)
        llama._batch.reset()
        return rows
