"""`pyagent route` and `pyagent cost-profile`, offline on the local model."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from pyagent_cli.main import main

ROUTE_KEYS = {
    "category", "priority", "assigned_team", "sentiment", "difficulty", "route", "model",
    "redacted_text", "pii_found", "escalation_reason", "backend",
}  # fmt: skip


def _jsonl(path: Path, *lines: object) -> Path:
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n", encoding="utf-8")
    return path


def test_route_one_message_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["route", "--json", "My API webhooks stopped firing after the latest update"]) == 0
    decision = json.loads(capsys.readouterr().out)
    assert ROUTE_KEYS <= set(decision)
    assert decision["route"] == "smart" and decision["category"] == "technical"
    assert decision["model"] == "local:all-MiniLM-L6-v2" and decision["backend"] == "local"
    assert decision["online_model"] == "claude-sonnet-4-6"
    assert 1 <= decision["difficulty"] <= 10


def test_route_a_file_redacts_escalates_and_reports_refusals(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    traffic = _jsonl(
        tmp_path / "traffic.jsonl",
        {"id": "a", "text": "Where can I download my invoice? I'm jane.doe@example.com"},
        {"id": "b", "text": "This is fraud, my card was charged by someone else"},
        {"id": "c", "text": "   "},
    )
    assert main(["route", "--file", str(traffic), "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["id"] for line in lines] == ["a", "b", "c"]
    invoice, fraud, empty = lines
    assert invoice["route"] == "fast" and invoice["pii_found"]
    assert "<EMAIL_ADDRESS_1>" in invoice["redacted_text"]
    assert "jane.doe" not in json.dumps(lines)
    assert fraud["route"] == "human" and fraud["escalation_reasons"] == ["fraud"]
    assert fraud["escalation_reason"] == "fraud" and 1 <= fraud["difficulty"] <= 10
    assert "empty" in empty["error"]


def test_route_bad_input_exits_2_with_one_line_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["route", ""]) == 2
    assert "empty" in capsys.readouterr().err
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"id": 1, "text": "ok"}\n{"id": 2, "text": \n', encoding="utf-8")
    assert main(["route", "--file", str(broken)]) == 2
    err = capsys.readouterr().err
    assert "broken.jsonl:2: not valid JSON" in err and len(err.strip().splitlines()) == 1
    binary = tmp_path / "binary.jsonl"
    binary.write_bytes(b'{"text": "\xff"}\n')
    assert main(["route", "--file", str(binary)]) == 2
    assert "not valid UTF-8" in capsys.readouterr().err
    assert main(["route", "--file", str(tmp_path / "missing.jsonl")]) == 2
    assert main(["route"]) == 2


def test_cost_profile_json_follows_from_prices_and_tokens(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    traffic = _jsonl(
        tmp_path / "traffic.jsonl",
        {"id": "1", "text": "Where can I download last month's invoice?", "tier": "fast"},
        {"id": "2", "text": "Our webhooks return 401 since we rotated the secret", "tier": "smart"},
        {"id": "3", "text": "I'm calling my lawyer about these charges", "tier": "human"},
        {"id": "4", "text": ""},
    )
    chart = tmp_path / "profile.png"
    assert (
        main(["cost-profile", str(traffic), "--per-day", "500", "--json", "--chart", str(chart)])
        == 0
    )
    report = json.loads(capsys.readouterr().out)
    assert report["estimated"] and report["backend"] == "local"
    assert report["refused_by_guards"] == ["4"] and report["queries"] == 3
    assert chart.read_bytes().startswith(b"\x89PNG")

    month = Decimal(500 * 30)
    blended = Decimal(report["blended"]["mean_cost_usd"])
    rows = report["rows"]
    assert sum(row["count"] for row in rows) == 3
    for row in rows:  # each row's monthly figure is its mean cost x share x volume
        expected = Decimal(row["mean_cost_usd"]) * row["count"] / 3 * month
        assert abs(Decimal(row["monthly_cost_usd"]) - expected) < Decimal("0.0001")
    weighted = sum(Decimal(r["mean_cost_usd"]) * r["count"] for r in rows) / 3
    assert abs(weighted - blended) < Decimal("0.00000001")
    cheap = Decimal(report["always_cheap"]["mean_cost_usd"])
    expensive = Decimal(report["always_expensive"]["mean_cost_usd"])
    assert cheap <= blended < expensive
    assert report["always_expensive"]["model"] == "anthropic:claude-sonnet-4-6"
    assert report["labels"]["labelled"] == 3 and report["labels"]["hard"] == 2
    assert set(report["tier_shares"]) <= {"fast", "smart", "human"}


def test_cost_profile_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    traffic = _jsonl(tmp_path / "t.jsonl", {"id": "x", "text": "How do I add a seat?"})
    assert main(["cost-profile", str(traffic)]) == 0
    out = capsys.readouterr().out
    assert "Cost profile: 1 queries at 1000/day" in out
    assert "always anthropic:claude-sonnet-4-6" in out and "Estimate:" in out


def test_cost_profile_refuses_a_bad_volume(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    traffic = _jsonl(tmp_path / "t.jsonl", {"id": "x", "text": "hi"})
    assert main(["cost-profile", str(traffic), "--per-day", "0"]) == 2
    assert "per-day" in capsys.readouterr().err


def test_cost_profile_with_local_classification_prices_only_the_answers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    traffic = _jsonl(tmp_path / "t.jsonl", {"id": "x", "text": "Where is my invoice?"})
    assert main(["cost-profile", str(traffic), "--json", "--classification", "local"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["classification"] == "local"
    assert list(report["mean_cost_by_agent_usd"]) == ["billing_fast"]


def test_calibrate_reports_the_curve_and_the_threshold(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    traffic = _jsonl(
        tmp_path / "t.jsonl",
        {"text": "Where can I download my invoice?", "tier": "fast"},
        {"text": "How do I change my password?", "tier": "fast"},
        {
            "text": "SAML SSO fails for SCIM users since the IdP certificate rotated",
            "tier": "smart",
        },
        {"text": "I'm calling my lawyer", "tier": "human"},
    )
    args = ["calibrate", str(traffic), "--json", "--classification", "local"]
    assert main([*args, "--target-recall", "1.0"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["examples"] == 3 and report["hard"] == 1  # the human line is left out
    assert [point["threshold"] for point in report["curve"]] == list(range(1, 11))
    chosen = report["curve"][report["threshold"] - 1]
    assert chosen["hard_caught"] == 1.0
    assert report["curve"][report["threshold"]]["hard_caught"] == 0.0  # highest that catches it


def test_calibrate_without_hard_examples_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    traffic = _jsonl(tmp_path / "t.jsonl", {"text": "Where is my invoice?", "tier": "fast"})
    assert main(["calibrate", str(traffic), "--classification", "local"]) == 2
    assert capsys.readouterr().err.strip()
