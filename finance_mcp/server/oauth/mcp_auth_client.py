"""Calls to MCP_Auth's JSON endpoints (its `/auth/*` API and `{"detail": ...}` error bodies), with timeouts.

Only the sign-in endpoints that never create anything: `/auth/login-user` (and `/auth/totp/validate` when a
one-time code is given), `/auth/refresh`, `/auth/logout`. Never `/auth/login`, which silently creates a new
tenant for an unknown email.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import httpx2

logger = logging.getLogger(__name__)

TIMEOUT = httpx2.Timeout(10.0, connect=5.0)


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

    async def _tokens(self, path: str, body: dict[str, str]) -> Tokens:
        response = await self._post(path, body)
        if response.status_code != 200:
            raise Refused(response.status_code, _detail(response))
        try:
            data = response.json()
            return Tokens(access_token=str(data["access_token"]), refresh_token=data.get("refresh_token"))
        except (ValueError, KeyError, TypeError) as error:
            raise Unreachable("MCP_Auth's answer had no access_token") from error

    async def login_user(self, *, tenant_email: str, username: str, password: str) -> Tokens:
        body = {"tenant_email": tenant_email, "username": username, "password": password}
        return await self._tokens("/auth/login-user", body)

    async def validate_totp(self, *, email: str, password: str, totp_code: str) -> Tokens:
        return await self._tokens("/auth/totp/validate", {"email": email, "password": password, "totp_code": totp_code})

    async def sign_in(self, *, tenant_email: str, username: str, password: str, totp_code: str | None) -> Tokens:
        """The page's and the CLI's rule: with a one-time code, `/auth/totp/validate` (whose `email` is the
        username field: an owner's username is their email); without, `/auth/login-user`."""
        if totp_code:
            return await self.validate_totp(email=username, password=password, totp_code=totp_code)
        return await self.login_user(tenant_email=tenant_email, username=username, password=password)

    async def refresh(self, refresh_token: str) -> Tokens:
        return await self._tokens("/auth/refresh", {"refresh_token": refresh_token})

    async def logout(self, refresh_token: str) -> None:
        """Best effort: MCP_Auth always answers 204, and a failure here must not block our revocation."""
        try:
            await self._post("/auth/logout", {"refresh_token": refresh_token})
        except Unreachable:
            logger.warning("MCP_Auth logout failed; its refresh token expires on its own")
