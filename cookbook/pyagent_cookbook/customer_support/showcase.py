"""The recipe's demo (``pyagent demo``): seed 002's four queries and seed 000's six tickets."""

from __future__ import annotations

from .records import SupportReply
from .system import SupportSystem

__all__ = ["SEED_000_TICKETS", "SEED_QUERIES", "demo", "format_reply"]

SEED_QUERIES = [
    "Why was I charged twice this month?",
    "My API webhooks stopped firing after the latest update",
    "I need to delete all my data immediately under GDPR",
    "This is unacceptable, I'm calling my lawyer",
]
SEED_000_TICKETS = {
    "billing_double_charge": "I was charged twice this month — $49 on the 3rd and again on "
    "the 5th. Order #ORD-2847.",
    "technical_api_outage": "All API calls returning 503 since 14:00 UTC. Our entire product "
    "is down. This is urgent.",
    "account_login": "Can't log in after renewing my subscription. It says my account is inactive.",
    "account_billing_edge": "Can't access my account since the subscription renewed. Shows "
    "active but I get 'access denied'.",
    "feature_request": "Would love a dark mode. The white background is really hard on the "
    "eyes during long sessions.",
    "general": "Hi, quick question — does the Pro plan include API access?",
}


def format_reply(query: str, reply: SupportReply) -> str:
    """A demo block for one query."""
    model = reply.model or "-"
    if reply.backend == "local" and reply.online_model:
        model = f"{model} (online: {reply.online_model})"
    lines = [
        f"Query:      {query}",
        f"Route:      {reply.route}  (tier {reply.tier}, difficulty {reply.difficulty})",
        f"Signals:    category {reply.category}, priority {reply.priority}, "
        f"team {reply.assigned_team}, sentiment {reply.sentiment}",
        f"Model:      {model}",
        f"Recovery:   level {reply.recovery_level}",
        f"Escalation: {reply.ticket_id} ({reply.escalation_reason})"
        if reply.escalated
        else "Escalation: none",
        f"Cost:       ${reply.cost_usd} for {reply.input_tokens} input + "
        f"{reply.output_tokens} output tokens"
        + (
            " (estimate: local model's tokens at the online models' prices)"
            if reply.cost_estimated
            else ""
        ),
        "Reply:",
        *(f"  {line}" for line in reply.response.splitlines()),
    ]
    return "\n".join(lines)


async def demo() -> None:
    """Run the seed's four queries and seed 000's six tickets."""
    system = SupportSystem()
    print(f"Backend: {system.models.backend}; escalations queue: {system.queue!r}\n")
    for query in [*SEED_QUERIES, *SEED_000_TICKETS.values()]:
        print(format_reply(query, await system.handle_query(query)), end="\n\n")
