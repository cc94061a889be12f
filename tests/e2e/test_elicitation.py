"""delete_account asks the person first (MCP elicitation), on the 2026-07-28 wire (an `input_required`
result, then a retry with the answer) and the 2025-11-25 wire (`elicitation/create` mid-call), through
the SDK client's elicitation callback against the real server. No answer but a ticked box deletes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Literal

import httpx2
import pytest
from mcp import Client
from mcp.client.session import ClientRequestContext
from mcp.client.streamable_http import streamable_http_client
from mcp.types import ElicitRequestFormParams, ElicitRequestParams, ElicitResult

from tests.e2e.helpers import (
    MISSING_ID,
    bearer,
    call,
    fresh_tenant,
    jsonrpc_message,
    make_account,
    new_wire_headers,
    ok,
    refusal,
    snapshot,
    tool_call_body,
)
from tests.e2e.servers import RunningServer, drain_output, start_server, stop_server

pytestmark = pytest.mark.anyio

MODES = ["auto", "legacy"]  # auto lands on 2026-07-28


@dataclass
class Person:
    """Answers every question the same way and remembers what they were asked."""

    action: Literal["accept", "decline", "cancel"] = "accept"
    confirm: bool = True
    questions: list[ElicitRequestFormParams] = field(default_factory=list[ElicitRequestFormParams])
    before_first_answer: Callable[[], Awaitable[None]] | None = None

    async def __call__(self, context: ClientRequestContext, params: ElicitRequestParams) -> ElicitResult:
        assert isinstance(params, ElicitRequestFormParams)
        if self.before_first_answer is not None and not self.questions:
            await self.before_first_answer()
        self.questions.append(params)
        content: dict[str, str | int | float | bool | list[str] | None] | None = None
        if self.action == "accept":
            content = {"confirm": self.confirm}
        return ElicitResult(action=self.action, content=content)


@asynccontextmanager
async def asking(server: RunningServer, token: str, person: Person, *, mode: str) -> AsyncIterator[Client]:
    """A client that declares elicitation and hands every question to `person`."""
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=httpx2.Timeout(30, read=60))
    transport = streamable_http_client(server.mcp_url, http_client=http)
    async with http, Client(transport, mode=mode, elicitation_callback=person) as client:  # type: ignore[arg-type]
        yield client


async def doomed_account(client: Client) -> int:
    """ "Holiday fund": opened with 1000.00, then two transactions of -50.00 and -25.50."""
    account_id = await make_account(client, name="Holiday fund", account_type="savings", opening_balance="1000")
    for amount in ("-50", "-25.50"):
        await call(client, "create_transaction", account_id=account_id, amount=amount, date="2026-07-01", category="X")
    return account_id


@pytest.mark.parametrize("mode", MODES)
async def test_the_person_is_asked_in_words_and_a_ticked_box_deletes_the_account(server, mode):
    person = Person()
    async with asking(server, server.token(tenant=fresh_tenant()), person, mode=mode) as client:
        account_id = await doomed_account(client)
        assert person.questions == []  # creating is not destructive

        gone = await call(client, "delete_account", account_id=account_id)

        assert gone == {"deleted": True, "account_id": account_id, "transactions_deleted": 2}
        assert (await call(client, "list_accounts"))["total"] == 0
    [question] = person.questions
    assert question.message == (
        'Delete the account "Holiday fund" (savings, balance 924.50 USD)? '
        "All 2 of its transactions go with it. It can be undone afterwards with undo_change."
    )
    assert question.requested_schema["properties"] == {
        "confirm": {
            "type": "boolean",
            "title": "Yes, go ahead",
            "description": "Tick to go ahead; decline to leave everything as it is.",
            "default": False,
        }
    }


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("answer", "not_confirmed"),
    [(Person("decline"), "declined"), (Person("accept", confirm=False), "declined"), (Person("cancel"), "cancelled")],
    ids=["declined", "accepted-unticked", "cancelled"],
)
async def test_a_person_who_does_not_confirm_keeps_everything(server, mode, answer, not_confirmed):
    person = Person(answer.action, answer.confirm)
    async with asking(server, server.token(tenant=fresh_tenant()), person, mode=mode) as client:
        account_id = await doomed_account(client)
        before = await snapshot(client)

        result = ok(await client.call_tool("delete_account", {"account_id": account_id}))

        assert await snapshot(client) == before
    assert len(person.questions) == 1
    assert result["deleted"] is False
    assert result["not_confirmed"] == not_confirmed
    assert result["transactions_deleted"] == 0
    assert result["account_id"] == account_id
    assert "nothing was changed" in result["note"]


@pytest.mark.parametrize("mode", MODES)
async def test_a_client_without_elicitation_deletes_as_in_v1(server, connect, mode):
    async with connect(server.token(tenant=fresh_tenant()), mode=mode) as client:
        account_id = await doomed_account(client)

        gone = await client.call_tool("delete_account", {"account_id": account_id})

        assert ok(gone) == {"deleted": True, "account_id": account_id, "transactions_deleted": 2}
        assert (await call(client, "list_accounts"))["total"] == 0


@pytest.mark.parametrize("mode", MODES)
async def test_a_missing_or_foreign_account_is_not_found_before_anyone_is_asked(server, connect, mode):
    other_tenant = fresh_tenant()
    async with connect(server.token(tenant=other_tenant)) as other:
        theirs = await doomed_account(other)
        their_view = await snapshot(other)
    person = Person()
    async with asking(server, server.token(tenant=fresh_tenant()), person, mode=mode) as client:
        for account_id in (theirs, MISSING_ID):
            text = refusal(await client.call_tool("delete_account", {"account_id": account_id}))
            assert f"Account {account_id} was not found in your household" in text
    assert person.questions == []
    async with connect(server.token(tenant=other_tenant)) as other:
        assert await snapshot(other) == their_view


@pytest.mark.parametrize("mode", MODES)
async def test_a_member_is_refused_before_anyone_is_asked(server, connect, mode):
    tenant = fresh_tenant()
    async with connect(server.token(tenant=tenant, role="OWNER")) as owner:
        account_id = await doomed_account(owner)
        before = await snapshot(owner)
    person = Person()
    async with asking(server, server.token(tenant=tenant, role="MEMBER"), person, mode=mode) as member:
        text = refusal(await member.call_tool("delete_account", {"account_id": account_id}))
    assert "Your role (member) does not allow" in text
    assert person.questions == []
    async with connect(server.token(tenant=tenant, role="OWNER")) as owner:
        assert await snapshot(owner) == before


async def test_a_question_that_went_stale_is_asked_again_before_deleting(server, connect):
    """2026-07-28: the answer arrives with a new call; if the account changed meanwhile, the person is asked
    about what it holds now, and the count deleted is the count they confirmed."""
    tenant = fresh_tenant()
    person = Person()
    async with asking(server, server.token(tenant=tenant), person, mode="auto") as client:
        account_id = await doomed_account(client)

        async def someone_else_records_a_transaction() -> None:
            async with connect(server.token(tenant=tenant)) as someone_else:
                arguments = {"account_id": account_id, "amount": "-1", "date": "2026-07-02", "category": "X"}
                await call(someone_else, "create_transaction", **arguments)

        person.before_first_answer = someone_else_records_a_transaction
        gone = await call(client, "delete_account", account_id=account_id)

    assert [q.message.split("? ")[1] for q in person.questions] == [
        "All 2 of its transactions go with it. It can be undone afterwards with undo_change.",
        "All 3 of its transactions go with it. It can be undone afterwards with undo_change.",
    ]
    assert gone == {"deleted": True, "account_id": account_id, "transactions_deleted": 3}


@pytest.fixture(scope="module")
def stateless_server(sqlite_url: str):
    running = start_server(sqlite_url, env={"STATELESS_HTTP": "true"})
    drain = drain_output(running)
    yield running
    stop_server(running)
    drain.join(timeout=10)


async def test_a_legacy_client_of_a_stateless_server_cannot_be_asked_and_deletes_as_in_v1(stateless_server):
    """Without sessions the 2025-11-25 wire has no way back to the client mid-call."""
    person = Person("decline")
    async with asking(stateless_server, stateless_server.token(tenant=fresh_tenant()), person, mode="legacy") as client:
        account_id = await doomed_account(client)

        gone = await call(client, "delete_account", account_id=account_id)

    assert gone == {"deleted": True, "account_id": account_id, "transactions_deleted": 2}
    assert person.questions == []


async def test_delete_account_publishes_only_its_argument_and_optional_refusal_fields(server, connect):
    async with connect(server.token(tenant=fresh_tenant())) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    deleting = tools["delete_account"]
    assert set(deleting.input_schema["properties"]) == {"account_id", "idempotency_key"}  # every write's key
    assert deleting.output_schema is not None
    assert {"account_id", "transactions_deleted", "not_confirmed"} <= set(deleting.output_schema["properties"])
    assert deleting.output_schema["properties"]["not_confirmed"]["anyOf"][0]["enum"] == ["declined", "cancelled"]


async def test_on_the_2026_wire_the_question_is_an_input_required_result_and_the_answer_a_retry(server, connect):
    """What the SDK client does for the person, by hand: no row goes until the retry carries a ticked box."""
    tenant = fresh_tenant()
    token = server.token(tenant=tenant)
    async with connect(token) as client:
        account_id = await doomed_account(client)
    body = tool_call_body("delete_account", {"account_id": account_id})
    body["params"]["_meta"]["io.modelcontextprotocol/clientCapabilities"] = {"elicitation": {"form": {}}}
    headers = new_wire_headers("delete_account", bearer(token))
    async with httpx2.AsyncClient(timeout=30) as http:
        first = jsonrpc_message(await http.post(server.mcp_url, json=body, headers=headers))["result"]
        assert first["resultType"] == "input_required"
        [(key, question)] = first["inputRequests"].items()
        assert question["method"] == "elicitation/create"
        assert question["params"]["message"].startswith('Delete the account "Holiday fund"')

        body["params"] |= {"inputResponses": {key: {"action": "decline"}}, "requestState": first["requestState"]}
        declined = jsonrpc_message(await http.post(server.mcp_url, json=body, headers=headers))["result"]
        assert declined["structuredContent"]["not_confirmed"] == "declined"
        assert not declined.get("isError")  # the person's answer, not a failure to fix and retry

        answer = {"action": "accept", "content": {"confirm": True}}
        body["params"] |= {"inputResponses": {key: answer}, "requestState": first["requestState"]}
        accepted = jsonrpc_message(await http.post(server.mcp_url, json=body, headers=headers))["result"]
    assert accepted["structuredContent"] == {"deleted": True, "account_id": account_id, "transactions_deleted": 2}


@pytest.mark.parametrize("mode", MODES)
async def test_a_retried_keyed_delete_answers_the_first_result_without_asking_again(server, mode):
    person = Person()
    async with asking(server, server.token(tenant=fresh_tenant()), person, mode=mode) as client:
        account_id = await doomed_account(client)
        first = await call(client, "delete_account", account_id=account_id, idempotency_key="delete-holiday")
        again = await call(client, "delete_account", account_id=account_id, idempotency_key="delete-holiday")
        unkeyed = await client.call_tool("delete_account", {"account_id": account_id})

    assert first == {"deleted": True, "account_id": account_id, "transactions_deleted": 2}
    assert again == {**first, "replayed": True}
    assert len(person.questions) == 1
    assert "not found" in refusal(unkeyed).lower()
