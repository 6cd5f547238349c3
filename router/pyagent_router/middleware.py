"""`RouterMiddleware`: every call of a wrapped agent goes to a model the routing policy picks.

``RouterMiddleware(model_registry={name: llm}).wrap(agent)`` (the seed's form) returns an
agent with the same interface. For each call the policy

1. picks a **tier**: pinned by ``wrap(agent, tier="smart")`` or the run's
   ``RunContext.tier``; ``tier="auto"`` asks the difficulty estimator (difficulty at or
   above `handoff_threshold` → the last, most capable tier); otherwise the tier of the
   model the agent was built with;
2. checks the **budget** with a pre-call estimate (tiktoken count, labelled an estimate):
   a call that would overrun moves to the next cheaper tier, or raises `BudgetExceeded`;
3. tries the tier's models in order (the agent's own model first), skipping those whose
   **circuit breaker** is open or whose ``max_input_tokens`` the prompt exceeds, and
   **falls back** to the next one on a provider error.

The result's metadata records ``routed_model`` (the model id that really answered),
``registry_model``, ``tier``, ``route_reason``, ``estimated_cost_usd`` and ``cost_usd``
(from the usage the API returned, priced as the registered model).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, Protocol, Self

from pyagent_providers import (
    LLM,
    BudgetExceeded,
    Message,
    NoRouteError,
    ProviderError,
    UserError,
    count_message_tokens,
)

from .budget import Budget, estimate_call_cost
from .context import ContextArg, RunContext
from .difficulty import DifficultyEstimator
from .registry import ModelRegistry, RegisteredModel
from .tracking import CostTracker, MeteredLLM, cost_labels

__all__ = ["RoutableAgent", "RoutedAgent", "RouterMiddleware"]

AUTO = "auto"


class AgentResult(Protocol):
    """The part of a pattern's result the router reads and extends."""

    @property
    def metadata(self) -> Mapping[str, Any]:
        """What the run decided."""
        ...

    def with_metadata(self, **values: Any) -> Self:
        """A copy with `values` added to the metadata."""
        ...


class RoutableAgent(Protocol):
    """An agent the router can wrap: it has a model and can run on another one."""

    name: str
    llm: LLM

    def with_llm(self, llm: LLM) -> Self:
        """The same agent on `llm`."""
        ...

    async def run(self, input: str | Sequence[Message], *, context: ContextArg = None) -> Any:
        """Answer `input`."""
        ...


class RouterMiddleware:
    """Routes agents' calls through a registry of models in tiers.

    Args:
        model_registry: A `ModelRegistry`, or ``{name: llm}`` (cheapest model → first
            tier, the others → last tier; see `ModelRegistry.from_mapping`).
        estimator: Rates difficulty for agents wrapped with ``tier="auto"``.
        handoff_threshold: Lowest difficulty (1-10) sent to the most capable tier.
        budget: Spending limits checked before each call.
        tracker: Where calls are recorded (in memory by default; give a file-backed one
            for budgets that survive restarts).
    """

    def __init__(
        self,
        model_registry: ModelRegistry | Mapping[str, LLM],
        *,
        estimator: DifficultyEstimator | None = None,
        handoff_threshold: int = 5,
        budget: Budget | None = None,
        tracker: CostTracker | None = None,
    ) -> None:
        if not model_registry:
            raise UserError("the model registry is empty")
        if not 1 <= handoff_threshold <= 10:
            raise UserError("handoff_threshold must be between 1 and 10")
        self.registry = (
            model_registry
            if isinstance(model_registry, ModelRegistry)
            else ModelRegistry.from_mapping(model_registry)
        )
        self.estimator = estimator
        self.handoff_threshold = handoff_threshold
        self.budget = budget
        self.tracker = tracker or CostTracker()
        self._metered: dict[str, MeteredLLM] = {}

    @property
    def models(self) -> dict[str, LLM]:
        """Registry name → model."""
        return {entry.name: entry.llm for entry in self.registry}

    def name_of(self, llm: LLM) -> str | None:
        """The registry name of `llm` (``None`` if it is not registered)."""
        entry = self.registry.entry_for(llm)
        return entry.name if entry else None

    def wrap(self, agent: RoutableAgent, *, tier: str | None = None) -> RoutedAgent:
        """`agent` with its calls routed by this middleware.

        Args:
            agent: The agent to route.
            tier: Pin a tier, ``"auto"`` for difficulty routing, or ``None`` for the tier
                of the agent's own model (the first tier if it is not registered).
        """
        if tier not in (None, AUTO, *self.registry.tiers):
            raise UserError(f"unknown tier {tier!r}; tiers are {list(self.registry.tiers)}")
        if tier == AUTO and self.estimator is None:
            raise UserError("tier='auto' needs a difficulty estimator: pass estimator=")
        return RoutedAgent(agent, self, tier=tier)

    def metered(self, entry: RegisteredModel) -> MeteredLLM:
        """`entry`'s model, with its calls recorded in the tracker."""
        if entry.name not in self._metered:
            stand_in = entry.priced_as != entry.llm.model_id
            self._metered[entry.name] = self.tracker.meter(
                entry.llm, tier=entry.tier, priced_as=entry.priced_as if stand_in else None
            )
        return self._metered[entry.name]

    async def choose_tier(
        self, agent: RoutableAgent, pinned: str | None, messages: Sequence[Message]
    ) -> tuple[str, str]:
        """The tier for this call and why."""
        if pinned is not None and pinned != AUTO:
            return pinned, f"tier {pinned} pinned"
        if pinned == AUTO and self.estimator is not None:
            estimate = await self.estimator.estimate(messages)
            hard = estimate.difficulty >= self.handoff_threshold
            tier = self.registry.tiers[-1] if hard else self.registry.tiers[0]
            sign = ">=" if hard else "<"
            return tier, f"difficulty {estimate.difficulty} {sign} {self.handoff_threshold}"
        own = self.registry.entry_for(agent.llm)
        if own is not None:
            return own.tier, f"the tier of {own.name}"
        return self.registry.tiers[0], "unregistered model: cheapest tier"

    def candidates(self, tier: str, agent: RoutableAgent) -> list[RegisteredModel]:
        """The tier's models in fallback order, the agent's own model first."""
        models = self.registry.in_tier(tier)
        if not models:
            raise NoRouteError(f"no model is registered in tier {tier!r}")
        return sorted(models, key=lambda entry: entry.llm is not agent.llm)

    def estimate(
        self, entry: RegisteredModel, agent: RoutableAgent, messages: Sequence[Message]
    ) -> Decimal:
        """Pre-call cost estimate of `agent` answering `messages` on `entry`."""
        return estimate_call_cost(
            entry.price,
            messages,
            entry.priced_as,
            system=getattr(agent, "system_prompt", None) or None,
            expected_output_tokens=self.budget.expected_output_tokens if self.budget else 300,
        )

    def too_long(
        self, entry: RegisteredModel, agent: RoutableAgent, messages: Sequence[Message]
    ) -> bool:
        """Whether the prompt exceeds `entry`'s ``max_input_tokens`` (a tiktoken count)."""
        if entry.max_input_tokens is None:
            return False
        system = getattr(agent, "system_prompt", None) or None
        tokens = count_message_tokens(messages, entry.priced_as, system=system)
        return tokens > entry.max_input_tokens

    def fit_budget(
        self,
        tier: str,
        agent: RoutableAgent,
        messages: Sequence[Message],
        conversation_id: str | None,
    ) -> tuple[str, Decimal, str | None]:
        """The tier that fits the budget, its estimate, and why it changed (if it did)."""
        first = self.candidates(tier, agent)[0]
        estimate = self.estimate(first, agent, messages)
        if self.budget is None:
            return tier, estimate, None
        budget = self.budget
        conversation_spent = (
            self.tracker.spent_on_conversation(conversation_id) if conversation_id else None
        )
        day_spent = self.tracker.spent_today()

        def overrun(estimate: Decimal) -> str | None:
            return budget.overrun(
                estimate=estimate, conversation_spent=conversation_spent, day_spent=day_spent
            )

        reason = overrun(estimate)
        if reason is None:
            return tier, estimate, None
        cheaper = self.registry.cheaper_tier(tier)
        while budget.on_exceed == "downgrade" and cheaper is not None:
            estimate = self.estimate(self.candidates(cheaper, agent)[0], agent, messages)
            if overrun(estimate) is None:
                return cheaper, estimate, f"downgraded from {tier}: {reason}"
            cheaper = self.registry.cheaper_tier(cheaper)
        raise BudgetExceeded(f"a call by {agent.name!r} would exceed the {reason}")


class RoutedAgent:
    """An agent whose calls go through a `RouterMiddleware` (see `RouterMiddleware.wrap`)."""

    def __init__(
        self, agent: RoutableAgent, router: RouterMiddleware, *, tier: str | None = None
    ) -> None:
        self.agent = agent
        self.router = router
        self.tier = tier

    @property
    def name(self) -> str:
        """The wrapped agent's name."""
        return self.agent.name

    @property
    def llm(self) -> LLM:
        """The model the wrapped agent was built with."""
        return self.agent.llm

    def __repr__(self) -> str:
        return f"RoutedAgent({self.agent!r}, tier={self.tier!r})"

    def with_tools(self, tools: Any, *, max_tool_rounds: int | None = None) -> RoutedAgent:
        """The wrapped agent offering `tools` (as ``ReAct`` asks), still routed here.

        Raises:
            UserError: The wrapped agent cannot take tools.
        """
        with_tools = getattr(self.agent, "with_tools", None)
        if with_tools is None:
            raise UserError(f"{self.agent!r} cannot be given tools")
        return RoutedAgent(
            with_tools(tools, max_tool_rounds=max_tool_rounds), self.router, tier=self.tier
        )

    async def run(self, input: str | Sequence[Message], *, context: ContextArg = None) -> Any:
        """Answer `input` on the model the policy picks, falling back within the tier.

        Raises:
            BudgetExceeded: The call does not fit the budget (and downgrading did not help).
            NoRouteError: Every model of the tier has its circuit open.
            ProviderError: Every model of the tier failed; the last error is raised.
        """
        router = self.router
        messages = _as_messages(input)
        ctx = RunContext.of(context)
        conversation_id = ctx.conversation_id
        pinned = ctx.tier if ctx.tier in router.registry.tiers else self.tier
        tier, reason = await router.choose_tier(self.agent, pinned, messages)
        tier, estimate, downgrade = router.fit_budget(tier, self.agent, messages, conversation_id)
        if downgrade:
            reason = f"{reason}; {downgrade}"
        skipped: list[str] = []
        last_error: ProviderError | None = None
        for entry in router.candidates(tier, self.agent):
            if router.too_long(entry, self.agent, messages):
                skipped.append(f"{entry.name} context too long")
                continue
            if not entry.breaker.allow():
                skipped.append(f"{entry.name} circuit open")
                continue
            labels = {"agent": self.agent.name, "tier": tier, "route": ctx.route}
            try:
                with cost_labels(conversation_id=conversation_id, **labels):
                    result = await self.agent.with_llm(router.metered(entry)).run(
                        messages, context=ctx
                    )
            except ProviderError as error:
                entry.breaker.failed()
                if ctx.stream_sink is not None:
                    ctx.stream_sink.reset()  # the next model starts the reply again
                skipped.append(f"{entry.name} failed ({type(error).__name__})")
                last_error = error
                continue
            entry.breaker.succeeded()
            return result.with_metadata(
                registry_model=entry.name,
                tier=tier,
                route_reason="; ".join([reason, *(f"fallback: {s}" for s in skipped)]),
                estimated_cost_usd=str(estimate),
                cost_usd=str(result.usage.cost),
                cost_estimated=result.usage.cost_estimated,
            )
        if last_error is not None:
            raise last_error
        raise NoRouteError(f"no model of tier {tier!r} is available: {'; '.join(skipped)}")


def _as_messages(input: str | Sequence[Message]) -> tuple[Message, ...]:
    return (Message.user(input),) if isinstance(input, str) else tuple(input)
