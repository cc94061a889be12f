"""The import tool: a bank statement file into an account, previewed first."""

from __future__ import annotations

from typing import Annotated

from mcp.server.mcpserver import Context, MCPServer
from pydantic import Field

from finance_mcp.schemas.imports import ColumnMapping, ImportFormat, ImportResult
from finance_mcp.server.tools import CREATE, CurrentPrincipal, Db, tool
from finance_mcp.services import imports as service


def register(mcp: MCPServer, *, max_bytes: int) -> None:
    @tool(mcp, title="Import a bank statement", annotations=CREATE)
    async def import_transactions(
        account_id: Annotated[int, Field(ge=1, description="Account to import into, from list_accounts")],
        content: Annotated[
            str,
            Field(
                description="The file's text: CSV, OFX, QFX, QIF, CAMT.053 XML or our own CSV/JSON export (a few MB)"
            ),
        ],
        principal: CurrentPrincipal,
        db: Db,
        ctx: Context,
        format: Annotated[ImportFormat, Field(description="The file's format; auto recognises it")] = "auto",
        mapping: Annotated[
            ColumnMapping | None,
            Field(description="CSV only: which column header holds what, when the headers are not recognised"),
        ] = None,
        date_format: Annotated[
            str | None,
            Field(min_length=2, max_length=40, description='CSV/QIF dates, e.g. "DD.MM.YYYY" or "%m/%d/%Y"'),
        ] = None,
        dry_run: Annotated[bool, Field(description="true: preview only, nothing stored; false: import")] = True,
    ) -> ImportResult:
        """Import a bank's statement file (CSV, OFX/QFX, QIF, CAMT.053, or our own
        CSV/JSON export, read back exactly) into one account.

        First call with dry_run=true (the default): it stores nothing and shows the rows to add, those
        already there (re-importing never adds a row twice), a sample and each problem with its row
        number. Unrecognised CSV columns: pass mapping; dates read the wrong way round: date_format.
        Then dry_run=false adds all rows or none as one change (undo_change takes it back). Rows without
        a category get "Uncategorized", then the household's rules run (create_rule).
        """

        async def report(done: int, total: int, message: str) -> None:
            await ctx.report_progress(done, total, message)

        return await service.import_transactions(
            db,
            principal,
            account_id,
            content,
            format=format,
            mapping=mapping.named() if mapping else None,
            date_format=date_format,
            dry_run=dry_run,
            max_bytes=max_bytes,
            progress=report,
        )
