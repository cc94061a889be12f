"""One canonical form for every claim a bearer token carries, or a refusal that says which claim is wrong.

MCP_Auth writes `sub` and `tenant_id` as strings of its integer ids (its token contract). A household
and a user are found by these strings, so two spellings of one id would be two households: `"02"`, `" 2"`,
`2.0` and `true` each made a new one. The rules:

* `sub` is a JSON string (RFC 7519); `tenant_id` a JSON string or a non-negative JSON integer (stored as
  its decimal string). Booleans and floats are refused.
* An id of digits only must be canonical decimal: no sign, no leading zero, no whitespace, at most 20
  digits. Every MCP_Auth id has this form and exactly one spelling.
* Any other id (never from MCP_Auth: other issuers, test tooling) starts with a letter and has at most 64
  letters, digits, `_` and `-`. No whitespace, control characters, `:` (the principal is `tenant:sub`) or
  `.`, so no id looks like a number it is not.
* Ids starting with `dev-` are development ids: accepted only from a development token (which carries
  `"finance_mcp_dev": true`), and a development token must use them for `sub` and `tenant_id`. A real
  MCP_Auth id is all digits, so a development token can never open a real household or user.
* `aud`: a string or a list of strings. `scopes`: a list of strings; `scope`: a string. `email`: a
  string. `role`: OWNER, ADMIN, MEMBER or VIEWER in any case. `exp` (required), `iat`, `nbf`: numbers.
"""

from __future__ import annotations

import math
import re
from typing import Any

from finance_mcp.domain.errors import PermissionDenied
from finance_mcp.domain.principals import Role

DEV_CLAIM = "finance_mcp_dev"
DEV_PREFIX = "dev-"
_DIGITS = re.compile(r"^[0-9]+$")
_CANONICAL_NUMBER = re.compile(r"^(0|[1-9][0-9]{0,19})$")
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")
_MAX_EMAIL = 320


class MalformedClaim(Exception):
    """A claim of a validly signed token has no canonical form. The message names the claim only, never
    its value (which may be long or hostile) or any key material."""


def identifier(claims: dict[str, Any], name: str, *, required: bool) -> str | None:
    """`sub` or `tenant_id` in canonical form; None when absent and not required."""
    value = claims.get(name)
    if value is None and not required:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and name != "sub" and value >= 0:
        value = str(value)
    if not isinstance(value, str):
        kinds = "a string" if name == "sub" else "a string or a non-negative integer"
        raise MalformedClaim(f"the {name!r} claim must be {kinds} of a canonical id")
    if _DIGITS.match(value):
        if not _CANONICAL_NUMBER.match(value):
            raise MalformedClaim(f"the {name!r} claim is a number with a leading zero or too many digits")
    elif not _NAME.match(value):
        raise MalformedClaim(f"the {name!r} claim is not a canonical id (digits, or a letter then letters/digits/-/_)")
    return value


def check_development(claims: dict[str, Any], ids: list[str]) -> None:
    """Development ids only in development tokens, and development tokens only with development ids."""
    marker = claims.get(DEV_CLAIM)
    if marker is not None and marker is not True:
        raise MalformedClaim(f"the {DEV_CLAIM!r} claim must be true when present")
    dev_ids = [i.startswith(DEV_PREFIX) for i in ids]
    if marker is True and not all(dev_ids):
        raise MalformedClaim("a development token may name only dev- users and households")
    if marker is None and any(dev_ids):
        raise MalformedClaim("dev- users and households exist only in development tokens")


def audiences(claims: dict[str, Any]) -> list[str]:
    aud = claims.get("aud")
    if aud is None:
        return []
    if isinstance(aud, str):
        return [aud]
    if isinstance(aud, list) and all(isinstance(a, str) for a in aud):  # pyright: ignore[reportUnknownVariableType]
        return list(aud)  # pyright: ignore[reportUnknownArgumentType]
    raise MalformedClaim("the 'aud' claim must be a string or a list of strings")


def scopes(claims: dict[str, Any]) -> list[str]:
    """MCP_Auth's `scopes` list and the OAuth `scope` string, together."""
    listed = claims.get("scopes")
    if listed is None:
        listed = []
    if not isinstance(listed, list) or not all(isinstance(s, str) for s in listed):  # pyright: ignore[reportUnknownVariableType]
        raise MalformedClaim("the 'scopes' claim must be a list of strings")
    spaced = claims.get("scope")
    if spaced is None:
        spaced = ""
    if not isinstance(spaced, str):
        raise MalformedClaim("the 'scope' claim must be a space-separated string")
    return [*listed, *spaced.split()]  # pyright: ignore[reportUnknownArgumentType]


def email(claims: dict[str, Any]) -> str | None:
    value = claims.get("email")
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > _MAX_EMAIL or not value.isprintable():
        raise MalformedClaim(f"the 'email' claim must be a printable string of at most {_MAX_EMAIL} characters")
    return value


def role(claims: dict[str, Any]) -> str | None:
    """The role in upper case, or None when absent (the household kind then decides)."""
    value = claims.get("role")
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise MalformedClaim("the 'role' claim must be OWNER, ADMIN, MEMBER or VIEWER")
    try:
        return Role.parse(value, shared_household=True).name
    except PermissionDenied:
        raise MalformedClaim("the 'role' claim must be OWNER, ADMIN, MEMBER or VIEWER") from None


def times(claims: dict[str, Any]) -> None:
    """`exp`, `iat` and `nbf` are JSON numbers (PyJWT also takes the string "123" or `true` as one)."""
    for name in ("exp", "iat", "nbf"):
        value = claims.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise MalformedClaim(f"the {name!r} claim must be a number of seconds since the epoch")


def normalise(claims: dict[str, Any]) -> dict[str, Any]:
    """The claims with `sub`, `tenant_id`, `email` and `role` in canonical form; raises `MalformedClaim`."""
    times(claims)
    sub = identifier(claims, "sub", required=True)
    tenant = identifier(claims, "tenant_id", required=False)
    assert sub is not None
    check_development(claims, [sub] if tenant is None else [sub, tenant])
    audiences(claims)
    scopes(claims)
    normal = {**claims, "sub": sub, "email": email(claims), "role": role(claims)}
    if tenant is not None:
        normal["tenant_id"] = tenant
    return normal
