"""`RunContext`: what a run carries down through the patterns, typed.

Every pattern takes ``context=`` and passes it on. It used to be a dict whose keys one
module wrote and another read; now each thing has a field. A plain mapping is still
accepted (``run(..., context={"customer_tier": "enterprise"})``): known keys become
fields and the rest become `deps`, the caller's own values, which the Supervisor hands
to an ``override`` by parameter name (the seed's ``route_by_sla(query, customer_tier)``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any, Self

from pyagent_providers import StreamSink

from .escalation import EscalationVerdict
from .signals import Signals

__all__ = ["ContextArg", "RunContext"]


@dataclass(frozen=True, kw_only=True, slots=True)
class RunContext(Mapping[str, Any]):
    """The context of one run.

    It is also a read-only mapping of its set fields and `deps`, for code written against
    the old dict (``context.get("conversation_id")``, ``dict(context)``).

    Attributes:
        conversation_id: The conversation (labels costs; names the escalation case).
        message_id: The customer message this run answers; with the conversation it keys
            the run's side effects, so a retry or a redelivery acts once.
        user_id: The customer.
        tier: Pin this run to a tier of the router.
        hold_tier: Keep the conversation on this tier (hysteresis) while its difficulty
            stays at or above `release_below`.
        release_below: See `hold_tier`.
        route: The Supervisor's route, once chosen.
        escalation: An escalation verdict decided before the run (e.g. by a triage).
        stream_sink: Where a plain-text reply streams as it is written.
        signals: Scores computed outside the model (what tool policies trust).
        dry_run: Nothing may act: side-effecting tools and escalations are only described.
        deps: The caller's own values, by name.
    """

    conversation_id: str | None = None
    message_id: str | None = None
    user_id: str | None = None
    tier: str | None = None
    hold_tier: str | None = None
    release_below: int | None = None
    route: str | None = None
    escalation: EscalationVerdict | None = None
    stream_sink: StreamSink | None = None
    signals: Signals | None = None
    dry_run: bool = False
    deps: Mapping[str, Any] = field(default_factory=dict[str, Any])

    @classmethod
    def of(cls, context: ContextArg = None) -> RunContext:
        """`context` as a `RunContext`: known keys become fields, the rest `deps`."""
        if isinstance(context, RunContext):
            return context
        if not context:
            return _EMPTY
        known = {k: v for k, v in context.items() if k in _FIELDS and k != "deps"}
        extra = {k: v for k, v in context.items() if k not in _FIELDS}
        return cls(**known, deps={**context.get("deps", {}), **extra})

    def with_(self, **changes: Any) -> Self:
        """A copy with `changes` (fields by name)."""
        return replace(self, **changes)

    def with_deps(self, **values: Any) -> Self:
        """A copy whose `deps` also hold `values`."""
        return replace(self, deps={**self.deps, **values})

    def get(self, key: str, default: Any = None) -> Any:
        """A field, or else the caller's value of that name (for ``override`` functions)."""
        if key in _FIELDS and key != "deps":
            value = getattr(self, key)
            return default if value is None else value
        return self.deps.get(key, default)

    def __getitem__(self, key: str) -> Any:
        value = self.get(key, _MISSING)
        if value is _MISSING:
            raise KeyError(key)
        return value

    def __iter__(self) -> Iterator[str]:
        for name in _FIELDS:
            value = getattr(self, name)
            if name != "deps" and value is not None and value is not False:  # set fields
                yield name
        yield from self.deps

    def __len__(self) -> int:
        return sum(1 for _ in self)


ContextArg = RunContext | Mapping[str, Any] | None
_FIELDS = tuple(f.name for f in fields(RunContext))
_MISSING = object()
_EMPTY = RunContext()
