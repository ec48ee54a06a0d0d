"""Documents and glossaries through the translate tool on Gemma 3 270M: structure, pieces and terms hold for real."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mcp_open.features.translate import placeholders
from mcp_open.features.translate.checked import translatable
from mcp_open.settings import Settings
from tests.conftest import ClientFactory
from tests.translatekit import build, translated_units, units_of

# Not yet run to the end in the session that wrote it (the machine was too loaded): opt in until it has been.
pytestmark = [
    pytest.mark.anyio,
    pytest.mark.slow,
    pytest.mark.skipif(not os.environ.get("TRANSLATE_GEMMA_TESTS"), reason="set TRANSLATE_GEMMA_TESTS=1 to run"),
]

# Locale strings with every placeholder kind and ICU plurals, and cues; Android's <b> is a control token in Gemma's
# vocabulary, which guided decoding must spell with ordinary tokens when it forces the tag. The whole fixture set
# (docx, pptx, xlsx, po, ...) runs on Gemma in `python -m bench.translate --suite formats`.
SUBSET = ("json", "android", "srt")


def settings(gemma: Path, folder: Path) -> Settings:
    return Settings(model=str(gemma), embed_model=str(gemma), ctx=2048, threads=2, allow_dirs=[folder])


async def test_documents_keep_structure_and_every_piece(
    connect_once: ClientFactory, gemma: Path, tmp_path: Path
) -> None:
    paths = {kind: path for kind, path in build(tmp_path / "all").items() if kind in SUBSET}
    (tmp_path / "docs").mkdir()
    for path in paths.values():
        path.rename(tmp_path / "docs" / path.name)
    async with connect_once(settings(gemma, tmp_path)) as client:
        args = {"files": ["docs/*"], "target_lang": "fr", "source_lang": "en", "output_path": "out/"}
        result = await client.call_tool("translate", args)
    assert not result.is_error, result.content
    changed = 0
    for path in (tmp_path / "docs").iterdir():
        output = tmp_path / "out" / f"{path.stem}.fr{path.suffix}"
        sources, outputs = units_of(path), translated_units(output)
        assert len(sources) == len(outputs), path.name
        for source, out in zip(sources, outputs, strict=True):
            assert placeholders.problems(source, out) == [], (path.name, source, out)
            changed += translatable(source) and out != source
    assert changed >= 6  # most texts really were translated (the rest kept their source, reported)


async def test_glossary_terms_are_present(connect_once: ClientFactory, gemma: Path, tmp_path: Path) -> None:
    texts = ["The server is down.", "Please check your invoice.", "Your password was changed."]
    glossary = {"server": "Serveur", "invoice": "facture", "password": "mot de passe"}
    async with connect_once(settings(gemma, tmp_path)) as client:
        args = {"text": texts, "target_lang": "fr", "source_lang": "en", "glossary": glossary}
        result = await client.call_tool("translate", args)
    rows = result.structured_content["translations"]  # type: ignore[index]
    for row, term in zip(rows, ["Serveur", "facture", "mot de passe"], strict=True):
        assert term[1:] in row["text"] and row["glossary_applied"], row
