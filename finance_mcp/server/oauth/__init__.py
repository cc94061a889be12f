"""The OAuth login bridge: finance-mcp as an OAuth 2.1 authorization server whose only way to sign someone
in is to ask MCP_Auth (which has JSON login endpoints but no working OAuth). See `routes` for the surface,
`provider` for the decisions, `login` for the page."""
