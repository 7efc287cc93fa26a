"""Workspace sessions on git worktrees."""

from .gitrepo import Author
from .service import WorkspaceService, WorkspaceSettings
from .states import SessionState

__all__ = ["Author", "SessionState", "WorkspaceService", "WorkspaceSettings"]
