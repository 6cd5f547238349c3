"""`pyagent route` and `pyagent cost-profile`, offline on the local model."""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

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


SMART = {"tier": "smart"}


def test_calibrate_says_how_to_apply_the_threshold_and_the_recipe_takes_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    traffic = _jsonl(
        tmp_path / "t.jsonl",
        {"text": "Where can I download my invoice?", "tier": "fast"},
        {"text": "SAML SSO fails for SCIM users since the IdP certificate rotated"} | SMART,
    )
    args = ["calibrate", str(traffic), "--classification", "local", "--target-recall", "1.0"]
    assert main([*args, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    threshold = report["threshold"]
    assert report["environment"] == {"PYAGENT_HANDOFF_THRESHOLD": str(threshold)}
    assert main(args) == 0
    out = capsys.readouterr().out
    assert f"handoff_threshold = {threshold}" in out
    assert f"PYAGENT_HANDOFF_THRESHOLD={threshold}" in out and "1 to 10" in out

    invoice = ["route", "--json", "--classification", "local", "Where can I download my invoice?"]
    assert main(invoice) == 0
    assert json.loads(capsys.readouterr().out)["route"] == "fast"
    monkeypatch.setenv("PYAGENT_HANDOFF_THRESHOLD", "1")
    assert main(invoice) == 0
    assert json.loads(capsys.readouterr().out)["route"] == "smart"
    monkeypatch.setenv("PYAGENT_HANDOFF_THRESHOLD", "0")
    assert main(invoice) == 2
    err = capsys.readouterr().err
    assert "PYAGENT_HANDOFF_THRESHOLD must be a whole number from 1 to 10" in err
    assert len(err.strip().splitlines()) == 1


def test_calibrate_docstring_documents_the_variable() -> None:
    from pyagent_cli import calibrate

    assert "PYAGENT_HANDOFF_THRESHOLD" in (calibrate.__doc__ or "")


def test_calibrate_without_hard_examples_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    traffic = _jsonl(tmp_path / "t.jsonl", {"text": "Where is my invoice?", "tier": "fast"})
    assert main(["calibrate", str(traffic), "--classification", "local"]) == 2
    assert capsys.readouterr().err.strip()


# -- what a new user tripped on ------------------------------------------------------------


def _failing_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """Messages with "STUCK" time out (bots and fallback alike): the holding notice."""
    from pyagent_cookbook.customer_support import system as support_system
    from pyagent_patterns import BoundedExecution
    from pyagent_providers import Message, ProviderTimeoutError
    from pyagent_router.context import ContextArg

    class Stuck:
        def __init__(self, inner: Any) -> None:
            self.inner = inner

        async def run(self, input: Sequence[Message], *, context: ContextArg = None) -> Any:
            if any("STUCK" in message.content for message in input):
                raise ProviderTimeoutError("the model did not answer in time")
            return await self.inner.run(input, context=context)

    made_by_the_recipe = support_system._bounded  # pyright: ignore[reportPrivateUsage]

    def bounded(supervisor: Any, fast: Any) -> BoundedExecution:
        made = made_by_the_recipe(supervisor, fast)
        return BoundedExecution(
            Stuck(made.pattern), Stuck(made.fallback), max_retries=0, backoff_seconds=0
        )

    monkeypatch.setattr(support_system, "_bounded", bounded)
    original = support_system.SupportSystem.handle_query

    async def handle_query(self: Any, text: str, **options: Any) -> Any:
        if "BOOM" in text:
            raise RuntimeError("a bug")
        return await original(self, text, **options)

    monkeypatch.setattr(support_system.SupportSystem, "handle_query", handle_query)


def test_cost_profile_tells_failed_and_timed_out_messages_from_guard_refusals(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _failing_bounded(monkeypatch)
    traffic = _jsonl(
        tmp_path / "traffic.jsonl",
        {"id": "ok", "text": "Where can I download last month's invoice?"},
        {"id": "slow", "text": "STUCK: my invoice total looks wrong"},
        {"id": "bug", "text": "BOOM: how do I add a seat?"},
        {"id": "empty", "text": " "},
    )
    assert main(["cost-profile", str(traffic), "--json", "--classification", "local"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["refused_by_guards"] == ["empty"]
    failed = {item["id"]: item["reason"] for item in report["failed"]}
    assert set(failed) == {"slow", "bug"}
    assert "holding notice" in failed["slow"] and "RuntimeError" in failed["bug"]
    assert report["queries"] == 1  # only the answered message is priced
    assert sum(row["count"] for row in report["rows"]) == 1

    assert main(["cost-profile", str(traffic), "--classification", "local"]) == 0
    table = " ".join(capsys.readouterr().out.split())  # as one line, however rich wraps it
    assert "Refused by the guards (not priced): ['empty']" in table
    assert "Failed or timed out (not priced): slow (timed out or failed" in table
    assert "bug (error: RuntimeError)" in table


def test_cost_profile_with_nothing_priceable_says_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _failing_bounded(monkeypatch)
    traffic = _jsonl(tmp_path / "t.jsonl", {"id": "a", "text": "BOOM"}, {"id": "b", "text": ""})
    assert main(["cost-profile", str(traffic), "--classification", "local"]) == 2
    assert "1 refused by the guards, 1 failed or timed out" in capsys.readouterr().err


def _profile_with_rows(count: int) -> Any:
    from datetime import UTC, datetime

    from pyagent_providers import Usage
    from pyagent_router import CallRecord, ProfiledQuery, build_cost_profile

    def call(tokens: int) -> CallRecord:
        usage = Usage(input_tokens=tokens, output_tokens=tokens // 2, cost=Decimal("0.001"))
        return CallRecord(
            at=datetime.now(UTC), model="m", priced_as="openai:gpt-4o-mini", tier=None,
            agent="bot", route=None, conversation_id=None, query=None, usage=usage,
        )  # fmt: skip

    categories = [f"category_{n}" for n in range(count // 3 + 1)]
    tiers = ("fast", "smart", "human")
    queries = [
        ProfiledQuery(
            id=str(n), category=categories[n // 3], tier=tiers[n % 3], model="m", calls=(call(n),)
        )
        for n in range(count)
    ]
    return build_cost_profile(
        queries,
        per_day=1_000,
        cheap_model="openai:gpt-4o-mini",
        expensive_model="anthropic:claude-sonnet-4-6",
    )


@pytest.mark.parametrize("rows", [3, 12, 24])
def test_the_charts_type_labels_never_overlap(
    rows: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import matplotlib.pyplot as plt

    from pyagent_cli.cost_profile import save_chart

    figures: list[Any] = []
    close = plt.close
    monkeypatch.setattr(plt, "close", figures.append)  # keep the figure to measure it
    save_chart(_profile_with_rows(rows), str(tmp_path / "chart.png"))
    [figure] = figures
    try:
        renderer = figure.canvas.get_renderer()
        types = figure.axes[1]
        labels = [label for label in types.get_yticklabels() if label.get_text()]
        assert len(labels) == rows
        boxes = sorted((label.get_window_extent(renderer) for label in labels), key=lambda b: b.y0)
        for lower, upper in itertools.pairwise(boxes):
            assert lower.y1 <= upper.y0, "tick labels overlap"
        inside = figure.bbox
        assert all(inside.x0 <= b.x0 and b.x1 <= inside.x1 for b in boxes)  # not cut off
    finally:
        close(figure)
