"""``lawless_jupyter/openapi.yaml`` agrees with the route table and with what the server answers."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from claude_agent_sdk import (
    AssistantMessage,
    ResultMessage,
    StreamEvent,
    TextBlock,
    ThinkingBlock,
    ToolResultBlock,
    ToolUseBlock,
    UserMessage,
)
from openapi_schema_validator import OAS30Validator, oas30_format_checker
from openapi_spec_validator import validate as validate_spec

import lawless_jupyter
from lawless_jupyter.chat.events import translate
from lawless_jupyter.handlers import ROUTES

SPEC_FILE = Path(lawless_jupyter.__file__).parent / "openapi.yaml"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
HANDLER_METHODS = ("get", "post", "put", "delete", "patch")
SESSION = "/api/workspace/sessions/{session_id}"


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return yaml.safe_load(SPEC_FILE.read_text())


def spec_path(route: str) -> str:
    """``api/x/(?P<session_id>[^/]+)/y`` -> ``/api/x/{session_id}/y``."""
    path = "/" + re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", route)
    assert not re.search(r"[()\[\]\\^$*+?|]", path), f"route {route!r} has an unnamed pattern"
    return path


def implemented_methods(handler: type) -> set[str]:
    """The HTTP methods a handler defines itself or inherits from a lawless base class
    (tornado's and Jupyter's placeholders do not count)."""
    return {
        method
        for klass in handler.__mro__
        if klass.__module__.startswith("lawless_jupyter.")
        for method in HANDLER_METHODS
        if method in vars(klass)
    }


def test_every_route_and_method_is_in_the_spec(spec):
    routes = {spec_path(route): handler for route, handler in ROUTES}
    assert len(routes) == len(ROUTES), "two routes map to the same spec path"
    documented_paths = set(spec["paths"])
    assert not routes.keys() - documented_paths, "routes missing from openapi.yaml"
    assert not documented_paths - routes.keys(), "paths in openapi.yaml that no route serves"

    mismatches = {}
    for path, handler in routes.items():
        implemented = implemented_methods(handler)
        assert implemented, f"{handler.__name__} implements no HTTP method"
        documented = {m for m in spec["paths"][path] if m in HTTP_METHODS}
        if implemented != documented:
            mismatches[path] = {
                "implemented, not documented": sorted(implemented - documented),
                "documented, not implemented": sorted(documented - implemented),
            }
    assert not mismatches, mismatches


def test_the_routes_that_honour_an_idempotency_key_say_so(spec):
    """``@idempotent`` handlers, and only they, list the ``Idempotency-Key`` header."""
    key = {"$ref": "#/components/parameters/IdempotencyKey"}
    mismatches = []
    for route, handler in ROUTES:
        for method in implemented_methods(handler):
            honours = getattr(getattr(handler, method), "honours_idempotency_key", False)
            operation = spec["paths"][spec_path(route)][method]
            if honours != (key in operation.get("parameters", [])):
                mismatches.append((method.upper(), route, honours))
    assert not mismatches, mismatches


def test_the_spec_is_valid_openapi(spec):
    assert spec["openapi"] == "3.0.3"
    validate_spec(spec)
    assert spec["info"]["version"] == lawless_jupyter.__version__
    assert spec["paths"]["/health"]["get"]["security"] == []


# -- live responses against the spec ---------------------------------------------------------


class SpecChecker:
    """Validates bodies against the spec's schemas, $refs inlined. Response objects are
    closed (``additionalProperties: false`` unless the spec says otherwise), so a field the
    server sends but the spec does not document fails too."""

    def __init__(self, spec: dict[str, Any]):
        self.spec = spec

    def ref(self, node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            target: Any = self.spec
            for part in node["$ref"].removeprefix("#/").split("/"):
                target = target[part]
            node = target
        return node

    def inline(self, node: Any, closed: bool = True) -> Any:
        if isinstance(node, list):
            return [self.inline(n) for n in node]
        if not isinstance(node, dict):
            return node
        if "$ref" in node:
            return self.inline(self.ref(node), closed)
        out = {}
        for key, value in node.items():
            if key == "discriminator":  # its mapping points into the spec, gone once inlined;
                continue  # the variants' `type` enums make the oneOf exact anyway
            if key == "properties":
                out[key] = {name: self.inline(s) for name, s in value.items()}
            elif key == "allOf":  # parts of one object: only the whole may be closed
                out[key] = [self.inline(part, closed=False) for part in value]
            else:
                out[key] = self.inline(value)
        if closed and "properties" in out:
            out.setdefault("additionalProperties", False)
        return out

    def validate(self, instance: Any, schema: dict[str, Any], what: str) -> None:
        validator = OAS30Validator(self.inline(schema), format_checker=oas30_format_checker)
        errors = [
            f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
            for e in validator.iter_errors(instance)
        ]
        assert not errors, f"{what} does not match the spec:\n" + "\n".join(errors)

    def operation(self, path: str, method: str) -> dict[str, Any]:
        return self.spec["paths"][path][method.lower()]

    def request(self, path: str, method: str, body: Any, params: dict[str, str]) -> None:
        operation = self.operation(path, method)
        parameters = [
            self.ref(p)
            for p in self.spec["paths"][path].get("parameters", [])
            + operation.get("parameters", [])
        ]
        query = {p["name"] for p in parameters if p["in"] == "query"}
        assert set(params) <= query, f"{method} {path}: undocumented query {set(params) - query}"
        if body is not None:
            schema = operation["requestBody"]["content"]["application/json"]["schema"]
            self.validate(body, schema, f"the request body of {method} {path}")

    def response(self, path: str, method: str, code: int, body: Any, headers: Any) -> None:
        what = f"{method} {path} -> {code}"
        responses = self.operation(path, method)["responses"]
        assert str(code) in responses, f"{what}: status not documented"
        response = self.ref(responses[str(code)])
        for name in response.get("headers", {}):
            assert name in headers, f"{what}: header {name} missing"
        assert headers["Content-Type"].startswith("application/json"), what
        schema = response["content"]["application/json"]["schema"]
        self.validate(body, schema, what)


@pytest.mark.parametrize("lawless_config", [{"max_sessions_per_repo": 1}])
async def test_live_responses_match_the_spec(api, repo, spec):
    checker = SpecChecker(spec)

    async def call(
        method: str,
        template: str,
        expected: int,
        body: Any = None,
        params: dict[str, str] | None = None,
        path: dict[str, str] | None = None,
        **kw: Any,
    ) -> Any:
        if expected < 400:  # error cases send bad input on purpose
            checker.request(template, method, body, params or {})
        url = template.format(session_id=session_id, **(path or {})).removeprefix("/")
        code, data, response = await api(method, url, body, params=params, **kw)
        assert code == expected, (method, url, data)
        checker.response(template, method, code, data, response.headers)
        return data

    session_id = "not-yet"
    await call("GET", "/health", 200)
    await call("GET", "/version", 200)
    await call("GET", "/version", 403, headers={"Authorization": ""})
    await call("POST", "/api/workspace/sessions", 400, {"repo": "project", "colour": "red"})

    session = (await call("POST", "/api/workspace/sessions", 201, {"repo": "project"}))["session"]
    session_id = session["id"]
    await call("POST", "/api/workspace/sessions", 429, {"repo": "project", "name": "second"})
    assert (await call("GET", SESSION, 200))["session"] == session
    listed = await call("GET", "/api/workspace/sessions", 200, params={"repo": "project"})
    assert [s["id"] for s in listed["sessions"]] == [session_id]

    worktree = Path(session["worktree_path"])
    (worktree / "src" / "app.py").write_text("x = 2\n")
    (worktree / "notes.txt").write_text("hello\n")
    status = await call("GET", f"{SESSION}/git/status", 200)
    assert {f["path"]: f["status"] for f in status["files"]} == {
        "src/app.py": "modified",
        "notes.txt": "untracked",
    }
    diff = await call("GET", f"{SESSION}/git/diff", 200)
    assert {f["path"] for f in diff["files"]} == {"src/app.py", "notes.txt"}
    await call("GET", f"{SESSION}/git/diff", 400, params={"against": "yesterday"})

    commit = await call("POST", f"{SESSION}/git/commit", 201, {"message": "spec check"})
    assert sorted(commit["commit"]["files"]) == ["notes.txt", "src/app.py"]
    await call("POST", f"{SESSION}/git/commit", 409, {"message": "again"})
    log = await call("GET", f"{SESSION}/git/log", 200, params={"limit": "5"})
    assert [c["sha"] for c in log["commits"]] == [commit["commit"]["sha"]]
    await call("GET", f"{SESSION}/git/diff", 200, params={"against": "head"})
    await call("POST", f"{SESSION}/git/merge", 200, {"strategy": "squash"})

    # chat and terminals, as far as they go without Claude or a terminal process
    history = await call("GET", f"{SESSION}/messages", 200, params={"after": "0", "limit": "50"})
    assert history["messages"] == [] and history["next_after"] is None
    await call("GET", f"{SESSION}/messages", 400, params={"limit": "0"})
    await call("GET", f"{SESSION}/chat/stream", 404)  # no turn since the server started
    await call("POST", f"{SESSION}/chat/cancel", 409)  # no turn running
    await call(
        "POST",
        f"{SESSION}/chat/approvals/{{request_id}}",
        404,
        {"decision": "allow"},
        path={"request_id": "unknown"},
    )
    await call("POST", f"{SESSION}/chat", 400, {"message": "  "})
    await call("POST", "/api/chat", 400, {"message": "hi", "model": "x"})
    await call("POST", "/api/chat", 404, {"message": "hi", "conversation_id": "nope"})
    assert (await call("GET", f"{SESSION}/terminals", 200))["terminals"] == []
    await call("GET", f"{SESSION}/terminals/{{name}}/output", 404, path={"name": "nope"})
    await call("GET", "/api/terminal/config", 200)
    quota = await call("GET", "/api/user/quota", 200)
    assert quota["sessions_per_repo"] == {"limit": 1}
    assert 0 < quota["api_requests"]["remaining"] < quota["api_requests"]["limit"]
    assert quota["chat_messages"]["remaining"] == quota["chat_messages"]["limit"]

    deleted = await call("DELETE", SESSION, 200, params={"force": "true"})
    assert deleted["session"]["state"] == "deleted"
    await call("GET", SESSION, 404)
    await call("GET", f"{SESSION}/messages", 404)
    activity = await call("GET", "/api/user/activity", 200, params={"limit": "10"})
    assert [a["kind"] for a in activity["activity"]][:2] == ["session.deleted", "session.created"]


@pytest.mark.parametrize("lawless_config", [{"api_requests_per_hour": 2}])
async def test_the_api_request_quota_matches_the_spec(api, spec):
    checker = SpecChecker(spec)
    for _ in range(2):
        code, body, response = await api("GET", "api/user/quota")
        assert code == 200, body
        checker.response("/api/user/quota", "GET", code, body, response.headers)
    assert body["api_requests"]["remaining"] == 0
    code, body, response = await api("GET", "version")
    assert code == 429, body
    checker.response("/version", "GET", code, body, response.headers)
    assert response.headers["Retry-After"] == str(body["retryAfter"])


def test_chat_events_and_history_match_the_spec(spec):
    """What ``events.translate`` makes of Claude's messages is a ``ChatEvent`` on the stream
    and a ``ChatMessage`` content in the history (the service's own start, approval_request,
    error and done events are checked by the chat tests' shapes only)."""
    checker = SpecChecker(spec)
    messages = [
        StreamEvent(
            "u1",
            "s",
            {"type": "content_block_delta", "delta": {"type": "text_delta", "text": "Hi"}},
        ),
        StreamEvent(
            "u2",
            "s",
            {"type": "content_block_delta", "delta": {"type": "thinking_delta", "thinking": "Hm"}},
        ),
        AssistantMessage(
            [
                ThinkingBlock("Hm", "sig"),
                TextBlock("Hi"),
                ToolUseBlock("tu1", "Bash", {"command": "ls"}),
            ],
            "claude",
        ),
        UserMessage([ToolResultBlock("tu1", [{"type": "text", "text": "a.py"}], False)]),
        UserMessage(  # a notebook tool's plot
            [
                ToolResultBlock(
                    "tu2",
                    [
                        {"type": "text", "text": "[image 1: image/png]"},
                        {
                            "type": "image",
                            "source": {"type": "base64", "media_type": "image/png", "data": "iVBO"},
                        },
                    ],
                    False,
                )
            ]
        ),
        AssistantMessage([TextBlock("slow down")], "claude", error="rate_limit"),
        ResultMessage("success", 12, 10, False, 1, "s", "end_turn", 0.01, {"input_tokens": 3}),
        ResultMessage("error_during_execution", 12, 10, True, 1, "s"),
    ]
    events, history = [], []
    for message in messages:
        translation = translate(message)
        events += translation.events
        history += translation.history
    assert {e["type"] for e in events} == {
        "text",
        "thinking",
        "tool_use",
        "tool_result",
        "error",
        "usage",
    }
    assert {role for role, _ in history} == {
        "thinking",
        "assistant",
        "tool_use",
        "tool_result",
        "error",
        "usage",
    }
    event_schema = {"$ref": "#/components/schemas/ChatEvent"}
    for event in events:
        checker.validate(event, event_schema, f"the {event['type']} event")
    roles = spec["components"]["schemas"]["ChatMessage"]["properties"]["role"]["enum"]
    for role, content in history:
        assert role in roles
        row = {
            "seq": 1,
            "id": "7d1c8a52-5f0e-4c0b-9a56-2f0e1f6f0a11",
            "turn_id": "0f8e5c0b9d2a4e7f8a1b2c3d4e5f6a7b",
            "role": role,
            "content": content,
            "created_at": "2024-01-01T00:00:00.000000Z",
        }
        checker.validate(row, {"$ref": "#/components/schemas/ChatMessage"}, f"a {role} message")
