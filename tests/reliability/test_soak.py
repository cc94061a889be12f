"""A few seconds of the soak in CI, so `make soak` cannot rot: concurrent clients on 2 workers and PostgreSQL,
no failed call, no lost update. The real figures come from `make soak` (docs/RELIABILITY.md)."""

from __future__ import annotations

from tests.reliability import soak


def test_a_short_soak_has_no_failed_calls_and_no_lost_updates(postgres_url):
    figures = soak.run(clients=8, seconds=3, workers=2, households=2)
    print("\n" + figures.report())  # noqa: T201
    assert figures.failures == []
    assert figures.lost_updates == 0
    assert figures.calls > 0
    assert figures.transactions_audited > 0
