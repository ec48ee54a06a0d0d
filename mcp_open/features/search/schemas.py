"""Result shapes of the search tool."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

SearchMode = Literal["hybrid", "semantic", "lexical"]


class Passage(BaseModel):
    """One passage that matched."""

    path: str = Field(description="The file, as it appears inside the allowed folders.")
    start_line: int | None = Field(description="First line of the passage (1-based); None for PDF.")
    end_line: int | None = Field(description="Last line of the passage; None for PDF.")
    page: int | None = Field(description="PDF page the passage starts on; None for other files.")
    score: float = Field(
        description="hybrid: relative score fusion (0-1); semantic: cosine similarity; lexical: bm25 relevance."
    )
    matched: Literal["semantic", "lexical", "both"] = Field(
        description="semantic: among the closest in meaning; lexical: contains query words; both."
    )
    text: str = Field(description="The passage itself.")


class IndexStats(BaseModel):
    """What keeping the index current cost this call."""

    files: int = Field(description="Files searched.")
    chunks: int = Field(description="Passages searched.")
    updated: int = Field(description="Files (re-)embedded because they were new or their content changed.")
    unchanged: int = Field(description="Files whose stored passages were still current.")
    removed: int = Field(description="Files dropped from the index because they are gone.")
    skipped: int = Field(0, description="Files that could not be read (left out of the search).")
    chunks_embedded: int = Field(description="Passages embedded this call.")
    rebuilt: str | None = Field(None, description="Why the index was rebuilt from scratch this call, if it was.")
    seconds: float = Field(description="Time spent bringing the index up to date.")


class SearchUsage(BaseModel):
    """Local model work: tokens embedded (passages and query); nothing is generated."""

    prompt_tokens: int
    completion_tokens: int = 0
    seconds: float


class SearchResult(BaseModel):
    """What search returns."""

    passages: list[Passage] = Field(description="Best first.")
    mode: SearchMode
    index: IndexStats
    usage: SearchUsage
    model: str = Field(description="The embedding model whose index was searched.")
