"""Attacks on the sign-in page, against real servers signing people in at the stand-in MCP_Auth, on both
databases. Every attack here got through before (issue 11, item 3 and the sign-in parts of item 11).

Two servers share one database, as two workers or two replicas would, and the tests alternate between
them. Their backoff starts at ten minutes, so "at most the budget" is a count, not a race with the clock.
Each test signs in from its own addresses (`X-Forwarded-For`, which uvicorn trusts from loopback), so no
test spends another's budget.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest
from sqlalchemy import func, insert, select

from finance_mcp.db.database import open_database
from finance_mcp.db.models import signin_attempts
from tests.e2e.conftest import mcp_auth
from tests.e2e.helpers import bearer, jsonrpc_message, post_tool_call
from tests.e2e.mcp_auth_stand_in import McpAuthStandIn, serving
from tests.e2e.oauth_helpers import (
    Client,
    Person,
    authorize_url,
    exchange,
    new_household,
    new_member,
    open_sign_in_page,
    pkce,
    read_form,
    redirect_params,
    refresh,
    register,
    submit,
)
from tests.e2e.servers import SECRET, RunningServer, drain_output, start_server, stop_server

__all__ = ["mcp_auth"]

pytestmark = pytest.mark.anyio

FREE_PER_ADDRESS = 5  # services/sign_in_throttle.py FREE["pair"]
FREE_PER_ACCOUNT = 20
LONG_BACKOFF = {"SIGNIN_BACKOFF_SECONDS": "600"}


def bridge_env(mcp_auth_url: str) -> dict[str, str]:
    return {"OAUTH_BRIDGE": "true", "API_KEYS": "true", "AUTH_SERVER_URL": mcp_auth_url, **LONG_BACKOFF}


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def servers(request: pytest.FixtureRequest, mcp_auth: McpAuthStandIn) -> Iterator[tuple[RunningServer, ...]]:
    """Two real servers on one database (what two workers or replicas are to the sign-in throttle)."""
    url = str(request.getfixturevalue(f"{request.param}_url"))
    running = [start_server(url, env=bridge_env(mcp_auth.url)) for _ in range(2)]
    drains = [drain_output(server) for server in running]
    yield tuple(running)
    for server, drain in zip(running, drains, strict=True):
        stop_server(server)
        drain.join(timeout=10)


def address() -> str:
    return f"198.51.{random.randrange(256)}.{random.randrange(1, 255)}"


def browser(source: str) -> httpx2.AsyncClient:
    return httpx2.AsyncClient(headers={"X-Forwarded-For": source}, timeout=httpx2.Timeout(60))


async def sign_in_page(http: httpx2.AsyncClient, server: RunningServer, client: Client) -> httpx2.Response:
    return await open_sign_in_page(http, authorize_url(server.base_url, client, pkce()[1]))


async def attempt(server: RunningServer, client: Client, person: Person, source: str, **kw: Any) -> httpx2.Response:
    """One whole sign-in from `source`: open the page, submit the form."""
    async with browser(source) as http:
        page = await sign_in_page(http, server, client)
        return await submit(http, server.base_url, page, person, **kw)


def reached(mcp_auth: McpAuthStandIn, person: Person) -> int:
    return mcp_auth.sign_ins.count((person.tenant_email.lower(), person.username))


async def test_a_hundred_concurrent_wrong_passwords_reach_mcp_auth_at_most_the_budget(
    servers: tuple[RunningServer, ...], mcp_auth: McpAuthStandIn
) -> None:
    owner, source = new_household(mcp_auth), address()
    async with httpx2.AsyncClient() as http:
        client = await register(http, servers[0].base_url)
    answers = await asyncio.gather(
        *[attempt(servers[i % 2], client, owner, source, password=f"guess-{i}") for i in range(100)]
    )

    statuses = [answer.status_code for answer in answers]
    assert 1 <= reached(mcp_auth, owner) <= FREE_PER_ADDRESS  # before: all 100
    assert statuses.count(401) == reached(mcp_auth, owner)
    assert statuses.count(429) == 100 - reached(mcp_auth, owner)
    assert all(int(a.headers["retry-after"]) >= 60 for a in answers if a.status_code == 429)


async def test_two_servers_on_one_database_share_one_budget(
    servers: tuple[RunningServer, ...], mcp_auth: McpAuthStandIn
) -> None:
    owner, source = new_household(mcp_auth), address()
    async with httpx2.AsyncClient() as http:
        client = await register(http, servers[0].base_url)
    statuses = [(await attempt(servers[i % 2], client, owner, source, password="wrong")).status_code for i in range(12)]

    assert statuses == [401] * FREE_PER_ADDRESS + [429] * (12 - FREE_PER_ADDRESS)  # before: 10 x 401 (5 + 5)
    assert reached(mcp_auth, owner) == FREE_PER_ADDRESS


async def test_the_owner_signs_in_with_the_right_password_while_an_attacker_hammers(
    servers: tuple[RunningServer, ...], mcp_auth: McpAuthStandIn
) -> None:
    owner, home = new_household(mcp_auth), address()
    async with httpx2.AsyncClient() as http:
        client = await register(http, servers[0].base_url)
    assert (await attempt(servers[0], client, owner, home)).status_code == 303  # the owner's usual address
    attackers = [address() for _ in range(8)]
    hammering = [attempt(servers[i % 2], client, owner, attackers[i % 8], password=f"g{i}") for i in range(60)]
    guesses = await asyncio.gather(*hammering)
    newcomer = await attempt(servers[1], client, owner, address())  # right password, never seen address
    at_home = await attempt(servers[1], client, owner, home)  # right password, known address

    assert [g.status_code for g in guesses].count(401) <= FREE_PER_ACCOUNT  # before: 10, then all 429
    assert redirect_params(at_home)["code"]  # before: 429 "Too many failed sign-ins" for 15 minutes
    assert newcomer.status_code == 429
    assert int(newcomer.headers["retry-after"]) <= 15 * 60  # slowed down, told for how long: never locked


async def test_an_attacker_at_one_address_does_not_slow_the_owner_at_another(
    servers: tuple[RunningServer, ...], mcp_auth: McpAuthStandIn
) -> None:
    owner = new_household(mcp_auth)
    async with httpx2.AsyncClient() as http:
        client = await register(http, servers[0].base_url)
    attacker = address()
    guesses = [
        (await attempt(servers[i % 2], client, owner, attacker, password="wrong")).status_code for i in range(20)
    ]

    assert guesses.count(401) == FREE_PER_ADDRESS
    assert redirect_params(await attempt(servers[0], client, owner, address()))["code"]  # before: 429 for 15 min


async def test_varying_the_tenant_email_gives_no_more_one_time_code_guesses(
    servers: tuple[RunningServer, ...], mcp_auth: McpAuthStandIn
) -> None:
    owner, source = new_household(mcp_auth), address()  # the attacker has the password, not the device
    mcp_auth.enable_totp(owner.user)
    async with httpx2.AsyncClient() as http:
        client = await register(http, servers[0].base_url)
    name, domain = owner.tenant_email.split("@")
    variants = [name.upper() + "@" + domain, name + "@" + domain.upper(), f"other-{uuid.uuid4().hex[:6]}@{domain}"]
    for i in range(30):
        typo = Person(variants[i % 3], owner.username, owner.password, owner.user)
        await attempt(servers[i % 2], client, typo, source, totp_code=f"{i:06d}")

    assert mcp_auth.totp_checks.count(owner.user.id) <= FREE_PER_ADDRESS  # before: 30 (one key per variant)


async def test_many_keys_do_not_wipe_the_throttle_and_old_keys_expire(
    servers: tuple[RunningServer, ...], mcp_auth: McpAuthStandIn
) -> None:
    owner, source = new_household(mcp_auth), address()
    async with httpx2.AsyncClient() as http:
        client = await register(http, servers[0].base_url)
    for _ in range(FREE_PER_ADDRESS):
        await attempt(servers[0], client, owner, source, password="wrong")
    tag = uuid.uuid4().hex[:8]
    live, old = await add_keys(servers[0].database_url, tag, live=20_000, expired=1_500)
    still = await attempt(servers[1], client, owner, source, password="wrong")
    await attempt(servers[0], client, new_household(mcp_auth), address(), password="wrong")  # a failure purges
    live_left, old_left = await count_keys(servers[0].database_url, tag)

    assert still.status_code == 429  # before: 10,000 other keys cleared every count, this one's too
    assert live_left == live
    assert old_left < old  # forgotten rows go in batches as failures happen


async def add_keys(database_url: str, tag: str, *, live: int, expired: int) -> tuple[int, int]:
    """Other attackers' keys, written straight into the real table."""
    now = int(time.time() * 1000)
    rows = [
        {"key": f"{tag}-{n:055d}", "attempts": 3, "delay_ms": 0, "not_before_ms": now, "expires_ms": now + 3_600_000}
        for n in range(live)
    ] + [
        {"key": f"{tag}-old-{n:051d}", "attempts": 3, "delay_ms": 0, "not_before_ms": 0, "expires_ms": now - 1000}
        for n in range(expired)
    ]
    db = open_database(database_url)
    try:
        async with db.connect(write=True) as conn:
            await conn.execute(insert(signin_attempts), rows)
            await conn.commit()
    finally:
        await db.dispose()
    return live, expired


async def count_keys(database_url: str, tag: str) -> tuple[int, int]:
    db = open_database(database_url)
    try:
        async with db.connect(write=False) as conn:
            counts = [
                (await conn.execute(select(func.count()).where(signin_attempts.c.key.like(pattern)))).scalar_one()
                for pattern in (f"{tag}-0%", f"{tag}-old-%")
            ]
    finally:
        await db.dispose()
    return int(counts[0]), int(counts[1])


# ---- the sign-in parts of item 11 ------------------------------------------------------------------------


async def test_a_failed_sign_in_keeps_the_scopes_that_were_ticked(
    servers: tuple[RunningServer, ...], mcp_auth: McpAuthStandIn
) -> None:
    owner = new_household(mcp_auth)
    async with httpx2.AsyncClient() as http:
        client = await register(http, servers[0].base_url)
    chosen = ["finance:read", "finance:admin"]
    failed = await attempt(servers[0], client, owner, address(), password="wrong", scopes=chosen)

    assert failed.status_code == 401
    # before: the defaults (read and write) came back, and admin had to be ticked again
    assert read_form(failed.text).scopes == {"finance:read": True, "finance:write": False, "finance:admin": True}


async def test_a_one_time_code_works_with_a_username_that_is_not_an_email(
    servers: tuple[RunningServer, ...], mcp_auth: McpAuthStandIn
) -> None:
    member = new_member(mcp_auth, new_household(mcp_auth), role="ADMIN")
    mcp_auth.enable_totp(member.user)
    frozen = time.time()
    mcp_auth.clock = lambda: frozen
    try:
        async with httpx2.AsyncClient() as http:
            client = await register(http, servers[0].base_url)
        signed_in = await attempt(servers[0], client, member, address(), totp_code=mcp_auth.code_for(member.user))
    finally:
        mcp_auth.clock = time.time

    assert "@" not in member.username
    assert redirect_params(signed_in)["code"]  # before: 401 (the username was sent as /auth/totp/validate's email)


async def test_the_household_takes_the_mcp_auth_tenants_name(
    servers: tuple[RunningServer, ...], mcp_auth: McpAuthStandIn
) -> None:
    owner = new_household(mcp_auth)
    owner.user.tenant.name = "The Okafor household"
    async with httpx2.AsyncClient() as http:
        client = await register(http, servers[0].base_url)
        tokens = await tokens_from(http, servers[0], client, owner)
        me = await whoami(http, servers[0], tokens["access_token"])

    assert me["household"]["name"] == "The Okafor household"  # before: "Household <tenant id>"


async def test_a_failing_tenant_look_up_does_not_fail_the_sign_in(
    servers: tuple[RunningServer, ...], mcp_auth: McpAuthStandIn
) -> None:
    owner = new_household(mcp_auth)
    owner.user.tenant.name = "Never seen"
    mcp_auth.outages["/tenants/me"] = 500
    try:
        async with httpx2.AsyncClient() as http:
            client = await register(http, servers[0].base_url)
            tokens = await tokens_from(http, servers[0], client, owner)
            me = await whoami(http, servers[0], tokens["access_token"])
    finally:
        mcp_auth.outages.pop("/tenants/me")

    assert me["household"]["name"] == f"Household {owner.user.tenant.id}"


async def whoami(http: httpx2.AsyncClient, server: RunningServer, access_token: str) -> Any:
    response = await post_tool_call(http, server.mcp_url, "whoami", {}, bearer(access_token))
    return jsonrpc_message(response)["result"]["structuredContent"]


async def tokens_from(http: httpx2.AsyncClient, server: RunningServer, client: Client, person: Person) -> Any:
    verifier, challenge = pkce()
    async with browser(address()) as page_browser:
        page = await open_sign_in_page(page_browser, authorize_url(server.base_url, client, challenge))
        code = redirect_params(await submit(page_browser, server.base_url, page, person))["code"]
    response = await exchange(http, server.base_url, client, code, verifier)
    assert response.status_code == 200, response.text
    return response.json()


async def test_refresh_while_mcp_auth_fails_answers_503_and_the_grant_survives(
    servers: tuple[RunningServer, ...], mcp_auth: McpAuthStandIn
) -> None:
    owner = new_household(mcp_auth)
    async with httpx2.AsyncClient() as http:
        client = await register(http, servers[0].base_url)
        tokens = await tokens_from(http, servers[0], client, owner)
        mcp_auth.outages["/auth/refresh"] = 502
        try:
            during = await refresh(http, servers[1].base_url, client, tokens["refresh_token"])
        finally:
            mcp_auth.outages.pop("/auth/refresh")
        after = await refresh(http, servers[0].base_url, client, tokens["refresh_token"])
        mine = owner.user.id
        mcp_auth.refresh_tokens = {k: (u, r or u == mine) for k, (u, r) in mcp_auth.refresh_tokens.items()}
        refused = await refresh(http, servers[0].base_url, client, after.json()["refresh_token"])

    assert during.status_code == 503  # before: 400 invalid_request, and clients drop the grant on a 400
    assert during.json()["error"] == "temporarily_unavailable"
    assert int(during.headers["retry-after"]) > 0
    assert after.status_code == 200  # the same refresh token works once MCP_Auth is back
    assert (refused.status_code, refused.json()["error"]) == (400, "invalid_grant")  # a real verdict stays 400


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
async def test_refresh_with_mcp_auth_stopped_answers_503(request: pytest.FixtureRequest, backend: str) -> None:
    stand_in = McpAuthStandIn(SECRET)
    with serving(stand_in.app()) as url:
        stand_in.url = url
        server = start_server(str(request.getfixturevalue(f"{backend}_url")), env=bridge_env(url))
        drain = drain_output(server)
        try:
            async with httpx2.AsyncClient() as http:
                client = await register(http, server.base_url)
                tokens = await tokens_from(http, server, client, new_household(stand_in))
        except BaseException:
            stop_server(server)
            raise
    try:  # the stand-in has stopped: its port refuses connections
        async with httpx2.AsyncClient() as http:
            stopped = await refresh(http, server.base_url, client, tokens["refresh_token"])
    finally:
        stop_server(server)
        drain.join(timeout=10)

    assert stopped.status_code == 503  # before: 400, and the client forgets the sign-in
    assert stopped.headers["retry-after"] == "30"
    assert stopped.json()["error"] == "temporarily_unavailable"
