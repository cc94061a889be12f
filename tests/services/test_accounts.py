"""Accounts through the service layer: create, list, get, update, delete, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from pydantic import ValidationError

from finance_mcp.db.database import Database
from finance_mcp.domain.errors import Invalid, NotFound, PermissionDenied
from finance_mcp.domain.principals import Role
from finance_mcp.schemas.accounts import AccountCreate, AccountUpdate
from finance_mcp.schemas.transactions import TransactionFilter
from finance_mcp.services import accounts, transactions
from tests.services.helpers import (
    MakePrincipal,
    all_transactions,
    count_rows,
    household_state,
    open_account,
    record,
)

pytestmark = pytest.mark.anyio


async def test_a_new_account_starts_with_its_opening_balance(db: Database, make_principal: MakePrincipal) -> None:
    me = await make_principal()

    account = await accounts.create_account(
        db,
        me,
        AccountCreate(name="  Everyday  ", account_type="checking", currency="eur", opening_balance=Decimal("1000")),
    )

    assert account.name == "Everyday"
    assert account.account_type == "checking"
    assert account.currency == "EUR"
    assert account.opening_balance == Decimal("1000.00")
    assert account.balance == Decimal("1000.00")
    assert account.model_dump(mode="json")["balance"] == "1000.00"
    assert account.created_at.tzinfo == dt.UTC
    assert account.created_at == account.updated_at


async def test_an_account_defaults_to_usd_and_a_zero_opening_balance(
    db: Database, make_principal: MakePrincipal
) -> None:
    me = await make_principal()

    account = await accounts.create_account(db, me, AccountCreate(name="Wallet", account_type="cash"))

    assert account.currency == "USD"
    assert account.model_dump(mode="json")["opening_balance"] == "0.00"


async def test_an_account_may_open_with_a_negative_balance(db: Database, make_principal: MakePrincipal) -> None:
    me = await make_principal()
    card = await open_account(db, me, "-1200.50", name="Visa", account_type="credit_card")

    await record(db, me, card.id, "-99.50")

    fetched = await accounts.get_account(db, me, card.id)
    assert card.balance == Decimal("-1200.50")
    assert fetched.opening_balance == Decimal("-1200.50")
    assert fetched.model_dump(mode="json")["balance"] == "-1300.00"


async def test_list_accounts_shows_every_account_of_the_household_by_name(
    db: Database, make_principal: MakePrincipal
) -> None:
    me = await make_principal()
    savings = await open_account(db, me, "10", name="Savings", account_type="savings")
    checking = await open_account(db, me, "20", name="Checking")
    brokerage = await open_account(db, me, name="Brokerage", account_type="investment")

    listed = await accounts.list_accounts(db, me)

    assert listed.total == 3
    assert [a.id for a in listed.accounts] == [brokerage.id, checking.id, savings.id]
    assert listed.accounts[2] == savings


async def test_a_new_household_has_no_accounts(db: Database, make_principal: MakePrincipal) -> None:
    me = await make_principal()

    listed = await accounts.list_accounts(db, me)

    assert listed.total == 0
    assert listed.accounts == []


async def test_members_of_one_tenant_share_its_accounts(db: Database, make_principal: MakePrincipal) -> None:
    tenant = uuid.uuid4().hex
    owner = await make_principal(tenant=tenant)
    partner = await make_principal(tenant=tenant, role=Role.MEMBER)
    account = await open_account(db, owner, "5")

    await record(db, partner, account.id, "-2")

    assert partner.household_id == owner.household_id
    assert partner.user_id != owner.user_id
    assert (await accounts.get_account(db, owner, account.id)).balance == Decimal("3.00")
    assert (await accounts.list_accounts(db, partner)).total == 1


async def test_get_account_shows_the_current_balance(db: Database, make_principal: MakePrincipal) -> None:
    me = await make_principal()
    account = await open_account(db, me, "100")
    await record(db, me, account.id, "-30.25")

    fetched = await accounts.get_account(db, me, account.id)

    assert fetched.id == account.id
    assert fetched.balance == Decimal("69.75")
    assert fetched.opening_balance == Decimal("100.00")


async def test_update_account_renames_and_retypes_it(db: Database, make_principal: MakePrincipal) -> None:
    me = await make_principal()
    account = await open_account(db, me, "7", name="Old")

    updated = await accounts.update_account(
        db, me, account.id, AccountUpdate(name=" New name ", account_type="savings")
    )

    assert updated.name == "New name"
    assert updated.account_type == "savings"
    assert updated.balance == Decimal("7.00")
    assert updated.updated_at >= account.updated_at
    assert await accounts.get_account(db, me, account.id) == updated


async def test_update_account_leaves_null_fields_unchanged(db: Database, make_principal: MakePrincipal) -> None:
    me = await make_principal()
    account = await open_account(db, me, name="Kept", account_type="loan")

    renamed = await accounts.update_account(db, me, account.id, AccountUpdate(name="Renamed", account_type=None))
    retyped = await accounts.update_account(db, me, account.id, AccountUpdate(name=None, account_type="other"))

    assert (renamed.name, renamed.account_type) == ("Renamed", "loan")
    assert (retyped.name, retyped.account_type) == ("Renamed", "other")


async def test_update_account_with_nothing_to_change_is_invalid(db: Database, make_principal: MakePrincipal) -> None:
    me = await make_principal()
    account = await open_account(db, me)
    before = await household_state(db, me)

    with pytest.raises(Invalid, match="name or account_type"):
        await accounts.update_account(db, me, account.id, AccountUpdate())

    assert await household_state(db, me) == before


async def test_delete_account_removes_it_with_its_transactions_and_counts_them(
    db: Database, make_principal: MakePrincipal
) -> None:
    me = await make_principal()
    doomed = await open_account(db, me, "100", name="Doomed")
    kept = await open_account(db, me, "100", name="Kept")
    for amount in ("-1", "-2", "3"):
        await record(db, me, doomed.id, amount, tags=["gone"])
    survivor = await record(db, me, kept.id, "-4", tags=["gone"])

    deleted = await accounts.delete_account(db, me, doomed.id)

    assert deleted.model_dump() == {"deleted": True, "account_id": doomed.id, "transactions_deleted": 3}
    with pytest.raises(NotFound):
        await accounts.get_account(db, me, doomed.id)
    assert [a.id for a in (await accounts.list_accounts(db, me)).accounts] == [kept.id]
    assert await all_transactions(db, me) == [survivor]
    assert await all_transactions(db, me, tags=["gone"]) == [survivor]
    assert (await accounts.get_account(db, me, kept.id)).balance == Decimal("96.00")
    tag_rows = "SELECT count(*) FROM transaction_tags WHERE household_id = :h"
    assert await count_rows(db, tag_rows, h=me.household_id) == 1


async def test_a_deletion_preview_names_what_would_go_and_refuses_as_the_delete_does(
    db: Database, make_principal: MakePrincipal
) -> None:
    tenant = f"t{uuid.uuid4().hex[:10]}"
    owner = await make_principal(tenant=tenant)
    member = await make_principal(Role.MEMBER, tenant=tenant)
    stranger = await make_principal()
    doomed = await open_account(db, owner, "100", name="Doomed")
    for amount in ("-1", "-2"):
        await record(db, owner, doomed.id, amount)
    before = await household_state(db, owner)

    preview = await accounts.preview_account_deletion(db, owner, doomed.id)

    assert (preview.account.name, preview.account.balance, preview.transactions) == ("Doomed", Decimal("97.00"), 2)
    with pytest.raises(PermissionDenied):
        await accounts.preview_account_deletion(db, member, doomed.id)
    with pytest.raises(NotFound, match=rf"Account {doomed.id} was not found"):
        await accounts.preview_account_deletion(db, stranger, doomed.id)
    assert await household_state(db, owner) == before


async def test_deleting_an_account_without_transactions_reports_none_deleted(
    db: Database, make_principal: MakePrincipal
) -> None:
    me = await make_principal()
    account = await open_account(db, me)

    deleted = await accounts.delete_account(db, me, account.id)

    assert deleted.transactions_deleted == 0
    assert (await accounts.list_accounts(db, me)).total == 0


async def test_a_deleted_account_cannot_be_deleted_again_or_written_to(
    db: Database, make_principal: MakePrincipal
) -> None:
    me = await make_principal()
    account = await open_account(db, me)
    await accounts.delete_account(db, me, account.id)

    with pytest.raises(NotFound):
        await accounts.delete_account(db, me, account.id)
    with pytest.raises(NotFound):
        await record(db, me, account.id, "1")


@pytest.mark.parametrize("account_id", [999_999_999, 2**63, 10**30])
async def test_a_missing_account_is_not_found_for_every_account_operation(
    db: Database, make_principal: MakePrincipal, account_id: int
) -> None:
    me = await make_principal()
    await open_account(db, me)
    before = await household_state(db, me)

    with pytest.raises(NotFound, match=rf"Account {account_id} was not found.*list_accounts"):
        await accounts.get_account(db, me, account_id)
    with pytest.raises(NotFound):
        await accounts.update_account(db, me, account_id, AccountUpdate(name="x"))
    with pytest.raises(NotFound):
        await accounts.delete_account(db, me, account_id)
    with pytest.raises(NotFound):
        await record(db, me, account_id, "1")
    with pytest.raises(NotFound):
        await transactions.list_transactions(db, me, TransactionFilter(account_id=account_id))

    assert await household_state(db, me) == before


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": "", "account_type": "cash"}, "name"),
        ({"name": "   ", "account_type": "cash"}, "name"),
        ({"name": "x" * 101, "account_type": "cash"}, "name"),
        ({"name": "Piggy", "account_type": "piggy_bank"}, "account_type"),
        ({"name": "Wallet", "account_type": "cash", "currency": "DOLLARS"}, "currency"),
        ({"name": "Wallet", "account_type": "cash", "opening_balance": "1.234"}, "opening_balance"),
        ({"name": "Wallet", "account_type": "cash", "opening_balance": "NaN"}, "opening_balance"),
        ({"name": "Wallet", "account_type": "cash", "opening_balance": "10000000000000"}, "opening_balance"),
        ({"name": "Wallet", "account_type": "cash", "balance": "5"}, "balance"),
    ],
)
def test_a_bad_account_is_refused_naming_the_field(fields: dict[str, str], field: str) -> None:
    with pytest.raises(ValidationError) as error:
        AccountCreate.model_validate(fields)

    assert [e["loc"] for e in error.value.errors()] == [(field,)]
    assert field in str(error.value)


def test_an_account_update_refuses_a_blank_name() -> None:
    with pytest.raises(ValidationError) as error:
        AccountUpdate(name="  ")

    assert error.value.errors()[0]["loc"] == ("name",)
