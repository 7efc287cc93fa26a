"""Benchmark: clone and push through the GitHub connection vs plain git, and the vault.

What it does (figures in benchmarks/README.md):

1. Starts the fake GitHub (``tests/fake_github.py``: real git smart HTTP through
   ``git http-backend`` behind token auth) holding a repository of ``--files`` small files.
2. Clone: ``--n`` rounds (after one warm-up, order alternating) of
   ``ConnectionsService.clone`` (vault open, token to git through ``GIT_CONFIG_*``, GitPython
   in a thread, activity row) vs ``git -c http.extraHeader=... clone`` of the same URL.
3. Push: a one-file commit pushed ``--n`` times from a session through
   ``ConnectionsService.push`` vs ``git push`` with the same header from a plain clone.
4. The vault: seal and open of a token, microseconds per operation.

Run: ``.venv/bin/python benchmarks/bench_github.py --n 10``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import logging
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lawless_jupyter.connections import (  # noqa: E402
    ConnectionSettings,
    ConnectionsService,
    GitHubSettings,
)
from lawless_jupyter.connections.github import TokenGrant  # noqa: E402
from lawless_jupyter.store import Store  # noqa: E402
from lawless_jupyter.vault import Vault, new_key_entry, parse_keys  # noqa: E402
from lawless_jupyter.workspace import Author, WorkspaceService, WorkspaceSettings  # noqa: E402
from tests.fake_github import FakeGitHub  # noqa: E402

USER = "bench"
IDENTITY = {
    "GIT_AUTHOR_NAME": "Bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "Bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
}


def git(cwd: Path, *args: str, env: dict[str, str] | None = None) -> None:
    subprocess.run(
        ["git", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        env={**IDENTITY, **(env or {}), "PATH": "/usr/bin:/bin"},
    )


def make_source(path: Path, files: int) -> Path:
    path.mkdir(parents=True)
    git(path, "init", "--quiet", "--initial-branch=main")
    for i in range(files):
        folder = path / f"pkg{i % 20}"
        folder.mkdir(exist_ok=True)
        (folder / f"mod{i}.py").write_text(f"VALUE = {i}\n\n\ndef f():\n    return {i}\n")
    git(path, "add", "--all")
    git(path, "commit", "--quiet", "-m", "initial")
    return path


def median_ms(values: list[float]) -> float:
    return statistics.median(values) * 1000


async def run(n: int, files: int, tmp: Path) -> dict[str, float]:
    github = FakeGitHub(tmp / "github-git").start()
    github.add_repo(USER, "repo", make_source(tmp / "source", files))
    root = tmp / "root"
    root.mkdir()
    store = Store(tmp / "state" / "lawless.db")
    await store.open()
    workspace = WorkspaceService(
        store, WorkspaceSettings(root_dir=root, worktrees_dir=root / "lawless-worktrees")
    )
    service = ConnectionsService(
        store,
        Vault(parse_keys(new_key_entry())),
        workspace,
        ConnectionSettings(
            github=GitHubSettings(web_url=github.url, api_url=github.api_url), hub_user=USER
        ),
        logging.getLogger("bench"),
    )
    token = github.issue_token(USER)
    await service._put(
        USER, "github", TokenGrant(token, None, None, None, ""), account=USER, account_id=1
    )
    header = "Authorization: Basic " + base64.b64encode(f"x-access-token:{token}".encode()).decode()
    url = f"{github.url}/{USER}/repo.git"
    raw_env = {"GIT_TERMINAL_PROMPT": "0"}
    plain = tmp / "plain"
    plain.mkdir()

    ext_clone: list[float] = []
    raw_clone: list[float] = []
    for i in range(n + 1):
        for first in ("ext", "raw") if i % 2 else ("raw", "ext"):
            start = time.perf_counter()
            if first == "ext":
                await service.clone(USER, f"{USER}/repo", None, f"clones/ext{i}")
                (ext_clone if i else []).append(time.perf_counter() - start)
            else:
                git(
                    plain,
                    "-c",
                    f"http.extraHeader={header}",
                    "clone",
                    "--quiet",
                    url,
                    f"raw{i}",
                    env=raw_env,
                )
                (raw_clone if i else []).append(time.perf_counter() - start)

    # push: a session on the first extension clone, a plain clone for the baseline
    session = await workspace.create(USER, "clones/ext0")
    worktree = Path(session["worktree_path"])
    author = Author("Bench", "bench@example.com")
    baseline = plain / "raw0"
    git(baseline, "checkout", "--quiet", "-b", "raw-branch")
    ext_push: list[float] = []
    raw_push: list[float] = []
    for i in range(n + 1):
        (worktree / "change.txt").write_text(f"{i}\n")
        await workspace.commit(USER, session["id"], f"change {i}", None, author)
        (baseline / "change.txt").write_text(f"{i}\n")
        git(baseline, "add", "--all")
        git(baseline, "commit", "--quiet", "-m", f"change {i}")
        start = time.perf_counter()
        await service.push(USER, session["id"])
        (ext_push if i else []).append(time.perf_counter() - start)
        start = time.perf_counter()
        git(
            baseline,
            "-c",
            f"http.extraHeader={header}",
            "push",
            "--quiet",
            "origin",
            "raw-branch",
            env=raw_env,
        )
        (raw_push if i else []).append(time.perf_counter() - start)

    vault = Vault(parse_keys(new_key_entry()))
    rounds = 20000
    start = time.perf_counter()
    sealed = [vault.seal(token, user_id=USER, provider="github") for _ in range(rounds)]
    seal_us = (time.perf_counter() - start) / rounds * 1e6
    start = time.perf_counter()
    for s in sealed:
        vault.open(s, user_id=USER, provider="github")
    open_us = (time.perf_counter() - start) / rounds * 1e6

    await service.close()
    await store.close()
    github.stop()
    return {
        "clone_ext_ms": median_ms(ext_clone),
        "clone_raw_ms": median_ms(raw_clone),
        "clone_ratio": statistics.median(ext_clone) / statistics.median(raw_clone),
        "push_ext_ms": median_ms(ext_push),
        "push_raw_ms": median_ms(raw_push),
        "push_ratio": statistics.median(ext_push) / statistics.median(raw_push),
        "vault_seal_us": seal_us,
        "vault_open_us": open_us,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10)
    parser.add_argument("--files", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lawless-bench-github-") as tmp:
        result = asyncio.run(run(args.n, args.files, Path(tmp)))
    for key, value in result.items():
        print(f"{key:>15}: {value:10.2f}")


if __name__ == "__main__":
    main()
