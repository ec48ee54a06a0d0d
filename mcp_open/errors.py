"""The error hierarchy; every message says what to do about it."""


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
        advice = advice or "shorten the prompt, or restart the server with a larger --ctx"
        super().__init__(f"the prompt is {prompt_tokens} tokens but the context window is {n_ctx} tokens; {advice}")


class RemoteEngineError(McpOpenError):
    """An OpenAI-compatible backend failed; the message says what to check."""
