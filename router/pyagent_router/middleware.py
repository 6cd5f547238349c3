"""`RouterMiddleware`: every call of a wrapped agent goes to a model the routing policy picks.

``RouterMiddleware(model_registry={name: llm}).wrap(agent)`` (the seed's form) returns an
agent with the same interface. For each run the policy picks a **tier**: pinned by
``wrap(agent, tier="smart")`` or the run's ``RunContext.tier``; ``tier="auto"`` asks the
difficulty estimator and `choose_tier` (the one rule, shared with `TalkerReasoner`);
otherwise the tier of the model the agent was built with. The agent then runs on a
`RoutedLLM` of that tier, which for **each model call**

1. checks the **budget** with a pre-call estimate (tiktoken count, labelled an estimate):
   a call that would overrun moves to the next cheaper tier, or raises `BudgetExceeded`;
2. tries the tier's models in order (the agent's own model first), skipping those whose
   **circuit breaker** is open or whose ``max_input_tokens`` the prompt exceeds, and
   **falls back** to the next one on a provider error (only that call is repeated).

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
    ModelRequest,
    NoRouteError,
    UserError,
    count_message_tokens,
)
from pyagent_providers.concurrency import run_blocking

from .budget import Budget, estimate_call_cost
from .context import ContextArg, RunContext
from .difficulty import DifficultyEstimator
from .registry import ModelRegistry, RegisteredModel
from .routed_llm import RoutedLLM
from .sqlite_costs import SQLiteCostTracker
from .tiers import TierDecision, choose_tier
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
        self.tracker: CostTracker = tracker or SQLiteCostTracker()
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
            self._metered[entry.name] = MeteredLLM(
                entry.llm,
                self.tracker,
                tier=entry.tier,
                priced_as=entry.priced_as if stand_in else None,
            )
        return self._metered[entry.name]

    async def choose_tier(
        self, agent: RoutableAgent, pinned: str | None, messages: Sequence[Message], ctx: RunContext
    ) -> TierDecision:
        """The tier for this run and why (difficulty via `choose_tier`, the one rule)."""
        if pinned is not None and pinned != AUTO:
            return TierDecision(tier=pinned, reason=f"tier {pinned} pinned")
        if pinned == AUTO and self.estimator is not None:
            estimate = await self.estimator.estimate(messages)
            tiers = self.registry.tiers
            return choose_tier(
                estimate.difficulty,
                threshold=self.handoff_threshold,
                cheap=tiers[0],
                strong=tiers[-1],
                hold_tier=ctx.hold_tier,
                release_below=ctx.release_below,
            )
        own = self.registry.entry_for(agent.llm)
        if own is not None:
            return TierDecision(tier=own.tier, reason=f"the tier of {own.name}")
        return TierDecision(tier=self.registry.tiers[0], reason="unregistered model: cheapest tier")

    def candidates(self, tier: str, preferred: LLM | None = None) -> list[RegisteredModel]:
        """The tier's models in fallback order, `preferred` (the agent's own model) first."""
        models = self.registry.in_tier(tier)
        if not models:
            raise NoRouteError(f"no model is registered in tier {tier!r}")
        return sorted(models, key=lambda entry: entry.llm is not preferred)

    def estimate(self, entry: RegisteredModel, request: ModelRequest) -> Decimal:
        """Pre-call cost estimate of `request` on `entry` (a tiktoken count)."""
        return estimate_call_cost(
            entry.price,
            request.messages,
            entry.priced_as,
            system=request.system_with_examples(),
            expected_output_tokens=self.budget.expected_output_tokens if self.budget else 300,
        )

    def too_long(self, entry: RegisteredModel, request: ModelRequest) -> bool:
        """Whether the prompt exceeds `entry`'s ``max_input_tokens`` (a tiktoken count)."""
        if entry.max_input_tokens is None:
            return False
        system = request.system_with_examples()
        tokens = count_message_tokens(request.messages, entry.priced_as, system=system)
        return tokens > entry.max_input_tokens

    async def fit_budget(
        self,
        tier: str,
        request: ModelRequest,
        *,
        preferred: LLM | None,
        conversation_id: str | None,
        agent: str,
    ) -> tuple[str, Decimal, str | None]:
        """The tier that fits the budget, its estimate, and why it changed (if it did).

        Raises:
            BudgetExceeded: No tier fits (or the budget says raise).
        """
        estimate = self.estimate(self.candidates(tier, preferred)[0], request)
        if self.budget is None:
            return tier, estimate, None
        budget = self.budget
        conversation_spent = (
            await self.tracker.spent_on_conversation(conversation_id) if conversation_id else None
        )
        day_spent = await self.tracker.spent_today()

        def overrun(estimate: Decimal) -> str | None:
            return budget.overrun(
                estimate=estimate, conversation_spent=conversation_spent, day_spent=day_spent
            )

        reason = overrun(estimate)
        if reason is None:
            return tier, estimate, None
        cheaper = self.registry.cheaper_tier(tier)
        while budget.on_exceed == "downgrade" and cheaper is not None:
            estimate = self.estimate(self.candidates(cheaper, preferred)[0], request)
            if overrun(estimate) is None:
                return cheaper, estimate, f"downgraded from {tier}: {reason}"
            cheaper = self.registry.cheaper_tier(cheaper)
        raise BudgetExceeded(f"a call by {agent!r} would exceed the {reason}")


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

    def run_sync(self, input: str | Sequence[Message], *, context: ContextArg = None) -> Any:
        """`run` for scripts without an event loop of their own."""
        return run_blocking(lambda: self.run(input, context=context))

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
        """Answer `input` on the tier the policy picks; each call falls back within it.

        Raises:
            BudgetExceeded: A call does not fit the budget (and downgrading did not help).
            NoRouteError: Every model of the tier has its circuit open.
            ProviderError: Every model of the tier failed; the last error is raised.
        """
        router = self.router
        messages = _as_messages(input)
        ctx = RunContext.of(context)
        pinned = ctx.tier if ctx.tier in router.registry.tiers else self.tier
        decision = await router.choose_tier(self.agent, pinned, messages, ctx)
        llm = RoutedLLM(
            router,
            decision.tier,
            preferred=self.agent.llm,
            agent=self.agent.name,
            conversation_id=ctx.conversation_id,
            sink=ctx.stream_sink,
        )
        labels = {"agent": self.agent.name, "tier": decision.tier, "route": ctx.route}
        with cost_labels(conversation_id=ctx.conversation_id, **labels):
            result = await self.agent.with_llm(llm).run(messages, context=ctx)
        return result.with_metadata(
            registry_model=llm.answered_by,
            tier=llm.tier,
            route_reason="; ".join([decision.reason, *llm.notes]),
            estimated_cost_usd=str(llm.estimated_cost),
        )


def _as_messages(input: str | Sequence[Message]) -> tuple[Message, ...]:
    return (Message.user(input),) if isinstance(input, str) else tuple(input)
