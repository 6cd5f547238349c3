"""`RouterMiddleware`: wraps agents so every call goes through the model registry.

``RouterMiddleware(model_registry={name: llm}).wrap(agent)`` returns an agent with the
same interface whose results record which registered model answered
(``metadata["registry_model"]``) next to the exact model id (``routed_model``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, Self

from pyagent_providers import LLM, Message

__all__ = ["RoutableAgent", "RoutedAgent", "RouterMiddleware"]


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

    async def run(
        self, input: str | Sequence[Message], *, context: Mapping[str, Any] | None = None
    ) -> Any:
        """Answer `input`."""
        ...


class RouterMiddleware:
    """Routes agents' calls through a registry of named models.

    Args:
        model_registry: Model name → model, cheapest first.
    """

    def __init__(self, model_registry: Mapping[str, LLM]) -> None:
        if not model_registry:
            raise ValueError("the model registry is empty")
        self.models = dict(model_registry)

    def name_of(self, llm: LLM) -> str | None:
        """The registry name of `llm` (``None`` if it is not registered)."""
        return next((name for name, model in self.models.items() if model is llm), None)

    def wrap(self, agent: RoutableAgent) -> RoutedAgent:
        """`agent` with its calls routed through this middleware."""
        return RoutedAgent(agent, self)


class RoutedAgent:
    """An agent whose calls go through a `RouterMiddleware`."""

    def __init__(self, agent: RoutableAgent, router: RouterMiddleware) -> None:
        self.agent = agent
        self.router = router

    @property
    def name(self) -> str:
        """The wrapped agent's name."""
        return self.agent.name

    @property
    def llm(self) -> LLM:
        """The model the wrapped agent is pinned to."""
        return self.agent.llm

    def __repr__(self) -> str:
        return f"RoutedAgent({self.agent!r})"

    async def run(
        self, input: str | Sequence[Message], *, context: Mapping[str, Any] | None = None
    ) -> Any:
        """Run the agent and record which registered model answered."""
        result: AgentResult = await self.agent.run(input, context=context)
        return result.with_metadata(registry_model=self.router.name_of(self.agent.llm))
