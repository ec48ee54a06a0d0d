"""Quantisation labels of GGUF file names and the choice among a repo's candidate model files."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from mcp_open.models.ggufinfo import SHARD_RE

DEFAULT_QUANT = "Q4_K_M"

# Approximate bits per weight (llama.cpp's quantize table): the distance used to pick the closest quant.
QUANT_BITS: dict[str, float] = {
    "F32": 32.0, "BF16": 16.0, "F16": 16.0, "Q8_0": 8.5, "Q6_K": 6.56, "Q5_1": 6.0,
    "Q5_K_M": 5.69, "Q5_K_S": 5.54, "Q5_0": 5.5, "Q4_1": 5.0, "Q4_K_M": 4.89, "Q4_K_S": 4.58,
    "IQ4_NL": 4.5, "Q4_0": 4.5, "IQ4_XS": 4.25, "Q3_K_L": 4.27, "Q3_K_M": 3.91, "IQ3_M": 3.66,
    "Q3_K_S": 3.5, "IQ3_S": 3.44, "IQ3_XS": 3.3, "IQ3_XXS": 3.06, "Q2_K": 2.96, "Q2_K_S": 2.6,
    "IQ2_M": 2.7, "IQ2_S": 2.5, "IQ2_XS": 2.31, "IQ2_XXS": 2.06, "IQ1_M": 1.75, "IQ1_S": 1.56,
}  # fmt: skip
_QUANT_TOKEN = re.compile(r"(?<![A-Z0-9])((?:UD-)?(?:I?Q|TQ)\d(?:_[A-Z0-9]+)*|BF16|F16|F32|MXFP4)(?![A-Z0-9])")


@dataclass(frozen=True)
class Candidate:
    """One model file in a repo: a single GGUF or all shards of a split one."""

    files: tuple[str, ...]
    quant: str | None
    complete: bool


def _stem(name: str) -> str:
    """The file name without folders, shard suffix or extension, upper-cased."""
    base = name.rsplit("/", 1)[-1]
    match = SHARD_RE.match(base)
    return (match["stem"] if match else re.sub(r"\.gguf$", "", base, flags=re.IGNORECASE)).upper()


def quant_label(name: str) -> str | None:
    """The quantisation a GGUF file name carries (Q4_K_M, F16, ...), or None."""
    found = _QUANT_TOKEN.findall(_stem(name))
    return found[-1] if found else None


def matches(name: str, quant: str) -> bool:
    """Whether a file name carries `quant` as a whole token, ignoring case."""
    return re.search(rf"(?<![A-Z0-9]){re.escape(quant.upper())}(?![A-Z0-9_])", _stem(name)) is not None


def bits(label: str | None) -> float | None:
    """Approximate bits per weight of a quant label."""
    return QUANT_BITS.get(label.removeprefix("UD-")) if label else None


def _is_model_file(name: str) -> bool:
    """A GGUF that holds a language model, not a vision projector beside it."""
    base = name.rsplit("/", 1)[-1].lower()
    return base.endswith(".gguf") and not base.startswith("mmproj")


def candidates(names: Iterable[str]) -> list[Candidate]:
    """Group a repo's model GGUFs into candidates: single files and complete or partial shard sets."""
    groups: dict[str, list[str]] = {}
    for name in sorted(filter(_is_model_file, names)):
        match = SHARD_RE.match(name)
        groups.setdefault(f"{match['stem']}|{match['count']}" if match else name, []).append(name)
    return [_candidate(files) for files in groups.values()]


def _candidate(files: list[str]) -> Candidate:
    """A candidate from its sorted files; complete when every shard is there."""
    match = SHARD_RE.match(files[0])
    expected = int(match["count"]) if match else 1
    first_ok = match is None or int(match["index"]) == 1
    return Candidate(tuple(files), quant_label(files[0]), first_ok and len(files) == expected)


def preference(candidate: Candidate) -> tuple[int, int, str]:
    """Sort key among files of one quant: top-level and short names first."""
    first = candidate.files[0]
    return (first.count("/"), len(first), first)


def closest(options: list[Candidate], quant: str) -> Candidate | None:
    """The candidate whose quant is nearest in bits per weight to `quant`, the better one on ties."""
    target = bits(quant.upper())
    known = [c for c in options if bits(c.quant) is not None]
    if target is None or not known:
        return min(options, key=preference, default=None)
    return min(known, key=lambda c: (abs((bits(c.quant) or 0) - target), -(bits(c.quant) or 0), preference(c)))


def available(options: list[Candidate]) -> str:
    """The quants on offer, best first, for messages."""
    labels = {c.quant or c.files[0] for c in options if c.complete}
    return ", ".join(sorted(labels, key=lambda q: (-(bits(q) or 0), q))) or "none"
