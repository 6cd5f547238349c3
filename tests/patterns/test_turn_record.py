"""The typed turn record, and metadata as its read-only view under the seed's keys."""

from __future__ import annotations

import pytest

from pyagent_patterns import Agent, BoundedExecution, RecoveryLevel, TurnRecord
from pyagent_providers import FunctionModel, ProviderError, ScriptedModel


async def test_a_fallback_answer_is_recorded_as_such() -> None:
    failing = Agent("main", ScriptedModel([ProviderError("down", provider="test")] * 3))
    fallback = Agent("fallback", FunctionModel(lambda request: "a safe answer"))
    result = await BoundedExecution(failing, fallback, max_retries=0, backoff_seconds=0).run("hi")
    record = result.record
    assert record.recovery_level is RecoveryLevel.FALLBACK and record.agent == "fallback"
    assert record.errors == ("ProviderError",)
    assert result.metadata["recovery_level"] == 2  # the seed's view of the same record
    assert result.metadata["routed_model"] == record.model


async def test_metadata_is_a_read_only_view() -> None:
    result = await Agent("a", FunctionModel(lambda request: "ok")).run("hi")
    with pytest.raises(TypeError):
        result.metadata["route"] = "billing"  # type: ignore[index]
    changed = result.with_metadata(route="billing", routed_model="x:y", my_note=1)
    assert changed.record.route == "billing" and changed.record.model == "x:y"
    assert changed.record.notes == {"my_note": 1} and changed.metadata["my_note"] == 1
    assert result.record.route is None  # records are values: the original is unchanged


def test_levels_and_fields_are_typed() -> None:
    record = TurnRecord().updated(
        recovery_level=3, errors=["TimeoutError"], escalation_reasons=["legal"]
    )
    assert record.recovery_level is RecoveryLevel.HOLDING_NOTICE
    assert record.errors == ("TimeoutError",) and record.escalation_reasons == ("legal",)
