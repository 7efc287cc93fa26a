""" "Always allow" rules: a shell command is remembered by its program and subcommand.

The way Claude Code's own ``Bash(npm test:*)`` rules work: after *Always allow* on
``git status --short`` a later ``git status`` runs without asking, ``git push`` still asks.
Conservative on purpose:

- a command with shell syntax beyond words (``;``, ``&&``, ``|``, redirections, ``$``,
  backticks, subshells, newlines) is never remembered and never matches: it always asks;
- a program that runs whatever its arguments say (shells, interpreters, ``env``, ``xargs``,
  ``find``...) or a program given by path is remembered as that exact command only;
- other tools (edits, web fetches) keep their per-tool rule, the tool's name;
- code run in the session's Jupyter kernel (``mcp__jupyter__execute``, ``run_cell``) has
  one rule, ``mcp__jupyter__execute``: "run code in this session's kernel". Code has no
  program name to narrow it by, and a cell Claude runs is code it may just have written,
  so allowing one of the two without the other would mean nothing.
"""

from __future__ import annotations

import re
import shlex
from typing import Any

SHELL = "Bash"
KERNEL_RULE = "mcp__jupyter__execute"
KERNEL_CODE_TOOLS = frozenset({KERNEL_RULE, "mcp__jupyter__run_cell"})
_NOT_SIMPLE = re.compile(r"[;&|<>()`$\n\r{}]")
_WORD = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:+-]*$")
# programs whose second word is a subcommand (``git status``, ``npm test``)
SUBCOMMAND_PROGRAMS = frozenset(
    {
        "git",
        "npm",
        "npx",
        "pnpm",
        "yarn",
        "jlpm",
        "pip",
        "pip3",
        "uv",
        "poetry",
        "cargo",
        "go",
        "docker",
        "podman",
        "kubectl",
        "helm",
        "gh",
        "conda",
        "mamba",
        "apt",
        "apt-get",
        "brew",
        "dotnet",
        "terraform",
        "make",
        "jupyter",
        "ruff",
    }
)
# programs that run any command or code their arguments name: a prefix would allow anything
RUNS_ANYTHING = frozenset(
    {
        "sh",
        "bash",
        "zsh",
        "dash",
        "fish",
        "ksh",
        "env",
        "sudo",
        "su",
        "doas",
        "xargs",
        "eval",
        "exec",
        "command",
        "builtin",
        "nohup",
        "timeout",
        "nice",
        "time",
        "watch",
        "strace",
        "python",
        "python3",
        "node",
        "deno",
        "bun",
        "perl",
        "ruby",
        "php",
        "lua",
        "find",
        "awk",
        "gawk",
        "sed",
        "ssh",
        "script",
        "unbuffer",
        "parallel",
    }
)


def simple_words(command: str) -> list[str] | None:
    """The words of a simple command, or None when it has any other shell syntax."""
    if _NOT_SIMPLE.search(command):
        return None
    try:
        words = shlex.split(command)
    except ValueError:  # unbalanced quotes
        return None
    if not words or "=" in words[0]:  # ``VAR=x cmd`` changes what cmd does
        return None
    return words


def _prefix(words: list[str]) -> list[str] | None:
    """The words a rule keeps (None: only the exact command can be remembered)."""
    program = words[0]
    if "/" in program or program in RUNS_ANYTHING:
        if program in ("python", "python3") and len(words) > 2 and words[1] == "-m":
            return words[:3] if _WORD.match(words[2]) else None  # python -m pytest
        return None
    if program in SUBCOMMAND_PROGRAMS:
        if len(words) > 1 and _WORD.match(words[1]):
            return words[:2]
        return None
    return words[:1]


def _simple_command(tool_input: dict[str, Any]) -> tuple[str, list[str]] | None:
    """A shell call's command and its words, or None when it is not one simple command."""
    command = tool_input.get("command")
    if not isinstance(command, str):
        return None
    words = simple_words(command)
    return None if words is None else (command, words)


def rule_for(tool: str, tool_input: dict[str, Any]) -> str | None:
    """The rule "Always allow" remembers for this call; None when nothing may be."""
    if tool in KERNEL_CODE_TOOLS:
        return KERNEL_RULE
    if tool != SHELL:
        return tool
    simple = _simple_command(tool_input)
    if simple is None:
        return None
    command, words = simple
    prefix = _prefix(words)
    if prefix is None:
        return f"{SHELL}({command.strip()})"
    return f"{SHELL}({shlex.join(prefix)}:*)"


def rule_matches(rule: str, tool: str, tool_input: dict[str, Any]) -> bool:
    if rule == KERNEL_RULE:
        return tool in KERNEL_CODE_TOOLS
    if not rule.startswith(f"{SHELL}("):
        return rule == tool and tool != SHELL
    if tool != SHELL or not rule.endswith(")"):
        return False
    simple = _simple_command(tool_input)
    if simple is None:
        return False
    command, words = simple
    inner = rule[len(SHELL) + 1 : -1]
    if not inner.endswith(":*"):
        return command.strip() == inner
    prefix = shlex.split(inner[:-2])
    return words[: len(prefix)] == prefix


def is_rule(value: object) -> bool:
    return isinstance(value, str) and 0 < len(value) <= 10_000


# git subcommands that run the repository's hooks
_HOOK_SUBCOMMANDS = frozenset(
    {"commit", "merge", "push", "rebase", "am", "pull", "checkout", "switch", "cherry-pick"}
)


_RUNS_NEXT = frozenset({"sudo", "env", "xargs", "time", "nohup", "exec", "command", "nice"})


def _command_position(words: list[str], i: int) -> bool:
    """Whether ``words[i]`` is where a program name goes (start, after an operator...)."""
    if i == 0:
        return True
    before = words[i - 1]
    return set(before) <= set(";&|()`") or before.rsplit("/", 1)[-1] in _RUNS_NEXT


def runs_git_hooks(command: object) -> bool:
    """Whether a shell command runs a git command that runs hooks: ``git`` where a program
    goes, followed (options skipped) by such a subcommand."""
    if not isinstance(command, str) or "git" not in command:
        return False
    try:
        lexer = shlex.shlex(command, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        words = list(lexer)
    except ValueError:
        return "git" in command  # unparseable: say so rather than miss one
    for i, word in enumerate(words):
        if word.rsplit("/", 1)[-1] != "git" or not _command_position(words, i):
            continue
        rest = words[i + 1 :]
        j = 0
        while j < len(rest) and rest[j].startswith("-"):
            j += 2 if rest[j] in ("-C", "-c") else 1
        if j < len(rest) and rest[j] in _HOOK_SUBCOMMANDS:
            return True
    return False
