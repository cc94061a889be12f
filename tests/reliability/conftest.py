"""Fixtures of the reliability suite: the real servers of `tests/e2e` (re-exported: one per backend), and an
event loop in a thread so that synchronous property tests can drive the asynchronous MCP client; at the end
of the run, the suite's tallies (`tallies.py`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from _pytest.terminal import TerminalReporter
from anyio.from_thread import BlockingPortal, start_blocking_portal

from tests.e2e.conftest import server
from tests.reliability.tallies import TALLIES

__all__ = ["portal", "server"]


@pytest.fixture(scope="session")
def portal() -> Iterator[BlockingPortal]:
    with start_blocking_portal(backend="asyncio") as running:
        yield running


def pytest_terminal_summary(terminalreporter: TerminalReporter) -> None:
    counted = {name: counts for name, counts in TALLIES.items() if any(counts.values())}
    if counted:
        terminalreporter.section("reliability tallies")
        for name, counts in counted.items():
            terminalreporter.write_line(f"{name}: {counts}")
