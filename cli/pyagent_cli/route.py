"""``pyagent route``: one message (or a JSONL file) through guards, classification and tiers."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any, TextIO

from pyagent_providers import UserError

from .progress import progress
from .recipes import DEFAULT_RECIPE, load_recipe
from .traffic import read_traffic

if TYPE_CHECKING:
    from .recipes import RoutingDecision

__all__ = ["route_command"]


async def route_command(
    text: str | None,
    file: str | None,
    *,
    as_json: bool,
    classification: str = "auto",
    recipe: str = DEFAULT_RECIPE,
    out: TextIO | None = None,
) -> int:
    """Route `text`, or every line of `file`, with `recipe`'s system; returns the exit code.

    In file mode a message the guards refuse is reported on its own line as
    ``{"id", "error"}`` and the rest are still routed; a malformed file is refused
    before any work starts.
    """
    stream: TextIO = out or sys.stdout
    if (text is None) == (file is None):
        raise UserError("give either TEXT or --file F.jsonl")
    items = read_traffic(file) if file is not None else None
    loaded = load_recipe(recipe, "route")
    # models load once, for every line
    system = loaded.support_system(classification=loaded.classification(classification))
    if items is None:
        stream.write(_render(None, await system.route(str(text)), as_json) + "\n")
        return 0
    for item in progress(items, "route"):
        try:
            outcome: RoutingDecision | UserError = await system.route(item.text)
        except UserError as error:
            outcome = error
        stream.write(_render(item.id, outcome, as_json) + "\n")
        stream.flush()
    return 0


def _render(item_id: str | None, outcome: RoutingDecision | UserError, as_json: bool) -> str:
    head: dict[str, Any] = {} if item_id is None else {"id": item_id}
    if isinstance(outcome, UserError):
        return (
            json.dumps({**head, "error": str(outcome)})
            if as_json
            else (f"[{item_id}] refused: {outcome}")
        )
    if as_json:
        return json.dumps({**head, **outcome.as_dict()}, ensure_ascii=False)
    d = outcome
    prefix = f"[{item_id}] " if item_id is not None else ""
    escalation = f", escalation: {d.escalation_reason}" if d.escalation_reason else ""
    return (
        f"{prefix}route {d.route} via the {d.bot} bot, difficulty {d.difficulty}, "
        f"model {d.model} (online: {d.online_model}){escalation}\n"
        f"  category {d.category}, priority {d.priority}, team {d.assigned_team}, "
        f"sentiment {d.sentiment}, PII found: {'yes' if d.pii_found else 'no'}\n"
        f"  classification cost ${d.cost_usd}{' (estimate)' if d.cost_estimated else ''}\n"
        f"  redacted: {d.redacted_text}"
    )
