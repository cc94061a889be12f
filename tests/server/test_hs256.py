"""The HS256 decoder with a key prepared once accepts exactly what plain PyJWT accepts with that key."""

from __future__ import annotations

import secrets

import jwt
import pytest

from finance_mcp.server import hs256

SECRET = secrets.token_urlsafe(48)
CLAIMS = {"sub": "1", "exp": 4_000_000_000}


def test_a_token_signed_with_the_key_decodes_to_its_claims() -> None:
    decoding = hs256.decoder(SECRET)

    assert decoding.decode(jwt.encode(CLAIMS, SECRET, algorithm="HS256"), SECRET, algorithms=["HS256"]) == CLAIMS


def test_an_equal_key_that_is_another_object_is_prepared_as_usual() -> None:
    decoding = hs256.decoder(SECRET)
    copy = "".join(list(SECRET))
    assert copy is not SECRET

    assert decoding.decode(jwt.encode(CLAIMS, SECRET, algorithm="HS256"), copy, algorithms=["HS256"]) == CLAIMS


@pytest.mark.parametrize(
    ("key", "algorithm"),
    [(secrets.token_urlsafe(48), "HS256"), (SECRET, "HS512"), (SECRET, "HS384")],
    ids=["other key", "HS512", "HS384"],
)
def test_another_key_or_algorithm_is_refused(key: str, algorithm: str) -> None:
    decoding = hs256.decoder(SECRET)
    token = jwt.encode(CLAIMS, key, algorithm=algorithm)

    with pytest.raises(jwt.PyJWTError):
        decoding.decode(token, SECRET, algorithms=["HS256", algorithm])


def test_a_pem_shaped_key_is_still_refused_when_the_decoder_is_built() -> None:
    with pytest.raises(jwt.InvalidKeyError):
        hs256.decoder("-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----")


@pytest.mark.parametrize(
    ("claims", "key", "words"),
    [
        ({"sub": "1", "exp": 1}, SECRET, "expired"),
        (CLAIMS, secrets.token_urlsafe(48), "signature"),
        ({"exp": 4_000_000_000}, SECRET, "'sub'"),
    ],
    ids=["expired", "other key", "no sub"],
)
def test_a_refusal_is_described_without_the_key(claims: dict[str, object], key: str, words: str) -> None:
    decoding = hs256.decoder(SECRET)
    with pytest.raises(jwt.PyJWTError) as refused:
        decoding.decode(
            jwt.encode(claims, key, algorithm="HS256"), SECRET, algorithms=["HS256"], options={"require": ["sub"]}
        )

    reason = hs256.reason(refused.value)

    assert words in reason
    assert SECRET not in reason
    assert key not in reason
