"""Streamed chat with Claude Code in a workspace session."""

from .claude import ClaudeSettings
from .service import ChatService, ChatSettings

__all__ = ["ChatService", "ChatSettings", "ClaudeSettings"]
