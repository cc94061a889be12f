"""HS256 decoding with the key prepared once.

PyJWT checks and converts the key on every decode (two scans for PEM and SSH key shapes, a quarter of the
decode: docs/PERFORMANCE.md, "Figures behind the code"). A verifier's key never changes, so it is prepared
once, when the verifier is built.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jwt
from jwt.algorithms import HMACAlgorithm
from jwt.api_jws import PyJWS
from jwt.exceptions import InvalidSubjectError

from finance_mcp.server.jwt_private import with_signatures

ALGORITHM = "HS256"


class _PreparedHS256(HMACAlgorithm):
    def __init__(self, key: str | bytes) -> None:
        super().__init__(HMACAlgorithm.SHA256)
        self._key = key
        self._prepared = super().prepare_key(key)

    def prepare_key(self, key: str | bytes) -> bytes:
        return self._prepared if key is self._key else super().prepare_key(key)


def decoder(key: str | bytes) -> jwt.PyJWT:
    """A PyJWT that knows only HS256, with `key` prepared once; pass that same `key` object to `decode`."""
    signatures = PyJWS(algorithms=[])
    signatures.register_algorithm(ALGORITHM, _PreparedHS256(key))
    return with_signatures(jwt.PyJWT(), signatures)  # PyJWT has no public hook for its signature layer


class KeyRing:
    """HS256 decoding with the current key, then older ones (a SECRET_KEY rotation): a token whose signature
    fails with one key is tried with the next; any other refusal (expired, wrong audience) is final."""

    def __init__(self, keys: Sequence[str | bytes]) -> None:
        self._decoders = [(decoder(key), key) for key in keys]

    def decode(self, token: str, **options: Any) -> dict[str, Any]:
        for decoding, key in self._decoders[:-1]:
            try:
                return decoding.decode(token, key, **options)
            except jwt.InvalidSignatureError:
                continue
        decoding, key = self._decoders[-1]
        return decoding.decode(token, key, **options)


def reason(error: jwt.PyJWTError) -> str:
    """Why a token was refused, in words safe to send back (`error_description`): no key, no claim values."""
    if isinstance(error, jwt.ExpiredSignatureError):
        return "the token has expired; sign in again (or refresh) for a new one"
    if isinstance(error, jwt.InvalidSignatureError):
        return "the token's signature does not verify with this server's key"
    if isinstance(error, jwt.ImmatureSignatureError):
        return "the token is not valid yet (its iat or nbf is in the future)"
    if isinstance(error, jwt.InvalidAudienceError):
        return "the token is for another audience, not this server"
    if isinstance(error, jwt.InvalidIssuerError):
        return "the token's issuer is not the one this server trusts"
    if isinstance(error, jwt.MissingRequiredClaimError):
        return f"the token lacks the required {error.claim!r} claim"
    if isinstance(error, jwt.InvalidAlgorithmError):
        return f"the token is not signed with {ALGORITHM}"
    if isinstance(error, InvalidSubjectError):
        return "the 'sub' claim must be a string"
    return "the bearer token is not a well-formed signed JWT"
