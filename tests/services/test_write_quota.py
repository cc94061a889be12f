"""The write quota's sliding window, with a clock the tests move: a full minute refuses with the whole seconds
until its oldest write leaves it, refusals are not counted, users are counted apart, and 0 turns it off."""

from __future__ import annotations

import pytest

from finance_mcp.domain.errors import SlowDown
from finance_mcp.services.write_quota import WriteQuota
from finance_mcp.settings import Settings


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_full_minute_refuses_until_its_oldest_write_leaves_the_window() -> None:
    clock = Clock()
    quota = WriteQuota(3, clock=clock)
    quota.admit(1)
    clock.now += 20.5
    quota.admit(1)
    quota.admit(1)

    with pytest.raises(SlowDown, match=r"slow down: retry in 40 s") as refused:
        quota.admit(1)
    clock.now += 39.4  # the oldest write leaves at +60 s
    with pytest.raises(SlowDown, match=r"retry in 1 s"):
        quota.admit(1)
    clock.now += 0.2
    quota.admit(1)

    assert refused.value.retry_after_seconds == 40


def test_refusals_are_not_counted_and_users_are_counted_apart() -> None:
    clock = Clock()
    quota = WriteQuota(1, clock=clock)
    quota.admit(1)
    for _ in range(5):
        with pytest.raises(SlowDown):
            quota.admit(1)

    quota.admit(2)
    clock.now += 60.0
    quota.admit(1)  # one minute after its only counted write


def test_zero_is_no_quota_and_the_default_is_120_a_minute() -> None:
    quota = WriteQuota(0, clock=Clock())
    for _ in range(10_000):
        quota.admit(1)

    assert Settings(secret_key="x" * 40, _env_file=None).write_quota_per_minute == 120  # type: ignore[call-arg]
