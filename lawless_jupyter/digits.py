"""Whole numbers in text a person or a server sent (headers, query strings)."""

from __future__ import annotations


def digits(text: str) -> bool:
    """Only 0-9 (``str.isdigit`` also takes '²', which ``int`` then refuses)."""
    return text.isascii() and text.isdigit()
