"""GET git/notebook-diff: a changed notebook, cell by cell, in nbdime's format (real git,
real server)."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from .conftest import git, git_snapshot, make_repo


def notebook(*cells) -> str:
    return nbformat.writes(new_notebook(cells=list(cells)))


def code(source: str, text: str | None = None, count: int = 1):
    outputs = [new_output("stream", name="stdout", text=text)] if text is not None else []
    return new_code_cell(source, outputs=outputs, execution_count=count)


ORIGINAL = notebook(
    new_markdown_cell("# Analysis"),
    code("x = 1\nprint(x)", "1\n", 1),
    code("y = 2", None, 2),
    code("print('bye')", "bye\n", 3),
)


@pytest.fixture
def repo(jp_root_dir) -> Path:
    return make_repo(jp_root_dir / "project", {"README.md": "# demo\n", "nb.ipynb": ORIGINAL})


@pytest.fixture
def session(api, repo, jp_asyncio_loop):
    return jp_asyncio_loop.run_until_complete(api.create(name="work"))


def url(session):
    return f"api/workspace/sessions/{session['id']}/git/notebook-diff"


def ops_on_cells(diff: list[dict]) -> list[dict]:
    (cells,) = [entry for entry in diff if entry["key"] == "cells"]
    return cells["diff"]


async def test_changed_added_removed_cells_and_outputs_are_nbdime_ops(api, session):
    worktree = Path(session["worktree_path"])
    nb = nbformat.reads(ORIGINAL, as_version=4)
    nb.cells[1].source = "x = 10\nprint(x)"  # a source changed
    nb.cells[1].outputs[0].text = "10\n"  # and its output
    del nb.cells[2]  # a cell removed
    nb.cells.append(new_markdown_cell("## Added by Claude"))  # a cell added
    (worktree / "nb.ipynb").write_text(nbformat.writes(nb))

    code_, body, _ = await api("GET", url(session), params={"path": "nb.ipynb"})
    assert code_ == 200, body
    assert body["status"] == "modified" and body["against"] == "base"
    assert body["commit"] == git(worktree, "rev-parse", "HEAD").strip()
    assert [c["source"] for c in body["base"]["cells"]][1] == "x = 1\nprint(x)"
    ops = ops_on_cells(body["diff"])
    patched = [op for op in ops if op["op"] == "patch"]
    assert [op["key"] for op in patched] == [1]
    changed = {entry["key"] for entry in patched[0]["diff"]}
    assert {"source", "outputs"} <= changed, patched[0]
    removed = [op for op in ops if op["op"] == "removerange"]
    assert [(op["key"], op["length"]) for op in removed] == [(2, 1)]
    added = [op for op in ops if op["op"] == "addrange"]
    assert [[c["source"] for c in op["valuelist"]] for op in added] == [["## Added by Claude"]]


async def test_output_only_change_and_against_head(api, session):
    worktree = Path(session["worktree_path"])
    nb = nbformat.reads(ORIGINAL, as_version=4)
    nb.cells[3].outputs[0].text = "goodbye\n"
    (worktree / "nb.ipynb").write_text(nbformat.writes(nb))
    git(worktree, "commit", "-qam", "outputs")
    code_, body, _ = await api("GET", url(session), params={"path": "nb.ipynb", "against": "head"})
    assert code_ == 404 and "no changes" in body["error"], "committed: nothing since HEAD"

    nb.cells[3].outputs[0].text = "see you\n"
    (worktree / "nb.ipynb").write_text(nbformat.writes(nb))
    code_, body, _ = await api("GET", url(session), params={"path": "nb.ipynb", "against": "head"})
    assert code_ == 200, body
    assert body["base"]["cells"][3]["outputs"][0]["text"] == "goodbye\n"
    (op,) = ops_on_cells(body["diff"])
    assert op["op"] == "patch" and op["key"] == 3
    assert [entry["key"] for entry in op["diff"]] == ["outputs"]


async def test_new_notebook_diffs_against_empty_and_deleted_against_empty(api, session):
    worktree = Path(session["worktree_path"])
    (worktree / "sub").mkdir()
    (worktree / "sub" / "new.ipynb").write_text(notebook(code("a = 1", "")))
    code_, body, _ = await api("GET", url(session), params={"path": "sub/new.ipynb"})
    assert code_ == 200, body
    assert body["status"] == "added" and body["base"]["cells"] == []
    (op,) = ops_on_cells(body["diff"])
    assert op["op"] == "addrange" and op["valuelist"][0]["source"] == "a = 1"

    (worktree / "nb.ipynb").unlink()
    code_, body, _ = await api("GET", url(session), params={"path": "./nb.ipynb"})
    assert code_ == 200, body
    assert body["status"] == "deleted" and body["path"] == "nb.ipynb"
    (op,) = ops_on_cells(body["diff"])
    assert (op["op"], op["key"], op["length"]) == ("removerange", 0, 4)


async def test_bad_input_is_a_clear_4xx_and_changes_nothing(api, session, repo, lawless_app):
    worktree = Path(session["worktree_path"])
    (worktree / "notes.txt").write_text("hello\n")
    (worktree / "broken.ipynb").write_text('{"cells": [')
    (worktree / "cells.ipynb").write_text('{"nbformat": 4, "nbformat_minor": 5, "cells": {}}')
    (Path(repo).parent / "outside.ipynb").write_text(notebook(code("secret = 1")))
    (worktree / "link.ipynb").symlink_to(Path(repo).parent / "outside.ipynb")
    before = git_snapshot(repo), git(worktree, "status", "--porcelain")

    cases = [
        ({}, 400, "'path' is required"),
        ({"path": "../outside.ipynb"}, 400, "inside"),
        ({"path": "/etc/passwd.ipynb"}, 400, "relative"),
        ({"path": "notes.txt"}, 400, "Only notebooks"),
        ({"path": "nb.ipynb", "against": "main"}, 400, "'against'"),
        ({"path": "nb.ipynb"}, 404, "no changes"),  # unchanged
        ({"path": "missing.ipynb"}, 404, "no changes"),
        ({"path": "link.ipynb"}, 400, "outside the session's worktree"),
        ({"path": "broken.ipynb"}, 422, "not a notebook"),
        ({"path": "cells.ipynb"}, 422, "is not a notebook"),
    ]
    for params, status, words in cases:
        code_, body, _ = await api("GET", url(session), params=params)
        assert code_ == status, (params, body)
        assert words in body["error"], (params, body)
    assert "secret" not in str(body)
    assert (git_snapshot(repo), git(worktree, "status", "--porcelain")) == before

    other = await lawless_app.workspace.create("someone-else", "project", None, "theirs")
    Path(other["worktree_path"], "nb.ipynb").write_text(notebook(code("theirs")))
    code_, body, _ = await api("GET", url(other), params={"path": "nb.ipynb"})
    assert code_ == 404 and "theirs" not in str(body)


async def test_files_lists_tracked_and_untracked_not_ignored(api, session, lawless_app):
    worktree = Path(session["worktree_path"])
    (worktree / ".gitignore").write_text("*.log\n")
    (worktree / "sub").mkdir()
    (worktree / "sub" / "new.py").write_text("y = 1\n")
    (worktree / "debug.log").write_text("noise\n")
    code_, body, _ = await api("GET", f"api/workspace/sessions/{session['id']}/git/files")
    assert code_ == 200, body
    assert body == {
        "files": [".gitignore", "README.md", "nb.ipynb", "sub/new.py"],
        "truncated": False,
    }
    other = await lawless_app.workspace.create("someone-else", "project", None, "theirs")
    code_, body, _ = await api("GET", f"api/workspace/sessions/{other['id']}/git/files")
    assert code_ == 404
