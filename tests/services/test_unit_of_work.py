"""The unit of work: opened by intent, its repositories built on first use, one commit that runs the steps
registered with `before_commit` inside the transaction, and a rollback when the block ends without it."""

from __future__ import annotations

import datetime as dt

import pytest

from finance_mcp.db.database import Database
from finance_mcp.repositories.accounts import AccountRepository
from finance_mcp.repositories.unit_of_work import UnitsOfWork
from tests.services.helpers import MakePrincipal, open_account

pytestmark = pytest.mark.anyio

NOW = dt.datetime(2026, 1, 15, tzinfo=dt.UTC)


async def test_a_unit_builds_only_the_repositories_it_touches_once_each(
    db: Database, make_principal: MakePrincipal
) -> None:
    owner = await make_principal()

    async with UnitsOfWork(db).read(owner.household_id) as uow:
        first = uow.accounts
        built = set(vars(uow))

        assert first is uow.accounts
        assert isinstance(first, AccountRepository)
        assert "accounts" in built
        assert not {"transactions", "analytics", "usage", "api_keys", "oauth"} & built


async def test_steps_before_commit_run_inside_the_transaction_and_commit_with_it(
    db: Database, make_principal: MakePrincipal
) -> None:
    owner = await make_principal()
    account = await open_account(db, owner, name="Before")
    units = UnitsOfWork(db)
    ran: list[str] = []

    async with units.write(owner.household_id) as uow:

        async def rename() -> None:
            ran.append("step")
            await uow.accounts.update(account.id, now=NOW, name="After")

        uow.before_commit(rename)
        assert ran == []
        await uow.commit()

    async with units.read(owner.household_id) as uow:
        stored = await uow.accounts.get(account.id)
    assert ran == ["step"]
    assert stored is not None
    assert stored["name"] == "After"


async def test_leaving_a_unit_without_commit_rolls_back_and_runs_no_step(
    db: Database, make_principal: MakePrincipal
) -> None:
    owner = await make_principal()
    account = await open_account(db, owner, name="Kept")
    units = UnitsOfWork(db)
    ran: list[str] = []

    async with units.write(owner.household_id) as uow:
        await uow.accounts.update(account.id, now=NOW, name="Dropped")

        async def step() -> None:
            ran.append("step")

        uow.before_commit(step)

    async with units.snapshot(owner.household_id) as uow:
        stored = await uow.accounts.get(account.id)
    assert ran == []
    assert stored is not None
    assert stored["name"] == "Kept"


async def test_a_unit_without_a_household_has_no_household_repositories(db: Database) -> None:
    async with UnitsOfWork(db).read() as uow:
        with pytest.raises(RuntimeError, match="without a household"):
            _ = uow.accounts
        assert await uow.api_key_credentials.find("0" * 16) is None
