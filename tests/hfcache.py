"""Real GGUF files and a Hugging Face cache laid out on disk exactly as huggingface_hub does it."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import gguf
import numpy as np
import pytest
from huggingface_hub import constants as hf_constants

COMMIT = "0123456789abcdef0123456789abcdef01234567"


def gguf_bytes(tmp: Path, label: str, *, rows: int = 8) -> bytes:
    """The bytes of a small real GGUF; `label` and `rows` make the contents differ."""
    path = tmp / f"{label}.gguf"
    writer = gguf.GGUFWriter(path, "qwen3")
    writer.add_name(label)
    writer.add_context_length(128)
    writer.add_tensor("token_embd.weight", np.zeros((rows, 16), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path.read_bytes()


def shard_bytes(tmp: Path, stem: str) -> dict[str, bytes]:
    """Three real GGUF shards named like llama.cpp's gguf-split output."""
    writer = gguf.GGUFWriter(tmp / f"{stem}.gguf", "qwen3", split_max_tensors=1)
    for i in range(3):
        writer.add_tensor(f"blk.{i}.w", np.zeros((4 * (i + 1), 16), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    names = [f"{stem}-{i:05d}-of-00003.gguf" for i in (1, 2, 3)]
    return {name: (tmp / name).read_bytes() for name in names}


def cache_repo(cache: Path, repo: str, files: dict[str, bytes], commit: str = COMMIT) -> Path:
    """Lay files out exactly as huggingface_hub does: blobs, refs/main and snapshot symlinks."""
    root = cache / f"models--{repo.replace('/', '--')}"
    (root / "refs").mkdir(parents=True, exist_ok=True)
    (root / "refs" / "main").write_text(commit)
    for name, data in files.items():
        blob = root / "blobs" / hashlib.sha256(data).hexdigest()
        blob.parent.mkdir(parents=True, exist_ok=True)
        blob.write_bytes(data)
        link = root / "snapshots" / commit / name
        link.parent.mkdir(parents=True, exist_ok=True)
        link.unlink(missing_ok=True)
        link.symlink_to(os.path.relpath(blob, link.parent))
    return root / "snapshots" / commit


def use_cache(home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point HF_HOME and the hub cache at home, offline; returns the hub cache folder."""
    monkeypatch.setenv("HF_HOME", str(home))
    monkeypatch.setenv("HF_HUB_CACHE", str(home / "hub"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(hf_constants, "HF_HUB_CACHE", str(home / "hub"))
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", True)
    return home / "hub"
