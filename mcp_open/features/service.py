"""The domain service behind the tools: generate, translate, embed, rank; knows nothing of MCP."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from mcp_open import __version__
from mcp_open.engines.protocol import Completion, Embedded, Engine
from mcp_open.errors import InvalidRequestError
from mcp_open.features.accounting.account import Account, Prices
from mcp_open.features.accounting.ledger import ledger_at
from mcp_open.features.accounting.recorder import Recorder
from mcp_open.features.common.limits import check_rank_size, has_content
from mcp_open.features.common.schemas import (
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
from mcp_open.features.embed.embedding import check_texts, embed_texts, query_text, rank, shape_vectors, to_lists
from mcp_open.features.files import material
from mcp_open.features.files.sandbox import Sandbox, is_glob
from mcp_open.features.generate import file_jobs as jobs
from mcp_open.features.generate import generation, structured
from mcp_open.features.generate.over_files import generate_files
from mcp_open.features.search import search as searching
from mcp_open.features.search.schemas import SearchMode, SearchResult
from mcp_open.features.translate import translation
from mcp_open.features.translate.languages import (
    Language,
    detect_sources,
    normalize_source,
    normalize_target,
    supported_languages,
)
from mcp_open.models.gpu import GpuFacts
from mcp_open.runtime import environment, preflight
from mcp_open.runtime.calls import CallContext
from mcp_open.runtime.queueing import InflightGate
from mcp_open.runtime.remote_loading import describe_backend, remote_loader
from mcp_open.runtime.slots import LoadedModel, Loader, ModelSlot, default_loader
from mcp_open.settings import Settings

RANK_SNIPPET_CHARS = 160
RECORD_WAIT_SECONDS = 10.0  # the info resource waits at most this long for calls still being recorded
UNDETECTED_NOTE = (
    "no language could be detected (no words, or too short to tell); passed through unchanged. "
    "Pass source_lang to translate it anyway."
)


class Service:
    """Owns the model slots and turns requests into results."""

    def __init__(self, settings: Settings, loader: Loader = default_loader) -> None:
        self.settings = settings
        self._loader = loader
        self._gates: dict[str, InflightGate] = {}  # one --max-inflight limit per backend server
        named = settings.model_fields_set
        self.chat = self._slot("generation", settings.model, settings.backend, "model" in named)
        same = settings.translation_model == settings.model and settings.translation_backend == settings.backend
        self.translator = (
            self.chat
            if same
            else self._slot(
                "translation",
                settings.translation_model,
                settings.translation_backend,
                bool({"model", "translate_model"} & named),
            )
        )
        self.embedder = self._slot("embedding", settings.embed_model, settings.embed_backend, "embed_model" in named)
        prices = Prices(settings.price_input, settings.price_output)
        self.account = Account(ledger_at(settings.data_path), prices, self._tokenizer_for)
        self.recorder = Recorder(self.account)
        self.indexes = searching.Indexes(settings.data_path / "index")
        self._gpu_facts: GpuFacts | None = None

    def _slot(self, role: str, spec: str, backend: str | None, named: bool) -> ModelSlot:
        """A local model slot, or one on a backend server (sharing that server's in-flight limit)."""
        embedding = role == "embedding"
        if backend is None:
            return ModelSlot(role, spec, self.settings, embedding=embedding, loader=self._loader)
        if backend not in self._gates:
            self._gates[backend] = InflightGate(f"the backend {backend}", self.settings.max_inflight)
        loader = remote_loader(backend, explicit=named)
        gate = self._gates[backend]
        return ModelSlot(role, spec, self.settings, embedding=embedding, loader=loader, gate=gate, backend=backend)

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
            allow_secrets=self.settings.allow_secret_files,
        )

    async def generate(self, req: GenerateRequest, call: CallContext, roots: Sequence[Path] = ()) -> GenerateResult:
        """Generate text from a prompt or chat turns, optionally over files (all at once or each)."""
        self._check_max_tokens(req.max_tokens)
        shape = structured.for_request(req)
        if req.files or req.output_path:
            return await generate_files(self.chat, req, call, self.sandbox(roots), shape)
        async with self.chat.use(call) as model:
            if shape is not None:
                structured.require_support(model.engine.info)
            done = await call.run_in_thread(lambda: generation.generate(model.engine, req, call, shape))
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
        if plan:
            outputs = [
                jobs.Output(t.text, tokens, s.shown, t.detected_source_lang)
                for path, s, t, tokens in zip(plan, sources, translations, spent, strict=True)
            ]
            written = await call.run_in_thread(
                lambda: jobs.write_outputs(box, plan, outputs, call, overwrite=req.overwrite)
            )
            shown, more = jobs.condensed(written, req.output_path or "")
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
        translation.check_sizes(model.engine, req.texts)
        tally = translation.TokenTally(call, translation.budget_of(model.engine, req.texts, self.settings.max_tokens))
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
        if not query.strip():
            raise InvalidRequestError("'query' is empty; pass the text to rank the documents against")
        passages = [
            p for s in await self._sources(documents, files, "documents", roots, call) for p in material.passages(s)
        ]
        documents = [p.text for p in passages] if files else documents
        check_texts(documents, "documents", "a non-empty list of strings")
        check_rank_size([_ranked(i, documents, passages).model_dump_json() for i in range(len(documents))], top_k)
        async with self.embedder.use(call) as model:
            wrapped = query_text(query, instruction, model.engine.info.architecture)
            started = time.perf_counter()
            done = await call.run_in_thread(lambda: embed_texts(model.engine, [wrapped, *documents], True, call))
        results = [_ranked(i, documents, passages, round(score, 6)) for i, score in rank(done.vectors, top_k)]
        return RankResult(results=results, usage=_embed_usage(done, len(documents) + 1, started), model=model.name)

    def backends(self) -> list[dict[str, object]]:
        """What each configured backend server offers (blocking: asks each one)."""
        return [describe_backend(url, self.settings.backend_api_key) for url in self._gates]

    async def search(
        self,
        query: str,
        paths: Sequence[str] | None,
        *,
        top_k: int,
        instruction: str | None,
        mode: SearchMode,
        call: CallContext,
        client_roots: Sequence[Path] = (),
    ) -> SearchResult:
        """Find the passages of the user's files that answer a query, indexing what changed first."""
        check_texts([query], "query")
        sandbox = self.sandbox(client_roots)
        files, folders = searching.scope_of(sandbox, paths)
        job = searching.SearchJob(query, mode, top_k, instruction, files, folders, sandbox)
        started = time.perf_counter()
        async with searching.embedder_for(self.embedder, call) as model:
            outcome = await call.run_in_thread(
                lambda: searching.search(self.indexes, model.engine, job, call.progress.update, call.should_stop)
            )
        return searching.result_of(outcome, sandbox.shown, model.name, mode, time.perf_counter() - started)

    async def index(
        self, paths: Sequence[str], call: CallContext, client_roots: Sequence[Path] = ()
    ) -> searching.IndexReport:
        """Bring the index of the given folders, files or globs up to date without searching."""
        sandbox = self.sandbox(client_roots)
        files, folders = searching.scope_of(sandbox, paths)
        async with searching.embedder_for(self.embedder, call) as model:
            counts, rebuilt = await call.run_in_thread(
                lambda: searching.update(
                    self.indexes, model.engine, files, folders, call.progress.update, call.should_stop, sandbox
                )
            )
        return searching.IndexReport(model.name, len(files), counts, rebuilt)

    def languages(self) -> LanguagesResult:
        """The languages translate accepts."""
        return _LANGUAGES

    def info(self, *, probe_backends: bool = False) -> dict[str, object]:
        """Version, llama.cpp build features, the GPU answer, each model's state or plan, and (probing) what each
        backend serves."""
        backends = {"backends": self.backends()} if probe_backends and self._gates else {}
        return {
            **backends,
            "version": __version__,
            **preflight.report(self.slots, self.gpu_facts()),
            "savings": self._usage_totals(),
            "limits": {
                "max_tokens": self.settings.max_tokens,
                "max_queue": self.settings.max_queue,
                "max_inflight": self.settings.max_inflight,
                "timeout_seconds": self.settings.timeout,
                "keep_alive_minutes": self.settings.keep_alive,
            },
        }

    def _usage_totals(self) -> dict[str, object]:
        """The ledger's totals, once the calls still being recorded are in."""
        self.recorder.flush(timeout=RECORD_WAIT_SECONDS)
        return self.account.summary()

    def _tokenizer_for(self, model_name: str) -> Engine | None:
        """The loaded engine serving a model name (it counts the agent's side of that model's calls)."""
        for slot in self.slots:
            if slot.model is not None and slot.model.name == model_name:
                return slot.model.engine
        return None

    def gpu_facts(self) -> GpuFacts:
        """The build and GPUs, read once (they do not change while serving)."""
        if self._gpu_facts is None:
            self._gpu_facts = environment.gpu_facts(self.settings)
        return self._gpu_facts

    def startup_warnings(self) -> list[str]:
        """What the operator must hear at start: models that cannot resolve, the GPU answer when not a plain yes,
        allowed folders that do not exist."""
        missing = [f"--allow-dir {path} is not a folder; it is ignored" for path in self.sandbox().missing]
        return [*preflight.startup_lines(self.slots, self.gpu_facts()), *missing]

    def unload_idle(self) -> list[str]:
        """Unload models idle past --keep-alive; returns the roles unloaded."""
        if self.settings.keep_alive is None or self.recorder.busy:  # a tokenizer may be counting a call
            return []
        idle = self.settings.keep_alive * 60
        return [slot.role for slot in self.slots if slot.unload_if_idle(idle)]

    def close(self) -> None:
        """Record the calls still queued (with their models' tokenizers), then free every model."""
        self.recorder.close()
        for slot in self.slots:
            slot.unload()
        self.indexes.close()

    def _check_max_tokens(self, max_tokens: int) -> None:
        if max_tokens > self.settings.max_tokens:
            raise InvalidRequestError(
                f"max_tokens={max_tokens} is above this server's limit of {self.settings.max_tokens}; "
                "ask for fewer, or restart the server with a larger --max-tokens"
            )


_LANGUAGES = LanguagesResult(
    languages=[LanguageInfo(code=lang.code, name=lang.name, native=lang.native) for lang in supported_languages()]
)


def _ranked(
    index: int, documents: list[str], passages: list[material.Passage], score: float = -0.123456
) -> RankedDocument:
    """One ranked document or file passage as the result shows it."""
    hit = RankedDocument(index=index, score=score, text=documents[index][:RANK_SNIPPET_CHARS])
    if passages:
        where = passages[index]
        hit.path, hit.line, hit.page = where.source.shown, where.line, where.page
    return hit


def _embed_usage(done: Embedded, count: int, started: float) -> EmbedUsage:
    seconds = time.perf_counter() - started
    return EmbedUsage(
        prompt_tokens=done.prompt_tokens,
        seconds=round(seconds, 4),
        texts_per_second=round(count / seconds, 2) if seconds > 0 else 0.0,
    )
