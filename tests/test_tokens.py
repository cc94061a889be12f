"""Rotating SECRET_KEY: what the old key sealed or signed still opens and verifies while SECRET_KEY_PREVIOUS
names it; everything new is made with the current key only; and without the previous key the old is refused."""

from __future__ import annotations

import secrets

import pytest
from pydantic import ValidationError

from finance_mcp.cli.dev import mint_token
from finance_mcp.crypto import Sealer
from finance_mcp.server.auth import JwtVerifier
from finance_mcp.server.oauth.access_tokens import AccessTokens, Holder
from finance_mcp.server.oauth.login_requests import LoginRequest, LoginRequests
from finance_mcp.settings import Settings

OLD = secrets.token_urlsafe(48)
NEW = secrets.token_urlsafe(48)
OTHER = secrets.token_urlsafe(48)
RESOURCE = "http://127.0.0.1:8000/mcp"
HOLDER = Holder(auth_user_id="7", tenant_id="3", email=None, role="OWNER", grant_id=1)
REQUEST = LoginRequest("client", "http://127.0.0.1/cb", True, "challenge", None, None, None)


def _bridge_tokens(key: str, previous: str | None = None) -> AccessTokens:
    return AccessTokens(key, issuer="http://127.0.0.1:8000", resource_url=RESOURCE, previous=previous)


def test_a_value_sealed_with_the_old_key_opens_after_a_rotation() -> None:
    sealed = Sealer(OLD, "upstream").seal("refresh-token")

    assert Sealer(NEW, "upstream", previous=OLD).open(sealed) == "refresh-token"
    assert Sealer(NEW, "upstream").open(sealed) is None
    assert Sealer(NEW, "upstream", previous=OTHER).open(sealed) is None


def test_after_a_rotation_only_the_new_key_seals() -> None:
    sealed = Sealer(NEW, "upstream", previous=OLD).seal("refresh-token")

    assert Sealer(NEW, "upstream").open(sealed) == "refresh-token"
    assert Sealer(OLD, "upstream").open(sealed) is None


def test_the_previous_key_still_binds_the_purpose() -> None:
    sealed = Sealer(OLD, "upstream").seal("refresh-token")

    assert Sealer(NEW, "api key", previous=OLD).open(sealed) is None


def test_a_bridge_token_signed_with_the_old_key_verifies_after_a_rotation() -> None:
    token, _ = _bridge_tokens(OLD).mint(HOLDER, client_id="c", scopes=[])

    verified = _bridge_tokens(NEW, previous=OLD).verify(token)
    assert verified is not None
    assert verified.subject == "3:7"
    assert _bridge_tokens(NEW).verify(token) is None


def test_after_a_rotation_bridge_tokens_are_signed_with_the_new_key() -> None:
    token, _ = _bridge_tokens(NEW, previous=OLD).mint(HOLDER, client_id="c", scopes=[])

    assert _bridge_tokens(NEW).verify(token) is not None
    assert _bridge_tokens(OLD).verify(token) is None


def test_a_sign_in_request_signed_with_the_old_key_opens_after_a_rotation() -> None:
    sealed = LoginRequests(OLD).seal(REQUEST)

    assert LoginRequests(NEW, previous=OLD).open(sealed) == REQUEST
    assert LoginRequests(NEW).open(sealed) is None


@pytest.mark.parametrize("signing_key", [OLD, NEW], ids=["MCP_Auth not switched yet", "MCP_Auth switched"])
def test_an_mcp_auth_token_with_either_key_verifies_during_a_rotation(signing_key: str) -> None:
    token = mint_token(signing_key, sub="7", tenant="3")

    assert JwtVerifier(NEW, resource_url=RESOURCE, previous=OLD).verify(token) is not None


def test_an_mcp_auth_token_with_an_unknown_key_is_refused_for_its_signature() -> None:
    checked = JwtVerifier(NEW, resource_url=RESOURCE, previous=OLD).check(mint_token(OTHER, sub="7", tenant="3"))

    assert "signature" in getattr(checked, "reason", "")


def test_an_expired_token_is_not_retried_into_acceptance() -> None:
    token = mint_token(OLD, sub="7", tenant="3", ttl_seconds=-3600)

    assert JwtVerifier(NEW, resource_url=RESOURCE, previous=OLD).verify(token) is None


def test_the_previous_key_must_be_strong_and_differ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECRET_KEY", NEW)
    for bad, message in [("short", "at least 32"), (NEW, "equals SECRET_KEY")]:
        monkeypatch.setenv("SECRET_KEY_PREVIOUS", bad)
        with pytest.raises(ValidationError, match=message):
            Settings(_env_file=None)  # pyright: ignore[reportCallIssue]
    monkeypatch.setenv("SECRET_KEY_PREVIOUS", "")
    assert Settings(_env_file=None).secret_keys == [NEW]  # pyright: ignore[reportCallIssue]
    monkeypatch.setenv("SECRET_KEY_PREVIOUS", OLD)
    assert Settings(_env_file=None).secret_keys == [NEW, OLD]  # pyright: ignore[reportCallIssue]
