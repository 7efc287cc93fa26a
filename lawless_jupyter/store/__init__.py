"""Persistence: SQLite is always the primary store."""

from .db import utcnow
from .store import Store

__all__ = ["Store", "utcnow"]
