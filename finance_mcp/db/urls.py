"""Database URLs as users write them (`sqlite:///`, `postgresql://`, libpq's multi-host form) mapped to the
drivers this server uses."""

from __future__ import annotations


def async_url(url: str) -> str:
    """Map plain `sqlite:///` and `postgresql://` URLs to the drivers this server uses."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ValueError(f"not a database URL: {url!r}")
    base = scheme.split("+", 1)[0]
    if base in ("postgresql", "postgres"):
        return f"postgresql+asyncpg://{_hosts_as_query(rest)}"
    if base == "sqlite":
        return f"sqlite://{rest}"
    raise ValueError(f"unsupported database URL scheme {scheme!r}")


def _hosts_as_query(rest: str) -> str:
    """libpq's multi-host form `user@h1:p1,h2:p2/db?...` as SQLAlchemy's `user@/db?host=h1:p1&host=h2:p2&...`
    (SQLAlchemy cannot parse the first; asyncpg tries the hosts in order, honouring target_session_attrs)."""
    netloc, _, tail = rest.partition("/")
    userinfo, at, hosts = netloc.rpartition("@")
    if "," not in hosts:
        return rest
    path, _, query = tail.partition("?")
    listed = "&".join(f"host={_with_port(host)}" for host in hosts.split(","))
    return f"{userinfo}{at}/{path}?{listed}" + (f"&{query}" if query else "")


def _with_port(host: str) -> str:
    """SQLAlchemy needs every host of a multi-host URL to name its port; libpq's default is 5432."""
    return host if ":" in host.rsplit("]", 1)[-1] else f"{host}:5432"
