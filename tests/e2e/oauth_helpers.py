"""Helpers for the login-bridge tests: people in the stand-in MCP_Auth, PKCE, and a "browser" that follows
/authorize to the sign-in page and submits its form over HTTP exactly as a person's browser would."""

from __future__ import annotations

import base64
import hashlib
import secrets
import uuid
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx2

from tests.e2e.mcp_auth_stand_in import McpAuthStandIn, User

PASSWORD = "correct horse battery staple"


@dataclass
class Person:
    tenant_email: str
    username: str
    password: str
    user: User


def new_household(mcp_auth: McpAuthStandIn) -> Person:
    email = f"owner-{uuid.uuid4().hex[:10]}@example.com"
    owner = mcp_auth.add_tenant(email, PASSWORD)
    return Person(email, email, PASSWORD, owner)


def new_member(mcp_auth: McpAuthStandIn, household: Person, *, role: str = "MEMBER") -> Person:
    name = f"member-{uuid.uuid4().hex[:8]}"
    user = mcp_auth.add_user(
        household.user.tenant, username=name, email=f"{name}@example.com", password=PASSWORD, role=role
    )
    return Person(household.tenant_email, name, PASSWORD, user)


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    return verifier, challenge


class FormReader(HTMLParser):
    """The sign-in form's inputs: hidden values, text values, and the scope checkboxes."""

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, str] = {}
        self.scopes: dict[str, bool] = {}
        self.labels: dict[str, str] = {}
        self.alerts: list[str] = []
        self._label_for: str | None = None
        self._in_alert = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k: v or "" for k, v in attrs}
        if tag == "input" and found.get("type") == "checkbox":
            self.scopes[found["value"]] = "checked" in found
        elif tag == "input":
            self.values[found["name"]] = found.get("value", "")
        elif tag == "label":
            self._label_for = found.get("for")
        if found.get("role") == "alert":
            self._in_alert = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "label":
            self._label_for = None
        self._in_alert = False

    def handle_data(self, data: str) -> None:
        if self._label_for:
            self.labels[self._label_for] = self.labels.get(self._label_for, "") + data
        if self._in_alert:
            self.alerts.append(data.strip())


def read_form(html: str) -> FormReader:
    reader = FormReader()
    reader.feed(html)
    return reader


@dataclass
class Client:
    client_id: str
    client_secret: str | None
    redirect_uri: str

    def credentials(self) -> dict[str, str]:
        return {"client_id": self.client_id, **({"client_secret": self.client_secret} if self.client_secret else {})}


async def register(http: httpx2.AsyncClient, base_url: str, *, confidential: bool = False, **extra: Any) -> Client:
    redirect_uri = extra.pop("redirect_uri", "http://127.0.0.1:53682/callback")
    body = {
        "client_name": "Bridge test client",
        "redirect_uris": [redirect_uri],
        "grant_types": ["authorization_code", "refresh_token"],
        "token_endpoint_auth_method": "client_secret_post" if confidential else "none",
        "scope": "finance:read finance:write finance:admin",
        **extra,
    }
    response = await http.post(f"{base_url}/register", json=body)
    assert response.status_code == 201, response.text
    data = response.json()
    return Client(data["client_id"], data.get("client_secret"), redirect_uri)


def authorize_url(base_url: str, client: Client, challenge: str, **params: str) -> str:
    query = {
        "response_type": "code",
        "client_id": client.client_id,
        "redirect_uri": client.redirect_uri,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "state": params.pop("state", secrets.token_urlsafe(8)),
        "resource": f"{base_url}/mcp",
        **params,
    }
    return f"{base_url}/authorize?{urlencode(query)}"


async def open_sign_in_page(browser: httpx2.AsyncClient, url: str) -> httpx2.Response:
    """Follow /authorize to the page, as a browser would."""
    authorize = await browser.get(url)
    assert authorize.status_code == 302, authorize.text
    page = await browser.get(authorize.headers["location"])
    assert page.status_code == 200, page.text
    return page


async def submit(
    browser: httpx2.AsyncClient,
    base_url: str,
    page: httpx2.Response,
    person: Person,
    *,
    scopes: list[str] | None = None,
    password: str | None = None,
    totp_code: str = "",
    action: str = "allow",
) -> httpx2.Response:
    form = read_form(page.text)
    chosen = scopes if scopes is not None else [scope for scope, checked in form.scopes.items() if checked]
    data: list[tuple[str, str]] = [
        ("request", form.values["request"]),
        ("csrf", form.values["csrf"]),
        ("tenant_email", person.tenant_email),
        ("username", person.username),
        ("password", person.password if password is None else password),
        ("totp_code", totp_code),
        ("action", action),
        *[("scope", scope) for scope in chosen],
    ]
    return await browser.post(f"{base_url}/oauth/login", content=urlencode(data), headers=FORM)


FORM = {"content-type": "application/x-www-form-urlencoded"}


async def sign_in(
    browser: httpx2.AsyncClient, base_url: str, url: str, person: Person, **options: Any
) -> httpx2.Response:
    return await submit(browser, base_url, await open_sign_in_page(browser, url), person, **options)


def redirect_params(response: httpx2.Response) -> dict[str, str]:
    """The query of the redirect back to the client (code, state, iss; or error)."""
    assert response.status_code == 303, response.text
    return {k: v[0] for k, v in parse_qs(urlsplit(response.headers["location"]).query).items()}


async def code_for(
    http: httpx2.AsyncClient, base_url: str, client: Client, person: Person, **options: Any
) -> tuple[str, str]:
    """A fresh authorization code and its PKCE verifier."""
    verifier, challenge = pkce()
    async with httpx2.AsyncClient() as browser:
        response = await sign_in(browser, base_url, authorize_url(base_url, client, challenge), person, **options)
    return redirect_params(response)["code"], verifier


async def exchange(
    http: httpx2.AsyncClient, base_url: str, client: Client, code: str, verifier: str, **overrides: str
) -> httpx2.Response:
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "code_verifier": verifier,
        "redirect_uri": client.redirect_uri,
        **client.credentials(),
        **overrides,
    }
    return await http.post(f"{base_url}/token", data=data)


async def refresh(http: httpx2.AsyncClient, base_url: str, client: Client, refresh_token: str) -> httpx2.Response:
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token, **client.credentials()}
    return await http.post(f"{base_url}/token", data=data)


async def tokens_for(
    http: httpx2.AsyncClient, base_url: str, client: Client, person: Person, **options: Any
) -> dict[str, Any]:
    code, verifier = await code_for(http, base_url, client, person, **options)
    response = await exchange(http, base_url, client, code, verifier)
    assert response.status_code == 200, response.text
    return response.json()
