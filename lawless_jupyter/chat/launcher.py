"""The script the Claude Agent SDK starts as Claude Code (our ``cli_path``).

It runs ``environment.py`` with the server's Python, isolated (``-I``: no PYTHON*
variables, no user site), which filters the environment and ``execve``s the real CLI.
"""

from __future__ import annotations

import atexit
import os
import shlex
import shutil
import sys
import tempfile
import threading
from functools import cache
from pathlib import Path

from . import environment


@cache
def _folder() -> Path:
    folder = tempfile.mkdtemp(prefix="lawless-claude-")  # mode 0700
    atexit.register(shutil.rmtree, folder, True)
    return Path(folder)


def launcher() -> str:
    """The script's path. Made once per process, again if something removed it.
    Blocking (file IO): call it off the loop."""
    path = _folder() / "claude"
    if not path.is_file():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        python, program = shlex.quote(sys.executable), shlex.quote(environment.__file__)
        draft = path.with_name(f".claude-{os.getpid()}-{threading.get_ident()}")
        draft.write_text(f'#!/bin/sh\nexec {python} -I {program} "$@"\n')
        draft.chmod(0o700)
        os.replace(draft, path)  # whole or absent: a CLI starting meanwhile never sees half
    return str(path)
