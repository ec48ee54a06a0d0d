"""Generate over files (all as one material, or once per file) and write results as receipts (blocking code)."""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass
from pathlib import Path

from mcp_open.engines.protocol import Cancelled, Engine
from mcp_open.errors import ContextOverflowError, FileAccessError, InvalidRequestError
from mcp_open.features.common.schemas import FileAnswer, GenerateRequest, Usage, WrittenFile, WrittenSummary
from mcp_open.features.files.material import Source, output_names, receipt, targets, with_material
from mcp_open.features.files.sandbox import Sandbox
from mcp_open.features.files.writing import StagedWrites
from mcp_open.features.generate import generation
from mcp_open.features.generate.structured import Structured
from mcp_open.runtime.calls import CallContext, ProgressState

# Up to this many written files get a receipt each; beyond it, one sample receipt and a summary of the rest.
RECEIPTS_IN_FULL = 3
WAYS_OUT = (
    "pass each=true to run the instruction once per file, pass fewer files, or restart the server with a larger --ctx"
)


@dataclass
class Output:
    """One result to write: its text, what it cost, where it came from."""

    text: str
    tokens: int
    source: str | None
    source_lang: str | None = None


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


def summed(usages: list[Usage]) -> Usage:
    """The usage of several generations together."""
    prompt = sum(u.prompt_tokens for u in usages)
    completion = sum(u.completion_tokens for u in usages)
    seconds = sum(u.seconds for u in usages)
    decode = sum(u.seconds - u.prompt_seconds for u in usages)
    return Usage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=prompt + completion,
        cached_prompt_tokens=sum(u.cached_prompt_tokens for u in usages),
        prompt_seconds=round(sum(u.prompt_seconds for u in usages), 4),
        seconds=round(seconds, 4),
        tokens_per_second=round(sum(u.tokens_per_second * (u.seconds - u.prompt_seconds) for u in usages) / decode, 2)
        if decode > 0
        else 0.0,
    )


def plan_outputs(
    sandbox: Sandbox, spec: str, sources: list[Source], *, many: bool, suffix: str, overwrite: bool
) -> list[Path]:
    """Check every output target before any work is done; one file, or one per source inside a folder."""
    folder_given = spec.endswith(("/", os.sep)) or sandbox.output_location(spec).is_dir()
    if not many and folder_given and not suffix:
        raise FileAccessError(f"'{spec}' is a folder, but this call writes one result; name the file to write")
    return targets(sandbox, spec, output_names(sources, suffix), folder=many or folder_given, overwrite=overwrite)


def condensed(written: list[WrittenFile], folder: str) -> tuple[list[WrittenFile] | None, WrittenSummary | None]:
    """Every receipt for a few files; for many, one sample receipt and a sum: the agent pays for what it reads."""
    if not written:
        return None, None
    if len(written) <= RECEIPTS_IN_FULL:
        return written, None
    rest = written[1:]
    summary = WrittenSummary(
        count=len(rest), folder=folder, bytes=sum(w.bytes for w in rest), tokens=sum(w.tokens for w in rest)
    )
    return written[:1], summary


def write_outputs(
    sandbox: Sandbox, paths: list[Path], outputs: list[Output], call: CallContext, *, overwrite: bool
) -> list[WrittenFile]:
    """Stage every output beside its target, then move them all into place (or none) unless the call was cancelled."""
    with StagedWrites(sandbox) as staged:
        sizes = [staged.stage(path, out.text, overwrite=overwrite) for path, out in zip(paths, outputs, strict=True)]
        if call.should_stop():
            raise Cancelled
        staged.commit()
    return [
        receipt(sandbox, path, out.text, size, out.tokens, out.source).model_copy(
            update={"source_lang": out.source_lang}
        )
        for path, out, size in zip(paths, outputs, sizes, strict=True)
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
