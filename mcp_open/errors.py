"""The error hierarchy; every message says what to do about it."""

from __future__ import annotations


class McpOpenError(Exception):
    """Base of every error mcp-open raises on purpose; its text is shown to the user."""


class ConfigError(McpOpenError, ValueError):
    """A setting or flag has a value that cannot work."""


class ModelNotFoundError(McpOpenError):
    """A model spec resolves to no local file, catalog alias or hub file."""


class ModelLoadError(McpOpenError):
    """A model file exists but llama.cpp cannot load it."""


class InvalidRequestError(McpOpenError):
    """A tool call's arguments are well-typed but cannot be served (too long, unknown code, ...)."""


class FileAccessError(InvalidRequestError):
    """A file argument cannot be read or written: outside the allowed folders, missing, binary, too big, ..."""


class BusyError(McpOpenError):
    """The waiting line for a model is full."""


class ContextOverflowError(InvalidRequestError):
    """A prompt does not fit the model's context window; the message gives the counts and the ways out."""

    def __init__(self, prompt_tokens: int, n_ctx: int, advice: str | None = None) -> None:
        self.prompt_tokens = prompt_tokens
        self.n_ctx = n_ctx
        self.advice = advice or "shorten the prompt, or restart the server with a larger --ctx"
        super().__init__(f"{self.measure()}; {self.advice}")

    def measure(self) -> str:
        """What was too big, in numbers."""
        return f"the prompt is {self.prompt_tokens} tokens but the context window is {self.n_ctx} tokens"

    def with_advice(self, advice: str) -> ContextOverflowError:
        """The same overflow with the ways out that fit the caller's situation."""
        clone = type(self).__new__(type(self))
        clone.__dict__.update(self.__dict__)
        clone.advice = advice
        clone.args = (f"{self.measure()}; {advice}",)
        return clone


class OversizedTextError(ContextOverflowError):
    """A text is too many bytes for the context before it is even tokenized."""

    def __init__(self, what: str, size: int, n_ctx: int, limit: int, per_token: int, advice: str) -> None:
        self.what, self.size, self.limit, self.per_token = what, size, limit, per_token
        super().__init__(0, n_ctx, advice)

    def measure(self) -> str:
        """Bytes, the limit and how it is derived."""
        return (
            f"{self.what} is {self.size:,} bytes, more than a context of {self.n_ctx} tokens can hold "
            f"(at most {self.limit:,} bytes, {self.per_token} per token)"
        )


class RemoteEngineError(McpOpenError):
    """An OpenAI-compatible backend failed; the message says what to check."""


class ModelNotDownloadedError(ModelNotFoundError):
    """A valid model spec whose file is not on this machine and cannot be downloaded now."""

    def __init__(self, message: str, *, spec: str | None = None, what: str | None = None) -> None:
        super().__init__(message)
        self.spec = spec  # the spec as configured, and the file or repo that is missing, for a later message
        self.what = what


class EngineCrashedError(McpOpenError):
    """A model's worker process died (a native crash, out of memory); the message names the signal and the fix."""

    def __init__(self, message: str, *, signal_name: str | None = None, model: str | None = None) -> None:
        super().__init__(message)
        self.signal_name = signal_name
        self.model = model
