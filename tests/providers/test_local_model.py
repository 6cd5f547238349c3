"""LocalModel with the real packaged MiniLM embedder."""

from __future__ import annotations

from enum import StrEnum

import pydantic
import pytest

from pyagent_providers import (
    Article,
    Example,
    LocalModel,
    Message,
    ModelRequest,
    StreamEnd,
    TextDelta,
    ToolSpec,
)

ARTICLES = [
    Article(
        id="kb-1",
        title="Downloading invoices",
        summary="Invoices are under Settings → Billing → Invoice history.",
        steps=("Open Settings → Billing.", "Choose Invoice history.", "Click Download PDF."),
        tags=("invoice", "billing"),
    ),
    Article(
        id="kb-2",
        title="Resetting your password",
        summary="Use the Forgot password link on the sign-in page.",
        steps=("Click Forgot password.", "Check your email for the reset link."),
        tags=("password", "login"),
    ),
]
EXAMPLES = [
    Example(text="Where can I find my invoice?", labels={"team": "billing", "difficulty": 2}),
    Example(text="I was billed twice for March", labels={"team": "billing", "difficulty": 4}),
    Example(
        text="The API returns 500 for every call", labels={"team": "engineering", "difficulty": 8}
    ),
    Example(text="Webhooks stopped arriving", labels={"team": "engineering", "difficulty": 7}),
]


class Team(StrEnum):
    billing = "billing"
    engineering = "engineering"


class Triage(pydantic.BaseModel):
    team: Team
    difficulty: int = pydantic.Field(ge=1, le=10)
    confidence: float = pydantic.Field(ge=0, le=1)


@pytest.fixture(scope="module")
def model() -> LocalModel:
    return LocalModel(knowledge_base=ARTICLES, examples=EXAMPLES)


async def test_enum_by_nearest_examples_and_integer_by_knn(model: LocalModel) -> None:
    response = await model.complete(
        ModelRequest.of("my API calls all fail with 500", output=Triage)
    )
    assert response.output.team == Team.engineering
    assert response.output.difficulty >= 6
    assert 0.5 < response.output.confidence <= 1
    assert response.provider == "local" and response.model_id == "local:all-MiniLM-L6-v2"
    invoice = await model.complete(
        ModelRequest.of("how do I get last month's invoice", output=Triage)
    )
    assert invoice.output.team == Team.billing and invoice.output.difficulty <= 4


async def test_request_examples_take_precedence(model: LocalModel) -> None:
    flipped = [
        Example(text="Where can I find my invoice?", labels={"team": "engineering"}),
        Example(text="The API returns 500 for every call", labels={"team": "billing"}),
    ]
    request = ModelRequest.of("where is my invoice", output=Triage, examples=flipped)
    assert (await model.complete(request)).output.team == Team.engineering


async def test_zero_shot_from_label_descriptions() -> None:
    schema = {
        "title": "route",
        "type": "object",
        "properties": {
            "route": {
                "type": "string",
                "enum": ["billing", "technical"],
                "description": "billing: payments, invoices, refunds\ntechnical: bugs, errors, API",
            }
        },
        "required": ["route"],
    }
    bare = LocalModel()
    refund = await bare.complete(ModelRequest.of("I want my money back", output=schema))
    crash = await bare.complete(ModelRequest.of("the app crashes with an error", output=schema))
    assert (refund.output["route"], crash.output["route"]) == ("billing", "technical")


async def test_free_text_is_grounded_in_the_best_article_and_says_it_is_local(
    model: LocalModel,
) -> None:
    response = await model.complete(ModelRequest.of("I forgot my password and can't sign in"))
    assert "Forgot password" in response.text
    assert response.text.endswith(
        "(Drafted offline by pyagent's local model from the help-centre article "
        "“Resetting your password”.)"
    )
    assert response.usage.output_tokens > 0


async def test_brevity_and_summary_instructions(model: LocalModel) -> None:
    brief = await model.complete(
        ModelRequest.of("where is my invoice", system="Be concise — 2-3 sentences max.")
    )
    assert "2. Choose Invoice history." in brief.text and "3." not in brief.text
    summary = await model.complete(
        ModelRequest.of(
            "I was billed twice. I already tried clearing my card. Please refund me.",
            system="Prepare a concise summary for the human support agent.",
        )
    )
    assert summary.text.splitlines()[:2] == [
        "1. Customer issue: I was billed twice.",
        "2. Already tried: I already tried clearing my card.",
    ]


async def test_no_matching_article_is_said_plainly() -> None:
    response = await LocalModel(knowledge_base=ARTICLES).complete(
        ModelRequest.of("Do you sponsor chess tournaments in Oslo?")
    )
    assert "couldn't find a help-centre article" in response.text


async def test_tools_are_called_then_the_result_is_used(model: LocalModel) -> None:
    search = ToolSpec(
        name="search_kb",
        description="Search the knowledge base for help articles",
        parameters={
            "type": "object",
            "properties": {"query": {"type": "string"}},
            "required": ["query"],
        },
    )
    first = await model.complete(ModelRequest.of("how do I reset my password", tools=[search]))
    (call,) = first.tool_calls
    assert call.name == "search_kb" and call.arguments == {"query": "how do I reset my password"}
    conversation = [
        Message.user("how do I reset my password"),
        first.to_message(),
        Message.tool("Article: use Forgot password.", tool_call_id=call.id),
    ]
    second = await model.complete(ModelRequest.of(conversation, tools=[search]))
    assert not second.tool_calls and "Article: use Forgot password." in second.text


async def test_streaming(model: LocalModel) -> None:
    events = [e async for e in model.stream(ModelRequest.of("where is my invoice"))]
    text = "".join(e.text for e in events if isinstance(e, TextDelta))
    assert isinstance(events[-1], StreamEnd) and events[-1].response.text == text
