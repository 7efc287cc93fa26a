"""Kernels and notebooks for workspace sessions: one Jupyter kernel per session, and the
``jupyter`` MCP tools Claude uses to run code and change notebooks in its worktree."""

from .kernels import KernelSettings, SessionKernels
from .tools import NotebookTools, cell_source

__all__ = ["KernelSettings", "NotebookTools", "SessionKernels", "cell_source"]
