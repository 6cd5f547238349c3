"""Model prices as data, and the cost of a call computed from the usage the API returned.

The shipped table (`pricing.toml`, with its as-of date) can be replaced with
`PricingTable.load(path)`, extended with `PricingTable.with_prices(...)`, or replaced
process-wide by pointing the ``PYAGENT_PRICING`` environment variable at a TOML file of
the same shape. Money is `Decimal` throughout: float rounding would make a month of
$0.0003 calls drift.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, cast

from .errors import ConfigurationError
from .model_id import split_model_id
from .types import ModelResponse, Usage

__all__ = ["ModelPrice", "PricingTable", "cost_of", "default_pricing", "priced"]

_PER_TOKEN = Decimal(1_000_000)
_SNAPSHOT_SUFFIX = re.compile(r"-(\d{8}|\d{4}-\d{2}-\d{2})$")


@dataclass(frozen=True, kw_only=True, slots=True)
class ModelPrice:
    """Prices per million tokens.

    Attributes:
        input: Uncached input tokens.
        output: Output tokens (reasoning tokens included).
        cached_input: Input tokens read from the prompt cache; defaults to `input`.
        cache_write: Input tokens written to the cache; defaults to `input`.

    """

    input: Decimal
    output: Decimal
    cached_input: Decimal | None = None
    cache_write: Decimal | None = None

    def cost(self, usage: Usage) -> Decimal:
        """Cost in currency units of a call with this `usage`."""
        cached = usage.cached_input_tokens
        written = usage.cache_write_tokens
        uncached = max(usage.input_tokens - cached - written, 0)
        total = (
            uncached * self.input
            + cached * (self.input if self.cached_input is None else self.cached_input)
            + written * (self.input if self.cache_write is None else self.cache_write)
            + usage.output_tokens * self.output
        )
        return total / _PER_TOKEN


@dataclass(frozen=True, kw_only=True, slots=True)
class PricingTable:
    """A versioned price list keyed by ``"provider:model"``.

    Attributes:
        as_of: The date the prices were taken from the vendors' pages.
        currency: ISO currency code of every price.
        prices: Price per model id; ``"provider:*"`` covers every model of a provider.

    """

    as_of: date
    currency: str = "USD"
    prices: Mapping[str, ModelPrice] = field(default_factory=dict[str, ModelPrice])

    @classmethod
    def load(cls, path: str | Path) -> PricingTable:
        """Read a table from a TOML file shaped like the shipped ``pricing.toml``."""
        try:
            with open(path, "rb") as handle:
                return cls.from_dict(tomllib.load(handle))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigurationError(f"cannot read pricing table {path}: {exc}") from exc

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PricingTable:
        """Build a table from decoded TOML/JSON data."""
        try:
            prices: dict[str, ModelPrice] = {}
            models = cast(Mapping[str, Mapping[str, Any]], data["models"])
            for model_id, entry in models.items():
                price = ModelPrice(
                    input=Decimal(str(entry["input"])),
                    output=Decimal(str(entry["output"])),
                    cached_input=_decimal_or_none(entry.get("cached_input")),
                    cache_write=_decimal_or_none(entry.get("cache_write")),
                )
                provider, _ = split_model_id(model_id)
                prices[model_id] = price
                for alias in cast(list[str], entry.get("aliases", [])):
                    prices[f"{provider}:{alias}"] = price
            return cls(
                as_of=date.fromisoformat(str(data["as_of"])),
                currency=str(data.get("currency", "USD")),
                prices=prices,
            )
        except (KeyError, ValueError, ArithmeticError) as exc:
            raise ConfigurationError(f"invalid pricing table: {exc!r}") from exc

    def with_prices(
        self, prices: Mapping[str, ModelPrice], *, as_of: date | None = None
    ) -> PricingTable:
        """A copy with `prices` added or replaced (e.g. your negotiated rates)."""
        return replace(self, prices={**self.prices, **prices}, as_of=as_of or self.as_of)

    def find(self, model_id: str) -> ModelPrice | None:
        """The price of `model_id`, or ``None`` when the table does not know it."""
        provider, model = split_model_id(model_id)
        base = _SNAPSHOT_SUFFIX.sub("", model)
        for key in (f"{provider}:{model}", f"{provider}:{base}", f"{provider}:*"):
            if key in self.prices:
                return self.prices[key]
        return None

    def price(self, model_id: str) -> ModelPrice:
        """The price of `model_id`.

        Raises:
            ConfigurationError: The model is not in the table.

        """
        found = self.find(model_id)
        if found is None:
            raise ConfigurationError(
                f"no price for {model_id!r} in the pricing table (as of {self.as_of}); "
                "add it with PricingTable.with_prices(...)"
            )
        return found

    def cost(self, usage: Usage, model_id: str) -> Decimal:
        """The cost of a call with `usage` on `model_id`."""
        return self.price(model_id).cost(usage)


def _decimal_or_none(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


@cache
def default_pricing() -> PricingTable:
    """The shipped table, or the file named by ``PYAGENT_PRICING`` when set."""
    override = os.environ.get("PYAGENT_PRICING")
    if override:
        return PricingTable.load(override)
    text = resources.files("pyagent_providers").joinpath("pricing.toml").read_text(encoding="utf-8")
    return PricingTable.from_dict(tomllib.loads(text))


def priced(
    response: ModelResponse, *, as_model: str | None = None, table: PricingTable | None = None
) -> ModelResponse:
    """`response` with its usage's cost set from the pricing table.

    Args:
        response: A model's answer.
        as_model: Price its token counts as this model instead (a stand-in such as the
            offline `LocalModel` priced as gpt-4o-mini): the cost is marked estimated.
        table: The price table (the shipped one by default).

    A model the table does not know gets ``cost=None``: unknown, not free.
    """
    model_id = as_model or response.model_id
    price = (table or default_pricing()).find(model_id)
    usage = replace(
        response.usage,
        cost=price.cost(response.usage) if price else None,
        cost_estimated=as_model is not None and as_model != response.model_id,
    )
    return replace(response, usage=usage)


def cost_of(usage: Usage, model_id: str, *, table: PricingTable | None = None) -> Decimal:
    """Cost of a call on `model_id` (``"provider:model"``) that reported `usage`."""
    return (table or default_pricing()).cost(usage, model_id)
