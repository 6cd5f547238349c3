"""`RunContext`: typed fields, the caller's deps, and the old dict form still accepted."""

from __future__ import annotations

from pyagent_router import RunContext


def test_a_mapping_becomes_fields_and_deps() -> None:
    context = RunContext.of({"conversation_id": "c1", "tier": "smart", "customer_tier": "gold"})
    assert context.conversation_id == "c1" and context.tier == "smart"
    assert context.deps == {"customer_tier": "gold"}
    assert context.get("customer_tier") == "gold" and context["conversation_id"] == "c1"
    assert dict(context) == {"conversation_id": "c1", "tier": "smart", "customer_tier": "gold"}


def test_changes_are_copies() -> None:
    base = RunContext(conversation_id="c1")
    routed = base.with_(route="billing").with_deps(plan="pro")
    assert (base.route, base.deps) == (None, {})
    assert routed.route == "billing" and routed.get("plan") == "pro"
    assert RunContext.of(routed) is routed and not RunContext.of(None)
