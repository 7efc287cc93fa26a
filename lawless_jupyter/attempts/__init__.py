"""Attempts (best-of-N): one task started in several workspace sessions at once."""

from .service import AttemptService, AttemptSettings

__all__ = ["AttemptService", "AttemptSettings"]
