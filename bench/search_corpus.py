"""Inputs of the search benchmark: a synthetic embedder, generated corpora and a labelled set from real text."""

from __future__ import annotations

import hashlib
import os
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mcp_open.engines.protocol import Embedded, Engine, EngineInfo, Hooks
from mcp_open.engines.scripted import ScriptedEngine

WORDS = tuple(
    [
        "harbour",
        "pilot",
        "vessel",
        "tonnage",
        "berth",
        "arrival",
        "departure",
        "tug",
        "buoy",
        "record",
        "flag",
        "cargo",
        "crane",
        "quay",
        "manifest",
        "customs",
        "inspection",
        "ledger",
        "invoice",
        "penalty",
        "clause",
        "supplier",
        "delivery",
        "warranty",
        "contract",
        "payment",
        "schedule",
        "audit",
        "budget",
        "retry",
        "timeout",
        "backoff",
        "request",
        "gateway",
        "session",
        "header",
        "parser",
        "token",
        "cache",
        "index",
        "query",
        "passage",
        "vector",
        "model",
        "garden",
        "tomato",
        "pruning",
        "watering",
        "soil",
        "compost",
        "orchard",
        "harvest",
        "season",
        "frost",
        "greenhouse",
        "seedling",
        "trellis",
    ]
)
SYLLABLES = ("ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "ze", "pa", "qui", "dro", "fen", "gal", "hur")


def vocabulary(size: int = 8000) -> tuple[list[str], np.ndarray]:
    """Real words among generated ones, drawn with Zipf-like frequencies as in natural text."""
    rng = np.random.default_rng(11)
    made = {"".join(rng.choice(SYLLABLES, size=int(rng.integers(2, 5)))) for _ in range(size * 2)}
    words = sorted(made - set(WORDS))[: size - len(WORDS)]
    words = [*words[:50], *WORDS, *words[50:]]  # the real words at middling frequency
    weights = 1.0 / np.arange(1, len(words) + 1) ** 1.07
    return words, weights / weights.sum()


@dataclass
class SyntheticEmbedder(ScriptedEngine):
    """Random unit vectors seeded by each text's hash: instant, repeatable, and as wide as Qwen3-Embedding."""

    name: str = "synthetic-1024"
    embedding: bool = True
    width: int = 1024
    n_ctx: int = 8192
    texts_embedded: int = 0
    calls_made: list[int] = field(default_factory=list)

    def embed(self, texts: Sequence[str], *, truncate: bool, hooks: Hooks | None = None) -> Embedded:
        """One pseudo-random vector per text."""
        self.texts_embedded += len(texts)
        self.calls_made.append(len(texts))
        rows = [_seeded_vector(t, self.width) for t in texts]
        return Embedded(np.stack(rows), sum(max(1, len(t.split())) for t in texts), [])


def _seeded_vector(text: str, width: int) -> np.ndarray:
    seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")
    return np.random.default_rng(seed).standard_normal(width).astype(np.float32)


def write_synthetic_corpus(folder: Path, files: int, sections: int = 10, words: int = 150) -> Path:
    """files Markdown files of `sections` headed sections each: one passage per section."""
    rng = np.random.default_rng(7)
    vocab, weights = vocabulary()
    folder.mkdir(parents=True, exist_ok=True)
    settled = time.time() - 3600  # an hour old: no file is too fresh to trust its size and mtime
    for i in range(files):
        body = "".join(
            f"# Section {j} of file {i}\n\n{' '.join(rng.choice(vocab, size=words, p=weights))}.\n\n"
            for j in range(sections)
        )
        path = folder / f"doc{i:05}.md"
        path.write_text(body)
        os.utime(path, (settled, settled))
    return folder


@dataclass(frozen=True)
class Labelled:
    """A query and the file that answers it."""

    query: str
    relevant: str


# The first sentence of a prose paragraph (the title and its underline come before it, code is indented).
FIRST_SENTENCE = re.compile(r"\n\n([A-Z][^\n]*(?:\n[^\n ][^\n]*)*?[.:])(?=\s)")


def write_labelled_set(folder: Path, topics: int, chars: int) -> list[Labelled]:
    """Python reference topics (pydoc_data, real English text): each topic's first sentence is the query and is
    removed from the topic's file, so no passage contains it verbatim; the topic's file is the relevant one."""
    from pydoc_data.topics import topics as texts

    folder.mkdir(parents=True, exist_ok=True)
    labelled = []
    for name in sorted(texts)[:topics]:
        body = texts[name][:chars]
        match = FIRST_SENTENCE.search(body)
        if match is None:
            continue
        query = " ".join(match.group(1).rstrip(".:").split())
        if not 30 <= len(query) <= 300:
            continue
        (folder / f"{name}.txt").write_text(body.replace(match.group(1), "", 1))
        labelled.append(Labelled(query, f"{name}.txt"))
    return labelled


class Capturing:
    """An engine wrapper that keeps every vector it returns, by text (for offline float16/truncation analysis)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.vectors: dict[str, np.ndarray] = {}

    @property
    def info(self) -> EngineInfo:
        """The wrapped engine's facts."""
        return self.engine.info

    def count_tokens(self, text: str) -> int:
        """Delegated."""
        return self.engine.count_tokens(text)

    def embed(self, texts: Sequence[str], *, truncate: bool, hooks: Hooks | None = None) -> Embedded:
        """Delegated, keeping a copy of each vector."""
        done = self.engine.embed(texts, truncate=truncate, hooks=hooks)
        for text, row in zip(texts, done.vectors, strict=True):
            self.vectors[text] = np.array(row, dtype=np.float32)
        return done

    def __getattr__(self, name: str) -> object:
        return getattr(self.engine, name)
