"""The export tool: the transactions a listing's filters select, as a CSV, JSON or OFX file."""

from __future__ import annotations

from typing import Annotated, Literal

from mcp.server.mcpserver import MCPServer
from mcp.types import CallToolResult, EmbeddedResource, ResourceLink, TextContent, TextResourceContents
from pydantic import Field

from finance_mcp.schemas.exports import ExportResult
from finance_mcp.server.tools import READ, CurrentPrincipal, Db, tool
from finance_mcp.server.tools.filters import (
    AccountFilter,
    CategoryFilter,
    DerCategoryFilter,
    DerMerchantFilter,
    EndDate,
    MaxAmount,
    MerchantFilter,
    MinAmount,
    SearchFilter,
    StartDate,
    TagsFilter,
    criteria,
)
from finance_mcp.services import exports as service

# Larger files go out as a resource link (read with resources/read) rather than inside the result.
EMBED_LIMIT = 1_000_000


def register(mcp: MCPServer) -> None:
    @tool(mcp, title="Export transactions", annotations=READ)
    async def export_transactions(
        principal: CurrentPrincipal,
        db: Db,
        format: Annotated[
            Literal["csv", "json", "ofx"], Field(description="csv (re-importable), json, or ofx (OFX 2 XML)")
        ] = "csv",
        account_id: AccountFilter = None,
        start_date: StartDate = None,
        end_date: EndDate = None,
        category: CategoryFilter = None,
        der_category: DerCategoryFilter = None,
        merchant: MerchantFilter = None,
        der_merchant: DerMerchantFilter = None,
        tags: TagsFilter = None,
        min_amount: MinAmount = None,
        max_amount: MaxAmount = None,
        search: SearchFilter = None,
    ) -> Annotated[CallToolResult, ExportResult]:
        """Export the transactions that list_transactions' filters select (none: all) as a file.

        csv can be imported back with import_transactions; ofx opens in most finance apps. The file is
        in the result as an embedded resource, or, when large, as a resource link to read with
        resources/read. Give it to the person as a file; do not read it out.
        """
        filters = criteria(
            account_id=account_id,
            start_date=start_date,
            end_date=end_date,
            category=category,
            der_category=der_category,
            merchant=merchant,
            der_merchant=der_merchant,
            tags=tags,
            min_amount=min_amount,
            max_amount=max_amount,
            search=search,
        )
        text, exported = await service.export_text(db, principal, filters, format)
        uri = service.export_uri(filters, format)
        size = len(text.encode())
        embedded = size <= EMBED_LIMIT
        result = ExportResult(
            format=format,
            rows=exported.rows,
            bytes=size,
            mime_type=exported.mime_type,
            filename=exported.filename,
            uri=uri,
            embedded=embedded,
        )
        said = f"Exported {exported.rows} transactions as {format} ({size} bytes): {exported.filename}."
        if embedded:
            file = EmbeddedResource(
                type="resource", resource=TextResourceContents(uri=uri, mime_type=exported.mime_type, text=text)
            )
        else:
            said += " Too large to embed: read it with resources/read at the link's uri."
            file = ResourceLink(
                type="resource_link", name=exported.filename, uri=uri, mime_type=exported.mime_type, size=size
            )
        return CallToolResult(
            content=[TextContent(type="text", text=said), file], structured_content=result.model_dump(mode="json")
        )
