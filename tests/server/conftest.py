"""Fixtures of the in-process suites: the real server in this process (`in_process.py`) on each backend,
offering the same `server.token(...)` and `connect(token, mode=...)` as the end-to-end fixtures."""

from __future__ import annotations

import pytest

from tests.server.in_process import Connect, InProcessServer


@pytest.fixture
def server(database_url: str) -> InProcessServer:
    return InProcessServer(database_url)


@pytest.fixture
def connect(server: InProcessServer) -> Connect:
    """`async with connect(token, mode="legacy") as client:`; modes: "auto" (2026-07-28) or "legacy"."""
    return server.connector()
