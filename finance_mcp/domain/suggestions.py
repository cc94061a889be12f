"""Telling a caller that a name matched nothing, with the names it probably meant."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def unknown_name_note(kind: str, asked: str, existing: Iterable[str], *, hint: str) -> str | None:
    """None when `asked` is one of `existing` (any case); else a sentence naming the closest of them."""
    by_key: dict[str, str] = {}
    for name in existing:
        by_key.setdefault(name.strip().lower(), name.strip())
    key = asked.strip().lower()
    if key in by_key:
        return None
    close = difflib.get_close_matches(key, list(by_key), n=3, cutoff=0.6)
    if close:
        names = ", ".join(repr(by_key[match]) for match in close)
        return f"No transaction has {kind} {asked.strip()[:100]!r}; the closest existing are {names}. {hint}"
    return f"No transaction has {kind} {asked.strip()[:100]!r}, nor one close to it. {hint}"
