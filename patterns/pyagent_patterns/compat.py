"""Seed 002 compatibility, in one place.

The seed (``../shared/seeds/002``) reads results and passes hooks in its own shapes; the
framework's own types are richer. Everything that translates between the two lives here:

- `seed_metadata`: a `TurnRecord` as the seed's ``result.metadata`` (``route``,
  ``routed_model``, ``recovery_level``, ...), read-only; `field_of_key` maps a seed key
  back to the record's field (``routed_model`` → ``model``).
- `call_override`: calls a Supervisor ``override`` such as the seed's
  ``route_by_sla(query, customer_tier)``, filling its parameters after the text by name
  from the run context.

The seed's import paths (``pyagent_patterns.base``, ``.orchestration``, ``.advanced``,
``.recovery``, ``.guardrails``) are the packages' real modules, not aliases, and
``RouterMiddleware(model_registry={name: llm})`` is `ModelRegistry.from_mapping`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import fields
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from pyagent_router.context import RunContext

if TYPE_CHECKING:
    from .record import TurnRecord

__all__ = ["call_override", "field_of_key", "seed_metadata"]

# Seed metadata key → record field, where the two names differ.
_FIELD_OF_KEY = {"routed_model": "model", "route_reason": "tier_reason", "error": "errors"}
_KEY_OF_FIELD = {"model": "routed_model"}


def field_of_key(key: str) -> str:
    """The `TurnRecord` field a seed metadata key names (the key itself if they agree)."""
    return _FIELD_OF_KEY.get(key, key)


def seed_metadata(record: TurnRecord) -> Mapping[str, Any]:
    """The seed's ``metadata`` view of `record`: every field under its key, then the notes."""
    view: dict[str, Any] = {
        _KEY_OF_FIELD.get(item.name, item.name): getattr(record, item.name)
        for item in fields(record)
        if item.name != "notes"
    }
    view["recovery_level"] = int(record.recovery_level)
    view["route_reason"] = record.tier_reason  # the router's name for it
    view["tool_calls"] = [{"tool": c.name, "ok": c.ok} for c in record.tool_calls]
    view["steps"] = len(record.tool_calls)
    view["errors"] = list(record.errors)
    if record.errors:
        view["error"] = record.errors[-1]
    return MappingProxyType({**view, **record.notes})


def call_override(
    override: Callable[..., str | None], text: str, context: RunContext
) -> str | None:
    """``override(text, **by_name)``: parameters after the first come from `context`.

    A name the context has as a field (``user_id``, ``tier``...) or as one of the
    caller's deps (``customer_tier``) gets that value; any other gets ``None``.
    """
    names = list(inspect.signature(override).parameters)[1:]
    return override(text, **{name: context.get(name) for name in names})
