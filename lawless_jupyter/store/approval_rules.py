"""What "Always allow" remembered, per session (``approval_rules``; local only, not
mirrored): kept across server restarts, gone with the session. Sibling sessions (one
attempt's) each hold every rule any of them remembered."""

from __future__ import annotations

from collections.abc import Iterable

from .db import Database, utcnow


class ApprovalRuleRepository:
    def __init__(self, db: Database):
        self.db = db

    async def of_session(self, session_id: str) -> set[str]:
        rows = await self.db.fetchall(
            "SELECT rule FROM approval_rules WHERE session_id = ?", (session_id,)
        )
        return {row["rule"] for row in rows}

    async def add(self, session_ids: Iterable[str], rules: Iterable[str]) -> None:
        rows = [(sid, rule, utcnow()) for sid in session_ids for rule in rules]
        if rows:
            await self.db.write(
                lambda db: db.executemany(
                    "INSERT OR IGNORE INTO approval_rules (session_id, rule, created_at) "
                    "VALUES (?, ?, ?)",
                    rows,
                )
            )

    async def remove(self, session_ids: Iterable[str], rule: str | None = None) -> None:
        """Forget ``rule`` in these sessions, or every rule when None."""
        query = "DELETE FROM approval_rules WHERE session_id = ?"
        if rule is not None:
            query += " AND rule = ?"
        rows = [(sid,) if rule is None else (sid, rule) for sid in session_ids]
        if rows:
            await self.db.write(lambda db: db.executemany(query, rows))
