"""`Supervisor`: classify a conversation into one of its routes and hand it over."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from pyagent_providers import Example, Message, NoRouteError, Usage, UserError
from pyagent_router import Classification, Classifier, LLMClassifier
from pyagent_router.context import ContextArg, RunContext

from .base import Pattern, Runnable, RunResult, as_messages
from .compat import call_override

__all__ = ["RouteChoice", "Supervisor"]


@dataclass(frozen=True, kw_only=True, slots=True)
class RouteChoice:
    """Which route a `Supervisor` chose, how, and what choosing cost.

    Attributes:
        route: The route name.
        confidence: The classifier's confidence (1.0 when the override chose).
        routed_by: ``override``, ``classifier`` or ``low_confidence_default``.
        classifier: Which classifier decided; ``None`` when the override did.
        usage: Tokens the classification used.
    """

    route: str
    confidence: float
    routed_by: str
    classifier: str | None = None
    usage: Usage = field(default_factory=Usage)

    @property
    def cost(self) -> Decimal | None:
        """What those tokens cost (``usage.cost``; ``None``: a model has no price)."""
        return self.usage.cost

    def as_metadata(self) -> dict[str, Any]:
        """The `RunResult.metadata` entries a Supervisor run records."""
        return {
            "route": self.route,
            "route_confidence": round(self.confidence, 3),
            "routed_by": self.routed_by,
            "classifier": self.classifier,
        }


class Supervisor(Pattern):
    """Routes each conversation to exactly one of `routes`.

    The classifier is either an agent, whose model then answers with structured output
    whose ``route`` field is an enum of the route names (never parsed from free text) plus a
    ``confidence`` (an `LLMClassifier` on the agent's model and prompt), or any
    `pyagent_router.Classifier` whose labels are the route names (e.g. the free embedding
    classifier).

    A classification that abstains, or whose confidence is below `min_confidence`, takes
    `default_route` when one is set. Without a default, an abstention raises `NoRouteError`
    (a Supervisor must not act on a guess its classifier refused to make; wrap it in
    `BoundedExecution` for a fallback reply), while a low but not abstaining confidence
    keeps the classifier's label.

    Metadata: ``route``, ``route_confidence``, ``routed_by`` (``override``, ``classifier`` or
    ``low_confidence_default``) and ``classifier`` (which classifier decided, e.g.
    ``"llm:openai:gpt-4o-mini"``; ``None`` when the override decided).

    Args:
        classifier: A `Classifier` whose labels equal the route names, or an agent (any
            object with an ``llm`` and a ``system_prompt``) whose model classifies.
        routes: Route name → the pattern that handles it.
        descriptions: Route name → what belongs there, for an agent classifier. Defaults to
            ``name — text`` lines of the agent's system prompt, as the seed writes them.
        examples: Labelled examples with a ``route`` label, for an agent classifier.
        override: Called before the classifier; a route name it returns wins (e.g. the
            seed's ``route_by_sla(query, customer_tier)``). Its parameters after the first
            (the text) are filled by name from the run's context; it returns ``None`` to
            let the classifier decide.
        default_route: Taken when the classifier abstains or is not confident enough.
        min_confidence: Confidence under which `default_route` is used.

    Raises:
        UserError: No routes, an unknown `default_route`, a `Classifier` whose labels are
            not the route names, or `descriptions` / `examples` given with a `Classifier`.
    """

    def __init__(
        self,
        classifier: Classifier | Any,
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
        self.routes = dict(routes)
        self.classifier = _as_classifier(classifier, self.routes, descriptions, examples)
        self.override = override
        self.default_route = default_route
        self.min_confidence = min_confidence

    async def classify(self, messages: Sequence[Message]) -> Classification:
        """The classifier's decision about `messages`, with its usage and cost."""
        return await self.classifier.classify(messages)

    async def choose(
        self, messages: Sequence[Message], *, context: ContextArg = None
    ) -> RouteChoice:
        """The route for `messages`, without running it (override, classifier, default).

        Raises:
            NoRouteError: The override or classifier chose no route or an unknown one.
        """
        route = self._override(messages, RunContext.of(context))
        if route is not None:
            return RouteChoice(route=route, confidence=1.0, routed_by="override")
        decision = await self.classify(messages)
        route, routed_by = decision.label, "classifier"
        unsure = decision.abstained or decision.confidence < self.min_confidence
        if unsure and self.default_route is not None:
            route, routed_by = self.default_route, "low_confidence_default"
        elif route is None:
            raise NoRouteError(
                f"{decision.classifier or 'the classifier'} abstained (best {decision.best!r} "
                f"at confidence {decision.confidence:.2f}) and the Supervisor has no "
                "default_route"
            )
        if route not in self.routes:
            raise NoRouteError(f"route {route!r} is not one of {sorted(self.routes)}")
        return RouteChoice(
            route=route,
            confidence=decision.confidence,
            routed_by=routed_by,
            classifier=decision.classifier,
            usage=decision.usage,
        )

    async def run(self, input: str | Sequence[Message], *, context: ContextArg = None) -> RunResult:
        """Choose a route for `input` and run that route's pattern on it.

        Raises:
            NoRouteError: No route could be chosen (see `choose`).
        """
        messages = as_messages(input)
        ctx = RunContext.of(context)
        choice = await self.choose(messages, context=ctx)
        route = self.routes[choice.route]
        result = await route.run(messages, context=ctx.with_(route=choice.route))
        return result.after(choice).with_metadata(**choice.as_metadata())

    def _override(self, messages: Sequence[Message], context: RunContext) -> str | None:
        if self.override is None:
            return None
        text = next(m.content for m in reversed(messages) if m.role == "user")
        route = call_override(self.override, text, context)
        if route is not None and route not in self.routes:
            raise NoRouteError(f"override chose {route!r}, which is not a route")
        return route


def _as_classifier(
    classifier: Classifier | Any,
    routes: Mapping[str, Runnable],
    descriptions: Mapping[str, str] | None,
    examples: Iterable[Example],
) -> Classifier:
    """`classifier` itself if it is a `Classifier` for `routes`, else an `LLMClassifier`."""
    if isinstance(classifier, Classifier):
        if descriptions is not None or tuple(examples):
            raise UserError(
                "descriptions and examples configure an agent classifier; "
                "give them to your Classifier instead"
            )
        if set(classifier.labels) != set(routes):
            raise UserError(
                f"the classifier's labels {sorted(classifier.labels)} are not the route "
                f"names {sorted(routes)}"
            )
        return classifier
    instructions = str(getattr(classifier, "system_prompt", "") or "")
    return LLMClassifier(
        classifier.llm,
        list(routes),
        descriptions=descriptions or _descriptions_from(instructions, routes),
        examples=examples,
        label_key="route",
        instructions=instructions + "\nAnswer in the requested structure.",
    )


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
