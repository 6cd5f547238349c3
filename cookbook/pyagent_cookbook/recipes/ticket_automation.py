"""Seed 004: helpdesk ticket automation with confidence-gated sending and an audit trail.

    helpdesk webhook (POST /v1/webhooks/tickets, HMAC-signed, idempotent by event id)
      → input guards (length, PII, secrets)
      → triage: category, priority, escalation verdict, and the turn's confidence
      → escalation tags (the seed's matrix): churn → ``retention``, legal or compliance →
        ``legal-review``, an enterprise customer (from the profile hook) → ``enterprise``
      → the agent, with read-only tools: get_customer_profile, get_order_status, search_kb
      → the reply guards (never promise refunds, discounts, credits or SLA exceptions; no
        PII the customer did not send; no secrets) and the send gate: sent only when the
        computed confidence is ≥ 0.9, no tag holds it and the customer is not enterprise;
        otherwise a draft for a person (``pyagent queue send|edit``, the API's ``/draft``)
      → every decision, tool call and human action in the audit trail (``pyagent audit``)

The seed's ``send_reply(text, confidence)`` tool, whose gate the model learned to cheat
by passing ``confidence: 0.95``, is gone: sending is the framework's decision, made from
the triage's confidence, which the model never writes. The seed's canary ("run a daily
eval set, diff the new drafts") is ``pyagent eval tickets.jsonl --baseline
yesterday.json``.

Serve it: ``PYAGENT_WEBHOOK_SECRET=... pyagent --recipe ticket-automation serve``.
Run it: ``pyagent demo --recipe ticket-automation``.
"""

from __future__ import annotations

import json
import secrets
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import regex

from pyagent_guardrails import (
    GuardrailChain,
    LeakGuard,
    LengthGuard,
    PIIGuard,
    PlaceholderMap,
    PromiseGuard,
)
from pyagent_patterns import Agent, ChatHandler, SendPolicy, tool
from pyagent_patterns.base import Pattern, RunResult, as_messages
from pyagent_patterns.chat import open_store
from pyagent_providers import Message
from pyagent_router import CustomerProfile
from pyagent_router.context import ContextArg, RunContext

from ..customer_support.models import Models, choose_models
from ..customer_support.pipeline import signals_line, signals_of
from ..knowledge import KnowledgeBase
from ..triage import Triager, TriageResult, default_triager
from .shop import Shop, find_order_id

__all__ = ["CRM", "Classification", "TicketDesk", "chat_handler", "demo", "escalation_tags"]

Classification = Literal["local"]
MIN_CONFIDENCE = 0.9
HOLD_TAGS = frozenset({"retention", "legal-review"})
PROMPT = (
    "You triage and answer support tickets for Orbitly. Look up the customer and their order "
    "when the ticket needs them; answer from the help centre. Be empathetic and concise; sign "
    "off with '— The Orbitly team'. Never promise refunds, discounts or SLA exceptions."
)
_CHURN = regex.compile(
    r"\b(cancel\w*|churn|unsubscribe|switch(?:ing)? to|leav(?:e|ing) (?:you|orbitly)|"
    r"cancelar|darme de baja|résilier|resilier|kündigen|cancelamento)\b",
    regex.IGNORECASE,
)
_LEGAL = regex.compile(
    r"\b(gdpr|rgpd|dsgvo|lawsuit|lawyer|attorney|legal action|sue|abogado|avocat|anwalt)\b",
    regex.IGNORECASE,
)
# The customers the CRM knows (stored ids); a stand-in for the helpdesk's own API.
CRM = {
    "cus_ana": CustomerProfile(customer_id="cus_ana", plan="pro"),
    "cus_ben": CustomerProfile(customer_id="cus_ben", plan="starter"),
    "cus_acme": CustomerProfile(customer_id="cus_acme", plan="enterprise", tags=frozenset({"vip"})),
}


def escalation_tags(
    ticket: str, triage: TriageResult, customer: CustomerProfile | None
) -> tuple[str, ...]:
    """The seed's escalation matrix, from the triage, the words and the profile."""
    reasons = set(triage.escalation_reasons)
    tags: list[str] = []
    if _CHURN.search(ticket) or "enterprise_churn" in reasons:
        tags.append("retention")
    if _LEGAL.search(ticket) or reasons & {"legal", "law_enforcement_press"}:
        tags.append("legal-review")
    if customer is not None and customer.enterprise:
        tags.append("enterprise")
    return tuple(tags)


class TicketDesk(Pattern):
    """Triage, tag and draft the answer to one ticket (sending is the send gate's call).

    Args:
        triager: The triage (category, priority, escalation, confidences).
        agent: Writes the answer, with the read-only tools.
    """

    def __init__(self, triager: Triager, agent: Agent) -> None:
        self.triager = triager
        self.agent = agent

    async def run(self, input: str | Sequence[Message], *, context: ContextArg = None) -> RunResult:
        """The drafted answer, with the turn's confidence and tags in its record."""
        messages = as_messages(input)
        ticket = next(m.content for m in reversed(messages) if m.role == "user")
        ctx = RunContext.of(context)
        customer = ctx.signals.customer if ctx.signals else None
        triage = await self.triager.triage(ticket, profile=customer)
        signals = signals_of(triage, customer)
        tags = escalation_tags(ticket, triage, customer)
        facts = {"route": triage.category, "confidence": signals.confidence, "labels": tags}
        if triage.escalation.escalate:  # a person decides; the customer hears so
            reason = ", ".join(triage.escalation_reasons)
            text = "Thanks for your message. A member of our team will take this from here."
            return (
                RunResult(output=text, messages=(*messages, Message.assistant(text)))
                .with_metadata(
                    escalated=True,
                    escalation_reason=reason,
                    escalation_reasons=list(triage.escalation_reasons),
                    **facts,
                )
                .after(triage)
            )
        result = await self.agent.run(
            [*messages, Message.system(signals_line(triage))], context=ctx.with_(signals=signals)
        )
        return result.with_metadata(**facts).after(triage)


def desk_tools(shop: Shop, knowledge: KnowledgeBase) -> list[Any]:
    """The seed's read-only tools over the CRM, the shop and the knowledge base."""

    @tool(read_only=True)
    def get_customer_profile(customer: str) -> str:
        """Look the customer up: plan and tags.

        Args:
            customer: The customer's id (cus_...).
        """
        found = CRM.get(customer.strip())
        if found is None:
            return "no such customer"
        return json.dumps({"plan": found.plan, "tags": sorted(found.tags)})

    @tool(read_only=True)
    def get_order_status(order: str) -> str:
        """An order's status and delivery.

        Args:
            order: The order number, or the ticket's words that contain it.
        """
        found = shop.orders.get(find_order_id(order) or "")
        return f"{found.id}: {found.status} ({found.carrier})" if found else "no order found"

    @tool(read_only=True)
    async def search_kb(query: str) -> str:
        """Search the help centre for the article that answers a question.

        Args:
            query: The question.
        """
        matches = await knowledge.search(query, limit=1, kinds={"article"})
        if not matches:
            return "nothing found"
        best = matches[0].document
        return f"{best.title} (score {matches[0].score:.2f}): {(best.answer or best.text)[:500]}"

    return [get_customer_profile, get_order_status, search_kb]


def chat_handler(
    store: str | Path | None = None,
    *,
    classification: Classification = "local",
    models: Models | None = None,
    shop: Shop | None = None,
    **options: Any,
) -> ChatHandler:
    """The ticket desk as a `ChatHandler`; each ticket is one conversation.

    ``pyagent serve`` with this recipe takes tickets at ``POST /v1/webhooks/tickets``.
    """
    models = models or choose_models()
    conversations = open_store(store)
    placeholders = PlaceholderMap(salt=conversations.secret())
    pii = PIIGuard(redact=True, placeholders=placeholders)
    leak = LeakGuard(pii, placeholders, public=("@orbitly.com",))
    replies = GuardrailChain([PromiseGuard(), leak])
    tools = desk_tools(shop or Shop.sample(), KnowledgeBase.default())
    options.setdefault(
        "send_policy",
        SendPolicy(min_confidence=MIN_CONFIDENCE, guard=replies, hold_labels=HOLD_TAGS),
    )
    options.setdefault("customer_profile", CRM.get)
    agent = Agent("ticket_agent", models.fast, system_prompt=PROMPT, tools=tools)
    return ChatHandler(
        TicketDesk(default_triager(), agent),
        conversations,
        guard=GuardrailChain([LengthGuard(max_chars=8_000), pii]),
        placeholders=placeholders,
        **options,
    )


EVENTS = (
    ("ev-1", "T-501", "cus_ben", "Invoice", "Where can I download my invoices as PDF?"),
    (
        "ev-2",
        "T-502",
        "cus_ana",
        "Cancelling",
        "Your price went up again, we're cancelling our plan.",
    ),
    (
        "ev-3",
        "T-503",
        "cus_ana",
        "GDPR request",
        "Under GDPR I ask you to delete all my personal data.",
    ),
    ("ev-4", "T-504", "cus_acme", "SSO", "How do we set up SAML single sign-on for our team?"),
)


async def demo() -> None:
    """Signed webhook deliveries through the HTTP app, a retry, a draft review, the audit."""
    import httpx
    from pyagent_server import create_app
    from pyagent_server.webhooks import sign

    secret, token = secrets.token_bytes(32), "demo-agent-token"
    with tempfile.TemporaryDirectory() as folder:
        handler = chat_handler(Path(folder) / "tickets.sqlite3")
        app = create_app(
            handler, customer_secret=secrets.token_bytes(32), agent_tokens={token: "dana"},
            webhook_secret=secret,
        )  # fmt: skip
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://demo") as client:
            print("Seed 004: ticket automation (pyagent demo --recipe ticket-automation)\n")
            for event_id, ticket, customer, subject, body in (*EVENTS, EVENTS[0]):
                payload = json.dumps(
                    {"event_id": event_id, "ticket_id": ticket, "customer_id": customer,
                     "subject": subject, "body": body}
                ).encode()  # fmt: skip
                signed = {"X-Pyagent-Signature": sign(secret, payload)}
                response = await client.post(
                    "/v1/webhooks/tickets", content=payload, headers=signed
                )
                data = response.json()
                reply = data["reply"]
                outcome = "held as a draft" if reply["held"] else reply["state"]
                print(f"{event_id} {ticket} ({customer}) {subject!r}: {data['status']}, "
                      f"confidence {reply['confidence']}, {outcome}")  # fmt: skip
            bad = await client.post(
                "/v1/webhooks/tickets", content=b"{}", headers={"X-Pyagent-Signature": "sha256=00"}
            )
            print(f"unsigned delivery: HTTP {bad.status_code}\n")
            people = {"Authorization": f"Bearer {token}"}
            queue = (await client.get("/v1/queue", headers=people)).json()
            print("Human queue:", ", ".join(c["id"] for c in queue))
            draft = {"text": None}  # as it is
            sent = await client.post("/v1/queue/ticket-T-504/draft", json=draft, headers=people)
            print(f"dana sends T-504's draft as it is: HTTP {sent.status_code}")
            audit = await client.get(
                "/v1/audit", params={"where": "confidence<0.9"}, headers=people
            )
            events = audit.json()["events"]
            print(f"Audit events with confidence < 0.9: {len(events)}")
            for event in events[:6]:
                print(f"  {event['kind']:<12} {event['conversation_id']:<14} {_summary(event)}")


def _summary(event: dict[str, Any]) -> str:
    data = event["data"]
    if event["kind"] == "decision":
        return f"route {data['route']}, escalated {data['escalated']}"
    if event["kind"] == "reply":
        return f"sent {data['sent']} {data['held_because'] or ''}"
    if event["kind"] == "tool_call":
        return f"{data['tool']} {data['verdict']} → {data['outcome']}"
    return str(data.get("action"))
