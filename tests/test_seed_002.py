"""Seed 002's code, as written, with only the provider construction changed.

The two providers are ScriptedModels named like the seed's models; each call's answer is
scripted in the order the system makes its calls (classifier, difficulty rating, answer).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pyagent_patterns.advanced import HumanInTheLoop, TalkerReasoner
from pyagent_patterns.advanced.human_in_the_loop import HumanDecision
from pyagent_patterns.base import Agent, Message
from pyagent_patterns.guardrails import GuardrailChain, LengthGuard, PIIGuard
from pyagent_patterns.orchestration import Supervisor
from pyagent_patterns.recovery import BoundedExecution
from pyagent_providers import ScriptedModel
from pyagent_router.middleware import RouterMiddleware

WEBHOOK_ANSWER = "Webhook failures after an update are often caused by: 1) SSL changes..."
GDPR_ANSWER = "We take GDPR requests seriously. Here's the process: 1) Submit a request..."


def build_seed_system(fast_llm: ScriptedModel, smart_llm: ScriptedModel) -> Any:
    # ── LLMs (the only change: the seed constructs OpenAILLM / AnthropicLLM here) ──
    model_registry = {
        "gpt-4o-mini": fast_llm,
        "claude-sonnet-4-20250514": smart_llm,
    }
    router = RouterMiddleware(model_registry=model_registry)
    input_guard = GuardrailChain([
        LengthGuard(max_chars=3_000, truncate=True),
        PIIGuard(redact=True),
    ])  # fmt: skip
    billing_bot = TalkerReasoner(
        talker=router.wrap(
            Agent("billing_fast", fast_llm, system_prompt="You are a billing support agent.")
        ),
        reasoner=router.wrap(
            Agent("billing_deep", smart_llm, system_prompt="You are a senior billing specialist.")
        ),
        handoff_threshold=5,
    )
    tech_bot = TalkerReasoner(
        talker=router.wrap(Agent("tech_fast", fast_llm, system_prompt="You are tech support.")),
        reasoner=router.wrap(Agent("tech_deep", smart_llm, system_prompt="Senior engineer.")),
        handoff_threshold=4,
    )
    account_bot = TalkerReasoner(
        talker=router.wrap(Agent("account_fast", fast_llm, system_prompt="Account support.")),
        reasoner=router.wrap(Agent("account_deep", smart_llm, system_prompt="Senior account.")),
        handoff_threshold=6,
    )
    tickets: list[str] = []

    def queue_human_review(output: str, metadata: dict[str, Any]) -> HumanDecision:
        ticket_id = "SUP-" + str(abs(hash(output[:200])))[-6:]
        tickets.append(ticket_id)
        return HumanDecision(
            approved=True,
            modified_output=(
                f"I've escalated your issue to our specialist team. "
                f"Ticket #{ticket_id} has been created. "
                f"You'll hear back within 2 business hours."
            ),
        )

    human_handler = HumanInTheLoop(
        agent=router.wrap(
            Agent("human_prep", fast_llm, system_prompt="Prepare a concise summary.")
        ),
        review_fn=queue_human_review,
        high_risk_keywords=["legal", "lawsuit", "fraud", "hacked", "emergency"],
    )
    classifier = Agent(
        "classifier",
        fast_llm,
        system_prompt=(
            "Classify customer support queries into exactly one category. "
            "Reply with ONLY the category name.\n"
            "Categories:\n"
            " billing — payments, invoices, refunds, subscriptions\n"
            " technical — bugs, errors, API, integrations, performance\n"
            " account — login, permissions, team, SSO, data requests\n"
            " escalate — angry customers, legal threats, complex edge cases, "
            " anything you're unsure about"
        ),
    )
    supervisor = Supervisor(
        classifier=classifier,
        routes={
            "billing": billing_bot,
            "technical": tech_bot,
            "account": account_bot,
            "escalate": human_handler,
        },
    )
    safe_supervisor = BoundedExecution(
        pattern=supervisor,
        fallback=Agent("fallback_agent", fast_llm, system_prompt="Apologise briefly."),
        max_retries=2,
        timeout_seconds=25.0,
    )

    async def handle_query(customer_query: str) -> dict[str, Any]:
        check = input_guard.check(customer_query)
        if not check.passed:
            return {"response": "I'm sorry, I couldn't process your message.", "blocked": True}
        safe_query = check.sanitized_content or customer_query
        result = await safe_supervisor.run(safe_query)
        return {
            "response": result.output,
            "category": result.metadata.get("route"),
            "model_used": result.metadata.get("routed_model", "unknown"),
            "recovery_level": result.metadata.get("recovery_level", 0),
            "escalated": result.metadata.get("route") == "escalate",
        }

    conversation_history: list[Message] = []

    async def chat(user_message: str) -> str:
        conversation_history.append(Message.user(user_message))
        result = await safe_supervisor.run(conversation_history)
        conversation_history.append(Message.assistant(result.output))
        return result.output

    return handle_query, chat, tickets, conversation_history


@pytest.fixture(autouse=True)
def _data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYAGENT_DATA_DIR", str(tmp_path))


async def test_the_seed_demo_runs_as_the_expected_output_shows() -> None:
    fast = ScriptedModel(
        [
            {"route": "billing", "confidence": 0.9},
            {"difficulty": 2, "reason": "common billing question"},
            "This can happen if two subscriptions are active simultaneously...",
            {"route": "technical", "confidence": 0.9},
            {"difficulty": 7, "reason": "webhook debugging"},
            {"route": "account", "confidence": 0.8},
            {"difficulty": 8, "reason": "GDPR erasure"},
            {"route": "escalate", "confidence": 0.95},
            "1. Customer threatens legal action. 2. Nothing tried. 3. Call back.",
        ],
        model="gpt-4o-mini",
    )
    smart = ScriptedModel([WEBHOOK_ANSWER, GDPR_ANSWER], model="claude-sonnet-4-20250514")
    handle_query, _, tickets, _ = build_seed_system(fast, smart)

    charged = await handle_query("Why was I charged twice this month?")
    assert charged["category"] == "billing" and charged["model_used"] == "test:gpt-4o-mini"
    assert charged["response"].startswith("This can happen")

    webhooks = await handle_query("My API webhooks stopped firing after the latest update")
    assert webhooks["category"] == "technical"
    assert webhooks["model_used"] == "test:claude-sonnet-4-20250514"
    assert webhooks["response"] == WEBHOOK_ANSWER

    gdpr = await handle_query("I need to delete all my data immediately under GDPR")
    assert (gdpr["category"], gdpr["response"]) == ("account", GDPR_ANSWER)

    lawyer = await handle_query("This is unacceptable, I'm calling my lawyer")
    assert lawyer["category"] == "escalate" and lawyer["escalated"] is True
    assert lawyer["model_used"] == "test:gpt-4o-mini"
    assert f"Ticket #{tickets[0]} has been created" in lawyer["response"]
    assert all(r["recovery_level"] == 0 for r in (charged, webhooks, gdpr, lawyer))
    assert not fast.script and not smart.script  # every scripted call was made, in order


async def test_pii_is_redacted_before_the_models_see_it() -> None:
    fast = ScriptedModel(
        [
            {"route": "billing", "confidence": 0.9},
            {"difficulty": 2, "reason": "simple"},
            "Refund issued.",
        ],
        model="gpt-4o-mini",
    )
    handle_query, _, _, _ = build_seed_system(fast, ScriptedModel(model="sonnet"))
    await handle_query("Refund jane.doe@example.com please, card 4111 1111 1111 1111")
    sent = " ".join(m.content for call in fast.calls for m in call.messages)
    assert "jane.doe@example.com" not in sent and "4111" not in sent
    assert "<EMAIL_ADDRESS_1>" in sent


async def test_the_seed_multi_turn_chat() -> None:
    fast = ScriptedModel(
        [
            {"route": "billing", "confidence": 0.9},
            {"difficulty": 2, "reason": "simple"},
            "Your invoice is under Settings → Billing.",
            {"route": "billing", "confidence": 0.9},
            {"difficulty": 3, "reason": "follow-up"},
            "Yes, the PDF has your VAT ID.",
        ],
        model="gpt-4o-mini",
    )
    _, chat, _, history = build_seed_system(fast, ScriptedModel(model="sonnet"))
    assert await chat("Where is my invoice?") == "Your invoice is under Settings → Billing."
    assert await chat("Does it show my VAT ID?") == "Yes, the PDF has your VAT ID."
    assert [m.role for m in history] == ["user", "assistant", "user", "assistant"]
    last_answer_request = fast.calls[-1]
    assert [m.content for m in last_answer_request.messages][:2] == [
        "Where is my invoice?",
        "Your invoice is under Settings → Billing.",
    ]


async def test_provider_failure_recovers_through_the_fallback() -> None:
    from pyagent_providers import ProviderHTTPError

    outage = [ProviderHTTPError("503", status_code=503) for _ in range(3)]
    fast = ScriptedModel([*outage, "Sorry, please try again."], model="gpt-4o-mini")
    handle_query, _, _, _ = build_seed_system(fast, ScriptedModel(model="sonnet"))
    result = await handle_query("Why was I charged twice?")
    assert result["recovery_level"] == 2
    assert result["response"] == "Sorry, please try again."
