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


class BusyError(McpOpenError):
    """The waiting line for a model is full."""
