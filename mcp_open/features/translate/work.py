"""The translate job over texts and files: prose paragraph by paragraph, short texts and documents in batches."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from mcp_open.engines.protocol import Cancelled, Completion, Engine
from mcp_open.errors import InvalidRequestError
from mcp_open.features.common.limits import has_content
from mcp_open.features.common.schemas import TagHandling, Translation, WrittenFile
from mcp_open.features.files.material import Source, receipt
from mcp_open.features.files.readers import Document, read_document
from mcp_open.features.files.sandbox import Sandbox
from mcp_open.features.files.writing import StagedWrites
from mcp_open.features.translate import translation
from mcp_open.features.translate.batches import QuietTally, TextCount, translate_units
from mcp_open.features.translate.checked import Outcome
from mcp_open.features.translate.formats import PACKAGED, Extracted, Reader, reader_for
from mcp_open.features.translate.formats.markup import read_html, read_xml_text
from mcp_open.features.translate.glossaries import Glossary, GlossaryStore, checked, parse_table
from mcp_open.features.translate.languages import Language, detect_sources, normalize_target
from mcp_open.runtime.calls import CallContext

DETECTION_UNITS = 200  # a document's language is told from its first texts
UNDETECTED_NOTE = (
    "no language could be detected (no words, or too short to tell); passed through unchanged. "
    "Pass source_lang to translate it anyway."
)


@dataclass
class Item:
    """One input: prose, or a document in its own format (units to translate, a way to write it back)."""

    text: str
    document: Extracted | None = None
    shown: str | None = None


@dataclass
class Done:
    """One input translated: the result row and what to write (text, or a document's bytes)."""

    translation: Translation
    output: str | bytes
    tokens: int = 0


@dataclass
class Settings:
    """What every input of one call shares."""

    source: Language | None
    target: Language
    context: str | None
    formality: str
    cap: int
    glossary: Glossary | None = None
    instructions: tuple[str, ...] = field(default_factory=tuple)
    tag_handling: TagHandling | None = None


def load_files(box: Sandbox, specs: list[str]) -> list[tuple[Source, Item]]:
    """The files the specs name: documents in their own format, the rest read as prose (blocking)."""
    box.packaged = PACKAGED
    loaded = []
    for path in box.input_files(specs):
        shown = box.shown(path)
        _info, data = box.read(path, shown)
        reader = reader_for(path, data)
        if reader is None:
            source = Source(read_document(path, shown, data), shown)
            loaded.append((source, Item(source.doc.text, None, shown)))
            continue
        extracted = _read(reader, data, shown)
        sample = "\n".join(extracted.units[:DETECTION_UNITS])
        loaded.append((Source(Document(path, sample, "document"), shown), Item(sample, extracted, shown)))
    return loaded


def _read(reader: Reader, data: bytes, shown: str) -> Extracted:
    try:
        return reader(data)
    except InvalidRequestError as exc:
        raise InvalidRequestError(f"'{shown}': {exc}") from exc


def translate_all(
    engine: Engine, items: list[Item], settings: Settings, call: CallContext
) -> tuple[list[Done], list[Completion]]:
    """Translate every input (blocking); one whose language cannot be told is passed through, not fatal.

    Documents and short texts are pooled by source language, so the strings of many small files share batches.
    """
    items = [_marked(item, settings.tag_handling) for item in items]
    sources: list[Language | None] = (
        [settings.source] * len(items) if settings.source else list(detect_sources([i.text for i in items]))
    )
    short = _short_lines(items)
    pooled = [item.document is not None or short for item in items]
    if not any(pooled):
        return _prose(engine, items, sources, settings, call)
    tally = QuietTally(call)
    count = TextCount(call, sum(len(i.document.units) if i.document else 1 for i in items))
    done: list[Done | None] = [None] * len(items)
    groups: dict[str, list[int]] = {}
    for index, (item, src) in enumerate(zip(items, sources, strict=True)):
        if not pooled[index] or _passed(item, src, settings):
            label = f"file {index + 1}/{len(items)} {item.shown}" if item.shown else f"text {index + 1}"
            done[index] = _one(engine, item, src, settings, call, tally, label, count)
        else:
            assert src is not None  # _passed keeps undetected inputs
            groups.setdefault(src.code, []).append(index)
    for indexes in groups.values():
        _pool(engine, [items[i] for i in indexes], indexes, sources, settings, call, tally, count, done)
    return [d for d in done if d is not None], tally.completions


def _prose(
    engine: Engine, items: list[Item], sources: list[Language | None], settings: Settings, call: CallContext
) -> tuple[list[Done], list[Completion]]:
    """Texts and prose files one by one, paragraph by paragraph, progress in tokens."""
    prose = [i.text for i in items]
    translation.check_sizes(engine, prose)
    tally = translation.TokenTally(call, translation.budget_of(engine, prose, settings.cap))
    done = []
    for index, (item, src) in enumerate(zip(items, sources, strict=True)):
        before = tally.done
        label = f"{'file' if item.shown else 'text'} {index + 1}/{len(items)}"
        label += f" {item.shown}" if item.shown else ""
        result = _one(engine, item, src, settings, call, tally, label, None)
        result.tokens = tally.done - before
        done.append(result)
    return done, tally.completions


def _pool(
    engine: Engine,
    pool: list[Item],
    indexes: list[int],
    sources: list[Language | None],
    settings: Settings,
    call: CallContext,
    tally: translation.TokenTally,
    count: TextCount,
    done: list[Done | None],
) -> None:
    """The units of inputs in one source language, translated together, then handed back to each input."""
    src = sources[indexes[0]]
    assert src is not None  # pooled inputs have a language
    sizes = [len(item.document.units) if item.document else 1 for item in pool]
    units = [u for item in pool for u in (item.document.units if item.document else [item.text])]
    before = tally.done
    label = "files" if any(item.shown for item in pool) else "texts"
    outcomes = translate_units(engine, units, _job(src, settings), call, tally, count, label)
    spent, start = tally.done - before, 0
    for index, item, size in zip(indexes, pool, sizes, strict=True):
        mine = outcomes[start : start + size]
        start += size
        result = _finish(item, src, mine, settings)
        result.tokens = round(spent * size / max(1, len(units)))  # shared calls: each input's share of the texts
        done[index] = result


def _passed(item: Item, src: Language | None, settings: Settings) -> bool:
    """Inputs given back as they are: nothing visible, no language detected, or already the target language."""
    return not has_content(item.text) or src is None or src.base == settings.target.base


def _finish(item: Item, src: Language, outcomes: list[Outcome], settings: Settings) -> Done:
    """A pooled input's result: its texts, or its document written back with them."""
    if item.document is None:
        return Done(_row(outcomes[0], src), outcomes[0].text)
    output = item.document.rebuild([o.text for o in outcomes], settings.target.code)
    merged = Outcome("", [a for o in outcomes for a in o.applied], [p for o in outcomes for p in o.problems])
    text = "" if _packaged(item) else output.decode("utf-8")
    return Done(_row(merged, src, text), output)


def _one(
    engine: Engine,
    item: Item,
    src: Language | None,
    settings: Settings,
    call: CallContext,
    tally: translation.TokenTally,
    label: str,
    count: TextCount | None,
) -> Done:
    """One input on its own: passed through, or translated as prose."""
    code = settings.source.code if settings.source else None
    if not has_content(item.text):  # nothing to translate (e.g. only zero-width spaces): give it back as is
        return _unchanged(item, code, None, settings, count)
    if src is None:
        return _unchanged(item, None, UNDETECTED_NOTE, settings, count)
    if src.base == settings.target.base:
        return _unchanged(item, src.code, None, settings, count)
    outcome = translation.translate_text(engine, item.text, _job(src, settings), call, tally, label)
    if count is not None:
        count.add(1, label)
    return Done(_row(outcome, src), outcome.text)


def _short_lines(items: list[Item]) -> bool:
    """Several short single-line texts (software strings): worth batching."""
    return len(items) > 1 and all(i.document is None and i.shown is None and "\n" not in i.text.strip() for i in items)


def _marked(item: Item, tags: TagHandling | None) -> Item:
    """A text with tag_handling becomes a markup document: only its text is translated, tags stay."""
    if tags is None or item.document is not None or item.shown is not None:
        return item
    reader = read_html if tags == "html" else read_xml_text
    return Item(item.text, reader(item.text.encode("utf-8")), None)


def _job(src: Language, settings: Settings) -> translation.Job:
    return translation.Job(
        src,
        settings.target,
        settings.context,
        settings.formality,
        settings.cap,
        settings.glossary,
        settings.instructions,
    )


def _unchanged(item: Item, code: str | None, note: str | None, settings: Settings, count: TextCount | None) -> Done:
    """An input given back as it was (a document is written back unchanged, through its own writer)."""
    if count is not None:
        count.add(len(item.document.units) if item.document else 1, "unchanged")
    if item.document is None:
        return Done(Translation(text=item.text, detected_source_lang=code, note=note), item.text)
    output = item.document.rebuild(item.document.units, settings.target.code)
    text = "" if _packaged(item) else output.decode("utf-8")
    return Done(Translation(text=text, detected_source_lang=code, note=note), output)


def _packaged(item: Item) -> bool:
    return item.shown is not None and Path(item.shown).suffix.lower() in PACKAGED


def _row(outcome: Outcome, src: Language, text: str | None = None) -> Translation:
    return Translation(
        text=outcome.text if text is None else text,
        detected_source_lang=src.code,
        glossary_applied=outcome.applied or None,
        problems=outcome.problems or None,
    )


def glossary_of(
    spec: dict[str, str] | str | None, box: Sandbox, store: GlossaryStore, target: Language
) -> Glossary | None:
    """The call's glossary: inline entries, a CSV/TSV file in the allowed folders, or a stored glossary's name."""
    if spec is None:
        return None
    if isinstance(spec, dict):
        return Glossary(checked(spec, "the inline glossary"), "inline")
    if spec.lower().endswith((".csv", ".tsv")) or "/" in spec:
        [path] = box.input_files([spec])
        _info, data = box.read(path, spec)
        return Glossary(parse_table(read_document(path, spec, data).text, spec), spec)
    glossary = store.load(spec)
    if glossary.target_lang and normalize_target(glossary.target_lang).base != target.base:
        raise InvalidRequestError(
            f"the glossary '{spec}' translates into {glossary.target_lang}, but this call translates into "
            f"{target.code}; pick a glossary for {target.code} or change target_lang"
        )
    return glossary


def write_all(
    box: Sandbox, plan: list[Path], sources: list[Source], done: list[Done], call: CallContext, *, overwrite: bool
) -> list[WrittenFile]:
    """Stage every output beside its target, then move them all into place unless the call was cancelled."""
    with StagedWrites(box) as staged:
        sizes = [staged.stage(path, d.output, overwrite=overwrite) for path, d in zip(plan, done, strict=True)]
        if call.should_stop():
            raise Cancelled
        staged.commit()
    receipts = []
    for path, source, d, size in zip(plan, sources, done, sizes, strict=True):
        shown = d.output if isinstance(d.output, str) else d.translation.text or f"({path.suffix} document)"
        row = receipt(box, path, shown, size, d.tokens, source.shown)
        update = {
            "source_lang": d.translation.detected_source_lang,
            "glossary_applied": d.translation.glossary_applied,
            "problems": d.translation.problems,
        }
        receipts.append(row.model_copy(update=update))
    return receipts
