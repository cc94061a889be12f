"""Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document): a client whose `client_id`
is an https URL publishes its metadata there, and we fetch it instead of storing a registration.

The fetch is where an attacker could aim the server at something else (SSRF), so it is bounded: https only,
the host's every address must be public (no loopback, private, link-local or reserved ranges) and the request
goes to the address that was checked (no second DNS answer), no redirects followed, at most 5 KB read within
5 seconds, no proxy from the environment. Answers are kept for 5 minutes, refusals (with their reason, shown
on the error page) for 1 minute, so a client or an attacker cannot make the server fetch in a loop.
"""

from __future__ import annotations

import ipaddress
import json
import re
import socket
import time
from typing import Any, cast

import anyio
import httpx2
from mcp.server.auth.errors import stringify_pydantic_error
from mcp.server.auth.provider import RegistrationError
from mcp.shared.auth import OAuthClientInformationFull
from pydantic import ValidationError

from finance_mcp.domain.principals import FINANCE_SCOPES
from finance_mcp.server.oauth.client_metadata import check_client

MAX_URL_LENGTH = 255  # oauth_grants.client_id
MAX_DOCUMENT_BYTES = 5 * 1024  # the draft's suggested limit
FETCH_SECONDS = 5.0
KEEP_SECONDS = 300.0
KEEP_REFUSAL_SECONDS = 60.0
MAX_KEPT = 1000
_DOT_SEGMENT = re.compile(r"(^|/)\.{1,2}(/|$)")


class DocumentRefused(Exception):
    """The client ID URL or its document is not acceptable; the message says why, for the person."""


_NAT64 = (ipaddress.IPv6Network("64:ff9b::/96"), ipaddress.IPv6Network("64:ff9b:1::/48"))
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (mapped, 6to4, Teredo, NAT64, IPv4-compatible), if any: the
    `ipaddress` module calls several of these global whatever IPv4 address they lead to."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if any(address in network for network in (*_NAT64, _IPV4_COMPATIBLE)):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _address_is_public(address: str) -> bool:
    parsed = ipaddress.ip_address(address.split("%", 1)[0])
    candidates: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = [parsed]
    if isinstance(parsed, ipaddress.IPv6Address) and (embedded := _embedded_ipv4(parsed)) is not None:
        candidates.append(embedded)
    return all(each.is_global and not each.is_multicast for each in candidates)


class ClientDocuments:
    def __init__(self, *, allow_private_addresses: bool = False) -> None:
        # Only for tests on one machine: plain http and loopback/private addresses become acceptable.
        self._allow_private = allow_private_addresses
        self._kept: dict[str, tuple[float, OAuthClientInformationFull | str]] = {}

    def is_document_url(self, client_id: str) -> bool:
        return client_id.startswith("https://") or (self._allow_private and client_id.startswith("http://"))

    def refusal(self, url: str) -> str | None:
        """Why the document at `url` was refused a moment ago, if it was."""
        kept = self._kept.get(url)
        return kept[1] if kept is not None and isinstance(kept[1], str) else None

    async def client(self, url: str) -> OAuthClientInformationFull:
        kept = self._kept.get(url)
        if kept is not None and kept[0] > time.monotonic():
            if isinstance(kept[1], str):
                raise DocumentRefused(kept[1])
            return kept[1]
        try:
            found: OAuthClientInformationFull | str = _client_from(await self._fetch(url), url)
        except DocumentRefused as refused:
            found = str(refused)
        self._keep(url, found)
        if isinstance(found, str):
            raise DocumentRefused(found)
        return found

    def _keep(self, url: str, found: OAuthClientInformationFull | str) -> None:
        while len(self._kept) >= MAX_KEPT:
            self._kept.pop(next(iter(self._kept)))
        self._kept.pop(url, None)
        ttl = KEEP_REFUSAL_SECONDS if isinstance(found, str) else KEEP_SECONDS
        self._kept[url] = (time.monotonic() + ttl, found)

    async def _fetch(self, url: str) -> dict[str, Any]:
        target = _checked_url(url, allow_http=self._allow_private)
        host, port = target.host, target.port or (443 if target.scheme == "https" else 80)
        try:
            with anyio.fail_after(FETCH_SECONDS):
                address = await self._public_address(host, port)
                return await _get_json(target, address)
        except TimeoutError:
            raise DocumentRefused(
                f"the client ID document at {url} did not arrive within {FETCH_SECONDS:g} s"
            ) from None
        except (httpx2.HTTPError, OSError) as error:
            raise DocumentRefused(
                f"the client ID document at {url} could not be fetched ({type(error).__name__})"
            ) from None

    async def _public_address(self, host: str, port: int) -> str:
        try:
            answers = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError:
            raise DocumentRefused(f"the client ID host {host} does not resolve") from None
        addresses = [str(answer[4][0]) for answer in answers]
        if not addresses or not (self._allow_private or all(_address_is_public(a) for a in addresses)):
            raise DocumentRefused(f"the client ID host {host} is not a public internet address")
        return addresses[0]


def _checked_url(url: str, *, allow_http: bool) -> httpx2.URL:
    """The draft's rules for a client ID URL: https, a host, a path, no fragment, credentials or dot segments."""
    if len(url) > MAX_URL_LENGTH:
        raise DocumentRefused(f"a client ID URL may be at most {MAX_URL_LENGTH} characters")
    try:
        parsed = httpx2.URL(url)
    except httpx2.InvalidURL:
        raise DocumentRefused("the client ID is not a valid URL") from None
    if parsed.scheme != "https" and not (allow_http and parsed.scheme == "http"):
        raise DocumentRefused("a client ID URL must use https")
    if not parsed.host or parsed.fragment or "#" in url or parsed.userinfo:
        raise DocumentRefused("a client ID URL needs a host and no fragment or user name")
    if parsed.path in ("", "/") or _DOT_SEGMENT.search(parsed.path):
        raise DocumentRefused("a client ID URL needs a path, without . or .. segments")
    return parsed


async def _get_json(target: httpx2.URL, address: str) -> dict[str, Any]:
    """GET the document from the address that was checked, sending the real host name (Host and TLS SNI)."""
    pinned = target.copy_with(host=address)
    headers = {"Host": target.netloc.decode("ascii"), "Accept": "application/json"}
    async with httpx2.AsyncClient(follow_redirects=False, trust_env=False, timeout=FETCH_SECONDS) as http:
        request = http.build_request("GET", pinned, headers=headers, extensions={"sni_hostname": target.host})
        response = await http.send(request, stream=True)
        try:
            if response.status_code != 200:
                raise DocumentRefused(
                    f"the client ID document at {target} answered HTTP {response.status_code} "
                    "(redirects are not followed)"
                )
            body = b""
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > MAX_DOCUMENT_BYTES:
                    raise DocumentRefused(
                        f"the client ID document at {target} is larger than {MAX_DOCUMENT_BYTES} bytes"
                    )
        finally:
            await response.aclose()
    try:
        document = json.loads(body)
    except ValueError:
        raise DocumentRefused(f"the client ID document at {target} is not JSON") from None
    if not isinstance(document, dict):
        raise DocumentRefused(f"the client ID document at {target} is not a JSON object")
    return cast(dict[str, Any], document)


def _client_from(document: dict[str, Any], url: str) -> OAuthClientInformationFull:
    """The client a document describes: it must name itself by its own URL and be a public client."""
    if document.get("client_id") != url:
        raise DocumentRefused(f"the client ID document's client_id is not its own URL {url}")
    if "client_secret" in document or "client_secret_expires_at" in document:
        raise DocumentRefused("a client ID document must not contain a client secret")
    if document.get("token_endpoint_auth_method", "none") != "none":
        raise DocumentRefused("only public clients are supported: token_endpoint_auth_method must be none")
    try:
        client = OAuthClientInformationFull.model_validate(document)
        check_client(client)
    except ValidationError as error:
        raise DocumentRefused(f"the client ID document is not valid: {stringify_pydantic_error(error)}") from None
    except RegistrationError as error:
        raise DocumentRefused(f"the client ID document is not acceptable: {error.error_description}") from None
    if "authorization_code" not in client.grant_types:
        raise DocumentRefused("the client ID document's grant_types must include authorization_code")
    # A document serves many servers: keep only our scopes, and offer them all when it names none of ours.
    ours = [scope for scope in (client.scope or "").split() if scope in FINANCE_SCOPES] or list(FINANCE_SCOPES)
    return client.model_copy(update={"token_endpoint_auth_method": "none", "scope": " ".join(ours)})
