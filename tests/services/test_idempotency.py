"""The idempotency ledger on both backends, with a clock the tests move: a key lives 24 h, expired keys are
purged at most every 10 minutes per process, and a failed call stores nothing."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import text

from finance_mcp.db.database import Database
from finance_mcp.domain.errors import Conflict, NotFound
from finance_mcp.domain.principals import Principal
from finance_mcp.repositories.idempotency import IdempotencyRepository, StoredCall
from finance_mcp.schemas.transactions import TransactionCreated
from finance_mcp.services import transactions
from finance_mcp.services.idempotency import LIFETIME, IdempotencyLedger
from tests.services.helpers import MakePrincipal, balance_of, count_rows, item, open_account

pytestmark = pytest.mark.anyio

# In the past: the ledger's purge is global, and must not take keys a real-time test elsewhere still needs.
T0 = dt.datetime(2020, 1, 6, 9, 0, tzinfo=dt.UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> dt.datetime:
        return self.now


def wire(result: TransactionCreated) -> dict[str, Any]:
    return result.model_dump(mode="json")


async def keyed_record(
    ledger: IdempotencyLedger, principal: Principal, account_id: int, key: str, amount: str = "-5.00"
) -> TransactionCreated | StoredCall:
    fields = item(amount)
    return await ledger.run(
        principal,
        key,
        tool="create_transaction",
        request_hash=f"{account_id}:{amount}",
        body=lambda held: transactions.record_transaction(held, principal, account_id, fields),
        stored=wire,
    )


async def keys_of(db: Database, principal: Principal) -> int:
    return await count_rows(
        db, "SELECT count(*) FROM idempotency_keys WHERE household_id = :h", h=principal.household_id
    )


async def kept(db: Database, principal: Principal) -> set[str]:
    async with db.connect(write=False) as conn:
        rows = await conn.execute(
            text("SELECT key FROM idempotency_keys WHERE household_id = :h"), {"h": principal.household_id}
        )
        return {str(row[0]) for row in rows}


async def test_a_repeat_within_24_hours_gets_the_stored_result_and_writes_nothing(
    db: Database, make_principal: MakePrincipal
) -> None:
    clock, me = Clock(), await make_principal()
    ledger = IdempotencyLedger(db, clock=clock)
    account = await open_account(db, me, "100.00")

    first = await keyed_record(ledger, me, account.id, "k")
    clock.now = T0 + LIFETIME - dt.timedelta(seconds=1)
    again = await keyed_record(ledger, me, account.id, "k")

    assert isinstance(first, TransactionCreated)
    assert again == StoredCall(tool="create_transaction", request_hash=f"{account.id}:-5.00", result=wire(first))
    assert await balance_of(db, me, account.id) == first.account_balance


async def test_other_arguments_under_a_live_key_are_a_conflict(db: Database, make_principal: MakePrincipal) -> None:
    me = await make_principal()
    ledger = IdempotencyLedger(db, clock=Clock())
    account = await open_account(db, me, "100.00")
    await keyed_record(ledger, me, account.id, "k")

    with pytest.raises(Conflict, match="other arguments"):
        await keyed_record(ledger, me, account.id, "k", amount="-6.00")

    assert str(await balance_of(db, me, account.id)) == "95.00"


async def test_a_failed_call_stores_nothing_and_the_key_stays_free(db: Database, make_principal: MakePrincipal) -> None:
    me = await make_principal()
    ledger = IdempotencyLedger(db, clock=Clock())
    account = await open_account(db, me, "100.00")

    with pytest.raises(NotFound):
        await keyed_record(ledger, me, 987_654_321, "k")
    assert await keys_of(db, me) == 0

    assert isinstance(await keyed_record(ledger, me, account.id, "k"), TransactionCreated)
    assert await keys_of(db, me) == 1


async def test_an_expired_key_is_taken_by_the_next_call_that_uses_it(
    db: Database, make_principal: MakePrincipal
) -> None:
    me = await make_principal()
    async with db.connect(write=True) as conn:
        keys = IdempotencyRepository(conn, me.household_id, user_id=me.user_id)
        assert await keys.claim("k", tool="t", request_hash="a", now=T0, expires_at=T0 + LIFETIME)
        await keys.finish("k", result={"n": 1})
        await conn.commit()

    async with db.connect(write=True) as conn:
        keys = IdempotencyRepository(conn, me.household_id, user_id=me.user_id)
        live = await keys.claim(
            "k", tool="t", request_hash="b", now=T0 + LIFETIME - dt.timedelta(seconds=1), expires_at=T0
        )
        taken = await keys.claim("k", tool="t", request_hash="b", now=T0 + LIFETIME, expires_at=T0 + 2 * LIFETIME)
        await keys.finish("k", result={"n": 2})
        await conn.commit()

    assert not live
    assert taken
    async with db.connect(write=False) as conn:
        found = await IdempotencyRepository(conn, me.household_id, user_id=me.user_id).find("k")
    assert found == StoredCall(tool="t", request_hash="b", result={"n": 2})


async def test_expired_keys_are_purged_at_most_every_ten_minutes(db: Database, make_principal: MakePrincipal) -> None:
    clock, me = Clock(), await make_principal()
    ledger = IdempotencyLedger(db, clock=clock)
    account = await open_account(db, me, "100.00")
    await keyed_record(ledger, me, account.id, "early")  # purges first: the process's first keyed call
    clock.now = T0 + dt.timedelta(minutes=5)
    await keyed_record(ledger, me, account.id, "later")

    clock.now = T0 + LIFETIME + dt.timedelta(seconds=1)
    await keyed_record(ledger, me, account.id, "a")  # purges: "early" has expired, "later" not yet
    assert await kept(db, me) == {"later", "a"}
    clock.now = T0 + LIFETIME + dt.timedelta(minutes=6)
    await keyed_record(ledger, me, account.id, "b")  # "later" has expired, but the last purge was 6 min ago
    assert await kept(db, me) == {"later", "a", "b"}
    clock.now = T0 + LIFETIME + dt.timedelta(minutes=11)
    await keyed_record(ledger, me, account.id, "c")

    assert await kept(db, me) == {"a", "b", "c"}
