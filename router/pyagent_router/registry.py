"""`ModelRegistry`: the models a router may use, with their tier, price and limits."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from pyagent_providers import LLM, ModelPrice, UserError, default_pricing

from .breaker import CircuitBreaker

__all__ = ["DEFAULT_TIERS", "ModelRegistry", "RegisteredModel"]

DEFAULT_TIERS = ("fast", "smart")


@dataclass(frozen=True, kw_only=True, slots=True)
class RegisteredModel:
    """A model the router can send calls to.

    Attributes:
        name: Registry name (e.g. ``"gpt-4o-mini"``).
        llm: The model.
        tier: Its tier (e.g. ``"fast"`` or ``"smart"``).
        priced_as: Model id whose prices apply; defaults to the llm's own id. Set it when a
            stand-in (LocalModel, a test double) plays the part of a paid model.
        price: The price used for estimates and costs (``None`` if unknown).
        max_input_tokens: Longest prompt this model accepts (``None`` for no check).
        breaker: The model's circuit breaker.
    """

    name: str
    llm: LLM
    tier: str
    priced_as: str
    price: ModelPrice | None
    max_input_tokens: int | None = None
    breaker: CircuitBreaker = field(default_factory=CircuitBreaker)


class ModelRegistry:
    """Named models grouped in tiers, cheapest tier first.

    Args:
        tiers: Tier names from cheapest to most capable.
    """

    def __init__(self, tiers: Sequence[str] = DEFAULT_TIERS) -> None:
        if len(set(tiers)) != len(tiers) or not tiers:
            raise UserError("tiers must be distinct names, cheapest first")
        self.tiers = tuple(tiers)
        self._models: dict[str, RegisteredModel] = {}

    @classmethod
    def from_mapping(
        cls, models: Mapping[str, LLM], *, tiers: Sequence[str] = DEFAULT_TIERS
    ) -> ModelRegistry:
        """A registry from ``{name: llm}``, the seed's form.

        The cheapest model (by list price, ties and unpriced models in the order given)
        goes to the first tier, every other model to the last tier.
        """
        registry = cls(tiers)
        names = list(models)
        prices = {name: _list_price(models[name].model_id) for name in names}
        cheapest = min(names, key=lambda n: (prices[n] is None, prices[n] or 0, names.index(n)))
        for name in names:
            registry.register(name, models[name], tier=tiers[0] if name == cheapest else tiers[-1])
        return registry

    def register(
        self,
        name: str,
        llm: LLM,
        *,
        tier: str,
        priced_as: str | None = None,
        max_input_tokens: int | None = None,
        breaker: CircuitBreaker | None = None,
    ) -> RegisteredModel:
        """Add a model to a tier (registration order is the fallback order in a tier)."""
        if tier not in self.tiers:
            raise UserError(f"unknown tier {tier!r}; tiers are {list(self.tiers)}")
        if name in self._models:
            raise UserError(f"a model named {name!r} is already registered")
        model_id = priced_as or llm.model_id
        entry = RegisteredModel(
            name=name,
            llm=llm,
            tier=tier,
            priced_as=model_id,
            price=default_pricing().find(model_id),
            max_input_tokens=max_input_tokens,
            breaker=breaker or CircuitBreaker(),
        )
        self._models[name] = entry
        return entry

    def __iter__(self) -> Iterator[RegisteredModel]:
        return iter(self._models.values())

    def __len__(self) -> int:
        return len(self._models)

    def __getitem__(self, name: str) -> RegisteredModel:
        return self._models[name]

    def in_tier(self, tier: str) -> list[RegisteredModel]:
        """The tier's models in fallback order."""
        return [m for m in self._models.values() if m.tier == tier]

    def entry_for(self, llm: LLM) -> RegisteredModel | None:
        """The registration of `llm` (by identity), if any."""
        return next((m for m in self._models.values() if m.llm is llm), None)

    def cheaper_tier(self, tier: str) -> str | None:
        """The next cheaper tier that has models, or ``None``."""
        index = self.tiers.index(tier)
        return next((t for t in reversed(self.tiers[:index]) if self.in_tier(t)), None)


def _list_price(model_id: str) -> float | None:
    price = default_pricing().find(model_id)
    return None if price is None else float(price.input + price.output)
