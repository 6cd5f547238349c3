import asyncio
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pyagent_patterns import Agent, HumanDecision, HumanInTheLoop, SQLiteEscalationQueue
from pyagent_providers import ScriptedModel


def hitl(
    tmp_path: Path, review: Any, keywords: tuple[str, ...] = ("legal", "lawsuit", "fraud")
) -> HumanInTheLoop:
    agent = Agent("human_prep", ScriptedModel(default="1. Customer threatens legal action."))
    return HumanInTheLoop(
        agent, review, keywords, queue=SQLiteEscalationQueue(tmp_path / "escalations.sqlite3")
    )


def approve(output: str, metadata: dict[str, Any]) -> HumanDecision:
    return HumanDecision(approved=True, modified_output=f"Escalated as {metadata['ticket_id']}.")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I will take LEGAL action", ["legal"]),
        ("This is fraud!", ["fraud"]),
        ("Ceci est une FRÄUD", ["fraud"]),  # accents folded
        ("fraudulent? no, paralegal stuff", []),  # whole words only
        ("a lawsuit and legal steps", ["lawsuit", "legal"]),
    ],
)
def test_keywords_match_whole_words_case_and_accent_insensitively(
    tmp_path: Path, text: str, expected: list[str]
) -> None:
    assert hitl(tmp_path, approve).matched_keywords(text) == expected


async def test_no_risk_means_the_agent_answers(tmp_path: Path) -> None:
    pattern = hitl(tmp_path, approve)
    result = await pattern.run("How do I change my card?")
    assert result.metadata["escalated"] is False
    assert (await pattern.queue.list()) == []


async def test_keyword_escalation_is_queued_and_reviewed(tmp_path: Path) -> None:
    pattern = hitl(tmp_path, approve)
    result = await pattern.run("I'm filing a lawsuit over this", context={"conversation_id": "c9"})
    ticket = result.metadata["ticket_id"]
    assert result.output == f"Escalated as {ticket}."
    assert result.metadata["escalated"] is True and result.metadata["priority"] == "high"
    (stored,) = await pattern.queue.list()
    assert stored.id == ticket and stored.reason == "keywords: lawsuit"
    assert stored.summary == "1. Customer threatens legal action."
    assert stored.conversation_id == "c9"
    assert stored.conversation[0].content == "I'm filing a lawsuit over this"


async def test_escalate_route_always_escalates_with_async_review(tmp_path: Path) -> None:
    async def review(output: str, metadata: dict[str, Any]) -> HumanDecision:
        return HumanDecision(approved=False)

    pattern = hitl(tmp_path, review)
    result = await pattern.run("This is unacceptable", context={"route": "escalate"})
    assert result.metadata["escalation_reason"] == "route: escalate"
    assert result.metadata["human_decision"] == "rejected"
    assert result.metadata["ticket_id"] in result.output  # the holding message


async def test_a_failing_review_keeps_the_case_and_answers_the_customer(tmp_path: Path) -> None:
    def broken(output: str, metadata: dict[str, Any]) -> HumanDecision:
        raise ConnectionError("Zendesk is down")

    pattern = hitl(tmp_path, broken)
    result = await pattern.run("fraud on my card")
    assert result.metadata["review_error"] == "ConnectionError"
    assert "reference is ESC-" in result.output
    assert len(await pattern.queue.list()) == 1


async def test_review_returning_the_wrong_type_is_treated_as_failure(tmp_path: Path) -> None:
    pattern = hitl(tmp_path, lambda output, metadata: "approved")
    result = await pattern.run("fraud")
    assert result.metadata["review_error"] == "TypeError"


async def test_the_queue_survives_a_new_process(tmp_path: Path) -> None:
    pattern = hitl(tmp_path, approve)
    result = await pattern.run("legal action is coming")
    ticket = result.metadata["ticket_id"]
    script = (
        "import asyncio, sys; from pyagent_patterns import SQLiteEscalationQueue\n"
        "async def main():\n"
        "    q = SQLiteEscalationQueue(sys.argv[1]); e = await q.get(sys.argv[2])\n"
        "    print(e.status, e.priority, e.conversation[0].content)\n"
        "    await q.set_status(e.id, 'claimed')\n"
        "asyncio.run(main())"
    )
    path = str(tmp_path / "escalations.sqlite3")
    out = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-c", script, path, ticket],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "open high legal action is coming"
    reopened = SQLiteEscalationQueue(path)
    assert (await reopened.get(ticket)).status == "claimed"  # type: ignore[union-attr]
    assert await reopened.list() == []  # no longer open
    assert [e.id for e in await reopened.list(status=None)] == [ticket]
