import math
from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt
import pytest

from pyagent_providers import Example, Message, UserError
from pyagent_router import Classifier, EmbeddingClassifier


class FakeEmbedder:
    """Fixed vectors per text (normalised here), so the geometry of each test is exact."""

    name = "fake"

    def __init__(self, vectors: Mapping[str, Sequence[float]]) -> None:
        self.vectors = vectors

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        rows = np.asarray([self.vectors[t] for t in texts], dtype=np.float32)
        return rows / np.linalg.norm(rows, axis=1, keepdims=True)


# three well-separated clusters of routes, plus queries on and between them
EMBEDDER = FakeEmbedder(
    {
        "reset password": [1.0, 0.1, 0.0],
        "change my email": [1.0, 0.0, 0.1],
        "update address": [1.0, 0.05, 0.05],
        "api returns 500": [0.1, 1.0, 0.0],
        "webhook times out": [0.0, 1.0, 0.1],
        "sso is broken": [0.05, 1.0, 0.05],
        "my lawyer will call": [0.1, 0.0, 1.0],
        "this is fraud": [0.0, 0.1, 1.0],
        "speak to a person": [0.05, 0.05, 1.0],
        "forgot my password": [1.0, 0.02, 0.02],
        "half account half bug": [1.0, 1.0, 0.0],
    }
)
EXAMPLES = [
    *(
        Example(text=t, labels={"route": "fast", "category": "account"})
        for t in ("reset password", "change my email", "update address")
    ),
    *(
        Example(text=t, labels={"route": "smart", "category": "technical"})
        for t in ("api returns 500", "webhook times out", "sso is broken")
    ),
    *(
        Example(text=t, labels={"route": "human"})
        for t in ("my lawyer will call", "this is fraud", "speak to a person")
    ),
]


def fake_classifier(abstain_below: float = 0.6) -> EmbeddingClassifier:
    return EmbeddingClassifier.fit(
        EXAMPLES, label_key="route", embedder=EMBEDDER, abstain_below=abstain_below
    )


async def test_injected_embedder_classifies_a_conversation_by_its_last_user_message() -> None:
    classifier = fake_classifier()
    assert isinstance(classifier, Classifier)
    assert list(classifier.labels) == ["fast", "human", "smart"]
    messages = [
        Message.user("api returns 500"),
        Message.assistant("Sorry to hear that."),
        Message.user("forgot my password"),
    ]
    result = await classifier.classify(messages)
    assert result.label == "fast"
    assert result.best == "fast"
    assert not result.abstained
    assert result.classifier == "embedding:fake"
    assert result.cost == 0
    assert result.usage.input_tokens == 0


async def test_abstains_below_threshold_but_reports_the_best_label() -> None:
    result = await fake_classifier(abstain_below=0.8).classify(
        [Message.user("half account half bug")]
    )
    assert result.abstained
    assert result.label is None
    assert result.best in {"fast", "smart"}
    assert result.confidence < 0.8
    assert result.confidence == max(result.probabilities.values())


def test_confidence_is_a_probability_and_probabilities_sum_to_one() -> None:
    texts = ["forgot my password", "half account half bug", "this is fraud"]
    results = fake_classifier().predict(texts)
    assert len(results) == len(texts)
    for result in results:
        assert 0.0 <= result.confidence <= 1.0
        assert set(result.probabilities) == {"fast", "human", "smart"}
        assert sum(result.probabilities.values()) == pytest.approx(1.0)
        assert result.probabilities[result.best] == result.confidence
    assert [r.label for r in results] == ["fast", None, "human"]


def test_label_key_chooses_which_label_is_learned() -> None:
    classifier = EmbeddingClassifier.fit(EXAMPLES, label_key="category", embedder=EMBEDDER)
    # the human-route examples carry no category, so they are not trained on
    assert list(classifier.labels) == ["account", "technical"]
    assert classifier.label_key == "category"
    assert classifier.predict(["sso is broken"])[0].best == "technical"


def test_predict_of_nothing_is_nothing() -> None:
    assert fake_classifier().predict([]) == []


@pytest.mark.parametrize(
    ("examples", "label_key", "message"),
    [
        ([], "route", "no training example has a 'route' label"),
        (EXAMPLES, "priority", "no training example has a 'priority' label"),
        (EXAMPLES[:3], "route", "at least two 'route' labels"),
        ([Example(text="x", labels={"route": 3})], "route", "must be non-empty strings"),
    ],
    ids=["empty", "missing-key", "one-label", "non-string-label"],
)
def test_bad_training_data_is_a_user_error(
    examples: list[Example], label_key: str, message: str
) -> None:
    with pytest.raises(UserError, match=message):
        EmbeddingClassifier.fit(examples, label_key=label_key, embedder=EMBEDDER)


def test_bad_settings_are_user_errors() -> None:
    with pytest.raises(UserError, match="abstain_below"):
        fake_classifier(abstain_below=1.5)
    with pytest.raises(UserError, match="descriptions name labels"):
        EmbeddingClassifier.fit(
            EXAMPLES, label_key="route", embedder=EMBEDDER, descriptions={"slow": "reset password"}
        )


async def test_a_conversation_without_user_text_is_a_user_error() -> None:
    with pytest.raises(UserError, match="no user message"):
        await fake_classifier().classify([Message.assistant("How can I help?")])


async def test_default_embedder_learns_support_categories_from_a_few_examples() -> None:
    training = {
        "billing": [
            "I was charged twice for my subscription this month",
            "Please send me a refund for the last invoice",
            "Why did my credit card get billed again?",
            "The invoice amount is wrong",
        ],
        "technical": [
            "The app crashes every time I open settings",
            "I get a 500 error when calling the API",
            "The page will not load, it just spins forever",
            "Sync stopped working after the last update",
        ],
        "account": [
            "I can't log in, I forgot my password",
            "How do I change the email address on my account?",
            "Please delete my account",
            "I want to add a second user to my profile",
        ],
    }
    examples = [
        Example(text=text, labels={"category": label})
        for label, texts in training.items()
        for text in texts
    ]
    classifier = EmbeddingClassifier.fit(examples, label_key="category", abstain_below=0.0)
    assert classifier.name == "embedding:all-MiniLM-L6-v2"
    queries = {
        "You billed my card two times, I need my money back": "billing",
        "The mobile app keeps crashing on startup": "technical",
        "How can I reset my password?": "account",
    }
    results = classifier.predict(list(queries))
    assert [r.label for r in results] == list(queries.values())
    single = await classifier.classify([Message.user("Refund the duplicate charge please")])
    assert single.label == "billing"


def test_nearest_neighbours_join_in_where_no_linear_boundary_exists() -> None:
    # Two labels on opposite sides of the circle each (XOR-like): no linear model separates
    # them, the neighbours do, and cross-validation gives them a share of the vote.

    points: dict[str, list[float]] = {}
    examples: list[Example] = []
    for label, centres in (("east_west", (0, 180)), ("north_south", (90, 270))):
        for centre in centres:
            for offset in (-6, -3, 0, 3, 6):
                angle = math.radians(centre + offset)
                text = f"{label} {centre} {offset}"
                points[text] = [math.cos(angle), math.sin(angle)]
                examples.append(Example(text=text, labels={"axis": label}))
    queries = {f"query {a}": [math.cos(math.radians(a)), math.sin(math.radians(a))]
               for a in (2, 178, 92, 268)}  # fmt: skip
    embedder = FakeEmbedder({**points, **queries})
    classifier = EmbeddingClassifier.fit(examples, label_key="axis", embedder=embedder)
    assert classifier.neighbour_share > 0
    predicted = [c.best for c in classifier.predict(list(queries))]
    assert predicted == ["east_west", "east_west", "north_south", "north_south"]


def test_a_lexical_share_blends_an_ngram_model() -> None:
    from pyagent_providers import Example
    from pyagent_router import EmbeddingClassifier

    examples = [
        Example(text=f"{word} problem number {i}", labels={"topic": topic})
        for i in range(6)
        for word, topic in (("factura", "billing"), ("invoice", "billing"), ("webhook", "tech"),
                            ("api", "tech"))
    ]  # fmt: skip
    plain = EmbeddingClassifier.fit(examples, label_key="topic", abstain_below=0)
    blended = EmbeddingClassifier.fit(
        examples, label_key="topic", abstain_below=0, lexical_share=0.5
    )
    assert blended.lexical_share == 0.5 and plain.lexical_share == 0.0
    rows = blended.probabilities(["factura problem"])
    assert abs(float(rows.sum()) - 1.0) < 1e-6 and blended.predict(["factura"])[0].best == "billing"
