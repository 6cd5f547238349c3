"""`pyagent eval --baseline`: yesterday's decisions against today's, item by item."""

import json
from pathlib import Path

import pytest

from pyagent_cli.main import main
from pyagent_cookbook.canary import ItemDecision, compare_decisions, load_baseline
from pyagent_providers import UserError
from tests.cli.test_eval import LABELS, _write


def _tickets(tmp_path: Path) -> Path:
    return _write(
        tmp_path / "t.jsonl",
        {"id": "a", "text": "Where do I download my invoice?", **LABELS, "route": "fast"},
        {"id": "b", "text": "I'm calling my lawyer about these charges", **LABELS,
         "route": "human", "escalation_reason": ["legal"]},
        {"id": "c", "text": "The app crashes when I open settings", **LABELS, "route": "fast"},
    )  # fmt: skip


def test_baseline_lists_the_changed_decision_and_the_items_in_one_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tickets = _tickets(tmp_path)
    assert main(["eval", str(tickets), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert list(report["decisions"]) == ["a", "b", "c"]
    assert "changes" not in report
    b = report["decisions"]["b"]
    assert b["tier"] == "human" and b["escalated"] and "legal" in b["escalation_reasons"]
    assert set(b) >= {"category", "priority", "assigned_team", "sentiment", "bot"}
    # yesterday: "a" went to another team, "c" was not in the file, "gone" was
    original_team = report["decisions"]["a"]["assigned_team"]
    report["decisions"]["a"]["assigned_team"] = "yesterday's team"
    report["decisions"]["gone"] = report["decisions"].pop("c")
    baseline = tmp_path / "previous.json"
    baseline.write_text(json.dumps(report), encoding="utf-8")

    assert main(["eval", str(tickets), "--json", "--baseline", str(baseline)]) == 0
    changes = json.loads(capsys.readouterr().out)["changes"]
    assert changes == {
        "baseline": str(baseline),
        "compared": 2,
        "changed": 1,
        "added": 1,
        "removed": 1,
        "items": {"a": {"assigned_team": {"before": "yesterday's team", "after": original_team}}},
        "added_ids": ["c"],
        "removed_ids": ["gone"],
    }

    assert main(["eval", str(tickets), "--baseline", str(baseline)]) == 0
    text = capsys.readouterr().out
    assert text.index("latency ms") < text.index("changes against")  # after the report
    assert (
        f"changes against {baseline}: 1 of 2 items changed, 1 added, 1 removed\n"
        f"  a: assigned_team yesterday's team -> {original_team}\n"
        "  added (only in this run): c\n"
        "  removed (only in the baseline): gone\n"
    ) in text


def test_conversation_turns_are_keyed_by_conversation_and_turn(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    turns = [{"text": "hi, where can i find my invoices?", "route": "fast"}] * 2
    conversations = _write(tmp_path / "c.jsonl", {"id": "c1", "turns": turns})
    assert main(["eval", str(conversations), "--json"]) == 0
    decisions = json.loads(capsys.readouterr().out)["decisions"]
    assert list(decisions) == ["c1#0", "c1#1"]
    assert decisions["c1#0"]["state"] == "bot" and decisions["c1#0"]["tier"] in ("fast", "smart")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "cannot read baseline"),
        ("{not json", "is not JSON"),
        ('{"kind": "tickets", "items": 3}', "has no decisions"),
        ('{"decisions": {"a": "fast"}}', "decision 'a': not an object"),
        ('{"kind": "conversations", "decisions": {}}', "is a conversations report"),
    ],
)
def test_a_malformed_baseline_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None, expected: str
) -> None:
    baseline = tmp_path / "previous.json"
    if content is not None:
        baseline.write_text(content, encoding="utf-8")
    assert main(["eval", str(_tickets(tmp_path)), "--baseline", str(baseline)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert len(captured.err.strip().splitlines()) == 1
    assert captured.err.startswith("pyagent eval: ") and expected in captured.err
    if content is not None and "kind" not in content:
        assert "pyagent eval --json" in captured.err  # says what a baseline is


def test_compare_decisions_field_by_field() -> None:
    fast = ItemDecision(tier="fast", bot="billing", category="billing", priority="low")
    before = {
        "same": fast,
        "moved": fast,
        "gone": fast,
    }
    after = {
        "new": fast,
        "same": fast,
        "moved": ItemDecision(
            tier="human",
            bot="billing",
            escalated=True,
            escalation_reasons=("legal",),
            category="billing",
            priority="high",
        ),
    }
    changes = compare_decisions(before, after)
    assert changes.compared == 2
    assert changes.added == ("new",) and changes.removed == ("gone",)
    assert list(changes.changed) == ["moved"]
    assert [(c.field, c.before, c.after) for c in changes.changed["moved"]] == [
        ("tier", "fast", "human"),
        ("escalated", False, True),
        ("escalation_reasons", (), ("legal",)),
        ("priority", "low", "high"),
    ]
    assert changes.as_dict()["items"]["moved"]["escalation_reasons"] == {
        "before": [],
        "after": ["legal"],
    }
    assert compare_decisions(after, after).as_dict()["changed"] == 0


def test_a_decision_survives_the_json_round_trip(tmp_path: Path) -> None:
    decision = ItemDecision(tier="human", escalated=True, escalation_reasons=("legal", "abuse"))
    saved = tmp_path / "report.json"
    saved.write_text(json.dumps({"decisions": {"x": decision.as_dict()}}), encoding="utf-8")
    assert load_baseline(saved) == {"x": decision}
    saved.write_text('{"decisions": {"x": {"escalation_reasons": "legal"}}}', encoding="utf-8")
    with pytest.raises(UserError, match="escalation_reasons"):
        load_baseline(saved)
