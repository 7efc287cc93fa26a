"""Start-up reconciliation after a crash, and the session state machine."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from lawless_jupyter.errors import Conflict
from lawless_jupyter.store import Store
from lawless_jupyter.workspace import WorkspaceService, WorkspaceSettings
from lawless_jupyter.workspace.states import TRANSITIONS, SessionState, check_transition

from .conftest import git, make_repo


@pytest.fixture
def root(tmp_path) -> Path:
    make_repo(tmp_path / "root" / "project")
    return tmp_path / "root"


async def open_service(root: Path, db: Path) -> WorkspaceService:
    store = Store(db)
    await store.open()
    return WorkspaceService(
        store, WorkspaceSettings(root_dir=root, worktrees_dir=root / "lawless-worktrees")
    )


async def test_reconciliation_repairs_and_reports(root, tmp_path, jp_asyncio_loop):
    db = tmp_path / "lawless.db"
    service = await open_service(root, db)
    repo = root / "project"
    finished = await service.create("me", "project", name="finished")
    never_made = await service.create("me", "project", name="never-made")
    vanished = await service.create("me", "project", name="vanished")
    half_deleted = await service.create("me", "project", name="half-deleted")
    chatting = await service.create("me", "project", name="chatting")
    store = service.store

    # simulate a crash at various points
    await store.transition_session(finished["id"], ["active"], "creating")
    await store.transition_session(never_made["id"], ["active"], "creating")
    git(repo, "worktree", "remove", never_made["worktree_path"])
    git(repo, "branch", "-D", never_made["branch"])
    vanished_tree = Path(vanished["worktree_path"])
    (vanished_tree / "kept.txt").write_text("committed work\n")
    git(vanished_tree, "add", "kept.txt")
    git(vanished_tree, "commit", "--quiet", "-m", "work")
    shutil.rmtree(vanished_tree)
    (Path(half_deleted["worktree_path"]) / "x.txt").write_text("x")
    git(Path(half_deleted["worktree_path"]), "add", "x.txt")
    git(Path(half_deleted["worktree_path"]), "commit", "--quiet", "-m", "x")
    git(repo, "worktree", "remove", half_deleted["worktree_path"])
    await store.transition_session(half_deleted["id"], ["active"], "deleting")
    await store.transition_session(chatting["id"], ["active"], "connected")
    orphan = root / "lawless-worktrees" / "project" / "left-behind"
    orphan.mkdir()
    (orphan / "mine.txt").write_text("precious\n")
    await store.close()

    service = await open_service(root, db)  # the restart
    report = await service.reconcile()
    states = {s["name"]: s["state"] for s in await service.list("me")}
    assert states == {
        "finished": "active",
        "never-made": "failed",
        "vanished": "active",
        "chatting": "active",
    }, "half-deleted finished its deletion, so it is no longer listed"
    assert (await service.store.get_session(half_deleted["id"]))["state"] == "deleted"
    assert (vanished_tree / "kept.txt").read_text() == "committed work\n", "re-checked out"
    assert half_deleted["branch"] in git(repo, "branch", "--list"), "its commit is kept"
    assert (orphan / "mine.txt").read_text() == "precious\n", "orphans are reported, not deleted"
    assert [o["path"] for o in report["orphans"]] == [str(orphan.resolve())]
    repaired = {e["session_id"] for e in report["repaired"]}
    assert {finished["id"], vanished["id"], half_deleted["id"]} <= repaired
    assert [e["session_id"] for e in report["failed"]] == [never_made["id"]]
    assert never_made["branch"] not in git(repo, "branch", "--list")
    assert await service.store.integrity_check() == "ok"
    await service.store.close()


async def test_sessions_survive_a_restart_with_their_history(root, tmp_path, jp_asyncio_loop):
    db = tmp_path / "lawless.db"
    service = await open_service(root, db)
    made = await service.create("me", "project")
    await service.store.close()
    service = await open_service(root, db)
    assert await service.get("me", made["id"]) == made
    events = await service.store.session_events(made["id"])
    assert [(e["from_state"], e["to_state"]) for e in events] == [
        (None, "creating"),
        ("creating", "active"),
    ]
    await service.store.close()


def test_state_machine_refuses_illegal_moves():
    S = SessionState
    check_transition("creating", S.ACTIVE)
    check_transition("active", S.CONNECTED)
    check_transition("connected", S.ACTIVE)
    check_transition("failed", S.DELETING)
    for current, target in [
        ("deleted", S.ACTIVE),
        ("creating", S.DELETING),
        ("updating", S.DELETING),
        ("active", S.CREATING),
        ("deleting", S.CONNECTED),
    ]:
        with pytest.raises(Conflict):
            check_transition(current, target)
    assert all(state in TRANSITIONS for state in S)


async def test_terminal_output_keeps_exactly_the_newest_bytes(tmp_path, jp_asyncio_loop):
    store = Store(tmp_path / "t.db")
    await store.open()
    await store.add_terminal(
        {"id": "t1", "name": "1", "session_id": "s", "user_id": "u", "cwd": "/"}
    )
    for chunk in ("a" * 60, "b" * 60, "c" * 30, "é" * 10):  # é is two bytes
        await store.append_terminal_output("t1", chunk, cap_bytes=100)
    kept = await store.terminal_output("t1")
    assert kept == "b" * 50 + "c" * 30 + "é" * 10
    (row,) = await store.list_terminals("s")
    assert row["stored_bytes"] == 100 and row["dropped_bytes"] == 20 + 30 + 20
    await store.close()


async def test_a_flood_batch_replaces_older_output_and_every_byte_is_counted(
    tmp_path, jp_asyncio_loop
):
    store = Store(tmp_path / "t.db")
    await store.open()
    await store.add_terminal(
        {"id": "t1", "name": "1", "session_id": "s", "user_id": "u", "cwd": "/"}
    )
    await store.append_terminal_output("t1", "old" * 10, cap_bytes=100)
    await store.append_terminal_output("t1", "x" * 150 + "END", cap_bytes=100, dropped_before=1000)
    assert await store.terminal_output("t1") == "x" * 97 + "END"
    (row,) = await store.list_terminals("s")
    assert row["stored_bytes"] == 100
    assert row["dropped_bytes"] == 30 + 53 + 1000, "older rows, the batch's head, and before"
    await store.close()


@pytest.mark.parametrize("state", ["creating", "deleting", "active"])
async def test_nothing_outside_the_worktrees_folder_is_deleted(
    root, tmp_path, jp_asyncio_loop, state
):
    """Whatever the store says (a row changed in Supabase, a hand edit), reconciliation and
    deletion never remove or check out anything outside ``worktrees_dir``."""
    db = tmp_path / "lawless.db"
    service = await open_service(root, db)
    session = await service.create("me", "project", name="pointed-away")
    precious = tmp_path / "precious"  # outside the worktrees folder (and the Jupyter root)
    (precious / "notes").mkdir(parents=True)
    (precious / "notes" / "keep.txt").write_text("mine\n")
    escape = root / "lawless-worktrees" / "project" / "escape"
    escape.symlink_to(precious)  # inside by name, outside once followed
    for target in (precious, escape, root / "lawless-worktrees"):
        async with service.store.db.transaction() as db_:
            await db_.execute(
                "UPDATE workspace_sessions SET worktree_path = ?, state = ? WHERE id = ?",
                (str(target), state, session["id"]),
            )
        report = await service.reconcile()
        assert (precious / "notes" / "keep.txt").read_text() == "mine\n", (target, state)
        assert (root / "lawless-worktrees" / "project").is_dir()
        (failed,) = [e for e in report["failed"] if e["session_id"] == session["id"]]
        assert "not inside the worktrees folder" in failed["detail"]
        if state == "active":  # a person deleting it (with force) is refused too
            with pytest.raises(Conflict, match="nothing was deleted"):
                await service.delete("me", session["id"], force=True)
            assert (precious / "notes" / "keep.txt").read_text() == "mine\n"
    assert Path(session["worktree_path"]).is_dir(), "the real worktree is left alone too"
    await service.store.close()
