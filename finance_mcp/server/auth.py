"""Bearer tokens: MCP_Auth's HS256 JWTs, the login bridge's own JWTs and API keys become an `AccessToken`,
then an `Identity`.

The verifiers are the only code that reads raw claims. Every failure is a plain `None` (HTTP 401 from the
SDK's middleware); the reason is logged, never sent.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import jwt
from mcp.server.auth.provider import AccessToken, TokenVerifier

from finance_mcp.db.database import Database
from finance_mcp.errors import FinanceError
from finance_mcp.identity import Identity, Role
from finance_mcp.server import hs256
from finance_mcp.server.oauth.access_tokens import AccessTokens
from finance_mcp.services import api_keys

logger = logging.getLogger(__name__)

CLIENT_ID = "mcp-auth"
API_KEY_CLIENT_ID = "api-key"
ALGORITHM = "HS256"


def _audiences(claims: dict[str, Any]) -> list[str]:
    aud = claims.get("aud")
    if aud is None:
        return []
    return [aud] if isinstance(aud, str) else [str(a) for a in aud]


def _scopes(claims: dict[str, Any]) -> list[str]:
    listed = claims.get("scopes")
    scopes = [str(s) for s in listed] if isinstance(listed, list | tuple) else []  # pyright: ignore[reportUnknownVariableType, reportUnknownArgumentType]
    return scopes + str(claims.get("scope") or "").split()


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
    ) -> None:
        self._secret = secret
        self._jwt = hs256.decoder(secret)
        self._resource_url = resource_url.rstrip("/")
        self._audience = audience
        self._issuer = issuer
        self._leeway = leeway

    async def verify_token(self, token: str) -> AccessToken | None:
        return self.verify(token)

    def verify(self, token: str) -> AccessToken | None:
        try:
            claims: dict[str, Any] = self._jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                issuer=self._issuer,
                leeway=self._leeway,
                options={"require": ["exp", "sub"], "verify_aud": False},
            )
        except jwt.PyJWTError as error:
            logger.info("rejected bearer token: %s", error)
            return None
        if not self._audience_ok(_audiences(claims)):
            logger.info("rejected bearer token: audience %r is not this server", claims.get("aud"))
            return None
        tenant = _optional_string(claims, "tenant_id")
        subject = f"{tenant}:{claims['sub']}" if tenant is not None else f"personal:{claims['sub']}"
        return AccessToken(
            token=token,
            client_id=CLIENT_ID,
            subject=subject,
            scopes=_scopes(claims),
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
    ) -> None:
        self._mcp_auth = mcp_auth
        self._bridge = bridge
        self._key_store = key_store
        self._resource_url = resource_url.rstrip("/")

    async def verify_token(self, token: str) -> AccessToken | None:
        if self._key_store is not None and api_keys.looks_like_api_key(token):
            return await self._api_key(token, self._key_store())
        if self._bridge is not None and self._bridge.is_ours(token):
            return self._bridge.verify(token)
        return self._mcp_auth.verify(token)

    async def _api_key(self, token: str, db: Database) -> AccessToken | None:
        try:
            holder = await api_keys.authenticate(db, token)
        except FinanceError as error:  # the database is unreachable: refuse rather than fail open
            logger.warning("API key not checked: %s", error)
            return None
        if holder is None:
            logger.info("rejected API key: unknown, revoked, expired or malformed")
            return None
        claims: dict[str, Any] = {"sub": holder.auth_user_id, "email": holder.email, "role": holder.role}
        if holder.tenant_id is not None:
            claims["tenant_id"] = holder.tenant_id
        claims["api_key_id"] = holder.key_id
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
    """A development token in exactly MCP_Auth's shape (string sub and tenant_id, upper-case role)."""
    now = int(time.time())
    claims: dict[str, Any] = {"sub": sub, "email": email}
    if tenant is not None:
        claims["tenant_id"] = tenant
    if role is not None:
        claims["role"] = role.upper()
    claims |= {"exp": now + ttl_seconds, "iat": now, "scopes": scopes or []}
    return jwt.encode(claims | (extra or {}), secret, algorithm=ALGORITHM)
