"""Read a GGUF file's header (metadata and tensor shapes) without touching the weights."""

from __future__ import annotations

import mmap
import re
import struct
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from math import prod
from pathlib import Path
from typing import TypeAlias

from gguf import GGMLQuantizationType, GGUFValueType, LlamaFileType, PoolingType

from mcp_open.errors import ModelLoadError, ModelNotFoundError

GGUF_MAGIC = b"GGUF"
SHARD_RE = re.compile(r"^(?P<stem>.+)-(?P<index>\d{5})-of-(?P<count>\d{5})\.gguf$", re.IGNORECASE)

_SCALAR_FORMATS: dict[GGUFValueType, str] = {
    GGUFValueType.UINT8: "B",
    GGUFValueType.INT8: "b",
    GGUFValueType.UINT16: "H",
    GGUFValueType.INT16: "h",
    GGUFValueType.UINT32: "I",
    GGUFValueType.INT32: "i",
    GGUFValueType.FLOAT32: "f",
    GGUFValueType.BOOL: "?",
    GGUFValueType.UINT64: "Q",
    GGUFValueType.INT64: "q",
    GGUFValueType.FLOAT64: "d",
}
# Per-layer arrays (head counts) are kept; vocabularies and merges are skipped, never decoded.
_MAX_KEPT_ARRAY = 4096

Scalar: TypeAlias = int | float | bool | str
Value: TypeAlias = Scalar | list[Scalar] | None


@dataclass(frozen=True)
class GgufInfo:
    """What `mcp-open models info` shows about a GGUF model."""

    path: Path
    architecture: str
    name: str | None
    parameter_count: int
    quantization: str | None
    context_length: int | None
    embedding_length: int | None
    block_count: int | None
    head_count: int | None
    head_count_kv: int | None
    kv_width: int | None  # K (= V) values per token per layer: KV heads x key length, sizes the KV cache
    has_chat_template: bool
    chat_template: str | None
    pooling_type: str | None
    size_bytes: int


@dataclass(frozen=True)
class _Tensor:
    """One tensor's shape and type from the header."""

    name: str
    elements: int
    ggml_type: int


@dataclass(frozen=True)
class _Header:
    """The parsed header of one GGUF file."""

    metadata: dict[str, Value]
    tensors: list[_Tensor]


class _Cursor:
    """Sequential reader over a memory-mapped GGUF header."""

    def __init__(self, buffer: mmap.mmap, byte_order: str) -> None:
        self.buffer = buffer
        self.order = byte_order
        self.pos = 0

    def unpack(self, fmt: str) -> tuple[int | float | bool, ...]:
        """Read fixed-size values and advance."""
        full = self.order + fmt
        values = struct.unpack_from(full, self.buffer, self.pos)
        self.pos += struct.calcsize(full)
        return values

    def uint(self, fmt: str = "Q") -> int:
        """Read one unsigned integer."""
        return int(self.unpack(fmt)[0])

    def string(self) -> str:
        """Read a length-prefixed UTF-8 string."""
        length = self.uint()
        raw = self.buffer[self.pos : self.pos + length]
        if len(raw) != length:
            raise struct.error("string runs past the end of the file")
        self.pos += length
        return raw.decode("utf-8", errors="replace")

    def value(self, vtype: int) -> Value:
        """Read one metadata value; large arrays are skipped and read as None."""
        kind = GGUFValueType(vtype)
        if kind == GGUFValueType.STRING:
            return self.string()
        if kind == GGUFValueType.ARRAY:
            return self.array()
        return self.unpack(_SCALAR_FORMATS[kind])[0]

    def array(self) -> list[Scalar] | None:
        """Read a small array, or skip a large one (vocabularies) cheaply."""
        item_type, count = self.uint("I"), self.uint()
        kind = GGUFValueType(item_type)
        if kind in _SCALAR_FORMATS and count <= _MAX_KEPT_ARRAY:
            return list(self.unpack(f"{count}{_SCALAR_FORMATS[kind]}"))
        if kind in _SCALAR_FORMATS:
            self.pos += count * struct.calcsize(_SCALAR_FORMATS[kind])
        elif kind == GGUFValueType.STRING:
            self.skip_strings(count)
        else:
            for _ in range(count):
                self.value(item_type)
        return None

    def skip_strings(self, count: int) -> None:
        """Step over an array of strings without decoding them."""
        length_format = struct.Struct(self.order + "Q")
        for _ in range(count):
            (length,) = length_format.unpack_from(self.buffer, self.pos)
            self.pos += 8 + length

    def tensor(self) -> _Tensor:
        """Read one tensor-info record."""
        name = self.string()
        dims = [self.uint() for _ in range(self.uint("I"))]
        ggml_type = self.uint("I")
        self.uint()  # data offset, not needed
        return _Tensor(name, prod(dims), ggml_type)


def _byte_order(buffer: mmap.mmap) -> str:
    """Little- or big-endian, judged from the version field."""
    (version,) = struct.unpack_from("<I", buffer, 4)
    return "<" if version & 0xFFFF else ">"


def _parse(path: Path, buffer: mmap.mmap) -> _Header:
    """Parse the header of an open GGUF file."""
    magic = bytes(buffer[:4])
    if magic != GGUF_MAGIC:
        raise ModelLoadError(
            f"{path} is not a GGUF file (magic {magic!r}, expected {GGUF_MAGIC!r}); pass a .gguf model"
        )
    cursor = _Cursor(buffer, _byte_order(buffer))
    cursor.pos = 4
    version = cursor.uint("I")
    if version < 2:
        raise ModelLoadError(f"{path} is GGUF version {version}, too old to read; convert it again with llama.cpp")
    tensor_count, kv_count = cursor.uint(), cursor.uint()
    metadata = {}
    for _ in range(kv_count):
        key = cursor.string()
        metadata[key] = cursor.value(cursor.uint("I"))
    return _Header(metadata, [cursor.tensor() for _ in range(tensor_count)])


def _read_header(path: Path) -> _Header:
    """Memory-map a file and parse its GGUF header, mapping failures to ModelLoadError."""
    try:
        with path.open("rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as buffer:
            return _parse(path, buffer)
    except ValueError as err:  # mmap of an empty file, or an unknown value type
        if path.stat().st_size < 4:
            raise ModelLoadError(f"{path} is not a GGUF file (magic b''); pass a .gguf model") from err
        raise ModelLoadError(f"{path} has a corrupt GGUF header: {err}") from err
    except struct.error as err:
        raise ModelLoadError(f"{path} has a truncated or corrupt GGUF header: {err}") from err


def shard_paths(path: Path) -> list[Path]:
    """All shards of a split GGUF given its first shard, or just the path itself."""
    match = SHARD_RE.match(path.name)
    if match is None:
        return [path]
    count = int(match["count"])
    return [path.with_name(f"{match['stem']}-{i:05d}-of-{count:05d}.gguf") for i in range(1, count + 1)]


def _int(metadata: dict[str, Value], key: str) -> int | None:
    """An integer metadata value; for per-layer arrays, the largest entry."""
    value = metadata.get(key)
    if isinstance(value, list):
        numbers = [int(v) for v in value if isinstance(v, int | float)]
        return max(numbers) if numbers else None
    return int(value) if isinstance(value, int | float) else None


def _str(metadata: dict[str, Value], key: str) -> str | None:
    """A string metadata value or None."""
    value = metadata.get(key)
    return value if isinstance(value, str) else None


def _quantization(metadata: dict[str, Value], tensors: list[_Tensor]) -> str | None:
    """The file type's name (Q4_K_M, ...), or the tensor type holding most weights."""
    file_type = _int(metadata, "general.file_type")
    if file_type is not None and file_type in LlamaFileType._value2member_map_:
        name = LlamaFileType(file_type).name
        if name != "GUESSED":
            return name.removeprefix("MOSTLY_").removeprefix("ALL_")
    weights: Counter[int] = Counter()
    for tensor in tensors:
        weights[tensor.ggml_type] += tensor.elements
    if not weights:
        return None
    top = weights.most_common(1)[0][0]
    return GGMLQuantizationType(top).name if top in GGMLQuantizationType._value2member_map_ else None


def _pooling(metadata: dict[str, Value], arch: str) -> str | None:
    """The pooling type name in lower case (mean, cls, last, ...)."""
    value = _int(metadata, f"{arch}.pooling_type")
    if value is None or value not in PoolingType._value2member_map_:
        return None
    return PoolingType(value).name.lower()


def _kv_width(metadata: dict[str, Value], arch: str) -> int | None:
    """KV heads times key length, with llama.cpp's defaults (all heads; embedding / heads)."""
    heads = _int(metadata, f"{arch}.attention.head_count")
    kv_heads = _int(metadata, f"{arch}.attention.head_count_kv") or heads
    key_length = _int(metadata, f"{arch}.attention.key_length")
    embedding = _int(metadata, f"{arch}.embedding_length")
    if key_length is None and embedding and heads:
        key_length = embedding // heads
    return kv_heads * key_length if kv_heads and key_length else None


def _headers(path: Path) -> Iterator[_Header]:
    """The header of each shard that exists, first shard first."""
    for shard in shard_paths(path):
        if shard == path or shard.is_file():
            yield _read_header(shard)


def read_info(path: str | Path) -> GgufInfo:
    """Read a GGUF model's facts from its header (all shards for a split model)."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise ModelNotFoundError(f"{path} does not exist or is not a file; pass a .gguf model file")
    headers = list(_headers(path))
    metadata, tensors = headers[0].metadata, [t for h in headers for t in h.tensors]
    arch = _str(metadata, "general.architecture") or "unknown"
    template = _str(metadata, "tokenizer.chat_template")
    heads = _int(metadata, f"{arch}.attention.head_count")
    return GgufInfo(
        path=path,
        architecture=arch,
        name=_str(metadata, "general.name"),
        parameter_count=sum(t.elements for t in tensors),
        quantization=_quantization(metadata, tensors),
        context_length=_int(metadata, f"{arch}.context_length"),
        embedding_length=_int(metadata, f"{arch}.embedding_length"),
        block_count=_int(metadata, f"{arch}.block_count"),
        head_count=heads,
        head_count_kv=_int(metadata, f"{arch}.attention.head_count_kv") or heads,
        kv_width=_kv_width(metadata, arch),
        has_chat_template=bool(template),
        chat_template=template,
        pooling_type=_pooling(metadata, arch),
        size_bytes=sum(shard.stat().st_size for shard in shard_paths(path) if shard.is_file()),
    )
