"""Transfer and split tools: money moved between accounts, and one transaction counted as several parts."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from mcp.server.mcpserver import MCPServer
from pydantic import Field

from finance_mcp.schemas.common import AmountIn, Description
from finance_mcp.schemas.splits import SplitPart, TransactionSplitDone
from finance_mcp.schemas.transfers import TransferCreate, TransferCreated
from finance_mcp.server.tools import CREATE, UPDATE, CurrentPrincipal, Db, tool
from finance_mcp.services import splits, transfers

AccountId = Annotated[int, Field(ge=1, description="Account id, from list_accounts")]


def register(mcp: MCPServer) -> None:
    @tool(mcp, title="Move money between accounts", annotations=CREATE)
    async def create_transfer(
        from_account_id: AccountId,
        to_account_id: AccountId,
        amount: Annotated[AmountIn, Field(description='What leaves from_account_id, positive, e.g. "250.00"')],
        date: Annotated[dt.date, Field(description="Date as YYYY-MM-DD")],
        principal: CurrentPrincipal,
        db: Db,
        description: Description = None,
        to_amount: Annotated[
            AmountIn | None,
            Field(description="What arrives, in to_account_id's currency: only when the two currencies differ"),
        ] = None,
    ) -> TransferCreated:
        """Move money from one of the household's accounts to another (savings, a card payment, cash).

        Records two linked transactions of category 'transfer': out of one, in to the other; never spending
        or income. Edit either leg with update_transaction (the other follows); delete_transaction deletes
        both. Between currencies, also give to_amount.
        """
        data = TransferCreate(
            from_account_id=from_account_id,
            to_account_id=to_account_id,
            amount=amount,
            date=date,
            description=description,
            to_amount=to_amount,
        )
        return await transfers.create_transfer(db, principal, data)

    @tool(mcp, title="Split a transaction", annotations=UPDATE)
    async def split_transaction(
        transaction_id: Annotated[int, Field(ge=1, description="Transaction id, from list_transactions")],
        parts: Annotated[
            list[SplitPart],
            Field(
                max_length=splits.MAX_PARTS,
                description="2-50 parts whose amounts add up exactly to the transaction's; [] removes the split",
            ),
        ],
        principal: CurrentPrincipal,
        db: Db,
    ) -> TransactionSplitDone:
        """Count one transaction as several parts (categories) whose amounts add up exactly to its amount.

        For example a -100.00 receipt as Groceries -60.00 and Household -40.00.

        Analytics count the parts instead of the transaction; balances do not change. A part without tags
        takes the transaction's; splitting again replaces the parts; parts=[] removes them. See
        spending_summary.
        """
        return await splits.split_transaction(db, principal, transaction_id, parts)
