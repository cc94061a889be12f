"""Roles and token scopes: what each caller may do, and that a refusal changes nothing."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal

import pytest

from finance_mcp.db.database import Database
from finance_mcp.domain.errors import PermissionDenied
from finance_mcp.domain.principals import Permission, Principal, Role
from finance_mcp.schemas.accounts import AccountCreate, AccountDeleted, AccountUpdate
from finance_mcp.schemas.transactions import TransactionFilter, TransactionUpdate
from finance_mcp.services import accounts, transactions
from finance_mcp.services.households import describe
from tests.services.helpers import MakePrincipal, household_state, item, open_account, record

pytestmark = pytest.mark.anyio

READ_ONLY = frozenset({"finance:read"})
READ_WRITE = frozenset({"finance:read", "finance:write"})
ALL_SCOPES = frozenset({"finance:read", "finance:write", "finance:admin"})


@dataclass
class Household:
    """A household set up by its owner, with an account and a transaction, and a caller to try things."""

    tenant: str
    owner: Principal
    account: int
    transaction: int


@pytest.fixture
async def household(db: Database, make_principal: MakePrincipal) -> Household:
    tenant = uuid.uuid4().hex
    owner = await make_principal(tenant=tenant)
    account = await open_account(db, owner, "100")
    transaction = await record(db, owner, account.id, "-10")
    return Household(tenant, owner, account.id, transaction.id)


Join = Callable[..., Awaitable[Principal]]


@pytest.fixture
def join(household: Household, make_principal: MakePrincipal) -> Join:
    """Another user of the same household, with the given role and scopes."""

    async def make(role: Role, scopes: frozenset[str] = frozenset()) -> Principal:
        return await make_principal(role=role, tenant=household.tenant, scopes=scopes)

    return make


Operation = Callable[[Database, Principal, Household], Awaitable[object]]

READS: dict[str, Operation] = {
    "list_accounts": lambda db, p, h: accounts.list_accounts(db, p),
    "get_account": lambda db, p, h: accounts.get_account(db, p, h.account),
    "list_transactions": lambda db, p, h: transactions.list_transactions(db, p, TransactionFilter()),
    "get_transaction": lambda db, p, h: transactions.get_transaction(db, p, h.transaction),
}
WRITES: dict[str, Operation] = {
    "create_account": lambda db, p, h: accounts.create_account(db, p, AccountCreate(name="New", account_type="cash")),
    "update_account": lambda db, p, h: accounts.update_account(db, p, h.account, AccountUpdate(name="Renamed")),
    "create_transaction": lambda db, p, h: transactions.record_transaction(db, p, h.account, item("-1")),
    "create_transactions_batch": lambda db, p, h: transactions.record_batch(db, p, h.account, [item("-1")]),
    "update_transaction": lambda db, p, h: transactions.update_transaction(
        db, p, h.transaction, TransactionUpdate(amount=Decimal("-20"))
    ),
    "delete_transaction": lambda db, p, h: transactions.delete_transaction(db, p, h.transaction),
}


async def delete_the_account(db: Database, caller: Principal, household: Household) -> AccountDeleted:
    return await accounts.delete_account(db, caller, household.account)


async def assert_refused(db: Database, caller: Principal, household: Household, operation: Operation, why: str) -> None:
    before = await household_state(db, household.owner)
    with pytest.raises(PermissionDenied, match=why):
        await operation(db, caller, household)
    assert await household_state(db, household.owner) == before


# ---- roles ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("operation", READS.values(), ids=READS.keys())
@pytest.mark.parametrize("role", list(Role))
async def test_every_role_can_read(
    db: Database, household: Household, join: Join, role: Role, operation: Operation
) -> None:
    caller = await join(role)

    assert await operation(db, caller, household) is not None


@pytest.mark.parametrize("operation", [*WRITES.values(), delete_the_account], ids=[*WRITES.keys(), "delete_account"])
async def test_a_viewer_cannot_change_anything(
    db: Database, household: Household, join: Join, operation: Operation
) -> None:
    viewer = await join(Role.VIEWER)

    await assert_refused(db, viewer, household, operation, r"Your role \(viewer\) does not allow")


@pytest.mark.parametrize("role", [Role.MEMBER, Role.ADMIN, Role.OWNER])
@pytest.mark.parametrize("operation", WRITES.values(), ids=WRITES.keys())
async def test_members_and_above_can_write_transactions_and_accounts(
    db: Database, household: Household, join: Join, role: Role, operation: Operation
) -> None:
    caller = await join(role)
    before = await household_state(db, household.owner)

    await operation(db, caller, household)

    assert await household_state(db, household.owner) != before


async def test_a_member_cannot_delete_an_account(db: Database, household: Household, join: Join) -> None:
    member = await join(Role.MEMBER)

    await assert_refused(
        db, member, household, delete_the_account, r"Your role \(member\) does not allow deleting accounts"
    )


@pytest.mark.parametrize("role", [Role.ADMIN, Role.OWNER])
async def test_admins_and_owners_can_delete_an_account(
    db: Database, household: Household, join: Join, role: Role
) -> None:
    caller = await join(role)

    deleted = await delete_the_account(db, caller, household)

    assert deleted == AccountDeleted(account_id=household.account, transactions_deleted=1)
    assert (await accounts.list_accounts(db, household.owner)).total == 0


# ---- scopes --------------------------------------------------------------------------------------


@pytest.mark.parametrize("operation", [*WRITES.values(), delete_the_account], ids=[*WRITES.keys(), "delete_account"])
async def test_a_read_only_token_cannot_write_even_for_an_owner(
    db: Database, household: Household, join: Join, operation: Operation
) -> None:
    reader = await join(Role.OWNER, READ_ONLY)

    await assert_refused(db, reader, household, operation, "lacks the finance:(write|admin) scope")


@pytest.mark.parametrize("operation", READS.values(), ids=READS.keys())
async def test_a_read_only_token_can_read(db: Database, household: Household, join: Join, operation: Operation) -> None:
    reader = await join(Role.OWNER, READ_ONLY)

    assert await operation(db, reader, household) is not None


@pytest.mark.parametrize("operation", WRITES.values(), ids=WRITES.keys())
async def test_a_read_write_token_can_write(
    db: Database, household: Household, join: Join, operation: Operation
) -> None:
    writer = await join(Role.OWNER, READ_WRITE)
    before = await household_state(db, household.owner)

    await operation(db, writer, household)

    assert await household_state(db, household.owner) != before


async def test_a_read_write_token_cannot_delete_an_account_even_as_owner(
    db: Database, household: Household, join
) -> None:
    writer = await join(Role.OWNER, READ_WRITE)

    await assert_refused(db, writer, household, delete_the_account, "lacks the finance:admin scope")


async def test_a_write_scope_without_read_cannot_read(db: Database, household: Household, join: Join) -> None:
    writer = await join(Role.OWNER, frozenset({"finance:write"}))

    with pytest.raises(PermissionDenied, match="finance:read"):
        await accounts.list_accounts(db, writer)


async def test_an_owner_with_every_finance_scope_can_delete_an_account(
    db: Database, household: Household, join
) -> None:
    owner = await join(Role.OWNER, ALL_SCOPES)

    assert (await delete_the_account(db, owner, household)).transactions_deleted == 1


async def test_without_finance_scopes_the_role_decides(db: Database, household: Household, join: Join) -> None:
    owner = await join(Role.OWNER, frozenset({"openid", "profile", "email"}))

    assert (await delete_the_account(db, owner, household)).transactions_deleted == 1


async def test_scopes_never_widen_a_role(db: Database, household: Household, join: Join) -> None:
    viewer = await join(Role.VIEWER, ALL_SCOPES)
    member = await join(Role.MEMBER, ALL_SCOPES)

    await assert_refused(db, viewer, household, WRITES["create_transaction"], r"Your role \(viewer\)")
    await assert_refused(db, member, household, delete_the_account, r"Your role \(member\)")


# ---- the permission table itself ---------------------------------------------------------------


def principal(role: Role, scopes: frozenset[str] = frozenset()) -> Principal:
    return Principal(
        user_id=1, household_id=1, household_name="H", auth_user_id="1", email=None, role=role, scopes=scopes
    )


@pytest.mark.parametrize(
    ("role", "scopes", "expected"),
    [
        (Role.VIEWER, frozenset(), {"read"}),
        (Role.MEMBER, frozenset(), {"read", "write"}),
        (Role.ADMIN, frozenset(), {"read", "write", "admin"}),
        (Role.OWNER, frozenset(), {"read", "write", "admin", "owner"}),
        (Role.OWNER, READ_ONLY, {"read"}),
        (Role.OWNER, READ_WRITE, {"read", "write"}),
        (Role.OWNER, ALL_SCOPES, {"read", "write", "admin", "owner"}),
        (Role.VIEWER, ALL_SCOPES, {"read"}),
        (Role.ADMIN, frozenset({"openid"}), {"read", "write", "admin"}),
        (Role.OWNER, frozenset({"finance:unknown"}), set()),
    ],
)
def test_permissions_are_the_role_narrowed_by_finance_scopes(
    role: Role, scopes: frozenset[str], expected: set[str]
) -> None:
    caller = principal(role, scopes)

    assert {p.value for p in caller.permissions} == expected


def test_whoami_describes_the_caller() -> None:
    caller = principal(Role.MEMBER, frozenset({"finance:write", "finance:read", "openid"}))

    assert describe(caller).model_dump() == {
        "user": {"id": 1, "auth_user_id": "1", "email": None},
        "household": {"id": 1, "name": "H"},
        "role": "member",
        "scopes": ["finance:read", "finance:write", "openid"],
        "permissions": ["read", "write"],
    }


def test_whoami_needs_read_permission() -> None:
    with pytest.raises(PermissionDenied, match="finance:read"):
        describe(principal(Role.OWNER, frozenset({"finance:write"})))


def test_a_refusal_for_a_missing_scope_says_which_scope() -> None:
    with pytest.raises(PermissionDenied, match="lacks the finance:admin scope needed for deleting accounts"):
        principal(Role.ADMIN, READ_WRITE).require(Permission.ADMIN)
