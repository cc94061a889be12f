"""The login bridge's own access tokens: short-lived HS256 JWTs for this server's resource URL only.

They are signed with a key derived from SECRET_KEY for this one purpose, never with SECRET_KEY itself, so an
MCP_Auth token can never pass as one of ours and ours are worthless to MCP_Auth and anything else sharing
its secret. The header's `typ` is `at+jwt` (RFC 9068), which is how the verifier tells the two kinds apart
before checking either with its own key.
"""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass
from typing import Any

import jwt
from mcp.server.auth.provider import AccessToken

from finance_mcp.crypto import derive_key
from finance_mcp.server import hs256

logger = logging.getLogger(__name__)

ALGORITHM = "HS256"
TOKEN_TYPE = "at+jwt"  # noqa: S105  # RFC 9068 media type, not a secret
LIFETIME_SECONDS = 15 * 60


@dataclass(frozen=True, slots=True)
class Holder:
    """Whom a bridge token speaks for: the MCP_Auth identity, and the grant it came from."""

    auth_user_id: str
    tenant_id: str | None
    email: str | None
    role: str
    grant_id: int


class AccessTokens:
    def __init__(
        self, secret_key: str, *, issuer: str, resource_url: str, leeway: int = 30, previous: str | None = None
    ) -> None:
        self._key = derive_key(secret_key, "oauth access token")
        older = [] if previous is None else [derive_key(previous, "oauth access token")]
        self._keys = hs256.KeyRing([self._key, *older])
        self.issuer = issuer
        self.resource_url = resource_url.rstrip("/")
        self._leeway = leeway

    def mint(self, holder: Holder, *, client_id: str, scopes: list[str]) -> tuple[str, int]:
        """A new access token and its lifetime in seconds."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.resource_url,
            "sub": holder.auth_user_id,
            "email": holder.email,
            "role": holder.role,
            "scope": " ".join(scopes),
            "client_id": client_id,
            "gid": holder.grant_id,
            "jti": secrets.token_urlsafe(16),
            "iat": now,
            "exp": now + LIFETIME_SECONDS,
        }
        if holder.tenant_id is not None:
            claims["tenant_id"] = holder.tenant_id
        return jwt.encode(claims, self._key, algorithm=ALGORITHM, headers={"typ": TOKEN_TYPE}), LIFETIME_SECONDS

    @staticmethod
    def is_ours(token: str) -> bool:
        """Whether the token says it is a bridge token (unverified: `verify` decides)."""
        try:
            return jwt.get_unverified_header(token).get("typ") == TOKEN_TYPE
        except jwt.PyJWTError:
            return False

    def verify(self, token: str) -> AccessToken | None:
        try:
            claims: dict[str, Any] = self._keys.decode(
                token,
                algorithms=[ALGORITHM],
                issuer=self.issuer,
                audience=self.resource_url,
                leeway=self._leeway,
                options={"require": ["exp", "iat", "sub", "iss", "aud", "client_id", "gid"]},
            )
        except jwt.PyJWTError as error:
            logger.info("rejected bridge access token: %s", error)
            return None
        tenant = claims.get("tenant_id")
        return AccessToken(
            token=token,
            client_id=str(claims["client_id"]),
            subject=f"{tenant}:{claims['sub']}" if tenant is not None else f"personal:{claims['sub']}",
            scopes=str(claims.get("scope") or "").split(),
            expires_at=int(claims["exp"]) + self._leeway,
            resource=self.resource_url,
            claims=claims,
        )
