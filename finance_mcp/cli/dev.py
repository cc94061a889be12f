"""Development aids: `make run`'s first step (`main`: a `.env` with a fresh SECRET_KEY if there is none,
migrations, and a ready development token with the commands to connect an assistant; it prints to stdout,
this is not the server), and the tokens `finance-mcp token` and the tests mint in MCP_Auth's shape."""

from __future__ import annotations

import argparse
import re
import secrets
import shlex
import time
from pathlib import Path
from typing import Any

import jwt

from finance_mcp.cli import DEVELOPMENT_NOTE, load_settings
from finance_mcp.db.migrate import upgrade
from finance_mcp.server import claims as claim_rules
from finance_mcp.server.hs256 import ALGORITHM

DAY = 86400
# `make run` runs from a checkout: the template is the repository's own.
PROJECT_ROOT = Path(__file__).resolve().parents[2]
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


# ---- development tokens -------------------------------------------------------------------------


def mint_token(
    secret: str,
    *,
    sub: str,
    tenant: str | None,
    role: str | None = "OWNER",
    email: str | None = None,
    ttl_seconds: int = 3600,
    scopes: list[str] | None = None,
    extra: dict[str, Any] | None = None,
) -> str:
    """A token in exactly MCP_Auth's shape (string sub and tenant_id, upper-case role), for tests that stand
    in for MCP_Auth. Tooling for people uses `mint_dev_token`, which cannot name a real household."""
    now = int(time.time())
    claims: dict[str, Any] = {"sub": sub, "email": email}
    if tenant is not None:
        claims["tenant_id"] = tenant
    if role is not None:
        claims["role"] = role.upper()
    claims |= {"exp": now + ttl_seconds, "iat": now, "scopes": scopes or []}
    return jwt.encode(claims | (extra or {}), secret, algorithm=ALGORITHM)


def dev_id(value: str | None) -> str:
    """`value` in the development namespace (`dev-...`); a fresh random one when None. MCP_Auth's ids are
    all digits, so no development id is ever a real user or household."""
    if value is None:
        return f"{claim_rules.DEV_PREFIX}{secrets.token_hex(4)}"
    return value if value.startswith(claim_rules.DEV_PREFIX) else f"{claim_rules.DEV_PREFIX}{value}"


def mint_dev_token(
    secret: str,
    *,
    sub: str | None,
    tenant: str | None,
    personal: bool = False,
    role: str = "OWNER",
    email: str | None = None,
    ttl_seconds: int = 3600,
) -> tuple[str, dict[str, Any]]:
    """A development token (`finance-mcp token`, `make run`) and its claims: MCP_Auth's shape plus the
    `finance_mcp_dev` marker, with `sub` and `tenant_id` in the `dev-` namespace that the verifier accepts
    only from such tokens. `personal`: no tenant, a household of one."""
    extra = {claim_rules.DEV_CLAIM: True}
    tenant_id = None if personal else dev_id(tenant)
    token = mint_token(
        secret, sub=dev_id(sub), tenant=tenant_id, role=role, email=email, ttl_seconds=ttl_seconds, extra=extra
    )
    return token, jwt.decode(token, options={"verify_signature": False})
