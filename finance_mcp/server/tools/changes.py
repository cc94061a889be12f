"""Change-log tools: read what was changed, and undo a change."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from mcp.server.mcpserver import Context, MCPServer, Resolve
from pydantic import Field

from finance_mcp.schemas.changes import ChangePage, ChangeUndone
from finance_mcp.server.confirm import NOT_ASKED, Confirmation, Question, ask, can_ask, refusal
from finance_mcp.server.errors import translate_tool_errors
from finance_mcp.server.tools import DELETE, READ, CurrentPrincipal, Db, tool
from finance_mcp.services import changes as service

ChangeId = Annotated[int, Field(ge=1, description="Change id, from list_changes")]
EntityType = Literal["account", "transaction", "api_key", "budget", "recurring", "rule"]


@translate_tool_errors
async def ask_before_undoing(change_id: int, principal: CurrentPrincipal, db: Db, ctx: Context) -> Question:
    """An undo of more than one row asks the person first; a missing, foreign or forbidden change, or one
    already undone, is refused here before anyone is asked."""
    if not can_ask(ctx):
        return NOT_ASKED
    preview = await service.preview_undo(db, principal, change_id)
    if preview.rows <= 1:
        return NOT_ASKED
    return ask(f"Undo change {preview.change_id} ({preview.summary})? It puts {preview.rows} rows back as they were.")


def register(mcp: MCPServer) -> None:
    @tool(mcp, title="List changes", annotations=READ)
    async def list_changes(
        principal: CurrentPrincipal,
        db: Db,
        since: Annotated[
            dt.datetime | None, Field(description="Only changes at or after this ISO 8601 time (UTC if no offset)")
        ] = None,
        entity_type: Annotated[EntityType | None, Field(description="Only changes about this kind of thing")] = None,
        entity_id: Annotated[
            int | None, Field(ge=1, description="With entity_type: only changes that touched this account/transaction")
        ] = None,
        limit: Annotated[
            int, Field(ge=0, le=service.MAX_PAGE, description="Changes per page; 0 for the total alone")
        ] = 50,
        cursor: Annotated[str | None, Field(description="next_cursor of the previous page")] = None,
    ) -> ChangePage:
        """List the household's changes (every successful write), newest first, to read back or undo.

        Each says who made it, when, with which tool, a one-line summary to read back to the person, and
        the rows it touched (before and after; the first 20, row_count says how many).

        Use it when the person asks what changed or wants to take something back; then call undo_change
        with the change's id.
        """
        return await service.list_changes(
            db, principal, since=since, entity_type=entity_type, entity_id=entity_id, limit=limit, cursor=cursor
        )

    @tool(mcp, title="Undo a change", annotations=DELETE)
    async def undo_change(
        change_id: ChangeId,
        principal: CurrentPrincipal,
        db: Db,
        confirmation: Annotated[Confirmation, Resolve(ask_before_undoing)],
    ) -> ChangeUndone:
        """Undo one change from list_changes: its rows go back exactly as they were, balances too.

        Ids are kept and balances move back by the same amounts. The undo is itself a change; undoing it
        redoes the original.

        Refused, naming the later change, when a later change touched the same rows: undo that one first.
        Needs the permission the original change needed. When it puts back more than one row and your
        client supports elicitation, the server asks the person first; if they say no, undone=false and
        nothing changed. Call list_accounts or list_transactions afterwards to show the result.
        """
        if (refused := refusal(confirmation)) is not None:
            return ChangeUndone(
                undone=False,
                change_id=change_id,
                undo_change_id=None,
                summary="Nothing was undone.",
                rows_restored=0,
                not_confirmed=refused.not_confirmed,
                note=refused.note,
            )
        return await service.undo_change(db, principal, change_id)
