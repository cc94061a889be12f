"""`make run`'s first step: a `.env` with a fresh SECRET_KEY if there is none, migrations, and a ready
development token with the commands to connect an assistant. Prints to stdout; this is not the server."""

from __future__ import annotations

import argparse
import re
import secrets
import shlex
from pathlib import Path

from finance_mcp.cli import DEVELOPMENT_NOTE, load_settings
from finance_mcp.db.migrate import upgrade
from finance_mcp.server.auth import mint_dev_token

DAY = 86400
# `make run` runs from a checkout: the template is the repository's own.
PROJECT_ROOT = Path(__file__).resolve().parents[1]
INSPECTOR = "npx -y @modelcontextprotocol/inspector@2.12.0 --cli"


def ensure_env_file(path: Path) -> bool:
    """Create `path` from .env.example with a random SECRET_KEY; False when it already exists."""
    if path.exists():
        return False
    template = (PROJECT_ROOT / ".env.example").read_text()
    key = secrets.token_urlsafe(48)
    path.write_text(re.sub(r"(?m)^SECRET_KEY=.*$", f"SECRET_KEY={key}", template))
    path.chmod(0o600)
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--env-file", default=".env")
    args = parser.parse_args()
    if ensure_env_file(Path(args.env_file)):
        print(f"Created {args.env_file} with a new random SECRET_KEY.")  # noqa: T201
    settings = load_settings()
    upgrade(settings.database_url)
    token, claims = mint_dev_token(
        settings.secret_key, sub="dev-1", tenant="dev-household", role="OWNER", email="dev@example.com", ttl_seconds=DAY
    )
    url = settings.resource_url
    header = shlex.quote(f"Authorization: Bearer {token}")
    print(  # noqa: T201
        f"""
Database ready: {settings.database_url}
finance-mcp will serve MCP at {url}

A development token (user {claims["sub"]}, owner of household {claims["tenant_id"]}, valid 24 h; mint more with
`.venv/bin/finance-mcp token --help`). {DEVELOPMENT_NOTE}

  export FINANCE_MCP_TOKEN={token}

Try it with the MCP Inspector (Node >= 22.19, or any Node with this pinned version):

  {INSPECTOR} {url} --transport http --header {header} --method tools/list

Claude Code:

  claude mcp add --transport http finance {url} --header 'Authorization: Bearer ${{FINANCE_MCP_TOKEN}}'
"""
    )


if __name__ == "__main__":
    main()
