"""Benchmark: the panel's rendering of a streamed answer against the raw SSE arrival times
of the same turn, in the same page.

A real `jupyter lab` with the built extension (``tests/lab_server.py``), Debian's Chromium
driven by Playwright, Claude Code answering from the scripted fake Messages API
(``tests/fake_anthropic.py``, in this process).

Baseline: before the page loads, ``window.fetch`` is wrapped so the body of a chat stream is
``tee()``-d; one branch goes to the panel unchanged, the other is read by a loop of its own
that stamps each chunk with ``performance.now()`` as it arrives. That is when the browser
could have shown the bytes. The panel's side is observed from outside it: a
``MutationObserver`` notes when the new answer's text changes and a
``requestAnimationFrame`` callback stamps the frame that paints it.

Measures:

1. ``--turns`` short answers (``--short-deltas`` deltas, ``--short-delay`` s apart): from
   pressing Enter to the first text event arriving and to the first character painted, and
   to the last text event arriving and the last character painted (medians of each).
   Target: first paint under 50 ms after the first text event.
2. one answer of ``--big-deltas`` deltas sent as fast as the fake can: end-to-end time
   against the arrival of its last text event (ratio), long tasks (``PerformanceObserver``,
   > 50 ms), the largest gap between animation frames, how many times the answer's DOM changed
   (one per frame at most, not one per delta) and how many DOM changes touched the
   earlier messages of the conversation (should be none: no re-render of the history).

3. the main-area diff tab: from the click on Changes' "Open diff tab" (the
   ``lawless:open-diff`` command) to the first changed line of a ``--diff-lines``-line
   Python file (every line changed) painted in the side-by-side merge view; the first
   opening (its code is loaded then) and the median of ``--diff-opens`` more, each after
   closing the tab. Target: <= 300 ms.

Run: ``.venv/bin/python benchmarks/bench_ui.py`` (``--json`` for machine output).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.conftest import git  # noqa: E402
from tests.fake_anthropic import INHERITED_ENV, FakeAnthropic, text  # noqa: E402
from tests.lab_server import TOKEN, launch_chromium, running_lab  # noqa: E402

TARGET_FIRST_PAINT_MS = 50.0
TARGET_DIFF_TAB_MS = 300.0

# The diff tab's requests after the click: when each started and how long it took.
REQUESTS_SINCE_CLICK = r"""
() => {
  const b = window.__diffBench, requests = {};
  for (const e of performance.getEntriesByType('resource')) {
    const m = /git\/(diff|file-versions)\?/.exec(e.name);
    if (m && e.startTime >= b.clickAt) {
      requests[m[1]] = [e.startTime - b.clickAt, e.duration];
    }
  }
  return { ...b, requests };
}
"""

# The diff tab: the click that runs the command, then the frame painting its first line.
DIFF_TAB_WATCH = r"""
() => {
  const b = (window.__diffBench = { clickAt: null, paintAt: null, colourAt: null });
  performance.clearResourceTimings(); // the buffer (250 entries) fills up during the chat
  document.addEventListener('click', e => {
    if (b.clickAt === null && e.target.closest('[aria-label="Open the whole diff in a tab"]')) {
      b.clickAt = performance.now();
    }
  }, true);
  const line = () => document.querySelector('.jp-lawless-difftab .cm-merge-b .cm-changedLine');
  // the highlighter's classes are generated (style-mod): "ͼ" followed by a number
  const coloured = () => [...(line()?.querySelectorAll('span') ?? [])].some(
    s => /(^| )ͼ/.test(s.className) && !s.closest('.cm-gutters'));
  const observer = new MutationObserver(() => {
    if (b.clickAt === null) return;
    if (b.paintAt === null && line()) {
      b.paintAt = -1;
      requestAnimationFrame(() => { b.paintAt = performance.now(); });
    }
    if (b.colourAt === null && coloured()) {
      b.colourAt = -1;
      observer.disconnect();
      requestAnimationFrame(() => { b.colourAt = performance.now(); });
    }
  });
  observer.observe(document.body, { subtree: true, childList: true });
}
"""

# Runs in the page before JupyterLab: the raw arrival log and the observers.
INSTRUMENT = r"""
(() => {
  const bench = (window.__bench = {
    chunks: [], sendAt: null, before: 0, firstPaint: null, lastPaint: null,
    endText: null, answerChanges: 0, historyChanges: 0, longTasks: [], frames: []
  });
  const fetch0 = window.fetch.bind(window);
  window.fetch = async (input, init) => {
    const response = await fetch0(input, init);
    const url = typeof input === 'string' ? input : input.url;
    if (!/\/chat(\/stream)?(\?|$)/.test(url) || !response.body) {
      return response;
    }
    const [mine, panels] = response.body.tee();
    (async () => {
      const reader = mine.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        bench.chunks.push([performance.now(), value]);
      }
    })();
    return new Response(panels, {
      status: response.status, statusText: response.statusText, headers: response.headers
    });
  };
  document.addEventListener('keydown', e => {
    if (e.key === 'Enter' && e.target.getAttribute?.('aria-label') === 'Message to Claude') {
      bench.sendAt = performance.now();
    }
  }, true);
  const answers = () => document.querySelectorAll('.jp-lawless-assistant .jp-lawless-markdown');
  const observer = new MutationObserver(records => {
    if (bench.sendAt === null) return;
    const all = answers();
    const answer = all.length > bench.before ? all[all.length - 1] : null;
    for (const r of records) {
      const target = r.target.nodeType === 1 ? r.target : r.target.parentElement;
      const item = target && target.closest('.jp-lawless-messages > *');
      if (!item) continue;
      if (answer && item.contains(answer)) bench.answerChanges += 1;
      else if (item.matches('.jp-lawless-assistant, .jp-lawless-user')) bench.historyChanges += 1;
    }
    if (!answer || !answer.textContent) return;
    if (bench.firstPaint === null) {
      bench.firstPaint = -1;
      requestAnimationFrame(() => { bench.firstPaint = performance.now(); });
    }
    if (bench.lastPaint === null && bench.endText && answer.textContent.includes(bench.endText)) {
      bench.lastPaint = -1;
      requestAnimationFrame(() => { bench.lastPaint = performance.now(); });
    }
  });
  const start = () => observer.observe(document.body, {
    subtree: true, childList: true, characterData: true
  });
  if (document.body) start(); else document.addEventListener('DOMContentLoaded', start);
  try {
    new PerformanceObserver(list => {
      for (const e of list.getEntries()) bench.longTasks.push([e.startTime, e.duration]);
    }).observe({ type: 'longtask', buffered: true });
  } catch (e) { /* not supported */ }
  const frame = t => { bench.frames.push(t); requestAnimationFrame(frame); };
  requestAnimationFrame(frame);
})();
"""

# Arrival times of the first and last text events and of done, from the raw log.
ARRIVALS = r"""
() => {
  const b = window.__bench, decoder = new TextDecoder();
  let firstText = null, lastText = null, done = null, bytes = 0;
  for (const [t, value] of b.chunks) {
    const s = decoder.decode(value, { stream: true });
    bytes += value.length;
    if (s.includes('"type": "text"')) {
      if (firstText === null) firstText = t;
      lastText = t;
    }
    if (done === null && s.includes('"type": "done"')) done = t;
  }
  return { firstText, lastText, done, bytes, chunks: b.chunks.length };
}
"""


def med(values: list[float]) -> float:
    return round(statistics.median(values), 1) if values else float("nan")


def log(*parts: object) -> None:
    print(*parts, file=sys.stderr, flush=True)


def prepare_turn(page, end_text: str) -> None:
    page.evaluate(
        """end => { const b = window.__bench;
        b.chunks = []; b.sendAt = null; b.firstPaint = null; b.lastPaint = null;
        b.answerChanges = 0; b.historyChanges = 0; b.endText = end;
        b.before = document.querySelectorAll(
          '.jp-lawless-assistant .jp-lawless-markdown').length; }""",
        end_text,
    )


def run_turn(page, panel, message: str, timeout_s: float = 120) -> dict[str, Any]:
    composer = panel.get_by_label("Message to Claude")
    composer.fill(message)
    composer.press("Enter")
    page.wait_for_function(
        "() => window.__bench.lastPaint > 0", timeout=timeout_s * 1000, polling=100
    )
    panel.get_by_role("button", name="Send the message").wait_for()
    result = page.evaluate("() => ({...window.__bench, chunks: undefined, frames: undefined})")
    result.update(page.evaluate(ARRIVALS))
    return result


def short_turns(page, panel, fake, args) -> dict[str, Any]:
    rows = []
    for i in range(args.turns):
        end = f"END{i}."
        answer = " ".join(f"s{i}w{j}" for j in range(args.short_deltas)) + f" {end}"
        fake.add(text(answer, chunks=args.short_deltas, delay=args.short_delay))
        prepare_turn(page, end)
        r = run_turn(page, panel, f"Short answer {i}")
        row = {
            "send_to_first_text": r["firstText"] - r["sendAt"],
            "send_to_first_paint": r["firstPaint"] - r["sendAt"],
            "first_paint_after_text": r["firstPaint"] - r["firstText"],
            "send_to_last_text": r["lastText"] - r["sendAt"],
            "send_to_last_paint": r["lastPaint"] - r["sendAt"],
            "last_paint_after_text": r["lastPaint"] - r["lastText"],
        }
        rows.append(row)
        log(f"  short {i}: " + ", ".join(f"{k} {v:.1f} ms" for k, v in row.items()))
    return {key: med([row[key] for row in rows]) for key in rows[0]} | {"turns": len(rows)}


def big_turn(page, panel, fake, args) -> dict[str, Any]:
    end = "END-OF-BIG."
    words = [f"d{j:04d}" for j in range(args.big_deltas - 1)]
    answer = " ".join(words) + f" {end}"
    fake.add(text(answer, chunks=args.big_deltas))
    prepare_turn(page, end)
    t0 = page.evaluate("() => performance.now()")
    r = run_turn(page, panel, "A very long answer")
    frames = page.evaluate(
        "([a, b]) => window.__bench.frames.filter(t => t >= a && t <= b)",
        [r["sendAt"], r["lastPaint"]],
    )
    stream_frames = [t for t in frames if r["firstText"] <= t <= r["lastPaint"]]
    gaps = [b - a for a, b in itertools.pairwise(stream_frames)]
    long_tasks = [d for s, d in r["longTasks"] if s >= t0]
    text_now = panel.locator(".jp-lawless-assistant .jp-lawless-markdown").last.inner_text().strip()
    return {
        "deltas": args.big_deltas,
        "bytes": r["bytes"],
        "complete": text_now == answer,
        "send_to_last_text": round(r["lastText"] - r["sendAt"], 1),
        "send_to_last_paint": round(r["lastPaint"] - r["sendAt"], 1),
        "last_paint_after_text": round(r["lastPaint"] - r["lastText"], 1),
        "ratio_last_paint_to_last_text": round(
            (r["lastPaint"] - r["sendAt"]) / (r["lastText"] - r["sendAt"]), 2
        ),
        "first_paint_after_text": round(r["firstPaint"] - r["firstText"], 1),
        "long_tasks": len(long_tasks),
        "longest_task": round(max(long_tasks, default=0.0), 1),
        "frames_while_streaming": len(stream_frames),
        "max_frame_gap": round(max(gaps, default=0.0), 1),
        "answer_dom_changes": r["answerChanges"],
        "history_dom_changes": r["historyChanges"],
    }


def changed_file(lines: int) -> tuple[str, str]:
    """A Python file of ``lines`` lines, before and after every line of it changed."""
    old = "".join(f"value_{i} = compute({i}, 'old')  # line {i}\n" for i in range(lines))
    new = "".join(f"value_{i} = compute({i} * 2, 'new')  # line {i}\n" for i in range(lines))
    return old, new


def diff_tab(page, panel, lab, args) -> dict[str, Any]:
    """A session whose only change is every line of a file committed on the base."""
    old, new = changed_file(args.diff_lines)
    repo = lab.root / "project"
    (repo / "src/big.py").write_text(old)
    git(repo, "add", "src/big.py")
    git(repo, "commit", "-qm", "the big file")
    body = {"repo": "project", "name": "bench-diff"}
    session = lab.api("POST", "api/workspace/sessions", body)["session"]
    (Path(session["worktree_path"]) / "src/big.py").write_text(new)
    panel.get_by_role("button", name="Back to the list of sessions").click()
    panel.get_by_role("button", name=re.compile(r"^Open session bench-diff")).click()
    panel.get_by_role("tab", name="Changes").click()
    times: list[float] = []
    colours: list[float] = []
    requests: dict[str, list[tuple[float, float]]] = {}
    for i in range(args.diff_opens + 1):
        button = panel.get_by_role("button", name="Open the whole diff in a tab")
        button.wait_for()
        page.evaluate(DIFF_TAB_WATCH)
        button.click()
        page.wait_for_function(
            "() => window.__diffBench.paintAt > 0 && window.__diffBench.colourAt > 0", polling=50
        )
        b = page.evaluate(REQUESTS_SINCE_CLICK)
        times.append(b["paintAt"] - b["clickAt"])
        colours.append(b["colourAt"] - b["clickAt"])
        for name, (start, duration) in b["requests"].items():
            requests.setdefault(name, []).append((start, duration))
        log(
            f"  diff tab {i}: first changed line painted {times[-1]:.1f} ms after the click,"
            f" highlighted {colours[-1]:.1f} ms;"
            + "".join(f" {k} at +{v[0]:.0f} took {v[1]:.0f} ms;" for k, v in b["requests"].items())
        )
        page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current").locator(
            ".lm-TabBar-tabCloseIcon"
        ).click()
        page.locator(".jp-lawless-difftab").wait_for(state="detached")
    return {
        "lines": args.diff_lines,
        "changed_lines": 2 * args.diff_lines,
        "first_open_ms": round(times[0], 1),
        "median_open_ms": med(times[1:]),
        "max_open_ms": round(max(times[1:]), 1),
        "opens": len(times) - 1,
        "first_open_highlighted_ms": round(colours[0], 1),
        "median_highlighted_ms": med(colours[1:]),
        # when each request started after the click, and how long it took (medians)
        "requests": {
            name: {"start_ms": med([s for s, _ in v[1:]]), "took_ms": med([d for _, d in v[1:]])}
            for name, v in requests.items()
        },
    }


def report_chat(short: dict[str, Any], big: dict[str, Any]) -> None:
    met = short["first_paint_after_text"] < TARGET_FIRST_PAINT_MS
    log(f"short answers, medians of {short['turns']} (ms from pressing Enter):")
    log(
        f"  first text event arrived {short['send_to_first_text']}, first character painted"
        f" {short['send_to_first_paint']}: +{short['first_paint_after_text']} ms"
        f" (target < {TARGET_FIRST_PAINT_MS:.0f}: {'met' if met else 'MISSED'})"
    )
    log(
        f"  last text event arrived {short['send_to_last_text']}, last character painted"
        f" {short['send_to_last_paint']}: +{short['last_paint_after_text']} ms"
    )
    log(f"{big['deltas']} deltas ({big['bytes']} bytes of SSE):")
    log(
        f"  last text event arrived {big['send_to_last_text']} ms, last character painted"
        f" {big['send_to_last_paint']} ms = {big['ratio_last_paint_to_last_text']}x"
        f" (+{big['last_paint_after_text']} ms);"
        f" complete: {big['complete']}"
    )
    log(
        f"  long tasks: {big['long_tasks']} (longest {big['longest_task']} ms); largest frame"
        f" gap {big['max_frame_gap']} ms over {big['frames_while_streaming']} frames"
    )
    log(
        f"  the answer's DOM changed {big['answer_dom_changes']} times for {big['deltas']}"
        f" deltas; earlier messages changed {big['history_dom_changes']} times"
    )


def report_diff_tab(tab: dict[str, Any]) -> None:
    met = max(tab["first_open_ms"], tab["max_open_ms"]) <= TARGET_DIFF_TAB_MS
    log(
        f"diff tab, {tab['lines']} lines ({tab['changed_lines']} changed): first changed line"
        f" painted {tab['first_open_ms']} ms after the click on the first opening, median"
        f" {tab['median_open_ms']} ms (max {tab['max_open_ms']}) over {tab['opens']} more"
        f" (target <= {TARGET_DIFF_TAB_MS:.0f}: {'met' if met else 'MISSED'});"
        f" highlighted as Python {tab['first_open_highlighted_ms']} ms / median"
        f" {tab['median_highlighted_ms']} ms"
    )
    for name, figures in tab["requests"].items():
        log(f"  GET git/{name}: starts +{figures['start_ms']} ms, takes {figures['took_ms']} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--turns", type=int, default=7, help="short answers measured")
    parser.add_argument("--short-deltas", type=int, default=30, help="deltas of a short answer")
    parser.add_argument("--short-delay", type=float, default=0.01, help="seconds between them")
    parser.add_argument("--big-deltas", type=int, default=5000, help="deltas of the long answer")
    parser.add_argument("--diff-lines", type=int, default=2000, help="lines of the diffed file")
    parser.add_argument("--diff-opens", type=int, default=7, help="diff tab openings measured")
    parser.add_argument("--only", choices=["chat", "diff-tab"], help="measure one part")
    parser.add_argument("--json", action="store_true", help="JSON on stdout")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    for name in INHERITED_ENV:
        os.environ.pop(name, None)
    result: dict[str, Any] = {
        "target_first_paint_ms": TARGET_FIRST_PAINT_MS,
        "target_diff_tab_ms": TARGET_DIFF_TAB_MS,
    }
    with (
        tempfile.TemporaryDirectory(prefix="bench-ui-") as tmp,
        FakeAnthropic() as fake,
        running_lab(Path(tmp), fake) as lab,
        sync_playwright() as p,
    ):
        browser = launch_chromium(p)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.set_default_timeout(120_000)
            page.add_init_script(INSTRUMENT)
            page.goto(f"{lab.url}lab?token={TOKEN}")
            page.locator('.jp-SideBar [data-id="jp-lawless-panel"]').click()
            panel = page.locator("#jp-lawless-panel")
            panel.get_by_label("Repository").fill("project")
            panel.get_by_role("button", name="Create session").click()
            panel.get_by_role("tab", name="Chat").wait_for()
            if args.only != "diff-tab":
                log("warm-up turn (starts Claude Code)")
                fake.add(text("Warm-up answer. END-WARM.", chunks=3))
                prepare_turn(page, "END-WARM.")
                run_turn(page, panel, "Warm up")
                log(f"{args.turns} short answers")
                result["short"] = short_turns(page, panel, fake, args)
                log(f"one answer of {args.big_deltas} deltas")
                result["big"] = big_turn(page, panel, fake, args)
            if args.only != "chat":
                log(f"the diff tab on a {args.diff_lines}-line file, every line changed")
                result["diff_tab"] = diff_tab(page, panel, lab, args)
        finally:
            browser.close()
    log("")
    if "short" in result:
        report_chat(result["short"], result["big"])
    if "diff_tab" in result:
        report_diff_tab(result["diff_tab"])
    if args.json:
        print(json.dumps(result, indent=2))


if __name__ == "__main__":
    started = time.monotonic()
    main()
    log(f"({time.monotonic() - started:.0f} s)")
