"""Concurrent callers lose no update: balances are changed atomically in the same transaction as the rows.

On PostgreSQL the writers really overlap (one pooled connection each); on SQLite they queue for the one
writer. Either way the outcome must be exact."""

from __future__ import annotations

import uuid
from decimal import Decimal

import anyio
import pytest

from finance_mcp.db.database import Database
from finance_mcp.domain.errors import NotFound
from finance_mcp.domain.principals import Principal, Role
from finance_mcp.schemas.transactions import TransactionUpdate
from finance_mcp.services import transactions
from tests.services.helpers import (
    MakePrincipal,
    all_transactions,
    assert_balances_add_up,
    balance_of,
    count_rows,
    item,
    open_account,
    record,
)

pytestmark = pytest.mark.anyio

WRITERS = 20
WRITES_EACH = 5


async def household_of(make_principal: MakePrincipal, size: int) -> list[Principal]:
    """`size` different users of one new household."""
    tenant = uuid.uuid4().hex
    return [await make_principal(role=Role.MEMBER, tenant=tenant) for _ in range(size)]


def amount_for(writer: int, write: int) -> Decimal:
    sign = -1 if (writer + write) % 3 else 1
    return sign * Decimal(f"{writer}.{write:02d}")


async def test_twenty_concurrent_writers_on_one_account_lose_no_update(
    db: Database, make_principal: MakePrincipal
) -> None:
    writers = await household_of(make_principal, WRITERS)
    account = await open_account(db, writers[0], "1000.00")

    async def write(n: int, writer: Principal) -> None:
        for k in range(WRITES_EACH):
            await transactions.record_transaction(db, writer, account.id, item(str(amount_for(n, k)), merchant=f"w{n}"))

    async with anyio.create_task_group() as group:
        for n, writer in enumerate(writers):
            group.start_soon(write, n, writer)

    expected = Decimal("1000.00") + sum(amount_for(n, k) for n in range(WRITERS) for k in range(WRITES_EACH))
    assert await balance_of(db, writers[0], account.id) == expected
    assert len(await all_transactions(db, writers[0], account_id=account.id)) == WRITERS * WRITES_EACH
    rows = "SELECT count(*) FROM transactions WHERE account_id = :a"
    assert await count_rows(db, rows, a=account.id) == WRITERS * WRITES_EACH
    await assert_balances_add_up(db, writers[0])


async def test_concurrent_batches_updates_and_deletes_keep_the_balance_exact(
    db: Database, make_principal: MakePrincipal
) -> None:
    people = await household_of(make_principal, 12)
    account = await open_account(db, people[0], "500.00")
    existing = [await record(db, people[0], account.id, f"-{n}.25") for n in range(1, 9)]

    async def batch(who: Principal) -> None:
        await transactions.record_batch(db, who, account.id, [item("-1.10"), item("2.20"), item("-3.30")])

    async def change(who: Principal, n: int) -> None:
        update = TransactionUpdate(amount=Decimal(f"{n}.75"))
        await transactions.update_transaction(db, who, existing[n].id, update)

    async def remove(who: Principal, n: int) -> None:
        await transactions.delete_transaction(db, who, existing[n].id)

    async with anyio.create_task_group() as group:
        for who in people[:4]:
            group.start_soon(batch, who)
        for n, who in enumerate(people[4:8]):
            group.start_soon(change, who, n)
        for n, who in enumerate(people[8:], start=4):
            group.start_soon(remove, who, n)

    # 4 batches of -2.20; transactions 0-3 now +n.75; transactions 4-7 deleted.
    expected = Decimal("500.00") + 4 * Decimal("-2.20") + sum(Decimal(f"{n}.75") for n in range(4))
    assert await balance_of(db, people[0], account.id) == expected
    assert len(await all_transactions(db, people[0])) == 4 * 3 + 4
    await assert_balances_add_up(db, people[0])


async def test_opposite_moves_at_the_same_time_both_succeed(db: Database, make_principal: MakePrincipal) -> None:
    people = await household_of(make_principal, 2)
    first = await open_account(db, people[0], "100", name="First")
    second = await open_account(db, people[0], "100", name="Second")
    in_first = [await record(db, people[0], first.id, f"-{n}") for n in range(1, 6)]
    in_second = [await record(db, people[0], second.id, f"{n}0") for n in range(1, 6)]

    async def move(who: Principal, rows: list[int], to: int) -> None:
        for row in rows:
            await transactions.update_transaction(db, who, row, TransactionUpdate(account_id=to))

    with anyio.fail_after(30):
        async with anyio.create_task_group() as group:
            group.start_soon(move, people[0], [t.id for t in in_first], second.id)
            group.start_soon(move, people[1], [t.id for t in in_second], first.id)

    assert await balance_of(db, people[0], first.id) == Decimal("250.00")
    assert await balance_of(db, people[0], second.id) == Decimal("85.00")
    await assert_balances_add_up(db, people[0])


async def test_a_transaction_deleted_twice_at_once_restores_the_balance_once(
    db: Database, make_principal: MakePrincipal
) -> None:
    people = await household_of(make_principal, 6)
    account = await open_account(db, people[0], "100")
    expense = await record(db, people[0], account.id, "-40")
    outcomes: list[str] = []

    async def delete(who: Principal) -> None:
        try:
            await transactions.delete_transaction(db, who, expense.id)
            outcomes.append("deleted")
        except NotFound:
            outcomes.append("not found")

    async with anyio.create_task_group() as group:
        for who in people:
            group.start_soon(delete, who)

    assert sorted(outcomes) == ["deleted"] + ["not found"] * 5
    assert await balance_of(db, people[0], account.id) == Decimal("100.00")


async def test_concurrent_amount_changes_to_one_transaction_leave_the_balance_matching_it(
    db: Database, make_principal: MakePrincipal
) -> None:
    people = await household_of(make_principal, 10)
    account = await open_account(db, people[0], "1000")
    shared = await record(db, people[0], account.id, "-1")

    async def change(who: Principal, n: int) -> None:
        await transactions.update_transaction(db, who, shared.id, TransactionUpdate(amount=Decimal(-n * 11)))

    async with anyio.create_task_group() as group:
        for n, who in enumerate(people, start=1):
            group.start_soon(change, who, n)

    final = await transactions.get_transaction(db, people[0], shared.id)
    assert final.amount in {Decimal(-n * 11) for n in range(1, 11)}
    assert await balance_of(db, people[0], account.id) == Decimal("1000") + final.amount
