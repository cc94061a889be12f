from decimal import Decimal

import pytest

from finance_mcp.schemas import AccountCreate, TransactionFields, TransactionFilter, TransactionUpdate
from finance_mcp.services import accounts, transactions

pytestmark = pytest.mark.anyio


async def test_balance_follows_create_update_move_and_delete(db, make_principal):
    me = await make_principal()
    acc = await accounts.create_account(
        db, me, AccountCreate(name="Checking", account_type="checking", opening_balance=Decimal("1000"))
    )
    other = await accounts.create_account(db, me, AccountCreate(name="Savings", account_type="savings"))
    made = await transactions.record_transaction(
        db,
        me,
        acc.id,
        TransactionFields(amount=Decimal("-50"), date="2026-01-02", category="Food", tags=["Food", "trip"]),
    )
    assert made.account_balance == Decimal("950.00")
    upd = await transactions.update_transaction(db, me, made.transaction.id, TransactionUpdate(amount=Decimal("-100")))
    assert upd.account_balances == {str(acc.id): Decimal("900.00")}
    moved = await transactions.update_transaction(
        db, me, made.transaction.id, TransactionUpdate(account_id=other.id, date="2026-02-01")
    )
    assert moved.account_balances == {str(acc.id): Decimal("1000.00"), str(other.id): Decimal("-100.00")}
    page = await transactions.list_transactions(db, me, TransactionFilter(tags=["FOOD"]))
    assert page.total == 1
    assert page.transactions[0].date.isoformat() == "2026-02-01"
    gone = await transactions.delete_transaction(db, me, made.transaction.id)
    assert gone.account_balance == Decimal("0.00")
    batch = await transactions.record_batch(
        db,
        me,
        acc.id,
        [
            TransactionFields(amount=a, date="2026-01-03", category="x")
            for a in (Decimal("-50"), Decimal("-30"), Decimal("100"))
        ],
    )
    assert batch.account_balance == Decimal("1020.00")
    assert batch.count == 3
    deleted = await accounts.delete_account(db, me, acc.id)
    assert deleted.transactions_deleted == 3
