"""Row ids as the databases store them: 64-bit integers."""

from __future__ import annotations

MAX_ID = 2**63 - 1


def storable(row_id: int) -> bool:
    """False for an id no row can have; such an id reads as "not found" instead of a driver overflow."""
    return 1 <= row_id <= MAX_ID
