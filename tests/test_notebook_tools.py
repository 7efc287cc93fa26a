"""A Jupyter kernel per session and the ``jupyter`` notebook tools, end to end: the real
Claude Code CLI with a scripted model calls ``mcp__jupyter__<tool>``, a real ipykernel runs
the code through the server's own kernel manager."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import nbformat
import psutil
import pytest
from jupyter_client.manager import AsyncKernelManager
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from lawless_jupyter.chat.permissions import PermissionPolicy
from lawless_jupyter.chat.rules import rule_for, rule_matches
from lawless_jupyter.errors import NotFound

from .conftest import git
from .fake_anthropic import text, tool_use
from .test_chat import SSE, chat, chat_path, claude_env, lawless_config, session, sse

__all__ = ["claude_env", "lawless_config", "session", "sse"]  # fixtures used here

TOOL = "mcp__jupyter__"


@pytest.fixture
def chat_config(request, monkeypatch):
    monkeypatch.setenv("LAWLESS_TEST_SECRET", "inherited")  # a variable of the server's
    return {"kernel_execute_timeout": 30.0, **getattr(request, "param", {})}


def tool_results(fake, n: int = -1) -> list[dict]:
    """The tool_result blocks of the model's n-th request (what Claude received)."""
    found = []
    for message in fake.main_requests[n]["messages"]:
        if isinstance(message.get("content"), list):
            found += [b for b in message["content"] if b.get("type") == "tool_result"]
    return found


def result_text(block: dict) -> str:
    content = block.get("content")
    if isinstance(content, str):
        return content
    return "\n".join(part.get("text", "") for part in content or [] if part.get("type") == "text")


async def answer(api, session, request, decision="allow", remember=False):
    code, body, _ = await api(
        "POST",
        chat_path(session, f"/approvals/{request['request_id']}"),
        {"decision": decision, "remember": remember},
    )
    assert code == 200, body


async def run_approved(api, sse: SSE, session, message: str, approvals: int = 1):
    stream = await chat(sse, session, message)
    for _ in range(approvals):
        request = await stream.until("approval_request")
        await answer(api, session, request)
    return await stream.rest()


def write_notebook(path: Path, *cells, kernel: str = "python3") -> None:
    nb = new_notebook(cells=list(cells))
    nb.metadata["kernelspec"] = {"name": kernel, "display_name": kernel, "language": "python"}
    path.write_text(nbformat.writes(nb))


async def test_execute_asks_then_runs_in_the_worktree(api, sse, session, fake, jp_fetch):
    code = "import os; print(os.getcwd()); 6*7"
    fake.add(tool_use(f"{TOOL}execute", {"code": code}), text("Done."))
    stream = await chat(sse, session, "Run it")
    request = await stream.until("approval_request")
    assert request["tool"] == f"{TOOL}execute"
    assert request["input"]["code"] == code, "the person sees the code they approve"
    assert request["rule"] == f"{TOOL}execute"
    await answer(api, session, request)
    events = await stream.rest()
    result = next(d for _, d in events if d["type"] == "tool_result")
    assert result["is_error"] is False, result
    received = result_text(tool_results(fake)[0])
    worktree = str(Path(session["worktree_path"]).resolve())
    assert worktree in received and "42" in received, received

    # the kernel is one of the server's own: listed in api/kernels
    kernels = json.loads((await jp_fetch("api", "kernels")).body)
    code_, body, _ = await api("GET", f"api/workspace/sessions/{session['id']}/kernel")
    assert code_ == 200 and body["kernel"]["id"] in [k["id"] for k in kernels]
    assert body["kernel"]["name"] == "python3"


@pytest.fixture
def nb_session(api, repo, jp_asyncio_loop):
    """A session of a repository holding a committed notebook, analysis.ipynb."""
    write_notebook(
        repo / "analysis.ipynb",
        new_markdown_cell("# Analysis"),
        new_code_cell("greeting = 'hello from the kernel'\nprint(greeting)\n6 * 7"),
        new_code_cell("1 / 0"),
    )
    git(repo, "add", "analysis.ipynb")
    git(repo, "commit", "--quiet", "-m", "a notebook")
    return jp_asyncio_loop.run_until_complete(api.create(name="nb"))


def kernel_path(session, suffix=""):
    return f"api/workspace/sessions/{session['id']}/kernel{suffix}"


async def trusted(sse, session, fake, *calls, message="Go"):
    """One turn in the mode that runs code without asking; the events of the turn."""
    fake.add(*calls, text("Done."))
    stream = await chat(sse, session, message, permission_mode="trusted")
    return await stream.rest()


def received(fake) -> list[str]:
    """The text of each tool result the model received, in order."""
    return [result_text(block) for block in tool_results(fake)]


def errors(events) -> list[bool]:
    return [d["is_error"] for _, d in events if d["type"] == "tool_result"]


async def test_run_cell_writes_its_outputs_into_the_worktree_only(api, sse, nb_session, fake, repo):
    before = (repo / "analysis.ipynb").read_bytes()
    fake.add(
        tool_use(f"{TOOL}run_cell", {"path": "analysis.ipynb", "index": 1}),
        tool_use(f"{TOOL}read_notebook", {"path": "analysis.ipynb"}),
        text("Done."),
    )
    stream = await chat(sse, nb_session, "Run the cell")
    request = await stream.until("approval_request")
    assert request["tool"] == f"{TOOL}run_cell" and request["input"]["index"] == 1
    assert request["code"] == "greeting = 'hello from the kernel'\nprint(greeting)\n6 * 7", (
        "the person sees the cell's code before it runs"
    )
    await answer(api, nb_session, request)
    events = await stream.rest()
    assert [d["type"] for _, d in events].count("approval_request") == 1, "reading never asks"
    assert errors(events) == [False, False]

    notebook = nbformat.read(Path(nb_session["worktree_path"]) / "analysis.ipynb", as_version=4)
    cell = notebook.cells[1]
    assert cell.execution_count == 1
    assert [o.output_type for o in cell.outputs] == ["stream", "execute_result"]
    assert cell.outputs[0].text == "hello from the kernel\n"
    assert cell.outputs[1].data["text/plain"] == "42"
    assert notebook.cells[2].outputs == [], "only the cell that ran changed"
    assert (repo / "analysis.ipynb").read_bytes() == before, "the base repository is untouched"
    assert git(repo, "status", "--porcelain") == ""

    ran, read = received(fake)
    assert "hello from the kernel" in ran and "42" in ran
    assert "greeting = 'hello from the kernel'" in read, "sources"
    assert "hello from the kernel" in read and "Out[1]: 42" in read, "outputs"
    assert "1 / 0" in read and "markdown" in read

    _, status, _ = await api("GET", f"api/workspace/sessions/{nb_session['id']}/git/status")
    assert [f["path"] for f in status["files"]] == ["analysis.ipynb"]


async def test_cells_are_edited_inserted_moved_and_deleted(api, sse, nb_session, fake):
    path = {"path": "analysis.ipynb"}
    events = await trusted(
        sse,
        nb_session,
        fake,
        tool_use(f"{TOOL}edit_cell", {**path, "index": 2, "source": "2 + 2"}),
        tool_use(
            f"{TOOL}insert_cell", {**path, "index": 3, "source": "## End", "cell_type": "markdown"}
        ),
        tool_use(f"{TOOL}move_cell", {**path, "from": 3, "to": 0}),
        tool_use(f"{TOOL}delete_cell", {**path, "index": 1}),
    )
    assert errors(events) == [False] * 4, received(fake)
    notebook = nbformat.read(Path(nb_session["worktree_path"]) / "analysis.ipynb", as_version=4)
    assert [(c.cell_type, c.source) for c in notebook.cells] == [
        ("markdown", "## End"),
        ("code", "greeting = 'hello from the kernel'\nprint(greeting)\n6 * 7"),
        ("code", "2 + 2"),
    ]
    nbformat.validate(notebook)


async def test_edits_follow_the_policy_of_file_edits(api, sse, nb_session, fake):
    # default mode: a cell edit runs without asking (as a file edit does)
    fake.add(
        tool_use(f"{TOOL}edit_cell", {"path": "analysis.ipynb", "index": 2, "source": "3"}),
        text("Done."),
    )
    events = await (await chat(sse, nb_session, "Edit")).rest()
    assert "approval_request" not in [d["type"] for _, d in events]
    # "ask" mode: it asks, and a deny leaves the file alone
    fake.add(
        tool_use(f"{TOOL}edit_cell", {"path": "analysis.ipynb", "index": 2, "source": "4"}),
        text("Done."),
    )
    stream = await chat(sse, nb_session, "Edit again", permission_mode="ask")
    request = await stream.until("approval_request")
    assert request["tool"] == f"{TOOL}edit_cell"
    await answer(api, nb_session, request, "deny")
    await stream.rest()
    notebook = nbformat.read(Path(nb_session["worktree_path"]) / "analysis.ipynb", as_version=4)
    assert notebook.cells[2].source == "3"


async def test_always_allow_covers_code_in_this_sessions_kernel(api, sse, nb_session, fake):
    fake.add(tool_use(f"{TOOL}execute", {"code": "x = 1"}), text("Done."))
    stream = await chat(sse, nb_session, "Run")
    request = await stream.until("approval_request")
    await answer(api, nb_session, request, remember=True)
    await stream.rest()
    _, rules, _ = await api("GET", chat_path(nb_session, "/rules"))
    assert rules["rules"] == [f"{TOOL}execute"]
    # now neither execute nor run_cell asks in this session
    fake.add(
        tool_use(f"{TOOL}execute", {"code": "print(x + 1)"}),
        tool_use(f"{TOOL}run_cell", {"path": "analysis.ipynb", "index": 1}),
        text("Done."),
    )
    events = await (await chat(sse, nb_session, "Run more")).rest()
    assert "approval_request" not in [d["type"] for _, d in events]
    assert errors(events) == [False, False]
    assert "2" in received(fake)[-2]


async def test_a_denied_run_runs_nothing(api, sse, session, fake, lawless_app):
    fake.add(tool_use(f"{TOOL}execute", {"code": "open('ran.txt', 'w').write('x')"}), text("No."))
    stream = await chat(sse, session, "Run")
    await answer(api, session, await stream.until("approval_request"), "deny")
    events = await stream.rest()
    assert errors(events) == [True]
    assert not (Path(session["worktree_path"]) / "ran.txt").exists()
    _, body, _ = await api("GET", kernel_path(session))
    assert body == {"kernel": None}, "no kernel was even started"


async def test_each_session_has_its_own_kernel_and_namespace(api, sse, session, fake, jp_fetch):
    other = await api.create(name="other")
    await trusted(sse, session, fake, tool_use(f"{TOOL}execute", {"code": "secret = 41"}))
    events = await trusted(sse, other, fake, tool_use(f"{TOOL}execute", {"code": "secret"}))
    assert errors(events) == [True]
    assert "NameError" in received(fake)[-1]
    await trusted(sse, session, fake, tool_use(f"{TOOL}execute", {"code": "secret + 1"}))
    assert "42" in received(fake)[-1]

    _, mine, _ = await api("GET", kernel_path(session))
    _, theirs, _ = await api("GET", kernel_path(other))
    assert mine["kernel"]["id"] != theirs["kernel"]["id"]
    listed = [k["id"] for k in json.loads((await jp_fetch("api", "kernels")).body)]
    assert {mine["kernel"]["id"], theirs["kernel"]["id"]} <= set(listed)

    # deleting a session shuts its kernel down; the other one lives on
    code, body, _ = await api("DELETE", f"api/workspace/sessions/{other['id']}")
    assert code == 200, body
    listed = [k["id"] for k in json.loads((await jp_fetch("api", "kernels")).body)]
    assert theirs["kernel"]["id"] not in listed and mine["kernel"]["id"] in listed


async def test_bad_input_is_an_error_claude_can_read(sse, nb_session, fake, tmp_path):
    worktree = Path(nb_session["worktree_path"])
    (worktree / "broken.ipynb").write_text('{"cells": [')
    (worktree / "plain.ipynb").write_text('{"just": "json"}')
    outside = tmp_path / "outside.ipynb"
    write_notebook(outside, new_code_cell("print('outside')"))
    (worktree / "link.ipynb").symlink_to(outside)
    calls = [
        (f"{TOOL}read_notebook", {"path": str(outside)}, "outside the session's worktree"),
        (f"{TOOL}read_notebook", {"path": "link.ipynb"}, "outside the session's worktree"),
        (f"{TOOL}edit_cell", {"path": "../x.ipynb", "index": 0, "source": ""}, "outside"),
        (f"{TOOL}run_cell", {"path": "analysis.ipynb", "index": 7}, "no cell at index 7"),
        (f"{TOOL}run_cell", {"path": "analysis.ipynb", "cell_id": "nope"}, "no cell with id"),
        (f"{TOOL}run_cell", {"path": "analysis.ipynb", "index": 0}, "markdown cell"),
        (f"{TOOL}read_notebook", {"path": "broken.ipynb"}, "not valid JSON"),
        (f"{TOOL}read_notebook", {"path": "plain.ipynb"}, "not a notebook"),
        (f"{TOOL}read_notebook", {"path": "README.md"}, "not a notebook"),
        (f"{TOOL}read_notebook", {"path": "missing.ipynb"}, "no notebook at"),
        (f"{TOOL}move_cell", {"path": "analysis.ipynb", "from": 0, "to": 9}, "no cell at index 9"),
        (f"{TOOL}execute", {"code": "1", "timeout": 999999}, "'timeout' must be"),
    ]
    events = await trusted(sse, nb_session, fake, *(tool_use(n, i) for n, i, _ in calls))
    assert errors(events) == [True] * len(calls)
    for (name, _, expected), said in zip(calls, received(fake), strict=True):
        assert expected.lower() in said.lower(), (name, said)
    assert "outside" not in (worktree / "analysis.ipynb").read_text()
    assert (worktree / "broken.ipynb").read_text() == '{"cells": [', "a bad file is left alone"


async def test_code_that_never_ends_times_out_and_the_kernel_stays_usable(sse, session, fake):
    events = await trusted(
        sse,
        session,
        fake,
        tool_use(f"{TOOL}execute", {"code": "kept = 'yes'"}),
        tool_use(
            f"{TOOL}execute", {"code": "import time\nwhile True: time.sleep(0.1)", "timeout": 2}
        ),
        tool_use(f"{TOOL}execute", {"code": "print('still here', kept)"}),
    )
    assert errors(events) == [False, True, False]
    _, timed_out, after = received(fake)
    assert "did not finish within 2 seconds" in timed_out and "KeyboardInterrupt" in timed_out
    assert "still here yes" in after


async def test_a_kernel_that_dies_mid_run_is_reported_and_restarted(api, sse, session, fake):
    events = await trusted(
        sse,
        session,
        fake,
        tool_use(f"{TOOL}execute", {"code": "before = 1"}),
        tool_use(f"{TOOL}execute", {"code": "import os; os._exit(1)"}),
        tool_use(f"{TOOL}execute", {"code": "print(6 * 7); print('before' in dir())"}),
    )
    assert errors(events) == [False, True, False]
    _, died, after = received(fake)
    assert "kernel died" in died
    assert "42" in after and "False" in after, "a fresh kernel: the old variables are gone"
    _, body, _ = await api("GET", kernel_path(session))
    assert body["kernel"]["execution_state"] in ("idle", "busy", "starting")


async def test_stop_interrupts_code_running_in_the_kernel(api, sse, session, fake):
    fake.add(
        tool_use(f"{TOOL}execute", {"code": "import time\ntime.sleep(120)", "timeout": 300})
    )  # nothing after it: a stopped turn asks the model nothing more
    stream = await chat(sse, session, "Sleep", permission_mode="trusted")
    await stream.until("tool_use")
    for _ in range(100):  # until the code runs in the kernel
        _, body, _ = await api("GET", kernel_path(session))
        if body["kernel"] and body["kernel"]["running_claude_code"]:
            break
        await asyncio.sleep(0.1)
    assert body["kernel"]["running_claude_code"]
    code, _, _ = await api("POST", chat_path(session, "/cancel"))
    assert code == 200
    events = await stream.rest()
    assert events[-1][1]["stop_reason"] == "cancelled"
    for _ in range(50):
        _, body, _ = await api("GET", kernel_path(session))
        if not body["kernel"]["running_claude_code"]:
            break
        await asyncio.sleep(0.1)
    assert body["kernel"]["running_claude_code"] is False, "the sleep was interrupted"
    # the kernel answers at once
    events = await trusted(sse, session, fake, tool_use(f"{TOOL}execute", {"code": "6 * 7"}))
    assert errors(events) == [False] and "42" in received(fake)[-1]


async def test_the_kernel_routes(api, sse, session, fake, lawless_app, jp_fetch):
    assert (await api("GET", kernel_path(session)))[1] == {"kernel": None}
    code, body, _ = await api("POST", kernel_path(session, "/restart"))
    assert code == 404 and "no kernel" in body["error"]
    assert (await api("DELETE", kernel_path(session)))[0] == 404
    assert (await api("GET", "api/workspace/sessions/nope/kernel"))[0] == 404
    code, body, _ = await api("POST", kernel_path(session, "/restart"), {"junk": 1})
    assert code == 400

    await trusted(sse, session, fake, tool_use(f"{TOOL}execute", {"code": "value = 5"}))
    _, body, _ = await api("GET", kernel_path(session))
    kernel = body["kernel"]
    assert kernel["name"] == "python3" and kernel["running_claude_code"] is False
    # another client of the server's own (another extension, Jupyter's restart) on the
    # same kernel does not take Claude's replies away
    other = lawless_app.serverapp.kernel_manager.get_kernel(kernel["id"]).client()
    other.start_channels()
    await other.wait_for_ready(timeout=30)
    reply = await other.execute_interactive("value = 6", timeout=30, output_hook=lambda m: None)
    assert reply["content"]["status"] == "ok"
    other.stop_channels()
    await trusted(sse, session, fake, tool_use(f"{TOOL}execute", {"code": "value * 7"}))
    assert "42" in received(fake)[-1]

    code, body, _ = await api("POST", kernel_path(session, "/restart"))
    assert code == 200 and body["kernel"]["id"] == kernel["id"]
    events = await trusted(sse, session, fake, tool_use(f"{TOOL}execute", {"code": "value"}))
    assert errors(events) == [True] and "NameError" in received(fake)[-1], "restarted: fresh"

    # another person's session is not found, whatever its kernel
    with pytest.raises(NotFound):
        await lawless_app.kernels.describe("someone-else", session["id"])
    with pytest.raises(NotFound):
        await lawless_app.kernels.shut_down("someone-else", session["id"])
    assert kernel["id"] in [k["id"] for k in json.loads((await jp_fetch("api", "kernels")).body)]

    code, body, _ = await api("DELETE", kernel_path(session))
    assert code == 200 and body["kernel"]["id"] == kernel["id"]
    assert (await api("GET", kernel_path(session)))[1] == {"kernel": None}
    listed = [k["id"] for k in json.loads((await jp_fetch("api", "kernels")).body)]
    assert kernel["id"] not in listed


# a 1x1 PNG
PNG = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5E"
    "rkJggg=="
)


async def test_images_come_back_as_images_and_long_output_is_cut(sse, session, fake):
    show = (
        "import base64\nfrom IPython.display import Image, display\n"
        f"png = base64.b64decode('{PNG}')\n"
        "for _ in range(6): display(Image(data=png))\n"
        "print('x' * 30000)"
    )
    events = await trusted(sse, session, fake, tool_use(f"{TOOL}execute", {"code": show}))
    assert errors(events) == [False]
    block = tool_results(fake)[0]
    images = [part for part in block["content"] if part.get("type") == "image"]
    assert len(images) == 4, "at most 4 images"
    assert images[0]["source"]["data"] == PNG and images[0]["source"]["media_type"] == "image/png"
    shown = next(d for _, d in events if d["type"] == "tool_result")["images"]
    assert shown == [{"media_type": "image/png", "data": PNG}] * 4, "the panel shows them"
    said = result_text(block)
    assert "2 more images not shown" in said
    assert "more characters not shown" in said and said.count("x") < 21_000


async def test_start_up_adopts_live_kernels_and_ends_the_rest(
    api, sse, session, fake, lawless_app, jp_fetch
):
    other = await api.create(name="other")
    await trusted(sse, session, fake, tool_use(f"{TOOL}execute", {"code": "kept = 'still'"}))
    await trusted(sse, other, fake, tool_use(f"{TOOL}execute", {"code": "1"}))
    _, mine, _ = await api("GET", kernel_path(session))
    _, theirs, _ = await api("GET", kernel_path(other))
    # a kernel process a crashed server left behind: not known to Jupyter any more
    orphan = AsyncKernelManager(kernel_name="python3")
    await orphan.start_kernel()
    pid = orphan.provisioner.pid
    await lawless_app.store.kernels.record(
        "a-session-of-before", "gone", "python3", pid, psutil.Process(pid).create_time()
    )
    # as after a restart: nothing in memory, and "other" was deleted meanwhile
    lawless_app.kernels._kernels.clear()
    store = lawless_app.store
    await store.transition_session(other["id"], ["active"], "deleting")
    await store.transition_session(other["id"], ["deleting"], "deleted")

    report = await lawless_app.kernels.reconcile()
    assert report == {
        "adopted": [mine["kernel"]["id"]],
        "shut_down": [theirs["kernel"]["id"]],
        "ended": ["gone"],
    }
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    listed = [k["id"] for k in json.loads((await jp_fetch("api", "kernels")).body)]
    assert mine["kernel"]["id"] in listed and theirs["kernel"]["id"] not in listed
    # the adopted kernel is the session's kernel still: its variables are there
    await trusted(sse, session, fake, tool_use(f"{TOOL}execute", {"code": "print(kept)"}))
    assert "still" in received(fake)[-1]
    await orphan.cleanup_resources()


async def test_an_idle_kernel_is_shut_down(api, sse, session, fake, lawless_app, jp_fetch):
    await trusted(sse, session, fake, tool_use(f"{TOOL}execute", {"code": "1"}))
    _, body, _ = await api("GET", kernel_path(session))
    assert await lawless_app.kernels.close_idle() == 0, "just used"
    lawless_app.kernels.settings.idle_timeout = 0.5
    await asyncio.sleep(1.0)
    assert await lawless_app.kernels.close_idle() == 1
    assert (await api("GET", kernel_path(session)))[1] == {"kernel": None}
    listed = [k["id"] for k in json.loads((await jp_fetch("api", "kernels")).body)]
    assert body["kernel"]["id"] not in listed
    # the next run starts a fresh one
    events = await trusted(sse, session, fake, tool_use(f"{TOOL}execute", {"code": "6 * 7"}))
    assert errors(events) == [False] and "42" in received(fake)[-1]


@pytest.fixture
def worktree(tmp_path) -> Path:
    (tmp_path / "wt").mkdir()
    return tmp_path / "wt"


@pytest.mark.parametrize(
    ("mode", "execute", "edit", "read"),
    [
        ("default", "ask", "allow", "allow"),  # code asks like Bash, cell edits like Edit
        ("ask", "ask", "ask", "allow"),
        ("read_only", "deny", "deny", "allow"),
        ("trusted", "allow", "allow", "allow"),
    ],
)
def test_the_policy_of_the_notebook_tools(worktree, mode, execute, edit, read):
    policy = PermissionPolicy(mode)
    nb = {"path": "a.ipynb"}
    assert policy.decide(f"{TOOL}execute", {"code": "1"}, worktree)[0] == execute
    assert policy.decide(f"{TOOL}run_cell", {**nb, "index": 0}, worktree)[0] == execute
    for name in ("edit_cell", "insert_cell", "delete_cell", "move_cell"):
        assert policy.decide(f"{TOOL}{name}", nb, worktree)[0] == edit, name
    assert policy.decide(f"{TOOL}read_notebook", nb, worktree)[0] == read
    outside = {"path": "../elsewhere.ipynb"}
    assert policy.decide(f"{TOOL}read_notebook", outside, worktree)[0] == "deny"
    assert policy.decide(f"{TOOL}run_cell", outside, worktree)[0] == "deny"


def test_one_rule_means_run_code_in_this_sessions_kernel(worktree):
    rule = rule_for(f"{TOOL}run_cell", {"path": "a.ipynb", "index": 0})
    assert rule == rule_for(f"{TOOL}execute", {"code": "print(1)"}) == f"{TOOL}execute"
    assert rule_matches(rule, f"{TOOL}execute", {"code": "anything at all"})
    assert rule_matches(rule, f"{TOOL}run_cell", {"path": "b.ipynb", "index": 3})
    assert not rule_matches(rule, "Bash", {"command": "python -c 1"}), "not the shell"
    assert not rule_matches(rule, f"{TOOL}edit_cell", {"path": "a.ipynb"})
    policy = PermissionPolicy("default", remembered={rule})
    assert policy.decide(f"{TOOL}execute", {"code": "1"}, worktree)[0] == "allow"
    assert policy.decide("Bash", {"command": "ls"}, worktree)[0] == "ask"


@pytest.mark.parametrize(
    ("chat_config", "seen"),
    [({}, "inherited"), ({"terminal_env": "allow_list"}, "None")],
    indirect=["chat_config"],
)
async def test_the_kernel_environment_follows_terminal_env(sse, session, fake, seen):
    """Like a session terminal: the server's environment, or Claude's allow-list."""
    code = (
        "import os\nprint(os.environ.get('LAWLESS_TEST_SECRET'), os.environ['LAWLESS_SESSION_ID'])"
    )
    await trusted(sse, session, fake, tool_use(f"{TOOL}execute", {"code": code}))
    assert f"{seen} {session['id']}" in received(fake)[-1]


async def test_a_notebook_names_a_kernel_this_session_cannot_use(sse, nb_session, fake):
    worktree = Path(nb_session["worktree_path"])
    write_notebook(worktree / "julia.ipynb", new_code_cell("1 + 1"), kernel="no-such-kernel")
    calls = [  # before any kernel runs, then with the session's python3 kernel running
        tool_use(f"{TOOL}run_cell", {"path": "julia.ipynb", "index": 0}),
        tool_use(f"{TOOL}run_cell", {"path": "analysis.ipynb", "index": 1}),
        tool_use(f"{TOOL}run_cell", {"path": "julia.ipynb", "index": 0}),
    ]
    events = await trusted(sse, nb_session, fake, *calls)
    assert errors(events) == [True, False, True]
    missing, _, other = received(fake)
    assert "no Jupyter kernel named 'no-such-kernel'" in missing
    assert "kernel is 'python3' but the notebook uses 'no-such-kernel'" in other


async def test_a_kernel_shut_down_from_jupyter_is_started_again(api, sse, session, fake, jp_fetch):
    await trusted(sse, session, fake, tool_use(f"{TOOL}execute", {"code": "gone = 1"}))
    _, body, _ = await api("GET", kernel_path(session))
    await jp_fetch("api", "kernels", body["kernel"]["id"], method="DELETE")  # the Running panel
    assert (await api("GET", kernel_path(session)))[1] == {"kernel": None}
    events = await trusted(sse, session, fake, tool_use(f"{TOOL}execute", {"code": "6 * 7"}))
    assert errors(events) == [False]
    assert (
        "42" in received(fake)[-1]
        and "variables and imports from before are gone" in (received(fake)[-1])
    )
    _, again, _ = await api("GET", kernel_path(session))
    assert again["kernel"]["id"] != body["kernel"]["id"]
