"""The domain service behind the tools: generate, translate, embed, rank; knows nothing of MCP."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from mcp_open import __version__
from mcp_open.engines.protocol import Completion, Embedded
from mcp_open.errors import InvalidRequestError
from mcp_open.serving import environment
from mcp_open.serving.calls import CallContext
from mcp_open.serving.slots import LoadedModel, Loader, ModelSlot, default_loader
from mcp_open.settings import Settings
from mcp_open.tasks import generation, structured, translation
from mcp_open.tasks.accounting import Ledger, Prices
from mcp_open.tasks.embedding import check_texts, embed_texts, query_text, rank, shape_vectors, to_lists
from mcp_open.tasks.files import jobs, material
from mcp_open.tasks.files.generating import generate_files
from mcp_open.tasks.files.sandbox import Sandbox, is_glob
from mcp_open.tasks.languages import (
    Language,
    detect_sources,
    normalize_source,
    normalize_target,
    supported_languages,
)
from mcp_open.tasks.schemas import (
    EmbedResult,
    EmbedUsage,
    GenerateRequest,
    GenerateResult,
    LanguageInfo,
    LanguagesResult,
    RankedDocument,
    RankResult,
    TranslateRequest,
    TranslateResult,
    Translation,
)

RANK_SNIPPET_CHARS = 160
UNDETECTED_NOTE = (
    "no language could be detected (no words, or too short to tell); passed through unchanged. "
    "Pass source_lang to translate it anyway."
)


class Service:
    """Owns the model slots and turns requests into results."""

    def __init__(self, settings: Settings, loader: Loader = default_loader) -> None:
        self.settings = settings
        self.chat = ModelSlot("generation", settings.model, settings, embedding=False, loader=loader)
        same = settings.translation_model == settings.model
        self.translator = (
            self.chat
            if same
            else ModelSlot("translation", settings.translation_model, settings, embedding=False, loader=loader)
        )
        self.embedder = ModelSlot("embedding", settings.embed_model, settings, embedding=True, loader=loader)
        self.ledger = Ledger(Prices(settings.price_input, settings.price_output))

    @property
    def slots(self) -> list[ModelSlot]:
        """Each distinct model slot once."""
        unique = {id(s): s for s in (self.chat, self.translator, self.embedder)}
        return list(unique.values())

    def sandbox(self, client_roots: Sequence[Path] = ()) -> Sandbox:
        """The folders this call may read and write: --allow-dir plus the roots the client declared."""
        mb = 1_000_000
        return Sandbox(
            [*self.settings.allow_dirs, *client_roots],
            max_file_bytes=int(self.settings.max_file_mb * mb),
            max_matches=self.settings.max_files,
        )

    async def generate(self, req: GenerateRequest, call: CallContext, roots: Sequence[Path] = ()) -> GenerateResult:
        """Generate text from a prompt or chat turns, optionally over files (all at once or each)."""
        self._check_max_tokens(req.max_tokens)
        shape = structured.for_request(req)
        if req.files or req.output_path:
            result = await generate_files(self.chat, req, call, self.sandbox(roots), shape)
            self.ledger.record("generate", result.usage.prompt_tokens, result.usage.completion_tokens)
            return result
        async with self.chat.use(call) as model:
            if shape is not None:
                structured.require_support(model.engine.info)
            done = await call.run_in_thread(lambda: generation.generate(model.engine, req, call, shape))
        self.ledger.record("generate", done.usage.prompt_tokens, done.usage.completion_tokens)
        data = structured.parse(shape, done.text, done.finish_reason, req.max_tokens) if shape else None
        return GenerateResult(
            text=done.text,
            data=data,
            reasoning=done.reasoning,
            finish_reason=done.finish_reason,
            usage=done.usage,
            model=model.name,
        )

    async def translate(self, req: TranslateRequest, call: CallContext, roots: Sequence[Path] = ()) -> TranslateResult:
        """Translate each text (or whole file) into the target language, keeping formatting."""
        target = normalize_target(req.target_lang)
        source = normalize_source(req.source_lang) if req.source_lang else None
        box = self.sandbox(roots)
        sources = await self._translation_sources(req, box, call)
        texts = [s.doc.text for s in sources] if sources else req.texts
        if not texts:
            raise InvalidRequestError("'text' is empty; pass a string or a non-empty list of strings")
        plan: list[Path] = []
        if req.output_path:
            spec = req.output_path
            many = len(sources) > 1 or any(is_glob(f) for f in req.files)  # a glob writes a folder, even for one
            plan = await call.run_in_thread(
                lambda: jobs.plan_outputs(box, spec, sources, many=many, suffix=target.code, overwrite=req.overwrite)
            )
        names = [s.shown for s in sources] or None
        job = req.model_copy(update={"texts": texts})
        async with self.translator.use(call) as model:
            outcome = await call.run_in_thread(lambda: self._translate_all(model, job, source, target, call, names))
        translations, completions, spent = outcome
        usage = generation.usage_of(completions, one_prompt=False)
        self.ledger.record("translate", usage.prompt_tokens, usage.completion_tokens)
        if plan:
            outputs = [
                jobs.Output(t.text, tokens, s.shown, t.detected_source_lang)
                for path, s, t, tokens in zip(plan, sources, translations, spent, strict=True)
            ]
            written = await call.run_in_thread(
                lambda: jobs.write_outputs(box, plan, outputs, call, overwrite=req.overwrite)
            )
            return TranslateResult(
                translations=[], target_lang=target.code, usage=usage, model=model.name, written=written
            )
        for done, name in zip(translations, names or [], strict=False):
            done.path = name
        return TranslateResult(translations=translations, target_lang=target.code, usage=usage, model=model.name)

    async def _translation_sources(
        self, req: TranslateRequest, box: Sandbox, call: CallContext
    ) -> list[material.Source]:
        """The files to translate, checked: exactly one of text and files."""
        if bool(req.files) == bool(req.texts):
            raise InvalidRequestError("pass either 'text' (strings) or 'files' (paths or globs), not both or neither")
        if req.output_path and not req.files:
            raise InvalidRequestError("output_path needs 'files': translations of files are written beside names")
        return await call.run_in_thread(lambda: material.load(box, req.files)) if req.files else []

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
        tally = translation.TokenTally(call, translation.budget_of(model.engine, req.texts, self.settings.max_tokens))
        sources = [source] * len(req.texts) if source else detect_sources(req.texts)
        for index, (text, src) in enumerate(zip(req.texts, sources, strict=True)):
            if src is None:
                results.append(Translation(text=text, detected_source_lang=None, note=UNDETECTED_NOTE))
                spent.append(0)
                continue
            out, before = text, tally.done
            if src.base != target.base and text.strip():
                job = translation.Job(src, target, req.context, req.formality, self.settings.max_tokens)
                label = f"{'file' if names else 'text'} {index + 1}/{len(req.texts)}"
                label += f" {names[index]}" if names else ""
                out = translation.translate_text(model.engine, text, job, call, tally, label)
            results.append(Translation(text=out, detected_source_lang=src.code))
            spent.append(tally.done - before)
        return results, tally.completions, spent

    async def embed(
        self,
        texts: list[str],
        *,
        normalize: bool,
        dimensions: int | None,
        truncate: bool,
        call: CallContext,
        files: Sequence[str] = (),
        roots: Sequence[Path] = (),
    ) -> EmbedResult:
        """Embed texts (or whole files), one vector each, in order."""
        sources = await self._sources(texts, files, "texts", roots, call)
        texts = [s.doc.text for s in sources] if sources else texts
        check_texts(texts)
        async with self.embedder.use(call) as model:
            started = time.perf_counter()
            done = await call.run_in_thread(lambda: embed_texts(model.engine, texts, truncate, call))
        vectors = shape_vectors(done.vectors, normalize=normalize, dimensions=dimensions)
        self.ledger.record("embed", done.prompt_tokens, 0)
        return EmbedResult(
            embeddings=to_lists(vectors),
            dimensions=int(vectors.shape[1]),
            truncated=done.truncated,
            usage=_embed_usage(done, len(texts), started),
            model=model.name,
            paths=[s.shown for s in sources] or None,
        )

    async def _sources(
        self, values: Sequence[str], files: Sequence[str], field: str, roots: Sequence[Path], call: CallContext
    ) -> list[material.Source]:
        """The files of an embed or rank call, read; they replace the texts, so both at once is refused."""
        if not files:
            return []
        if values:
            raise InvalidRequestError(f"pass either '{field}' or 'files', not both")
        box = self.sandbox(roots)
        return await call.run_in_thread(lambda: material.load(box, list(files)))

    async def rank(
        self,
        query: str,
        documents: list[str],
        *,
        top_k: int,
        instruction: str | None,
        call: CallContext,
        files: Sequence[str] = (),
        roots: Sequence[Path] = (),
    ) -> RankResult:
        """Rank documents (or the passages of files) by meaning against a query, on the server."""
        check_texts([query], "query")
        passages = [
            p for s in await self._sources(documents, files, "documents", roots, call) for p in material.passages(s)
        ]
        documents = [p.text for p in passages] if files else documents
        check_texts(documents, "documents")
        async with self.embedder.use(call) as model:
            wrapped = query_text(query, instruction, model.engine.info.architecture)
            started = time.perf_counter()
            done = await call.run_in_thread(lambda: embed_texts(model.engine, [wrapped, *documents], True, call))
        self.ledger.record("rank", done.prompt_tokens, 0)
        results = [
            RankedDocument(index=i, score=round(score, 6), text=documents[i][:RANK_SNIPPET_CHARS])
            for i, score in rank(done.vectors, top_k)
        ]
        for hit in results if passages else []:
            where = passages[hit.index]
            hit.path, hit.line, hit.page = where.source.shown, where.line, where.page
        return RankResult(results=results, usage=_embed_usage(done, len(documents) + 1, started), model=model.name)

    def languages(self) -> LanguagesResult:
        """The languages translate accepts."""
        return _LANGUAGES

    def info(self) -> dict[str, object]:
        """Version, llama.cpp build features and each model's state."""
        return {
            "version": __version__,
            **environment.build_report(self.settings),
            "models": [slot.describe() for slot in self.slots],
            "savings": self.ledger.report(),
            "limits": {
                "max_tokens": self.settings.max_tokens,
                "max_queue": self.settings.max_queue,
                "timeout_seconds": self.settings.timeout,
                "keep_alive_minutes": self.settings.keep_alive,
            },
        }

    def startup_warnings(self) -> list[str]:
        """What the operator must hear at start."""
        missing = [f"--allow-dir {path} is not a folder; it is ignored" for path in self.sandbox().missing]
        return [*environment.startup_warnings(self.settings), *missing]

    def unload_idle(self) -> list[str]:
        """Unload models idle past --keep-alive; returns the roles unloaded."""
        if self.settings.keep_alive is None:
            return []
        idle = self.settings.keep_alive * 60
        return [slot.role for slot in self.slots if slot.unload_if_idle(idle)]

    def close(self) -> None:
        """Free every loaded model."""
        for slot in self.slots:
            slot.unload()

    def _check_max_tokens(self, max_tokens: int) -> None:
        if max_tokens > self.settings.max_tokens:
            raise InvalidRequestError(
                f"max_tokens={max_tokens} is above this server's limit of {self.settings.max_tokens}; "
                "ask for fewer, or restart the server with a larger --max-tokens"
            )


_LANGUAGES = LanguagesResult(
    languages=[LanguageInfo(code=lang.code, name=lang.name, native=lang.native) for lang in supported_languages()]
)


def _embed_usage(done: Embedded, count: int, started: float) -> EmbedUsage:
    seconds = time.perf_counter() - started
    return EmbedUsage(
        prompt_tokens=done.prompt_tokens,
        seconds=round(seconds, 4),
        texts_per_second=round(count / seconds, 2) if seconds > 0 else 0.0,
    )
