"""Every use of the MCP SDK's internals, fenced here so an SDK upgrade breaks one module, loudly
(`tests/test_private_apis.py` has a canary for each). Prefer the SDK's public API wherever it has one.

* `registered_tool`: `MCPServer` has no public accessor for a registered `Tool` (its argument model and
  published schema), which `refuse_unknown_arguments` tightens and `call_tool` names in its log line.
* `RESOLVED_VALUE_CLASS`: the SDK wraps every `Resolve(...)` value in `AcceptedElicitation[Any]`
  (`mcpserver/resolve.py`), built on each call. pydantic caches parametrised generics weakly, so each garbage
  collection freed the class and the next tool call rebuilt it, a measurable share of server time
  (docs/PERFORMANCE.md, "Figures behind the code"). Holding one reference keeps the cached class alive for
  as long as the server runs (the app factory and the tools' registration import this module).
"""

from __future__ import annotations

from typing import Any

from mcp.server.elicitation import AcceptedElicitation
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.tools import Tool

RESOLVED_VALUE_CLASS = AcceptedElicitation[Any]


def registered_tool(mcp: MCPServer, name: str) -> Tool | None:
    """The tool registered under `name`, as the SDK keeps it; None when there is none."""
    return mcp._tool_manager.get_tool(name)  # pyright: ignore[reportPrivateUsage]
