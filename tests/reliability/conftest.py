"""Fixtures of the reliability suite: the real servers of `tests/e2e` (re-exported: one per backend), and an
event loop in a thread so that synchronous property tests can drive the asynchronous MCP client."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal

from tests.e2e.conftest import server

__all__ = ["portal", "server"]


@pytest.fixture(scope="session")
def portal() -> Iterator[BlockingPortal]:
    with start_blocking_portal(backend="asyncio") as running:
        yield running
