"""Token counts where no tokenizer answers: the character estimate, the same wherever it is used."""

from __future__ import annotations

import math

CHARS_PER_TOKEN = 4
ESTIMATE = f"estimate ({CHARS_PER_TOKEN} characters per token)"


def estimate_tokens(text: str) -> int:
    """Tokens of text by the character estimate."""
    return math.ceil(len(text) / CHARS_PER_TOKEN)
