"""The translate use case: texts or whole files into a target language, returned or written beside them."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from mcp_open.engines.protocol import Completion
from mcp_open.errors import InvalidRequestError
from mcp_open.features.common.limits import has_content
from mcp_open.features.common.schemas import (
    LanguageInfo,
    LanguagesResult,
    TranslateRequest,
    TranslateResult,
    Translation,
)
from mcp_open.features.common.usage import usage_of
from mcp_open.features.files import material
from mcp_open.features.files import outputs as writes
from mcp_open.features.files.folders import Folders
from mcp_open.features.files.sandbox import Sandbox, is_glob
from mcp_open.features.translate import translation
from mcp_open.features.translate.languages import (
    Language,
    detect_sources,
    normalize_source,
    normalize_target,
    supported_languages,
)
from mcp_open.runtime.calls import CallContext
from mcp_open.runtime.slots import LoadedModel, ModelSlot

UNDETECTED_NOTE = (
    "no language could be detected (no words, or too short to tell); passed through unchanged. "
    "Pass source_lang to translate it anyway."
)


class Translator:
    """Translates with the translation model, over the allowed folders, each text within max_tokens."""

    def __init__(self, slot: ModelSlot, folders: Folders, max_tokens: int) -> None:
        self.slot = slot
        self.folders = folders
        self.max_tokens = max_tokens

    async def translate(self, req: TranslateRequest, call: CallContext, roots: Sequence[Path] = ()) -> TranslateResult:
        """Translate each text (or whole file) into the target language, keeping formatting."""
        target = normalize_target(req.target_lang)
        source = normalize_source(req.source_lang) if req.source_lang else None
        box = self.folders.sandbox(roots)
        sources = await _sources(req, box, call)
        texts = [s.doc.text for s in sources] if sources else req.texts
        if not texts:
            raise InvalidRequestError("'text' is empty; pass a string or a non-empty list of strings")
        plan: list[Path] = []
        if req.output_path:
            spec = req.output_path
            many = len(sources) > 1 or any(is_glob(f) for f in req.files)  # a glob writes a folder, even for one
            plan = await call.run_in_thread(
                lambda: writes.plan_outputs(box, spec, sources, many=many, suffix=target.code, overwrite=req.overwrite)
            )
        names = [s.shown for s in sources] or None
        job = req.model_copy(update={"texts": texts})
        async with self.slot.use(call) as model:
            outcome = await call.run_in_thread(lambda: self._translate_all(model, job, source, target, call, names))
        translations, completions, spent = outcome
        usage = usage_of(completions, one_prompt=False)
        if plan:
            outputs = [
                writes.Output(t.text, tokens, s.shown, t.detected_source_lang)
                for path, s, t, tokens in zip(plan, sources, translations, spent, strict=True)
            ]
            written = await call.run_in_thread(
                lambda: writes.write_outputs(box, plan, outputs, call, overwrite=req.overwrite)
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
        for done, name in zip(translations, names or [], strict=False):
            done.path = name
        return TranslateResult(translations=translations, target_lang=target.code, usage=usage, model=model.name)

    def languages(self) -> LanguagesResult:
        """The languages translate accepts."""
        return LANGUAGES

    def _translate_all(
        self,
        model: LoadedModel,
        req: TranslateRequest,
        source: Language | None,
        target: Language,
        call: CallContext,
        names: list[str] | None = None,
    ) -> tuple[list[Translation], list[Completion], list[int]]:
        """Translate every text (blocking); one whose language cannot be told is passed through, not fatal."""
        results: list[Translation] = []
        spent: list[int] = []
        translation.check_sizes(model.engine, req.texts)
        tally = translation.TokenTally(call, translation.budget_of(model.engine, req.texts, self.max_tokens))
        sources = [source] * len(req.texts) if source else detect_sources(req.texts)
        for index, (text, src) in enumerate(zip(req.texts, sources, strict=True)):
            if not has_content(text):  # nothing to translate (e.g. only zero-width spaces): give it back as is
                results.append(Translation(text=text, detected_source_lang=source.code if source else None))
                spent.append(0)
                continue
            if src is None:
                results.append(Translation(text=text, detected_source_lang=None, note=UNDETECTED_NOTE))
                spent.append(0)
                continue
            out, before = text, tally.done
            if src.base != target.base:
                job = translation.Job(src, target, req.context, req.formality, self.max_tokens)
                label = f"{'file' if names else 'text'} {index + 1}/{len(req.texts)}"
                label += f" {names[index]}" if names else ""
                out = translation.translate_text(model.engine, text, job, call, tally, label)
            results.append(Translation(text=out, detected_source_lang=src.code))
            spent.append(tally.done - before)
        return results, tally.completions, spent


async def _sources(req: TranslateRequest, box: Sandbox, call: CallContext) -> list[material.Source]:
    """The files to translate, checked: exactly one of text and files."""
    if bool(req.files) == bool(req.texts):
        raise InvalidRequestError("pass either 'text' (strings) or 'files' (paths or globs), not both or neither")
    if req.output_path and not req.files:
        raise InvalidRequestError("output_path needs 'files': translations of files are written beside names")
    return await call.run_in_thread(lambda: material.load(box, req.files)) if req.files else []


LANGUAGES = LanguagesResult(
    languages=[LanguageInfo(code=lang.code, name=lang.name, native=lang.native) for lang in supported_languages()]
)
