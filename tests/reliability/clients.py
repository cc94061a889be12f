"""Real MCP clients for synchronous tests (hypothesis): the SDK's `Client` over streamable HTTP, running on an
event loop in a helper thread (an anyio blocking portal), with every call made from the test's thread."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import Any

import httpx2
from anyio.from_thread import BlockingPortal
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.types import CallToolResult

from tests.e2e.helpers import text_of


@asynccontextmanager
async def mcp_client(url: str, token: str, mode: str) -> AsyncIterator[Client]:
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=httpx2.Timeout(30, read=60))
    async with http, Client(streamable_http_client(url, http_client=http), mode=mode) as client:  # type: ignore[arg-type]
        yield client


@dataclass
class SyncClient:
    portal: BlockingPortal
    client: Client

    def call_tool(self, tool: str, arguments: dict[str, Any]) -> CallToolResult:
        return self.portal.call(self.client.call_tool, tool, arguments)

    def read_resource(self, uri: str) -> Any:
        """The resource's JSON; raises `MCPError` as the SDK client does."""
        result = self.portal.call(self.client.read_resource, uri)
        return json.loads(result.contents[0].text)  # type: ignore[union-attr]

    def list_tools(self) -> list[Any]:
        return list(self.portal.call(self.client.list_tools).tools)


@contextmanager
def open_client(portal: BlockingPortal, url: str, token: str, *, mode: str = "auto") -> Iterator[SyncClient]:
    with portal.wrap_async_context_manager(mcp_client(url, token, mode)) as client:
        yield SyncClient(portal, client)


def everything_said(result: CallToolResult) -> str:
    """All a tool result carries, text and structured, as one string to search."""
    return text_of(result) + json.dumps(result.structured_content or {}, ensure_ascii=False)
