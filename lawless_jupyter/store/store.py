"""The ``Store`` facade: the database core and one repository per aggregate.

Callers reach a repository (``store.sessions.transition(...)``) or, as before the split,
the facade's method of the same meaning (``store.transition_session(...)``), which is that
repository's method. New code should use the repositories.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from .activity import ActivityRepository
from .approval_rules import ApprovalRuleRepository
from .attempts import AttemptRepository
from .chat import ChatRepository
from .connections import ConnectionRepository
from .db import Database
from .idempotency import IdempotencyRepository
from .kernels import KernelRepository
from .outbox import Outbox, install_triggers
from .preferences import PreferenceRepository
from .sessions import SessionRepository
from .terminals import TerminalRepository
from .turns import TurnRepository


def _to(repository: str, method: str) -> Any:
    """A facade name for a repository's method (kept so callers can move gradually)."""
    return property(lambda self: getattr(getattr(self, repository), method))


class Store:
    def __init__(self, path: str | Path, *, busy_timeout_ms: int = 5000, mirror: bool = False):
        self.db = Database(path, busy_timeout_ms=busy_timeout_ms)
        # The Supabase mirror: when on, every write of a mirrored table also writes an outbox
        # row in its statement (TEMP triggers, store/outbox.py); when off, there are none.
        self.mirroring = mirror
        self.outbox = Outbox(self.db)
        self.sessions = SessionRepository(self.db)
        self.chat = ChatRepository(self.db)
        self.terminals = TerminalRepository(self.db)
        self.activity = ActivityRepository(self.db)
        self.preferences = PreferenceRepository(self.db)
        self.connections = ConnectionRepository(self.db)
        self.idempotency = IdempotencyRepository(self.db)
        self.kernels = KernelRepository(self.db)
        self.turns = TurnRepository(self.db)
        self.attempts = AttemptRepository(self.db)  # local only, not mirrored
        self.approval_rules = ApprovalRuleRepository(self.db)  # local only, not mirrored

    @property
    def path(self) -> Path:
        return self.db.path

    @path.setter
    def path(self, path: Path) -> None:  # a closed store may be opened elsewhere
        self.db.path = Path(path)

    @property
    def origin(self) -> str:
        """This database's id, the tie-break of last-write-wins."""
        return self.db.origin

    async def open(self) -> None:
        await self.db.open()
        if self.mirroring:
            assert self.db.writer is not None
            await install_triggers(self.db.writer, self.db.origin)
        else:  # rows written now have no outbox rows: when the mirror is turned on again,
            await self.outbox.forget_backfill()  # they are queued then

    async def close(self) -> None:
        await self.db.close()

    def on_outbox(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` after every write transaction (it may have added outbox rows)."""
        self.db.on_commit(listener)

    integrity_check = _to("db", "integrity_check")
    backfill_outbox = _to("outbox", "backfill_once")
    apply_remote = _to("outbox", "apply_remote")

    create_session = _to("sessions", "create")
    pin_session = _to("sessions", "pin")
    transition_session = _to("sessions", "transition")
    update_session = _to("sessions", "update")
    discard_session = _to("sessions", "discard")
    get_session = _to("sessions", "get")
    list_sessions = _to("sessions", "for_user")
    sessions_in_states = _to("sessions", "in_states")
    session_events = _to("sessions", "events")

    conversation_for = _to("chat", "conversation_for")
    session_conversation = _to("chat", "session_conversation")
    get_conversation = _to("chat", "get_conversation")
    set_claude_session = _to("chat", "set_claude_session")
    append_message = _to("chat", "append_message")
    count_messages = _to("chat", "count_messages")
    list_messages = _to("chat", "list_messages")

    add_terminal = _to("terminals", "add")
    close_terminal = _to("terminals", "close")
    close_open_terminals = _to("terminals", "close_open")
    list_terminals = _to("terminals", "of_session")
    append_terminal_output = _to("terminals", "append_output")
    terminal_output = _to("terminals", "output")

    counts = _to("activity", "counts")
    record_activity = _to("activity", "record")
    list_activity = _to("activity", "recent")

    get_preferences = _to("preferences", "get")
    put_preferences = _to("preferences", "put")
    adopt_preferences = _to("preferences", "adopt")

    put_integration = _to("connections", "put_integration")
    get_integration = _to("connections", "get_integration")
    list_integrations = _to("connections", "list_integrations")
    delete_integration = _to("connections", "delete_integration")
    integrations_not_sealed_with = _to("connections", "integrations_not_sealed_with")
    reseal_integration = _to("connections", "reseal_integration")
    add_oauth_flow = _to("connections", "add_oauth_flow")
    take_oauth_flow = _to("connections", "take_oauth_flow")
    get_oauth_flow = _to("connections", "get_oauth_flow")
    set_oauth_flow_interval = _to("connections", "set_oauth_flow_interval")
