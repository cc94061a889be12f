"""What a client may say about itself, whether it registered (RFC 7591) or published a Client ID Metadata
Document: bounded fields, and redirect URIs a real client uses.

Redirect URIs: `https` anywhere; plain `http` only on loopback (RFC 8252 §7.3); a private-use scheme in
reverse-domain form (`com.example.app:/callback`, RFC 8252 §7.1), or one of the few app schemes real MCP
clients register (Cursor registers `cursor://anysphere.cursor-mcp/oauth/callback`, VS Code `vscode://`).
Browser-internal and script schemes (`view-source:`, `chrome:`, `ms-settings:`, `javascript:`, `data:`,
`file:`) are refused: the sign-in would hand a code, or an error, to something that is not the client.
"""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

from mcp.server.auth.provider import RegistrationError, RegistrationErrorCode
from mcp.shared.auth import OAuthClientInformationFull

MAX_REDIRECT_URIS = 10
MAX_URI_LENGTH = 2000  # oauth_codes.redirect_uri
MAX_NAME_LENGTH = 200
MAX_TEXT_LENGTH = 500
MAX_CONTACTS = 10
MAX_STORED_METADATA_BYTES = 8 * 1024
LOOPBACK = {"localhost", "127.0.0.1", "::1"}
APP_SCHEMES = {"cursor", "vscode", "vscode-insiders", "jetbrains"}
_SCHEME = re.compile(r"[a-z][a-z0-9+.-]*")
ALLOWED = (
    "use https, http on 127.0.0.1, [::1] or localhost, or a private-use scheme in reverse-domain form "
    "such as com.example.app:/callback"
)


def _refuse(error: RegistrationErrorCode, message: str) -> RegistrationError:
    return RegistrationError(error, message)


def _shown(value: str) -> str:
    return repr(value if len(value) <= 100 else value[:100] + "…")


def redirect_uri_problem(uri: str) -> str | None:
    """Why this redirect URI is not acceptable, or None when it is."""
    if len(uri) > MAX_URI_LENGTH:
        return f"a redirect URI is {len(uri)} characters; at most {MAX_URI_LENGTH} are allowed"
    parts = urlsplit(uri)
    scheme = parts.scheme.lower()
    if parts.fragment or "#" in uri:
        return f"redirect URI {_shown(uri)} has a fragment (#...), which OAuth forbids"
    if scheme == "https":
        return None if parts.hostname else f"redirect URI {_shown(uri)} names no host"
    if scheme == "http":
        if (parts.hostname or "") in LOOPBACK:
            return None
        return f"plain http redirect URIs must be loopback (127.0.0.1, [::1], localhost), got {_shown(uri)}; {ALLOWED}"
    if _SCHEME.fullmatch(scheme) and ("." in scheme or scheme in APP_SCHEMES) and (parts.path or parts.netloc):
        return None
    return f"redirect URI {_shown(uri)} uses the scheme {scheme or '(none)'!r}, which is not allowed; {ALLOWED}"


def check_redirect_uris(uris: list[str]) -> None:
    if not uris:
        raise _refuse("invalid_redirect_uri", "at least one redirect URI is required")
    if len(uris) > MAX_REDIRECT_URIS:
        raise _refuse("invalid_redirect_uri", f"{len(uris)} redirect URIs; at most {MAX_REDIRECT_URIS} are allowed")
    for uri in uris:
        if (problem := redirect_uri_problem(uri)) is not None:
            raise _refuse("invalid_redirect_uri", problem)


def _check_length(name: str, value: str | None, limit: int) -> None:
    if value is not None and len(value) > limit:
        raise _refuse("invalid_client_metadata", f"{name} is {len(value)} characters; at most {limit} are allowed")


def check_client(client: OAuthClientInformationFull) -> dict[str, object]:
    """Refuse oversized or unsafe metadata; the metadata to store (without id and secret) when it is fine."""
    check_redirect_uris([str(uri) for uri in client.redirect_uris or []])
    _check_length("client_name", client.client_name, MAX_NAME_LENGTH)
    for name in ("scope", "software_id", "software_version"):
        _check_length(name, getattr(client, name), MAX_TEXT_LENGTH)
    for name in ("client_uri", "logo_uri", "tos_uri", "policy_uri", "jwks_uri"):
        value = getattr(client, name)
        _check_length(name, None if value is None else str(value), MAX_URI_LENGTH)
    contacts = client.contacts or []
    if len(contacts) > MAX_CONTACTS:
        raise _refuse("invalid_client_metadata", f"{len(contacts)} contacts; at most {MAX_CONTACTS} are allowed")
    for contact in contacts:
        _check_length("a contact", contact, MAX_TEXT_LENGTH)
    metadata = client.model_dump(mode="json", exclude={"client_id", "client_secret"}, exclude_none=True)
    size = len(json.dumps(metadata).encode())
    if size > MAX_STORED_METADATA_BYTES:
        raise _refuse(
            "invalid_client_metadata", f"the client metadata is {size} bytes; at most {MAX_STORED_METADATA_BYTES}"
        )
    return metadata
