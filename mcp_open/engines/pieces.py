"""Long texts cut where tokenizers split anyway, so they can be tokenized piece by piece."""

from __future__ import annotations

import re
from collections.abc import Iterator

# After a line break and before text that does not start with white space: BPE pre-tokenizers (Qwen, Llama 3) and
# SentencePiece vocabularies (Gemma) both start a new token there, so pieces tokenize exactly like the whole.
_CUT = re.compile(r"(?<=\n)(?=\S)")
# Text with no such place (one huge line) is cut before a single space followed by a word, then anywhere.
_SOFT_CUT = re.compile(r"(?<=\S)(?= \S)")


def split_pieces(text: str, size: int, *, hard: bool = False) -> list[str]:
    """Pieces of about size characters that join back to text: longer only where no cut exists, unless `hard`
    (counting by estimate or for the ledger), which cuts a run with no place to cut at size."""
    return list(iter_pieces(text, size, hard=hard))


def iter_pieces(text: str, size: int, *, hard: bool = False) -> Iterator[str]:
    """split_pieces one piece at a time, so a caller can stop between pieces (cutting 12 MB takes seconds)."""
    start = 0
    while len(text) - start > size:
        end = _cut_before(text, start, start + size, hard)
        yield text[start:end]
        start = end
    yield text[start:]


def _cut_before(text: str, start: int, limit: int, hard: bool) -> int:
    """The last good cut in text[start:limit], else (hard) the limit, else the first after it, else the end."""
    for pattern in (_CUT, _SOFT_CUT):
        cuts = [m.start() for m in pattern.finditer(text, start + 1, limit)]
        if cuts:
            return cuts[-1]
    if hard:
        return limit
    for pattern in (_CUT, _SOFT_CUT):
        later = pattern.search(text, limit)
        if later:
            return later.start()
    return len(text)
