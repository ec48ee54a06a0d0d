"""Thinking models' reasoning, told apart from their answer (generate shows it, translate drops it)."""

from __future__ import annotations

import re

THINK_BLOCK = re.compile(r"<think>(.*?)(?:</think>|$)", re.DOTALL)


def split_thinking(text: str) -> tuple[str | None, str]:
    """Separate <think>...</think> reasoning from the answer."""
    match = THINK_BLOCK.search(text)
    if not match:
        return None, text.strip()
    reasoning = match.group(1).strip()
    answer = (text[: match.start()] + text[match.end() :]).strip()
    return reasoning or None, answer
