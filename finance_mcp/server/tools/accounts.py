"""Account tools."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from mcp.server.mcpserver import MCPServer
from pydantic import Field

from finance_mcp.schemas import (
    AccountCreate,
    AccountDeleted,
    AccountList,
    AccountRead,
    AccountType,
    AccountUpdate,
    AmountIn,
    Currency,
    Name,
)
from finance_mcp.server.tools import tool, CREATE, DELETE, READ, UPDATE, CurrentPrincipal, Db
from finance_mcp.services import accounts

AccountId = Annotated[int, Field(ge=1, description="Account id, from list_accounts")]


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
            Field(
                description="Balance before any recorded transaction, at most 2 decimal places, as a string; "
                'negative for debts, e.g. "-1200.00"'
            ),
        ] = Decimal("0"),
    ) -> AccountRead:
        """Create an account (bank account, card, loan, cash...) in the household.

        Its balance starts at opening_balance and then follows the transactions recorded on it.
        Returns the account; use its id with create_transaction.
        """
        data = AccountCreate(
            name=name, account_type=account_type, currency=currency, opening_balance=opening_balance
        )
        return await accounts.create_account(db, principal, data)

    @tool(mcp, title="List accounts", annotations=READ)
    async def list_accounts(principal: CurrentPrincipal, db: Db) -> AccountList:
        """List every account of the household with its current balance, ordered by name.

        Start here to find account ids for other tools.
        """
        return await accounts.list_accounts(db, principal)

    @tool(mcp, title="Get account", annotations=READ)
    async def get_account(account_id: AccountId, principal: CurrentPrincipal, db: Db) -> AccountRead:
        """Return one account with its current balance."""
        return await accounts.get_account(db, principal, account_id)

    @tool(mcp, title="Update account", annotations=UPDATE)
    async def update_account(
        account_id: AccountId,
        principal: CurrentPrincipal,
        db: Db,
        name: Annotated[Name | None, Field(description="New name; null leaves it unchanged")] = None,
        account_type: Annotated[AccountType | None, Field(description="New type; null leaves it unchanged")] = None,
    ) -> AccountRead:
        """Rename an account or change its type. Balances change only through transactions."""
        data = AccountUpdate(name=name, account_type=account_type)
        return await accounts.update_account(db, principal, account_id, data)

    @tool(mcp, title="Delete account", annotations=DELETE)
    async def delete_account(account_id: AccountId, principal: CurrentPrincipal, db: Db) -> AccountDeleted:
        """Permanently delete an account AND all of its transactions. Cannot be undone.

        Needs the admin or owner role. Confirm with the user first; say how many transactions will go
        (see list_transactions with account_id).
        """
        return await accounts.delete_account(db, principal, account_id)
