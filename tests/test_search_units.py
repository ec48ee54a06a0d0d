"""The pieces of search that need no model: chunking, FTS queries, fusion, model identity, the vector cache."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np

from mcp_open.features.files.chunking import chunk_text
from mcp_open.features.search.fusion import fts_query, reciprocal_rank_fusion, relative_score_fusion
from mcp_open.features.search.index_store import Identity, IndexStore, NewChunk, NewFile
from mcp_open.features.search.vectors import VectorCache


def words(text: str) -> int:
    return len(text.split())


def test_markdown_passages_start_at_headings_and_carry_the_heading_trail() -> None:
    text = "# Guide\n\nIntro " + "word " * 60 + "\n\n## Install\n\n" + "step " * 60 + "\n\n## Use\n\nrun it\n"
    chunks = chunk_text(text, words, markdown=True, max_tokens=100, overlap=10)
    assert [c.text.splitlines()[0] for c in chunks] == ["# Guide", "## Install", "## Use"]
    assert [c.heading for c in chunks] == ["Guide", "Guide > Install", "Guide > Use"]
    assert (chunks[0].start_line, chunks[0].end_line, chunks[1].start_line) == (1, 3, 5)


def test_code_is_cut_before_definitions_and_their_decorators() -> None:
    body = "    x = 1\n" * 30
    text = f"import os\n\n@cache\ndef first():\n{body}\n\nclass Second:\n{body}"
    chunks = chunk_text(text, words, max_tokens=100, overlap=10)
    assert [c.text.splitlines()[0] for c in chunks] == ["import os", "class Second:"]
    assert "@cache\ndef first():" in chunks[0].text


def test_long_sections_overlap_by_whole_lines_and_cover_every_line() -> None:
    text = "".join(f"line {i} " + "w " * 8 + "\n" for i in range(100))
    chunks = chunk_text(text, words, max_tokens=50, overlap=12)
    assert all(words(c.text) <= 50 for c in chunks)
    for before, after in itertools.pairwise(chunks):
        assert 0 < before.end_line - after.start_line + 1 <= 2  # one line of 10 words repeats
    covered = {n for c in chunks for n in range(c.start_line, c.end_line + 1)}
    assert covered == set(range(1, 101))


def test_pdf_pages_are_never_crossed_and_numbered() -> None:
    pages = ["alpha " * 30 + "\n", "beta " * 30 + "\n", "gamma\n"]
    offsets = [sum(len(p) for p in pages[:i]) for i in range(3)]
    chunks = chunk_text("".join(pages), words, pages=offsets, max_tokens=100)
    assert [(c.page, c.text.split()[0]) for c in chunks] == [(1, "alpha"), (2, "beta"), (3, "gamma")]


def test_an_over_long_line_is_split_to_fit() -> None:
    chunks = chunk_text("x " * 500 + "\n", words, max_tokens=100, overlap=0)
    assert sum(words(c.text) for c in chunks) == 500 and all(words(c.text) <= 100 for c in chunks)
    assert {c.start_line for c in chunks} == {1}


def test_fts_query_quotes_words_so_identifiers_stay_phrases() -> None:
    assert fts_query('find parse_retry_header "now"') == '"find" OR "parse_retry_header" OR "now"'
    assert fts_query("?!") is None


def test_reciprocal_rank_fusion_rewards_agreement_and_says_why() -> None:
    fused = reciprocal_rank_fusion([(1, 0.9), (2, 0.8), (3, 0.7)], [(3, 12.0), (4, 9.0)])
    assert [item for item, _s, _w in fused][:2] == [3, 1]
    assert {item: why for item, _s, why in fused} == {1: "semantic", 2: "semantic", 3: "both", 4: "lexical"}


def test_model_identity_tolerates_rounding_but_not_another_model() -> None:
    probe = tuple(float(x) for x in np.linspace(-1, 1, 16))
    same = Identity("m", 16, tuple(x + 1e-4 for x in probe))
    assert Identity("m", 16, probe).same_model(same)
    assert not Identity("m", 16, probe).same_model(Identity("m", 16, tuple(reversed(probe))))
    assert not Identity("m", 16, probe).same_model(Identity("other", 16, probe))


def test_vector_cache_follows_another_writer_file_by_file(tmp_path: Path) -> None:
    writer, reader = IndexStore(tmp_path / "i.sqlite3"), IndexStore(tmp_path / "i.sqlite3")
    cache = VectorCache()

    def put(path: str, vector: list[float]) -> None:
        chunk = NewChunk(1, 1, None, path)
        writer.store([NewFile(path, 1, 1, path + str(vector), 1, [chunk], np.array([vector], np.float32), 1)])

    put("/a", [1.0, 0.0])
    put("/b", [0.0, 1.0])
    assert cache.refresh(reader) == 2 and cache.refresh(reader) == 0
    ids = [r.id for r in reader.files().values()]
    assert [s for _i, s in cache.top(np.array([1.0, 0.0]), ids, 5)] == [1.0, 0.0]
    put("/b", [1.0, 0.0])  # another process re-embeds one file
    assert cache.refresh(reader) == 1
    assert len(cache.top(np.array([1.0, 0.0]), [r.id for r in reader.files().values()], 5)) == 2
    writer.remove(["/a"])
    assert cache.refresh(reader) == 0 and len(cache.top(np.array([1.0, 0.0]), [*ids, 99], 5)) == 1


def test_relative_score_fusion_keeps_a_clear_winner_and_says_why() -> None:
    semantic = [(1, 0.90), (2, 0.89), (3, 0.80)]
    lexical = [(3, 20.0), (4, 2.0)]
    fused = relative_score_fusion(semantic, lexical)
    assert [item for item, _s, _w in fused] == [3, 1, 2, 4]  # 3 ties with 1 at 0.5 and was found both ways
    assert {item: why for item, _s, why in fused} == {1: "semantic", 2: "semantic", 3: "both", 4: "lexical"}
    assert fused[0][1] == 0.5 and fused[-1][1] == 0.0
    assert relative_score_fusion([(5, 0.3)], []) == [(5, 0.5, "semantic")]
