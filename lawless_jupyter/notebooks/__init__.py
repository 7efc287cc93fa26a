"""Kernels and notebooks for workspace sessions: one Jupyter kernel per session, and the
``jupyter`` MCP tools Claude uses to run code and change notebooks in its worktree (through
an open notebook's collaborative document when jupyter-collaboration serves one)."""

from .kernels import KernelSettings, SessionKernels
from .shared import SharedNotebooks
from .tools import NotebookTools, cell_source, open_notebook_refusal

__all__ = [
    "KernelSettings",
    "NotebookTools",
    "SessionKernels",
    "SharedNotebooks",
    "cell_source",
    "open_notebook_refusal",
]
