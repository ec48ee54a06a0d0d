"""Deterministic material for the delegation suite: a long report, short texts to translate, small invoices."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

SUBJECTS = ["The committee", "Our team", "The city council", "The research group", "The board", "The new supplier"]
VERBS = ["reviewed", "approved", "questioned", "postponed", "extended", "measured", "published", "rejected"]
OBJECTS = [
    "the budget for the coming year",
    "the plan to renovate the old library",
    "the results of the second field trial",
    "a proposal to open the station earlier",
    "the cost of repairing the northern bridge",
    "the schedule for the spring conference",
    "the report on water quality in the river",
]
CLAUSES = [
    "after a long discussion",
    "because the numbers did not add up",
    "although several members disagreed",
    "on the advice of an outside expert",
    "before the deadline at the end of the month",
    "without waiting for the final figures",
]
CUSTOMERS = ["Acme Ltd", "Borealis GmbH", "Cobalt & Sons", "Delta Foods", "Evergreen SA", "Fjord AS", "Granite Inc"]


@dataclass(frozen=True)
class Corpus:
    """Where the material lies, relative to the allowed root."""

    root: Path
    document: str  # one long document
    texts: list[str]  # files to translate
    invoices: list[str]  # small files to extract fields from


def sentence(rng: random.Random) -> str:
    """One plausible sentence of a meeting report."""
    return f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)} {rng.choice(CLAUSES)}."


def document(rng: random.Random, tokens: int, count: Callable[[str], int]) -> str:
    """Paragraphs of report prose until the text has about `tokens` tokens in the model's vocabulary."""
    paragraphs: list[str] = []
    total = 0
    while total < tokens:
        paragraphs.append(" ".join(sentence(rng) for _ in range(5)))
        total += count(paragraphs[-1] + "\n\n")
    return "\n\n".join(paragraphs) + "\n"


def note(rng: random.Random, index: int, sentences: int) -> str:
    """A short Markdown note, one sentence per line."""
    lines = [sentence(rng) for _ in range(sentences)]
    return f"# Note {index + 1}\n\n" + "\n".join(lines) + "\n"


def invoice(rng: random.Random, index: int) -> str:
    """A small plain-text invoice."""
    total = rng.randint(100, 99_999) / 100
    return (
        f"INVOICE INV-{1000 + index}\nDate: 2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}\n"
        f"Customer: {rng.choice(CUSTOMERS)}\nItems: {rng.randint(1, 9)} x consulting hours\n"
        f"Total: {total:.2f} EUR\nPayment due within 30 days.\n"
    )


def write_corpus(
    root: Path, *, document_tokens: int, texts: int, sentences: int, invoices: int, count: Callable[[str], int]
) -> Corpus:
    """Write the material under root (seeded: every run reads the same text)."""
    rng = random.Random(20261129)
    (root / "notes").mkdir(parents=True)
    (root / "invoices").mkdir()
    (root / "report.md").write_text(document(rng, document_tokens, count))
    for i in range(texts):
        (root / "notes" / f"note{i:02d}.md").write_text(note(rng, i, sentences))
    for i in range(invoices):
        (root / "invoices" / f"inv{i:03d}.txt").write_text(invoice(rng, i))
    return Corpus(
        root=root,
        document="report.md",
        texts=[f"notes/note{i:02d}.md" for i in range(texts)],
        invoices=[f"invoices/inv{i:03d}.txt" for i in range(invoices)],
    )
