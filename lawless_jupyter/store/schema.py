"""SQLite schema, versioned by ``PRAGMA user_version``.

Each entry of ``MIGRATIONS`` moves the database from version ``i`` to ``i + 1``. Never edit a
migration that has shipped: append a new one.
"""

from __future__ import annotations

MIGRATIONS: list[str] = [
    # 1: workspace sessions, their append-only state history, activity
    """
    CREATE TABLE workspace_sessions (
        id            TEXT PRIMARY KEY,
        user_id       TEXT NOT NULL,
        name          TEXT,
        repo          TEXT NOT NULL,          -- path relative to the Jupyter root
        repo_path     TEXT NOT NULL,          -- absolute path of the main checkout
        base          TEXT NOT NULL,          -- what the person asked for (branch, tag or sha)
        base_commit   TEXT,                   -- the commit the branch was created from
        branch        TEXT NOT NULL,
        worktree_path TEXT NOT NULL,
        state         TEXT NOT NULL,
        error         TEXT,
        merged_head   TEXT,                   -- branch tip at the last merge back
        created_at    TEXT NOT NULL,
        updated_at    TEXT NOT NULL
    );
    CREATE INDEX workspace_sessions_user ON workspace_sessions (user_id, created_at);
    CREATE INDEX workspace_sessions_repo ON workspace_sessions (repo_path, state);
    -- a live session owns its branch, its worktree and (when named) its name in the repo
    CREATE UNIQUE INDEX workspace_sessions_live_branch ON workspace_sessions (repo_path, branch)
        WHERE state NOT IN ('deleted', 'failed');
    CREATE UNIQUE INDEX workspace_sessions_live_path ON workspace_sessions (worktree_path)
        WHERE state NOT IN ('deleted', 'failed');
    CREATE UNIQUE INDEX workspace_sessions_live_name ON workspace_sessions (repo_path, name)
        WHERE state NOT IN ('deleted', 'failed') AND name IS NOT NULL;

    CREATE TABLE session_events (
        seq         INTEGER PRIMARY KEY AUTOINCREMENT,
        session_id  TEXT NOT NULL,
        from_state  TEXT,
        to_state    TEXT NOT NULL,
        detail      TEXT,
        at          TEXT NOT NULL
    );
    CREATE INDEX session_events_session ON session_events (session_id, seq);

    CREATE TABLE activity (
        seq         INTEGER PRIMARY KEY AUTOINCREMENT,
        user_id     TEXT NOT NULL,
        kind        TEXT NOT NULL,
        detail      TEXT NOT NULL,            -- JSON
        created_at  TEXT NOT NULL
    );
    CREATE INDEX activity_user ON activity (user_id, seq);
    """,
    # 2: chat conversations and their append-only messages
    """
    CREATE TABLE conversations (
        id                TEXT PRIMARY KEY,
        user_id           TEXT NOT NULL,
        session_id        TEXT,               -- the workspace session; NULL for api/chat
        claude_session_id TEXT,               -- what Claude Code resumes after a restart
        created_at        TEXT NOT NULL,
        updated_at        TEXT NOT NULL
    );
    CREATE UNIQUE INDEX conversations_session ON conversations (session_id)
        WHERE session_id IS NOT NULL;
    CREATE INDEX conversations_user ON conversations (user_id, created_at);

    CREATE TABLE messages (
        seq             INTEGER PRIMARY KEY AUTOINCREMENT,
        id              TEXT NOT NULL UNIQUE,
        conversation_id TEXT NOT NULL REFERENCES conversations (id),
        turn_id         TEXT NOT NULL,
        role            TEXT NOT NULL,   -- user, assistant, tool_use, tool_result, usage, error
        content         TEXT NOT NULL,   -- JSON
        created_at      TEXT NOT NULL
    );
    CREATE INDEX messages_conversation ON messages (conversation_id, seq);
    """,
    # 3: terminals of workspace sessions and their output (local only, capped per terminal)
    """
    CREATE TABLE terminals (
        id            TEXT PRIMARY KEY,
        name          TEXT NOT NULL,          -- Jupyter terminal name: terminals/websocket/<name>
        session_id    TEXT NOT NULL,
        user_id       TEXT NOT NULL,
        cwd           TEXT NOT NULL,
        stored_bytes  INTEGER NOT NULL DEFAULT 0,
        dropped_bytes INTEGER NOT NULL DEFAULT 0,  -- oldest output let go to stay within the cap
        created_at    TEXT NOT NULL,
        closed_at     TEXT
    );
    CREATE INDEX terminals_session ON terminals (session_id, created_at);

    CREATE TABLE terminal_output (
        seq         INTEGER PRIMARY KEY AUTOINCREMENT,
        terminal_id TEXT NOT NULL REFERENCES terminals (id),
        data        TEXT NOT NULL,
        bytes       INTEGER NOT NULL
    );
    CREATE INDEX terminal_output_terminal ON terminal_output (terminal_id, seq);
    """,
    # 4: the Supabase mirror: rows to send (written in the same transaction as the data they
    # mirror), this database's identity, and who wrote the current version of a mutable row
    # (the tie-break of last-write-wins; NULL: this database, before mirroring existed)
    """
    CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );

    CREATE TABLE outbox (
        seq         INTEGER PRIMARY KEY AUTOINCREMENT,
        table_name  TEXT NOT NULL,            -- the Supabase table
        op          TEXT NOT NULL,            -- upsert | delete
        row_id      TEXT NOT NULL,            -- its primary key
        payload     TEXT NOT NULL,            -- JSON: the row as Supabase stores it
        created_at  TEXT NOT NULL,
        attempts    INTEGER NOT NULL DEFAULT 0,
        parked_at   TEXT,                     -- set when Supabase refused the row (4xx)
        error       TEXT                      -- why, when parked or last failed
    );

    ALTER TABLE workspace_sessions ADD COLUMN origin TEXT;
    ALTER TABLE conversations ADD COLUMN origin TEXT;
    """,
    # 5: Claude Code's session transcripts (the SDK's SessionStore, store/transcripts.py):
    # one row per JSONL entry, mirrored to Supabase so a conversation resumes elsewhere
    """
    CREATE TABLE transcript_entries (
        seq         INTEGER PRIMARY KEY AUTOINCREMENT,   -- append order
        id          TEXT NOT NULL UNIQUE,   -- the key in Supabase (derived from uuid if any)
        user_id     TEXT NOT NULL,
        project_key TEXT NOT NULL,
        session_id  TEXT NOT NULL,
        subpath     TEXT NOT NULL DEFAULT '',  -- '' for the main transcript
        uuid        TEXT,
        entry       TEXT NOT NULL,          -- JSON, as the SDK gave it
        created_at  TEXT NOT NULL,
        origin      TEXT                    -- the database that wrote it (NULL: this one)
    );
    CREATE INDEX transcript_entries_key
        ON transcript_entries (project_key, session_id, subpath, seq);
    """,
    # 6: each user's preferences (api/user/preferences): one JSON document per user, mirrored
    # to Supabase so they follow the person to another server
    """
    CREATE TABLE preferences (
        id          TEXT PRIMARY KEY,       -- the user id (one document per user)
        user_id     TEXT NOT NULL,
        data        TEXT NOT NULL,          -- JSON object
        created_at  TEXT NOT NULL,
        updated_at  TEXT NOT NULL,
        origin      TEXT
    );
    """,
    # 7: connections to GitHub and Vercel (local only, never mirrored): tokens sealed by the
    # vault (vault.py; the key id is kept to re-encrypt on rotation), and OAuth flows in
    # progress (web flow state, device flow), bound to a user and expiring
    """
    CREATE TABLE integrations (
        user_id            TEXT NOT NULL,
        provider           TEXT NOT NULL,     -- github | vercel
        account            TEXT,              -- who the token acts as (login, username)
        account_id         TEXT,
        scopes             TEXT,
        secret             TEXT NOT NULL,     -- sealed JSON: access and refresh tokens
        key_id             TEXT NOT NULL,     -- the vault key that sealed it
        expires_at         REAL,              -- unix time the access token expires (NULL: never)
        refresh_expires_at REAL,
        extra              TEXT,              -- JSON: provider specifics (a Vercel team)
        created_at         TEXT NOT NULL,
        updated_at         TEXT NOT NULL,
        PRIMARY KEY (user_id, provider)
    );

    CREATE TABLE oauth_flows (
        id          TEXT PRIMARY KEY,         -- sha256 of the web flow's state; device flow id
        user_id     TEXT NOT NULL,
        provider    TEXT NOT NULL,
        kind        TEXT NOT NULL,            -- web | device
        secret      TEXT NOT NULL,            -- sealed: the PKCE verifier or the device code
        redirect_to TEXT,                     -- where the web flow returns into JupyterLab
        poll_interval REAL,                   -- device flow: seconds between polls
        expires_at  REAL NOT NULL,            -- unix time
        created_at  TEXT NOT NULL
    );
    """,
    # 8: the worker a session runs on (NULL: this server); a remote one's row is a copy
    """
    ALTER TABLE workspace_sessions ADD COLUMN worker TEXT;
    """,
    # idempotency: the first answer to a POST sent with an Idempotency-Key, per user, so a
    # retry with the same key gets it again instead of doing the work twice (local only,
    # never mirrored; rows past expires_at are swept, store/idempotency.py)
    """
    CREATE TABLE IF NOT EXISTS idempotency_keys (
        user_id     TEXT NOT NULL,
        key         TEXT NOT NULL,
        fingerprint TEXT NOT NULL,            -- sha256 of the method, path and body
        status      INTEGER NOT NULL,         -- the first answer's HTTP status
        answer      TEXT NOT NULL,            -- the first answer's JSON body
        created_at  REAL NOT NULL,            -- unix time
        expires_at  REAL NOT NULL,
        PRIMARY KEY (user_id, key)
    );
    CREATE INDEX IF NOT EXISTS idempotency_keys_expiry ON idempotency_keys (expires_at);
    """,
    # 10: the Jupyter kernel each session started (local only): known at start-up, so a
    # kernel of a deleted session, or one a crashed server left running, is shut down
    """
    CREATE TABLE IF NOT EXISTS session_kernels (
        session_id  TEXT PRIMARY KEY,
        kernel_id   TEXT NOT NULL,
        kernel_name TEXT NOT NULL,
        pid         INTEGER,             -- the kernel's process, NULL when not local
        pid_started REAL,                -- its start time (psutil), so a reused pid is not it
        started_at  TEXT NOT NULL
    );
    """,
    # 11: a session's turns as checkpoints (local only): each chat turn, and each rewind, with
    # the git commit that recorded the worktree before it (refs/lawless/<session>/turns/<n>)
    # and where in Claude's transcript it started, so it can be rewound to or forked from
    """
    CREATE TABLE IF NOT EXISTS turns (
        id                TEXT PRIMARY KEY,   -- the chat turn's id, or the rewind's own
        session_id        TEXT NOT NULL,
        user_id           TEXT NOT NULL,
        number            INTEGER NOT NULL,   -- 1, 2, ... per session: the ref's <n>
        kind              TEXT NOT NULL,      -- turn | rewind
        message           TEXT,               -- the person's message (a turn)
        checkpoint        TEXT NOT NULL,      -- the checkpoint commit: the state before it
        checkpoint_tree   TEXT NOT NULL,
        checkpoint_head   TEXT NOT NULL,      -- the commit HEAD was at
        claude_session_id TEXT,               -- the conversation's Claude session then
        resume_at         TEXT,               -- the last transcript entry before it (uuid)
        target            TEXT,               -- a rewind: the turn it went back to
        rewound_by        TEXT,               -- the rewind that undid it (NULL: in effect)
        started_at        TEXT NOT NULL,
        ended_at          TEXT,
        stop_reason       TEXT,
        files_changed     TEXT,               -- JSON list of paths, at the turn's end
        cost_usd          REAL,
        usage             TEXT,               -- JSON, as the turn's result reported it
        UNIQUE (session_id, number)
    );
    """,
    # 12: attempts (best-of-N): one task started in several sessions at once, and what each
    # of its sessions did (latest turn, diff summary, the check command's result)
    """
    CREATE TABLE IF NOT EXISTS attempts (
        id             TEXT PRIMARY KEY,
        user_id        TEXT NOT NULL,
        repo           TEXT NOT NULL,          -- path relative to the Jupyter root
        base           TEXT,                   -- what the person asked for (NULL: HEAD)
        prompt         TEXT NOT NULL,
        check_command  TEXT,                   -- run with bash -c after each turn
        state          TEXT NOT NULL,          -- creating | open | chosen | failed
        chosen_session TEXT,
        error          TEXT,
        created_at     TEXT NOT NULL,
        updated_at     TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS attempts_user ON attempts (user_id, created_at);
    CREATE INDEX IF NOT EXISTS attempts_state ON attempts (state);

    CREATE TABLE IF NOT EXISTS attempt_sessions (
        session_id   TEXT PRIMARY KEY,
        attempt_id   TEXT NOT NULL,
        position     INTEGER NOT NULL,         -- 1..n
        model        TEXT,                     -- NULL: the person's default
        turn_state   TEXT NOT NULL,            -- pending | running | finished | interrupted | error
        stop_reason  TEXT,
        turn_error   TEXT,
        turns        INTEGER NOT NULL DEFAULT 0,
        duration_ms  INTEGER,                  -- of the latest turn
        cost_usd     REAL NOT NULL DEFAULT 0,  -- of all its turns
        diff         TEXT,                     -- JSON {files, insertions, deletions} vs the base
        check_state  TEXT,                     -- NULL (no check) | pending | running | done |
                                               -- timed_out | interrupted | error
        check_exit   INTEGER,
        check_output TEXT,                     -- the tail of its output
        updated_at   TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS attempt_sessions_attempt
        ON attempt_sessions (attempt_id, position);
    """,
    # 13: a turn's checkpoint is written before its first tool, so a turn that only answered
    # has none (NULL). SQLite cannot drop a NOT NULL: the table is made again, rows kept.
    """
    CREATE TABLE turns_13 (
        id                TEXT PRIMARY KEY,
        session_id        TEXT NOT NULL,
        user_id           TEXT NOT NULL,
        number            INTEGER NOT NULL,
        kind              TEXT NOT NULL,
        message           TEXT,
        checkpoint        TEXT,               -- NULL: Claude ran no tool in the turn
        checkpoint_tree   TEXT,
        checkpoint_head   TEXT,
        claude_session_id TEXT,
        resume_at         TEXT,
        target            TEXT,
        rewound_by        TEXT,
        started_at        TEXT NOT NULL,
        ended_at          TEXT,
        stop_reason       TEXT,
        files_changed     TEXT,
        cost_usd          REAL,
        usage             TEXT,
        UNIQUE (session_id, number)
    );
    INSERT INTO turns_13 (
        id, session_id, user_id, number, kind, message, checkpoint, checkpoint_tree,
        checkpoint_head, claude_session_id, resume_at, target, rewound_by, started_at,
        ended_at, stop_reason, files_changed, cost_usd, usage
    )
    SELECT
        id, session_id, user_id, number, kind, message, checkpoint, checkpoint_tree,
        checkpoint_head, claude_session_id, resume_at, target, rewound_by, started_at,
        ended_at, stop_reason, files_changed, cost_usd, usage
    FROM turns;
    DROP TABLE turns;
    ALTER TABLE turns_13 RENAME TO turns;
    """,
    # 14: what "Always allow" remembered in a session (local only): it held only in memory,
    # so a server restarted (or culled by a hub and started again) asked everything anew
    """
    CREATE TABLE approval_rules (
        session_id  TEXT NOT NULL,
        rule        TEXT NOT NULL,            -- e.g. Bash(git status:*), Write
        created_at  TEXT NOT NULL,
        PRIMARY KEY (session_id, rule)
    );
    """,
]

SCHEMA_VERSION = len(MIGRATIONS)
