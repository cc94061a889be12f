"""Bad input never hurts: for every tool, generated invalid arguments get an `isError` result or a JSON-RPC
error that says what was wrong (never an internal error, never SQL or a traceback), and the database is left
byte-for-byte unchanged (a dump of every table before and after each call). Oversized HTTP bodies are refused.

Each generated call starts from valid arguments and breaks at least one: a wrong type, a missing required
field, a too-long or unicode string, NaN/Infinity/exponent/too-precise/too-large amounts, impossible dates,
zero/negative/enormous/missing ids, empty or oversized batches or an item broken inside one, bad enums,
unknown extra fields. A second test throws schema-driven wrong types and unknown fields at every tool the
server lists, including tools added after this suite was written.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mcp import MCPError

from tests.e2e.helpers import (
    CONTRACT_TOOLS,
    assert_safe,
    bearer,
    jsonrpc_message,
    new_wire_headers,
    ok,
    text_of,
    tool_call_body,
)
from tests.reliability.clients import SyncClient, open_client
from tests.reliability.dumps import Dumper
from tests.reliability.tallies import tally

EXAMPLES = int(os.environ.get("RELIABILITY_FUZZ_EXAMPLES", "12"))
INTERNAL_ERROR = -32603
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TALLY = tally("bad input", "calls", "refused_as_tool_errors", "refused_as_jsonrpc_errors")


@dataclass
class Target:
    """A household with one account and one transaction, and its owner's client."""

    client: SyncClient
    account_id: int
    transaction_id: int
    server: Any
    portal: Any
    dumper: Dumper

    def dump(self) -> str:
        return self.portal.call(self.dumper.dump)


@pytest.fixture
def target(server, portal) -> Iterator[Target]:
    token = server.token(tenant=f"fuzz-{uuid.uuid4().hex[:12]}", role="OWNER")
    with open_client(portal, f"{server.mcp_url}?toolsets=all", token) as client:
        account = ok(client.call_tool("create_account", {"name": "Fuzz", "account_type": "checking"}))
        made = ok(
            client.call_tool(
                "create_transaction",
                {"account_id": account["id"], "amount": "-5", "date": "2026-01-01", "category": "Seed", "tags": ["x"]},
            )
        )
        dumper = Dumper(server.database_url)
        try:
            yield Target(client, int(account["id"]), int(made["transaction"]["id"]), server, portal, dumper)
        finally:
            portal.call(dumper.close)


# ---- invalid values, by kind ------------------------------------------------------------------------------


def plain_text(text: str) -> bool:
    """Text that stays text: not a number, and not JSON the SDK would pre-parse (`null` becomes None)."""
    try:
        float(text.strip().replace("_", ""))
    except ValueError:
        pass
    else:
        return False
    try:
        json.loads(text)
    except ValueError:
        return True
    return False


def non_numeric_text() -> st.SearchStrategy[str]:
    return st.text(max_size=30).filter(plain_text)


wrong_shapes = st.one_of(
    st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=5), st.integers(), max_size=2)
)
huge_text = st.integers(min_value=2_000, max_value=200_000).map(lambda n: "é" * n)
# Over the limit even after trimming: no whitespace or control characters, which the server trims away.
solid = st.characters(blacklist_categories=("Cs", "Zs", "Zl", "Zp", "Cc", "Cf"))

invalid_ids = st.one_of(
    st.integers(max_value=0),
    st.integers(min_value=10**9, max_value=2**80),  # enormous or simply absent
    st.floats(allow_nan=False, allow_infinity=False).filter(lambda f: f != int(f)),
    non_numeric_text(),
    wrong_shapes,
)
# An id used as a filter (list_changes' entity_id) may name a row that is gone, or never was: its history is
# simply empty. Only what is not an id at all is bad input there.
invalid_filter_ids = st.one_of(
    st.integers(max_value=0),
    st.floats(allow_nan=False, allow_infinity=False).filter(lambda f: f != int(f)),
    non_numeric_text(),
    wrong_shapes,
)
exponents = st.builds(lambda m, e: f"{m}e{e}", st.integers(-999, 999), st.integers(-30, 30)) | st.sampled_from(
    ["1E+2", "5e0", "2.5E1", "-1e-2"]
)
invalid_amounts = st.one_of(
    st.sampled_from(["NaN", "nan", "-NaN", "sNaN", "Infinity", "-Infinity", "inf", "+inf", "1.001", "0.005"]),
    exponents,
    st.decimals(min_value=Decimal(10) ** 13, max_value=Decimal(10) ** 30, places=2).map(str),
    st.decimals(min_value=-(Decimal(10) ** 30), max_value=-(Decimal(10) ** 13), places=2).map(str),
    st.decimals(min_value=-1000, max_value=1000, places=4).filter(lambda d: d != d.quantize(Decimal("0.01"))).map(str),
    st.sampled_from(["1_000", "٥", "1,000.00", "$5", "5 USD", "0x10", ""]),
    st.floats(min_value=-1000, max_value=1000).filter(lambda f: round(f, 2) != f),
    non_numeric_text(),
    wrong_shapes,
)
impossible_dates = st.one_of(
    st.builds(
        lambda y, m, d: f"{y:04d}-{m:02d}-{d:02d}", st.integers(1, 9999), st.integers(13, 99), st.integers(1, 28)
    ),
    st.builds(
        lambda y, m, d: f"{y:04d}-{m:02d}-{d:02d}", st.integers(1, 9999), st.integers(1, 12), st.integers(32, 99)
    ),
    st.sampled_from(
        ["2026-02-29", "2026-02-30", "2026-04-31", "2026-00-10", "2026-06-00", "0000-01-01", "10000-01-01"]
    ),
    st.sampled_from(["2026-1-1", "26-01-01", "2026/01/01", "yesterday", "", "2026-01-01T10:30:00", "01-01-2026"]),
    wrong_shapes,
)


def too_long(limit: int) -> st.SearchStrategy[str]:
    return st.one_of(st.text(solid, min_size=limit + 1, max_size=limit + 50), huge_text)


def invalid_text(limit: int, *, required: bool) -> st.SearchStrategy[Any]:
    broken = [
        too_long(limit),
        st.lists(st.text(max_size=3), max_size=2),
        st.integers(),
        st.text(max_size=5).map(lambda t: t + "\x00"),
    ]
    if required:
        broken += [st.just(""), st.just("   \t\n")]
    return st.one_of(*broken)


invalid_tags = st.one_of(
    st.lists(st.just(""), min_size=1, max_size=3),
    st.lists(too_long(100), min_size=1, max_size=2),
    st.lists(st.text(solid, min_size=1, max_size=5), min_size=51, max_size=60),
    st.lists(st.integers(), min_size=1, max_size=3),
    non_numeric_text(),
)
invalid_enums = st.one_of(
    st.sampled_from(["CHECKING", "bank", "", "checking ", "savings\x00"]), st.integers(), wrong_shapes
)
invalid_currencies = st.one_of(
    st.sampled_from(["US", "USDD", "U$D", "12A", "ÄBC", "€€€", ""]), st.integers(), wrong_shapes
)
invalid_limits = st.one_of(st.integers(max_value=0), st.integers(min_value=501), non_numeric_text(), wrong_shapes)
invalid_cursors = st.one_of(
    st.text(min_size=1, max_size=60).filter(plain_text), st.text(solid, min_size=201, max_size=400)
)
invalid_clear_fields = st.one_of(
    st.lists(st.sampled_from(["amount", "date", "category", "account_id", "bogus", ""]), min_size=1, max_size=3),
    st.integers(),
)
extra_fields = st.dictionaries(
    st.sampled_from(["principal", "db", "household_id", "user_id", "role", "ctx", "bogus", "accountId", "Amount"]),
    st.one_of(st.integers(), st.text(max_size=10), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2)),
    min_size=1,
    max_size=3,
)


def valid_item(n: int = 0) -> dict[str, Any]:
    return {"amount": f"-{n % 90 + 1}.25", "date": "2026-03-01", "category": "Fuzz"}


invalid_items = st.one_of(
    st.just([]),
    st.integers(1001, 1100).map(lambda n: [valid_item(i) for i in range(n)]),
    st.builds(
        lambda bad, at: [valid_item(0), {**valid_item(1), "amount": bad}, valid_item(2)][: at + 2],
        invalid_amounts,
        st.integers(0, 1),
    ),
    st.builds(lambda bad: [valid_item(0), {**valid_item(1), "date": bad}], impossible_dates),
    st.builds(lambda bad: [{**valid_item(0), "category": bad}], invalid_text(100, required=True)),
    st.builds(lambda extra: [{**valid_item(0), **extra}], extra_fields),
    st.builds(lambda: [{"amount": "-1", "date": "2026-01-01"}]),  # an item without its category
    st.lists(st.one_of(st.integers(), st.text(max_size=5), st.none()), min_size=1, max_size=3),
    non_numeric_text(),
)


# ---- per tool: valid arguments, and what can break in them ----------------------------------------------


def tool_fields(t: Target) -> dict[str, tuple[dict[str, Any], dict[str, st.SearchStrategy[Any]], set[str]]]:
    """tool -> (valid arguments, invalid values per field, required fields)."""
    transaction = {"amount": "-12.50", "date": "2026-02-01", "category": "Food"}
    optional_texts = {
        "description": invalid_text(1000, required=False),
        "merchant": invalid_text(255, required=False),
        "location": invalid_text(255, required=False),
        "der_category": invalid_text(100, required=False),
        "der_merchant": invalid_text(255, required=False),
        "tags": invalid_tags,
    }
    money_fields = {"amount": invalid_amounts, "date": impossible_dates, "category": invalid_text(100, required=True)}
    return {
        "whoami": ({}, {}, set()),
        "list_accounts": ({}, {}, set()),
        "create_account": (
            {"name": "Fuzzed", "account_type": "cash", "currency": "EUR", "opening_balance": "10"},
            {
                "name": invalid_text(100, required=True),
                "account_type": invalid_enums,
                "currency": invalid_currencies,
                "opening_balance": invalid_amounts,
            },
            {"name", "account_type"},
        ),
        "get_account": ({"account_id": t.account_id}, {"account_id": invalid_ids}, {"account_id"}),
        "update_account": (
            {"account_id": t.account_id, "name": "Renamed", "account_type": "savings"},
            {"account_id": invalid_ids, "name": invalid_text(100, required=True), "account_type": invalid_enums},
            {"account_id"},
        ),
        "delete_account": ({"account_id": t.account_id}, {"account_id": invalid_ids}, {"account_id"}),
        "create_transaction": (
            {"account_id": t.account_id, **transaction, "merchant": "Shop", "tags": ["a", "b"]},
            {"account_id": invalid_ids, **money_fields, **optional_texts},
            {"account_id", "amount", "date", "category"},
        ),
        "create_transactions_batch": (
            {"account_id": t.account_id, "transactions": [transaction, transaction]},
            {"account_id": invalid_ids, "transactions": invalid_items},
            {"account_id", "transactions"},
        ),
        "list_transactions": (
            {"account_id": t.account_id, "start_date": "2026-01-01", "end_date": "2026-12-31", "limit": 10},
            {
                "account_id": invalid_ids,
                "start_date": impossible_dates,
                "end_date": impossible_dates,
                "category": invalid_text(255, required=True),
                "merchant": invalid_text(255, required=True),
                "search": invalid_text(255, required=True),
                "tags": invalid_tags,
                "min_amount": invalid_amounts,
                "max_amount": invalid_amounts,
                "limit": invalid_limits,
                "cursor": invalid_cursors,
            },
            set(),
        ),
        "get_transaction": ({"transaction_id": t.transaction_id}, {"transaction_id": invalid_ids}, {"transaction_id"}),
        "update_transaction": (
            {"transaction_id": t.transaction_id, "amount": "-7.00", "merchant": "Changed"},
            {
                "transaction_id": invalid_ids,
                "account_id": invalid_ids,
                **money_fields,
                **optional_texts,
                "clear_fields": invalid_clear_fields,
            },
            {"transaction_id"},
        ),
        "delete_transaction": (
            {"transaction_id": t.transaction_id},
            {"transaction_id": invalid_ids},
            {"transaction_id"},
        ),
        "list_changes": (
            {"since": "2026-01-01T00:00:00Z", "entity_type": "transaction", "entity_id": t.transaction_id, "limit": 10},
            {
                "since": impossible_dates.filter(lambda value: value != "2026-01-01T10:30:00"),  # that one is a time
                "entity_type": invalid_enums,
                "entity_id": invalid_filter_ids,
                "limit": invalid_limits,
                "cursor": invalid_cursors,
            },
            set(),
        ),
        "undo_change": ({"change_id": 1}, {"change_id": invalid_ids}, {"change_id"}),
    }


@st.composite
def broken_arguments(
    draw: st.DrawFn, valid: dict[str, Any], invalid: dict[str, Any], required: set[str]
) -> dict[str, Any]:
    """Valid arguments with at least one thing certainly wrong (plus, sometimes, more)."""
    arguments = dict(valid)
    ways = ["extra"] + (["missing"] if required else []) + (["field"] if invalid else [])
    for way in draw(st.lists(st.sampled_from(ways), min_size=1, max_size=3)):
        if way == "extra":
            arguments |= draw(extra_fields)
        elif way == "missing":
            arguments.pop(draw(st.sampled_from(sorted(required))), None)
        else:
            name = draw(st.sampled_from(sorted(invalid)))
            arguments[name] = draw(invalid[name])
    return arguments


def assert_refused_safely(tool: str, outcome: Any) -> str:
    """The call failed as a tool error or a JSON-RPC error, said why, and leaked nothing."""
    TALLY["calls"] += 1
    if isinstance(outcome, MCPError):
        TALLY["refused_as_jsonrpc_errors"] += 1
        assert outcome.error.code != INTERNAL_ERROR, outcome.error
        said = f"{outcome.error.message} {outcome.error.data!r}"
    else:
        TALLY["refused_as_tool_errors"] += 1
        assert outcome.is_error, f"{tool} accepted bad input: {outcome.structured_content}"
        said = text_of(outcome)
        assert said.strip() != f"Error executing tool {tool}", f"{tool} failed with an internal error"
    assert_safe(said)
    assert "Traceback" not in said
    return said


def call_and_compare(t: Target, tool: str, arguments: dict[str, Any]) -> str:
    before = t.dump()
    try:
        outcome: Any = t.client.call_tool(tool, arguments)
    except MCPError as error:
        outcome = error
    said = assert_refused_safely(tool, outcome)
    assert t.dump() == before, f"{tool} changed the database on bad input {str(arguments)[:300]}"
    return said


@pytest.mark.parametrize("tool", CONTRACT_TOOLS)
def test_invalid_arguments_are_refused_with_a_reason_and_change_nothing(target, tool):
    valid, invalid, required = tool_fields(target)[tool]

    @FUZZ
    @given(arguments=broken_arguments(valid, invalid, required))
    def refused(arguments: dict[str, Any]) -> None:
        said = call_and_compare(target, tool, arguments)
        assert len(said) < 5_000, "an error echoed a huge input back"

    refused()


SCALAR_TYPES = {"integer", "number", "string", "boolean", "null"}


def wrong_types_for(schema: dict[str, Any]) -> st.SearchStrategy[Any] | None:
    """Values no JSON-schema type of this property accepts (and pydantic will not coerce); None when unsure."""
    types: set[Any] = set()
    for option in schema.get("anyOf", [schema]):
        kind = option.get("type")
        types |= set(kind) if isinstance(kind, list) else {kind}  # a `type` list is a union too
    if not types <= SCALAR_TYPES | {"array"}:
        return None  # objects, references or untyped: anything might be valid
    choices: list[st.SearchStrategy[Any]] = [st.dictionaries(st.sampled_from(["x", "y"]), st.integers(), min_size=1)]
    if "array" not in types:
        choices.append(st.lists(st.dictionaries(st.just("k"), st.integers()), min_size=1, max_size=2))
    if "string" not in types:
        choices.append(non_numeric_text())
    return st.one_of(*choices)


def fuzz_one_listed_tool(target: Target, name: str, properties: dict[str, Any]) -> None:
    typed = {field: wrong for field, schema in properties.items() if (wrong := wrong_types_for(schema)) is not None}

    @FUZZ
    @given(data=st.data())
    def refused(data: st.DataObject) -> None:
        arguments: dict[str, Any] = {}
        if typed and data.draw(st.booleans(), label="wrong type"):
            field = data.draw(st.sampled_from(sorted(typed)), label="property")
            arguments[field] = data.draw(typed[field], label="value")
        else:
            arguments |= data.draw(extra_fields.filter(lambda e: not set(e) & set(properties)), label="extra")
        call_and_compare(target, name, arguments)

    refused()


def test_every_listed_tool_refuses_wrong_types_and_unknown_arguments_and_changes_nothing(target):
    tools = target.client.list_tools()
    assert {t.name for t in tools} >= set(CONTRACT_TOOLS)
    for listed in tools:
        fuzz_one_listed_tool(target, listed.name, listed.input_schema.get("properties", {}))


def test_json_that_python_cannot_send_nan_infinity_and_huge_exponents_is_refused(target):
    """Raw bodies with NaN/Infinity literals, 1e400 and lone surrogates: protocol or tool errors, nothing stored."""
    token = target.server.token(tenant=f"fuzz-raw-{uuid.uuid4().hex[:8]}", role="OWNER")
    with httpx2.Client(timeout=30) as http:
        account_body = tool_call_body("create_account", {"name": "Raw", "account_type": "cash"})
        made = jsonrpc_message(
            http.post(
                target.server.mcp_url, json=account_body, headers=new_wire_headers("create_account", bearer(token))
            )
        )
        account_id = made["result"]["structuredContent"]["id"]
        before = target.dump()
        template = json.dumps(
            tool_call_body(
                "create_transaction", {"account_id": account_id, "amount": "@", "date": "2026-01-01", "category": "Raw"}
            )
        )
        for literal in ["NaN", "Infinity", "-Infinity", "1e400", "-1e400", '"\\ud800"', "12.345", '"1e3"']:
            body = template.replace('"@"', literal)
            response = http.post(
                target.server.mcp_url, content=body, headers=new_wire_headers("create_transaction", bearer(token))
            )
            message = jsonrpc_message(response) if response.content else {}
            if "error" in message:
                assert message["error"]["code"] != INTERNAL_ERROR, (literal, message)
                said = message["error"]["message"]
            else:
                assert message.get("result", {}).get("isError") is True, (literal, response.status_code, response.text)
                said = json.dumps(message["result"]["content"])
            assert_safe(said)
            TALLY["calls"] += 1
        assert target.dump() == before


@pytest.mark.parametrize("chunked", [False, True], ids=["with-length", "chunked"])
def test_an_oversized_http_body_is_refused_by_the_server_and_stores_nothing(target, chunked):
    token = target.server.token(tenant=f"fuzz-big-{uuid.uuid4().hex[:8]}", role="OWNER")
    item = {"amount": "-1", "date": "2026-01-01", "category": "Big", "description": "d" * 900}
    body = json.dumps(
        tool_call_body("create_transactions_batch", {"account_id": target.account_id, "transactions": [item] * 5000})
    ).encode()
    assert len(body) > 4 * 1024 * 1024

    def pieces() -> Iterator[bytes]:
        for start in range(0, len(body), 64 * 1024):
            yield body[start : start + 64 * 1024]

    with httpx2.Client(timeout=30) as http:
        whoami = tool_call_body("whoami", {})
        assert http.post(
            target.server.mcp_url, json=whoami, headers=new_wire_headers("whoami", bearer(token))
        ).is_success
        before = target.dump()
        headers = new_wire_headers("create_transactions_batch", bearer(token))
        try:
            response = http.post(target.server.mcp_url, content=pieces() if chunked else body, headers=headers)
        except (httpx2.WriteError, httpx2.RemoteProtocolError, httpx2.ReadError):
            refused = True  # the server closed the connection mid-upload: refused without an answer
        else:
            refused = response.status_code == 413
            assert refused, (response.status_code, response.text[:300])
    assert refused
    assert target.dump() == before
