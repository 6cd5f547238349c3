"""`pyagent eval`: the support system's decisions measured against labelled data (LABELS.md).

Tickets (``{"id", "text", "category", ..., "route", "escalation_reason", "pii"}`` per line)
go through `SupportSystem.route` (guards, PII redaction, triage; nothing is answered).
Conversations (``{"id", "turns": [...]}``) go turn by turn through the recipe's
`ChatHandler` in a scratch directory; after a turn a person must take, the evaluation plays
that person and hands the conversation back, as the labels assume.

Reported: accuracy and macro-F1 per signal with confusion matrices, escalation recall and
precision overall and per reason, false escalations, PII recall per type and the share of
values left in the redacted text, the fast/smart confusion, the cascade's coverage and
selective accuracy, tokens and dollars spent on decisions (with the cost the previous
all-LLM triage would have had for the same messages), and latency. The report also keeps
every item's decisions (`ItemDecision`, keyed by the ticket's id or ``<conversation
id>#<turn index>``), which ``pyagent eval --baseline`` compares with a previous run's
(`pyagent_cookbook.canary`).
"""

from __future__ import annotations

import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from pyagent_patterns import ChatHandler, ChatReply
from pyagent_providers import Message, ModelRequest, Usage, UserError, count_message_tokens
from pyagent_providers.pricing import cost_of
from pyagent_router.escalation import reason_codes

from .canary import ItemDecision
from .customer_support import RoutingDecision, SupportSystem, chat_handler
from .data import load_examples
from .labelled import read_labelled

__all__ = ["EvalReport", "evaluate_conversations", "evaluate_tickets", "read_labelled"]

SIGNALS = ("category", "priority", "assigned_team", "sentiment", "route")
_PREVIOUS_CALLS = 3  # the previous LLM triage: signals, route and difficulty, one call each
_PREVIOUS_MODEL = "openai:gpt-4o-mini"


@dataclass(kw_only=True)
class EvalReport:
    """Everything `pyagent eval` measures, JSON-ready via `as_dict`.

    `decisions` holds each item's decisions by item id (a ticket's ``id``, else its
    position as ``item N``; a repeated id gets `` (item N)`` appended; a conversation
    turn is ``<conversation key>#<turn index>``).
    """

    kind: str
    items: int
    signals: dict[str, dict[str, Any]] = field(default_factory=dict[str, dict[str, Any]])
    escalation: dict[str, Any] = field(default_factory=dict[str, Any])
    pii: dict[str, Any] = field(default_factory=dict[str, Any])
    tiers: dict[str, Any] = field(default_factory=dict[str, Any])
    cascade: dict[str, Any] = field(default_factory=dict[str, Any])
    cost: dict[str, Any] = field(default_factory=dict[str, Any])
    latency_ms: dict[str, float] = field(default_factory=dict[str, float])
    errors: list[dict[str, str]] = field(default_factory=list[dict[str, str]])
    decisions: dict[str, ItemDecision] = field(default_factory=dict[str, ItemDecision])

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready; ``decisions`` always present (last), empty measures left out."""
        data = {
            k: v
            for k, v in vars(self).items()
            if k != "decisions" and (v or k in ("kind", "items"))
        }
        data["decisions"] = {item: d.as_dict() for item, d in self.decisions.items()}
        return data


Track = Callable[[Sequence[Mapping[str, Any]]], Iterable[Mapping[str, Any]]]


async def evaluate_tickets(
    system: SupportSystem, rows: Sequence[Mapping[str, Any]], *, track: Track = iter
) -> EvalReport:
    """Route every ticket and compare each decision with its labels.

    `track` wraps the rows as they are worked through (``pyagent eval`` draws a progress
    bar with it).
    """
    predictions: list[tuple[Mapping[str, Any], RoutingDecision]] = []
    latencies: list[float] = []
    errors: list[dict[str, str]] = []
    decisions: dict[str, ItemDecision] = {}
    keyed = [{**row, "id": key} for key, row in zip(_item_keys(rows), rows, strict=True)]
    for row in track(keyed):
        started = time.perf_counter()
        try:
            decision = await system.route(str(row["text"]))
        except UserError as error:
            errors.append({"id": row["id"], "error": str(error)})
            decisions[row["id"]] = ItemDecision(refused=True)
            continue
        latencies.append((time.perf_counter() - started) * 1000)
        predictions.append((row, decision))
        decisions[row["id"]] = _ticket_decision(decision)
    report = EvalReport(kind="tickets", items=len(rows), errors=errors, decisions=decisions)
    pairs = [(row, _predicted(decision)) for row, decision in predictions]
    report.signals = {s: _signal_scores(pairs, s) for s in SIGNALS if _labelled(rows, s)}
    report.escalation = _escalation_scores(
        [(row, decision.escalation_reasons) for row, decision in predictions]
    )
    report.pii = _pii_scores(predictions)
    report.tiers = _tier_confusion(pairs)
    report.cascade = _cascade_scores(predictions)
    report.cost = _decision_cost(system, predictions)
    report.latency_ms = _percentiles(latencies)
    return report


async def evaluate_conversations(
    rows: Sequence[Mapping[str, Any]],
    *,
    classification: str = "auto",
    handler_factory: Callable[..., ChatHandler] = chat_handler,
    track: Track = iter,
) -> EvalReport:
    """Run each conversation turn by turn through the recipe's `ChatHandler`.

    `handler_factory` builds it (the customer-support recipe's `chat_handler` by default;
    ``pyagent --recipe`` passes its recipe's), called as ``chat_handler`` is; `track`
    wraps the rows as they are worked through.
    """
    pairs: list[tuple[Mapping[str, Any], dict[str, Any]]] = []
    escalations: list[tuple[Mapping[str, Any], tuple[str, ...]]] = []
    latencies: list[float] = []
    decisions: dict[str, ItemDecision] = {}
    keyed = [{**row, "id": key} for key, row in zip(_item_keys(rows), rows, strict=True)]
    with tempfile.TemporaryDirectory(prefix="pyagent-eval-") as scratch:
        handler = handler_factory(
            Path(scratch) / "conversations.sqlite3",
            classification=classification,
            limits=None,
        )
        for conversation in track(keyed):
            key = conversation["id"]
            conversation_id = f"eval-{key}"
            for number, turn in enumerate(conversation["turns"]):
                started = time.perf_counter()
                reply = await handler.reply(
                    conversation_id, str(turn["text"]), message_id=f"m{number}"
                )
                latencies.append((time.perf_counter() - started) * 1000)
                predicted = {"route": reply.tier or "fast"}
                labelled = {**turn, "id": f"{key}#{number}"}
                pairs.append((labelled, predicted))
                decisions[labelled["id"]] = _turn_decision(reply)
                escalations.append((labelled, ("escalated",) if reply.escalated else ()))
                if reply.escalated:  # the person deals with it and hands the conversation back
                    await handler.claim(conversation_id, "eval-agent")
                    await handler.hand_back(conversation_id, "eval-agent")
    report = EvalReport(kind="conversations", items=len(rows), decisions=decisions)
    report.signals = {"route": _signal_scores(pairs, "route")}
    report.escalation = _escalation_scores(escalations)
    report.tiers = _tier_confusion(pairs)
    report.latency_ms = _percentiles(latencies)
    return report


def _item_keys(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """Each row's id, unique: ``item N`` (1-based) without one, ``ID (item N)`` repeated."""
    keys: list[str] = []
    seen: set[str] = set()
    for number, row in enumerate(rows, 1):
        given = row.get("id")
        key = f"item {number}" if given is None or given == "" else str(given)
        if key in seen:
            key = f"{key} (item {number})"
        seen.add(key)
        keys.append(key)
    return keys


def _ticket_decision(decision: RoutingDecision) -> ItemDecision:
    return ItemDecision(
        tier=decision.route,
        bot=decision.bot,
        escalated=bool(decision.escalation_reasons),
        escalation_reasons=tuple(decision.escalation_reasons),
        category=decision.category,
        priority=decision.priority,
        assigned_team=decision.assigned_team,
        sentiment=decision.sentiment,
    )


def _turn_decision(reply: ChatReply) -> ItemDecision:
    return ItemDecision(
        tier=reply.tier, bot=reply.route, escalated=reply.escalated, state=reply.state
    )


# -- metrics --------------------------------------------------------------------------


def _predicted(decision: RoutingDecision) -> dict[str, Any]:
    return {
        "category": decision.category,
        "priority": decision.priority,
        "assigned_team": decision.assigned_team,
        "sentiment": decision.sentiment,
        "route": decision.route,
    }


def _labelled(rows: Sequence[Mapping[str, Any]], signal: str) -> bool:
    return any(signal in row for row in rows)


def _signal_scores(
    pairs: Sequence[tuple[Mapping[str, Any], Mapping[str, Any]]], signal: str
) -> dict[str, Any]:
    """Accuracy, macro-F1 and the confusion matrix (gold → predicted → count)."""
    gold = [str(row[signal]) for row, _ in pairs if signal in row]
    predicted = [str(p[signal]) for row, p in pairs if signal in row]
    labels = sorted(set(gold) | set(predicted))
    confusion: dict[str, dict[str, int]] = {g: dict.fromkeys(labels, 0) for g in labels}
    for g, p in zip(gold, predicted, strict=True):
        confusion[g][p] += 1
    f1s: list[float] = []
    for label in labels:  # labels only ever predicted count too (as scikit-learn's macro-F1)
        tp = confusion[label][label]
        fp = sum(confusion[g][label] for g in labels) - tp
        fn = sum(confusion[label].values()) - tp
        f1s.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    correct = sum(g == p for g, p in zip(gold, predicted, strict=True))
    return {
        "n": len(gold),
        "accuracy": round(correct / len(gold), 3) if gold else None,
        "macro_f1": round(sum(f1s) / len(f1s), 3) if f1s else None,
        "confusion": confusion,
    }


def _escalation_scores(
    pairs: Sequence[tuple[Mapping[str, Any], Sequence[str]]],
) -> dict[str, Any]:
    """Recall overall and per reason, precision, and the false escalations by id."""
    needed = [(row, got) for row, got in pairs if reason_codes(row.get("escalation_reason"))]
    not_needed = [
        (row, got) for row, got in pairs if not reason_codes(row.get("escalation_reason"))
    ]
    caught = sum(1 for _, got in needed if got)
    false = [str(row.get("id", "")) for row, got in not_needed if got]
    missed = [str(row.get("id", "")) for row, got in needed if not got]
    per_reason: dict[str, dict[str, Any]] = defaultdict(lambda: {"n": 0, "caught": 0})
    for row, got in needed:
        for reason in reason_codes(row.get("escalation_reason")):
            per_reason[reason]["n"] += 1
            per_reason[reason]["caught"] += bool(got)
    for scores in per_reason.values():
        scores["recall"] = round(scores["caught"] / scores["n"], 3)
    flagged = caught + len(false)
    return {
        "needed": len(needed),
        "recall": round(caught / len(needed), 3) if needed else None,
        "precision": round(caught / flagged, 3) if flagged else None,
        "false_escalations": len(false),
        "false_escalation_rate": round(len(false) / len(not_needed), 3) if not_needed else None,
        "per_reason": dict(sorted(per_reason.items())),
        "missed_ids": missed,
        "false_ids": false,
    }


def _pii_scores(predictions: Sequence[tuple[Mapping[str, Any], RoutingDecision]]) -> dict[str, Any]:
    """Per type: values labelled and left readable, recall, and type-aware F2 of the spans.

    F2 weighs recall over precision (β = 2). A labelled value counts as found when a
    finding of its type overlaps one of its occurrences in the text; a finding that
    overlaps no labelled value of its type is a false positive (so a name redacted as a
    location is a miss and a false positive, as in ``bench/pii.py``).
    """
    total: Counter[str] = Counter()
    left: Counter[str] = Counter()
    counts: dict[str, Counter[str]] = {"tp": Counter(), "fp": Counter(), "fn": Counter()}
    for row, decision in predictions:
        text = str(row.get("text", ""))
        spans = row.get("pii", ())
        gold = [(span["type"], where) for span in spans for where in _spans(text, span)]
        for span in row.get("pii", ()):
            total[span["type"]] += 1
            left[span["type"]] += span["value"] in decision.redacted_text
        for kind, (start, end) in gold:
            hit = any(
                f.kind == kind and f.start < end and start < f.end for f in decision.pii_findings
            )
            counts["tp" if hit else "fn"][kind] += 1
        for finding in decision.pii_findings:
            if not any(
                kind == finding.kind and finding.start < end and start < finding.end
                for kind, (start, end) in gold
            ):
                counts["fp"][finding.kind] += 1
    if not total:
        return {}
    per_type = {
        kind: {
            "n": n,
            "left": left[kind],
            "recall": round(1 - left[kind] / n, 3),
            "f2": _f2(counts["tp"][kind], counts["fp"][kind], counts["fn"][kind]),
        }
        for kind, n in sorted(total.items())
    }
    return {
        "values": sum(total.values()),
        "left_in_text": sum(left.values()),
        "share_left": round(sum(left.values()) / sum(total.values()), 4),
        "f2": _f2(*(sum(counts[c].values()) for c in ("tp", "fp", "fn"))),
        "false_positives": dict(sorted(counts["fp"].items())),
        "per_type": per_type,
    }


def _spans(text: str, span: Mapping[str, Any]) -> list[tuple[int, int]]:
    """Every occurrence of a labelled value in the text."""
    value = str(span["value"])
    starts: list[int] = []
    at = text.find(value)
    while value and at >= 0:
        starts.append(at)
        at = text.find(value, at + len(value))
    return [(start, start + len(value)) for start in starts]


def _f2(tp: int, fp: int, fn: int) -> float | None:
    """F-beta with beta = 2 from counts (None when nothing was labelled or found)."""
    if not tp + fp + fn:
        return None
    return round(5 * tp / (5 * tp + 4 * fn + fp), 3)


def _tier_confusion(pairs: Sequence[tuple[Mapping[str, Any], Mapping[str, Any]]]) -> dict[str, Any]:
    """Fast/smart confusion on the messages that needed no person (and were not escalated)."""
    counts: Counter[str] = Counter()
    for row, predicted in pairs:
        gold, got = row.get("route"), predicted.get("route")
        if gold in ("fast", "smart") and got in ("fast", "smart"):
            counts[f"{gold}->{got}"] += 1
    n = sum(counts.values())
    right = counts["fast->fast"] + counts["smart->smart"]
    return {"n": n, "accuracy": round(right / n, 3) if n else None, **dict(sorted(counts.items()))}


def _cascade_scores(
    predictions: Sequence[tuple[Mapping[str, Any], RoutingDecision]],
) -> dict[str, Any]:
    """Share of signals decided locally, and the accuracy of those local decisions."""
    local: Counter[str] = Counter()
    local_right: Counter[str] = Counter()
    total: Counter[str] = Counter()
    names = {"tier": "route"}
    for row, decision in predictions:
        for signal, decider in decision.decided_by.items():
            field_name = names.get(signal, signal)
            gold = row.get(field_name)
            if gold is None or (signal == "tier" and gold == "human"):
                continue
            total[signal] += 1
            if decider != "llm":
                local[signal] += 1
                got = getattr(decision, field_name)
                local_right[signal] += got == gold
    return {
        signal: {
            "coverage": round(local[signal] / total[signal], 3),
            "selective_accuracy": round(local_right[signal] / local[signal], 3)
            if local[signal]
            else None,
        }
        for signal in sorted(total)
    }


def _decision_cost(
    system: SupportSystem, predictions: Sequence[tuple[Mapping[str, Any], RoutingDecision]]
) -> dict[str, Any]:
    """Tokens and $ spent on decisions, against the previous all-LLM triage's estimate."""
    spent = sum((Decimal(d.cost_usd) for _, d in predictions), Decimal(0))
    tokens = sum(d.input_tokens for _, d in predictions)
    previous = sum((_previous_triage_cost(str(row["text"])) for row, _ in predictions), Decimal(0))
    n = max(len(predictions), 1)
    return {
        "classification": system.classification,
        "decision_input_tokens": tokens,
        "usd_per_1000": str(round(spent * 1000 / n, 4)),
        "previous_llm_triage_usd_per_1000": str(round(previous * 1000 / n, 4)),
        "estimate": "prices from the table; offline the LLM is LocalModel priced as gpt-4o-mini",
    }


def _previous_triage_cost(text: str) -> Decimal:
    """The previous design's triage: 3 calls, each carrying the 160 labelled tickets."""
    tokens = _previous_system_tokens() + count_message_tokens([Message.user(text)], _PREVIOUS_MODEL)
    return _PREVIOUS_CALLS * cost_of(Usage(input_tokens=tokens, output_tokens=30), _PREVIOUS_MODEL)


@cache
def _previous_system_tokens() -> int:
    """The few-shot system prompt's tokens (the same for every message: counted once)."""
    probe = (Message.user(""),)
    request = ModelRequest(messages=probe, system="Classify this ticket.", examples=load_examples())
    with_system = count_message_tokens(
        probe, _PREVIOUS_MODEL, system=request.system_with_examples()
    )
    return with_system - count_message_tokens(probe, _PREVIOUS_MODEL)


def _percentiles(values: Sequence[float]) -> dict[str, float]:
    if not values:
        return {}
    ordered = sorted(values)

    def at(share: float) -> float:
        return round(ordered[min(int(share * len(ordered)), len(ordered) - 1)], 1)

    return {"p50": at(0.5), "p95": at(0.95), "max": round(ordered[-1], 1)}
