import json
from pathlib import Path

import pytest

from pyagent_cli.main import main


def _write(path: Path, *rows: dict[str, object]) -> Path:
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


LABELS = {
    "category": "billing", "priority": "low", "assigned_team": "billing",
    "sentiment": "neutral", "difficulty": 2,
}  # fmt: skip


def test_eval_tickets_reports_signals_escalation_and_pii(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tickets = _write(
        tmp_path / "t.jsonl",
        {
            "id": "1", "text": "Where do I download my invoice? I'm jane.doe@example.com",
            **LABELS, "route": "fast", "escalation_reason": [],
            "pii": [{"type": "EMAIL_ADDRESS", "value": "jane.doe@example.com"}],
        },
        {
            "id": "2", "text": "I'm calling my lawyer about these charges",
            **LABELS, "priority": "high", "route": "human", "escalation_reason": ["legal"],
            "pii": [],
        },
    )  # fmt: skip
    assert main(["eval", str(tickets), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["items"] == 2
    assert report["escalation"]["recall"] == 1.0 and report["escalation"]["false_escalations"] == 0
    assert report["escalation"]["per_reason"]["legal"]["caught"] == 1
    assert report["pii"]["share_left"] == 0.0
    assert report["pii"]["per_type"]["EMAIL_ADDRESS"]["f2"] == 1.0
    assert set(report["signals"]) == {"category", "priority", "assigned_team", "sentiment", "route"}
    assert report["signals"]["route"]["confusion"]["human"]["human"] == 1


def test_eval_conversations_runs_the_chat_handler_turn_by_turn(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    turns = [
        {"text": "hi, where can i find my invoices?", "route": "fast", "escalation_reason": []},
        {"text": "actually i want to talk to a real person", "route": "human",
         "escalation_reason": ["human_request"]},
        {"text": "ok is it sorted?", "route": "fast", "escalation_reason": []},
    ]  # fmt: skip
    conversations = _write(tmp_path / "c.jsonl", {"id": "c1", "turns": turns})
    assert main(["eval", str(conversations), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["kind"] == "conversations"
    assert report["escalation"]["recall"] == 1.0
    # after the person hands it back, "ok is it sorted?" is not escalated again
    assert report["escalation"]["false_escalations"] == 0


def test_eval_bad_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{not json\n", encoding="utf-8")
    assert main(["eval", str(bad)]) == 2
    assert "not JSON" in capsys.readouterr().err
