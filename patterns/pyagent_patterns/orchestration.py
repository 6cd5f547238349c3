"""`Supervisor`: classify a conversation into one of its routes and hand it over."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, cast

from pyagent_providers import (
    LLM,
    Example,
    Message,
    ModelRequest,
    NoRouteError,
    OutputSchema,
    UserError,
)

from .base import Runnable, RunResult, as_messages, cost_of_response

__all__ = ["Supervisor"]


class Supervisor:
    """Routes each conversation to exactly one of `routes`.

    The classifier answers with structured output whose ``route`` field is an enum of the
    route names (never parsed from free text), plus a ``confidence``.

    Args:
        classifier: The agent (or any object with an ``llm`` and ``system_prompt``) whose
            model classifies.
        routes: Route name → the pattern that handles it.
        descriptions: Route name → what belongs there. Defaults to ``name — text`` lines
            of the classifier's system prompt, as the seed writes them.
        examples: Labelled examples with a ``route`` label.
        override: Called before the classifier; a route name it returns wins (e.g. the
            seed's ``route_by_sla(query, customer_tier)``). Its parameters after the first
            (the text) are filled by name from the run's context; it returns ``None`` to
            let the classifier decide.
        default_route: Taken when the classifier's confidence is below `min_confidence`.
        min_confidence: Confidence under which `default_route` is used.
    """

    def __init__(
        self,
        classifier: Any,
        routes: Mapping[str, Runnable],
        *,
        descriptions: Mapping[str, str] | None = None,
        examples: Iterable[Example] = (),
        override: Callable[..., str | None] | None = None,
        default_route: str | None = None,
        min_confidence: float = 0.0,
    ) -> None:
        if not routes:
            raise UserError("a Supervisor needs at least one route")
        if default_route is not None and default_route not in routes:
            raise UserError(f"default_route {default_route!r} is not one of the routes")
        self.llm: LLM = classifier.llm
        self.instructions = str(getattr(classifier, "system_prompt", "") or "")
        self.routes = dict(routes)
        self.descriptions = dict(descriptions or _descriptions_from(self.instructions, routes))
        self.examples = tuple(e for e in examples if e.labels.get("route") in self.routes)
        self.override = override
        self.default_route = default_route
        self.min_confidence = min_confidence
        self.schema = OutputSchema.of(_route_schema(list(self.routes), self.descriptions))

    async def classify(self, messages: Sequence[Message]) -> RunResult:
        """The classifier's decision: output ``{"route", "confidence"}`` plus usage and cost."""
        request = ModelRequest(
            messages=tuple(m for m in messages if m.role in ("user", "assistant")),
            system=self.instructions + "\nAnswer in the requested structure.",
            output_schema=self.schema,
            examples=self.examples,
        )
        response = await self.llm.complete(request)
        cost, _ = cost_of_response(response)
        return RunResult(
            output=response.output,
            metadata={"classifier_model": response.model_id},
            usage=response.usage,
            cost=cost,
        )

    async def run(
        self, input: str | Sequence[Message], *, context: Mapping[str, Any] | None = None
    ) -> RunResult:
        """Classify `input` and run the chosen route's pattern on it."""
        messages = as_messages(input)
        context = dict(context or {})
        route, decided_by, confidence = self._override(messages, context), "override", 1.0
        earlier: list[RunResult] = []
        if route is None:
            decision = await self.classify(messages)
            earlier.append(decision)
            output = cast(dict[str, Any], decision.output)
            route, confidence, decided_by = (
                output["route"],
                float(output["confidence"]),
                "classifier",
            )
            if confidence < self.min_confidence and self.default_route is not None:
                route, decided_by = self.default_route, "low_confidence_default"
        if route not in self.routes:
            raise NoRouteError(f"route {route!r} is not one of {sorted(self.routes)}")
        result = await self.routes[route].run(messages, context={**context, "route": route})
        return result.after(*earlier).with_metadata(
            route=route, route_confidence=round(confidence, 3), routed_by=decided_by
        )

    def _override(self, messages: Sequence[Message], context: Mapping[str, Any]) -> str | None:
        if self.override is None:
            return None
        text = next(m.content for m in reversed(messages) if m.role == "user")
        names = list(inspect.signature(self.override).parameters)[1:]
        route = self.override(text, **{name: context.get(name) for name in names})
        if route is not None and route not in self.routes:
            raise NoRouteError(f"override chose {route!r}, which is not a route")
        return route


def _descriptions_from(instructions: str, routes: Mapping[str, Runnable]) -> dict[str, str]:
    """``name — text`` (or ``name: text``) lines of the classifier's prompt, per route."""
    found: dict[str, str] = {}
    for name in routes:
        match = re.search(
            rf"^\s*[-*•]?\s*{re.escape(name)}\s*(?:—|–|:|-{{1,2}})\s*(.+)$",
            instructions,
            re.MULTILINE,
        )
        if match:
            found[name] = match.group(1).strip()
    return found


def _route_schema(routes: list[str], descriptions: Mapping[str, str]) -> dict[str, Any]:
    lines = [f"{name}: {descriptions[name]}" for name in routes if name in descriptions]
    return {
        "title": "route_decision",
        "type": "object",
        "properties": {
            "route": {
                "type": "string",
                "enum": routes,
                "description": "\n".join(["The one route for this conversation.", *lines]),
            },
            "confidence": {
                "type": "number",
                "minimum": 0,
                "maximum": 1,
                "description": "How sure you are, from 0 to 1.",
            },
        },
        "required": ["route", "confidence"],
    }
