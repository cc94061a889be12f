"""Claims in one canonical form: each MCP_Auth id has exactly one accepted spelling, odd types are refused,
and development ids exist only in development tokens."""

from __future__ import annotations

from typing import Any

import pytest

from finance_mcp.cli.dev import mint_dev_token, mint_token
from finance_mcp.server import claims
from finance_mcp.server.auth import JwtVerifier, Rejected

SECRET = "claims-test-secret-" + "k" * 32
BASE: dict[str, Any] = {"sub": "3", "tenant_id": "2", "exp": 4_000_000_000, "role": "MEMBER", "scopes": []}


def test_an_integer_tenant_id_becomes_its_decimal_string() -> None:
    assert claims.normalise(BASE | {"tenant_id": 2})["tenant_id"] == "2"


@pytest.mark.parametrize("tenant", ["02", " 2", "2 ", 2.0, True, -2, "", "2.0", "+2", "1:2", "x" * 65, "é"])
def test_a_tenant_id_without_one_canonical_spelling_is_refused(tenant: object) -> None:
    with pytest.raises(claims.MalformedClaim, match="tenant_id"):
        claims.normalise(BASE | {"tenant_id": tenant})


@pytest.mark.parametrize("sub", ["", "\x00", 3, "03", "a b"])
def test_a_sub_without_one_canonical_spelling_is_refused(sub: object) -> None:
    with pytest.raises(claims.MalformedClaim, match="sub"):
        claims.normalise(BASE | {"sub": sub})


@pytest.mark.parametrize(
    "changes",
    [
        *[{"aud": 123}, {"aud": ["a", 1]}, {"scopes": "x"}, {"scopes": [1]}, {"scope": 5}],
        *[{"role": "GOD"}, {"role": 1}, {"email": 5}, {"exp": "4000000000"}, {"iat": True}, {"nbf": float("nan")}],
    ],
)
def test_a_claim_of_the_wrong_type_is_refused(changes: dict[str, Any]) -> None:
    with pytest.raises(claims.MalformedClaim):
        claims.normalise(BASE | changes)


def test_development_ids_need_the_marker_and_the_marker_needs_development_ids() -> None:
    with pytest.raises(claims.MalformedClaim):
        claims.normalise(BASE | {"tenant_id": "dev-2"})
    with pytest.raises(claims.MalformedClaim):
        claims.normalise(BASE | {"finance_mcp_dev": True, "sub": "dev-1"})
    assert claims.normalise(BASE | {"finance_mcp_dev": True, "sub": "dev-1", "tenant_id": "dev-2"})["sub"] == "dev-1"


def test_a_development_token_for_sub_1_tenant_2_is_dev_1_in_dev_2() -> None:
    token, minted = mint_dev_token(SECRET, sub="1", tenant="2")
    verified = JwtVerifier(SECRET, resource_url="http://127.0.0.1:8000/mcp").check(token)

    assert (minted["sub"], minted["tenant_id"]) == ("dev-1", "dev-2")
    assert not isinstance(verified, Rejected)
    assert verified.subject == "dev-2:dev-1"


def test_mcp_auths_own_shape_still_verifies_unchanged() -> None:
    token = mint_token(SECRET, sub="3", tenant="2", role="MEMBER", email="m@example.com")
    verified = JwtVerifier(SECRET, resource_url="http://127.0.0.1:8000/mcp").check(token)

    assert not isinstance(verified, Rejected)
    assert verified.subject == "2:3"
    assert verified.claims is not None
    assert verified.claims["role"] == "MEMBER"
