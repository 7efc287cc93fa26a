"""Validation of what a person may type as a ref, a branch name, a path or a session name.

Refs are checked with ``git check-ref-format`` semantics (implemented here so that a bad name
is refused before any git process starts); anything that could be read as an option is
refused outright.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import PurePosixPath

from ..errors import InvalidInput

_SHA = re.compile(r"^[0-9a-fA-F]{4,64}$")
_BAD_REF_CHARS = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]")


def ref_format_error(name: str) -> str | None:
    """Why ``name`` is not a valid ref name (per ``git check-ref-format``), or None."""
    if not name:
        return "it is empty"
    if name.startswith("-"):
        return "it starts with '-'"
    if len(name) > 255:
        return "it is longer than 255 characters"
    if _BAD_REF_CHARS.search(name):
        return "it contains a space, a control character or one of ~ ^ : ? * [ \\"
    if name == "@" or "@{" in name:
        return "it contains '@{' or is '@'"
    if ".." in name or "//" in name:
        return "it contains '..' or '//'"
    if name.startswith("/") or name.endswith("/") or name.endswith("."):
        return "it starts or ends with '/' or ends with '.'"
    for part in name.split("/"):
        if part.startswith(".") or part.endswith(".lock"):
            return "a component starts with '.' or ends with '.lock'"
    return None


def validate_ref(name: object, what: str = "ref") -> str:
    """A branch, tag or commit a person named; returns it unchanged when acceptable."""
    if not isinstance(name, str):
        raise InvalidInput(f"The {what} must be a string.")
    if _SHA.match(name):
        return name
    problem = ref_format_error(name)
    if problem:
        raise InvalidInput(f"'{name[:100]}' is not a valid git {what}: {problem}.")
    return name


def validate_session_name(name: object) -> str | None:
    if name is None:
        return None
    if not isinstance(name, str):
        raise InvalidInput("The session name must be a string.")
    name = name.strip()
    if not name:
        return None
    if len(name) > 80:
        raise InvalidInput("The session name is longer than 80 characters.")
    if any(unicodedata.category(c).startswith("C") for c in name):
        raise InvalidInput("The session name contains control characters.")
    return name


def slugify(name: str) -> str:
    """A directory name made from a session name: safe, readable, never hidden or empty."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", ascii_name).strip("-.")
    return slug[:60] or "session"


def validate_relative_path(path: object, what: str = "path") -> str:
    """A path inside a worktree, given relative to it: no absolute paths, no '..'."""
    if not isinstance(path, str) or not path:
        raise InvalidInput(f"Each {what} must be a non-empty string.")
    if "\x00" in path:
        raise InvalidInput(f"The {what} contains a NUL character.")
    pure = PurePosixPath(path)
    if pure.is_absolute() or ".." in pure.parts:
        raise InvalidInput(
            f"The {what} '{path[:200]}' must be relative and stay inside the worktree."
        )
    if path.startswith("-"):
        raise InvalidInput(f"The {what} '{path[:200]}' starts with '-'.")
    return path
