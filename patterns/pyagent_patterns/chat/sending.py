"""Whether a bot reply goes to the customer now, or waits as a draft for a person.

Two checks, both decided by code (seed 004's confidence-gated sending):

- the reply guards (`GuardrailChain.acheck_reply`): no refund, discount, credit or SLA
  promise a tool result did not grant, no PII the customer did not send in this
  conversation, no secret, no system-prompt text;
- the `SendPolicy`: the turn's computed confidence (`TurnRecord.confidence`, never the
  model's own claim) must reach `SendPolicy.min_confidence`, and an enterprise customer's
  replies always wait for a person.

A reply that fails either is held: it is kept (redacted) with its case in the human
queue, where a person sends it as it is, edits it or replaces it
(`ChatHandler.send_draft`); the customer is told a person is checking the answer.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyagent_guardrails import GuardrailChain, ReplyContext
from pyagent_router import CustomerProfile, Signals

from ..base import RunResult

__all__ = ["SendPolicy", "reasons_to_hold"]

HELD_NOTICE = (
    "Thanks for your patience. A member of our team is checking the answer to this and "
    "will reply here shortly. Your reference is {ticket}."
)
SENDABLE = frozenset({"ok", "replayed"})


@dataclass(frozen=True, kw_only=True, slots=True)
class SendPolicy:
    """When a bot reply is sent on its own.

    Args:
        min_confidence: The lowest `TurnRecord.confidence` sent automatically (``None``:
            confidence is not checked; a turn with no measured confidence is held when
            a threshold is set).
        hold_enterprise: Enterprise customers' replies always wait for a person.
        guard: The reply guards (`GuardrailChain` of outgoing guards); none: unchecked.
        system_prompts: The instructions the models were given (the guard's
            `SystemPromptGuard` looks for them in replies).
        hold_labels: Replies of turns the system labelled with any of these
            (``TurnRecord.notes["labels"]``, e.g. ``legal-review``) wait for a person.
    """

    min_confidence: float | None = None
    hold_enterprise: bool = True
    guard: GuardrailChain | None = None
    system_prompts: tuple[str, ...] = ()
    hold_labels: frozenset[str] = frozenset()

    def may_hold(self, customer: CustomerProfile | None) -> bool:
        """Whether a reply for `customer` might be held (then it is not streamed)."""
        enterprise = self.hold_enterprise and customer is not None and customer.enterprise
        checks = self.guard is not None or self.min_confidence is not None
        return checks or bool(self.hold_labels) or enterprise


async def reasons_to_hold(
    result: RunResult, *, policy: SendPolicy, signals: Signals, conversation_id: str
) -> tuple[str, ...]:
    """Why `result`'s reply must wait for a person (empty: send it)."""
    reasons: list[str] = []
    if policy.guard is not None:
        granted = frozenset[str]().union(
            *(
                call.grants
                for call in result.record.tool_calls
                if call.ok and call.outcome in SENDABLE
            )
        )
        check = await policy.guard.acheck_reply(
            str(result.output),
            context=ReplyContext(
                granted=granted,
                system_prompts=policy.system_prompts,
                conversation_id=conversation_id,
            ),
        )
        if not check.passed:
            reasons.append(check.message or "the reply guards refused it")
    confidence = result.record.confidence
    if policy.min_confidence is not None and (
        confidence is None or confidence < policy.min_confidence
    ):
        shown = "unmeasured" if confidence is None else f"{confidence:.2f}"
        reasons.append(f"confidence {shown} is below {policy.min_confidence}")
    labels = policy.hold_labels.intersection(result.record.notes.get("labels", ()))
    if labels:
        reasons.append("labelled " + ", ".join(sorted(labels)))
    customer = signals.customer
    if policy.hold_enterprise and customer is not None and customer.enterprise:
        reasons.append("enterprise customers' replies are sent by a person")
    return tuple(reasons)
