"""placeholder"""

from mcp.server.mcpserver import MCPServer


def register(mcp: MCPServer) -> None:
    del mcp
