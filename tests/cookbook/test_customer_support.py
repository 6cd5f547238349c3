"""The cookbook's support system, offline on LocalModel with real Presidio and SQLite."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest

from pyagent_cookbook.customer_support import (
    HANDOFF_THRESHOLD_ENV,
    HANDOFF_THRESHOLDS,
    MAX_MESSAGE_CHARS,
    SEED_000_TICKETS,
    SEED_QUERIES,
    Models,
    SupportSystem,
    choose_models,
    format_reply,
    handoff_thresholds,
)
from pyagent_cookbook.data import load_articles, load_examples, load_tickets
from pyagent_patterns import SQLiteEscalationQueue
from pyagent_providers import (
    AnthropicLLM,
    LocalModel,
    ModelRequest,
    ModelResponse,
    OpenAILLM,
    StreamEvent,
    UserError,
)


class Recording:
    """Delegates to a LocalModel and keeps every request it was sent."""

    def __init__(self, inner: LocalModel) -> None:
        self.inner = inner
        self.requests: list[ModelRequest] = []

    @property
    def model_id(self) -> str:
        return self.inner.model_id

    async def complete(self, request: ModelRequest) -> ModelResponse:
        self.requests.append(request)
        return await self.inner.complete(request)

    def stream(self, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        self.requests.append(request)
        return self.inner.stream(request)


@pytest.fixture(scope="module")
def local() -> Recording:
    return Recording(LocalModel(knowledge_base=load_articles(), examples=load_examples()))


@pytest.fixture
def system(local: Recording, tmp_path: Path) -> SupportSystem:
    models = Models(
        fast=local, smart=local, fast_name="gpt-4o-mini", smart_name="claude-sonnet-4-6",
        backend="local",
    )  # fmt: skip
    return SupportSystem(models, queue_path=tmp_path / "escalations.sqlite3")


def test_the_data_meets_the_recipe_contract() -> None:
    assert len(load_articles()) >= 40
    routes = [e.labels["route"] for e in load_examples()]
    for route in ("billing", "technical", "account", "general", "escalate"):
        assert routes.count(route) >= 10
    texts = {t["text"] for t in load_tickets()}
    assert "Can't access my account since the subscription renewed. Shows active but I get " \
        "'access denied'." in texts  # fmt: skip
    assert not texts & set(SEED_QUERIES)  # the demo queries are held out


async def test_the_seed_queries_route_as_the_seed_expects(system: SupportSystem) -> None:
    charged, webhooks, gdpr, lawyer = [await system.handle_query(q) for q in SEED_QUERIES]
    assert (charged.route, charged.tier, charged.online_model) == ("billing", "fast", "gpt-4o-mini")
    assert (webhooks.route, webhooks.tier) == ("technical", "smart")
    assert webhooks.online_model == "claude-sonnet-4-6"
    assert (gdpr.route, gdpr.tier) == ("account", "smart")
    assert (lawyer.route, lawyer.tier, lawyer.escalated) == ("escalate", "human", True)
    assert lawyer.ticket_id and lawyer.ticket_id in lawyer.response
    for reply in (charged, webhooks, gdpr):
        assert reply.model == "local:all-MiniLM-L6-v2" and reply.backend == "local"
        assert "Drafted offline by pyagent's local model from the help-centre article" in (
            reply.response
        )
    assert "Invoice history" in charged.response
    assert "Webhooks" in webhooks.response
    assert "Data requests" in gdpr.response
    assert all(r.recovery_level == 0 for r in (charged, webhooks, gdpr))
    # offline, cost is the online models' price for the local model's tokens: an estimate
    assert all(r.cost_estimated and Decimal(r.cost_usd) > 0 for r in (charged, webhooks, gdpr))
    assert Decimal(webhooks.cost_usd) > Decimal(charged.cost_usd)  # Sonnet answered it


async def test_escalations_are_queued_durably(system: SupportSystem, tmp_path: Path) -> None:
    reply = await system.handle_query("This is unacceptable, I'm calling my lawyer")
    stored = await SQLiteEscalationQueue(tmp_path / "escalations.sqlite3").get(str(reply.ticket_id))
    assert stored is not None and stored.status == "open"
    assert stored.conversation[0].content == "This is unacceptable, I'm calling my lawyer"
    assert stored.summary.startswith("1. Customer issue:")


async def test_seed_000_edge_cases(system: SupportSystem) -> None:
    edge = await system.handle_query(SEED_000_TICKETS["account_billing_edge"])
    assert (edge.category, edge.route) == ("account", "account")  # billing words, account problem
    outage = await system.handle_query(SEED_000_TICKETS["technical_api_outage"])
    assert (outage.route, outage.priority, outage.tier) == ("technical", "critical", "smart")
    feature = await system.handle_query(SEED_000_TICKETS["feature_request"])
    assert (feature.category, feature.assigned_team) == ("feature_request", "product")


async def test_personal_data_never_reaches_a_model(system: SupportSystem, local: Recording) -> None:
    local.requests.clear()
    reply = await system.handle_query(
        "Hi, I'm Sarah Connor (sarah.connor@example.com, +44 20 7946 0958). I was charged "
        "twice on card 4111 1111 1111 1111."
    )
    assert reply.pii_found and "<EMAIL_ADDRESS_1>" in reply.redacted_text
    sent = " ".join(
        text
        for request in local.requests
        for text in [request.system or "", *(m.content for m in request.messages)]
    )
    for raw in ("Sarah Connor", "sarah.connor@example.com", "7946 0958", "4111 1111"):
        assert raw not in sent and raw not in reply.response


async def test_bad_input_is_blocked_with_a_reason(system: SupportSystem) -> None:
    empty = await system.handle_query("   ")
    assert empty.blocked and "empty" in empty.response
    too_long = await system.handle_query("invoice " * 2_000)  # 16,000 characters
    assert too_long.blocked and "longer than 8000" in too_long.response


async def test_a_long_message_is_answered_whole_never_cut(system: SupportSystem) -> None:
    # The chat handler accepts 8,000 characters; the recipe's guard must not cut them short.
    text = "Our nightly export fails with a timeout. " * 150 + "the final words stay here."
    assert len(text) <= MAX_MESSAGE_CHARS
    reply = await system.handle_query(text)
    assert not reply.blocked and reply.redacted_text.endswith("the final words stay here.")


def test_demo_formatting_names_the_online_model(system: SupportSystem) -> None:
    from pyagent_cookbook.customer_support import SupportReply

    reply = SupportReply(
        response="Hello", route="billing", tier="fast", category="billing", priority="low",
        assigned_team="billing", sentiment="neutral", difficulty=2,
        model="local:all-MiniLM-L6-v2", online_model="gpt-4o-mini", recovery_level=0,
        escalated=False, ticket_id=None, escalation_reason=None, redacted_text="x",
        pii_found=False, blocked=False, backend="local", input_tokens=1, output_tokens=1,
        cost_usd="0", cost_estimated=True,
    )  # fmt: skip
    assert "local:all-MiniLM-L6-v2 (online: gpt-4o-mini)" in format_reply("q", reply)


def test_models_are_chosen_from_the_keys_present() -> None:
    both = choose_models({"OPENAI_API_KEY": "k", "ANTHROPIC_API_KEY": "k"})
    assert isinstance(both.fast, OpenAILLM) and isinstance(both.smart, AnthropicLLM)
    assert (both.fast_name, both.backend) == ("gpt-4o-mini", "openai+anthropic")
    only_openai = choose_models({"OPENAI_API_KEY": "k"})
    assert isinstance(only_openai.smart, OpenAILLM) and only_openai.smart_name == "gpt-4.1"
    only_anthropic = choose_models(
        {"ANTHROPIC_API_KEY": "k", "PYAGENT_SMART_MODEL": "claude-opus-4-5"}
    )
    assert isinstance(only_anthropic.fast, AnthropicLLM)
    assert only_anthropic.smart_name == "claude-opus-4-5"
    assert isinstance(choose_models({}).fast, LocalModel)


async def test_local_classification_routes_alike_and_only_answers_cost(
    local: Recording, tmp_path: Path
) -> None:
    models = Models(
        fast=local, smart=local, fast_name="gpt-4o-mini", smart_name="claude-sonnet-4-6",
        backend="local",
    )  # fmt: skip
    system = SupportSystem(
        models, queue_path=tmp_path / "escalations.sqlite3", classification="local"
    )
    charged, webhooks, gdpr, lawyer = [await system.handle_query(q) for q in SEED_QUERIES]
    assert [r.route for r in (charged, webhooks, gdpr, lawyer)] == [
        "billing", "technical", "account", "escalate"
    ]  # fmt: skip
    assert lawyer.escalated
    for reply in (charged, webhooks, gdpr):  # the tier follows the bot's threshold
        hard = reply.difficulty is not None and reply.difficulty >= HANDOFF_THRESHOLDS[reply.route]
        assert reply.tier == ("smart" if hard else "fast")
    agents = {record.agent for record in await system.tracker.records()}
    bots = {
        f"{r.route}_{'deep' if r.tier == 'smart' else 'fast'}" for r in (charged, webhooks, gdpr)
    }
    assert agents == bots | {"human_prep"}  # no triage, classification or difficulty calls
    assert Decimal(charged.cost_usd) < Decimal("0.0005")  # no few-shot classification calls


def test_classification_must_be_llm_or_local(local: Recording) -> None:
    models = Models(
        fast=local, smart=local, fast_name="a", smart_name="b", backend="local"
    )  # fmt: skip
    with pytest.raises(UserError, match="classification"):
        SupportSystem(models, classification="regex")  # type: ignore[arg-type]


def test_one_handoff_threshold_from_the_environment_overrides_every_bots() -> None:
    assert HANDOFF_THRESHOLD_ENV == "PYAGENT_HANDOFF_THRESHOLD"
    assert handoff_thresholds({}) == HANDOFF_THRESHOLDS
    assert handoff_thresholds({HANDOFF_THRESHOLD_ENV: " "}) == HANDOFF_THRESHOLDS
    seven = handoff_thresholds({HANDOFF_THRESHOLD_ENV: " 7 "})
    assert seven == dict.fromkeys(HANDOFF_THRESHOLDS, 7)
    for bad in ("0", "11", "4.5", "high", "-3"):
        with pytest.raises(UserError, match=r"PYAGENT_HANDOFF_THRESHOLD must be .* 1 to 10"):
            handoff_thresholds({HANDOFF_THRESHOLD_ENV: bad})


async def test_the_systems_bots_and_routing_use_the_threshold_from_the_environment(
    local: Recording, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    models = Models(
        fast=local, smart=local, fast_name="gpt-4o-mini", smart_name="claude-sonnet-4-6",
        backend="local",
    )  # fmt: skip
    easy = "Where can I download last month's invoice?"

    def built() -> SupportSystem:
        return SupportSystem(models, queue_path=tmp_path / "q.sqlite3", classification="local")

    default = built()
    assert (await default.route(easy)).route == "fast"
    monkeypatch.setenv(HANDOFF_THRESHOLD_ENV, "1")  # everything is hard enough
    everything_smart = built()
    assert {bot.handoff_threshold for bot in everything_smart.bots.values()} == {1}
    assert (await everything_smart.route(easy)).route == "smart"
    reply = await everything_smart.handle_query(easy)
    assert reply.tier == "smart" and reply.route == "billing"
    monkeypatch.setenv(HANDOFF_THRESHOLD_ENV, "eleven")
    with pytest.raises(UserError, match="PYAGENT_HANDOFF_THRESHOLD"):
        built()
    ten = SupportSystem(models, handoff_threshold=10, classification="local")
    assert ten.handoff_thresholds["billing"] == 10
