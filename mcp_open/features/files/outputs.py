"""Results written to files: every target checked before any work, all staged then committed, receipts condensed."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from mcp_open.engines.protocol import Cancelled
from mcp_open.errors import FileAccessError
from mcp_open.features.common.schemas import WrittenFile, WrittenSummary
from mcp_open.features.files.material import Source, output_names, receipt, targets
from mcp_open.features.files.sandbox import Sandbox
from mcp_open.features.files.writing import StagedWrites
from mcp_open.runtime.calls import CallContext

# Up to this many written files get a receipt each; beyond it, one sample receipt and a summary of the rest.
RECEIPTS_IN_FULL = 3


@dataclass
class Output:
    """One result to write: its text, what it cost, where it came from."""

    text: str
    tokens: int
    source: str | None
    source_lang: str | None = None


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
