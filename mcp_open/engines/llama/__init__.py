"""The llama.cpp engine, one module per job: decode loop, guided decoding, embedding, tokens, prefix reuse, logs.

Every llama_cpp import, low-level call and private attribute of llama-cpp-python sits in `native`.
"""

from mcp_open.engines.config import EngineConfig
from mcp_open.engines.llama.embedding import EMBED_PACK_TOKENS
from mcp_open.engines.llama.engine import LlamaEngine
from mcp_open.engines.llama.native import build_features, supports_gpu_offload
from mcp_open.engines.llama.tokens import TOKENIZE_PIECE_CHARS

__all__ = [
    "EMBED_PACK_TOKENS",
    "TOKENIZE_PIECE_CHARS",
    "EngineConfig",
    "LlamaEngine",
    "build_features",
    "supports_gpu_offload",
]
