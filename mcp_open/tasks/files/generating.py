"""generate over files: read them, check the outputs, run the model once or per file, write receipts."""

from __future__ import annotations

from pathlib import Path

from mcp_open.errors import InvalidRequestError
from mcp_open.serving.calls import CallContext
from mcp_open.serving.slots import LoadedModel, ModelSlot
from mcp_open.tasks import generation
from mcp_open.tasks.files import jobs, material
from mcp_open.tasks.files.sandbox import Sandbox
from mcp_open.tasks.schemas import GenerateRequest, GenerateResult, WrittenFile


async def generate_files(slot: ModelSlot, req: GenerateRequest, call: CallContext, box: Sandbox) -> GenerateResult:
    """Generate over files; with output_path, write the results and return receipts."""
    sources = await call.run_in_thread(lambda: material.load(box, req.files)) if req.files else []
    if req.each and not sources:
        raise InvalidRequestError("each=true needs 'files': the instruction runs once per file")
    plan: list[Path] = []
    if req.output_path:
        spec = req.output_path
        many = req.each  # one result per file: always a folder, whatever the number of files
        plan = await call.run_in_thread(
            lambda: jobs.plan_outputs(box, spec, sources, many=many, suffix="", overwrite=req.overwrite)
        )
    async with slot.use(call) as model:
        done, written = await call.run_in_thread(lambda: _generate_and_write(model, req, sources, plan, box, call))
    usage = jobs.summed([g.usage for g in done])
    one = done[0] if not req.each else None
    shown, more = jobs.condensed(written)
    return GenerateResult(
        text=one.text if one and not written else "",
        reasoning=one.reasoning if one and not written else None,
        finish_reason="length" if any(g.finish_reason == "length" for g in done) else "stop",
        usage=usage,
        model=model.name,
        files=jobs.answers(sources, done, written=False) if req.each and not written else None,
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
) -> tuple[list[generation.Generated], list[WrittenFile]]:
    """The generations, then the files written (blocking)."""
    if req.each:
        done = jobs.generate_each(model.engine, req, sources, call)
    else:
        done = [jobs.generate_over(model.engine, req, sources, call)]
    if not plan:
        return done, []
    named = sources if req.each else [None] * len(done)
    outputs = [
        jobs.Output(g.text, g.usage.completion_tokens, s.shown if s else None)
        for path, g, s in zip(plan, done, named, strict=True)
    ]
    return done, jobs.write_outputs(box, plan, outputs, call, overwrite=req.overwrite)
