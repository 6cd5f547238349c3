from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from pyagent_patterns import Agent, RunResult, TalkerReasoner
from pyagent_providers import Example, Message, ScriptedModel, UserError
from pyagent_router import (
    CombinedDifficultyEstimator,
    DifficultyEstimate,
    DifficultyEstimator,
    EmbeddingDifficultyEstimator,
    LLMDifficultyEstimator,
)


class FakeEmbedder:
    """Fixed unit vectors per text, so similarities and k-NN values are exact."""

    name = "fake"

    def __init__(self, vectors: Mapping[str, Sequence[float]]) -> None:
        self.vectors = vectors
        self.calls = 0

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        self.calls += 1
        return np.asarray([self.vectors[t] for t in texts], dtype=np.float32)


EMBEDDER = FakeEmbedder(
    {
        "refund": [1.0, 0.0],
        "crash": [0.6, 0.8],
        "outage": [0.0, 1.0],
        "charged twice": [1.0, 0.0],
        "unrelated": [-1.0, 0.0],
    }
)
EXAMPLES = [
    Example(text="refund", labels={"difficulty": 2}, title="Refund"),
    Example(text="crash", labels={"difficulty": 7}, title="Crash"),
    Example(text="outage", labels={"difficulty": 9}),
    Example(text="invoice", labels={"category": "billing"}),  # no difficulty: ignored
]


def embedding_estimator(k: int = 2) -> EmbeddingDifficultyEstimator:
    return EmbeddingDifficultyEstimator(EXAMPLES, embedder=EMBEDDER, k=k)


def _ridge_oracle(query: str, alpha: float = 1.0) -> int:
    """scikit-learn's ridge regression on the same vectors, as an independent check."""
    from sklearn.linear_model import Ridge

    labelled = [e for e in EXAMPLES if "difficulty" in e.labels]
    model = Ridge(alpha=alpha).fit(
        EMBEDDER.embed([e.text for e in labelled]), [e.labels["difficulty"] for e in labelled]
    )
    return min(max(round(float(model.predict(EMBEDDER.embed([query]))[0])), 1), 10)


async def test_ridge_regression_rates_and_the_nearest_examples_explain() -> None:
    estimate = await embedding_estimator().estimate([Message.user("charged twice")])
    assert estimate.difficulty == _ridge_oracle("charged twice")
    # nearest: refund (similarity 1.0) and crash (0.6): mean similarity 0.8
    assert estimate.confidence == pytest.approx(0.8)
    assert estimate.estimator == "embedding:fake"
    assert "Refund (2), Crash (7)" in estimate.reason
    assert estimate.cost == 0 and estimate.usage.input_tokens == 0


async def test_reason_names_k_when_neighbours_have_no_titles() -> None:
    estimate = await embedding_estimator(k=1).estimate([Message.user("unrelated")])
    # the least dissimilar example is "outage" (similarity 0); confidence clips at 0
    assert estimate.difficulty == _ridge_oracle("unrelated")
    assert estimate.confidence == 0.0
    assert "the 1 nearest examples" in estimate.reason


async def test_rates_the_last_user_message() -> None:
    conversation = [Message.user("outage"), Message.assistant("…"), Message.user("refund")]
    estimate = await embedding_estimator(k=1).estimate(conversation)
    assert estimate.difficulty == _ridge_oracle("refund") < _ridge_oracle("outage")


@pytest.mark.parametrize(
    ("examples", "message"),
    [
        ([Example(text="x", labels={"category": "billing"})], "difficulty label"),
        ([Example(text="x", labels={"difficulty": 11})], "1 to 10"),
        ([Example(text="x", labels={"difficulty": "hard"})], "1 to 10"),
    ],
)
def test_needs_integer_difficulty_labels(examples: list[Example], message: str) -> None:
    with pytest.raises(UserError, match=message):
        EmbeddingDifficultyEstimator(examples, embedder=EMBEDDER)


async def test_the_packaged_embedder_rates_support_tickets() -> None:
    examples = [
        Example(text="Where can I download last month's invoice?", labels={"difficulty": 2}),
        Example(text="How do I change my password?", labels={"difficulty": 1}),
        Example(
            text="Our SAML SSO breaks for users provisioned through SCIM after the IdP rotated "
            "its signing certificate, but only in the EU region.",
            labels={"difficulty": 9},
        ),
    ]
    estimator = EmbeddingDifficultyEstimator(examples, k=1)
    easy = await estimator.estimate([Message.user("where do I get my invoice as a PDF?")])
    hard = await estimator.estimate(
        [Message.user("SSO login fails for SCIM-provisioned users since the IdP cert rotation")]
    )
    assert easy.difficulty <= 3 and hard.difficulty - easy.difficulty >= 3
    assert easy.estimator == "embedding:all-MiniLM-L6-v2"


class Fixed:
    def __init__(self, estimate: DifficultyEstimate) -> None:
        self.result = estimate

    async def estimate(self, messages: Sequence[Message]) -> DifficultyEstimate:
        return self.result


async def test_combined_keeps_a_confident_primary_and_skips_the_llm() -> None:
    llm = ScriptedModel()
    combined = CombinedDifficultyEstimator(embedding_estimator(), LLMDifficultyEstimator(llm))
    estimate = await combined.estimate([Message.user("charged twice")])
    assert estimate.difficulty == _ridge_oracle("charged twice")
    assert estimate.estimator == "embedding:fake"
    assert llm.calls == []


async def test_combined_asks_the_secondary_when_the_primary_is_unsure() -> None:
    llm = ScriptedModel([{"difficulty": 8, "reason": "multi-system outage"}])
    combined = CombinedDifficultyEstimator(
        embedding_estimator(), LLMDifficultyEstimator(llm), min_confidence=0.9
    )
    estimate = await combined.estimate([Message.user("charged twice")])
    assert estimate.difficulty == 8
    assert estimate.estimator == "llm:test:scripted"
    assert (
        "multi-system outage" in estimate.reason and "embedding:fake was unsure" in estimate.reason
    )
    assert estimate.usage.input_tokens > 0 and len(llm.calls) == 1


async def test_combined_treats_no_confidence_as_unsure() -> None:
    combined = CombinedDifficultyEstimator(
        Fixed(DifficultyEstimate(difficulty=3, estimator="first")),
        Fixed(DifficultyEstimate(difficulty=7, estimator="second")),
        min_confidence=0.0,
    )
    estimate = await combined.estimate([Message.user("anything")])
    assert estimate.estimator == "second" and "no confidence" in estimate.reason


class Recorder:
    def __init__(self, name: str) -> None:
        self.name = name

    async def run(
        self, input: str | Sequence[Message], *, context: Mapping[str, Any] | None = None
    ) -> RunResult:
        return RunResult(output=f"{self.name} answered")


@pytest.mark.parametrize(
    "estimator",
    [
        embedding_estimator(),
        CombinedDifficultyEstimator(embedding_estimator(), Fixed(DifficultyEstimate(difficulty=1))),
    ],
)
async def test_new_estimators_plug_into_talker_reasoner(estimator: DifficultyEstimator) -> None:
    assert isinstance(estimator, DifficultyEstimator)
    bot = TalkerReasoner(
        talker=Agent("talker", ScriptedModel(["fast"])),
        reasoner=Recorder("reasoner"),
        handoff_threshold=4,
        estimator=estimator,
    )
    result = await bot.run("charged twice")
    assert result.output == "reasoner answered"
    assert result.metadata["tier"] == "smart" and result.metadata["difficulty"] == 4
