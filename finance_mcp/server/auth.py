"""Bearer tokens: MCP_Auth's HS256 JWTs, the login bridge's own JWTs and API keys become an `AccessToken`,
then an `Identity`.

The verifiers are the only code that reads raw claims, and they put them in one canonical form (`claims`).
`check` answers an `AccessToken` or a `Rejected` that says why in words safe to send (`error_description` of
the 401, see `server/edge.py`); `verify_token`, the SDK's interface, answers `None` for a refusal.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jwt
from mcp.server.auth.provider import AccessToken, TokenVerifier

from finance_mcp.db.database import Database
from finance_mcp.domain.errors import FinanceError
from finance_mcp.domain.principals import Identity, Role
from finance_mcp.server import claims as claim_rules
from finance_mcp.server import hs256
from finance_mcp.server.oauth.access_tokens import AccessTokens
from finance_mcp.services import api_keys
from finance_mcp.services.api_key_recheck import RecheckPolicy

logger = logging.getLogger(__name__)

CLIENT_ID = "mcp-auth"
API_KEY_CLIENT_ID = "api-key"
ALGORITHM = "HS256"


@dataclass(frozen=True, slots=True)
class Rejected:
    """A refused credential and why, in words that reveal no secret and no claim value."""

    reason: str


def _optional_string(claims: dict[str, Any], name: str) -> str | None:
    value = claims.get(name)
    return None if value is None or value == "" else str(value)


class JwtVerifier(TokenVerifier):
    """HS256 only, with the shared secret; `exp` and `sub` required; `aud`/`iss` as configured."""

    def __init__(
        self,
        secret: str,
        *,
        resource_url: str,
        audience: str | None = None,
        issuer: str | None = None,
        leeway: int = 30,
        previous: str | None = None,
    ) -> None:
        # MCP_Auth may switch to the new key before or after us: during a rotation either key verifies.
        self._keys = hs256.KeyRing([secret, *([] if previous is None else [previous])])
        self._resource_url = resource_url.rstrip("/")
        self._audience = audience
        self._issuer = issuer
        self._leeway = leeway

    async def verify_token(self, token: str) -> AccessToken | None:
        return self.verify(token)

    def verify(self, token: str) -> AccessToken | None:
        checked = self.check(token)
        return None if isinstance(checked, Rejected) else checked

    def check(self, token: str) -> AccessToken | Rejected:
        try:
            raw: dict[str, Any] = self._keys.decode(
                token,
                algorithms=[ALGORITHM],
                issuer=self._issuer,
                leeway=self._leeway,
                options={"require": ["exp", "sub"], "verify_aud": False},
            )
            claims = claim_rules.normalise(raw)
        except jwt.PyJWTError as error:
            logger.info("rejected bearer token: %s", error)
            return Rejected(hs256.reason(error))
        except claim_rules.MalformedClaim as error:
            logger.info("rejected bearer token: %s", error)
            return Rejected(f"malformed claim: {error}")
        if not self._audience_ok(claim_rules.audiences(claims)):
            logger.info("rejected bearer token: its audience is not this server")
            return Rejected("the token is for another audience, not this server")
        tenant = claims.get("tenant_id")
        subject = f"{tenant}:{claims['sub']}" if tenant is not None else f"personal:{claims['sub']}"
        return AccessToken(
            token=token,
            client_id=CLIENT_ID,
            subject=subject,
            scopes=claim_rules.scopes(claims),
            # The SDK drops tokens whose expires_at has passed, with no leeway of its own: add ours.
            expires_at=int(claims["exp"]) + self._leeway,
            resource=self._resource_url,
            claims=claims,
        )

    def _audience_ok(self, audiences: list[str]) -> bool:
        if self._audience is not None:
            return self._audience in audiences
        return not audiences or any(a.rstrip("/") == self._resource_url for a in audiences)


class BearerVerifier(TokenVerifier):
    """Every credential the server accepts, each checked only by its own verifier: API keys (`fmcp_...`,
    when enabled), the login bridge's tokens (`typ: at+jwt`, when the bridge is on), else MCP_Auth's."""

    def __init__(
        self,
        mcp_auth: JwtVerifier,
        *,
        bridge: AccessTokens | None,
        key_store: Callable[[], Database] | None,
        resource_url: str,
        recheck: RecheckPolicy | None = None,
    ) -> None:
        self._mcp_auth = mcp_auth
        self._bridge = bridge
        self._key_store = key_store
        self._resource_url = resource_url.rstrip("/")
        self._recheck = recheck

    async def verify_token(self, token: str) -> AccessToken | None:
        checked = await self.check(token)
        return None if isinstance(checked, Rejected) else checked

    async def check(self, token: str) -> AccessToken | Rejected:
        if self._key_store is not None and api_keys.looks_like_api_key(token):
            return await self._api_key(token, self._key_store())
        if self._bridge is not None and self._bridge.is_ours(token):
            bridged = self._bridge.verify(token)
            return bridged or Rejected("the sign-in token is invalid or has expired; refresh it or sign in again")
        return self._mcp_auth.check(token)

    async def _api_key(self, token: str, db: Database) -> AccessToken | Rejected:
        try:
            holder = await api_keys.authenticate(db, token, recheck=self._recheck)
        except FinanceError as error:  # the database is unreachable: refuse rather than fail open
            logger.warning("API key not checked: %s", error)
            return Rejected("the API key could not be checked just now; try again shortly")
        if isinstance(holder, api_keys.KeyRefused):
            logger.info("rejected API key: %s", holder.reason)
            return Rejected(holder.reason)
        claims: dict[str, Any] = {"sub": holder.auth_user_id, "email": holder.email, "role": holder.role}
        if holder.tenant_id is not None:
            claims["tenant_id"] = holder.tenant_id
        claims["api_key_id"] = holder.key_id
        if holder.toolsets is not None:
            claims["toolsets"] = list(holder.toolsets)
        tenant = holder.tenant_id if holder.tenant_id is not None else "personal"
        return AccessToken(
            token=token,
            client_id=API_KEY_CLIENT_ID,
            subject=f"{tenant}:{holder.auth_user_id}",
            scopes=list(holder.scopes),
            expires_at=int(holder.expires_at.timestamp()),
            resource=self._resource_url,
            claims=claims,
        )


def grant_of(token: AccessToken) -> int | None:
    """The OAuth grant a login-bridge token came from; None for MCP_Auth's tokens and API keys. Only the
    bridge's verifier gives a token another client id than those two (the OAuth client's), and its `gid`."""
    if token.client_id in {CLIENT_ID, API_KEY_CLIENT_ID}:
        return None
    grant_id = (token.claims or {}).get("gid")
    return grant_id if isinstance(grant_id, int) and not isinstance(grant_id, bool) else None


def identity_from_token(token: AccessToken) -> Identity:
    """The caller's identity from verified claims. Raises `PermissionDenied` for an unusable role."""
    claims = token.claims or {}
    tenant = _optional_string(claims, "tenant_id")
    return Identity(
        auth_user_id=str(claims["sub"]),
        tenant_id=tenant,
        email=_optional_string(claims, "email"),
        role=Role.parse(claims.get("role"), shared_household=tenant is not None),
        scopes=frozenset(token.scopes),
    )
