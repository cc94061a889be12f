"""Counts a suite keeps of what it did (calls made, faults injected, refusals seen), printed once at the end
of the run by `pytest_terminal_summary` in this folder's conftest: evidence of how much was tried, not a test."""

from __future__ import annotations

TALLIES: dict[str, dict[str, int]] = {}


def tally(name: str, *counters: str) -> dict[str, int]:
    """A set of counters, starting at zero, reported under `name` after the run."""
    counts = TALLIES.setdefault(name, {})
    for counter in counters:
        counts.setdefault(counter, 0)
    return counts
