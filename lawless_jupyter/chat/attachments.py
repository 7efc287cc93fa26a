"""Context a person attaches to a chat message (a notebook, selected cells, an open file):
checked, cut to size, and written into the prompt after the message."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import InvalidInput

MAX_ATTACHMENTS = 10
MAX_ATTACHMENT_BYTES = 20_000
MAX_NAME_CHARS = 200


@dataclass(frozen=True)
class Attachment:
    name: str
    text: str
    cut: bool = False


def _cut(text: str) -> tuple[str, bool]:
    encoded = text.encode("utf-8")
    if len(encoded) <= MAX_ATTACHMENT_BYTES:
        return text, False
    return encoded[:MAX_ATTACHMENT_BYTES].decode("utf-8", "ignore"), True


def check_attachments(value: object) -> list[Attachment]:
    """``[{"name": str, "text": str}, ...]`` (at most ten) as attachments, each cut at 20 KB;
    anything else is a 400 that says what is wrong."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidInput("'attachments' must be a list of {name, text} objects.")
    if len(value) > MAX_ATTACHMENTS:
        raise InvalidInput(f"At most {MAX_ATTACHMENTS} attachments go with one message.")
    attachments = []
    for i, item in enumerate(value):
        if not isinstance(item, dict) or set(item) != {"name", "text"}:
            raise InvalidInput(
                f"Attachment {i + 1} must be an object with exactly 'name' and 'text'."
            )
        name, text = item["name"], item["text"]
        if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME_CHARS:
            raise InvalidInput(
                f"Attachment {i + 1} needs a 'name' of 1 to {MAX_NAME_CHARS} characters."
            )
        if "\n" in name or "`" in name:
            raise InvalidInput(f"Attachment {i + 1}'s name has a line break or a backquote.")
        if not isinstance(text, str):
            raise InvalidInput(f"Attachment {i + 1}'s 'text' must be a string.")
        text, cut = _cut(text)
        attachments.append(Attachment(name.strip(), text, cut))
    return attachments


def _fence(text: str) -> str:
    """A backquote fence longer than any run of backquotes in ``text``."""
    longest, run = 0, 0
    for char in text:
        run = run + 1 if char == "`" else 0
        longest = max(longest, run)
    return "`" * max(3, longest + 1)


def prompt_with(message: str, attachments: list[Attachment]) -> str:
    """The message, then each attachment in a fenced block titled by its name."""
    parts = [message]
    for attachment in attachments:
        fence = _fence(attachment.text)
        note = (
            f"\n(cut: only the first {MAX_ATTACHMENT_BYTES // 1000} KB of {attachment.name} "
            "were attached)"
            if attachment.cut
            else ""
        )
        parts.append(f"Attached: {attachment.name}\n{fence}\n{attachment.text}\n{fence}{note}")
    return "\n\n".join(parts)
