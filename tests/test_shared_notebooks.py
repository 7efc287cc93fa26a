"""Claude's notebook tools and jupyter-collaboration, end to end: a real Jupyter server with
the collaboration extension (``jupyter_server_ydoc``), a person's client in the notebook's
room (a y-websocket client, as JupyterLab is), the real Claude Code CLI with the scripted
model calling ``mcp__jupyter__*``.

- With the room open, Claude's changes go into the shared document: the person's client
  sees them, their own unsaved typing in another cell stays, and the room's save writes
  both to the file.
- With no room open, the tools write the file (as without the extension) and open no room;
  a room opened later holds Claude's change.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import time
from pathlib import Path

import httpx
import nbformat
import pytest
from httpx_ws import aconnect_ws
from jupyter_ydoc import YNotebook
from pycrdt import Provider
from pycrdt.websocket.websocket import HttpxWebsocket

from .fake_anthropic import tool_use
from .test_chat import chat, claude_env, lawless_config, sse
from .test_notebook_tools import (
    TOOL,
    answer,
    chat_config,
    errors,
    nb_session,
    received,
    trusted,
)

__all__ = ["chat_config", "claude_env", "lawless_config", "nb_session", "sse"]  # fixtures

SAVE_DELAY = 6.0  # the room saves this long after the last change


@pytest.fixture
def jp_server_config(jp_server_config, tmp_path):
    """The test server with jupyter-collaboration's server extension, its stores in tmp."""
    config = {k: dict(v) for k, v in jp_server_config.items()}
    config["ServerApp"]["jpserver_extensions"] = {
        **config["ServerApp"]["jpserver_extensions"],
        "jupyter_server_fileid": True,
        "jupyter_server_ydoc": True,
    }
    config["BaseFileIdManager"] = {"db_path": str(tmp_path / "collab" / "file_id.db")}
    config["SQLiteYStore"] = {"db_path": str(tmp_path / "collab" / "ystore.db")}
    config["YDocExtension"] = {
        "document_save_delay": SAVE_DELAY,
        "file_poll_interval": 0.5,
        "session_store_path": str(tmp_path / "collab" / "sessions.json"),
    }
    (tmp_path / "collab").mkdir()
    return config


def lab_path(session, name: str = "analysis.ipynb") -> str:
    return f"{session['worktree_dir']}/{name}"


@pytest.fixture
def room(nb_session, jp_fetch, jp_serverapp, jp_http_port, jp_base_url):
    """``async with room() as mine``: the person joins the session notebook's room."""
    return functools.partial(
        person_in_room, jp_fetch, jp_serverapp, jp_http_port, jp_base_url, lab_path(nb_session)
    )


@contextlib.asynccontextmanager
async def person_in_room(jp_fetch, jp_serverapp, jp_http_port, jp_base_url, path: str):
    """A person's client in the notebook's room, as JupyterLab joins it: a session for the
    file, then the room's websocket; yields their copy of the notebook once it is synced."""
    response = await jp_fetch(
        "api/collaboration/session",
        path,
        method="PUT",
        body=json.dumps({"format": "json", "type": "notebook"}),
    )
    session = json.loads(response.body)
    room = f"json:notebook:{session['fileId']}"
    url = (
        f"http://127.0.0.1:{jp_http_port}{jp_base_url}api/collaboration/room/{room}"
        f"?sessionId={session['sessionId']}"
    )
    headers = {"Authorization": f"token {jp_serverapp.identity_provider.token}"}
    document = YNotebook()
    async with (
        httpx.AsyncClient(headers=headers) as client,
        aconnect_ws(url, client) as websocket,
        Provider(document.ydoc, HttpxWebsocket(websocket, room)),
    ):
        await until(lambda: document.cell_number > 0, "the room's notebook reached the client")
        yield document


async def until(condition, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting until {what}")
        await asyncio.sleep(0.05)


def on_disk(session) -> nbformat.NotebookNode:
    return nbformat.read(Path(session["worktree_path"]) / "analysis.ipynb", as_version=4)


def saved_sources(session) -> list[str] | None:
    """The cells' sources in the file; None while the server is writing it (Jupyter's
    atomic writing rewrites the file in place, keeping a backup aside)."""
    try:
        return [cell.source for cell in on_disk(session).cells]
    except (nbformat.reader.NotJSONError, ValueError):
        return None


def sources(document: YNotebook) -> list[str]:
    return [document.get_cell(i)["source"] for i in range(document.cell_number)]


async def test_claudes_cell_edit_and_run_reach_the_open_room_and_keep_the_persons_typing(
    sse, nb_session, fake, room
):
    session = nb_session
    async with room() as mine:
        # the person types in the title cell; the room has not saved it yet
        mine.set_cell(0, source="# Analysis (my draft)")
        events = await trusted(
            sse,
            session,
            fake,
            tool_use(f"{TOOL}edit_cell", {"path": "analysis.ipynb", "index": 2, "source": "6 * 7"}),
            tool_use(f"{TOOL}run_cell", {"path": "analysis.ipynb", "index": 2}),
            tool_use(f"{TOOL}read_notebook", {"path": "analysis.ipynb"}),
        )
        assert errors(events) == [False, False, False], received(fake)
        saved_before = on_disk(session)
        assert saved_before.cells[2].source == "1 / 0", "the tool did not write the file"

        # the person's copy: Claude's source and output in cell 2, their typing in cell 0
        await until(lambda: sources(mine)[2] == "6 * 7", "Claude's edit reached the person")
        ran = mine.get_cell(2)
        assert ran["execution_count"] == 1
        assert ran["outputs"][0]["data"]["text/plain"] == "42"
        assert sources(mine)[0] == "# Analysis (my draft)"
        # Claude read the notebook as the room holds it (the person's typing included)
        assert "# Analysis (my draft)" in received(fake)[2] and "6 * 7" in received(fake)[2]

        # the room's own save writes everything to the file
        await until(
            lambda: (saved_sources(session) or [""] * 3)[2] == "6 * 7",
            "the room saved Claude's change",
            timeout=SAVE_DELAY + 30,
        )
        saved = on_disk(session)
        assert saved.cells[0].source == "# Analysis (my draft)"
        assert saved.cells[2].outputs[0]["data"]["text/plain"] == "42"
        assert sources(mine)[0] == "# Analysis (my draft)", "nothing read back over it"


async def test_inserting_moving_and_deleting_cells_in_an_open_room(sse, nb_session, fake, room):
    session = nb_session
    async with room() as mine:
        mine.set_cell(1, source="greeting = 'typed by me'")
        events = await trusted(
            sse,
            session,
            fake,
            tool_use(
                f"{TOOL}insert_cell",
                {"path": "analysis.ipynb", "index": 1, "source": "Notes", "cell_type": "markdown"},
            ),
            tool_use(f"{TOOL}move_cell", {"path": "analysis.ipynb", "from": 3, "to": 0}),
            tool_use(f"{TOOL}delete_cell", {"path": "analysis.ipynb", "index": 0}),
            tool_use(f"{TOOL}delete_cell", {"path": "analysis.ipynb", "index": 9}),
        )
        assert errors(events) == [False, False, False, True], received(fake)
        assert "no cell at index 9" in received(fake)[3]
        expected = ["# Analysis", "Notes", "greeting = 'typed by me'"]
        await until(lambda: sources(mine) == expected, "the person sees Claude's changes")
        await until(
            lambda: saved_sources(session) == expected,
            "the room saved them",
            timeout=SAVE_DELAY + 30,
        )
        assert on_disk(session).cells[1].cell_type == "markdown"


async def test_run_cell_asks_about_and_runs_the_cell_as_the_person_has_it(
    api, sse, nb_session, fake, room
):
    session = nb_session
    async with room() as mine:
        mine.set_cell(2, source="6 * 7  # typed, not saved")
        fake.add(tool_use(f"{TOOL}run_cell", {"path": "analysis.ipynb", "index": 2}))
        stream = await chat(sse, session, "Run the last cell")
        request = await stream.until("approval_request")
        assert request["code"] == "6 * 7  # typed, not saved", "the card shows what runs"
        await answer(api, session, request)
        events = await stream.rest()
        assert errors(events) == [False], received(fake)
        assert "42" in received(fake)[0]
        await until(lambda: mine.get_cell(2)["outputs"], "the output reached the person")
        assert mine.get_cell(2)["outputs"][0]["data"]["text/plain"] == "42"


async def test_with_no_room_open_the_tool_writes_the_file_and_opens_no_room(
    sse, nb_session, fake, room, jp_serverapp
):
    session = nb_session
    events = await trusted(
        sse,
        session,
        fake,
        tool_use(f"{TOOL}edit_cell", {"path": "analysis.ipynb", "index": 2, "source": "2 + 2"}),
    )
    assert errors(events) == [False], received(fake)
    assert on_disk(session).cells[2].source == "2 + 2", "written at once, as without rooms"
    extension = next(iter(jp_serverapp.extension_manager.extension_apps["jupyter_server_ydoc"]))
    assert extension.ywebsocket_server.rooms == {}, "the tool opened no room"

    # a person who opens the notebook now gets Claude's version
    async with room() as mine:
        assert sources(mine)[2] == "2 + 2"


async def test_claudes_own_file_tools_leave_an_open_notebook_to_the_notebook_tools(
    sse, nb_session, fake, room
):
    """Claude Code's Write and NotebookEdit write the file: with the notebook open in a
    room, that file would be read back over the person's unsaved typing. They are refused,
    with the tools that change the open notebook named; with no room they write as before."""
    session = nb_session
    notebook = str(Path(session["worktree_path"]) / "analysis.ipynb")
    before = Path(notebook).read_bytes()
    rewritten = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("'by Write'")])
    write = tool_use("Write", {"file_path": notebook, "content": nbformat.writes(rewritten)})
    cell_id = on_disk(session).cells[2].id
    notebook_edit = tool_use(
        "NotebookEdit",
        {"notebook_path": notebook, "cell_id": cell_id, "new_source": "'by NotebookEdit'"},
    )
    async with room() as mine:
        mine.set_cell(0, source="# Analysis (my draft)")
        events = await trusted(
            sse, session, fake, tool_use("Read", {"file_path": notebook}), write, notebook_edit
        )
        assert errors(events) == [False, True, True], received(fake)
        for refusal in received(fake)[1:]:
            assert "analysis.ipynb is open in JupyterLab" in refusal
            assert f"{TOOL}edit_cell" in refusal
        assert Path(notebook).read_bytes() == before, "the file was not written"
        await asyncio.sleep(1.5)  # three of the room's file polls: nothing to read back
        assert sources(mine)[0] == "# Analysis (my draft)"

    # a notebook no room holds (the room above stays a while after its last client leaves)
    other = Path(session["worktree_path"]) / "notes.ipynb"
    fake.add(tool_use("Write", {"file_path": str(other), "content": nbformat.writes(rewritten)}))
    events = await trusted(sse, session, fake)
    assert errors(events) == [False], received(fake)
    assert [cell.source for cell in nbformat.read(other, as_version=4).cells] == ["'by Write'"]
