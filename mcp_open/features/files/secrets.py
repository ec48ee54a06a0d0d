"""Names that usually hold secrets or are hidden: never read, indexed or written unless the server is told so."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable

# Folders whose whole content is secret (credentials, keys, tokens, history of a repository).
SECRET_FOLDERS = frozenset(
    {".git", ".ssh", ".gnupg", ".aws", ".azure", ".kube", ".docker", ".password-store", ".hg", ".svn", ".vault"}
)
# File names (lower case, shell patterns) that usually hold passwords, keys or tokens.
SECRET_FILES = (
    ".env*", "*.env", ".netrc", "_netrc", ".npmrc", ".pypirc", ".pgpass", ".my.cnf",
    ".htpasswd", ".git-credentials", ".vault-token", ".terraformrc", "credentials", "credentials.*",
    "credentials-*", "secrets", "secrets.*", "secret.*", "id_*", "*.pem", "*.key", "*.p12", "*.pfx", "*.jks",
    "*.keystore", "*.kdbx", "*.ppk", "*.gpg", "*.ovpn", "*.tfstate", "*.tfstate.*", "*.tfvars",
    "authorized_keys", "known_hosts", ".bash_history", ".zsh_history", ".python_history", ".psql_history",
    "service-account*.json",
)  # fmt: skip
# One expression for all of them: checked for every name a glob or walk meets.
SECRET_PATTERN = re.compile("|".join(fnmatch.translate(pattern) for pattern in SECRET_FILES))
SECRET_HINT = "restart the server with --allow-secret-files if it really must"


def is_hidden(name: str) -> bool:
    """A name starting with a dot."""
    return name.startswith(".")


def is_secret_name(name: str) -> bool:
    """A file or folder name that usually holds secrets."""
    lowered = name.lower()
    return lowered in SECRET_FOLDERS or SECRET_PATTERN.match(lowered) is not None


def secret_part(parts: Iterable[str]) -> str | None:
    """The first name among a path's parts (below its allowed folder) that looks secret, or None."""
    return next((part for part in parts if is_secret_name(part)), None)
