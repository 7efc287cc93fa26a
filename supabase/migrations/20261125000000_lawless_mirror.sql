-- lawless_jupyter: the Supabase mirror of the extension's SQLite store.
--
-- Apply with `supabase db push` (or psql). Safe to apply again: every statement is
-- IF NOT EXISTS / CREATE OR REPLACE / DROP ... IF EXISTS first.
--
-- Who owns a row: `user_id` is the Jupyter user name (JupyterHub's user, or the server owner
-- on a single-user server), not a Supabase Auth UUID. Row level security lets a signed-in
-- client see and change only rows whose `user_id` equals its JWT `sub` claim
-- (`auth.jwt() ->> 'sub'`, compared as text), so give each person a JWT whose `sub` is their
-- Jupyter user name (a JupyterHub service or a Supabase custom access token hook can mint
-- it). `anon` sees nothing. The extension itself writes with the service role key, which
-- bypasses row level security, and always sets `user_id`.
--
-- Last-write-wins: mutable rows (workspace_sessions, conversations) carry `updated_at` and
-- `origin` (the id of the SQLite database that wrote that version). A trigger keeps the
-- version with the greatest (updated_at, origin): an update carrying an older pair is
-- skipped, so replays, retries arriving out of order and writes from two servers converge
-- on the same row whatever order they arrive in. Writers must move `updated_at` forward.
-- Append-only rows (messages, activity) are inserted once (upsert ignoring duplicates).
--
-- `synced_at` is set by Postgres on every accepted write; servers pull newer versions of the
-- rows they hold by it.

-- -- tables ------------------------------------------------------------------------------

create table if not exists public.workspace_sessions (
    id            text primary key,
    user_id       text not null,
    name          text,
    repo          text not null,
    repo_path     text not null,
    base          text not null,
    base_commit   text,
    branch        text not null,
    worktree_path text not null,
    state         text not null,
    error         text,
    merged_head   text,
    created_at    timestamptz not null,
    updated_at    timestamptz not null,
    origin        text not null default '',
    synced_at     timestamptz not null default clock_timestamp()
);

create table if not exists public.conversations (
    id                text primary key,
    user_id           text not null,
    session_id        text,
    claude_session_id text,
    created_at        timestamptz not null,
    updated_at        timestamptz not null,
    origin            text not null default '',
    synced_at         timestamptz not null default clock_timestamp()
);

create table if not exists public.messages (
    id              text primary key,
    user_id         text not null,
    conversation_id text not null,
    seq             bigint not null,        -- order within the conversation (of its server)
    turn_id         text not null,
    role            text not null,
    content         jsonb not null,
    created_at      timestamptz not null,
    synced_at       timestamptz not null default clock_timestamp()
);

create table if not exists public.activity (
    id         text primary key,            -- <database id>-<local seq>
    user_id    text not null,
    seq        bigint not null,
    kind       text not null,
    detail     jsonb not null,
    created_at timestamptz not null,
    synced_at  timestamptz not null default clock_timestamp()
);

-- -- indexes of the read paths -----------------------------------------------------------

create index if not exists workspace_sessions_user on public.workspace_sessions (user_id, created_at desc);
create index if not exists workspace_sessions_synced on public.workspace_sessions (user_id, synced_at);
create index if not exists conversations_user on public.conversations (user_id, created_at desc);
create index if not exists conversations_session on public.conversations (session_id);
create index if not exists conversations_synced on public.conversations (user_id, synced_at);
create index if not exists messages_conversation on public.messages (conversation_id, created_at, seq);
create index if not exists messages_user on public.messages (user_id, created_at);
create index if not exists activity_user on public.activity (user_id, created_at desc);

-- -- last-write-wins -----------------------------------------------------------------------

create or replace function public.lawless_last_write_wins() returns trigger
language plpgsql
set search_path = ''
as $$
begin
    if tg_op = 'UPDATE'
       and (new.updated_at, coalesce(new.origin, '')) < (old.updated_at, coalesce(old.origin, ''))
    then
        return null;  -- an older version: the newer row stays
    end if;
    new.synced_at := clock_timestamp();
    return new;
end
$$;

create or replace function public.lawless_stamp_synced() returns trigger
language plpgsql
set search_path = ''
as $$
begin
    new.synced_at := clock_timestamp();
    return new;
end
$$;

drop trigger if exists lawless_last_write_wins on public.workspace_sessions;
create trigger lawless_last_write_wins before insert or update on public.workspace_sessions
    for each row execute function public.lawless_last_write_wins();

drop trigger if exists lawless_last_write_wins on public.conversations;
create trigger lawless_last_write_wins before insert or update on public.conversations
    for each row execute function public.lawless_last_write_wins();

drop trigger if exists lawless_stamp_synced on public.messages;
create trigger lawless_stamp_synced before insert or update on public.messages
    for each row execute function public.lawless_stamp_synced();

drop trigger if exists lawless_stamp_synced on public.activity;
create trigger lawless_stamp_synced before insert or update on public.activity
    for each row execute function public.lawless_stamp_synced();

-- -- row level security --------------------------------------------------------------------

alter table public.workspace_sessions enable row level security;
alter table public.conversations enable row level security;
alter table public.messages enable row level security;
alter table public.activity enable row level security;

drop policy if exists "own rows" on public.workspace_sessions;
create policy "own rows" on public.workspace_sessions for all to authenticated
    using (user_id = (select auth.jwt() ->> 'sub'))
    with check (user_id = (select auth.jwt() ->> 'sub'));

drop policy if exists "own rows" on public.conversations;
create policy "own rows" on public.conversations for all to authenticated
    using (user_id = (select auth.jwt() ->> 'sub'))
    with check (user_id = (select auth.jwt() ->> 'sub'));

drop policy if exists "own rows" on public.messages;
create policy "own rows" on public.messages for all to authenticated
    using (user_id = (select auth.jwt() ->> 'sub'))
    with check (user_id = (select auth.jwt() ->> 'sub'));

drop policy if exists "own rows" on public.activity;
create policy "own rows" on public.activity for all to authenticated
    using (user_id = (select auth.jwt() ->> 'sub'))
    with check (user_id = (select auth.jwt() ->> 'sub'));

-- anon gets nothing at all; signed-in users go through the policies above; the service role
-- (the extension) bypasses row level security.
revoke all on public.workspace_sessions, public.conversations, public.messages, public.activity
    from anon;
grant select, insert, update, delete
    on public.workspace_sessions, public.conversations, public.messages, public.activity
    to authenticated, service_role;
