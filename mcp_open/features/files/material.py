"""Files as the material of a call: read and framed with their paths, cut into passages, named for output."""

from __future__ import annotations

import html
import os
import re
from dataclasses import dataclass
from pathlib import Path

from mcp_open.errors import FileAccessError
from mcp_open.features.common.schemas import WrittenFile
from mcp_open.features.files.chunking import MARKDOWN_SUFFIXES, chunk_text
from mcp_open.features.files.readers import Document, read_document
from mcp_open.features.files.sandbox import Sandbox

PREVIEW_LINES = 3
PREVIEW_CHARS = 240
PASSAGE_CHARS = 1200
# Outputs of these kinds are plain text, so they get a text suffix instead of the input's.
TEXT_SUFFIX_KINDS = {"pdf": ".txt", "html": ".txt"}
# What in a file's text could pass for the frame around it: a file tag (opening or closing) or a page mark.
FRAME_TAG = re.compile(r"<(?=\s*/?\s*file\b)", re.IGNORECASE)
PAGE_MARK = re.compile(r"^(?=\s*\[page \d+\])", re.MULTILINE)


@dataclass
class Source:
    """One input file: its text and how results name it."""

    doc: Document
    shown: str


@dataclass
class Passage:
    """A piece of a file for ranking: text, where it starts (line, page)."""

    source: Source
    text: str
    line: int
    page: int | None


def load(sandbox: Sandbox, specs: list[str]) -> list[Source]:
    """The files the specs name, read as text through their descriptors (blocking: call from a worker thread)."""
    sources = []
    for path in sandbox.input_files(specs):
        shown = sandbox.shown(path)
        _info, data = sandbox.read(path, shown)
        sources.append(Source(read_document(path, shown, data), shown))
    return sources


def framed(source: Source) -> str:
    """A file's text marked with its path (and PDF pages); the text cannot close its frame or forge another."""
    doc = source.doc
    body = doc.text
    if doc.pages:
        cuts = [*doc.pages, len(body)]
        body = "".join(f"[page {i + 1}]\n{escaped(body[cuts[i] : cuts[i + 1]])}" for i in range(len(doc.pages)))
    else:
        body = escaped(body)
    path = html.escape(source.shown, quote=True).replace("\n", "&#10;")
    return f'<file path="{path}">\n{body.rstrip()}\n</file>'


def escaped(text: str) -> str:
    """File text made safe inside a frame: '<file'/'</file' tags defused, '[page N]' lines marked as text."""
    return PAGE_MARK.sub("\\\\", FRAME_TAG.sub("&lt;", text))


def with_material(instruction: str, sources: list[Source]) -> str:
    """The files first, then the instruction that applies to them."""
    return "\n\n".join([*(framed(s) for s in sources), instruction])


def passages(source: Source, max_chars: int = PASSAGE_CHARS) -> list[Passage]:
    """The file cut by the search chunker, measured in characters (rank cuts before a model is loaded), each
    passage with its first line and page."""
    # Rank's cutting (the search chunker's, tested with it), not a promise about files: left out of mutation testing.
    doc = source.doc
    markdown = doc.path.suffix.lower() in MARKDOWN_SUFFIXES  # pragma: no mutate
    chunks = chunk_text(
        doc.text, len, markdown=markdown, pages=doc.pages, max_tokens=max_chars, overlap=0
    )  # pragma: no mutate
    return [Passage(source, c.text.strip(), c.start_line, c.page) for c in chunks]  # pragma: no mutate


def output_names(sources: list[Source], suffix: str = "") -> list[Path]:
    """Relative output names that keep each input's path below their common folder (plus a language suffix).

    Two inputs that would get one name (report.pdf and report.html both make report.txt) are an error naming both.
    """
    parents = [s.doc.path.parent for s in sources]
    common = Path(os.path.commonpath(parents)) if parents else Path()
    names = [_renamed(s.doc.path.relative_to(common), s.doc.kind, suffix) for s in sources]
    first: dict[Path, Source] = {}
    for source, name in zip(sources, names, strict=True):
        earlier = first.setdefault(name, source)
        if earlier is not source:
            raise FileAccessError(
                f"'{earlier.shown}' and '{source.shown}' would both be written as '{name.as_posix()}'; "
                "pass them in separate calls, or rename one"
            )
    return names


def _renamed(relative: Path, kind: str, suffix: str) -> Path:
    """notes.md -> notes.de.md; report.pdf -> report.de.txt (the output is text)."""
    ext = TEXT_SUFFIX_KINDS.get(kind, relative.suffix)
    tag = f".{suffix}" if suffix else ""
    return relative.with_name(f"{relative.stem}{tag}{ext}")


def targets(sandbox: Sandbox, spec: str, names: list[Path], *, folder: bool, overwrite: bool) -> list[Path]:
    """Where each output goes (checked now, before any work): the file spec names, or one per name in its folder."""
    base = sandbox.output_path(spec, overwrite=overwrite)
    if not folder:
        if base.is_dir():
            raise FileAccessError(f"'{spec}' is a folder, but this call writes one file; name the file to write")
        paths = [base]
        shown = [spec]
    else:
        if base.exists() and not base.is_dir():
            raise FileAccessError(f"'{spec}' is a file, but this call writes several; name a folder (it is created)")
        shown = [f"{spec.rstrip('/')}/{name.as_posix()}" for name in names]
        paths = [_child(sandbox, base, name, label, overwrite) for name, label in zip(names, shown, strict=True)]
    seen: dict[Path, str] = {}
    for path, label in zip(paths, shown, strict=True):
        other = seen.setdefault(path, label)
        if other != label:
            raise FileAccessError(f"'{other}' and '{label}' are the same file; name another output folder")
        sandbox.check_writable(path, label)
    return paths


def _child(sandbox: Sandbox, base: Path, name: Path, shown: str, overwrite: bool) -> Path:
    """A file inside the output folder, re-checked: a link inside it must not lead out of the roots."""
    try:
        path = sandbox.output_location(str(base / name))
    except FileAccessError as exc:
        raise FileAccessError(str(exc).replace(f"'{base / name}'", f"'{shown}'")) from None
    sandbox.check_target(path, shown, overwrite=overwrite)
    return path


def receipt(sandbox: Sandbox, path: Path, text: str, size: int, tokens: int, source: str | None) -> WrittenFile:
    """What the agent reads instead of the text: where, how big, what it cost, how it starts."""
    lines = text.strip("\n").split("\n")
    preview = "\n".join(lines[:PREVIEW_LINES])[:PREVIEW_CHARS]
    if len(lines) > PREVIEW_LINES or len(preview) < len(text.strip("\n")):
        preview += "\n..."
    return WrittenFile(path=sandbox.shown(path), source=source, bytes=size, tokens=tokens, preview=preview)
