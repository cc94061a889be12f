"""The repository filters on exactly the fields a listing accepts: a new filter cannot be silently ignored."""

from __future__ import annotations

from finance_mcp.repositories.transactions import NARROWING
from finance_mcp.schemas.transactions import TransactionFilter


def test_every_filter_of_a_listing_is_a_criterion_the_repository_reads() -> None:
    assert set(TransactionFilter.model_fields) == {*NARROWING, "account_id", "tags"}
