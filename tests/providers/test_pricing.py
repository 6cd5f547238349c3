from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from pyagent_providers import ConfigurationError, ModelPrice, PricingTable, Usage, cost_of
from pyagent_providers.pricing import default_pricing


def test_gpt_4o_mini_cost_matches_hand_computation() -> None:
    # 1,200 prompt tokens of which 200 cached, 300 output, at $0.15 / $0.075 / $0.60 per 1M:
    # 1000 * 0.15 + 200 * 0.075 + 300 * 0.60 = 150 + 15 + 180 = 345 micro-dollars.
    usage = Usage(input_tokens=1200, cached_input_tokens=200, output_tokens=300)
    assert cost_of(usage, "openai:gpt-4o-mini") == Decimal("0.000345")


def test_claude_sonnet_cost_matches_hand_computation() -> None:
    # 2,000 input (500 read from cache, 100 written), 400 output, Sonnet 4 at
    # $3 input, $0.30 cache read, $3.75 cache write, $15 output per 1M:
    # 1400*3 + 500*0.30 + 100*3.75 + 400*15 = 4200 + 150 + 375 + 6000 = 10725 micro-dollars.
    usage = Usage(
        input_tokens=2000, cached_input_tokens=500, cache_write_tokens=100, output_tokens=400
    )
    assert cost_of(usage, "anthropic:claude-sonnet-4-20250514") == Decimal("0.010725")


def test_dated_snapshots_and_aliases_price_as_their_base_model() -> None:
    table = default_pricing()
    assert table.price("openai:gpt-4o-mini-2024-07-18") == table.price("openai:gpt-4o-mini")
    assert table.price("anthropic:claude-haiku-3.5") == table.price(
        "anthropic:claude-3-5-haiku-20241022"
    )
    assert table.price("gpt-4.1-nano").input == Decimal("0.10")  # bare name: provider inferred


def test_the_issue_models_are_all_priced() -> None:
    table = default_pricing()
    for model_id in [
        "openai:gpt-4o-mini",
        "openai:gpt-4o",
        "openai:gpt-4.1",
        "openai:gpt-4.1-mini",
        "openai:gpt-4.1-nano",
        "openai:o4-mini",
        "anthropic:claude-sonnet-4-20250514",
        "anthropic:claude-3-5-haiku-20241022",
        "anthropic:claude-haiku-4-5-20251001",
        "anthropic:claude-opus-4-20250514",
    ]:
        price = table.price(model_id)
        assert price.input > 0 and price.output > price.input
        assert price.cached_input is not None and price.cached_input < price.input
    assert isinstance(table.as_of, date)


def test_local_and_test_models_are_free() -> None:
    usage = Usage(input_tokens=10_000, output_tokens=10_000)
    assert cost_of(usage, "local:minilm") == 0
    assert cost_of(usage, "test:scripted") == 0


def test_unknown_model_is_a_clear_error() -> None:
    with pytest.raises(ConfigurationError, match="no price for 'openai:gpt-9'"):
        cost_of(Usage(input_tokens=1), "openai:gpt-9")


def test_overrides_replace_prices() -> None:
    table = default_pricing().with_prices(
        {"openai:gpt-4o-mini": ModelPrice(input=Decimal("1"), output=Decimal("2"))}
    )
    usage = Usage(input_tokens=1_000_000, cached_input_tokens=500_000, output_tokens=1_000_000)
    # cached_input falls back to the input price when not given
    assert table.cost(usage, "openai:gpt-4o-mini") == Decimal("3")
    assert default_pricing().cost(usage, "openai:gpt-4o-mini") != Decimal("3")


def test_table_loads_from_a_file_and_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "prices.toml"
    path.write_text(
        'as_of = "2026-01-01"\n[models."openai:gpt-4o-mini"]\ninput = "0.2"\noutput = "0.8"\n'
    )
    table = PricingTable.load(path)
    assert table.as_of == date(2026, 1, 1)
    assert table.cost(Usage(output_tokens=1_000_000), "openai:gpt-4o-mini") == Decimal("0.8")

    monkeypatch.setenv("PYAGENT_PRICING", str(path))
    default_pricing.cache_clear()
    try:
        assert default_pricing().as_of == date(2026, 1, 1)
    finally:
        monkeypatch.delenv("PYAGENT_PRICING")
        default_pricing.cache_clear()


def test_broken_table_is_a_configuration_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('as_of = "2026-01-01"\n[models."openai:x"]\ninput = "abc"\noutput = "1"\n')
    with pytest.raises(ConfigurationError, match="invalid pricing table"):
        PricingTable.load(path)
    with pytest.raises(ConfigurationError, match="cannot read"):
        PricingTable.load(tmp_path / "missing.toml")
