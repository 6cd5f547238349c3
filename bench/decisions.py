"""The support system's decisions on the held-out ``test`` split (``pyagent eval``), JSON.

For local-only, cascade and LLM-only triage: accuracy per signal, escalation recall and
false escalations, the cascade's coverage and selective accuracy, and the decision cost
per 1,000 messages from the real prompt token counts times the price table. Offline the
cascade's "LLM" is `LocalModel` (its calls priced as gpt-4o-mini): the coverage and the
cost are real, the accuracy of the deferred decisions is the stand-in's, not GPT's.
The conversations are run turn by turn through the chat handler.

``--choose`` recomputes the cascade thresholds on the train split (out of fold) and
prints them, for `pyagent_cookbook.triage.CASCADE_THRESHOLDS`; test is only reported.

    python -m bench.decisions [--quick] [--choose]
"""

from __future__ import annotations

import argparse
import asyncio
from importlib import resources
from typing import Any

from pyagent_cookbook.customer_support import SupportSystem
from pyagent_cookbook.data import training_examples
from pyagent_cookbook.evaluation import evaluate_conversations, evaluate_tickets, read_labelled
from pyagent_cookbook.triage import CASCADE_THRESHOLDS, choose_cascade_thresholds


def _data(name: str) -> str:
    return str(resources.files("pyagent_cookbook").joinpath("data", name))


def _summary(report: dict[str, Any]) -> dict[str, Any]:
    escalation = report.get("escalation", {})
    return {
        "accuracy": {s: v["accuracy"] for s, v in report.get("signals", {}).items()},
        "escalation_recall": escalation.get("recall"),
        "false_escalation_rate": escalation.get("false_escalation_rate"),
        "recall_per_reason": {r: v["recall"] for r, v in escalation.get("per_reason", {}).items()},
        "fast_smart": report.get("tiers"),
        "pii": {k: report["pii"][k] for k in ("values", "left_in_text", "share_left")}
        if report.get("pii")
        else None,
        "cascade": report.get("cascade"),
        "cost": report.get("cost"),
        "latency_ms": report.get("latency_ms"),
    }


async def _run(quick: bool) -> dict[str, Any]:
    tickets = read_labelled(_data("tickets_test.jsonl"))
    conversations = read_labelled(_data("conversations_test.jsonl"))
    if quick:
        tickets, conversations = tickets[:20], conversations[:3]
    modes: dict[str, Any] = {}
    for mode in ("local", "cascade", "llm"):
        report = await evaluate_tickets(SupportSystem(classification=mode), tickets)
        modes[mode] = _summary(report.as_dict())
    chat = await evaluate_conversations(conversations, classification="local")
    return {
        "split": "test",
        "tickets": len(tickets),
        "conversations": len(conversations),
        "cascade_thresholds": dict(CASCADE_THRESHOLDS),
        "tickets_by_classification": modes,
        "conversations_local": _summary(chat.as_dict()),
    }


def main(argv: list[str]) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="bench.decisions")
    parser.add_argument("--quick", action="store_true", help="20 tickets, 3 conversations")
    parser.add_argument("--choose", action="store_true", help="recompute cascade thresholds")
    args, _ = parser.parse_known_args(argv)
    if args.choose:
        return {"chosen_on": "train", "thresholds": choose_cascade_thresholds(training_examples())}
    return asyncio.run(_run(args.quick))


if __name__ == "__main__":
    import json
    import sys

    print(json.dumps(main(sys.argv[1:]), indent=2, default=str))
