"""Builders and checks shared by the service tests. They go through the real services; only `count_rows`
reads tables directly, for what the services do not expose (tag rows, households, users)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

from sqlalchemy import text

from finance_mcp.db.database import Database
from finance_mcp.domain.principals import Principal
from finance_mcp.schemas.accounts import AccountCreate, AccountRead
from finance_mcp.schemas.transactions import TransactionFields, TransactionFilter, TransactionRead
from finance_mcp.services import accounts, transactions

MakePrincipal = Callable[..., Awaitable[Principal]]

DAY = dt.date(2026, 1, 15)


async def open_account(
    db: Database, principal: Principal, opening: str = "0", *, name: str = "Checking", account_type: str = "checking"
) -> AccountRead:
    data = AccountCreate.model_validate({"name": name, "account_type": account_type, "opening_balance": opening})
    return await accounts.create_account(db, principal, data)


def item(amount: str, **fields: Any) -> TransactionFields:
    """Transaction fields with a default date and category."""
    return TransactionFields.model_validate({"amount": amount, "date": DAY, "category": "Groceries", **fields})


async def record(db: Database, principal: Principal, account_id: int, amount: str, **fields: Any) -> TransactionRead:
    created = await transactions.record_transaction(db, principal, account_id, item(amount, **fields))
    return created.transaction


async def balance_of(db: Database, principal: Principal, account_id: int) -> Decimal:
    return (await accounts.get_account(db, principal, account_id)).balance


async def all_transactions(db: Database, principal: Principal, **filters: Any) -> list[TransactionRead]:
    page = await transactions.list_transactions(db, principal, TransactionFilter(**filters), limit=500)
    assert page.next_cursor is None, "more than one page; the helper expects small households"
    return page.transactions


async def count_rows(db: Database, sql: str, **params: Any) -> int:
    async with db.connect(write=False) as conn:
        return int((await conn.execute(text(sql), params)).scalar_one())


async def household_state(db: Database, principal: Principal) -> dict[str, Any]:
    """Everything of the household a change could touch, to compare before and after a refused operation."""
    listed = await accounts.list_accounts(db, principal)
    return {
        "accounts": listed.model_dump(),
        "transactions": [t.model_dump() for t in await all_transactions(db, principal)],
        "row_counters": await count_rows(
            db,
            "SELECT coalesce(sum(transaction_count), 0) FROM accounts WHERE household_id = :h",
            h=principal.household_id,
        ),
        "tag_rows": await count_rows(
            db, "SELECT count(*) FROM transaction_tags WHERE household_id = :h", h=principal.household_id
        ),
    }


async def assert_balances_add_up(db: Database, principal: Principal) -> None:
    """The invariants: every account's balance is its opening balance plus the sum of its transactions, and
    its row counter (what an account's listing reports as `total`) is the number of its rows."""
    for account in (await accounts.list_accounts(db, principal)).accounts:
        amounts = [t.amount for t in await all_transactions(db, principal, account_id=account.id)]
        assert account.balance == account.opening_balance + sum(amounts, Decimal("0")), account.name
        counted = await count_rows(db, "SELECT count(*) FROM transactions WHERE account_id = :a", a=account.id)
        kept = await count_rows(db, "SELECT transaction_count FROM accounts WHERE id = :a", a=account.id)
        assert (kept, len(amounts)) == (counted, counted), account.name
