"""Alembic migrations; installed as the package `finance_mcp.migrations` (see pyproject.toml)."""
