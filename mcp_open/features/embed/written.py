"""Vectors written to a file instead of returned: NumPy .npy (one float32 array) or JSON Lines (a line each)."""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from mcp_open.errors import InvalidRequestError
from mcp_open.features.common.schemas import WrittenVectors
from mcp_open.features.files.sandbox import Sandbox
from mcp_open.features.files.writing import write_atomic

FORMATS = {".npy": "npy", ".jsonl": "jsonl"}


def vectors_target(box: Sandbox, spec: str, *, overwrite: bool) -> Path:
    """Where the vectors go, checked before any work: a .npy or .jsonl file inside the allowed folders."""
    if Path(spec).suffix.lower() not in FORMATS:
        raise InvalidRequestError(
            f"output_path '{spec}' must end in .npy (a NumPy array for np.load) or .jsonl (a JSON line per vector)"
        )
    return box.output_path(spec, overwrite=overwrite)


def write_vectors(
    box: Sandbox, target: Path, vectors: np.ndarray, paths: Sequence[str] | None, *, overwrite: bool
) -> WrittenVectors:
    """Write the vectors in the target's format; the receipt says where and how many."""
    kind = FORMATS[target.suffix.lower()]
    data = _npy(vectors) if kind == "npy" else _jsonl(vectors, paths)
    size = write_atomic(box, target, data, overwrite=overwrite)
    return WrittenVectors(path=box.shown(target), format=kind, count=int(vectors.shape[0]), bytes=size)  # type: ignore[arg-type]


def _npy(vectors: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(vectors, dtype=np.float32), allow_pickle=False)
    return buffer.getvalue()


def _jsonl(vectors: np.ndarray, paths: Sequence[str] | None) -> str:
    lines = []
    for index, row in enumerate(np.asarray(vectors, dtype=np.float32).tolist()):
        line: dict[str, object] = {"index": index, "embedding": row}
        if paths:
            line["path"] = paths[index]
        lines.append(json.dumps(line, separators=(",", ":")))
    return "\n".join(lines) + "\n"
