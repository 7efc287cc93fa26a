"""Kernel outputs as Claude reads them: text, with images as image content, capped.

Outputs are nbformat output nodes (``nbformat.v4.output_from_msg`` makes them from the
kernel's IOPub messages), so what ``execute`` returns and what ``run_cell`` writes into a
notebook are the same objects.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

MAX_TEXT_CHARS = 20_000
MAX_IMAGES = 4
IMAGE_TYPES = ("image/png", "image/jpeg")
# IPython colours tracebacks; Claude reads them plain
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")


def plain(text: str) -> str:
    return _ANSI.sub("", text)


def _joined(value: Any) -> str:
    """nbformat keeps multi-line strings as a list of lines in files."""
    return "".join(value) if isinstance(value, list) else str(value)


def output_text(output: dict[str, Any]) -> str:
    """One output as text (images left out: they are counted by the caller)."""
    kind = output.get("output_type")
    if kind == "stream":
        return _joined(output.get("text", ""))
    if kind == "error":
        traceback = "\n".join(plain(line) for line in output.get("traceback") or [])
        return traceback or f"{output.get('ename')}: {output.get('evalue')}"
    if kind in ("execute_result", "display_data"):
        data = output.get("data") or {}
        prefix = f"Out[{output['execution_count']}]: " if output.get("execution_count") else ""
        if "text/plain" in data:
            return prefix + _joined(data["text/plain"])
        kinds = ", ".join(k for k in data if k not in IMAGE_TYPES)
        return f"{prefix}[{kinds} output]" if kinds else ""
    return ""


def images_of(output: dict[str, Any]) -> list[tuple[str, str]]:
    data = output.get("data") or {}
    return [(mime, _joined(data[mime]).strip()) for mime in IMAGE_TYPES if mime in data][:1]


@dataclass
class Rendered:
    """What a tool returns: MCP content blocks, the text cut at MAX_TEXT_CHARS and at
    most MAX_IMAGES images, each cut said in the text."""

    content: list[dict[str, Any]] = field(default_factory=list)
    text: str = ""


def render(outputs: list[dict[str, Any]], *, header: str = "", images: bool = True) -> Rendered:
    parts = [header] if header else []
    pictures: list[tuple[str, str]] = []
    skipped = 0
    for output in outputs:
        text = output_text(output)
        if text:
            parts.append(text.rstrip("\n"))
        for mime, data in images_of(output):
            if not images:  # summarised: named, not sent
                parts.append(f"[{mime} image]")
            elif len(pictures) < MAX_IMAGES:
                pictures.append((mime, data))
                parts.append(f"[image {len(pictures)}: {mime}]")
            else:
                skipped += 1
    text = "\n".join(p for p in parts if p)
    if len(text) > MAX_TEXT_CHARS:
        cut = len(text) - MAX_TEXT_CHARS
        text = text[:MAX_TEXT_CHARS] + f"\n… (output cut: {cut} more characters not shown)"
    if skipped:
        text += f"\n… ({skipped} more images not shown; at most {MAX_IMAGES} are returned)"
    content: list[dict[str, Any]] = [{"type": "text", "text": text or "(no output)"}]
    content += [{"type": "image", "data": data, "mimeType": mime} for mime, data in pictures]
    return Rendered(content, text)
