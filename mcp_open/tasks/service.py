"""The domain service behind the tools: generate, translate, embed, rank; knows nothing of MCP."""

from __future__ import annotations

import time

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
from mcp_open.tasks.languages import Language, detect_language, normalize_source, normalize_target, supported_languages
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

    async def generate(self, req: GenerateRequest, call: CallContext) -> GenerateResult:
        """Generate text from a prompt or chat turns."""
        self._check_max_tokens(req.max_tokens)
        shape = structured.for_request(req)
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

    async def translate(self, req: TranslateRequest, call: CallContext) -> TranslateResult:
        """Translate each text into the target language, keeping formatting."""
        target = normalize_target(req.target_lang)
        source = normalize_source(req.source_lang) if req.source_lang else None
        if not req.texts:
            raise InvalidRequestError("'text' is empty; pass a string or a non-empty list of strings")
        async with self.translator.use(call) as model:
            outcome = await call.run_in_thread(lambda: self._translate_all(model, req, source, target, call))
        translations, completions = outcome
        usage = generation.usage_of(completions, one_prompt=False)
        self.ledger.record("translate", usage.prompt_tokens, usage.completion_tokens)
        return TranslateResult(translations=translations, target_lang=target.code, usage=usage, model=model.name)

    def _translate_all(
        self, model: LoadedModel, req: TranslateRequest, source: Language | None, target: Language, call: CallContext
    ) -> tuple[list[Translation], list[Completion]]:
        """Translate every text (blocking)."""
        results: list[Translation] = []
        tally = translation.TokenTally(call, translation.budget_of(model.engine, req.texts, self.settings.max_tokens))
        for index, text in enumerate(req.texts):
            src = source or detect_language(text)
            if src is None:
                raise InvalidRequestError(
                    f"could not detect the language of text[{index}]; pass source_lang (e.g. 'en')"
                )
            out = text
            if src.base != target.base and text.strip():
                job = translation.Job(src, target, req.context, req.formality, self.settings.max_tokens)
                out = translation.translate_text(
                    model.engine, text, job, call, tally, f"text {index + 1}/{len(req.texts)}"
                )
            results.append(Translation(text=out, detected_source_lang=src.code))
        return results, tally.completions

    async def embed(
        self, texts: list[str], *, normalize: bool, dimensions: int | None, truncate: bool, call: CallContext
    ) -> EmbedResult:
        """Embed texts, one vector each, in order."""
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
        )

    async def rank(
        self, query: str, documents: list[str], *, top_k: int, instruction: str | None, call: CallContext
    ) -> RankResult:
        """Rank documents by meaning against a query, on the server."""
        check_texts([query], "query")
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
        return environment.startup_warnings(self.settings)

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
