"""Office documents: docx, pptx (runs kept: bold stays bold) and xlsx (text cells only: formulas, numbers untouched).

A paragraph is one text; runs formatted unlike its first run travel as <gN>...</gN> inside it, so the model can
move a bold word where the target language wants it, and each piece goes back into a copy of its own run.
"""

from __future__ import annotations

import copy
import io
import re
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

from mcp_open.errors import InvalidRequestError
from mcp_open.features.translate.formats import Extracted

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
A = "{http://schemas.openxmlformats.org/drawingml/2006/main}"
GROUP = re.compile(r"<g(\d+)>(.*?)</g\1>", re.DOTALL)
XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"


class RunStyle:
    """How one file format keeps runs: the run and property tags, and where a run's text lives."""

    def __init__(self, ns: str, props: str) -> None:
        self.ns = ns
        self.run = f"{ns}r"
        self.props = f"{ns}{props}"
        self.text = f"{ns}t"


WORD = RunStyle(W, "rPr")
DRAWING = RunStyle(A, "rPr")


def _signature(run: Any, style: RunStyle) -> bytes:
    from lxml import etree

    props = run.find(style.props)
    return b"" if props is None else bytes(etree.tostring(props))


def _plain(run: Any, style: RunStyle) -> bool:
    """A run holding only text (no tabs, breaks, pictures or fields), which can be rewritten safely."""
    return all(child.tag in (style.props, style.text) for child in run)


def paragraph_unit(runs: list[Any], style: RunStyle) -> tuple[str, Callable[[str], None]] | None:
    """A paragraph's text with formatted runs tagged, and how to write a translation back; None: nothing to do."""
    runs = [r for r in runs if "".join(t.text or "" for t in r.iter(style.text))]
    if not runs or not all(_plain(r, style) for r in runs):
        return None
    base = _signature(runs[0], style)
    parts = []
    for i, run in enumerate(runs):
        text = "".join(t.text or "" for t in run.iter(style.text))
        parts.append(text if _signature(run, style) == base else f"<g{i}>{text}</g{i}>")

    def write(translation: str) -> None:
        pieces, last = [], 0
        for match in GROUP.finditer(translation):
            pieces.append((0, translation[last : match.start()]))
            pieces.append((int(match.group(1)), match.group(2)))
            last = match.end()
        pieces.append((0, translation[last:]))
        anchor = runs[0]
        for index, text in [(i, t) for i, t in pieces if t]:
            run = copy.deepcopy(runs[index] if index < len(runs) else runs[0])
            _set_text(run, text, style)
            anchor.addprevious(run)
        for run in runs:
            run.getparent().remove(run)

    return "".join(parts), write


def _set_text(run: Any, text: str, style: RunStyle) -> None:
    from lxml import etree

    for t in run.findall(style.text):
        run.remove(t)
    node = etree.SubElement(run, style.text)
    node.text = text
    if style is WORD:
        node.set(XML_SPACE, "preserve")


def _collect(
    found: Iterator[tuple[str, Callable[[str], None]] | None],
) -> tuple[list[str], list[Callable[[str], None]]]:
    units, writers = [], []
    for item in found:
        if item is not None:
            units.append(item[0])
            writers.append(item[1])
    return units, writers


def read_docx(data: bytes) -> Extracted:
    """Every paragraph of the body, tables, headers and footers; runs, styles and layout kept."""
    import docx

    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:  # python-docx raises several kinds for a damaged package
        raise InvalidRequestError(f"not a .docx file Word could open ({exc}); check the file") from exc
    parts = [document.element.body]
    for section in document.sections:
        parts += [section.header._element, section.footer._element]
    paragraphs = [p for part in parts for p in part.iter(f"{W}p")]
    units, writers = _collect(paragraph_unit(list(p.findall(f"{W}r")), WORD) for p in paragraphs)

    return Extracted(units, _saving(writers, document.save))


def read_pptx(data: bytes) -> Extracted:
    """Every paragraph of every slide's shapes and tables; runs and layout kept."""
    import pptx

    try:
        deck = pptx.Presentation(io.BytesIO(data))
    except Exception as exc:  # python-pptx raises several kinds for a damaged package
        raise InvalidRequestError(f"not a .pptx file PowerPoint could open ({exc}); check the file") from exc
    paragraphs = [p for slide in deck.slides for p in slide.shapes._spTree.iter(f"{A}p")]
    units, writers = _collect(paragraph_unit(list(p.findall(f"{A}r")), DRAWING) for p in paragraphs)

    return Extracted(units, _saving(writers, deck.save))


def read_xlsx(data: bytes) -> Extracted:
    """Every text cell of every sheet; formulas, numbers, dates and sheet names untouched."""
    import openpyxl

    try:
        book = openpyxl.load_workbook(io.BytesIO(data))
    except Exception as exc:  # openpyxl raises several kinds for a damaged package
        raise InvalidRequestError(f"not an .xlsx file Excel could open ({exc}); check the file") from exc
    cells = [
        cell
        for sheet in book.worksheets
        for row in sheet.iter_rows()
        for cell in row
        if cell.data_type == "s" and isinstance(cell.value, str) and not cell.value.startswith("=")
    ]
    units = [str(cell.value) for cell in cells]
    return Extracted(units, _saving([partial(setattr, cell, "value") for cell in cells], book.save))


def _saving(
    writers: list[Callable[[str], None]], save: Callable[[io.BytesIO], None]
) -> Callable[[list[str], str], bytes]:
    """A rebuild that hands each translation to its writer, then saves the changed package as bytes."""

    def rebuild(translations: list[str], _target: str) -> bytes:
        for write, text in zip(writers, translations, strict=True):
            write(text)
        out = io.BytesIO()
        save(out)
        return out.getvalue()

    return rebuild
