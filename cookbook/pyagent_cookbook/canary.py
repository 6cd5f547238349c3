"""`pyagent eval --baseline`: two runs' decisions compared item by item (a drift canary).

Run the same labelled file every day, keep yesterday's ``pyagent eval --json`` report,
and pass it as the baseline: what changed is listed per item (a ticket by its ``id``, a
conversation turn as ``<conversation id>#<turn index>``), field by field, before → after.

An item in only one of the two reports is not compared: it is listed under ``added``
(only in this run) or ``removed`` (only in the baseline) and not counted as changed,
since it means the file changed, not the decisions. A canary that must also catch an
edited file checks ``added`` and ``removed`` as well as ``changed``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from pyagent_providers import UserError

__all__ = ["Changes", "FieldChange", "ItemDecision", "compare_decisions", "load_baseline"]

_NOT_EVAL = "was it written by `pyagent eval --json`?"


@dataclass(frozen=True, kw_only=True, slots=True)
class ItemDecision:
    """What the system decided for one labelled item: a ticket or a conversation turn.

    Attributes:
        tier: ``fast``, ``smart`` or ``human`` (the labels' ``route``).
        bot: The Supervisor route (billing, technical, ..., ``None`` when no bot answers).
        escalated: Whether it goes to a person.
        escalation_reasons: The escalation policy's reason codes (tickets only: a chat
            reply carries none).
        category: Triage's category (tickets only, as the next three).
        priority: Triage's priority.
        assigned_team: Triage's team.
        sentiment: Triage's sentiment.
        state: The conversation's state after the turn (conversations only).
        refused: A guard refused the ticket (nothing else was decided).
    """

    tier: str | None = None
    bot: str | None = None
    escalated: bool = False
    escalation_reasons: tuple[str, ...] = ()
    category: str | None = None
    priority: str | None = None
    assigned_team: str | None = None
    sentiment: str | None = None
    state: str | None = None
    refused: bool = False

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {f.name: _jsonable(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ItemDecision:
        """Read `as_dict`'s output back; unknown keys are ignored, missing ones default.

        Raises:
            ValueError: ``escalation_reasons`` is not a list of strings.
        """
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        reasons: Any = values.get("escalation_reasons", [])
        if not isinstance(reasons, list) or not all(isinstance(r, str) for r in reasons):  # pyright: ignore[reportUnknownVariableType]
            raise ValueError("escalation_reasons is not a list of strings")
        values["escalation_reasons"] = tuple(reasons)  # pyright: ignore[reportUnknownArgumentType]
        return cls(**values)


@dataclass(frozen=True, slots=True)
class FieldChange:
    """One field of one item that differs between the two runs."""

    field: str
    before: Any
    after: Any


@dataclass(frozen=True, kw_only=True, slots=True)
class Changes:
    """What `compare_decisions` found.

    Attributes:
        compared: Items in both runs.
        changed: Per changed item id, its changed fields (in file order).
        added: Ids only in this run.
        removed: Ids only in the baseline.
    """

    compared: int
    changed: dict[str, tuple[FieldChange, ...]]
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: counts first (a CI reads ``changed``), then the details."""
        return {
            "compared": self.compared,
            "changed": len(self.changed),
            "added": len(self.added),
            "removed": len(self.removed),
            "items": {
                item: {
                    c.field: {"before": _jsonable(c.before), "after": _jsonable(c.after)}
                    for c in changes
                }
                for item, changes in self.changed.items()
            },
            "added_ids": list(self.added),
            "removed_ids": list(self.removed),
        }


def compare_decisions(
    before: Mapping[str, ItemDecision], after: Mapping[str, ItemDecision]
) -> Changes:
    """The items whose decisions differ, field by field, and the items in only one run.

    Items come in `after`'s order (the file's), removed ones in `before`'s.
    """
    changed: dict[str, tuple[FieldChange, ...]] = {}
    for item, now in after.items():
        then = before.get(item)
        if then is None:
            continue
        diff = tuple(
            FieldChange(f.name, getattr(then, f.name), getattr(now, f.name))
            for f in fields(ItemDecision)
            if getattr(then, f.name) != getattr(now, f.name)
        )
        if diff:
            changed[item] = diff
    return Changes(
        compared=sum(1 for item in after if item in before),
        changed=changed,
        added=tuple(item for item in after if item not in before),
        removed=tuple(item for item in before if item not in after),
    )


def load_baseline(path: str | Path, *, kind: str | None = None) -> dict[str, ItemDecision]:
    """The decisions of a previous ``pyagent eval --json`` report.

    `kind` (``tickets`` or ``conversations``), when given, must be the report's.

    Raises:
        UserError: The file is missing or unreadable, not JSON, has no ``decisions``, a
            decision is malformed, or the report is of the other kind.
    """
    try:
        data: Any = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read baseline {path}: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise UserError(f"baseline {path} is not JSON ({exc.msg}); {_NOT_EVAL}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("decisions"), dict):  # pyright: ignore[reportUnknownMemberType]
        raise UserError(f"baseline {path} has no decisions; {_NOT_EVAL}")
    report: dict[str, Any] = data  # pyright: ignore[reportUnknownVariableType]
    if kind is not None and report.get("kind", kind) != kind:
        raise UserError(f"baseline {path} is a {report['kind']} report, this file has {kind}")
    decisions: dict[str, ItemDecision] = {}
    for item, decision in report["decisions"].items():
        try:
            if not isinstance(decision, dict):
                raise ValueError("not an object")
            decisions[str(item)] = ItemDecision.from_dict(decision)  # pyright: ignore[reportUnknownArgumentType]
        except (ValueError, TypeError) as exc:
            raise UserError(f"baseline {path}: decision {item!r}: {exc}; {_NOT_EVAL}") from exc
    return decisions


def _jsonable(value: object) -> object:
    """Tuples as lists (what `json.loads` gives back)."""
    if isinstance(value, tuple):
        items: tuple[object, ...] = value  # pyright: ignore[reportUnknownVariableType]
        return list(items)
    return value
