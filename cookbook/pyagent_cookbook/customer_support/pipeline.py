"""One turn's run: triage the newest customer message, then route and answer it.

The triage is decided once per turn and shared: the Supervisor's override reads it from the
run context, the bots' difficulty estimator from a context variable, the answering model
from one system line (`signals_line`), and the caller from the record (`triage_of`).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextvars import ContextVar

from pyagent_patterns import BoundedExecution, RunResult
from pyagent_patterns.base import as_messages
from pyagent_providers import Message, UserError
from pyagent_router import CustomerProfile, DifficultyEstimate, Signals
from pyagent_router.context import ContextArg, RunContext

from ..triage import Triager, TriageResult

__all__ = ["SupportPipeline", "TriageDifficulty", "signals_line", "signals_of", "triage_of"]

_TURN_TRIAGE: ContextVar[TriageResult | None] = ContextVar("pyagent_turn_triage", default=None)


class TriageDifficulty:
    """The bots' `DifficultyEstimator`: the difficulty the turn's triage decided.

    The pipeline triages each turn once; the bots read that decision instead of rating
    the message again (a second rating could disagree with the tier already reported).
    Outside a pipeline run, it triages the newest message itself.
    """

    def __init__(self, triager: Triager) -> None:
        self.triager = triager

    async def estimate(self, messages: Sequence[Message]) -> DifficultyEstimate:
        """The turn's difficulty, consistent with its tier."""
        triage = _TURN_TRIAGE.get()
        if triage is None:
            text = next((m.content for m in reversed(messages) if m.role == "user"), "")
            triage = await self.triager.triage(text)
        return DifficultyEstimate(
            difficulty=triage.difficulty,
            reason=f"triage: tier {triage.tier} ({triage.decided_by.get('tier', 'local')})",
            estimator="triage",
            confidence=triage.confidence.get("tier"),
        )


class SupportPipeline:
    """Triage first, then the Supervisor: the `Runnable` the chat handler embeds.

    The triage decides on the newest customer message (earlier turns were decided when they
    arrived, so words that escalated a conversation once do not escalate it again after a
    person hands it back). Its verdict travels in `RunContext.escalation`, the triage in
    its ``deps`` (the Supervisor's override reads it), and comes back in the record's
    notes (`triage_of`); the answering bot
    sees its signals as one system line.
    """

    def __init__(self, triager: Triager, supervisor: BoundedExecution) -> None:
        self.triager = triager
        self.supervisor = supervisor

    async def run(self, input: str | Sequence[Message], *, context: ContextArg = None) -> RunResult:
        """Triage the newest customer message, then route and answer it."""
        messages = as_messages(input)
        customer = [m.content for m in messages if m.role == "user"]
        if not customer:
            raise UserError("there is no customer message to answer")
        ctx = RunContext.of(context)
        profile = ctx.signals.customer if ctx.signals else None  # the service's, not the text's
        triage = await self.triager.triage(customer[-1], history=customer[:-1], profile=profile)
        signals = signals_of(triage, profile)
        token = _TURN_TRIAGE.set(triage)
        try:
            result = await self.supervisor.run(
                [*messages, Message.system(signals_line(triage))],
                context=ctx.with_(escalation=triage.escalation, signals=signals).with_deps(
                    triage=triage  # for the Supervisor's override
                ),
            )
        finally:
            _TURN_TRIAGE.reset(token)
        return result.after(triage).with_metadata(triage=triage, confidence=signals.confidence)


def triage_of(result: RunResult) -> TriageResult:
    """The triage a `SupportPipeline` run recorded."""
    triage = result.record.notes["triage"]
    assert isinstance(triage, TriageResult)
    return triage


def signals_of(triage: TriageResult, customer: CustomerProfile | None = None) -> Signals:
    """The triage as the turn's `Signals`: what tool policies and the send gate trust.

    The turn's confidence is the lowest of the route (category) and tier confidences and,
    when the policy did not escalate, of how clearly it did not (``1 - score``): a message
    the escalation detector half suspects is not one to act on alone.
    """
    confidence = triage.confidence
    parts = [confidence[name] for name in ("category", "tier") if name in confidence]
    if not triage.escalation.escalate:
        parts.append(1.0 - triage.escalation.score)
    return Signals(
        confidence=round(min(parts), 3) if parts else None,
        route_confidence=confidence.get("category"),
        escalation_probability=round(triage.escalation.score, 3),
        escalation_reasons=triage.escalation_reasons,
        customer=customer,
    )


def signals_line(triage: TriageResult) -> str:
    """The triage as one line for the answering model (and `LocalModel`'s reply shape)."""
    return (
        f"Triage signals: category={triage.category}; priority={triage.priority}; "
        f"sentiment={triage.sentiment}; escalation={'yes' if triage.escalation.escalate else 'no'}."
        " Match the reply's tone and urgency to them."
    )
