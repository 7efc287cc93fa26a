"""Workspace sessions on git worktrees."""

from .checkpoints import Checkpoint
from .gitrepo import Author
from .service import ForkPoint, WorkspaceService, WorkspaceSettings
from .states import SessionState

__all__ = [
    "Author",
    "Checkpoint",
    "ForkPoint",
    "SessionState",
    "WorkspaceService",
    "WorkspaceSettings",
]
