"""Clean commits: with the person's ``strip_notebook_outputs`` preference on, a commit holds
notebooks without outputs and execution counts (nbstripout); the worktree keeps them."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

from .conftest import git


def run_notebook(source: str, printed: str, count: int) -> str:
    cell = new_code_cell(
        source,
        execution_count=count,
        outputs=[new_output("stream", name="stdout", text=printed)],
    )
    return nbformat.writes(new_notebook(cells=[cell]))


@pytest.fixture
def session(api, repo, jp_asyncio_loop):
    return jp_asyncio_loop.run_until_complete(api.create(name="work"))


async def prefer(api, strip: bool):
    code, body, _ = await api(
        "PUT", "api/user/preferences", {"preferences": {"strip_notebook_outputs": strip}}
    )
    assert code == 200, body


async def commit(api, session, message, paths=None):
    body = {"message": message, **({"paths": paths} if paths else {})}
    return await api("POST", f"api/workspace/sessions/{session['id']}/git/commit", body)


def committed(worktree: Path, path: str):
    return nbformat.reads(git(worktree, "show", f"HEAD:{path}"), as_version=4)


async def test_commit_strips_outputs_with_the_preference_on_and_keeps_them_off(api, session):
    worktree = Path(session["worktree_path"])
    (worktree / "nb.ipynb").write_text(run_notebook("print(6 * 7)", "42\n", 7))

    await prefer(api, True)
    code, body, _ = await commit(api, session, "Add the notebook")
    assert code == 201, body
    assert body["commit"]["notebooks_stripped"] == ["nb.ipynb"]
    cell = committed(worktree, "nb.ipynb").cells[0]
    assert cell.source == "print(6 * 7)"
    assert cell.outputs == [] and cell.execution_count is None
    on_disk = nbformat.read(worktree / "nb.ipynb", as_version=4).cells[0]
    assert on_disk.outputs[0].text == "42\n" and on_disk.execution_count == 7

    # only paths: the same (git commit --only re-reads the worktree through the filter)
    (worktree / "other.ipynb").write_text(run_notebook("print('b')", "b\n", 2))
    (worktree / "notes.txt").write_text("kept out\n")
    code, body, _ = await commit(api, session, "Other", ["other.ipynb"])
    assert code == 201, body
    assert body["commit"]["files"] == ["other.ipynb"]
    assert committed(worktree, "other.ipynb").cells[0].outputs == []

    await prefer(api, False)
    (worktree / "nb.ipynb").write_text(run_notebook("print(6 * 7)", "42\n", 8))
    code, body, _ = await commit(api, session, "With outputs")
    assert code == 201, body
    assert "notebooks_stripped" not in body["commit"]
    cell = committed(worktree, "nb.ipynb").cells[0]
    assert cell.outputs[0].text == "42\n" and cell.execution_count == 8


async def test_a_notebook_staged_before_is_stripped_too(api, session):
    worktree = Path(session["worktree_path"])
    (worktree / "nb.ipynb").write_text(run_notebook("x = 1", "1\n", 1))
    git(worktree, "add", "nb.ipynb")  # in a terminal, before asking for the commit
    await prefer(api, True)
    code, body, _ = await commit(api, session, "Staged earlier")
    assert code == 201, body
    assert committed(worktree, "nb.ipynb").cells[0].outputs == []


async def test_a_corrupt_notebook_is_refused_not_committed_with_outputs(api, session):
    worktree = Path(session["worktree_path"])
    (worktree / "broken.ipynb").write_text('{"cells": [')
    head = git(worktree, "rev-parse", "HEAD")
    await prefer(api, True)
    code, body, _ = await commit(api, session, "Broken")
    assert code == 400, body
    assert body["error"].startswith("broken.ipynb is not a notebook nbstripout can read")
    assert body["details"] == {"path": "broken.ipynb"}
    assert git(worktree, "rev-parse", "HEAD") == head


async def test_the_preference_must_be_a_boolean(api):
    code, body, _ = await api(
        "PUT", "api/user/preferences", {"preferences": {"strip_notebook_outputs": "yes"}}
    )
    assert code == 400 and "true or false" in body["error"]
