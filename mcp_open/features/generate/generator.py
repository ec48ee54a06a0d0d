"""The generate use case: a prompt or chat turns in, text (or data, or written files) out."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from mcp_open.errors import InvalidRequestError
from mcp_open.features.common.schemas import GenerateRequest, GenerateResult
from mcp_open.features.files.folders import Folders
from mcp_open.features.generate import generation, structured
from mcp_open.features.generate.over_files import generate_files
from mcp_open.runtime.calls import CallContext
from mcp_open.runtime.slots import ModelSlot


class Generator:
    """Generates with the chat model, over the allowed folders, within the server's token limit."""

    def __init__(self, slot: ModelSlot, folders: Folders, max_tokens: int) -> None:
        self.slot = slot
        self.folders = folders
        self.max_tokens = max_tokens

    async def generate(self, req: GenerateRequest, call: CallContext, roots: Sequence[Path] = ()) -> GenerateResult:
        """Generate text from a prompt or chat turns, optionally over files (all at once or each)."""
        self._check_max_tokens(req.max_tokens)
        # A large or deeply nested schema takes seconds to check: never on the event loop (pings must answer).
        shape = await call.run_abandonable(lambda: structured.for_request(req))
        if req.files or req.output_path:
            return await generate_files(self.slot, req, call, self.folders.sandbox(roots), shape)
        async with self.slot.use(call) as model:
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

    def _check_max_tokens(self, max_tokens: int) -> None:
        if max_tokens > self.max_tokens:
            raise InvalidRequestError(
                f"max_tokens={max_tokens} is above this server's limit of {self.max_tokens}; "
                "ask for fewer, or restart the server with a larger --max-tokens"
            )
