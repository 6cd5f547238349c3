from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import pytest

from pyagent_patterns import Agent, Message, RunResult, Supervisor
from pyagent_providers import (
    Example,
    ModelOutputError,
    NoRouteError,
    ScriptedModel,
    Usage,
    UserError,
)
from pyagent_router import Classification, LLMClassifier

PROMPT = """Classify customer support queries into exactly one category.
Categories:
  billing — payments, invoices, refunds, subscriptions
  technical — bugs, errors, API, integrations, performance
  escalate — angry customers, legal threats"""


class Recorder:
    def __init__(self, name: str) -> None:
        self.name = name
        self.contexts: list[Mapping[str, Any]] = []

    async def run(
        self, input: str | Sequence[Message], *, context: Mapping[str, Any] | None = None
    ) -> RunResult:
        self.contexts.append(dict(context or {}))
        return RunResult(output=f"{self.name} answered")


def supervisor(llm: ScriptedModel, **options: Any) -> tuple[Supervisor, dict[str, Recorder]]:
    routes = {name: Recorder(name) for name in ("billing", "technical", "escalate")}
    return Supervisor(
        classifier=Agent("classifier", llm, system_prompt=PROMPT), routes=routes, **options
    ), routes


async def test_routes_by_a_structured_enum() -> None:
    llm = ScriptedModel([{"route": "technical", "confidence": 0.9}])
    sup, routes = supervisor(llm)
    result = await sup.run("My API returns 500", context={"conversation_id": "c1"})
    assert result.output == "technical answered"
    assert result.metadata["route"] == "technical" and result.metadata["routed_by"] == "classifier"
    assert routes["technical"].contexts == [{"conversation_id": "c1", "route": "technical"}]
    schema = llm.calls[0].output_schema
    assert schema is not None
    route_field = schema.json_schema["properties"]["route"]
    assert route_field["enum"] == ["billing", "technical", "escalate"]
    # route descriptions are read from the classifier's prompt
    assert "billing: payments, invoices, refunds, subscriptions" in route_field["description"]


async def test_an_answer_outside_the_enum_is_rejected() -> None:
    sup, _ = supervisor(ScriptedModel([{"route": "weather", "confidence": 0.9}]))
    with pytest.raises(ModelOutputError) as caught:
        await sup.run("hello")
    assert caught.value.field == "route"


async def test_override_with_context_fields_by_name() -> None:
    def route_by_sla(query: str, customer_tier: str | None) -> str | None:
        if customer_tier == "enterprise":
            return "escalate"
        if "down" in query.lower():
            return "escalate"
        return None

    llm = ScriptedModel([{"route": "billing", "confidence": 0.8}])
    sup, _ = supervisor(llm, override=route_by_sla)
    enterprise = await sup.run("invoice?", context={"customer_tier": "enterprise"})
    assert (
        enterprise.metadata["route"] == "escalate"
        and enterprise.metadata["routed_by"] == "override"
    )
    assert llm.calls == []  # the override saved a classifier call
    normal = await sup.run("invoice?", context={"customer_tier": "pro"})
    assert normal.metadata["route"] == "billing"


async def test_low_confidence_takes_the_default_route() -> None:
    sup, _ = supervisor(
        ScriptedModel([{"route": "billing", "confidence": 0.2}]),
        default_route="escalate",
        min_confidence=0.5,
    )
    result = await sup.run("hmm")
    assert result.metadata["route"] == "escalate"
    assert result.metadata["routed_by"] == "low_confidence_default"


async def test_examples_with_route_labels_are_sent() -> None:
    llm = ScriptedModel([{"route": "billing", "confidence": 0.9}])
    examples = [
        Example(text="refund please", labels={"route": "billing"}),
        Example(text="unrelated", labels={"route": "sales"}),  # not a route: dropped
    ]
    sup, _ = supervisor(llm, examples=examples)
    await sup.run("charged twice")
    assert [e.text for e in llm.calls[0].examples] == ["refund please"]


def test_configuration_errors() -> None:
    with pytest.raises(Exception, match="default_route"):
        supervisor(ScriptedModel(), default_route="nowhere")


async def test_override_to_an_unknown_route_is_an_error() -> None:
    sup, _ = supervisor(ScriptedModel(), override=lambda query: "sales")
    with pytest.raises(NoRouteError):
        await sup.run("hi")


# --- any pyagent_router.Classifier ----------------------------------------------------

ROUTES = ("billing", "technical", "escalate")


class StubClassifier:
    def __init__(self, decision: Classification, labels: Sequence[str] = ROUTES) -> None:
        self.decision = decision
        self._labels = tuple(labels)
        self.seen: list[Sequence[Message]] = []

    @property
    def labels(self) -> Sequence[str]:
        return self._labels

    async def classify(self, messages: Sequence[Message]) -> Classification:
        self.seen.append(messages)
        return self.decision


def with_classifier(classifier: Any, **options: Any) -> tuple[Supervisor, dict[str, Recorder]]:
    routes = {name: Recorder(name) for name in ROUTES}
    return Supervisor(classifier=classifier, routes=routes, **options), routes


async def test_any_classifier_routes_and_is_named_in_the_metadata() -> None:
    stub = StubClassifier(
        Classification(
            label="technical",
            confidence=0.8,
            best="technical",
            classifier="embedding:all-MiniLM-L6-v2",
            usage=Usage(input_tokens=7, cost=Decimal("0.01")),
        )
    )
    sup, routes = with_classifier(stub)
    result = await sup.run("My API returns 500")
    assert result.output == "technical answered"
    assert result.metadata["route"] == "technical"
    assert result.metadata["route_confidence"] == 0.8
    assert result.metadata["routed_by"] == "classifier"
    assert result.metadata["classifier"] == "embedding:all-MiniLM-L6-v2"
    assert result.usage.input_tokens == 7 and result.cost == Decimal("0.01")
    assert [m.content for m in stub.seen[0]] == ["My API returns 500"]


async def test_an_llm_classifier_is_used_as_given() -> None:
    llm = ScriptedModel([{"route": "billing", "confidence": 0.9}])
    sup, _ = with_classifier(LLMClassifier(llm, ROUTES, label_key="route"))
    result = await sup.run("refund please")
    assert result.metadata["route"] == "billing"
    assert result.metadata["classifier"] == "llm:test:scripted"


async def test_an_agent_classifier_is_named_and_an_override_names_none() -> None:
    llm = ScriptedModel([{"route": "billing", "confidence": 0.9}])
    sup, _ = supervisor(llm, override=lambda query: "escalate" if "lawsuit" in query else None)
    assert (await sup.run("refund")).metadata["classifier"] == "llm:test:scripted"
    assert (await sup.run("a lawsuit")).metadata["classifier"] is None


ABSTAINED = Classification(label=None, confidence=0.3, best="billing", classifier="stub")


async def test_an_abstention_takes_the_default_route() -> None:
    sup, _ = with_classifier(StubClassifier(ABSTAINED), default_route="escalate")
    result = await sup.run("hmm")
    assert result.output == "escalate answered"
    assert result.metadata["routed_by"] == "low_confidence_default"
    assert result.metadata["classifier"] == "stub"
    assert result.metadata["route_confidence"] == 0.3


async def test_an_abstention_without_a_default_route_is_no_route() -> None:
    sup, routes = with_classifier(StubClassifier(ABSTAINED))
    with pytest.raises(NoRouteError, match="abstained.*'billing'.*default_route"):
        await sup.run("hmm")
    assert all(not r.contexts for r in routes.values())


async def test_a_classifier_label_that_is_not_a_route_is_no_route() -> None:
    wrong = Classification(label="sales", confidence=0.9, best="sales")
    sup, _ = with_classifier(StubClassifier(wrong))
    with pytest.raises(NoRouteError, match="sales"):
        await sup.run("hi")


def test_a_classifier_must_cover_exactly_the_routes() -> None:
    with pytest.raises(UserError, match="not the route names"):
        with_classifier(StubClassifier(ABSTAINED, labels=("billing", "technical")))
    with pytest.raises(UserError, match="give them to your Classifier"):
        with_classifier(
            StubClassifier(ABSTAINED), examples=[Example(text="x", labels={"route": "billing"})]
        )
