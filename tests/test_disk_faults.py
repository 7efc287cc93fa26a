"""The disk under the worktrees, or under the database, full or read-only: a clear 507, nothing
half made, nothing corrupted, and everything works again once there is room.

Real small file systems: a tmpfs of a few MB mounted for the test (root, as here and in CI)."""

from __future__ import annotations

import contextlib
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

import lawless_jupyter

from .conftest import git, git_snapshot, make_repo
from .test_openapi import SpecChecker

SPEC = yaml.safe_load((Path(lawless_jupyter.__file__).parent / "openapi.yaml").read_text())


@contextlib.contextmanager
def small_disk(path: Path, size: str = "4m") -> Iterator[Path]:
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], check=True)
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def fill(disk: Path) -> Path:
    """Fill the disk to the last byte (the filler file is returned, to free it later)."""
    filler = disk / "filler"
    with open(filler, "wb", buffering=0) as f, contextlib.suppress(OSError):
        while True:
            f.write(b"\0" * 65536)
    with open(filler, "ab", buffering=0) as f, contextlib.suppress(OSError):
        while True:  # and the odd bytes left
            f.write(b"\0")
    return filler


def remount(disk: Path, mode: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{mode}", str(disk)], check=True)


@pytest.fixture
def worktrees_disk(tmp_path_factory) -> Iterator[Path]:
    with small_disk(tmp_path_factory.mktemp("disk") / "worktrees") as disk:
        yield disk


@pytest.fixture
def lawless_config(worktrees_disk):
    return {"worktrees_dir": str(worktrees_disk)}


@pytest.fixture
def repo(jp_root_dir) -> Path:  # enough files that a checkout cannot fit on a full disk
    return make_repo(jp_root_dir / "project", {f"src/f{i}.txt": "x" * 4000 for i in range(50)})


async def test_a_full_disk_gives_a_clear_error_and_leaves_nothing(api, repo, worktrees_disk):
    before = git_snapshot(repo)
    filler = fill(worktrees_disk)
    code, body, response = await api("POST", "api/workspace/sessions", {"repo": "project"})
    assert code == 507, body
    SpecChecker(SPEC).response("/api/workspace/sessions", "POST", code, body, response.headers)
    assert body["code"] == "storage_unavailable" and "is full" in body["error"]
    assert git_snapshot(repo) == before
    _, listed, _ = await api("GET", "api/workspace/sessions")
    assert listed["sessions"] == []
    filler.unlink()  # room again: it works
    session = await api.create()
    assert Path(session["worktree_path"], "src", "f0.txt").exists()


async def test_a_read_only_disk_gives_a_clear_error_and_leaves_nothing(api, repo, worktrees_disk):
    kept = await api.create(name="kept")
    before = git_snapshot(repo)
    remount(worktrees_disk, "ro")
    try:
        code, body, _ = await api("POST", "api/workspace/sessions", {"repo": "project"})
        assert code == 507, body
        assert "read-only" in body["error"]
        assert git_snapshot(repo) == before
        code, body, _ = await api(
            "POST", f"api/workspace/sessions/{kept['id']}/git/commit", {"message": "m"}
        )
        assert code in (409, 507), body  # nothing to commit, or cannot write: never a 500
        code, body, _ = await api("GET", f"api/workspace/sessions/{kept['id']}/git/status")
        assert code in (200, 507), body
    finally:
        remount(worktrees_disk, "rw")
    _, listed, _ = await api("GET", "api/workspace/sessions")
    assert [s["name"] for s in listed["sessions"]] == ["kept"]
    assert git(repo, "worktree", "list", "--porcelain").count("worktree ") == 2


async def test_a_full_disk_under_the_database_loses_nothing_stored(
    api, repo, lawless_app, tmp_path_factory
):
    """The database on a small disk that fills up: writes fail with a 507, what was stored
    stays intact, and writes work again once there is room."""
    await lawless_app.ready()
    store = lawless_app.store
    with small_disk(tmp_path_factory.mktemp("dbdisk") / "db", "2m") as disk:
        await store.close()
        store.path = disk / "lawless.db"
        await store.open()
        first = await api.create(name="first")
        filler = fill(disk)
        code, body, _ = await api("POST", "api/workspace/sessions", {"repo": "project"})
        assert code == 507, body
        assert "database" in body["error"] and "is full" in body["error"]
        filler.unlink()
        second = await api.create(name="second")
        _, listed, _ = await api("GET", "api/workspace/sessions")
        assert {s["id"] for s in listed["sessions"]} == {first["id"], second["id"]}
        await store.close()
        with sqlite3.connect(disk / "lawless.db") as db:
            assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        await store.open()
