"""The one use of PyJWT's internals, fenced here so a PyJWT upgrade breaks one module, loudly
(`tests/test_private_apis.py` has its canary).

`PyJWT` has no public way to give it a signature layer (`PyJWS`) of one's own, which `server/hs256.py` needs
to register an HS256 whose key is prepared once. Its constructor builds its own `PyJWS` as `_jws`, and
PyJWT's own module wires its global object the same way (`_jwt_global_obj._jws = _jws_global_obj`).
Passing a `PyJWK` instead, the public alternative, still prepares the key on every decode (PyJWT 2.15).
"""

from __future__ import annotations

import jwt
from jwt.api_jws import PyJWS


def with_signatures(decoding: jwt.PyJWT, signatures: PyJWS) -> jwt.PyJWT:
    """`decoding`, verifying signatures with `signatures` (and only its algorithms)."""
    decoding._jws = signatures  # pyright: ignore[reportPrivateUsage]
    return decoding
