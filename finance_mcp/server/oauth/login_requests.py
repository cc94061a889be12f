"""A validated authorization request, carried from /authorize to the sign-in page and back in a signed,
short-lived token (no server-side state, so any worker or replica can serve either step)."""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass
from typing import Any

import jwt

from finance_mcp.crypto import derive_key
from finance_mcp.server import hs256

logger = logging.getLogger(__name__)

LIFETIME_SECONDS = 10 * 60
_AUDIENCE = "finance-mcp sign-in"


@dataclass(frozen=True, slots=True)
class LoginRequest:
    client_id: str
    redirect_uri: str
    redirect_uri_provided_explicitly: bool
    code_challenge: str
    state: str | None
    scopes: list[str] | None
    resource: str | None


class LoginRequests:
    def __init__(self, secret_key: str, *, previous: str | None = None) -> None:
        self._key = derive_key(secret_key, "oauth sign-in request")
        older = [] if previous is None else [derive_key(previous, "oauth sign-in request")]
        self._keys = hs256.KeyRing([self._key, *older])

    def seal(self, request: LoginRequest) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {**asdict(request), "aud": _AUDIENCE, "iat": now, "exp": now + LIFETIME_SECONDS}
        return jwt.encode(claims, self._key, algorithm="HS256")

    def open(self, sealed: str) -> LoginRequest | None:
        """The request, or None when it was altered, is not ours, or is older than ten minutes."""
        try:
            claims = self._keys.decode(sealed, algorithms=["HS256"], audience=_AUDIENCE)
            return LoginRequest(
                client_id=str(claims["client_id"]),
                redirect_uri=str(claims["redirect_uri"]),
                redirect_uri_provided_explicitly=bool(claims["redirect_uri_provided_explicitly"]),
                code_challenge=str(claims["code_challenge"]),
                state=claims.get("state"),
                scopes=claims.get("scopes"),
                resource=claims.get("resource"),
            )
        except (jwt.PyJWTError, KeyError) as error:
            logger.info("refused a sign-in request: %s", error)
            return None
