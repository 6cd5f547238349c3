"""`RoutedLLM`: an `LLM` that answers with the router's models of one tier."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import TYPE_CHECKING

from pyagent_providers import (
    LLM,
    ModelRequest,
    ModelResponse,
    NoRouteError,
    ProviderError,
    StreamEnd,
    StreamEvent,
    StreamSink,
)

from .registry import RegisteredModel

if TYPE_CHECKING:
    from .middleware import RouterMiddleware

__all__ = ["RoutedLLM"]


class RoutedLLM:
    """An `LLM` answering with the router's models of one tier.

    As pydantic-ai's ``FallbackModel`` is a ``Model``: each call checks the budget
    (moving to a cheaper tier, or raising), skips models whose circuit is open or whose
    ``max_input_tokens`` the prompt exceeds, and falls back to the tier's next model on a
    provider error. Only the failed call is repeated, never the tool calls an agent
    already made. What happened is kept for the run's record.

    Args:
        router: The routing policy and registry.
        tier: The tier chosen for the run.
        preferred: The agent's own model, tried first when it is in the tier.
        agent: The agent's name (budget messages).
        conversation_id: For the per-conversation budget.
        sink: The run's stream sink, reset when a model fails mid-reply.
    """

    def __init__(
        self,
        router: RouterMiddleware,
        tier: str,
        *,
        preferred: LLM | None = None,
        agent: str = "",
        conversation_id: str | None = None,
        sink: StreamSink | None = None,
    ) -> None:
        self.router = router
        self.tier = tier
        self.preferred = preferred
        self.agent = agent
        self.conversation_id = conversation_id
        self.sink = sink
        self.answered_by: str | None = None
        self.estimated_cost = Decimal(0)
        self.notes: list[str] = []

    @property
    def model_id(self) -> str:
        """``"router:<tier>"``; each response names the model that really answered."""
        return f"router:{self.tier}"

    def __repr__(self) -> str:
        return f"RoutedLLM(tier={self.tier!r})"

    async def complete(self, request: ModelRequest) -> ModelResponse:
        """Answer with the first model of the tier that can."""
        last_error: ProviderError | None = None
        for entry in await self._plan(request):
            if not self._may_call(entry):
                continue
            try:
                response = await self.router.metered(entry).complete(request)
            except ProviderError as error:
                last_error = self._failed(entry, error)
                continue
            return self._answered(entry, response)
        raise self._nothing_answered(last_error)

    async def stream(self, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        """Stream from the first model of the tier that can.

        A model failing mid-reply resets the sink; the next model starts the reply again.
        """
        last_error: ProviderError | None = None
        for entry in await self._plan(request):
            if not self._may_call(entry):
                continue
            try:
                async for event in self.router.metered(entry).stream(request):
                    if isinstance(event, StreamEnd):
                        self._answered(entry, event.response)
                    yield event
                return
            except ProviderError as error:
                last_error = self._failed(entry, error)
                if self.sink is not None:
                    self.sink.reset()
        raise self._nothing_answered(last_error)

    async def _plan(self, request: ModelRequest) -> list[RegisteredModel]:
        """The models to try for this call, after the budget and the context limits."""
        tier, estimate, downgrade = await self.router.fit_budget(
            self.tier,
            request,
            preferred=self.preferred,
            conversation_id=self.conversation_id,
            agent=self.agent,
        )
        if downgrade:
            self._note(downgrade)
        self.tier = tier
        self.estimated_cost += estimate
        usable: list[RegisteredModel] = []
        for entry in self.router.candidates(tier, self.preferred):
            if self.router.too_long(entry, request):
                self._note(f"fallback: {entry.name} context too long")
            elif entry.breaker.state == "open":
                self._note(f"fallback: {entry.name} circuit open")
            else:
                usable.append(entry)
        return usable

    def _may_call(self, entry: RegisteredModel) -> bool:
        """Ask the breaker just before the call (a half-open one lends one probe)."""
        if entry.breaker.allow():
            return True
        self._note(f"fallback: {entry.name} circuit open")
        return False

    def _answered(self, entry: RegisteredModel, response: ModelResponse) -> ModelResponse:
        entry.breaker.succeeded()
        self.answered_by = entry.name
        return response

    def _failed(self, entry: RegisteredModel, error: ProviderError) -> ProviderError:
        entry.breaker.failed()
        self._note(f"fallback: {entry.name} failed ({type(error).__name__})")
        return error

    def _note(self, note: str) -> None:
        if note not in self.notes:
            self.notes.append(note)

    def _nothing_answered(self, last_error: ProviderError | None) -> Exception:
        if last_error is not None:
            return last_error
        skipped = "; ".join(self.notes) or "no models"
        return NoRouteError(f"no model of tier {self.tier!r} is available: {skipped}")
