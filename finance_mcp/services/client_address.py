"""The key every per-address limit counts under (client registration, sign-in attempts)."""

from __future__ import annotations

import ipaddress


def source_of(address: str | None) -> str:
    """The counting key of a client address: the address itself, or its /64 for IPv6 (the block one
    subscriber usually holds, so rotating addresses within it buys nothing); IPv4-mapped IPv6 counts as IPv4."""
    try:
        parsed = ipaddress.ip_address(address or "")
    except ValueError:
        return "address:unknown"
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return f"address:{parsed.ipv4_mapped}"
        return f"address:{ipaddress.IPv6Network((parsed, 64), strict=False)}"
    return f"address:{parsed}"
