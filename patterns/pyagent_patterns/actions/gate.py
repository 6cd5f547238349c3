"""`ActionGate`: every tool call passes here, so acting is decided by code and happens once.

For each call the gate validates the arguments, asks the `ToolPolicy`, and then:

- read-only tools run;
- side-effecting tools get an idempotency key (conversation, customer message, tool and
  arguments) and go through the `ActionLedger`: the first attempt runs the tool with the
  key and stores the outcome before the turn goes on; a retry, a redelivery, a replay or
  another worker gets the stored outcome (``replayed``) instead of a second call;
- a call the policy sends to a person becomes an approval request in the human queue and
  ends the turn; once approved, the next run of that turn makes the call (or, declined,
  tells the model);
- a hand-off tool (`handoff_tool`, ``escalate_to_human``) ends the turn with the
  conversation in the human queue;
- in a dry run (`RunContext.dry_run`) side-effecting calls are described, not made.

Every call is an audit event (tool, redacted arguments, verdict, outcome, key). The gate a
run uses is the one made active around it (``with gate.active(): ...``; the chat handler
does this per turn with its store's ledger, queue and audit log); without one, a
process-wide gate with an in-memory ledger and `DefaultToolPolicy` applies.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections.abc import Awaitable, Callable, Generator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from typing import Any, Literal, cast

import pydantic

from pyagent_providers import ToolCall
from pyagent_providers.telemetry import ToolOutcome, set_tool_result, tool_span
from pyagent_router import RunContext, Signals

from ..escalations import EscalationQueue
from ..tools import Tool, ToolResult, describe_invalid
from .audit import AuditEvent, AuditLog
from .ledger import LEASE_SECONDS, ActionLedger, ActionRecord, MemoryActionLedger
from .policy import DefaultToolPolicy, PolicyArg, ToolRequest, Verdict, decide

__all__ = ["ActionGate", "GateOutcome", "Handoff", "idempotency_key"]

Redact = Callable[[str], Awaitable[str]]
logger = logging.getLogger("pyagent.actions")
_ACTIVE: ContextVar[ActionGate | None] = ContextVar("pyagent_action_gate", default=None)


@dataclass(frozen=True, slots=True)
class Handoff:
    """A tool call that ended the turn: a person must approve it, or take the conversation."""

    kind: Literal["approval", "handoff"]
    reason: str
    case_id: str | None = None


@dataclass(frozen=True, slots=True)
class GateOutcome:
    """What a call gave the model, and whether it ended the turn."""

    result: ToolResult
    handoff: Handoff | None = None


def idempotency_key(context: RunContext, tool: str, arguments: Mapping[str, Any]) -> str:
    """The key of a side-effecting call: the same call in the same turn has the same key."""
    material = json.dumps(
        [context.conversation_id, context.message_id, tool, arguments], sort_keys=True, default=str
    )
    return "pyagent-" + hashlib.sha256(material.encode()).hexdigest()[:32]


@dataclass(kw_only=True)
class ActionGate:
    """Decides and records every tool call (see the module docstring).

    Args:
        policy: Decides each call.
        ledger: Side-effecting calls by key.
        audit: Where each call is recorded (none: not recorded).
        queue: Where approval requests wait (none: a call that needs a person is denied).
        redact: Redacts argument values before they are recorded.
        lease_seconds: How long a started call is another worker's before it is taken over.
    """

    policy: PolicyArg = field(default_factory=DefaultToolPolicy)
    ledger: ActionLedger = field(default_factory=MemoryActionLedger)
    audit: AuditLog | None = None
    queue: EscalationQueue | None = None
    redact: Redact | None = None
    lease_seconds: float = LEASE_SECONDS

    @staticmethod
    def current() -> ActionGate:
        """The gate active in this context, or the process-wide default."""
        return _ACTIVE.get() or _DEFAULT

    @contextmanager
    def active(self) -> Generator[ActionGate]:
        """Make this the gate of the runs inside the ``with`` block."""
        token = _ACTIVE.set(self)
        try:
            yield self
        finally:
            _ACTIVE.reset(token)

    async def call(self, tool: Tool | None, call: ToolCall, context: RunContext) -> GateOutcome:
        """Decide and (maybe) make one call; never raises for the tool's or policy's faults.

        The call is one ``execute_tool`` span (verdict and outcome, never the arguments).
        """
        with tool_span(call.name, read_only=bool(tool and tool.read_only), call_id=call.id) as span:
            outcome, verdict, key = await self._call(tool, call, context)
            set_tool_result(
                span,
                verdict=verdict.kind,
                outcome=outcome.result.outcome,
                idempotency_key=key,
            )
        if tool is not None:
            await self._audit(tool, call, context, verdict, outcome, key)
        return outcome

    async def _call(
        self, tool: Tool | None, call: ToolCall, context: RunContext
    ) -> tuple[GateOutcome, Verdict, str | None]:
        if tool is None:
            return _said(call.name, f"error: there is no tool {call.name!r}", "failed"), _NONE, None
        try:
            arguments = tool.arguments(call)
        except pydantic.ValidationError as error:
            message = f"error: invalid arguments for {tool.name}: {describe_invalid(error)}"
            return _said(tool.name, message, "failed"), _NONE, None
        if tool.hands_off:  # handing off to a person is always allowed
            return await self._hand_off(tool, arguments, context), Verdict.allow("hand-off"), None
        key = (
            None
            if tool.read_only
            else idempotency_key(context, tool.name, _identity(tool, arguments))
        )
        stored = None if key is None else await self.ledger.get(key)
        if stored is not None and stored.status not in ("running", "approved"):
            return _from_record(stored, dry_run=context.dry_run), Verdict.allow("recorded"), key
        if stored is not None and stored.status == "approved":
            verdict = Verdict.allow(f"approved by {stored.decided_by}")
        else:
            verdict = await decide(self.policy, _request(tool, arguments, context))
        return await self._act(tool, arguments, context, verdict, key), verdict, key

    async def _act(
        self,
        tool: Tool,
        arguments: dict[str, Any],
        context: RunContext,
        verdict: Verdict,
        key: str | None,
    ) -> GateOutcome:
        if verdict.kind == "deny":
            return _said(tool.name, f"not run: {verdict.reason}", "denied")
        if key is None:  # read-only
            return GateOutcome(await tool.invoke(_as_call(tool, arguments)))
        if context.dry_run:
            shown = json.dumps(arguments, default=str)
            return _said(
                tool.name, f"(dry run) would call {tool.name}({shown})", "dry_run", ok=True
            )
        if verdict.kind == "ask" and self.queue is None:
            return _said(
                tool.name, f"not run: {verdict.reason}, and no one can approve it here", "denied"
            )
        record = ActionRecord(  # the model re-sends the arguments; only keys are matched
            key=key,
            tool=tool.name,
            arguments=await self._redacted(arguments),
            conversation_id=context.conversation_id,
            message_id=context.message_id,
        )
        stored, run = await self.ledger.begin(record, lease_seconds=self.lease_seconds)
        while not run and stored.status == "running":  # another worker has it: wait
            await asyncio.sleep(min(0.2, max(0.01, stored.lease_until - time.time())))
            stored, run = await self.ledger.begin(record, lease_seconds=self.lease_seconds)
        if not run:
            return _from_record(stored, dry_run=False)
        if verdict.kind == "ask":
            return await self._ask(tool, arguments, context, verdict, key)
        # Shielded: a deadline that cancels the attempt must not leave a call that ran
        # unrecorded (the retry would wait for its lease, then run it again).
        return GateOutcome(await asyncio.shield(self._run(tool, arguments, key)))

    async def _run(self, tool: Tool, arguments: dict[str, Any], key: str) -> ToolResult:
        """Make the call with its key and store the outcome (redacted) before returning."""
        result = await tool.invoke(_as_call(tool, arguments), idempotency_key=key)
        content = await self.redact(result.content) if self.redact else result.content
        await self.ledger.finish(key, replace(result, content=content))
        return result

    async def _ask(
        self,
        tool: Tool,
        arguments: dict[str, Any],
        context: RunContext,
        verdict: Verdict,
        key: str,
    ) -> GateOutcome:
        assert self.queue is not None
        shown = await self._redacted(arguments)
        case = await self.queue.put(
            summary=f"Approve {tool.name}({json.dumps(shown, default=str)})? {verdict.reason}.",
            reason=f"approval: {verdict.reason}",
            conversation=(),
            priority="high",
            conversation_id=context.conversation_id,
            metadata={"approval": key, "tool": tool.name, "arguments": shown},
            key=key,
        )
        await self.ledger.await_approval(key, case_id=case.id, note=verdict.reason)
        text = f"waiting for a person to approve {tool.name} (case {case.id})"
        return GateOutcome(
            _result(tool.name, text, "awaiting_approval"),
            Handoff("approval", f"approval: {verdict.reason}", case.id),
        )

    async def _hand_off(
        self, tool: Tool, arguments: Mapping[str, Any], context: RunContext
    ) -> GateOutcome:
        reason = str(arguments.get("reason") or "the assistant asked for a person")
        reason = await self._redact_value(reason)  # the model may quote a tool's output
        if context.dry_run:
            return _said(tool.name, f"(dry run) would hand off: {reason}", "dry_run", ok=True)
        case_id = None
        if self.queue is not None:  # one case per turn, however often the turn is run
            case = await self.queue.put(
                summary=reason,
                reason=f"handoff: {reason}",
                conversation=(),
                conversation_id=context.conversation_id,
                key=idempotency_key(context, tool.name, {}),
            )
            case_id = case.id
        result = _result(tool.name, "handed to a person", "handed_off", ok=True)
        return GateOutcome(result, Handoff("handoff", reason, case_id))

    async def _audit(
        self,
        tool: Tool,
        call: ToolCall,
        context: RunContext,
        verdict: Verdict,
        outcome: GateOutcome,
        key: str | None,
    ) -> None:
        if self.audit is None or context.dry_run:
            return
        signals = context.signals or Signals()
        await self.audit.record(
            AuditEvent(
                kind="tool_call",
                conversation_id=context.conversation_id,
                message_id=context.message_id,
                actor=tool.name,
                confidence=signals.confidence,
                data={
                    "tool": tool.name,
                    "arguments": await self._redacted(call.arguments),
                    "read_only": tool.read_only,
                    "verdict": verdict.kind,
                    "reason": verdict.reason,
                    "outcome": outcome.result.outcome,
                    "ok": outcome.result.ok,
                    "idempotency_key": key,
                    "case_id": outcome.handoff.case_id if outcome.handoff else None,
                },
            )
        )

    async def _redacted(self, arguments: Mapping[str, Any]) -> dict[str, Any]:
        return {name: await self._redact_value(value) for name, value in arguments.items()}

    async def _redact_value(self, value: Any) -> Any:
        """A value with every string in it redacted, however deeply nested."""
        if self.redact is None:
            return value
        if isinstance(value, str):
            return await self.redact(value)
        if isinstance(value, Mapping):
            items = cast(Mapping[str, Any], value).items()
            return {key: await self._redact_value(item) for key, item in items}
        if isinstance(value, list | tuple):
            return [await self._redact_value(item) for item in cast(Sequence[Any], value)]
        return value


_DEFAULT = ActionGate()
_NONE = Verdict.deny("not a callable tool")


def _identity(tool: Tool, arguments: Mapping[str, Any]) -> Mapping[str, Any]:
    """What the key is made from: the tool's `Tool.identity` of the call, or its arguments."""
    if tool.identity is None:
        return arguments
    try:
        return {"identity": tool.identity(arguments)}
    except Exception:  # a broken identity must not break the turn: key by the arguments
        logger.warning("the identity of %s failed; keyed by its arguments", tool.name)
        return arguments


def _request(tool: Tool, arguments: Mapping[str, Any], context: RunContext) -> ToolRequest:
    return ToolRequest(
        tool=tool.name,
        read_only=tool.read_only,
        requires_approval=tool.requires_approval,
        arguments=arguments,
        signals=context.signals or Signals(),
        conversation_id=context.conversation_id,
    )


def _as_call(tool: Tool, arguments: Mapping[str, Any]) -> ToolCall:
    return ToolCall(id="", name=tool.name, arguments=dict(arguments))


def _result(name: str, content: str, outcome: ToolOutcome, *, ok: bool = False) -> ToolResult:
    return ToolResult(name=name, content=content, ok=ok, outcome=outcome)


def _said(name: str, content: str, outcome: ToolOutcome, *, ok: bool = False) -> GateOutcome:
    return GateOutcome(_result(name, content, outcome, ok=ok))


def _from_record(record: ActionRecord, *, dry_run: bool) -> GateOutcome:
    """A stored call's outcome, as the model sees it on a later run of the turn."""
    if record.status == "done" and record.result is not None:
        prior = record.result
        content = f"(dry run) earlier outcome: {prior.content}" if dry_run else prior.content
        return GateOutcome(
            ToolResult(prior.name, content, prior.ok, outcome="replayed", grants=prior.grants)
        )
    if record.status == "declined":
        note = f": {record.note}" if record.note else ""
        return _said(record.tool, f"not run: {record.decided_by} declined it{note}", "declined")
    text = f"waiting for a person to approve {record.tool} (case {record.case_id})"
    handoff = None if dry_run else Handoff("approval", f"approval: {record.note}", record.case_id)
    return GateOutcome(_result(record.tool, text, "awaiting_approval"), handoff)
