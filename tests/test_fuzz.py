"""Property-based fuzzing of every route in ``openapi.yaml`` (schemathesis) against a live
server with a real repository and session: no 5xx, every response as the spec says, invalid
input refused, schema-valid input never answered with an undocumented status.

CI runs a short pass; ``LAWLESS_FUZZ_EXAMPLES=500`` (and more time) runs a long one."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import lawless_jupyter

from .conftest import make_repo
from .fake_github import FakeGitHub
from .fake_vercel import FakeVercel
from .servers import JupyterServer

SPEC = Path(lawless_jupyter.__file__).parent / "openapi.yaml"
EXAMPLES = int(os.environ.get("LAWLESS_FUZZ_EXAMPLES", "10"))

pytestmark = pytest.mark.timeout(900)

# The server checks meaning beyond the schema (the folder exists, the ref exists, the session
# is active): schema-valid input may rightly get a 400 or a 409 with a clear message, and a
# 422 when a generated Idempotency-Key comes again with another body.
CONFIG = """
[parameters]
"path.session_id" = "{session_id}"
"path.attempt_id" = "{attempt_id}"

[checks.positive_data_acceptance]
expected-statuses = ["2xx", "400", "401", "403", "404", "409", "413", "422", "429"]

# schemathesis' default list lacks 413: a body over max_body_bytes is refused as too large
[checks.negative_data_rejection]
expected-statuses = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "429"]

# deleting gets a session of its own, so the others keep theirs for the whole run
[[operations]]
include-name = "DELETE /api/workspace/sessions/{{session_id}}"
parameters = {{ "path.session_id" = "{doomed_id}" }}
"""


def report(output: str) -> str:
    """The failures (each cut short: fuzzed bodies can be megabytes) and the summary."""
    failures = output.partition("= FAILURES =")[2].partition("= WARNINGS =")[0]
    cases = re.split(r"\n(?=_{5,} )", failures)
    summary = output.partition("= SUMMARY =")[2]
    return "\n".join(case[:3000] for case in cases) + summary


@pytest.fixture
def github(tmp_path):
    with FakeGitHub(tmp_path / "github-git") as server:
        yield server


@pytest.fixture
def vercel():
    server = FakeVercel().start()
    yield server
    server.stop()


def test_every_route_survives_fuzzing(tmp_path, github, vercel):
    root = tmp_path / "root"
    make_repo(root / "project", {"README.md": "# fuzz\n", "src/app.py": "print('hi')\n"})
    server = JupyterServer(
        root,
        tmp_path / "server",
        # the fuzzer sends thousands of requests; the quota is tested elsewhere
        args=[
            "--LawlessApp.api_requests_per_hour=1000000",
            "--LawlessApp.chat_idle_timeout=5",
            # GitHub and Vercel are fakes on loopback (no network here): a fuzzed token is
            # refused by the fake as Vercel refuses it, never a 502 for lack of a network
            f"--LawlessApp.github_url={github.url}",
            f"--LawlessApp.github_api_url={github.api_url}",
            f"--LawlessApp.vercel_api_url={vercel.url}",
        ],
        # no Claude credentials: chat turns end at once with a clear error event
        env={"ANTHROPIC_API_KEY": "", "CLAUDE_CONFIG_DIR": str(tmp_path / "claude")},
    ).start()
    try:
        session, doomed = (
            server.call("POST", "api/workspace/sessions", {"repo": "project"})["session"]
            for _ in range(2)
        )
        attempt = server.call(
            "POST", "api/workspace/attempts", {"repo": "project", "prompt": "Hi", "n": 2}
        )["attempt"]
        config = tmp_path / "schemathesis.toml"
        config.write_text(
            CONFIG.format(
                session_id=session["id"], doomed_id=doomed["id"], attempt_id=attempt["id"]
            )
        )
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "schemathesis.cli",
                "--config-file",
                str(config),
                "run",
                str(SPEC),
                "--url",
                f"{server.url}lawless",
                "--header",
                f"Authorization: token {server.token}",
                "--checks",
                "all",
                # tests/test_auth.py covers authentication route by route
                "--exclude-checks",
                "ignored_auth",
                "--phases",
                "examples,coverage,fuzzing",
                "--max-examples",
                str(EXAMPLES),
                "--workers",
                "2",
                "--request-timeout",
                "60",
                "--no-color",
                "--seed",
                os.environ.get("LAWLESS_FUZZ_SEED", "20261126"),
            ],
            cwd=tmp_path,  # its example database
            capture_output=True,
            text=True,
            timeout=800,
        )
        (tmp_path / "schemathesis.out").write_text(result.stdout + result.stderr)
        assert result.returncode == 0, report(result.stdout) + result.stderr[-5000:]
        # the fuzzer reached past "no such session" everywhere but where 404 is the answer
        # (a session deleted once is gone; approvals exist only while Claude waits on one; a
        # device flow id exists only once GitHub started one, which needs an OAuth app)
        # (a session deleted once is gone; approvals exist only while Claude waits on one;
        # the terminal websocket of a session on a remote worker: this server has none)
        missing = result.stdout.partition("Missing test data")[2].partition(
            "\N{ELECTRIC LIGHT BULB}"
        )[0]
        starved = set(re.findall(r"^\s+- (\w+ /\S+)$", missing, re.M))
        assert starved <= {
            "DELETE /api/workspace/sessions/{session_id}",
            "DELETE /api/workspace/sessions/{session_id}/terminals/{name}",
            "POST /api/workspace/sessions/{session_id}/chat/approvals/{request_id}",
            "POST /api/auth/github/device/poll",
            "GET /api/workspace/sessions/{session_id}/terminals/{name}/websocket",
        }, result.stdout[-5000:]
        assert "Tested: 0" not in result.stdout
        # and the server is still whole afterwards
        assert server.call("GET", "health") == {"status": "ok"}
        log = server.log.read_text()
        assert "Traceback" not in log, log[-5000:]
    finally:
        server.stop()
