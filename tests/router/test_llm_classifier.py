from decimal import Decimal

import pytest

from pyagent_providers import (
    Example,
    FunctionModel,
    Message,
    ModelOutputError,
    ModelRequest,
    ModelResponse,
    ScriptedModel,
    Usage,
    UserError,
)
from pyagent_router import Classifier, LLMClassifier

LABELS = ["billing", "technical", "account"]
CONVERSATION = [Message.user("I was charged twice")]


async def test_one_structured_call_with_an_enum_of_exactly_the_labels() -> None:
    llm = ScriptedModel([{"label": "billing", "confidence": 0.9}])
    classifier = LLMClassifier(llm, LABELS, descriptions={"billing": "payments, refunds"})
    decision = await classifier.classify(
        [Message.system("ignored"), *CONVERSATION, Message.assistant("Sorry!")]
    )
    assert decision.label == decision.best == "billing"
    assert decision.confidence == 0.9 and not decision.abstained
    assert decision.classifier == "llm:test:scripted"
    assert decision.usage.input_tokens > 0 and decision.cost == Decimal(0)
    (request,) = llm.calls
    assert [m.role for m in request.messages] == ["user", "assistant"]
    assert request.output_schema is not None
    field = request.output_schema.json_schema["properties"]["label"]
    assert field["enum"] == LABELS
    assert "billing: payments, refunds" in field["description"]
    assert request.output_schema.json_schema["required"] == ["label", "confidence"]


async def test_examples_travel_under_the_schema_field_name() -> None:
    llm = ScriptedModel([{"category": "account", "confidence": 0.7}])
    examples = [
        Example(text="reset my password", labels={"category": "account", "priority": "low"}),
        Example(text="make coffee", labels={"category": "kitchen"}),  # not a label: dropped
        Example(text="no category", labels={"priority": "high"}),  # unlabelled: dropped
    ]
    classifier = LLMClassifier(llm, LABELS, examples=examples, label_key="category")
    decision = await classifier.classify(CONVERSATION)
    assert decision.label == "account"
    request = llm.calls[0]
    assert [(e.text, dict(e.labels)) for e in request.examples] == [
        ("reset my password", {"category": "account"})
    ]
    assert request.output_schema is not None
    assert "category" in request.output_schema.json_schema["properties"]


async def test_cost_comes_from_the_pricing_table() -> None:
    def answer(request: ModelRequest) -> ModelResponse:
        return ModelResponse(
            output={"label": "technical", "confidence": 0.8},
            usage=Usage(input_tokens=1_000, output_tokens=100),
            model="gpt-4o-mini",
            provider="openai",
        )

    decision = await LLMClassifier(FunctionModel(answer), LABELS).classify(CONVERSATION)
    # gpt-4o-mini: $0.15 per million input tokens, $0.60 per million output tokens
    assert decision.cost == Decimal("0.00015") + Decimal("0.00006")
    assert decision.classifier == "llm:openai:gpt-4o-mini"


async def test_a_label_outside_the_enum_is_a_model_output_error() -> None:
    classifier = LLMClassifier(ScriptedModel([{"label": "weather", "confidence": 0.9}]), LABELS)
    with pytest.raises(ModelOutputError) as caught:
        await classifier.classify(CONVERSATION)
    assert caught.value.field == "label"


async def test_an_unvalidated_label_outside_the_enum_is_still_rejected() -> None:
    unvalidated = ModelResponse(
        output={"label": "weather", "confidence": 0.9}, model="raw", provider="test"
    )
    classifier = LLMClassifier(ScriptedModel([unvalidated]), LABELS)
    with pytest.raises(ModelOutputError) as caught:
        await classifier.classify(CONVERSATION)
    assert caught.value.field == "label"


async def test_abstains_below_the_threshold_but_reports_the_best_label() -> None:
    llm = ScriptedModel(
        [{"label": "billing", "confidence": 0.4}, {"label": "billing", "confidence": 0.6}]
    )
    classifier = LLMClassifier(llm, LABELS, abstain_below=0.6)
    unsure = await classifier.classify(CONVERSATION)
    assert unsure.abstained and unsure.label is None
    assert unsure.best == "billing" and unsure.confidence == 0.4
    sure = await classifier.classify(CONVERSATION)
    assert sure.label == "billing"  # the threshold itself is confident enough


def test_is_a_classifier_with_its_labels() -> None:
    classifier = LLMClassifier(ScriptedModel(), tuple(LABELS))
    assert isinstance(classifier, Classifier)
    assert classifier.labels == tuple(LABELS)


@pytest.mark.parametrize(
    ("labels", "options", "message"),
    [
        ([], {}, "at least one label"),
        (["a", "a"], {}, "must not repeat"),
        (["a"], {"descriptions": {"b": "?"}}, "not classified"),
        (["a"], {"abstain_below": 1.5}, "abstain_below"),
    ],
)
def test_configuration_errors(labels: list[str], options: dict[str, object], message: str) -> None:
    with pytest.raises(UserError, match=message):
        LLMClassifier(ScriptedModel(), labels, **options)  # type: ignore[arg-type]
