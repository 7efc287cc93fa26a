"""One changed file's two texts, whole: as it was at the commit and as the worktree has it.

Blocking (git, file IO): call it off the loop. The panel's diff tab lays the two side by side
(CodeMirror's merge view needs both texts, a patch alone is not enough). A binary file (a NUL
byte in its first 8,000 bytes, git's own test) answers ``binary: true`` and no texts.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..errors import InvalidInput, NotFound, PayloadTooLarge
from .gitrepo import GitRepository

_SNIFF = 8000  # how far git looks for a NUL byte to call a file binary


def _is_binary(data: bytes) -> bool:
    return b"\0" in data[:_SNIFF]


def _text(data: bytes) -> str:
    return data.decode("utf-8", "replace")


def _worktree_bytes(worktree: Path, path: str, max_bytes: int) -> bytes | None:
    """The worktree's copy, refusing one that leads outside it (a symlink Claude made);
    None when it was deleted."""
    top = Path(os.path.realpath(worktree))
    real = Path(os.path.realpath(worktree / path))
    if top not in real.parents:
        raise InvalidInput(f"{path} leads outside the session's worktree.", details={"path": path})
    if not real.is_file():
        return None
    if real.stat().st_size > max_bytes:
        raise PayloadTooLarge(f"{path} is larger than {max_bytes} bytes.")
    return real.read_bytes()


def session_file_versions(
    gitrepo: GitRepository, worktree: Path, commit: str, path: str, max_bytes: int
) -> dict[str, Any]:
    """``path`` at ``commit`` and in the worktree now: ``{path, status, binary, old, new}``;
    ``old`` is null for a file the session added, ``new`` for one it deleted."""
    if path not in gitrepo.session_changes(worktree, commit):
        raise NotFound(f"{path} has no changes in this session to show.", details={"path": path})
    shown = gitrepo.show_file(worktree, commit, path)
    # GitPython decodes with surrogateescape: encoding back gives git's bytes unchanged
    old = None if shown is None else shown.encode("utf-8", "surrogateescape")
    if old is not None and len(old) > max_bytes:
        raise PayloadTooLarge(f"{path} at {commit[:12]} is larger than {max_bytes} bytes.")
    new = _worktree_bytes(worktree, path, max_bytes)
    binary = any(_is_binary(data) for data in (old, new) if data is not None)
    return {
        "path": path,
        "status": "added" if old is None else "deleted" if new is None else "modified",
        "binary": binary,
        "old": None if binary or old is None else _text(old),
        "new": None if binary or new is None else _text(new),
    }
