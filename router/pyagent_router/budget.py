"""Cost budgets: what a conversation or a day may spend, and what to do when it would not fit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from pyagent_providers import Message, ModelPrice, Usage, UserError, count_message_tokens

__all__ = ["Budget", "estimate_call_cost"]


@dataclass(frozen=True, kw_only=True, slots=True)
class Budget:
    """Spending limits the router checks before each call.

    A call is allowed when what was already spent plus the call's *estimated* cost stays
    within every limit. Spending comes from the router's `CostTracker` (real usage), so a
    file-backed tracker makes the per-day limit hold across processes.

    Attributes:
        per_conversation: USD one conversation may spend (``None``: no limit).
        per_day: USD all calls of a UTC day may spend (``None``: no limit).
        on_exceed: ``"downgrade"`` tries the next cheaper tier whose estimate fits, then
            raises; ``"raise"`` raises `BudgetExceeded` at once.
        expected_output_tokens: Output tokens assumed by the pre-call estimate (the real
            reply length is unknown until the model answers).
    """

    per_conversation: Decimal | None = None
    per_day: Decimal | None = None
    on_exceed: Literal["downgrade", "raise"] = "downgrade"
    expected_output_tokens: int = 300

    def __post_init__(self) -> None:
        for name in ("per_conversation", "per_day"):
            limit = getattr(self, name)
            if limit is not None and (not isinstance(limit, Decimal) or limit < 0):
                raise UserError(f"Budget.{name} must be a non-negative Decimal, not {limit!r}")
        if self.on_exceed not in ("downgrade", "raise"):
            raise UserError("Budget.on_exceed must be 'downgrade' or 'raise'")

    def overrun(
        self, *, estimate: Decimal, conversation_spent: Decimal | None, day_spent: Decimal
    ) -> str | None:
        """Why a call estimated at `estimate` would break the budget (``None`` if it fits)."""
        if (
            self.per_conversation is not None
            and conversation_spent is not None
            and conversation_spent + estimate > self.per_conversation
        ):
            return (
                f"conversation budget ${self.per_conversation}: spent ${conversation_spent}, "
                f"this call ~${estimate:.6f}"
            )
        if self.per_day is not None and day_spent + estimate > self.per_day:
            return f"daily budget ${self.per_day}: spent ${day_spent}, this call ~${estimate:.6f}"
        return None


def estimate_call_cost(
    price: ModelPrice | None,
    messages: Sequence[Message],
    model_id: str,
    *,
    system: str | None,
    expected_output_tokens: int,
) -> Decimal:
    """Estimated USD cost of one call before it is made (tiktoken count; an estimate)."""
    if price is None:
        return Decimal(0)
    input_tokens = count_message_tokens(messages, model_id, system=system)
    return price.cost(Usage(input_tokens=input_tokens, output_tokens=expected_output_tokens))
