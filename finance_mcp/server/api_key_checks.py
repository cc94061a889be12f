"""The MCP_Auth side of re-checking API keys (services/api_key_recheck.py): a refresh at `/auth/refresh`,
whose fresh access token says who the person is now."""

from __future__ import annotations

import datetime as dt
import logging

from finance_mcp.crypto import Sealer
from finance_mcp.server.auth import JwtVerifier
from finance_mcp.server.oauth.mcp_auth_client import McpAuthClient, Refused, Unreachable
from finance_mcp.services.api_key_recheck import SEALING, Disowned, RecheckPolicy, Vouched
from finance_mcp.services.oauth import UPSTREAM_SEALING
from finance_mcp.settings import Settings

logger = logging.getLogger(__name__)


def recheck_policy(settings: Settings, mcp_auth_tokens: JwtVerifier) -> RecheckPolicy:
    client = McpAuthClient(settings.auth_server_url)

    async def ask(refresh_token: str) -> Vouched | Disowned | None:
        try:
            tokens = await client.refresh(refresh_token)
        except Refused as refused:
            return Disowned(refused.detail)
        except Unreachable:
            return None
        verified = mcp_auth_tokens.verify(tokens.access_token)
        if verified is None or not tokens.refresh_token:
            # Not the person's doing (SECRET_KEY differs from MCP_Auth's?): treated like an outage.
            logger.error("MCP_Auth's refreshed token for an API key does not verify here; is SECRET_KEY shared?")
            return None
        claims = verified.claims or {}
        return Vouched(
            auth_user_id=str(claims["sub"]),
            tenant_id=claims.get("tenant_id"),
            role=str(claims.get("role") or "MEMBER"),
            refresh_token=tokens.refresh_token,
        )

    return RecheckPolicy(
        ask=ask,
        sealer=Sealer(settings.secret_key, SEALING, previous=settings.secret_key_previous),
        interval=dt.timedelta(seconds=settings.api_key_recheck_seconds),
        grace=dt.timedelta(seconds=settings.api_key_recheck_grace_seconds),
        grant_sealer=Sealer(settings.secret_key, UPSTREAM_SEALING, previous=settings.secret_key_previous),
    )
