"""Subtitles: SRT (the srt library) and WebVTT; cue numbers, identifiers, timings and settings kept, text translated.

A cue's line breaks travel as <br/> inside one text, so a cue is one line of a batch and its layout comes back.
"""

from __future__ import annotations

import re

from mcp_open.errors import InvalidRequestError
from mcp_open.features.translate.formats import Extracted

BREAK = "<br/>"
VTT_BLOCKS = re.compile(r"(\r?\n(?:[ \t]*\r?\n)+)")


def read_srt(data: bytes) -> Extracted:
    """Every cue's text; numbers and timings untouched."""
    import srt

    text = data.decode("utf-8-sig")
    try:
        cues = list(srt.parse(text))
    except srt.SRTParseError as exc:
        raise InvalidRequestError(f"not a valid .srt file ({exc}); fix it or translate it as text") from exc
    units = [cue.content.replace("\n", BREAK) for cue in cues]

    def rebuild(translations: list[str], _target: str) -> bytes:
        for cue, value in zip(cues, translations, strict=True):
            cue.content = value.replace(BREAK, "\n")
        return str(srt.compose(cues, reindex=False)).encode("utf-8")

    return Extracted(units, rebuild)


def read_vtt(data: bytes) -> Extracted:
    """Every cue's text; the header, NOTE/STYLE/REGION blocks, cue identifiers, timings and settings untouched.

    A block parser rather than webvtt-py: webvtt-py rewrites what it does not model (notes, styles, spacing).
    """
    text = data.decode("utf-8-sig")
    if not text.startswith("WEBVTT"):
        raise InvalidRequestError("a .vtt file must start with 'WEBVTT'; fix it or translate it as text")
    parts = VTT_BLOCKS.split(text)
    cues: list[tuple[int, list[str], int, int]] = []  # (part index, block lines, first text line, end of text)
    for index in range(0, len(parts), 2):
        lines = parts[index].split("\n")
        timing = next((i for i, line in enumerate(lines) if "-->" in line), None)
        end = len(lines)
        while end > 0 and not lines[end - 1].strip():
            end -= 1
        if timing is not None and not lines[0].startswith(("NOTE", "STYLE", "REGION")) and timing + 1 < end:
            cues.append((index, lines, timing + 1, end))
    units = [BREAK.join(lines[first:end]) for _index, lines, first, end in cues]

    def rebuild(translations: list[str], _target: str) -> bytes:
        out = list(parts)
        for (index, lines, first, end), value in zip(cues, translations, strict=True):
            out[index] = "\n".join(lines[:first] + value.split(BREAK) + lines[end:])
        return "".join(out).encode("utf-8")

    return Extracted(units, rebuild)
