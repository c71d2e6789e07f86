"""Attributes of parsed HTML tags as plain text, the way the page rules compare them."""

from __future__ import annotations

from bs4 import Tag


def classes(tag: Tag) -> list[str]:
    """The tag's CSS classes (none when it has no ``class``)."""
    value = tag.get("class")
    return list(value) if isinstance(value, list) else str(value or "").split()


def attr(tag: Tag, name: str) -> str:
    """The attribute's text, stripped; ``""`` when the tag has no such attribute."""
    value = tag.get(name)
    if isinstance(value, list):  # multi-valued attributes come back as lists
        value = " ".join(value)
    return (value or "").strip()
