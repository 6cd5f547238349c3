"""Seed 003: a deterministic router and one agent per branch with only its own tools.

The refund is idempotent and the human handoff durable.

    customer message → input guards (length, PII) → lane router (an embedding intent
    model, no LLM call) → refund | shipping | general agent
      refund:   get_order, issue_refund (side-effecting, idempotent), escalate_to_human
      shipping: get_order, get_tracking, escalate_to_human
      general:  search_docs, escalate_to_human

A reply may say a refund was made only when ``issue_refund``'s result granted it (the
reply guard); otherwise it waits as a draft for a person. Branch isolation is the tool
sets: the refund agent has no shipping tools and the general agent cannot refund. Every
call passes the chat handler's action gate: ``issue_refund`` gets an idempotency key (the
shop's payment API honours it too), so a retry or a redelivered message refunds once; the
`RefundLimit` policy (code, not the prompt) sends refunds over $500 to a person for
approval, and the turn resumes once they decide. ``escalate_to_human`` puts the
conversation in the human queue, where it stays until a person hands it back. Offline the
agents run on the embedded `LocalModel` (it picks the tool closest to the message and
answers from its result), and say so.

Run it: ``pyagent demo --recipe branch-agents``.
"""

from __future__ import annotations

import tempfile
from decimal import Decimal
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
from pyagent_patterns import (
    Agent,
    ChatHandler,
    SendPolicy,
    Supervisor,
    Tool,
    Verdict,
    handoff_tool,
    tool,
)
from pyagent_patterns.actions import AuditQuery, ToolRequest
from pyagent_patterns.chat import open_store
from pyagent_providers import Example
from pyagent_router import EmbeddingClassifier

from ..customer_support.models import Models, choose_models
from ..data import load_articles
from .shop import Shop, find_order_id

__all__ = ["Classification", "RefundLimit", "build_system", "chat_handler", "demo", "lane_router"]

Classification = Literal["local"]
LANES = ("refund", "shipping", "general")
# The router's training examples, in several languages and phrasings.
LANE_EXAMPLES = {
    "refund": (
        "I want my money back for order ORD-10412",
        "Please refund my last purchase, it was charged twice",
        "Can I get a refund? The product doesn't work",
        "Return and refund for my order",
        "Quiero un reembolso de mi pedido",
        "Je voudrais être remboursé pour ma commande",
        "Ich möchte eine Rückerstattung für meine Bestellung",
        "You billed me for something I cancelled, I want it refunded",
    ),
    "shipping": (
        "Where is my package?",
        "My order hasn't arrived yet, can you track it?",
        "What's the tracking number for order ORD-10577?",
        "The delivery is late, when will it come?",
        "¿Dónde está mi paquete?",
        "Ma commande n'est toujours pas livrée",
        "Wann kommt meine Lieferung an?",
        "The courier says delivered but I have nothing",
    ),
    "general": (
        "How do I reset my password?",
        "Does Orbitly integrate with Slack?",
        "How do I add a teammate to my workspace?",
        "What are your support hours?",
        "¿Cómo cambio mi correo electrónico?",
        "Comment exporter mes données ?",
        "I want to talk to a person, this is unacceptable",
        "Can I change the language of the dashboard?",
    ),
}
REFUND_PROMPT = (
    "You handle refund requests. Always look the order up before refunding. Refund only "
    "what the customer asked for. Escalate to a person if the customer is upset or the case "
    "is unusual."
)
SHIPPING_PROMPT = "You handle delivery questions: look the order up and give its tracking."
GENERAL_PROMPT = "You answer product questions from the help centre; escalate what you cannot."


def lane_router() -> EmbeddingClassifier:
    """The deterministic router: an embedding intent model fitted on `LANE_EXAMPLES`."""
    examples = [
        Example(text=text, labels={"lane": lane})
        for lane, texts in LANE_EXAMPLES.items()
        for text in texts
    ]
    return EmbeddingClassifier.fit(examples, label_key="lane", abstain_below=0.4, folds=4)


class RefundLimit:
    """The tool policy: refunds above `limit` wait for a person's approval.

    The amount is read from the shop, not from anything the model wrote; read-only tools
    always run.
    """

    def __init__(self, shop: Shop, limit: Decimal = Decimal(500)) -> None:
        self.shop = shop
        self.limit = limit

    def decide(self, request: ToolRequest) -> Verdict:
        """Allow, or ask a person for a large refund."""
        if request.read_only or request.tool != "issue_refund":
            return Verdict.allow()
        order = self.shop.orders.get(find_order_id(str(request.arguments.get("order"))) or "")
        if order is None:
            return Verdict.deny("there is no such order to refund")
        if order.total > self.limit:
            return Verdict.ask(f"a refund of ${order.total} is above ${self.limit}")
        return Verdict.allow()


def shop_tools(shop: Shop) -> dict[str, Tool]:
    """The tools, by name; each agent gets only its own."""

    def order_of(order: str) -> str:
        found = find_order_id(order)
        if found is None or found not in shop.orders:
            raise LookupError("no order number (like ORD-10412) in that; ask the customer")
        return found

    @tool(read_only=True)
    def get_order(order: str) -> str:
        """Look an order up: its item, total and status.

        Args:
            order: The order number, or the customer's words that contain it.
        """
        found = shop.orders[order_of(order)]
        return f"Order {found.id}: {found.item}, ${found.total}, {found.status}."

    # the order, however the model words it, is the refund: one key per order and turn
    @tool(grants={"refund"}, identity=lambda arguments: find_order_id(str(arguments["order"])))
    def issue_refund(order: str, idempotency_key: str) -> str:
        """Refund an order in full, to the card that paid it.

        Args:
            order: The order number, or the customer's words that contain it.
            idempotency_key: Filled by the action gate (the model never sees it).
        """
        refund = shop.refund(order_of(order), idempotency_key)
        return f"Refund {refund.id} of ${refund.amount} issued for {refund.order_id}."

    @tool(read_only=True)
    def get_tracking(order: str) -> str:
        """Track an order's shipment: carrier and tracking number.

        Args:
            order: The order number, or the customer's words that contain it.
        """
        found = shop.orders[order_of(order)]
        return f"{found.id} is {found.status} with {found.carrier}, tracking {found.tracking}."

    articles = load_articles()

    @tool(read_only=True)
    def search_docs(query: str) -> str:
        """Search the help centre for an article that answers a question.

        Args:
            query: The question.
        """
        words = {w for w in query.lower().split() if len(w) > 3}
        best = max(articles, key=lambda a: len(words & set(a.search_text.lower().split())))
        return f"{best.title}: {best.body[:400]}"

    escalate = handoff_tool()
    return {t.name: t for t in (get_order, issue_refund, get_tracking, search_docs, escalate)}


def build_system(models: Models | None = None, shop: Shop | None = None) -> Supervisor:
    """The router and the three branch agents (refunds on the smart tier)."""
    models = models or choose_models()
    tools = shop_tools(shop or Shop.sample())

    def agent(name: str, llm: Any, prompt: str, *names: str) -> Agent:
        return Agent(name, llm, system_prompt=prompt, tools=[tools[n] for n in names])

    handoff = "escalate_to_human"
    routes = {
        "refund": agent(
            "refund", models.smart, REFUND_PROMPT, "get_order", "issue_refund", handoff
        ),
        "shipping": agent(
            "shipping", models.fast, SHIPPING_PROMPT, "get_order", "get_tracking", handoff
        ),
        "general": agent("general", models.fast, GENERAL_PROMPT, "search_docs", handoff),
    }
    return Supervisor(classifier=lane_router(), routes=routes, default_route="general")


def chat_handler(
    store: str | Path | None = None,
    *,
    classification: Classification = "local",
    shop: Shop | None = None,
    models: Models | None = None,
    **options: Any,
) -> ChatHandler:
    """The branch agents as a multi-turn `ChatHandler` (the recipe contract's factory).

    Args:
        store: The conversations' SQLite file or a ``postgresql://`` URL (`open_store`).
        classification: Only ``local`` (the lane router never calls an LLM).
        shop: The shop the tools act on (`Shop.sample()` by default).
        models: The tiers' models; chosen from the environment by default.
        **options: Passed to `ChatHandler`.
    """
    shop = shop or Shop.sample()
    conversations = open_store(store)
    placeholders = PlaceholderMap(salt=conversations.secret())
    pii = PIIGuard(redact=True, placeholders=placeholders)
    # A reply may say a refund was made only when issue_refund's result granted it.
    replies = GuardrailChain([PromiseGuard(), LeakGuard(pii, placeholders)])
    options.setdefault("send_policy", SendPolicy(guard=replies))
    return ChatHandler(
        build_system(models, shop),
        conversations,
        guard=GuardrailChain([LengthGuard(max_chars=8_000), pii]),
        placeholders=placeholders,
        tool_policy=RefundLimit(shop),
        **options,
    )


async def demo() -> None:
    """Four conversations: a refund (redelivered), a delivery, a large refund, a hand-off.

    A person approves the large refund and its turn resumes.
    """
    shop = Shop.sample()
    with tempfile.TemporaryDirectory() as folder:
        handler = chat_handler(Path(folder) / "conversations.sqlite3", shop=shop)
        print(
            "Seed 003: branch agents with their own tools (pyagent demo --recipe branch-agents)\n"
        )
        for conversation, text in (
            ("c-refund", "Please refund order ORD-10412, the licence was charged twice."),
            ("c-shipping", "Where is my package? Order ORD-10577 still hasn't arrived."),
            ("c-large", "Refund order ORD-10601 please, we cancelled the seats."),
            ("c-person", "This is the third time I write. I want to talk to a person now."),
        ):
            reply = await handler.reply(conversation, text, "m1")
            print(f"[{conversation}] {text}")
            print(f"  route {reply.route}; tools {await _calls(handler, conversation)}")
            print(f"  {reply.state}: {_short(reply.reply)}\n")
        again = await handler.reply(
            "c-refund", "Please refund order ORD-10412, the licence was charged twice.", "m1"
        )
        made = len(shop.refunds)
        print(f"Redelivered c-refund/m1: duplicate={again.duplicate}; refunds made: {made}")
        resumed = await handler.decide_approval("c-large", "dana", approve=True)
        print(f"dana approves c-large's refund; the turn resumes: {_short(resumed.reply)}")
        print(f"Refunds made: {[(r.order_id, str(r.amount)) for r in shop.refunds]}")
        queue = [c.id for c in await handler.queue()]
        print(f"Human queue: {queue}")


async def _calls(handler: ChatHandler, conversation_id: str) -> str:
    """The conversation's tool calls and their outcomes, from the audit trail."""
    query = AuditQuery(conversation_id=conversation_id, kinds=("tool_call",))
    events = await handler.store.audit.query(query)
    return ", ".join(f"{e.data['tool']} ({e.data['outcome']})" for e in events) or "none"


def _short(text: str, limit: int = 150) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"
