"""Documents in their own format: each format module reads a file into texts and writes the translations back."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Extracted:
    """A document's translatable texts, in order, and how to write the document back with their translations."""

    units: list[str]
    rebuild: Callable[[list[str], str], bytes]  # (translations in unit order, target language code) -> file bytes


Reader = Callable[[bytes], Extracted]


ANDROID_MARK = b"<resources"
PACKAGED = frozenset({".docx", ".pptx", ".xlsx"})  # zip packages: written only to files, never returned inline


def reader_for(path: Path, head: bytes = b"") -> Reader | None:
    """The format reader for a file (name, and for .xml its first bytes), or None for prose (Markdown, text, code)."""
    from mcp_open.features.translate.formats import locale, markup, office, subtitles

    readers: dict[str, Reader] = {
        ".json": locale.read_json,
        ".yaml": locale.read_yaml,
        ".yml": locale.read_yaml,
        ".po": locale.read_po,
        ".pot": locale.read_po,
        ".xlf": markup.read_xliff,
        ".xliff": markup.read_xliff,
        ".html": markup.read_html,
        ".htm": markup.read_html,
        ".srt": subtitles.read_srt,
        ".vtt": subtitles.read_vtt,
        ".docx": office.read_docx,
        ".pptx": office.read_pptx,
        ".xlsx": office.read_xlsx,
    }
    if path.suffix.lower() == ".xml":
        return markup.read_android if ANDROID_MARK in head[:4096] else None
    return readers.get(path.suffix.lower())
