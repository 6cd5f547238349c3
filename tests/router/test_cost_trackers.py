"""Both cost trackers, SQLite (a file) and PostgreSQL (the machine's), behave alike."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from pyagent_patterns import Agent
from pyagent_providers import BudgetExceeded, ScriptedModel, StoreUnavailable, Usage
from pyagent_router import (
    Budget,
    CallRecord,
    CostTracker,
    ModelRegistry,
    PostgresCostTracker,
    RouterMiddleware,
    SQLiteCostTracker,
    open_cost_tracker,
)

Opener = Callable[[], CostTracker]


@pytest.fixture(params=["sqlite", "postgres"])
def open_tracker(request: pytest.FixtureRequest, tmp_path: Path) -> Opener:
    """Opens a tracker on one shared store, as each process of a service would."""
    if request.param == "sqlite":
        return lambda: SQLiteCostTracker(tmp_path / "costs.sqlite3")
    url: str = request.getfixturevalue("postgres_url")
    return lambda: PostgresCostTracker(url)


@pytest.fixture
async def trackers(open_tracker: Opener) -> AsyncIterator[tuple[CostTracker, CostTracker]]:
    first, second = open_tracker(), open_tracker()
    yield first, second
    for tracker in (first, second):
        if isinstance(tracker, PostgresCostTracker):
            await tracker.close()


def call(
    cost: str,
    *,
    conversation: str | None = "c1",
    agent: str | None = "billing",
    at: datetime | None = None,
    estimated: bool = False,
) -> CallRecord:
    return CallRecord(
        at=at or datetime.now(UTC),
        model="openai:gpt-4o-mini",
        priced_as="openai:gpt-4o-mini",
        tier="fast",
        agent=agent,
        route="billing" if agent else None,
        conversation_id=conversation,
        query=None,
        usage=Usage(
            input_tokens=100,
            output_tokens=20,
            cached_input_tokens=10,
            cost=Decimal(cost),
            cost_estimated=estimated,
        ),
    )


async def test_records_and_totals_are_shared_by_two_trackers(
    trackers: tuple[CostTracker, CostTracker],
) -> None:
    first, second = trackers
    yesterday = datetime.now(UTC) - timedelta(days=1)
    await first.record(call("0.000150", estimated=True))
    await second.record(call("0.1", conversation="c2", agent=None))
    await first.record(call("0.000001", at=yesterday))

    for tracker in (first, second):  # each sees every process's calls
        records = await tracker.records()
        assert [r.cost for r in records] == [Decimal("0.000150"), Decimal("0.1"), Decimal("1E-6")]
        assert records[0].estimated and not records[1].estimated
        assert records[0].usage.cached_input_tokens == 10
        assert records[0].at.tzinfo is not None and records[2].at.date() == yesterday.date()
        assert await tracker.total() == Decimal("0.100151")
        assert await tracker.spent_today() == Decimal("0.100150")
        assert await tracker.spent_today(yesterday.date()) == Decimal("0.000001")
        assert await tracker.spent_on_conversation("c1") == Decimal("0.000151")
        assert await tracker.spent_on_conversation("nobody") == 0
        assert await tracker.by("agent") == {"billing": Decimal("0.000151"), "-": Decimal("0.1")}
        assert await tracker.by("day") == {
            datetime.now(UTC).date().isoformat(): Decimal("0.100150"),
            yesterday.date().isoformat(): Decimal("0.000001"),
        }
        assert [r.conversation_id for r in await tracker.records(agent=None)] == ["c2"]
        assert len(await tracker.records(conversation_id="c1", agent="billing")) == 2
        assert await tracker.total(day="not a day") == 0
    with pytest.raises(ValueError, match="cannot filter"):
        await first.records(secret="x")
    with pytest.raises(ValueError, match="cannot group"):
        await first.by("secret")  # type: ignore[arg-type]


async def test_a_daily_budget_counts_the_other_processes_spending(
    trackers: tuple[CostTracker, CostTracker],
) -> None:
    first, second = trackers
    fast = ScriptedModel(default="word " * 200)
    registry = ModelRegistry()
    registry.register("fast", fast, tier="fast", priced_as="openai:gpt-4o-mini")
    await RouterMiddleware(registry, tracker=first).wrap(Agent("bot", fast)).run("hi")
    spent = await first.spent_today()
    assert spent > 0 and await second.spent_today() == spent

    budget = Budget(per_day=spent, on_exceed="raise")  # the other process spent it all
    other = RouterMiddleware(registry, tracker=second, budget=budget).wrap(Agent("bot", fast))
    with pytest.raises(BudgetExceeded, match="daily budget"):
        await other.run("hi")

    await first.record(call("0.01", conversation="c9"))  # c9's spending, in one process
    per_conversation = Budget(per_conversation=Decimal("0.01"), on_exceed="raise")
    bot = RouterMiddleware(registry, tracker=second, budget=per_conversation).wrap(
        Agent("bot", fast)
    )
    with pytest.raises(BudgetExceeded, match="conversation budget"):
        await bot.run("hi", context={"conversation_id": "c9"})
    await bot.run("hi", context={"conversation_id": "c10"})


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def test_a_call_is_kept_while_postgres_is_down_and_written_later(
    postgres_url: str,
) -> None:
    down = PostgresCostTracker(f"postgresql://postgres@127.0.0.1:{closed_port()}/x")
    down.db.timeout = 1.0
    await down.record(call("0.5"))  # no error: the paid call is kept
    with pytest.raises(StoreUnavailable):
        await down.total()
    await down.close()
    # the database is back (here: the tracker is pointed at a running one)
    up = PostgresCostTracker(postgres_url)
    up._pending = down._pending  # pyright: ignore[reportPrivateUsage]
    await up.record(call("0.25"))
    assert [r.cost for r in await up.records()] == [Decimal("0.5"), Decimal("0.25")]
    await up.close()


def test_open_cost_tracker_follows_pyagent_database_url(
    monkeypatch: pytest.MonkeyPatch, postgres_url: str, tmp_path: Path
) -> None:
    monkeypatch.delenv("PYAGENT_DATABASE_URL", raising=False)
    assert isinstance(open_cost_tracker(), SQLiteCostTracker)
    on_file = open_cost_tracker(tmp_path / "costs.sqlite3")
    assert isinstance(on_file, SQLiteCostTracker) and on_file.path == tmp_path / "costs.sqlite3"
    monkeypatch.setenv("PYAGENT_DATABASE_URL", postgres_url)
    shared = open_cost_tracker()
    assert isinstance(shared, PostgresCostTracker) and "postgres" not in repr(shared)


def test_the_support_system_records_in_postgres_when_configured(
    monkeypatch: pytest.MonkeyPatch, postgres_url: str
) -> None:
    from pyagent_cookbook.customer_support import SupportSystem

    monkeypatch.setenv("PYAGENT_DATABASE_URL", postgres_url)
    system = SupportSystem(classification="local")
    assert isinstance(system.tracker, PostgresCostTracker)
