import json
from collections.abc import Sequence

import pytest

from pyagent_patterns import Agent, Message, TalkerReasoner
from pyagent_providers import ScriptedModel, UserError, count_tokens
from pyagent_router import DifficultyEstimate


class Fixed:
    def __init__(self, difficulty: int) -> None:
        self.difficulty = difficulty

    async def estimate(self, messages: Sequence[Message]) -> DifficultyEstimate:
        return DifficultyEstimate(difficulty=self.difficulty, reason="fixed", estimator="fixed")


@pytest.mark.parametrize(
    ("difficulty", "tier"), [(1, "fast"), (4, "fast"), (5, "smart"), (9, "smart")]
)
async def test_threshold_decides_the_tier(difficulty: int, tier: str) -> None:
    talker = Agent("talker", ScriptedModel(["quick"], model="fast"))
    reasoner = Agent("reasoner", ScriptedModel(["deep"], model="smart"))
    pattern = TalkerReasoner(talker, reasoner, handoff_threshold=5, estimator=Fixed(difficulty))
    result = await pattern.run("question")
    assert result.output == ("quick" if tier == "fast" else "deep")
    assert result.metadata["tier"] == tier and result.metadata["difficulty"] == difficulty
    assert result.metadata["routed_model"] == f"test:{tier}"


async def test_default_estimator_is_a_structured_call_on_the_talkers_model() -> None:
    fast = ScriptedModel([{"difficulty": 7, "reason": "webhook debugging"}], model="fast")
    smart = ScriptedModel(["Let's debug step by step."], model="smart")
    pattern = TalkerReasoner(Agent("t", fast), Agent("r", smart), handoff_threshold=4)
    result = await pattern.run("My webhooks stopped firing")
    assert result.metadata["tier"] == "smart"
    assert result.metadata["difficulty_reason"] == "webhook debugging"
    rating = fast.calls[0].output_schema
    assert rating is not None and rating.json_schema["properties"]["difficulty"]["maximum"] == 10
    # usage and cost cover the rating call as well as the answer
    rating_tokens = count_tokens(
        json.dumps({"difficulty": 7, "reason": "webhook debugging"}), "test:x"
    )
    answer_tokens = count_tokens("Let's debug step by step.", "test:x")
    assert result.usage.output_tokens == rating_tokens + answer_tokens


async def test_out_of_range_difficulty_is_a_model_output_error() -> None:
    from pyagent_providers import ModelOutputError

    fast = ScriptedModel([{"difficulty": 42, "reason": "?"}])
    pattern = TalkerReasoner(Agent("t", fast), Agent("r", ScriptedModel()), handoff_threshold=4)
    with pytest.raises(ModelOutputError) as caught:
        await pattern.run("hello")
    assert caught.value.field == "difficulty"


def test_threshold_must_be_a_difficulty() -> None:
    with pytest.raises(UserError):
        TalkerReasoner(
            Agent("t", ScriptedModel()), Agent("r", ScriptedModel()), handoff_threshold=11
        )
