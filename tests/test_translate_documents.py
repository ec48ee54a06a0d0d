"""Documents in their own format, through the real translate tool on the scripted engine: structure and pieces kept."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from mcp_open.engines.scripted import ScriptedEngine
from mcp_open.features.translate.checked import translatable
from tests.scripted import scripted_client
from tests.translatekit import (
    JSON_DOC,
    build,
    docx_runs,
    shout,
    shouting_reply,
    translated_units,
    units_of,
    xlsx_cells,
)

pytestmark = pytest.mark.anyio

OUTPUT_NAMES = {
    "json": "en.de.json",
    "yaml": "en.de.yaml",
    "po": "app.de.po",
    "android": "strings.de.xml",
    "xliff": "messages.de.xlf",
    "html": "notes.de.html",
    "srt": "talk.de.srt",
    "vtt": "talk.de.vtt",
    "docx": "report.de.docx",
    "pptx": "deck.de.pptx",
    "xlsx": "book.de.xlsx",
}


async def call(client: Client, args: dict[str, Any]) -> dict[str, Any]:
    result = await client.call_tool("translate", args)
    assert not result.is_error, result.content
    assert result.structured_content is not None
    return result.structured_content


async def error_of(client: Client, args: dict[str, Any]) -> str:
    result = await client.call_tool("translate", args)
    assert result.is_error, result.structured_content
    return str(result.content[0].text)  # type: ignore[union-attr]


@pytest.fixture
def docs(tmp_path: Path) -> tuple[Path, dict[str, Path]]:
    return tmp_path, build(tmp_path / "docs")


async def test_every_format_keeps_its_structure_and_every_piece(docs: tuple[Path, dict[str, Path]]) -> None:
    root, paths = docs
    engine = ScriptedEngine(replies=[shouting_reply])
    async with scripted_client(chat=engine, allow_dirs=[root]) as client:
        args = {"files": ["docs/*"], "target_lang": "de", "source_lang": "en", "output_path": "out/"}
        result = await call(client, args)
    assert result["more_written"]["count"] + len(result["written"]) == len(paths)
    for kind, source in paths.items():
        output = root / "out" / OUTPUT_NAMES[kind]
        want = [shout(u) if translatable(u) else u for u in units_of(source)]
        assert translated_units(output) == want, kind
    units = sum(len(units_of(p)) for p in paths.values())
    assert len(engine.calls) <= len(paths) + 6, f"{len(engine.calls)} model calls for {units} texts"  # batched


async def test_format_details_survive(docs: tuple[Path, dict[str, Path]]) -> None:
    import polib
    import srt

    root, paths = docs
    async with scripted_client(chat=ScriptedEngine(replies=[shouting_reply]), allow_dirs=[root]) as client:
        await call(client, {"files": ["docs/*"], "target_lang": "de", "source_lang": "en", "output_path": "out/"})
    out = root / "out"
    data = json.loads((out / "en.de.json").read_text())
    assert data["version"] == 3 and data["enabled"] is True and list(data) == list(JSON_DOC)
    assert list(data["inbox"]) == list(JSON_DOC["inbox"])  # keys, order and nesting kept
    catalogue = polib.pofile(str(out / "app.de.po"))
    plural = catalogue.find("One file deleted")
    assert plural is not None and plural.msgstr_plural == {0: "ONE FILE DELETED", 1: "%d FILES DELETED"}
    assert catalogue.metadata["Language"] == "de" and "python-format" in catalogue[0].flags
    before, after = list(srt.parse(paths["srt"].read_text())), list(srt.parse((out / "talk.de.srt").read_text()))
    assert [(c.index, c.start, c.end) for c in before] == [(c.index, c.start, c.end) for c in after]
    assert after[0].content == "WHERE IS THE LIBRARY?\nIT IS LATE."  # the cue's line break kept
    vtt = (out / "talk.de.vtt").read_text()
    assert "NOTE written by hand" in vtt and "intro\n00:00:01.000 --> 00:00:03.000 align:start\n" in vtt
    assert dict(xlsx_cells(out / "book.de.xlsx"))["B3"] == "=SUM(B2:B2)"
    assert dict(xlsx_cells(out / "book.de.xlsx"))["B2"] == 1200
    assert ("NEW STORE", True) in docx_runs(out / "report.de.docx")
    assert ("SALES GREW BY 12% AND THE ", False) in docx_runs(out / "report.de.docx")
    android = (out / "strings.de.xml").read_text()
    assert '<string name="app_name" translatable="false">Photon</string>' in android
    assert "<!-- Main screen -->" in android and "WELCOME TO <b>PHOTON</b>, %1$s!" in android
    xliff = (out / "messages.de.xlf").read_text()
    assert 'target-language="de"' in xliff and '<target>GOOD MORNING, <g id="1">DEAR</g> FRIEND</target>' in xliff
    html = (out / "notes.de.html").read_text()
    assert 'var x = "do not translate"' in html and 'alt="A HAPPY CAT"' in html
    assert "<code>--quiet</code>" in html


async def test_a_lost_placeholder_is_retried_under_a_grammar_that_requires_it(tmp_path: Path) -> None:
    engine = ScriptedEngine(replies=[["Hallo!"], ["Hallo {name}!"]])
    async with scripted_client(chat=engine) as client:
        result = await call(client, {"text": "Hello {name}!", "target_lang": "de", "source_lang": "en"})
    assert result["translations"][0]["text"] == "Hallo {name}!"
    first, retry = engine.calls
    assert first.constraint is None
    assert retry.constraint is not None and retry.constraint.lark and "\\x7Bname\\x7D" in retry.constraint.lark


async def test_a_text_that_fails_twice_keeps_its_source_and_says_why() -> None:
    engine = ScriptedEngine(replies=[["Hallo!"]])
    async with scripted_client(chat=engine) as client:
        result = await call(client, {"text": "Hello {name}!", "target_lang": "de", "source_lang": "en"})
    row = result["translations"][0]
    assert row["text"] == "Hello {name}!"
    assert "lost '{name}'" in row["problems"][0]


async def test_glossary_terms_are_decoded_under_a_grammar_and_reported_per_text() -> None:
    engine = ScriptedEngine(replies=[["Der Server ist bereit."]])
    async with scripted_client(chat=engine) as client:
        args = {
            "text": ["The server is ready.", "Nothing here."],
            "target_lang": "de",
            "source_lang": "en",
            "glossary": {"server": "Server"},
        }
        result = await call(client, args)
    assert result["translations"][0]["glossary_applied"] == ["server -> Server"]
    assert "glossary_applied" not in result["translations"][1]
    grammar = engine.calls[0].constraint
    assert grammar is not None and grammar.lark is not None and "[Ss]erver" in grammar.lark


async def test_stored_glossary_from_the_cli_is_used_by_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from mcp_open.edge.cli import main

    table = tmp_path / "terms.tsv"
    table.write_text("pull request\tPull-Request\nserver\tServer\n")
    assert main(["glossary", "create", "tech", str(table), "--target-lang", "de"]) == 0
    assert main(["glossary", "list"]) == 0
    assert "tech\tany -> de\t2 entries" in capsys.readouterr().out
    engine = ScriptedEngine(replies=[["Der Server"]])
    async with scripted_client(chat=engine) as client:
        args = {"text": "The server", "target_lang": "de", "source_lang": "en", "glossary": "tech"}
        assert (await call(client, args))["translations"][0]["glossary_applied"] == ["server -> Server"]
        wrong = await error_of(client, {**args, "target_lang": "fr"})
        assert "translates into de" in wrong
        missing = await error_of(client, {**args, "glossary": "nope"})
        assert "no stored glossary named 'nope' (stored: tech)" in missing
    assert main(["glossary", "remove", "tech"]) == 0 and main(["glossary", "remove", "tech"]) == 1


async def test_glossary_file_by_reference(tmp_path: Path) -> None:
    (tmp_path / "terms.csv").write_text('"release notes",Versionshinweise\n')
    engine = ScriptedEngine(replies=[["Die Versionshinweise"]])
    async with scripted_client(chat=engine, allow_dirs=[tmp_path]) as client:
        args = {"text": "The release notes", "target_lang": "de", "source_lang": "en", "glossary": "terms.csv"}
        row = (await call(client, args))["translations"][0]
    assert row["glossary_applied"] == ["release notes -> Versionshinweise"]


async def test_custom_instructions_are_bounded_and_reach_the_prompt() -> None:
    engine = ScriptedEngine(replies=[["Farbe"]])
    async with scripted_client(chat=engine) as client:
        base = {"text": "colour", "target_lang": "de", "source_lang": "en"}
        await call(client, {**base, "custom_instructions": ["Use Swiss spelling"]})
        assert "- Use Swiss spelling" in engine.calls[-1].rendered
        too_many = await client.call_tool("translate", {**base, "custom_instructions": ["x"] * 11})
        too_long = await client.call_tool("translate", {**base, "custom_instructions": ["x" * 301]})
    assert too_many.is_error and too_long.is_error


async def test_tag_handling_translates_only_the_text_of_markup() -> None:
    async with scripted_client(chat=ScriptedEngine(replies=[shouting_reply])) as client:
        args = {"text": '<p>Hello <b class="x">world</b></p>', "target_lang": "de", "source_lang": "en"}
        html = await call(client, {**args, "tag_handling": "html"})
        xml = await call(client, {**args, "tag_handling": "xml"})
    assert html["translations"][0]["text"] == '<p>HELLO <b class="x">WORLD</b></p>'
    assert xml["translations"][0]["text"] == '<p>HELLO <b class="x">WORLD</b></p>'


async def test_many_short_strings_take_few_calls() -> None:
    engine = ScriptedEngine(replies=[shouting_reply])
    strings = [f"Open file number {i} now" for i in range(100)]
    async with scripted_client(chat=engine) as client:
        result = await call(client, {"text": strings, "target_lang": "de", "source_lang": "en"})
    assert [t["text"] for t in result["translations"]] == [shout(s) for s in strings]
    assert len(engine.calls) == 3  # 40 + 40 + 20 strings


async def test_progress_counts_texts() -> None:
    import anyio

    from mcp_open.features.translate import work
    from mcp_open.features.translate.languages import normalize_source, normalize_target
    from mcp_open.runtime.calls import CallContext

    engine = ScriptedEngine(replies=[shouting_reply])
    settings = work.Settings(normalize_source("en"), normalize_target("de"), None, "default", 4096)
    call = CallContext()
    items = [work.Item(f"Line {i} here") for i in range(50)]
    done, completions = await anyio.to_thread.run_sync(lambda: work.translate_all(engine, items, settings, call))
    assert len(done) == 50 and len(completions) == 2  # 40 + 10
    assert call.progress.total == 50 and call.progress.message == "texts: 50/50 texts"


async def test_office_documents_need_an_output_path(docs: tuple[Path, dict[str, Path]]) -> None:
    root, _paths = docs
    async with scripted_client(allow_dirs=[root]) as client:
        message = await error_of(client, {"files": ["docs/report.docx"], "target_lang": "de"})
    assert "pass output_path" in message


async def test_text_formats_come_back_inline(docs: tuple[Path, dict[str, Path]]) -> None:
    root, _paths = docs
    async with scripted_client(chat=ScriptedEngine(replies=[shouting_reply]), allow_dirs=[root]) as client:
        result = await call(client, {"files": ["docs/en.json"], "target_lang": "de", "source_lang": "en"})
    row = result["translations"][0]
    assert json.loads(row["text"])["app"]["greeting"] == "HELLO {name}, WELCOME BACK!"
    assert row["path"].endswith("en.json")


async def test_cancel_writes_nothing(docs: tuple[Path, dict[str, Path]]) -> None:
    import anyio

    from mcp_open.engines.scripted import HOLD

    root, _paths = docs
    engine = ScriptedEngine(replies=[[HOLD]])
    async with scripted_client(chat=engine, allow_dirs=[root]) as client, anyio.create_task_group() as group:
        args = {"files": ["docs/*"], "target_lang": "de", "source_lang": "en", "output_path": "out/"}

        async def run() -> None:
            await client.call_tool("translate", args)

        group.start_soon(run)
        await anyio.to_thread.run_sync(lambda: engine.holding.wait(10))
        group.cancel_scope.cancel()
    assert not (root / "out").exists() or not any((root / "out").iterdir())
