"""Connections to outside services (GitHub, Vercel) with tokens kept in the vault."""

from .github import GitHubSettings
from .service import ConnectionSettings, ConnectionsService

__all__ = ["ConnectionSettings", "ConnectionsService", "GitHubSettings"]
