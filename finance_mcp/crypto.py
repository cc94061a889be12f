"""Secrets this server hands out (API keys, OAuth codes and refresh tokens, client secrets) and keys derived
from SECRET_KEY.

An issued secret is random (256 bits), shown once, and stored only as its SHA-256: with that much entropy a
slow password hash adds nothing, and a plain digest lets a lookup compare in constant time. The one secret we
must read back, MCP_Auth's refresh token, is sealed with AES-GCM under a key derived from SECRET_KEY.
During a rotation the key before it (SECRET_KEY_PREVIOUS) still opens what it sealed; only SECRET_KEY seals.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

SECRET_BYTES = 32
_NONCE_BYTES = 12


def new_secret() -> str:
    """43 URL-safe characters, 256 random bits."""
    return secrets.token_urlsafe(SECRET_BYTES)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def matches(secret: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_secret(secret), stored_hash)


def derive_key(secret_key: str, purpose: str) -> bytes:
    """A 256-bit key for one purpose: HMAC-SHA256(SECRET_KEY, label). Keys for different purposes are
    unrelated, and none of them is SECRET_KEY itself, so nothing signed with one passes as another."""
    return hmac.new(secret_key.encode(), f"finance-mcp {purpose} v1".encode(), hashlib.sha256).digest()


class Sealer:
    """Authenticated encryption (AES-256-GCM) of short strings for storage; the purpose is bound as
    associated data, so a sealed value cannot be moved to another column and still open."""

    def __init__(self, secret_key: str, purpose: str, *, previous: str | None = None) -> None:
        self._aead = AESGCM(derive_key(secret_key, f"sealing {purpose}"))
        self._older = [] if previous is None else [AESGCM(derive_key(previous, f"sealing {purpose}"))]
        self._purpose = purpose.encode()

    def seal(self, plaintext: str) -> str:
        nonce = secrets.token_bytes(_NONCE_BYTES)
        sealed = nonce + self._aead.encrypt(nonce, plaintext.encode(), self._purpose)
        return base64.urlsafe_b64encode(sealed).decode()

    def open(self, sealed: str) -> str | None:
        """The plaintext, or None when the value was tampered with or sealed under another key."""
        try:
            raw = base64.urlsafe_b64decode(sealed.encode())
        except ValueError:
            return None
        for aead in (self._aead, *self._older):
            try:
                return aead.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], self._purpose).decode()
            except (InvalidTag, ValueError):
                continue
        return None
