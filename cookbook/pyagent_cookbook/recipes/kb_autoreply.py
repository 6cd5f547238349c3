"""Seed 001: tier-1 routing with auto-reply from the knowledge base.

A confident duplicate is answered from the knowledge base; anything else is labelled and
queued for a person with its labels.

    ticket (redacted by the input guards)
      → classify: the triage's labels (category, priority, team)
      → search the knowledge base (articles and past tickets, with scores)
      → duplicate detection with a calibrated confidence (`DuplicateDetector`)
      → confident duplicate: auto-reply grounded in the matched article, sent only when
        the turn's confidence (the detector's) passes the send gate
      → otherwise: the human queue, the case labelled with the triage's labels

The two outcomes are separate decisions, as in the seed: the labels come from the
classification, never from the dedup step, so a ticket without similar issues is still
labelled. ``pyagent --recipe kb-autoreply replay CONVERSATION`` re-runs a stored ticket as
a dry run and shows what would happen now beside what happened then.

Run it: ``pyagent demo --recipe kb-autoreply``.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from pyagent_guardrails import (
    GuardrailChain,
    LeakGuard,
    LengthGuard,
    PIIGuard,
    PlaceholderMap,
    PromiseGuard,
)
from pyagent_patterns import Agent, ChatHandler, SendPolicy
from pyagent_patterns.base import Pattern, RunResult, as_messages
from pyagent_patterns.chat import open_store
from pyagent_providers import Message
from pyagent_router.context import ContextArg

from ..customer_support.models import Models, choose_models
from ..knowledge import DuplicateDetector, DuplicateVerdict
from ..triage import Triager, default_triager

__all__ = ["Classification", "KnowledgeBaseDesk", "chat_handler", "demo"]

Classification = Literal["local"]
REPLY_PROMPT = (
    "Answer the customer's ticket from the help-centre article below, in the customer's "
    "own tone (formal if they are formal, casual if they are casual). Use only what the "
    "article says; do not promise anything it does not."
)
QUEUED_REPLY = (
    "Thanks for writing in. This needs a closer look, so I've passed it to our {team} team "
    "with the details; they will reply here."
)


class KnowledgeBaseDesk(Pattern):
    """Answers confident duplicates from the knowledge base; queues the rest, labelled.

    Args:
        detector: Decides whether a ticket is a duplicate, with a confidence.
        triager: Labels every ticket (category, priority, team).
        writer: Writes the auto-reply from the matched article.
    """

    def __init__(self, detector: DuplicateDetector, triager: Triager, writer: Agent) -> None:
        self.detector = detector
        self.triager = triager
        self.writer = writer

    async def run(self, input: str | Sequence[Message], *, context: ContextArg = None) -> RunResult:
        """Auto-reply to a confident duplicate; otherwise hand the labelled ticket over."""
        messages = as_messages(input)
        ticket = next(m.content for m in reversed(messages) if m.role == "user")
        triage = await self.triager.triage(ticket)
        labels = (triage.category, f"priority:{triage.priority}", f"team:{triage.assigned_team}")
        verdict = await self.detector.detect(ticket)
        notes = {"labels": labels, "duplicate": verdict.to_dict()}
        answerable = verdict.is_duplicate and verdict.candidate is not None
        if answerable and verdict.candidate and not triage.escalation.escalate:
            article = verdict.candidate.document
            grounding = Message.system(f"{article.title}\n\n{article.answer or article.text}")
            result = await self.writer.run([*messages, grounding], context=context)
            return result.with_metadata(
                route="auto_reply", confidence=verdict.confidence, **notes
            ).after(triage)
        reason = _queue_reason(verdict, triage.escalation_reasons)
        reply = QUEUED_REPLY.format(team=triage.assigned_team.replace("_", " "))
        return (
            RunResult(output=reply, messages=(*messages, Message.assistant(reply)))
            .with_metadata(
                route="human_queue",
                escalated=True,
                escalation_reason=reason,
                escalation_reasons=list(triage.escalation_reasons) or ["novel_issue"],
                confidence=verdict.confidence,
                **notes,
            )
            .after(triage)
        )


def _queue_reason(verdict: DuplicateVerdict, escalation: Sequence[str]) -> str:
    if escalation:
        return "a person must decide: " + ", ".join(escalation)
    best = verdict.candidate.document.id if verdict.candidate else "none"
    return f"not a confident duplicate (best match {best}, confidence {verdict.confidence:.2f})"


def chat_handler(
    store: str | Path | None = None,
    *,
    classification: Classification = "local",
    models: Models | None = None,
    **options: Any,
) -> ChatHandler:
    """The recipe as a `ChatHandler` (the recipe contract's factory).

    Auto-replies pass the reply guards and the send gate: only a turn whose duplicate
    confidence reaches the detector's threshold is sent without a person.
    """
    models = models or choose_models()
    conversations = open_store(store)
    placeholders = PlaceholderMap(salt=conversations.secret())
    pii = PIIGuard(redact=True, placeholders=placeholders)
    detector = DuplicateDetector.default()
    leak = LeakGuard(pii, placeholders, public=("@orbitly.com",))
    replies = GuardrailChain([PromiseGuard(), leak])
    options.setdefault("send_policy", SendPolicy(min_confidence=detector.threshold, guard=replies))
    desk = KnowledgeBaseDesk(
        detector, default_triager(), Agent("auto_reply", models.fast, system_prompt=REPLY_PROMPT)
    )
    return ChatHandler(
        desk,
        conversations,
        guard=GuardrailChain([LengthGuard(max_chars=8_000), pii]),
        placeholders=placeholders,
        **options,
    )


TICKETS = (
    ("t-1001", "Hi, I forgot my password and the reset link never arrives. How do I get back in?"),
    ("t-1002", "How can I download last month's invoice as a PDF for our accountant?"),
    ("t-1003", "Our Okta SCIM sync deactivated 40 users overnight and nobody can log in!"),
    ("t-1004", "Do you sponsor open-source conferences? We run one in Lisbon."),
)


async def demo() -> None:
    """Four tickets, answered from the KB or labelled for the queue; then a dry-run replay."""
    with tempfile.TemporaryDirectory() as folder:
        handler = chat_handler(Path(folder) / "tickets.sqlite3")
        print("Seed 001: knowledge-base auto-reply (pyagent demo --recipe kb-autoreply)\n")
        for ticket, text in TICKETS:
            reply = await handler.reply(ticket, text, "m1")
            stored = await handler.conversation(ticket)
            cases = handler.store.escalations
            case = await cases.get(stored.ticket_id) if stored.ticket_id else None
            print(f"[{ticket}] {text}")
            print(f"  confidence {reply.confidence:.2f} → {reply.route}; state {reply.state}")
            if case is not None:
                print(f"  queued {case.id} with labels {case.metadata.get('labels')}")
            print(f"  reply: {_short(reply.reply)}\n")
        replay = await handler.replay("t-1001")
        print("Replay of t-1001 (dry run: nothing sent, no case opened):")
        then: Mapping[str, Any] = replay.then.metadata if replay.then else {}
        now = replay.now.record
        print(f"  then: route {then.get('route')}, confidence {then.get('confidence'):.2f}")
        print(f"  now:  route {now.route}, confidence {now.confidence or 0:.2f}")


def _short(text: str, limit: int = 150) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"
