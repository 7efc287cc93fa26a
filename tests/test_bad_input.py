"""Bad input gets a clear 4xx and leaves nothing behind: no worktree, branch or row."""

from __future__ import annotations

import json
import subprocess
import uuid

import pytest

from .conftest import git, git_snapshot, make_repo


@pytest.fixture
def nothing_left(api, repo, jp_root_dir, jp_asyncio_loop):
    """Checks after the test that the repository and the session list are as before."""
    before = git_snapshot(repo)
    yield
    assert git_snapshot(repo) == before
    code, body, _ = jp_asyncio_loop.run_until_complete(api("GET", "api/workspace/sessions"))
    assert code == 200 and body["sessions"] == []
    worktrees = jp_root_dir / "lawless-worktrees" / "project"
    assert not worktrees.exists() or not any(worktrees.iterdir())


async def post_session(api, payload):
    return await api("POST", "api/workspace/sessions", payload)


@pytest.mark.parametrize(
    "payload, expected",
    [
        ({"repo": "../outside"}, "'..'"),
        ({"repo": "project/../../etc"}, "'..'"),
        ({"repo": "/etc"}, "relative"),
        ({"repo": "nowhere"}, "There is no folder"),
        ({"repo": "plain"}, "not a git repository"),
        ({"repo": "project/src"}, "not its top folder"),
        ({"repo": "bare.git"}, "bare repository"),
        ({"repo": "empty"}, "no commits yet"),
        ({"repo": 42}, "'repo' must be"),
        ({}, "'repo' is required"),
        ({"repo": "project", "extra": 1}, "Unknown fields"),
        ({"repo": "project", "base": "does-not-exist"}, "not a branch, tag or commit"),
        ({"repo": "project", "base": "--upload-pack=touch /tmp/pwned"}, "starts with '-'"),
        ({"repo": "project", "base": "-b"}, "starts with '-'"),
        ({"repo": "project", "base": "main..other"}, "'..'"),
        ({"repo": "project", "base": "has space"}, "space"),
        ({"repo": "project", "base": "refs/heads/x.lock"}, ".lock"),
        ({"repo": "project", "base": "a@{1}"}, "@{"),
        ({"repo": "project", "base": 7}, "must be a string"),
        ({"repo": "project", "name": "x" * 200}, "longer than 80"),
        ({"repo": "project", "name": "bad\x07name"}, "control characters"),
        ({"repo": "project", "name": "'; DROP TABLE workspace_sessions; --"}, None),
    ],
)
async def test_bad_create_requests(api, repo, jp_root_dir, nothing_left, payload, expected):
    (jp_root_dir / "plain").mkdir()
    subprocess.run(["git", "init", "--quiet", "--bare", str(jp_root_dir / "bare.git")], check=True)
    subprocess.run(["git", "init", "--quiet", str(jp_root_dir / "empty")], check=True)
    code, body, _ = await post_session(api, payload)
    if expected is None:  # an odd but harmless name is stored as text, then cleaned up here
        assert code == 201, body
        assert body["session"]["name"] == payload["name"]
        code, _, _ = await api("DELETE", f"api/workspace/sessions/{body['session']['id']}")
        assert code == 200
        git(repo, "worktree", "prune")
        return
    assert code == 400, body
    assert body["code"] == "invalid_input"
    assert expected in body["error"], body
    assert "Traceback" not in json.dumps(body)


async def test_symlink_out_of_the_root_is_refused(api, repo, jp_root_dir, tmp_path, nothing_left):
    outside = make_repo(tmp_path / "outside-root")
    (jp_root_dir / "link").symlink_to(outside)
    code, body, _ = await post_session(api, {"repo": "link"})
    assert code == 400 and "outside the Jupyter root" in body["error"]
    assert git(outside, "worktree", "list").count("\n") == 1


@pytest.mark.parametrize(
    "raw, code_expected",
    [
        (b"{not json", 400),
        (b"[1, 2]", 400),
        (b'"a string"', 400),
        (b"[" * 100_000 + b"]" * 100_000, 400),
    ],
)
async def test_malformed_json(api, repo, nothing_left, raw, code_expected):
    code, body, _ = await api("POST", "api/workspace/sessions", raw)
    assert code == code_expected, body
    assert body["code"] == "invalid_input"


async def test_a_ten_megabyte_body_is_refused(api, repo, nothing_left):
    payload = json.dumps({"repo": "project", "name": "x" * (10 * 1024 * 1024)})
    code, body, _ = await api("POST", "api/workspace/sessions", payload)
    assert code == 413 and body["code"] == "payload_too_large"


@pytest.mark.parametrize("session_id", [str(uuid.uuid4()), "not-a-uuid", "%2E%2E", "1' OR '1'='1"])
async def test_unknown_session_ids(api, repo, session_id):
    for method, path in [
        ("GET", ""),
        ("DELETE", ""),
        ("GET", "/git/status"),
        ("GET", "/git/diff"),
        ("GET", "/git/log"),
        ("POST", "/git/commit"),
        ("POST", "/git/merge"),
    ]:
        body = {"message": "m"} if method == "POST" else None
        code, answer, _ = await api(method, f"api/workspace/sessions/{session_id}{path}", body)
        assert code == 404, (method, path, answer)
        assert answer["code"] == "not_found"


async def test_bad_query_and_git_arguments(api, repo):
    session = await api.create()
    sid = session["id"]
    cases = [
        ("GET", f"api/workspace/sessions/{sid}/git/diff", None, {"against": "elsewhere"}),
        ("GET", f"api/workspace/sessions/{sid}/git/log", None, {"limit": "many"}),
        ("GET", f"api/workspace/sessions/{sid}/git/log", None, {"limit": "0"}),
        ("DELETE", f"api/workspace/sessions/{sid}", None, {"force": "maybe"}),
        ("POST", f"api/workspace/sessions/{sid}/git/commit", {"message": ""}, None),
        ("POST", f"api/workspace/sessions/{sid}/git/commit", {"message": "m", "paths": "x"}, None),
        (
            "POST",
            f"api/workspace/sessions/{sid}/git/commit",
            {"message": "m", "paths": ["../x"]},
            None,
        ),
        (
            "POST",
            f"api/workspace/sessions/{sid}/git/commit",
            {"message": "m", "paths": ["/etc"]},
            None,
        ),
        ("POST", f"api/workspace/sessions/{sid}/git/merge", {"strategy": "octopus"}, None),
    ]
    for method, path, body, params in cases:
        code, answer, _ = await api(method, path, body, params=params)
        assert code == 400, (path, body, params, answer)
    code, answer, _ = await api("GET", f"api/workspace/sessions/{sid}")
    assert answer["session"]["state"] == "active", "bad requests change nothing"


@pytest.mark.parametrize(
    "method, path, allowed",
    [
        ("DELETE", "api/user/preferences", "GET, PUT"),
        ("PUT", "api/workspace/sessions", "GET, POST"),
        # the proxied terminal websocket answers the same way (before any upgrade)
        ("POST", "api/workspace/sessions/s1/terminals/1/websocket", "GET"),
    ],
)
async def test_a_method_a_route_does_not_have_says_which_it_has(api, method, path, allowed):
    code, body, response = await api(method, path, {} if method != "DELETE" else None)
    assert code == 405, body
    assert body["code"] == "http_405" and body["error"] and body["details"] == {}
    assert response.headers["Allow"] == allowed
    assert response.headers["Content-Type"].startswith("application/json")


async def test_the_activity_list_takes_a_limit_between_1_and_1000(api, repo):
    await api.create()
    await api.create()
    for limit in ("0", "1001", "-1"):
        code, body, _ = await api("GET", "api/user/activity", params={"limit": limit})
        assert code == 400 and "between 1 and 1000" in body["error"], (limit, body)
    code, body, _ = await api("GET", "api/user/activity", params={"limit": "1"})
    assert code == 200 and [a["kind"] for a in body["activity"]] == ["session.created"]
    code, body, _ = await api("GET", "api/user/activity")
    assert code == 200 and len(body["activity"]) == 2


async def test_numbers_written_with_other_digits_are_refused_not_a_500(api, repo):
    session = await api.create()
    sid = session["id"]
    for path, params in [
        ("api/user/activity", {"limit": "²"}),
        (f"api/workspace/sessions/{sid}/git/log", {"limit": "٣"}),
        (f"api/workspace/sessions/{sid}/messages", {"after": "²"}),
    ]:
        code, body, _ = await api("GET", path, params=params)
        assert code == 400, (path, body)
