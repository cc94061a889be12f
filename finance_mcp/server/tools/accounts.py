"""Account tools."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from mcp.server.mcpserver import Context, MCPServer, Resolve
from pydantic import Field

from finance_mcp.domain.errors import NotFound
from finance_mcp.domain.money import format_amount
from finance_mcp.schemas.accounts import (
    AccountCreate,
    AccountDeleted,
    AccountList,
    AccountRead,
    AccountType,
    AccountUpdate,
)
from finance_mcp.schemas.common import AmountIn, Currency, Name
from finance_mcp.server.confirm import NOT_ASKED, Confirmation, Question, ask, can_ask, refusal
from finance_mcp.server.errors import translate_tool_errors
from finance_mcp.server.tools import CREATE, DELETE, READ, UPDATE, CurrentPrincipal, Db, tool
from finance_mcp.services import accounts
from finance_mcp.services.accounts import AccountDeletion

AccountId = Annotated[int, Field(ge=1, description="Account id, from list_accounts")]


@translate_tool_errors
async def ask_before_deleting_account(account_id: int, principal: CurrentPrincipal, db: Db, ctx: Context) -> Question:
    """A forbidden account is refused here, before the person is asked anything. A missing or foreign one is
    not asked about: the body answers it, as "not found" or, for a retry of a keyed delete that succeeded, with
    the first call's result (the idempotency wrapper runs inside the body, after this resolver)."""
    if not can_ask(ctx):
        return NOT_ASKED
    try:
        doomed = await accounts.preview_account_deletion(db, principal, account_id)
    except NotFound:
        return NOT_ASKED
    return ask(deletion_question(doomed))


def deletion_question(doomed: AccountDeletion) -> str:
    account, count = doomed.account, doomed.transactions
    held = {0: "It has no transactions", 1: "Its 1 transaction goes with it"}.get(
        count, f"All {count} of its transactions go with it"
    )
    return (
        f'Delete the account "{account.name}" ({account.account_type}, balance '
        f"{format_amount(account.balance)} {account.currency})? {held}. It can be undone afterwards with undo_change."
    )


def register(mcp: MCPServer) -> None:
    @tool(mcp, title="Create account", annotations=CREATE)
    async def create_account(
        name: Name,
        account_type: Annotated[AccountType, Field(description="Kind of account")],
        principal: CurrentPrincipal,
        db: Db,
        currency: Currency = "USD",
        opening_balance: Annotated[
            AmountIn,
            Field(description='Balance before any transaction, as a string; negative for debts, e.g. "-1200.00"'),
        ] = Decimal("0"),
    ) -> AccountRead:
        """Create an account (bank account, card, loan, cash...) in the household.

        Its balance starts at opening_balance and then follows the transactions recorded on it.
        Returns the account; use its id with create_transaction.
        """
        data = AccountCreate(name=name, account_type=account_type, currency=currency, opening_balance=opening_balance)
        return await accounts.create_account(db, principal, data)

    @tool(mcp, title="List accounts", annotations=READ)
    async def list_accounts(principal: CurrentPrincipal, db: Db) -> AccountList:
        """List every account of the household with its current balance, ordered by name.

        Find account ids here for create_transaction and list_transactions; get_overview adds this month.
        """
        return await accounts.list_accounts(db, principal)

    @tool(mcp, title="Get account", annotations=READ)
    async def get_account(account_id: AccountId, principal: CurrentPrincipal, db: Db) -> AccountRead:
        """Return one account with its current balance.

        Use it to check one balance after a change; list_transactions with account_id shows its rows.
        """
        return await accounts.get_account(db, principal, account_id)

    @tool(mcp, title="Update account", annotations=UPDATE)
    async def update_account(
        account_id: AccountId,
        principal: CurrentPrincipal,
        db: Db,
        name: Annotated[Name | None, Field(description="New name; null leaves it unchanged")] = None,
        account_type: Annotated[AccountType | None, Field(description="New type; null leaves it unchanged")] = None,
    ) -> AccountRead:
        """Rename an account or change its type. Balances change only through transactions.

        To correct a balance, record the difference with create_transaction instead.
        """
        data = AccountUpdate(name=name, account_type=account_type)
        return await accounts.update_account(db, principal, account_id, data)

    @tool(mcp, title="Delete account", annotations=DELETE)
    async def delete_account(
        account_id: AccountId,
        principal: CurrentPrincipal,
        db: Db,
        confirmation: Annotated[Confirmation, Resolve(ask_before_deleting_account)],
    ) -> AccountDeleted:
        """Delete an account AND all of its transactions. undo_change (see list_changes) can put them back.

        Needs admin or owner. With elicitation the server asks the person itself; otherwise confirm with
        them first (list_transactions with account_id and limit=0 counts what goes). If they say no,
        deleted=false and nothing was deleted.
        """
        if (refused := refusal(confirmation)) is not None:
            return AccountDeleted(
                deleted=False,
                account_id=account_id,
                transactions_deleted=0,
                not_confirmed=refused.not_confirmed,
                note=refused.note,
            )
        return await accounts.delete_account(db, principal, account_id)
