"""lawless_jupyter: work with a coding agent inside JupyterLab."""

from ._version import __version__


def _jupyter_server_extension_points() -> list[dict]:
    from .app import LawlessApp

    return [{"module": "lawless_jupyter", "app": LawlessApp}]


def _jupyter_labextension_paths() -> list[dict]:
    return [{"src": "labextension", "dest": "lawless-jupyter"}]


__all__ = ["__version__"]
