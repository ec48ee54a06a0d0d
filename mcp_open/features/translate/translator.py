"""The translate use case: texts or whole files into a target language, returned or written beside them."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from mcp_open.errors import InvalidRequestError
from mcp_open.features.common.schemas import (
    LanguageInfo,
    LanguagesResult,
    TranslateRequest,
    TranslateResult,
)
from mcp_open.features.common.usage import usage_of
from mcp_open.features.files import material
from mcp_open.features.files import outputs as writes
from mcp_open.features.files.folders import Folders
from mcp_open.features.files.sandbox import Sandbox, is_glob
from mcp_open.features.translate import work
from mcp_open.features.translate.formats import PACKAGED
from mcp_open.features.translate.glossaries import GlossaryStore
from mcp_open.features.translate.languages import (
    normalize_source,
    normalize_target,
    supported_languages,
)
from mcp_open.runtime.calls import CallContext
from mcp_open.runtime.slots import ModelSlot


class Translator:
    """Translates with the translation model, over the allowed folders, each text within max_tokens."""

    def __init__(self, slot: ModelSlot, folders: Folders, max_tokens: int, glossaries: GlossaryStore) -> None:
        self.slot = slot
        self.folders = folders
        self.max_tokens = max_tokens
        self.glossaries = glossaries

    async def translate(self, req: TranslateRequest, call: CallContext, roots: Sequence[Path] = ()) -> TranslateResult:
        """Translate each text or file into the target language: prose keeps its formatting, documents their format."""
        target = normalize_target(req.target_lang)
        source = normalize_source(req.source_lang) if req.source_lang else None
        box = self.folders.sandbox(roots)
        loaded = await _sources(req, box, call)
        sources = [s for s, _ in loaded]
        items = [item for _, item in loaded] or [work.Item(t) for t in req.texts]
        if not items:
            raise InvalidRequestError("'text' is empty; pass a string or a non-empty list of strings")
        _check_packaged(sources, req.output_path)
        glossary = await call.run_in_thread(lambda: work.glossary_of(req.glossary, box, self.glossaries, target))
        plan: list[Path] = []
        if req.output_path:
            spec = req.output_path
            many = len(sources) > 1 or any(is_glob(f) for f in req.files)  # a glob writes a folder, even for one
            plan = await call.run_in_thread(
                lambda: writes.plan_outputs(box, spec, sources, many=many, suffix=target.code, overwrite=req.overwrite)
            )
        settings = work.Settings(
            source,
            target,
            req.context,
            req.formality,
            self.max_tokens,
            glossary,
            tuple(req.custom_instructions),
            req.tag_handling,
        )
        async with self.slot.use(call) as model:
            engine = model.engine
            done, completions = await call.run_in_thread(lambda: work.translate_all(engine, items, settings, call))
        usage = usage_of(completions, one_prompt=False)
        if plan:
            written = await call.run_in_thread(
                lambda: work.write_all(box, plan, sources, done, call, overwrite=req.overwrite)
            )
            shown, more = writes.condensed(written, req.output_path or "")
            return TranslateResult(
                translations=[],
                target_lang=target.code,
                usage=usage,
                model=model.name,
                written=shown,
                more_written=more,
            )
        translations = [d.translation for d in done]
        for row, s in zip(translations, sources, strict=False):
            row.path = s.shown
        return TranslateResult(translations=translations, target_lang=target.code, usage=usage, model=model.name)

    def languages(self) -> LanguagesResult:
        """The languages translate accepts."""
        return LANGUAGES


async def _sources(req: TranslateRequest, box: Sandbox, call: CallContext) -> list[tuple[material.Source, work.Item]]:
    """The files to translate, checked: exactly one of text and files."""
    if bool(req.files) == bool(req.texts):
        raise InvalidRequestError("pass either 'text' (strings) or 'files' (paths or globs), not both or neither")
    if req.output_path and not req.files:
        raise InvalidRequestError("output_path needs 'files': translations of files are written beside names")
    return await call.run_in_thread(lambda: work.load_files(box, req.files)) if req.files else []


def _check_packaged(sources: list[material.Source], output_path: str | None) -> None:
    """A .docx, .pptx or .xlsx translation can only be written, never returned as text."""
    packaged = [s.shown for s in sources if s.doc.path.suffix.lower() in PACKAGED]
    if packaged and not output_path:
        raise InvalidRequestError(
            f"'{packaged[0]}' is a {Path(packaged[0]).suffix} document: pass output_path (a folder, or a file "
            "name) so its translation is written in the same format"
        )


LANGUAGES = LanguagesResult(
    languages=[LanguageInfo(code=lang.code, name=lang.name, native=lang.native) for lang in supported_languages()]
)
