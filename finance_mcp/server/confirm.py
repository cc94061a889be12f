"""Asking the person before something is destroyed, through MCP elicitation, on both protocol eras.

A destructive tool takes one more parameter, `Annotated[Confirmation, Resolve(ask_before_x)]`, where
`ask_before_x` is its own resolver: it checks what the tool itself would check (the row exists in the
household, the role allows it), so a refusal comes before any question, then returns `ask(question)`,
or `NOT_ASKED` when `can_ask(ctx)` is false. The tool body then calls `refusal(confirmation)` and, when
that is not None, returns its result with nothing changed.

The SDK carries the question: on 2025-11-25 it sends `elicitation/create` in the middle of the call; on
2026-07-28 the call answers `input_required` and the client calls again with the person's answer, when
the resolver runs again and the body runs only if the question it asks is the one that was answered (so
a person never confirms a description that has since changed).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, Literal

from mcp.server.elicitation import AcceptedElicitation, CancelledElicitation, ElicitationResult
from mcp.server.mcpserver import Context, Elicit
from mcp_types.version import is_version_at_least
from pydantic import BaseModel, Field

# The first protocol revision whose tools ask through `input_required` results instead of a request
# sent to the client mid-call (the SDK's own rule, private there).
INPUT_REQUIRED_VERSION = "2026-07-28"


# The form the person sees under the question: one box to tick. (No docstring: it would be sent as the
# form's description.)
class Confirm(BaseModel):
    confirm: bool = Field(
        default=False, title="Yes, go ahead", description="Tick to go ahead; decline to leave everything as it is."
    )


class NotAsked:
    """What a resolver returns when the client cannot be asked: the tool goes ahead as in v1."""

    def __repr__(self) -> str:
        return "NOT_ASKED"


NOT_ASKED: Final = NotAsked()

Confirmation = ElicitationResult[Any]
"""The type of a tool's confirmation parameter: the person's answer, or `NOT_ASKED` wrapped as accepted."""

Question = Elicit[Confirm] | NotAsked
"""The return type of a tool's confirming resolver."""


@dataclass(frozen=True)
class Refusal:
    """The person did not confirm; the tool changes nothing and puts these in its result."""

    not_confirmed: Literal["declined", "cancelled"]
    note: str


DECLINED = Refusal(
    "declined",
    "The person was asked to confirm and said no, so nothing was changed. "
    "Do not call this tool again for it unless they ask you to.",
)
CANCELLED = Refusal(
    "cancelled",
    "The person closed the confirmation without answering, so nothing was changed. "
    "Ask them whether they still want it before calling this tool again.",
)


def can_ask(ctx: Context[Any, Any]) -> bool:
    """True when this call can put a question to the person.

    The client must have declared form elicitation (a bare `elicitation: {}` predates modes and means
    forms); on 2025-11-25 the call also needs a channel back to the client, which a response sent as
    plain JSON has not. (With `STATELESS_HTTP` the server never learns a 2025-11-25 client's
    capabilities at all.) A client that cannot be asked gets the tool's v1 behaviour.
    """
    capabilities = ctx.client_capabilities
    elicitation = capabilities.elicitation if capabilities is not None else None
    if elicitation is None or (elicitation.form is None and elicitation.url is not None):
        return False
    version = ctx.protocol_version
    if version is not None and is_version_at_least(version, INPUT_REQUIRED_VERSION):
        return True
    return ctx.session.can_send_request


def ask(question: str) -> Elicit[Confirm]:
    """The question, in words the person understands: what will be destroyed, named and counted."""
    return Elicit(question, Confirm)


def refusal(confirmation: Confirmation) -> Refusal | None:
    """None when the tool may go ahead: the person ticked the box, or nobody could be asked."""
    if isinstance(confirmation, AcceptedElicitation):
        data = confirmation.data
        return None if isinstance(data, NotAsked) or (isinstance(data, Confirm) and data.confirm) else DECLINED
    return CANCELLED if isinstance(confirmation, CancelledElicitation) else DECLINED
