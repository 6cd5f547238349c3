"""The people's routes: the human queue (``/v1/queue``) and the audit trail (``/v1/audit``).

No ``from __future__ import annotations`` here: FastAPI reads the routes' annotations at
run time, and they name dependencies defined inside functions.
"""

from typing import Annotated, Any, cast

from fastapi import APIRouter, Depends, Query

from pyagent_patterns.actions import (
    AUDIT_KINDS,
    AuditKind,
    AuditQuery,
    parse_condition,
    parse_since,
)
from pyagent_patterns.chat import ChatHandler
from pyagent_providers import UserError

from .models import (
    AuditOut,
    ConversationOut,
    ConversationSummaryOut,
    DecisionBody,
    DraftBody,
    MessageOut,
    ReplyBody,
    ReplyOut,
)
from .routing import CallerDependency, GuardedRoute, people_only

__all__ = ["MAX_AUDIT_EVENTS", "audit_routes", "parse_since", "queue_routes"]

MAX_AUDIT_EVENTS = 1_000
KINDS: tuple[str, ...] = AUDIT_KINDS


def queue_routes(handler: ChatHandler, caller: CallerDependency) -> APIRouter:
    """``/v1/queue``: list, claim, reply, hand back; send drafts; approve or decline calls."""
    person = people_only(caller)
    routes = APIRouter(route_class=GuardedRoute, prefix="/v1/queue", tags=["human queue"])

    @routes.get(
        "", summary="List escalated conversations", response_model=list[ConversationSummaryOut]
    )
    async def list_queue(agent: Annotated[str, Depends(person)]) -> list[dict[str, Any]]:
        return [c.as_dict(with_messages=False) for c in await handler.queue()]

    @routes.post(
        "/{conversation_id}/claim",
        summary="Take an escalated conversation",
        response_model=ConversationOut,
    )
    async def claim(conversation_id: str, agent: Annotated[str, Depends(person)]) -> dict[str, Any]:
        return (await handler.claim(conversation_id, agent)).as_dict()

    @routes.post(
        "/{conversation_id}/reply",
        summary="Reply to the customer as a person",
        response_model=MessageOut,
    )
    async def person_reply(
        conversation_id: str, reply: ReplyBody, agent: Annotated[str, Depends(person)]
    ) -> Any:
        return (await handler.human_reply(conversation_id, agent, reply.text)).as_dict()

    @routes.post(
        "/{conversation_id}/hand-back",
        summary="Return a conversation to the bot",
        response_model=ConversationOut,
    )
    async def hand_back(
        conversation_id: str, agent: Annotated[str, Depends(person)]
    ) -> dict[str, Any]:
        return (await handler.hand_back(conversation_id, agent)).as_dict()

    @routes.post(
        "/{conversation_id}/draft",
        summary="Send the bot's held draft, as it is or replaced by your text",
        response_model=MessageOut,
    )
    async def send_draft(
        conversation_id: str,
        agent: Annotated[str, Depends(person)],
        draft: DraftBody | None = None,
    ) -> Any:
        text = None if draft is None else draft.text
        return (await handler.send_draft(conversation_id, agent, text)).as_dict()

    @routes.post(
        "/{conversation_id}/approve",
        summary="Approve the tool call the conversation waits on; the turn resumes",
        response_model=ReplyOut,
    )
    async def approve(
        conversation_id: str,
        agent: Annotated[str, Depends(person)],
        decision: DecisionBody | None = None,
    ) -> Any:
        note = "" if decision is None else decision.note
        reply = await handler.decide_approval(conversation_id, agent, approve=True, note=note)
        return reply.as_dict()

    @routes.post(
        "/{conversation_id}/decline",
        summary="Decline the tool call the conversation waits on; the turn resumes",
        response_model=ReplyOut,
    )
    async def decline(
        conversation_id: str,
        agent: Annotated[str, Depends(person)],
        decision: DecisionBody | None = None,
    ) -> Any:
        note = "" if decision is None else decision.note
        reply = await handler.decide_approval(conversation_id, agent, approve=False, note=note)
        return reply.as_dict()

    return routes


def audit_routes(handler: ChatHandler, caller: CallerDependency) -> APIRouter:
    """``GET /v1/audit``: the audit trail, for people."""
    person = people_only(caller)
    routes = APIRouter(route_class=GuardedRoute, tags=["audit"])

    @routes.get(
        "/v1/audit",
        summary="Read the audit trail (decisions, tool calls, replies, people's actions)",
        response_model=AuditOut,
    )
    async def audit(
        agent: Annotated[str, Depends(person)],
        conversation_id: Annotated[
            str | None, Query(description="Only this conversation (as the customer gave it).")
        ] = None,
        since: Annotated[
            str | None,
            Query(description="ISO date or time (UTC unless it says), or relative: 30m, 24h, 7d."),
        ] = None,
        where: Annotated[
            list[str] | None,
            Query(description="FIELD OP VALUE, e.g. confidence<0.9; repeat for more (AND)."),
        ] = None,
        kind: Annotated[
            list[str] | None,
            Query(description=f"Only these kinds ({', '.join(KINDS)}); repeat for more."),
        ] = None,
        limit: Annotated[
            int,
            Query(description=f"At most this many events, oldest first (1-{MAX_AUDIT_EVENTS})."),
        ] = MAX_AUDIT_EVENTS,
    ) -> dict[str, Any]:
        query = AuditQuery(
            conversation_id=None if conversation_id is None else handler.ids(conversation_id),
            since=None if since is None else parse_since(since),
            where=tuple(parse_condition(condition) for condition in where or ()),
            kinds=checked_kinds(kind or ()),
            limit=checked_limit(limit),
        )
        return {"events": [event.as_dict() for event in await handler.store.audit.query(query)]}

    return routes


def checked_kinds(kinds: tuple[str, ...] | list[str]) -> tuple[AuditKind, ...]:
    """`kinds`, each checked to be an `AuditKind`.

    Raises:
        UserError: One is not.
    """
    for kind in kinds:
        if kind not in KINDS:
            raise UserError(f"no event kind {kind!r} (the kinds: {', '.join(KINDS)})")
    return tuple(cast(AuditKind, kind) for kind in kinds)


def checked_limit(limit: int) -> int:
    """`limit`, checked to be 1-`MAX_AUDIT_EVENTS`.

    Raises:
        UserError: It is not.
    """
    if not 1 <= limit <= MAX_AUDIT_EVENTS:
        raise UserError(f"the limit must be 1-{MAX_AUDIT_EVENTS}")
    return limit
