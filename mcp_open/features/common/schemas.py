"""Request and result shapes shared by the service and the MCP tools."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, WithJsonSchema

from mcp_open.engines.protocol import FinishReason

Role = Literal["system", "user", "assistant"]
Formality = Literal["default", "less", "more", "prefer_less", "prefer_more"]
TagHandling = Literal["xml", "html"]


class ChatMessage(BaseModel):
    """One chat turn."""

    role: Role  # the enum says it all; every word here is sent to the calling model each turn
    content: str


class GenerateRequest(BaseModel):
    """What generate needs."""

    prompt: str | None = None
    messages: list[ChatMessage] | None = None
    system: str | None = None
    max_tokens: int = 512
    temperature: float | None = None
    top_p: float | None = None
    top_k: int = 20
    min_p: float = 0.0
    repeat_penalty: float = 1.0
    seed: int | None = None
    stop: list[str] = Field(default_factory=list)
    thinking: bool = False
    json_schema: dict[str, Any] | None = None
    choices: list[str] | None = None
    files: list[str] = Field(default_factory=list)
    each: bool = False
    output_path: str | None = None
    overwrite: bool = False


class Usage(BaseModel):
    """Token counts and timings of one call."""

    prompt_tokens: int = Field(description="Tokens in the prompt as the model saw it.")
    completion_tokens: int = Field(description="Tokens generated (never more than max_tokens).")
    total_tokens: int = Field(description="prompt_tokens + completion_tokens.")
    cached_prompt_tokens: int = Field(0, description="Prompt tokens reused from the KV cache (shared prefix).")
    prompt_seconds: float = Field(description="Time to first token: queue excluded, prompt processing included.")
    seconds: float = Field(description="Wall time of the model work (prompt plus decoding).")
    tokens_per_second: float = Field(description="Decoding speed: tokens per second after the first token.")
    drafted_tokens: int = Field(0, description="Speculative decoding: tokens guessed from the prompt and checked.")
    accepted_tokens: int = Field(0, description="Of the drafted tokens, those the model would have written anyway.")


class WrittenFile(BaseModel):
    """A receipt for one file written instead of returned."""

    path: str = Field(description="Where it was written (relative to its allowed folder when unambiguous).")
    source: str | None = Field(default=None, description="The input file it was made from.")
    bytes: int = Field(description="Size written, UTF-8.")
    tokens: int = Field(description="Tokens the model generated for it.")
    preview: str = Field(description="Its first few lines.")
    source_lang: str | None = Field(default=None, description="Translations: the source language used.")
    # Left out when empty: every receipt costs the agent tokens.
    glossary_applied: list[str] | None = Field(
        default=None, exclude_if=lambda v: v is None, description="Translations: glossary entries enforced."
    )
    problems: list[str] | None = Field(
        default=None, exclude_if=lambda v: v is None, description="Translations: pieces kept in the source language."
    )


class WrittenSummary(BaseModel):
    """The files written beyond the receipts shown: how many, where, how big (names follow the inputs')."""

    count: int = Field(description="Files written besides those in `written`.")
    folder: str = Field(description="The folder they were written under.")
    bytes: int = Field(description="Their total size, UTF-8.")
    tokens: int = Field(description="Tokens the model generated for them.")


class FileAnswer(BaseModel):
    """One file's answer when generate runs once per file (each=true)."""

    path: str = Field(description="The input file.")
    text: str | None = Field(description="The answer; null when written to disk (see written).")
    data: Any = Field(default=None, description="With json_schema or choices: this file's answer, validated.")
    reasoning: str | None = None
    finish_reason: FinishReason
    usage: Usage


class GenerateResult(BaseModel):
    """What generate returns."""

    text: str = Field(description="The answer (reasoning excluded); empty when per file (files) or written.")
    data: Any = Field(default=None, description="With json_schema or choices: the answer parsed and validated.")
    reasoning: str | None = Field(default=None, description="The model's thinking, when thinking was on.")
    finish_reason: FinishReason = Field(description="stop: the model finished or hit a stop string; length: budget.")
    usage: Usage
    model: str = Field(description="The model that answered.")
    files: list[FileAnswer] | None = Field(
        default=None, description="each=true without output_path: one answer per file, in path order."
    )
    written: list[WrittenFile] | None = Field(
        default=None, description="With output_path: receipts with previews (all of them, or one when many)."
    )
    more_written: WrittenSummary | None = Field(
        default=None, description="With many files: the others written, summed (list the folder for their names)."
    )


class TranslateRequest(BaseModel):
    """What translate needs."""

    texts: list[str]
    target_lang: str
    source_lang: str | None = None
    context: str | None = None
    formality: Formality = "default"
    files: list[str] = Field(default_factory=list)
    output_path: str | None = None
    overwrite: bool = False
    glossary: dict[str, str] | str | None = None  # inline entries, a stored glossary's name, or a CSV/TSV file
    custom_instructions: list[str] = Field(default_factory=list)
    tag_handling: TagHandling | None = None


class Translation(BaseModel):
    """One translated text."""

    text: str = Field(description="The translation, formatting kept.")
    detected_source_lang: str | None = Field(description="The source language used (given or detected).")
    note: str | None = Field(default=None, description="Why the text was passed through unchanged, when it was.")
    path: str | None = Field(default=None, description="The file translated, when files were given.")
    glossary_applied: list[str] | None = Field(
        default=None,
        exclude_if=lambda v: v is None,
        description="Glossary entries enforced in this text ('source -> target'), when any applied.",
    )
    problems: list[str] | None = Field(
        default=None,
        exclude_if=lambda v: v is None,
        description="Pieces whose check failed even under constraint: their source text was kept, never broken.",
    )


class TranslateResult(BaseModel):
    """What translate returns."""

    translations: list[Translation] = Field(description="One per input text or file, in order; none when written.")
    target_lang: str = Field(description="The normalised target language code.")
    usage: Usage
    model: str
    written: list[WrittenFile] | None = Field(
        default=None, description="With output_path: receipts with previews (all of them, or one when many)."
    )
    more_written: WrittenSummary | None = Field(
        default=None, description="With many files: the others written, summed (list the folder for their names)."
    )


class EmbedUsage(BaseModel):
    """Token counts and timing of an embedding call."""

    prompt_tokens: int
    seconds: float
    texts_per_second: float


# Loose schemas for big numeric payloads: clients validate structured output against the schema in pure
# Python, which costs ~0.4 s for 64 vectors of 640 floats when every number is typed (measured, bench/).
VECTORS_SCHEMA = WithJsonSchema({"type": "array", "items": {"type": "array"}})


class WrittenVectors(BaseModel):
    """A receipt for vectors written to a file instead of returned."""

    path: str = Field(description="Where they were written (relative to its allowed folder when unambiguous).")
    format: Literal["npy", "jsonl"] = Field(description="npy: one float32 array, a row per text; jsonl: a line each.")
    count: int = Field(description="Vectors written, one per text or file, in order.")
    bytes: int = Field(description="Size of the file.")


class EmbedResult(BaseModel):
    """What embed returns."""

    embeddings: Annotated[list[list[float]], VECTORS_SCHEMA] = Field(
        description="One vector per input text, in order; empty when written to output_path."
    )
    dimensions: int
    truncated: list[int] = Field(description="Indexes of texts cut to fit the context (truncate=true).")
    usage: EmbedUsage
    model: str
    paths: list[str] | None = Field(default=None, description="With files: the file of each vector, in order.")
    written: WrittenVectors | None = Field(default=None, description="With output_path: where the vectors went.")


class RankedDocument(BaseModel):
    """One document's place in a ranking."""

    index: int = Field(description="Position of the document in the input list.")
    score: float = Field(description="Cosine similarity to the query, -1 to 1.")
    text: str = Field(description="The document's start, for orientation.")
    path: str | None = Field(default=None, description="With files: the file the passage comes from.")
    line: int | None = Field(default=None, description="With files: the passage's first line (1-based).")
    page: int | None = Field(default=None, description="With PDF files: the page the passage starts on.")


class RankResult(BaseModel):
    """What rank returns."""

    results: list[RankedDocument] = Field(description="Best match first.")
    usage: EmbedUsage
    model: str


class LanguageInfo(BaseModel):
    """A supported language."""

    code: str
    name: str
    native: str


# Inlined rather than a $ref: the same client-side check costs 3 ms per call through a reference.
LANGUAGES_SCHEMA = WithJsonSchema(
    {
        "type": "array",
        "items": {
            "type": "object",
            "properties": {"code": {"type": "string"}, "name": {"type": "string"}, "native": {"type": "string"}},
            "required": ["code", "name", "native"],
        },
    }
)


class LanguagesResult(BaseModel):
    """What languages returns."""

    languages: Annotated[list[LanguageInfo], LANGUAGES_SCHEMA]
