"""Tool metadata as data: names, descriptions an agent can act on, annotations."""

from __future__ import annotations

from mcp_types import ToolAnnotations

SERVER_INSTRUCTIONS = (
    "mcp-open runs an open model (Qwen by default) on this machine. Delegate routine work to it to save "
    "money: drafting, rewriting, summarising and extraction with `generate`; translation with `translate`; "
    "semantic search with `rank` (returns the best matching documents, not vectors) or `embed` when you "
    "really need vectors. Long calls report progress; cancelling a call stops the model at once. Work by "
    "reference to save the most: pass `files` (paths, file:// URIs, globs inside the folders the user allowed) "
    "instead of pasting their text, and `output_path` to have results written to disk instead of returned."
)

GENERATE = (
    "Generate text with the local model. Give either `prompt` (one user message) or `messages` (chat turns "
    "with role system/user/assistant), optionally a `system` prompt. Good for drafting, rewriting, "
    "summarising, classification and extraction that do not need a frontier model. `thinking` (Qwen3) lets "
    "the model reason first; the reasoning comes back in `reasoning`, the answer in `text`. `max_tokens` "
    "bounds the output; usage reports tokens and speed. Files: `files` are read on the server as the material "
    "(each marked with its path; text in any encoding, Markdown, code, CSV, JSON, HTML, PDF with page marks) and "
    "`prompt`/`messages` is the instruction. `each: true` runs the instruction once per file and returns one "
    "answer per file in `files`. `output_path` writes the answer (a folder for each=true, names kept) and returns "
    "a short receipt in `written` instead of the text; existing files are replaced only with `overwrite: true`. "
    "Material longer than the context is an error with the token counts, never cut. For extraction and "
    "classification pass `json_schema` (the answer is JSON that matches it, parsed into `data`; with `each`, one "
    "object per file, or JSON Lines to `output_path`) or `choices` (the answer is exactly one of them)."
)
TRANSLATE = (
    "Translate text with the local model. `text` is a string or a list of strings (one translation each, in "
    "order). `target_lang` is a language code such as de, fr, ja, pt-BR, en-GB, zh-Hant (see the "
    "`languages` tool); `source_lang` is detected when omitted and the detected code is reported. `context` "
    "helps with ambiguity and is not translated. `formality`: default, more, less, prefer_more, "
    "prefer_less. Line breaks and markdown are kept; the output is only the translation. Instead of `text`, "
    "`files` translates whole files read on the server; with `output_path` the translations are written (a "
    "folder for several files, names kept with a language suffix: notes.md -> notes.de.md) and `written` "
    "holds receipts; existing files are replaced only with `overwrite: true`."
)
EMBED = (
    "Embed texts as vectors with the local embedding model (one vector per text, in order). Prefer `rank` "
    "for search: vectors are long and rarely useful in a conversation. `dimensions` truncates vectors "
    "(Matryoshka) and renormalises; `truncate` cuts texts longer than the model's context instead of failing. "
    "`files` instead of `texts` embeds each whole file (one vector per file; `paths` says which)."
)
RANK = (
    "Rank `documents` by meaning against a `query` on the server, with the local embedding model, and return "
    "the `top_k` best as {index, score, text snippet}. Use this instead of pulling raw embeddings into the "
    "conversation: semantic search, deduplication, picking the relevant files or passages. `files` instead of "
    "`documents` ranks the passages of those files (paragraphs of up to about 1,200 characters), each result "
    "with its `path`, first `line` and, for PDFs, `page`."
)
SEARCH = (
    "Search the user's files (folders, files or globs inside the allowed folders) for the passages that answer "
    "`query`, and return only those: path, line range (page for PDF), score, the passage text and whether it "
    "matched by meaning, by words or both. Use it instead of reading whole files into the conversation. The "
    "first search of a folder indexes it (with progress); later searches re-embed only files that changed. "
    "`mode`: hybrid (default; best for most queries), semantic (paraphrases) or lexical (exact identifiers, "
    "names, error codes)."
)
LANGUAGES = "List the language codes `translate` accepts, with English and native names."

# generate and translate write files when given output_path, and replace them only with overwrite=true.
WRITES_FILES = ToolAnnotations(
    read_only_hint=False, destructive_hint=True, open_world_hint=False, idempotent_hint=False
)
WRITES_FILES_IDEMPOTENT = ToolAnnotations(
    read_only_hint=False, destructive_hint=True, open_world_hint=False, idempotent_hint=True
)
READ_ONLY = ToolAnnotations(read_only_hint=True, destructive_hint=False, open_world_hint=False, idempotent_hint=False)
READ_ONLY_IDEMPOTENT = ToolAnnotations(
    read_only_hint=True, destructive_hint=False, open_world_hint=False, idempotent_hint=True
)
