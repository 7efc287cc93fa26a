-- lawless_jupyter: each person's preferences (`api/user/preferences`), one JSON document per
-- user, so they follow the person to any server. Mutable: last-write-wins by
-- (updated_at, origin), like workspace_sessions and conversations. Same ownership rule as the
-- other tables: user_id is the Jupyter user name, row level security compares it with the
-- JWT's `sub`. Safe to apply again.

create table if not exists public.preferences (
    id          text primary key,               -- the user id: one document per user
    user_id     text not null,
    data        jsonb not null,
    created_at  timestamptz not null,
    updated_at  timestamptz not null,
    origin      text not null default '',
    synced_at   timestamptz not null default clock_timestamp()
);

create index if not exists preferences_synced on public.preferences (user_id, synced_at);

drop trigger if exists lawless_last_write_wins on public.preferences;
create trigger lawless_last_write_wins before insert or update on public.preferences
    for each row execute function public.lawless_last_write_wins();

alter table public.preferences enable row level security;

drop policy if exists "own rows" on public.preferences;
create policy "own rows" on public.preferences for all to authenticated
    using (user_id = (select auth.jwt() ->> 'sub'))
    with check (user_id = (select auth.jwt() ->> 'sub'));

revoke all on public.preferences from anon;
grant select, insert, update, delete on public.preferences to authenticated, service_role;
