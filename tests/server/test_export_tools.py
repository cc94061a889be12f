"""export_transactions through a real MCP client against the real server in this process, on both databases:
the file as an embedded text resource, or as a resource link when large, which reads back the same file."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET

import pytest
from mcp import Client
from mcp.types import EmbeddedResource, ResourceLink, TextResourceContents

from finance_mcp.server.tools import exports as export_tools
from tests.e2e.helpers import call, fresh_tenant, make_account, ok, refusal
from tests.server.in_process import Connect, InProcessServer

pytestmark = pytest.mark.anyio


async def household(client: Client) -> int:
    account_id = await make_account(client, opening_balance="100")
    for amount, category, merchant in (("-10.5", "Groceries", 'Shop, "Big"'), ("200", "Salary", None)):
        await call(
            client,
            "create_transaction",
            account_id=account_id,
            amount=amount,
            date="2026-03-01",
            category=category,
            merchant=merchant,
            tags=["x;y"],
        )
    return account_id


async def read(client: Client, uri: str) -> str:
    contents = (await client.read_resource(uri)).contents
    assert len(contents) == 1
    assert isinstance(contents[0], TextResourceContents)
    return contents[0].text


@pytest.mark.parametrize(
    ("fmt", "mime"), [("csv", "text/csv"), ("json", "application/json"), ("ofx", "application/x-ofx")]
)
async def test_each_format_comes_as_an_embedded_text_resource(connect: Connect, server: InProcessServer, fmt, mime):
    tenant = fresh_tenant()
    async with connect(server.token(tenant=tenant)) as client:
        await household(client)
    async with connect(server.token(tenant=tenant, role="VIEWER")) as viewer:  # reading is enough to export
        result = await viewer.call_tool("export_transactions", {"format": fmt})
        meta = ok(result)
        [said, file] = result.content
        assert isinstance(file, EmbeddedResource)
        assert isinstance(file.resource, TextResourceContents)
        text = file.resource.text
        assert (file.resource.mime_type, file.resource.uri) == (mime, meta["uri"])
        assert await read(viewer, meta["uri"]) == text
    assert (meta["format"], meta["rows"], meta["embedded"], meta["mime_type"]) == (fmt, 2, True, mime)
    assert meta["bytes"] == len(text.encode())
    assert meta["filename"].endswith(f".{fmt}")
    assert "2 transactions" in getattr(said, "text", "")
    if fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(text, newline="")))
        assert [(r["amount"], r["merchant"], r["tags"]) for r in rows] == [
            ("200.00", "", "x\\;y"),  # newest first: same date, the later id first
            ("-10.50", 'Shop, "Big"', "x\\;y"),
        ]
    elif fmt == "json":
        assert [t["amount"] for t in json.loads(text)["transactions"]] == ["200.00", "-10.50"]
    else:
        root = ET.fromstring(text.encode())  # noqa: S314 - our own output
        assert [t.findtext("TRNAMT") for t in root.iter("STMTTRN")] == ["200.00", "-10.50"]


async def test_a_large_export_is_a_resource_link_that_reads_back_the_file(
    connect: Connect, server: InProcessServer, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(export_tools, "EMBED_LIMIT", 100)
    async with connect(server.token(tenant=fresh_tenant())) as client:
        account_id = await household(client)
        result = await client.call_tool("export_transactions", {"account_id": account_id, "category": "groceries"})
        meta = ok(result)
        link = result.content[1]
        assert isinstance(link, ResourceLink)
        text = await read(client, link.uri)
    assert meta["embedded"] is False
    assert (link.uri, link.mime_type, link.size) == (meta["uri"], "text/csv", meta["bytes"])
    assert meta["bytes"] == len(text.encode()) > 100
    assert [r["category"] for r in csv.DictReader(io.StringIO(text, newline=""))] == ["Groceries"]


async def test_an_export_address_read_by_another_household_shows_only_its_own_rows(
    connect: Connect, server: InProcessServer
):
    async with connect(server.token(tenant=fresh_tenant())) as mine:
        await household(mine)
        uri = ok(await mine.call_tool("export_transactions", {"format": "json"}))["uri"]
    async with connect(server.token(tenant=fresh_tenant())) as theirs:
        assert json.loads(await read(theirs, uri))["transactions"] == []
        refused = refusal(await theirs.call_tool("export_transactions", {"account_id": 987_654_321}))
    assert "not found" in refused
