"""The error hierarchy; every message says what to do about it."""

from __future__ import annotations

import re


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
    """An OpenAI-compatible backend failed; the message says what to check (credentials redacted from it)."""

    def __init__(self, message: str) -> None:
        super().__init__(redact(message))


# Credentials the server was given (backend API keys, passwords in backend URLs): never shown in any error text.
_SECRETS: set[str] = set()
_URL_PASSWORD = re.compile(r"(?<=://)([^/@:\s]*):([^/@\s]+)@")
MIN_SECRET_CHARS = 4  # shorter "secrets" would blank out ordinary words; URL passwords are caught by position


def keep_secret(secret: str | None) -> None:
    """Redact this credential from every error message from now on."""
    if secret and len(secret) >= MIN_SECRET_CHARS:
        _SECRETS.add(secret)


def redact(text: str) -> str:
    """Text with every known credential and any password in a URL replaced by ***."""
    text = _URL_PASSWORD.sub(r"\1:***@", text)
    for secret in sorted(_SECRETS, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


class ModelNotDownloadedError(ModelNotFoundError):
    """A valid model spec whose file is not on this machine and cannot be downloaded now."""

    def __init__(
        self, message: str, *, spec: str | None = None, what: str | None = None, why: str | None = None
    ) -> None:
        super().__init__(message)
        self.spec = spec  # the spec as configured, the file or repo that is missing and why, for a later message
        self.what = what
        self.why = why


class StoreError(McpOpenError):
    """One of mcp-open's own SQLite files (index, ledger) is locked, damaged, read-only or on a full disk."""

    def __init__(
        self, message: str, *, path: object = None, busy: bool = False, read_only: bool = False, damaged: bool = False
    ) -> None:
        super().__init__(message)
        self.path, self.busy, self.read_only, self.damaged = path, busy, read_only, damaged


# What an OS error means for the user and what to do, by errno name (errno values differ between systems).
OS_ERROR_MEANINGS = {
    "ENOSPC": "the disk is full; free some space, then try again",
    "EDQUOT": "the disk quota is used up; free some space, then try again",
    "EROFS": "the file system is read-only; point the path (or --data-dir) at a writable place",
    "EACCES": "permission denied; check the file's and its folder's permissions",
    "EPERM": "the operation is not permitted; check the file's and its folder's permissions",
    "ENAMETOOLONG": "the name is too long for the file system; use a shorter file or folder name",
    "ENOENT": "it does not exist; check the path",
    "EISDIR": "it is a folder, not a file; name a file",
    "ENOTDIR": "a part of the path is a file, not a folder; check the path",
    "EEXIST": "a file is in the way where a folder should be; move it, or choose another path",
    "EMFILE": "the process has too many open files; retry, or raise the limit (ulimit -n)",
    "EIO": "the disk reported an input/output error; check the disk",
}


def os_error_meaning(exc: OSError, path: object = None) -> str:
    """An OS error in words with its remedy (ENOSPC: the disk is full; EROFS: a read-only file system; ...)."""
    import errno

    name = errno.errorcode.get(exc.errno or 0, "")
    where = f" ({path})" if path is not None else ""
    meaning = OS_ERROR_MEANINGS.get(name)
    if meaning is None:
        return f"{exc.strerror or exc}{where}"
    return f"{meaning}{where} [{name}]"


class EngineCrashedError(McpOpenError):
    """A model's worker process died (a native crash, out of memory); the message names the signal and the fix."""

    def __init__(self, message: str, *, signal_name: str | None = None, model: str | None = None) -> None:
        super().__init__(message)
        self.signal_name = signal_name
        self.model = model
