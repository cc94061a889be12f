"""Calls to MCP_Auth's JSON endpoints (its `/auth/*` API and `{"detail": ...}` error bodies), with timeouts.

Only endpoints that never create anything: `/auth/login-user` (with `totp_code` when a one-time code is
given), `/auth/refresh`, `/auth/logout`, and `GET /tenants/me` for the household's name. Never
`/auth/login`, which silently creates a new tenant for an unknown email.

An answer is a verdict (`Refused`) only when MCP_Auth really judged the request; anything else (down, a
timeout, 5xx, a redirect, 404 or 429 from something in front of it) is `Unreachable`, because callers act
on a verdict for good: the token endpoint ends the grant on a refused refresh.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import httpx2

logger = logging.getLogger(__name__)

TIMEOUT = httpx2.Timeout(10.0, connect=5.0)
# The household's name is a nicety: a slow MCP_Auth must not hold up a sign-in that already succeeded.
TENANT_TIMEOUT = httpx2.Timeout(3.0)
# Statuses by which MCP_Auth judges a sign-in (401 wrong credentials, 403 TOTP needed, 422 not an email)...
SIGN_IN_VERDICTS = frozenset({400, 401, 403, 422})
# ... and a refresh token (401 unknown, revoked, expired or its user disabled; reference §7).
REFRESH_VERDICTS = frozenset({401, 403})


@dataclass(frozen=True, slots=True)
class Tokens:
    access_token: str
    refresh_token: str | None


class Refused(Exception):
    """MCP_Auth answered, and said no (wrong credentials, disabled account, revoked refresh token)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"{status}: {detail}")
        self.status = status
        self.detail = detail

    @property
    def needs_totp(self) -> bool:
        return self.status == 403 and "TOTP" in self.detail


class Unreachable(Exception):
    """MCP_Auth did not answer usefully (down, timeout, 5xx, or a body we cannot read)."""


def _detail(response: httpx2.Response) -> str:
    try:
        detail: Any = response.json().get("detail", "")
    except ValueError:
        return response.text[:200]
    return detail if isinstance(detail, str) else "invalid request"


class McpAuthClient:
    """One short connection per call: sign-ins and refreshes are rare, and nothing is left to close."""

    def __init__(self, base_url: str) -> None:
        self._base_url = base_url.rstrip("/")

    async def _post(self, path: str, body: dict[str, str]) -> httpx2.Response:
        try:
            async with httpx2.AsyncClient(timeout=TIMEOUT) as http:
                response = await http.post(f"{self._base_url}{path}", json=body)
        except httpx2.HTTPError as error:
            logger.warning("MCP_Auth %s unreachable: %s", path, error.__class__.__name__)
            raise Unreachable(str(error)) from error
        if response.status_code >= 500:
            logger.warning("MCP_Auth %s answered %s", path, response.status_code)
            raise Unreachable(f"MCP_Auth answered {response.status_code}")
        return response

    async def _tokens(self, path: str, body: dict[str, str], verdicts: frozenset[int]) -> Tokens:
        response = await self._post(path, body)
        if response.status_code in verdicts:
            raise Refused(response.status_code, _detail(response))
        if response.status_code != 200:
            logger.warning("MCP_Auth %s answered %s", path, response.status_code)
            raise Unreachable(f"MCP_Auth answered {response.status_code}")
        try:
            data = response.json()
            return Tokens(access_token=str(data["access_token"]), refresh_token=data.get("refresh_token"))
        except (ValueError, KeyError, TypeError) as error:
            raise Unreachable("MCP_Auth's answer had no access_token") from error

    async def sign_in(self, *, tenant_email: str, username: str, password: str, totp_code: str | None) -> Tokens:
        """The page's and the CLI's sign-in: `/auth/login-user`, which takes the one-time code too (its
        `TenantUserLoginRequest.totp_code`), so a username that is not an email works with TOTP, and the
        tenant email is part of what MCP_Auth checks rather than ignored as `/auth/totp/validate` does."""
        body = {"tenant_email": tenant_email, "username": username, "password": password}
        if totp_code:
            body["totp_code"] = totp_code
        return await self._tokens("/auth/login-user", body, SIGN_IN_VERDICTS)

    async def refresh(self, refresh_token: str) -> Tokens:
        return await self._tokens("/auth/refresh", {"refresh_token": refresh_token}, REFRESH_VERDICTS)

    async def tenant_name(self, access_token: str) -> str | None:
        """The tenant's `tenant_name` from `GET /tenants/me`, or None when it has none or the look-up fails."""
        try:
            async with httpx2.AsyncClient(timeout=TENANT_TIMEOUT) as http:
                response = await http.get(
                    f"{self._base_url}/tenants/me", headers={"Authorization": f"Bearer {access_token}"}
                )
            name: Any = response.json().get("tenant_name") if response.status_code == 200 else None
        except (httpx2.HTTPError, ValueError, AttributeError) as error:
            logger.warning("MCP_Auth /tenants/me failed: %s", error.__class__.__name__)
            return None
        return (name.strip() or None) if isinstance(name, str) else None

    async def logout(self, refresh_token: str) -> None:
        """Best effort: MCP_Auth always answers 204, and a failure here must not block our revocation."""
        try:
            await self._post("/auth/logout", {"refresh_token": refresh_token})
        except Unreachable:
            logger.warning("MCP_Auth logout failed; its refresh token expires on its own")
