"""The recipe's triage: one record per message, the label policy, the cascade, the cache."""

import pickle
from pathlib import Path

import pytest

from pyagent_cookbook.customer_support import SupportSystem, choose_models
from pyagent_cookbook.triage import Triager, cache_dir, default_triager
from pyagent_router.escalation import EscalationReason


@pytest.fixture(scope="module")
def triager() -> Triager:
    return default_triager()


def test_a_legal_threat_goes_to_a_person_with_its_reason(triager: Triager) -> None:
    result = triager.triage_sync("This is unacceptable, I'm calling my lawyer")
    assert result.tier == "human" and result.escalation_reasons[0] == "legal"
    assert result.priority in ("high", "critical")  # LABELS.md: legal threats are high


def test_gdpr_erasure_stays_with_the_account_bot_on_the_smart_tier(triager: Triager) -> None:
    result = triager.triage_sync("I need to delete all my data immediately under GDPR")
    assert (result.tier, result.category) == ("smart", "account")
    assert not result.escalation.escalate


def test_team_follows_category_and_difficulty(triager: Triager) -> None:
    how_to = triager.triage_sync("how do i export a project to csv?")
    assert how_to.tier == "fast" and 1 <= how_to.difficulty <= 3
    assert how_to.assigned_team == "support"
    feature = triager.triage_sync("Please add a dark mode, the white background hurts my eyes")
    assert (feature.category, feature.assigned_team, feature.priority) == (
        "feature_request", "product", "low",
    )  # fmt: skip


def test_abuse_makes_the_sentiment_angry(triager: Triager) -> None:
    result = triager.triage_sync("you are useless idiots, fix my invoice")
    assert EscalationReason.abuse in result.escalation.reasons and result.sentiment == "angry"


async def test_llm_classification_asks_the_model_with_the_nearest_examples(
    tmp_path: Path,
) -> None:
    system = SupportSystem(
        choose_models({}), classification="llm", queue_path=tmp_path / "q.sqlite3"
    )
    decision = await system.route("Where do I find last month's invoice?")
    assert {decision.decided_by[s] for s in ("category", "priority", "sentiment")} == {"llm"}
    # one call carrying 8 labelled tickets, priced as gpt-4o-mini (an estimate offline)
    assert 0 < decision.input_tokens < 2_000 and decision.cost_estimated


async def test_local_classification_spends_nothing(tmp_path: Path) -> None:
    system = SupportSystem(
        choose_models({}), classification="local", queue_path=tmp_path / "q.sqlite3"
    )
    decision = await system.route("Where do I find last month's invoice?")
    assert set(decision.decided_by.values()) <= {"local", "policy"}
    assert decision.input_tokens == 0 and decision.cost_usd == "0"


async def test_a_crisis_gets_help_now_never_an_article(tmp_path: Path) -> None:
    system = SupportSystem(choose_models({}), queue_path=tmp_path / "q.sqlite3")
    reply = await system.handle_query(
        "please close my account. honestly i don't see the point of going on anymore"
    )
    assert reply.escalated and reply.tier == "human"
    assert "988" in reply.response and "help-centre article" not in reply.response
    assert "self_harm" in (reply.escalation_reason or "")


def test_the_fitted_triager_is_cached_and_loads_identically(triager: Triager) -> None:
    cached = list(cache_dir().glob("triager-*.pickle"))
    assert cached, "default_triager saves its fit"
    loaded = pickle.loads(cached[0].read_bytes())
    text = "Our webhooks stopped firing after the update, we see 500s"
    assert loaded.triage_sync(text) == triager.triage_sync(text)
