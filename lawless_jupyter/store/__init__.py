"""Persistence: SQLite is always the primary store."""

from .store import Store, utcnow

__all__ = ["Store", "utcnow"]
