"""Moving an account's balance and counters inside a write, and the household's room for more rows: shared by
every service that writes transactions (single rows, batches, transfers, splits)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from finance_mcp.domain.money import check_balance
from finance_mcp.domain.principals import Principal
from finance_mcp.repositories.unit_of_work import UnitOfWork
from finance_mcp.services.accounts import account_not_found


async def adjust(
    uow: UnitOfWork, account_id: int, delta: Decimal, rows: int, now: dt.datetime, size: int = 0
) -> Decimal:
    """`balance = balance + delta` (and the counters), atomically; the new balance, checked for range."""
    balance = await uow.accounts.adjust_balance(account_id, delta, rows=rows, size=size, now=now)
    if balance is None:
        raise account_not_found(account_id)
    return check_balance(balance, account_id=account_id)


async def check_room(uow: UnitOfWork, principal: Principal, *, rows: int, size: int) -> None:
    """Refuse a write that would take the household beyond its quotas (under the household's lock)."""
    if not principal.quotas.on_rows:
        return
    await uow.usage.lock()
    held_rows, held_bytes = await uow.usage.totals()
    principal.quotas.check_rows(held_rows=held_rows, held_bytes=held_bytes, rows=rows, added_bytes=size)
