"""The environment Claude Code runs with: an allow-list, never the server's whole environment.

The Claude Agent SDK starts the CLI with ``os.environ`` merged with ``options.env`` and offers
no way to leave the inheritance out, so the CLI is started through a tiny launcher (our
``cli_path``) that drops every variable this module does not allow and then ``execve``s the
real CLI. The launcher is this file run by path (``runpy``, Python ``-I``): it imports
nothing from the package, so it starts in milliseconds. After ``execve`` the launcher *is*
the CLI (same pid), so ``/proc/$PPID/environ`` seen from Claude's shell shows the filtered
environment only.

Standard library only (os and sys): this file is also run outside the package, at every
Claude Code start. The script that runs it is written by ``claude.launcher()``.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the launcher imports only os and sys: it starts every Claude process
    from collections.abc import Iterable, Mapping

# What the CLI needs to run at all (a shell, a home, a locale, a terminal, a temp dir).
BASICS = frozenset(
    {
        "PATH",
        "HOME",
        "USER",
        "LOGNAME",
        "SHELL",
        "LANG",
        "LANGUAGE",
        "TERM",
        "COLORTERM",
        "NO_COLOR",
        "FORCE_COLOR",
        "TMPDIR",
        "TZ",
        "PWD",
        # the SDK's trace context (W3C); says which trace a span belongs to, nothing more
        "TRACEPARENT",
        "TRACESTATE",
    }
)
# Where the project's tools are (paths, not secrets): a command Claude runs finds the same
# Python, conda, Java, Go, Rust and Node set-up as the server's.
TOOLCHAIN = frozenset(
    {
        "VIRTUAL_ENV",
        "CONDA_PREFIX",
        "CONDA_DEFAULT_ENV",
        "CONDA_EXE",
        "PYENV_ROOT",
        "JAVA_HOME",
        "GOPATH",
        "GOROOT",
        "CARGO_HOME",
        "RUSTUP_HOME",
        "NVM_DIR",
        "XDG_CONFIG_HOME",
        "XDG_CACHE_HOME",
        "XDG_DATA_HOME",
        "XDG_RUNTIME_DIR",
    }
)
# Claude Code's own settings and model credentials (ANTHROPIC_API_KEY, ANTHROPIC_BASE_URL,
# CLAUDE_CODE_OAUTH_TOKEN, CLAUDE_CONFIG_DIR...) and the locale's LC_* family.
PREFIXES = ("ANTHROPIC_", "CLAUDE_", "LC_")
# Documented Claude Code settings without one of those prefixes.
CLAUDE_CODE_SETTINGS = frozenset(
    {
        "MAX_THINKING_TOKENS",
        "MAX_MCP_OUTPUT_TOKENS",
        "MCP_TIMEOUT",
        "MCP_TOOL_TIMEOUT",
        "BASH_DEFAULT_TIMEOUT_MS",
        "BASH_MAX_TIMEOUT_MS",
        "BASH_MAX_OUTPUT_LENGTH",
        "USE_BUILTIN_RIPGREP",
        "ENABLE_TOOL_SEARCH",
        "DISABLE_AUTOUPDATER",
        "DISABLE_BUG_COMMAND",
        "DISABLE_COST_WARNINGS",
        "DISABLE_ERROR_REPORTING",
        "DISABLE_NON_ESSENTIAL_MODEL_CALLS",
        "DISABLE_PROMPT_CACHING",
        "DISABLE_TELEMETRY",
    }
)
# The network path to the model: proxies and the certificates to trust.
NETWORK = frozenset(
    {
        *(
            name
            for proxy in ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY")
            for name in (proxy, proxy.lower())
        ),
        "NODE_EXTRA_CA_CERTS",
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
    }
)
# Cloud credentials reach Claude only when the deployment routes the model through that
# cloud (Claude Code's switch is set): an AWS key on the server is otherwise not Claude's.
CLOUDS = {
    "CLAUDE_CODE_USE_BEDROCK": ("AWS_",),
    "CLAUDE_CODE_USE_VERTEX": (
        "CLOUD_ML_REGION",
        "VERTEX_REGION_",
        "GOOGLE_APPLICATION_CREDENTIALS",
        "GOOGLE_CLOUD_PROJECT",
        "GCLOUD_PROJECT",
        "CLOUDSDK_",
    ),
    "CLAUDE_CODE_USE_FOUNDRY": ("AZURE_",),
}

# How the server tells the launcher what to start and what else to keep (both removed
# before the CLI starts).
CLI_VARIABLE = "LAWLESS_CLAUDE_CLI"
KEEP_VARIABLE = "LAWLESS_CLAUDE_KEEP"
NICE_VARIABLE = "LAWLESS_CLAUDE_NICE"


def _switched_on(value: str | None) -> bool:
    return (value or "").strip().lower() not in ("", "0", "false", "no", "off")


def allowed(name: str, environ: Mapping[str, str], extra: Iterable[str] = ()) -> bool:
    """Whether variable ``name`` may reach Claude Code (``extra``: names the deployer added)."""
    if name in BASICS or name in TOOLCHAIN or name in CLAUDE_CODE_SETTINGS or name in NETWORK:
        return True
    if name.startswith(PREFIXES) or name in set(extra):
        return True
    return any(
        name.startswith(prefixes)
        for switch, prefixes in CLOUDS.items()
        if _switched_on(environ.get(switch))
    )


def allowed_environment(environ: Mapping[str, str], extra: Iterable[str] = ()) -> dict[str, str]:
    """The part of ``environ`` that may reach Claude Code."""
    extra = set(extra)
    return {k: v for k, v in environ.items() if allowed(k, environ, extra)}


def launcher_env(cli: str, extra: Iterable[str], nice: int = 0) -> dict[str, str]:
    """What the server adds to the SDK's ``env`` for the launcher to read."""
    return {
        CLI_VARIABLE: cli,
        KEEP_VARIABLE: ",".join(sorted(set(extra))),
        NICE_VARIABLE: str(nice),
    }


def main() -> None:  # the launcher
    environ = dict(os.environ)
    cli = environ.pop(CLI_VARIABLE, "")
    extra = environ.pop(KEEP_VARIABLE, "").split(",")
    nice = environ.pop(NICE_VARIABLE, "0")
    if not cli:
        sys.exit(f"{CLI_VARIABLE} is not set: this launcher is started by lawless_jupyter.")
    if nice.isascii() and nice.isdigit() and int(nice):
        # below the server, so its relay of every answer runs ahead of the agents' work
        os.nice(int(nice))
    os.execve(cli, [cli, *sys.argv[1:]], allowed_environment(environ, extra))


if __name__ == "__main__":
    main()
