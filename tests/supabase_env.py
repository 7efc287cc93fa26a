"""Fixtures for the Supabase mirror tests: a real PostgreSQL 15 with Supabase's auth stand-ins
(``supabase_stubs.sql``) and our migrations, and the fake PostgREST in front of it.

PostgreSQL: ``$LAWLESS_TEST_PG_DSN`` (a superuser DSN) when set; else, as root, the
machine's Debian cluster 15/main, started if it is down (``.ci/run`` starts it too). The
tests make their own database (dropped at the end) and their own login roles.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import psycopg
import pytest
from psycopg import sql

from .fake_postgrest import FakePostgrest

HERE = Path(__file__).parent
MIGRATIONS = sorted((HERE.parent / "supabase" / "migrations").glob("*.sql"))
STUBS = HERE / "supabase_stubs.sql"
MIRRORED = (
    "workspace_sessions",
    "conversations",
    "messages",
    "activity",
    "transcript_entries",
    "preferences",
)

ADMIN_ROLE = "lawless_test_admin"
AUTHENTICATOR = "lawless_test_authenticator"
# Test-only roles in a cluster that listens on localhost only.
PASSWORD = "lawless-test-" + "only"


def _local_cluster_dsn() -> str:
    if os.geteuid() != 0 or not shutil.which("pg_ctlcluster"):
        raise RuntimeError("no PostgreSQL: set LAWLESS_TEST_PG_DSN or run as root")
    ready = subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1"], check=False)
    if ready.returncode != 0:
        subprocess.run(["pg_ctlcluster", "15", "main", "start"], check=False)
        for _ in range(100):
            if subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1"]).returncode == 0:
                break
            time.sleep(0.1)
    script = f"""
    DO $$ BEGIN
      IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{ADMIN_ROLE}') THEN
        CREATE ROLE {ADMIN_ROLE} LOGIN SUPERUSER PASSWORD '{PASSWORD}';
      END IF;
    END $$;
    """
    out = subprocess.run(
        ["runuser", "-u", "postgres", "--", "psql", "-q", "-v", "ON_ERROR_STOP=1", "-c", script],
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"could not prepare PostgreSQL: {out.stderr}")
    return f"host=127.0.0.1 port=5432 user={ADMIN_ROLE} password={PASSWORD} dbname=postgres"


def apply_sql(dsn: str, *files: Path) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        for f in files:
            conn.execute(f.read_text())


@dataclass
class Postgres:
    admin_dsn: str  # superuser, in the test database
    authenticator_dsn: str  # what the fake PostgREST connects as
    dbname: str

    def query(self, text: str, params: Any = None) -> list[tuple]:
        with psycopg.connect(self.admin_dsn, autocommit=True) as conn:
            cur = conn.execute(text, params)
            return cur.fetchall() if cur.description else []

    def as_user(self, role: str, claims: dict[str, Any], text: str, params: Any = None):
        """Run ``text`` as PostgREST would for a JWT with these claims (one transaction)."""
        with psycopg.connect(self.admin_dsn) as conn:
            conn.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(role)))
            conn.execute(
                "SELECT set_config('request.jwt.claims', %s, true)",
                (json.dumps(claims),),
            )
            cur = conn.execute(text, params)
            return cur.fetchall() if cur.description else cur.rowcount


def server_dsn() -> str:
    """A superuser DSN: $LAWLESS_TEST_PG_DSN, else the local cluster (started if down)."""
    return os.environ.get("LAWLESS_TEST_PG_DSN") or _local_cluster_dsn()


def create_database(server: str) -> Postgres:
    """A new database with Supabase's stand-ins, our migrations and an authenticator role."""
    dbname = f"lawless_test_{os.getpid()}_{secrets.token_hex(3)}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
        conn.execute(
            f"""
            DO $$ BEGIN
              IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{AUTHENTICATOR}') THEN
                CREATE ROLE {AUTHENTICATOR} LOGIN NOINHERIT PASSWORD '{PASSWORD}';
              END IF;
            END $$;
            """
        )
    params = psycopg.conninfo.conninfo_to_dict(server)
    admin = psycopg.conninfo.make_conninfo(**{**params, "dbname": dbname})
    authenticator = psycopg.conninfo.make_conninfo(
        **{**params, "dbname": dbname, "user": AUTHENTICATOR, "password": PASSWORD}
    )
    apply_sql(admin, STUBS)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"GRANT anon, authenticated, service_role TO {AUTHENTICATOR}")
    apply_sql(admin, *MIGRATIONS)
    return Postgres(admin, authenticator, dbname)


def drop_database(server: str, db: Postgres) -> None:
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(db.dbname))
        )


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    try:
        server = server_dsn()
    except RuntimeError as e:
        if os.environ.get("CI"):
            raise
        pytest.skip(str(e))
    db = create_database(server)
    try:
        yield db
    finally:
        drop_database(server, db)


@dataclass
class Supabase:
    """The fake Supabase of one test: its URL, keys, the fake PostgREST and the database."""

    url: str
    jwt_secret: str
    fake: FakePostgrest
    db: Postgres

    def token(self, role: str, sub: str | None = None) -> str:
        claims: dict[str, Any] = {"role": role, "iss": "supabase", "iat": int(time.time())}
        if sub is not None:
            claims["sub"] = sub
        return jwt.encode(claims, self.jwt_secret, algorithm="HS256")

    @property
    def service_key(self) -> str:
        return self.token("service_role")

    @property
    def anon_key(self) -> str:
        return self.token("anon")

    def rows(self, table: str, order: str = "id") -> list[dict[str, Any]]:
        with psycopg.connect(self.db.admin_dsn, autocommit=True) as conn:
            conn.row_factory = psycopg.rows.dict_row
            return conn.execute(
                sql.SQL("SELECT * FROM {} ORDER BY {}").format(
                    sql.Identifier(table), sql.SQL(order)
                )
            ).fetchall()


@pytest.fixture(scope="session")
def _fake_postgrest(postgres) -> Iterator[FakePostgrest]:
    fake = FakePostgrest(postgres.authenticator_dsn, secrets.token_hex(32)).start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def supabase(postgres, _fake_postgrest) -> Iterator[Supabase]:
    """A clean fake Supabase (empty tables, no faults) for one test."""
    _fake_postgrest.reset()
    postgres.query("TRUNCATE " + ", ".join(f"public.{t}" for t in MIRRORED))
    yield Supabase(_fake_postgrest.url, _fake_postgrest.jwt_secret, _fake_postgrest, postgres)
    _fake_postgrest.reset()


def new_id() -> str:
    return str(uuid.uuid4())
