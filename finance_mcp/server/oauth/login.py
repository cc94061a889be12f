"""GET and POST /oauth/login: the sign-in page that checks a person with MCP_Auth and, on success, sends
the browser back to the client with a single-use code (and `state`, and `iss` per RFC 9207).

Wrong credentials re-show the page with one message that never says which part was wrong. Failed attempts
are limited per account and per address. A cookie set with the page must come back with the form (a
double-submit check), so another site cannot submit the form in someone's browser.
"""

from __future__ import annotations

import hmac
import logging
import secrets
import time
from collections import deque
from urllib.parse import urlsplit

from mcp.server.auth.provider import construct_redirect_uri
from mcp.shared.auth import OAuthClientInformationFull
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from finance_mcp.identity import FINANCE_SCOPES
from finance_mcp.server.oauth.login_requests import LoginRequest
from finance_mcp.server.oauth.mcp_auth_client import Refused, Unreachable
from finance_mcp.server.oauth.page import SignInForm, render_problem, render_sign_in, security_headers
from finance_mcp.server.oauth.provider import BridgeProvider, allowed_scopes
from finance_mcp.services.oauth import Person

logger = logging.getLogger(__name__)

CSRF_COOKIE = "fmcp_signin"
FAILED = "Sign-in failed. Check the household email, username, password and one-time code, and try again."
TOO_MANY = "Too many failed sign-ins. Wait 15 minutes, then try again."
EXPIRED = "This sign-in page has expired or is not valid. Go back to your assistant and connect again."


class Throttle:
    """At most `limit` failures per key in `window` seconds, in this process."""

    def __init__(self, limit: int, window: float = 15 * 60, max_keys: int = 10_000) -> None:
        self._limit, self._window, self._max_keys = limit, window, max_keys
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, key: str) -> deque[float]:
        failures = self._failures.setdefault(key, deque())
        while failures and failures[0] < time.monotonic() - self._window:
            failures.popleft()
        return failures

    def blocked(self, key: str) -> bool:
        return len(self._recent(key)) >= self._limit

    def fail(self, key: str) -> None:
        if len(self._failures) >= self._max_keys:
            self._failures.clear()
        self._recent(key).append(time.monotonic())


def _field(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def offered_scopes(login: LoginRequest, client: OAuthClientInformationFull | None) -> list[str]:
    """What the page may grant: the scopes the client asked for, else those it registered, else all."""
    asked = login.scopes or (client.scope.split() if client and client.scope else None)
    return [scope for scope in FINANCE_SCOPES if asked is None or scope in asked]


def _origin(uri: str) -> str:
    parts = urlsplit(uri)
    return f"{parts.scheme}://{parts.netloc}" if parts.netloc else f"{parts.scheme}:"


class SignInPage:
    def __init__(self, provider: BridgeProvider, *, secure_cookie: bool) -> None:
        self._provider = provider
        self._secure = secure_cookie
        self._per_account = Throttle(limit=10)
        self._per_address = Throttle(limit=50)

    async def show(self, request: Request) -> Response:
        login = self._provider.login_requests.open(request.query_params.get("request", ""))
        if login is None:
            return self._problem("Sign-in link expired", EXPIRED, 400)
        csrf = secrets.token_urlsafe(24)
        response = await self._page(request.query_params["request"], login, csrf=csrf)
        response.set_cookie(
            CSRF_COOKIE, csrf, max_age=600, path="/oauth/login", secure=self._secure, httponly=True, samesite="strict"
        )
        return response

    async def submit(self, request: Request) -> Response:
        form = await request.form()
        sealed = _field(form, "request")
        login = self._provider.login_requests.open(sealed)
        cookie = request.cookies.get(CSRF_COOKIE, "")
        csrf = _field(form, "csrf")
        if login is None or not cookie or not hmac.compare_digest(cookie.encode(), csrf.encode()):
            return self._problem("Sign-in link expired", EXPIRED, 400)
        if _field(form, "action") == "deny":
            return self._back(login, error="access_denied")
        tenant_email, username = _field(form, "tenant_email"), _field(form, "username")
        password, totp_code = str(form.get("password") or ""), _field(form, "totp_code")
        offered = offered_scopes(login, await self._provider.get_client(login.client_id))
        chosen = [scope for scope in form.getlist("scope") if isinstance(scope, str) and scope in offered]

        async def again(message: str, status: int) -> Response:
            return await self._page(
                sealed, login, csrf=csrf, error=message, status=status, typed=(tenant_email, username)
            )

        if not (tenant_email and username and password):
            return await again("Fill in the household email, username and password.", 400)
        if not chosen:
            return await again("Choose at least one thing this application may do.", 400)
        address = f"address:{request.client.host if request.client else '?'}"
        account = f"account:{tenant_email.lower()}|{username}"
        if self._per_account.blocked(account) or self._per_address.blocked(address):
            return await again(TOO_MANY, 429)
        try:
            answer = await self._provider.mcp_auth.sign_in(
                tenant_email=tenant_email, username=username, password=password, totp_code=totp_code or None
            )
        except Unreachable:
            return await again("The sign-in service (MCP_Auth) is not answering. Try again in a minute.", 503)
        except Refused as refused:
            self._per_account.fail(account)
            self._per_address.fail(address)
            if refused.needs_totp and not totp_code:
                return await again("This account needs the one-time code from its authenticator app.", 401)
            return await again(FAILED, 401)
        person = self._provider.person_from(answer.access_token)
        if person is None:
            logger.error("MCP_Auth issued a token this server cannot verify: is SECRET_KEY the same on both?")
            return await again("The sign-in service answered in a way this server cannot check.", 502)
        granted = [scope for scope in chosen if scope in allowed_scopes(person.role)]
        if not granted:
            allowed = ", ".join(sorted(allowed_scopes(person.role)))
            return await again(f"Your role ({person.role.lower()}) allows only: {allowed}. Choose from those.", 403)
        return await self._complete(login, person, granted, answer.refresh_token)

    async def _complete(self, login: LoginRequest, person: Person, scopes: list[str], upstream: str | None) -> Response:
        code = await self._provider.store.start(
            client_id=login.client_id,
            person=person,
            scopes=scopes,
            resource=login.resource,
            upstream_refresh_token=upstream,
            code_challenge=login.code_challenge,
            redirect_uri=login.redirect_uri,
            redirect_uri_provided_explicitly=login.redirect_uri_provided_explicitly,
        )
        return self._back(login, code=code)

    def _back(self, login: LoginRequest, **params: str) -> Response:
        """Back to the client's redirect URI (checked at /authorize against its registration)."""
        target = construct_redirect_uri(
            login.redirect_uri, **params, state=login.state, iss=self._provider.tokens.issuer
        )
        response = RedirectResponse(target, status_code=303, headers={"Cache-Control": "no-store"})
        response.delete_cookie(CSRF_COOKIE, path="/oauth/login")
        return response

    async def _page(
        self,
        sealed: str,
        login: LoginRequest,
        *,
        csrf: str,
        error: str | None = None,
        status: int = 200,
        typed: tuple[str, str] = ("", ""),
    ) -> Response:
        client = await self._provider.get_client(login.client_id)
        offered = offered_scopes(login, client)
        checked = [s for s in offered if s != "finance:admin"] or offered
        form = SignInForm(
            request=sealed,
            csrf=csrf,
            client_name=(client.client_name if client else None) or "An application",
            redirect_host=urlsplit(login.redirect_uri).netloc or login.redirect_uri,
            offered_scopes=offered,
            checked_scopes=checked,
            tenant_email=typed[0],
            username=typed[1],
            error=error,
        )
        return HTMLResponse(render_sign_in(form), status_code=status, headers=self._headers(form.nonce, login))

    def _problem(self, title: str, message: str, status: int) -> Response:
        nonce = secrets.token_urlsafe(16)
        return HTMLResponse(render_problem(title, message, nonce), status_code=status, headers=self._headers(nonce))

    @staticmethod
    def _headers(nonce: str, login: LoginRequest | None = None) -> dict[str, str]:
        # form-action also governs the redirect after the POST, so it must name the client's origin.
        form_action = "'self'" + (f" {_origin(login.redirect_uri)}" if login else "")
        return security_headers(nonce, form_action=form_action)
