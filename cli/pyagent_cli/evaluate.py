"""``pyagent eval FILE``: the decisions against labelled tickets or conversations."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, TextIO

from pyagent_cookbook.evaluation import (
    EvalReport,
    evaluate_conversations,
    evaluate_tickets,
    read_labelled,
)

from .progress import progress
from .recipes import DEFAULT_RECIPE, load_recipe

__all__ = ["eval_command"]


async def eval_command(
    path: str,
    *,
    as_json: bool,
    classification: str = "auto",
    recipe: str = DEFAULT_RECIPE,
    baseline: str | None = None,
    out: TextIO | None = None,
) -> int:
    """Evaluate `recipe` on `path` (tickets or conversations, told apart by their rows).

    Returns:
        The exit code, 0.
    """
    stream: TextIO = out or sys.stdout
    rows = read_labelled(path)
    loaded = load_recipe(recipe, "eval")
    mode = loaded.classification(classification)
    if all("turns" in row for row in rows):
        report = await evaluate_conversations(
            rows, classification=mode, handler_factory=loaded.chat_handler, track=_bar
        )
    else:
        system = loaded.support_system(classification=mode)
        report = await evaluate_tickets(system, rows, track=_bar)
    stream.write(json.dumps(report.as_dict(), indent=2) if as_json else _text(report))
    stream.write("\n")
    return 0


def _bar(rows: Sequence[Mapping[str, Any]]) -> Iterator[Mapping[str, Any]]:
    return progress(rows, "eval")


def _text(report: EvalReport) -> str:
    lines = [f"{report.kind}: {report.items}"]
    for signal, scores in report.signals.items():
        lines.append(
            f"  {signal:<14} accuracy {scores['accuracy']}  macro-F1 {scores['macro_f1']}"
            f"  (n={scores['n']})"
        )
    esc: dict[str, Any] = report.escalation
    if esc:
        lines.append(
            f"  escalation     recall {esc['recall']}  precision {esc['precision']}  "
            f"false {esc['false_escalations']} ({esc['false_escalation_rate']})"
        )
        for reason, scores in esc["per_reason"].items():
            lines.append(f"    {reason:<24} {scores['caught']}/{scores['n']}")
    if report.tiers:
        lines.append(f"  fast/smart     {report.tiers}")
    if report.pii:
        lines.append(
            f"  PII            {report.pii['left_in_text']}/{report.pii['values']} values left "
            f"({report.pii['share_left']}), F2 {report.pii['f2']}"
        )
        for kind, scores in report.pii["per_type"].items():
            lines.append(
                f"    {kind:<16} recall {scores['recall']}  F2 {scores['f2']}  (n={scores['n']})"
            )
    if report.cascade:
        lines.append(f"  cascade        {report.cascade}")
    if report.cost:
        lines.append(f"  cost           {report.cost}")
    lines.append(f"  latency ms     {report.latency_ms}")
    for error in report.errors:
        lines.append(f"  refused {error['id']}: {error['error']}")
    return "\n".join(lines)
