"""``pyagent eval FILE``: the decisions against labelled tickets or conversations.

``--json`` writes the report with every item's decisions (``decisions``: ticket id, or
``<conversation id>#<turn index>``, → category, priority, team, sentiment, tier, bot,
escalation, state). ``--baseline PREVIOUS.json`` compares them with such an earlier
report of the same file, as a canary for decision drift (`pyagent_cookbook.canary`): the
text lists each changed item, field by field, before -> after; ``--json`` adds a
``changes`` object (``compared``, ``changed``, ``added``, ``removed`` counts, then
``items``, ``added_ids``, ``removed_ids``). Items in only one report are listed as added
or removed, not counted as changed. The exit code stays 0 (it is a report); a CI fails
the build on drift with e.g. ``jq -e '.changes.changed == 0' report.json``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, TextIO

from pyagent_cookbook.canary import Changes, compare_decisions, load_baseline
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

    With `baseline` (a previous ``--json`` report), also list the decisions that changed
    (see the module docstring); it is read before any model loads.

    Returns:
        The exit code, 0, changes or not (a CI checks ``changes.changed`` in the JSON).

    Raises:
        UserError: `path` or `baseline` is missing or malformed, or the baseline is a
            report of the other kind (tickets / conversations).
    """
    stream: TextIO = out or sys.stdout
    rows = read_labelled(path)
    conversations = all("turns" in row for row in rows)
    kind = "conversations" if conversations else "tickets"
    previous = load_baseline(baseline, kind=kind) if baseline is not None else None
    loaded = load_recipe(recipe, "eval")
    mode = loaded.classification(classification)
    if conversations:
        report = await evaluate_conversations(
            rows, classification=mode, handler_factory=loaded.chat_handler, track=_bar
        )
    else:
        system = loaded.support_system(classification=mode)
        report = await evaluate_tickets(system, rows, track=_bar)
    changes = compare_decisions(previous, report.decisions) if previous is not None else None
    if as_json:
        data = report.as_dict()
        if changes is not None:
            data["changes"] = {"baseline": baseline, **changes.as_dict()}
        stream.write(json.dumps(data, indent=2))
    else:
        stream.write(_text(report))
        if changes is not None:
            stream.write("\n" + _changes_text(changes, str(baseline)))
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


def _changes_text(changes: Changes, baseline: str) -> str:
    lines = [
        f"changes against {baseline}: {len(changes.changed)} of {changes.compared} items"
        f" changed, {len(changes.added)} added, {len(changes.removed)} removed"
    ]
    for item, fields in changes.changed.items():
        diff = "; ".join(f"{c.field} {_shown(c.before)} -> {_shown(c.after)}" for c in fields)
        lines.append(f"  {item}: {diff}")
    if changes.added:
        lines.append(f"  added (only in this run): {', '.join(changes.added)}")
    if changes.removed:
        lines.append(f"  removed (only in the baseline): {', '.join(changes.removed)}")
    return "\n".join(lines)


def _shown(value: object) -> str:
    if isinstance(value, tuple):
        return "[" + ", ".join(map(str, value)) + "]"  # pyright: ignore[reportUnknownArgumentType]
    return "-" if value is None else str(value)
