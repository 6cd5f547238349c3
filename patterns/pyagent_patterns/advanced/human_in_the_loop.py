"""`HumanInTheLoop`: cases a bot must not decide go to a person, durably.

A case escalates when the customer's newest message matches a high-risk keyword (whole
words, case and accent insensitive), when an `EscalationPolicy` (``policy=``, or a verdict
already in ``context["escalation"]``) says a person must decide, or when the Supervisor
routed it to an escalation route. The verdict's reason codes are recorded with the case
(``escalation_reasons``), so the review hook can answer a crisis differently from a refund.
Then the agent writes a hand-off summary, the case is written to the `EscalationQueue`
(`SQLiteEscalationQueue` by default; it survives restarts), and `review_fn` — sync or async —
decides what the customer is told with a `HumanDecision`. Cases that do not escalate are
simply answered by the agent.

If `review_fn` raises, the case stays queued and the customer gets the holding message:
a failing review hook must not lose the case or show the customer an error.

A run for a customer message (`RunContext.message_id`) opens one case however often it
is run (retries, redeliveries); a dry run (`RunContext.dry_run`) opens none.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from pyagent_providers import Message
from pyagent_router.context import ContextArg, RunContext
from pyagent_router.escalation import EscalationPolicy, KeywordRule

from ..base import Pattern, Runnable, RunResult, as_messages
from ..escalations import EscalationQueue, Priority, SQLiteEscalationQueue

__all__ = ["HumanDecision", "HumanInTheLoop"]

logger = logging.getLogger("pyagent.patterns")

HOLDING_MESSAGE = (
    "I've passed your message to a member of our team, who will review it personally. "
    "Your reference is {ticket}. We'll reply here as soon as we can."
)


@dataclass(frozen=True, slots=True)
class HumanDecision:
    """A person's (or a review hook's) verdict on an escalated case.

    Attributes:
        approved: Whether the customer may receive a reply now.
        modified_output: What to send instead of the agent's output (e.g. a holding reply).
    """

    approved: bool
    modified_output: str | None = None


ReviewFn = Callable[[str, dict[str, Any]], HumanDecision | Awaitable[HumanDecision]]


class HumanInTheLoop(Pattern):
    """Escalates risky conversations to a person through a durable queue.

    Args:
        agent: Writes the hand-off summary for the person (and answers cases that do not
            escalate).
        review_fn: ``review_fn(output, metadata) -> HumanDecision`` (sync or async).
        high_risk_keywords: Words or phrases that always escalate.
        queue: Where escalations are stored; defaults to the SQLite file under
            ``$PYAGENT_DATA_DIR``.
        escalate_routes: Supervisor routes that always escalate.
        holding_message: What the customer is told when the decision gives no text or is
            not approved; ``{ticket}`` is replaced with the escalation id.
        policy: An `EscalationPolicy` assessed on the newest message when the run context
            carries no verdict (``context["escalation"]``).
    """

    def __init__(
        self,
        agent: Runnable,
        review_fn: ReviewFn,
        high_risk_keywords: Iterable[str] = (),
        *,
        queue: EscalationQueue | None = None,
        escalate_routes: Iterable[str] = ("escalate",),
        holding_message: str = HOLDING_MESSAGE,
        policy: EscalationPolicy | None = None,
    ) -> None:
        self.agent = agent
        self.review_fn = review_fn
        self.high_risk_keywords = tuple(high_risk_keywords)
        self._keywords = KeywordRule(keywords=self.high_risk_keywords)
        self._queue = queue
        self.escalate_routes = frozenset(escalate_routes)
        self.holding_message = holding_message
        self.policy = policy

    @property
    def queue(self) -> EscalationQueue:
        """The escalation queue (opened on first use)."""
        if self._queue is None:
            self._queue = SQLiteEscalationQueue()
        return self._queue

    @property
    def llm(self) -> Any:
        """The summarising agent's model."""
        return getattr(self.agent, "llm", None)

    def matched_keywords(self, text: str) -> list[str]:
        """High-risk keywords found in `text` as whole words (case/accent insensitive)."""
        return self._keywords.matched(text)

    async def run(self, input: str | Sequence[Message], *, context: ContextArg = None) -> RunResult:
        """Answer `input`, or escalate it to a person when it must not be decided by a bot."""
        messages = as_messages(input)
        ctx = RunContext.of(context)
        # The newest message decides: after a person hands a conversation back, the words
        # that escalated it earlier must not escalate every later turn again.
        latest = next(m.content for m in reversed(messages) if m.role == "user")
        keywords = self.matched_keywords(latest)
        routed = ctx.route in self.escalate_routes
        verdict = ctx.escalation
        if verdict is None and self.policy is not None:
            verdict = await self.policy.assess(latest)
        by_policy = verdict is not None and verdict.escalate
        if not keywords and not routed and not by_policy:
            result = await self.agent.run(messages, context=ctx)
            return result.with_metadata(escalated=False)
        # The hand-off summary is for the person, never streamed to the customer.
        result = await self.agent.run(messages, context=ctx.with_(stream_sink=None))

        if by_policy:
            assert verdict is not None
            reason, reasons = verdict.describe(), [r.value for r in verdict.reasons]
        elif keywords:
            reason, reasons = f"keywords: {', '.join(keywords)}", ["high_risk_keyword"]
        else:
            reason, reasons = f"route: {ctx.route}", []
        priority: Priority = "high" if keywords or by_policy else "normal"
        summary = str(result.output)
        if ctx.dry_run:  # a replay: say what would happen, queue nothing
            return result.with_metadata(
                escalated=True, escalation_reason=reason, escalation_reasons=reasons
            )
        escalation = await self.queue.put(
            summary=summary,
            reason=reason,
            conversation=messages,
            priority=priority,
            conversation_id=ctx.conversation_id,
            metadata={"agent_model": result.record.model},
            # one case per customer message, however often its turn is run
            key=None if ctx.message_id is None else f"hitl:{ctx.conversation_id}:{ctx.message_id}",
        )
        result = result.with_metadata(
            escalated=True,
            ticket_id=escalation.id,
            escalation_reason=reason,
            escalation_reasons=reasons,
            priority=priority,
        )
        holding = self.holding_message.format(ticket=escalation.id)
        try:
            decision = await _call_review(self.review_fn, summary, dict(result.metadata))
            reply = decision.modified_output if decision.approved else None
            result = result.with_metadata(
                human_decision="approved" if decision.approved else "rejected"
            )
        except Exception as exc:  # the case is queued; the customer must still get an answer
            logger.error("review_fn failed for %s: %s", escalation.id, type(exc).__name__)
            reply, result = None, result.with_metadata(review_error=type(exc).__name__)
        return replace(
            result,
            output=reply or holding,
            messages=(*messages, Message.assistant(reply or holding)),
        )


async def _call_review(review_fn: ReviewFn, output: str, metadata: dict[str, Any]) -> HumanDecision:
    if inspect.iscoroutinefunction(review_fn):
        decision = await review_fn(output, metadata)
    else:
        decision = await asyncio.to_thread(review_fn, output, metadata)
        if inspect.isawaitable(decision):
            decision = await decision
    if not isinstance(decision, HumanDecision):
        raise TypeError(f"review_fn must return a HumanDecision, not {type(decision).__name__}")
    return decision
