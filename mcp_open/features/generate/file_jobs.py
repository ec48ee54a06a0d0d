"""Generate over files (all as one material, or once per file) and write results as receipts (blocking code)."""

from __future__ import annotations

import copy

from mcp_open.engines.protocol import Engine
from mcp_open.errors import ContextOverflowError, InvalidRequestError
from mcp_open.features.common.schemas import FileAnswer, GenerateRequest
from mcp_open.features.files.material import Source, with_material
from mcp_open.features.generate import generation
from mcp_open.features.generate.structured import Structured
from mcp_open.runtime.calls import CallContext, ProgressState

WAYS_OUT = (
    "pass each=true to run the instruction once per file, pass fewer files, or restart the server with a larger --ctx"
)


class FileProgress(ProgressState):
    """One file's progress, seen by the call as a share of all files (file i of n, with its name)."""

    def __init__(self, parent: ProgressState, index: int, count: int, label: str) -> None:
        super().__init__()
        self.parent, self.index, self.count, self.label = parent, index, count, label

    def update(self, progress: float, total: float | None = None, message: str | None = None) -> None:
        share = min(progress / total, 1.0) * 0.99 if total else 0.0
        self.parent.update(self.index + share, self.count, self._say(message or ""))

    def note(self, message: str) -> None:
        self.parent.note(self._say(message))

    def _say(self, message: str) -> str:
        return f"file {self.index + 1}/{self.count} {self.label}: {message}"


def per_file(call: CallContext, index: int, count: int, label: str) -> CallContext:
    """The call as one file of many sees it: same cancellation, progress scaled into the file's share."""
    sub = copy.copy(call)
    sub.progress = FileProgress(call.progress, index, count, label)
    return sub


def generate_over(
    engine: Engine, req: GenerateRequest, sources: list[Source], call: CallContext, shape: Structured | None = None
) -> generation.Generated:
    """One generation with all files as material before the instruction (its answer constrained by shape)."""
    try:
        return generation.generate(engine, _with_files(req, sources), call, shape)
    except ContextOverflowError as exc:
        what = f"'{sources[0].shown}' alone" if len(sources) == 1 and req.each else f"{len(sources)} file(s)"
        ways = "split the file, or restart the server with a larger --ctx" if req.each else WAYS_OUT
        raise exc.with_advice(f"{what} and the instruction do not fit; {ways}") from exc


def generate_each(
    engine: Engine, req: GenerateRequest, sources: list[Source], call: CallContext, shape: Structured | None = None
) -> list[generation.Generated]:
    """The instruction once per file, progress per file."""
    done = []
    for index, source in enumerate(sources):
        one = per_file(call, index, len(sources), source.shown)
        done.append(generate_over(engine, req, [source], one, shape))
        call.progress.update(index + 1, len(sources), f"{index + 1}/{len(sources)} files done")
    return done


def answers(sources: list[Source], done: list[generation.Generated], *, written: bool) -> list[FileAnswer]:
    """One answer per file; the text is left out when it went to disk."""
    return [
        FileAnswer(
            path=s.shown,
            text=None if written else g.text,
            reasoning=None if written else g.reasoning,
            finish_reason=g.finish_reason,
            usage=g.usage,
        )
        for s, g in zip(sources, done, strict=True)
    ]


def _with_files(req: GenerateRequest, sources: list[Source]) -> GenerateRequest:
    """The request with the files as material in its user turn: before the prompt, or the last user message."""
    if req.prompt is not None:
        return req.model_copy(update={"prompt": with_material(req.prompt, sources)})
    turns = list(req.messages or [])
    last = max((i for i, t in enumerate(turns) if t.role == "user"), default=None)
    if last is None:
        raise InvalidRequestError("with files, pass 'prompt' or a user message saying what to do with them")
    turns[last] = turns[last].model_copy(update={"content": with_material(turns[last].content, sources)})
    return req.model_copy(update={"messages": turns})
