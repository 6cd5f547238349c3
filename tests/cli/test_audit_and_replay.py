"""`pyagent audit`, `pyagent replay` and the queue's drafts and approvals, on one store.

The commands that run a turn build the recipe's chat handler; a small test recipe (no
models to load, only the PII guard) stands in for the cookbook's system.
"""

from __future__ import annotations

import asyncio
import importlib
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from pyagent_cli.main import main

JANE = "jane.doe@example.com"

# A recipe of its own: a scripted bot with a read-only lookup and a refund that needs a
# person's approval (the turn's confidence is unmeasured); a question with "unsure" in
# it gets confidence 0.5, so its answer waits as a draft. Every answer is numbered, so a
# replay's answer differs from the stored one.
SAFE_RECIPE = """
from typing import Literal

from pyagent_guardrails import GuardrailChain, PIIGuard, PlaceholderMap
from pyagent_patterns import Agent, tool
from pyagent_patterns.actions import DefaultToolPolicy
from pyagent_patterns.base import as_messages
from pyagent_patterns.chat import ChatHandler, SendPolicy, SQLiteConversationStore
from pyagent_providers import FunctionModel, ToolCall

Classification = Literal["auto", "local"]
ANSWERS = []
REFUNDS = []


@tool(read_only=True)
def lookup_customer(email: str) -> str:
    \"\"\"Find a customer's plan.

    Args:
        email: Their email address.
    \"\"\"
    return "plan pro"


@tool(grants={"refund"})
def issue_refund(order_id: str, idempotency_key: str) -> str:
    \"\"\"Refund an order.

    Args:
        order_id: The order.
    \"\"\"
    REFUNDS.append(order_id)
    return f"refunded {order_id}"


def answer(request):
    last = request.messages[-1]
    if last.role == "tool":
        return f"Done: {last.content}."
    if "refund" in last.content:
        return ToolCall(id="r", name="issue_refund", arguments={"order_id": "A-1"})
    if "email" in last.content:  # the raw address, as a model might write it
        return ToolCall(id="l", name="lookup_customer", arguments={"email": "jane.doe@example.com"})
    ANSWERS.append(last.content)
    return f"Answer {len(ANSWERS)}: see the help centre."


class Scored:
    def __init__(self, agent):
        self.agent = agent

    async def run(self, input, *, context=None):
        result = await self.agent.run(input, context=context)
        question = [m for m in as_messages(input) if m.role == "user"][-1].content
        return result.with_metadata(confidence=0.5 if "unsure" in question else 0.95)


def chat_handler(store=None, *, classification="auto", **options):
    conversations = SQLiteConversationStore(store)
    placeholders = PlaceholderMap(salt=conversations.secret())
    guard = GuardrailChain([PIIGuard(redact=True, placeholders=placeholders)])
    agent = Agent(
        "bot", FunctionModel(answer), tools=[lookup_customer, issue_refund]
    )
    return ChatHandler(
        Scored(agent),
        conversations,
        guard=guard,
        placeholders=placeholders,
        send_policy=SendPolicy(min_confidence=0.9),
        tool_policy=DefaultToolPolicy(min_confidence=0.9),
        **options,
    )


async def demo():
    print("safe recipe demo")
"""


@pytest.fixture
def recipe(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """The test recipe as a fresh importable module (its name: ``recipe.__name__``)."""
    name = f"safe_recipe_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{name}.py").write_text(SAFE_RECIPE, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    return importlib.import_module(name)


@pytest.fixture
def store(tmp_path: Path, recipe: ModuleType) -> Path:
    """Four conversations: a plain answer, a lookup by email, a held draft, an approval."""
    path = tmp_path / "conversations.sqlite3"
    handler = recipe.chat_handler(path)

    async def turns() -> None:
        await handler.reply("c0", "How do I reset my password?", "m1")
        await handler.reply("c1", f"My email is {JANE}, which plan am I on?", "m1")
        await handler.reply("c2", "I'm unsure how exports work", "m1")
        await handler.reply("c3", "Please refund order A-1", "m1")

    asyncio.run(turns())
    return path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    """What `pyagent ARGS` prints; it must succeed."""
    assert main(list(args)) == 0, capsys.readouterr().err
    return capsys.readouterr().out


def refused(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    """The one line `pyagent ARGS` says on stderr; it must exit 2."""
    assert main(list(args)) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    return err


def test_the_audit_lists_decisions_and_tool_calls_without_raw_pii(
    store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = run(capsys, "audit", "--conversation", "c1", "--json", "--store", str(store))
    events = json.loads(out)
    assert {e["kind"] for e in events} == {"decision", "tool_call", "reply"}
    (call,) = [e for e in events if e["kind"] == "tool_call"]
    assert call["data"]["tool"] == "lookup_customer" and call["data"]["outcome"] == "ok"
    assert call["data"]["arguments"]["email"].startswith("<EMAIL")  # a placeholder
    (decision,) = [e for e in events if e["kind"] == "decision"]
    assert decision["confidence"] == 0.95 and decision["data"]["tool_calls"] == ["lookup_customer"]
    text = run(capsys, "audit", "--store", str(store))
    assert "tool_call" in text and "tool=lookup_customer" in text and "conf 0.95" in text
    assert JANE not in out and JANE not in text and "jane.doe" not in out + text


def test_audit_filters_by_condition_kind_and_time(
    store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def audit(*args: str) -> list[dict[str, Any]]:
        return json.loads(run(capsys, "audit", "--json", "--store", str(store), *args))

    low = audit("--where", "confidence<0.9")
    assert {(e["conversation_id"], e["kind"]) for e in low} == {("c2", "decision"), ("c2", "reply")}
    held = audit("--where", "sent=false", "--kind", "reply")
    assert sorted(e["conversation_id"] for e in held) == ["c2"]
    asked = audit("--kind", "tool_call", "--where", "outcome=awaiting_approval")
    assert [(e["conversation_id"], e["data"]["tool"]) for e in asked] == [("c3", "issue_refund")]
    assert len(audit("--since", "1h", "--limit", "2")) == 2
    assert audit("--since", "2999-01-01") == []

    bad = refused(capsys, "audit", "--store", str(store), "--where", "confidence")
    assert "cannot read the condition 'confidence'" in bad
    assert "cannot read the time" in refused(capsys, "audit", "--since", "last week")
    missing = refused(capsys, "audit", "--store", str(store.with_name("nothing.sqlite3")))
    assert "no conversation store" in missing


def test_the_queue_shows_and_sends_a_held_draft(
    store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def queue(*args: str) -> str:
        return run(capsys, "queue", *args, "--store", str(store), "--agent", "dana")

    listed = queue("list")
    assert "draft waiting" in listed and "approval waiting" in listed
    kinds = {item["id"]: item["kind"] for item in json.loads(queue("list", "--json"))}
    assert kinds == {"c2": "draft", "c3": "approval"}
    shown = queue("show", "c2")
    assert "-- draft: Answer 2: see the help centre." in shown and "draft waiting" in shown
    assert "state bot" in queue("send", "c2")
    messages = json.loads(queue("show", "c2", "--json"))["messages"]
    assert (messages[-1]["author"], messages[-1]["content"]) == (
        "bot", "Answer 2: see the help centre.",
    )  # fmt: skip
    again = refused(capsys, "queue", "send", "c2", "--store", str(store))
    assert "has no draft" in again  # nothing waits any more
    assert json.loads(queue("list", "--json"))[0]["id"] == "c3"


def test_queue_approve_resumes_the_turn_with_the_recipes_system(
    store: Path, recipe: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    queue = ["--recipe", recipe.__name__, "queue"]
    nothing = refused(capsys, *queue, "approve", "c0", "--store", str(store))
    assert "no tool call awaiting approval" in nothing
    assert recipe.REFUNDS == []
    out = run(
        capsys, *queue, "approve", "c3", "--note", "order checked", "--agent", "dana",
        "--store", str(store),
    )  # fmt: skip
    assert "bot> Done: refunded A-1." in out and "state bot" in out
    assert recipe.REFUNDS == ["A-1"]
    actions = json.loads(
        run(capsys, "audit", "--json", "--kind", "human_action", "--store", str(store))
    )
    assert [(e["actor"], e["data"]["action"], e["data"]["note"]) for e in actions] == [
        ("dana", "approved", "order checked")
    ]


def test_replay_shows_then_beside_now_and_takes_a_case_id(
    store: Path, recipe: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    before = json.loads(run(capsys, "audit", "--json", "--store", str(store)))
    out = run(capsys, "--recipe", recipe.__name__, "replay", "c0", "--store", str(store))
    header = next(line for line in out.splitlines() if "THEN" in line)
    assert "NOW" in header and "dry run" in out
    reply = next(line for line in out.splitlines() if line.startswith("reply"))
    assert "Answer 1:" in reply and "Answer 3:" in reply  # then, now: side by side

    case = json.loads(run(capsys, "queue", "show", "c2", "--json", "--store", str(store)))["case"]
    replayed = json.loads(
        run(
            capsys,
            "--recipe",
            recipe.__name__,
            "replay",
            case["id"],
            "--json",
            "--store",
            str(store),
        )
    )
    assert (replayed["conversation_id"], replayed["message_id"]) == ("c2", "m1")
    assert replayed["then"]["held_because"] and replayed["then"]["confidence"] == 0.5
    assert replayed["now"]["held"] and replayed["now"]["reply"].startswith("Answer 4:")
    assert json.loads(run(capsys, "audit", "--json", "--store", str(store))) == before

    unknown = refused(
        capsys, "--recipe", recipe.__name__, "replay", "ESC-999999", "--store", str(store)
    )
    assert "no case 'ESC-999999'" in unknown


def test_demo_takes_the_recipe_after_the_command_too(
    recipe: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "demo", "--recipe", recipe.__name__) == "safe recipe demo\n"
    # the command's own --recipe wins over the global one
    out = run(capsys, "--recipe", "no_such_recipe.x", "demo", "--recipe", recipe.__name__)
    assert out == "safe recipe demo\n"
