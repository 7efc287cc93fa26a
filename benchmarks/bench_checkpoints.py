"""Benchmark: what recording a turn's checkpoint adds to the start of a chat turn.

Set-up: a repository of ``--files`` small files (``bench_sessions.make_repo``), a workspace
session made through ``WorkspaceService.create`` (in this process, with the extension's own
store), and ``--changed`` changes in its worktree: half edited tracked files (one of them
staged), half new untracked files.

Timed, ``--n`` rounds each, the order alternating so neither side always runs warmer:

- the hook the chat awaits before a turn starts (``RewindService._record_turn``: the next
  number, the checkpoint through ``WorkspaceService.checkpoint`` in a thread, the
  transcript's last entry, the ``turns`` row), each round a new numbered ref;
- baselines in the same process and worktree: ``git status --porcelain --untracked-files=all``
  (the least a turn start that looks at the worktree pays) and ``git stash create`` (git's
  own record of the worktree, without untracked files).

Meanwhile ``tests/loopwatch.py`` records every event-loop callback that held the loop
20 ms or more (CPU waits not counted), and a ticker records how late a 1 ms sleep wakes.

Run: ``.venv/bin/python benchmarks/bench_checkpoints.py`` (``--json`` for machine output).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import statistics
import subprocess
import sys
import tempfile
import time
import types
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests/ and benchmarks/ of the repository root

from benchmarks.bench_sessions import default_tmpdir, make_repo  # noqa: E402
from lawless_jupyter.chat import ChatService, ChatSettings  # noqa: E402
from lawless_jupyter.chat.rewind import RewindService  # noqa: E402
from lawless_jupyter.store import Store  # noqa: E402
from lawless_jupyter.store.transcripts import TranscriptStore  # noqa: E402
from lawless_jupyter.workspace import WorkspaceService, WorkspaceSettings, checkpoints  # noqa: E402
from lawless_jupyter.workspace.gitrepo import GitRepository  # noqa: E402
from tests.loopwatch import loop_holds  # noqa: E402

TARGET_ADDED_MS = 50.0
TARGET_BLOCK_MS = 20.0


def log(*parts: object) -> None:
    print(*parts, file=sys.stderr, flush=True)


def change(worktree: Path, n: int) -> None:
    """``n`` changes: half edited tracked files (the first one staged), half untracked."""
    tracked = sorted(worktree.glob("pkg*/mod*/part*/file*.py"))[: n // 2]
    for i, path in enumerate(tracked):
        path.write_text(path.read_text() + f"# edited {i}\n")
        if i == 0:
            subprocess.run(["git", "add", str(path)], cwd=worktree, check=True)
    for i in range(n - len(tracked)):
        (worktree / "pkg0" / f"new_{i}.py").write_text(f"NEW = {i}\n")


async def git_ms(worktree: Path, *args: str) -> float:
    """One git command, in a thread like the extension's (the loop stays free)."""
    started = time.perf_counter()
    await asyncio.to_thread(
        subprocess.run, ["git", *args], cwd=worktree, check=True, capture_output=True
    )
    return (time.perf_counter() - started) * 1000


async def run(args: argparse.Namespace, tmp: Path) -> dict:
    root = tmp / "root"
    root.mkdir()
    log(f"making a repository of {args.files} files in {tmp}")
    make_repo(root / "repo", args.files)
    store = Store(tmp / "state" / "lawless.db")
    await store.open()
    quiet = logging.getLogger("bench")
    quiet.setLevel(logging.WARNING)
    workspace = WorkspaceService(
        store, WorkspaceSettings(root_dir=root, worktrees_dir=root / "worktrees"), quiet
    )
    chat = ChatService(store, workspace, ChatSettings(), root, quiet)
    rewind = RewindService(store, workspace, chat, lambda user: TranscriptStore(store, user), quiet)
    session = await workspace.create("bench", "repo", name="bench")
    worktree = Path(session["worktree_path"])
    change(worktree, args.changed)
    status = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=worktree,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    log(f"worktree {worktree}: {len(status.splitlines())} changed paths")
    live = types.SimpleNamespace(
        session_id=session["id"], user_id="bench", conversation={"claude_session_id": None}
    )

    async def record() -> float:
        turn = types.SimpleNamespace(id=uuid.uuid4().hex)
        started = time.perf_counter()
        await rewind._record_turn(live, turn, "benchmark turn")
        return (time.perf_counter() - started) * 1000

    gitrepo = GitRepository(root / "repo")

    async def git_only() -> float:  # the git part of the hook: the checkpoint, no ref
        started = time.perf_counter()
        await asyncio.to_thread(checkpoints.record, gitrepo, worktree, None, "bench")
        return (time.perf_counter() - started) * 1000

    await record()  # warm-up: the first copy of the index, the first numbered ref
    await git_ms(worktree, "status", "--porcelain", "--untracked-files=all")
    await git_ms(worktree, "stash", "create")

    lags: list[float] = []
    stop = asyncio.Event()

    async def ticker() -> None:
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            before = loop.time()
            await asyncio.sleep(0.001)
            lags.append((loop.time() - before - 0.001) * 1000)

    checkpoint, git_part, status_ms, stash_ms = [], [], [], []
    with loop_holds(TARGET_BLOCK_MS / 1000) as holds:
        tick = asyncio.create_task(ticker())
        for i in range(args.n):
            if i % 2:
                checkpoint.append(await record())
                git_part.append(await git_only())
                status_ms.append(
                    await git_ms(worktree, "status", "--porcelain", "--untracked-files=all")
                )
                stash_ms.append(await git_ms(worktree, "stash", "create"))
            else:
                stash_ms.append(await git_ms(worktree, "stash", "create"))
                status_ms.append(
                    await git_ms(worktree, "status", "--porcelain", "--untracked-files=all")
                )
                git_part.append(await git_only())
                checkpoint.append(await record())
        stop.set()
        await tick
    after = (
        await asyncio.to_thread(
            subprocess.run,
            ["git", "status", "--porcelain", "--untracked-files=all"],
            cwd=worktree,
            capture_output=True,
            text=True,
            check=True,
        )
    ).stdout
    assert after == status, "a checkpoint changed the worktree or the index"
    turns = await store.turns.of_session(session["id"])
    await store.close()
    median = statistics.median
    return {
        "files": args.files,
        "changed": len(status.splitlines()),
        "n": args.n,
        "turns_recorded": len(turns),
        "checkpoint_ms": median(checkpoint),
        "checkpoint_p90_ms": sorted(checkpoint)[int(0.9 * (len(checkpoint) - 1))],
        "checkpoint_git_ms": median(git_part),
        "git_status_ms": median(status_ms),
        "git_stash_create_ms": median(stash_ms),
        "ratio_to_status": median(checkpoint) / median(status_ms),
        "ratio_to_stash_create": median(checkpoint) / median(stash_ms),
        "loop_held_max_ms": holds.worst() * 1000,
        "loop_holds_over_target": len(holds.slow),
        "loop_holds": [(round(held * 1000, 1), what[:200]) for held, what in holds.slow[:5]],
        "ticker_late_max_ms": max(lags, default=0.0),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--changed", type=int, default=50)
    parser.add_argument("--n", type=int, default=30)
    parser.add_argument("--tmpdir", default=default_tmpdir())
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lawless-bench-cp-", dir=args.tmpdir) as tmp:
        result = asyncio.run(run(args, Path(tmp)))
    log(
        f"checkpoint of {result['files']} files with {result['changed']} changes, "
        f"n={result['n']}: {result['checkpoint_ms']:.1f} ms median "
        f"(p90 {result['checkpoint_p90_ms']:.1f}; git alone {result['checkpoint_git_ms']:.1f}); "
        f"git status {result['git_status_ms']:.1f} ms "
        f"= {result['ratio_to_status']:.2f}x; git stash create "
        f"{result['git_stash_create_ms']:.1f} ms = {result['ratio_to_stash_create']:.2f}x; "
        f"loop held at most {result['loop_held_max_ms']:.1f} ms "
        f"({result['loop_holds_over_target']} holds >= {TARGET_BLOCK_MS:g} ms), "
        f"1 ms ticker late at most {result['ticker_late_max_ms']:.1f} ms"
    )
    met = result["checkpoint_ms"] <= TARGET_ADDED_MS and result["loop_holds_over_target"] == 0
    log(
        f"targets (<= {TARGET_ADDED_MS:g} ms added, no hold >= {TARGET_BLOCK_MS:g} ms): "
        f"{'met' if met else 'MISSED'}"
    )
    if args.json:
        print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
