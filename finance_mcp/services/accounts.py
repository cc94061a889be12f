"""Accounts: create, read, rename, delete. Balances move only with transactions (services/transactions)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from finance_mcp.db.database import Database
from finance_mcp.domain import currencies
from finance_mcp.domain.errors import Invalid, NotFound
from finance_mcp.domain.money import format_amount
from finance_mcp.domain.principals import Permission, Principal
from finance_mcp.repositories.change_recorder import image
from finance_mcp.repositories.unit_of_work import UnitsOfWork
from finance_mcp.schemas.accounts import AccountCreate, AccountDeleted, AccountList, AccountRead, AccountUpdate


def account_not_found(account_id: int) -> NotFound:
    return NotFound(
        f"Account {account_id} was not found in your household; call list_accounts to see the valid account ids."
    )


def to_account(row: Mapping[Any, Any]) -> AccountRead:
    return AccountRead.model_validate(dict(row))


async def create_account(db: Database, principal: Principal, data: AccountCreate) -> AccountRead:
    principal.require(Permission.WRITE)
    currencies.check_amount(data.opening_balance, currencies.check_code(data.currency), field="opening_balance")
    now = dt.datetime.now(dt.UTC)
    async with UnitsOfWork(db).write(principal.household_id) as uow:
        if principal.quotas.accounts:
            await uow.usage.lock()  # one create at a time per household: concurrent ones cannot overshoot
            principal.quotas.check_accounts(await uow.usage.accounts())
        row = await uow.accounts.add(
            created_by=principal.user_id,
            now=now,
            name=data.name,
            account_type=data.account_type,
            currency=data.currency,
            opening_balance=data.opening_balance,
            balance=data.opening_balance,
        )
        opening = format_amount(data.opening_balance)
        summary = f'Created the {data.account_type} account "{data.name}" (opening balance {opening})'
        uow.log.describe(
            by=principal, tool="create_account", summary=summary, entity_type="account", entity_id=row["id"]
        )
        uow.log.row(
            "accounts", row["id"], None, image(row, created_by=principal.user_id, transaction_count=0, stored_bytes=0)
        )
        await uow.commit()
    return to_account(row)


async def list_accounts(db: Database, principal: Principal) -> AccountList:
    principal.require(Permission.READ)
    async with UnitsOfWork(db).read(principal.household_id) as uow:
        rows = await uow.accounts.list()
    return AccountList(accounts=[to_account(row) for row in rows], total=len(rows))


async def get_account(db: Database, principal: Principal, account_id: int) -> AccountRead:
    principal.require(Permission.READ)
    async with UnitsOfWork(db).read(principal.household_id) as uow:
        row = await uow.accounts.get(account_id)
    if row is None:
        raise account_not_found(account_id)
    return to_account(row)


async def update_account(db: Database, principal: Principal, account_id: int, data: AccountUpdate) -> AccountRead:
    principal.require(Permission.WRITE)
    changes = data.model_dump(exclude_none=True)
    if not changes:
        raise Invalid("Nothing to change: give a new name or account_type (null means leave unchanged).")
    async with UnitsOfWork(db).write(principal.household_id) as uow:
        before = await uow.accounts.image(account_id)
        row = await uow.accounts.update(account_id, now=dt.datetime.now(dt.UTC), **changes)
        if row is None or before is None:
            raise account_not_found(account_id)
        summary = f"Changed {', '.join(sorted(changes))} of account {account_id}"
        uow.log.describe(
            by=principal, tool="update_account", summary=summary, entity_type="account", entity_id=account_id
        )
        uow.log.row("accounts", account_id, image({k: before[k] for k in row}), image(row))
        await uow.commit()
    return to_account(row)


@dataclass(frozen=True)
class AccountDeletion:
    """What deleting an account would destroy: the account, and the transactions that go with it."""

    account: AccountRead
    transactions: int


async def preview_account_deletion(db: Database, principal: Principal, account_id: int) -> AccountDeletion:
    """What `delete_account` would destroy, refused exactly as the delete would be (role, household)."""
    principal.require(Permission.ADMIN)
    async with UnitsOfWork(db).read(principal.household_id) as uow:
        row = await uow.accounts.get(account_id)
        count = await uow.accounts.transaction_count(account_id) if row is not None else None
    if row is None or count is None:
        raise account_not_found(account_id)
    return AccountDeletion(account=to_account(row), transactions=count)


async def delete_account(db: Database, principal: Principal, account_id: int) -> AccountDeleted:
    principal.require(Permission.ADMIN)
    async with UnitsOfWork(db).write(principal.household_id) as uow:
        # Its recurring series go with it (a cascade): logged first, so an undo puts them back last.
        series, postings = await uow.recurring.of_account(account_id)
        removed = await uow.accounts.delete(account_id)
        if removed is None:
            raise account_not_found(account_id)
        name = uow.accounts.deleted_rows[-1][1]["name"]
        summary = f'Deleted the account "{name}" ({account_id}) and its {removed} transactions'
        uow.log.describe(
            by=principal, tool="delete_account", summary=summary, entity_type="account", entity_id=account_id
        )
        for posting in postings:
            uow.log.row("recurring_postings", int(posting["id"]), image(posting), None)
        for gone in series:
            uow.log.row("recurring", int(gone["id"]), image(gone), None)
        for table, gone in uow.accounts.deleted_rows:
            uow.log.row(table, gone["id"], image(gone), None)
        # A transfer with a leg in another account: that leg stays (its money did arrive) as a plain row.
        legs = {int(gone["transfer_id"]) for _, gone in uow.accounts.deleted_rows if gone.get("transfer_id")}
        for was, now in await uow.transactions.unlink(sorted(legs)):
            uow.log.row("transactions", int(was["id"]), image(was), image(now))
        await uow.commit()
    return AccountDeleted(account_id=account_id, transactions_deleted=removed)
