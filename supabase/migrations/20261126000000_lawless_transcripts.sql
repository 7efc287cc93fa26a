-- lawless_jupyter: Claude Code's session transcripts (the Claude Agent SDK's SessionStore,
-- lawless_jupyter/store/transcripts.py), so a conversation resumes on a server that never
-- saw it. One row per JSONL entry, append-only (inserted once; a deleted transcript is
-- deleted here too). Same ownership rule as the other tables: user_id is the Jupyter user
-- name, row level security compares it with the JWT's `sub`. Safe to apply again.

create table if not exists public.transcript_entries (
    id          text primary key,           -- derived from the entry's uuid when it has one
    user_id     text not null,
    project_key text not null,
    session_id  text not null,
    subpath     text not null default '',   -- '' for the main transcript
    uuid        text,
    seq         bigint not null,            -- append order on the server that wrote it
    entry       jsonb not null,
    created_at  timestamptz not null,
    origin      text not null default '',
    synced_at   timestamptz not null default clock_timestamp()
);

create index if not exists transcript_entries_key
    on public.transcript_entries (user_id, project_key, session_id, subpath, created_at, seq);

drop trigger if exists lawless_stamp_synced on public.transcript_entries;
create trigger lawless_stamp_synced before insert or update on public.transcript_entries
    for each row execute function public.lawless_stamp_synced();

alter table public.transcript_entries enable row level security;

drop policy if exists "own rows" on public.transcript_entries;
create policy "own rows" on public.transcript_entries for all to authenticated
    using (user_id = (select auth.jwt() ->> 'sub'))
    with check (user_id = (select auth.jwt() ->> 'sub'));

revoke all on public.transcript_entries from anon;
grant select, insert, update, delete on public.transcript_entries to authenticated, service_role;
