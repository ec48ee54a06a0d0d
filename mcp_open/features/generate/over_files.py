"""generate over files: read them, check the outputs, run the model once or per file, write receipts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mcp_open.errors import InvalidRequestError
from mcp_open.features.common.schemas import GenerateRequest, GenerateResult, WrittenFile
from mcp_open.features.common.usage import summed
from mcp_open.features.files import material
from mcp_open.features.files import outputs as writes
from mcp_open.features.files.sandbox import Sandbox
from mcp_open.features.generate import file_jobs as jobs
from mcp_open.features.generate import generation, structured
from mcp_open.runtime.calls import CallContext
from mcp_open.runtime.slots import LoadedModel, ModelSlot


async def generate_files(
    slot: ModelSlot, req: GenerateRequest, call: CallContext, box: Sandbox, shape: structured.Structured | None = None
) -> GenerateResult:
    """Generate over files; with output_path, write the results (JSON Lines for each + schema) as receipts."""
    sources = await call.run_abandonable(lambda: material.load(box, req.files)) if req.files else []
    if req.each and not sources:
        raise InvalidRequestError("each=true needs 'files': the instruction runs once per file")
    plan: list[Path] = []
    if req.output_path:
        spec = req.output_path
        # One result per file: always a folder, whatever the number of files; JSON Lines are one file.
        many = req.each and shape is None
        plan = await call.run_in_thread(
            lambda: writes.plan_outputs(box, spec, sources, many=many, suffix="", overwrite=req.overwrite)
        )
    async with slot.use(call) as model:
        if shape is not None:
            structured.require_support(model.engine.info)
        done, datas, written = await call.run_in_thread(
            lambda: _generate_and_write(model, req, sources, plan, box, call, shape)
        )
    usage = summed([g.usage for g in done])
    one = done[0] if not req.each else None
    shown, more = writes.condensed(written, req.output_path or "")
    answers = jobs.answers(sources, done, written=False) if req.each and not written else None
    for answer, value in zip(answers or [], datas, strict=False):
        answer.data = value
    return GenerateResult(
        text=one.text if one and not written else "",
        data=datas[0] if one and datas and not written else None,
        reasoning=one.reasoning if one and not written else None,
        finish_reason="length" if any(g.finish_reason == "length" for g in done) else "stop",
        usage=usage,
        model=model.name,
        files=answers,
        written=shown,
        more_written=more,
    )


def _generate_and_write(
    model: LoadedModel,
    req: GenerateRequest,
    sources: list[material.Source],
    plan: list[Path],
    box: Sandbox,
    call: CallContext,
    shape: structured.Structured | None,
) -> tuple[list[generation.Generated], list[Any], list[WrittenFile]]:
    """The generations, their validated values (with a schema or choices), then the files written (blocking)."""
    if req.each:
        done = jobs.generate_each(model.engine, req, sources, call, shape)
    else:
        done = [jobs.generate_over(model.engine, req, sources, call, shape)]
    names = [s.shown for s in sources] if req.each else [None]
    datas = structured.parse_all(shape, done, names, req.max_tokens) if shape else []
    if not plan:
        return done, datas, []
    if shape is not None and req.each:
        lines = structured.json_lines(names, datas)
        outputs = [writes.Output(lines, sum(g.usage.completion_tokens for g in done), None)]
    else:
        named = sources if req.each else [None] * len(done)
        outputs = [
            writes.Output(g.text, g.usage.completion_tokens, s.shown if s else None)
            for path, g, s in zip(plan, done, named, strict=True)
        ]
    return done, datas, writes.write_outputs(box, plan, outputs, call, overwrite=req.overwrite)
