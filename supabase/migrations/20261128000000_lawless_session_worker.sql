-- lawless_jupyter: the worker a workspace session runs on (NULL: the server that wrote the
-- row). Mirrors the SQLite column added by store/schema.py (the migration adding workspace_sessions.worker). Safe to apply again.

alter table public.workspace_sessions add column if not exists worker text;
