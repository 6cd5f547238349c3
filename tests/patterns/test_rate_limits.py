"""Rate limits shared through the machine's Redis, and failing open when it is down."""

from __future__ import annotations

import logging
import socket
import uuid
from pathlib import Path

import pytest

from pyagent_patterns import Agent
from pyagent_patterns.chat import ChatHandler, RateLimits, SQLiteConversationStore
from pyagent_patterns.chat.limits import RateLimiter, RedisRateLimiter
from pyagent_providers import FunctionModel, StoreUnavailable, TooManyRequests, UserError
from tests.conftest import REDIS_URL


def closed_port_url() -> str:
    """A Redis URL where nothing listens (the port was free a moment ago)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def prefix() -> str:
    """Keys of this test only (the machine's Redis is shared by every test run)."""
    return f"pyagent-test-{uuid.uuid4().hex}"


async def test_two_processes_share_the_limits_through_redis(prefix: str) -> None:
    limits = RateLimits(per_conversation=2, per_user=3, window_seconds=60)
    first, second = (RateLimiter(limits, redis_url=REDIS_URL, key_prefix=prefix) for _ in range(2))
    assert first.shared is not None
    await first.check("c1", "u1")
    await second.check("c1", "u1")
    with pytest.raises(TooManyRequests, match="this conversation: at most 2 per 60 s") as refused:
        await first.check("c1", "u1")
    assert 55 < refused.value.retry_after <= 60
    await second.check("c2", "u1")  # the user's third message
    with pytest.raises(TooManyRequests, match="this user: at most 3 per 60 s"):
        await first.check("c3", "u1")
    # a refused message is not counted: c3 has none, another user may write there
    await second.check("c3", "u2")
    await first.check("c3", "u3")
    with pytest.raises(TooManyRequests, match="conversation"):
        await first.check("c3", "u4")
    assert not first.degraded and not second.degraded
    await first.ping()


async def test_windows_are_whole_seconds_in_redis_and_expire(prefix: str) -> None:
    limiter = RedisRateLimiter(
        RateLimits(per_conversation=1, per_user=None, window_seconds=0.2),
        REDIS_URL,
        key_prefix=prefix,
    )
    assert limiter.window == 1
    await limiter.check("c1", None)
    with pytest.raises(TooManyRequests) as refused:
        await limiter.check("c1", None)
    assert 0 < refused.value.retry_after <= 1


async def test_without_a_url_the_limits_are_counted_in_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("PYAGENT_REDIS_URL", raising=False)
    limiter = RateLimiter(RateLimits(per_conversation=1, per_user=None))
    assert limiter.shared is None
    await limiter.check("c1", None)
    with pytest.raises(TooManyRequests):
        await limiter.check("c1", None)
    await limiter.ping()  # nothing to check
    monkeypatch.setenv("PYAGENT_REDIS_URL", "http://127.0.0.1:6379")
    with pytest.raises(UserError, match="PYAGENT_REDIS_URL must be a redis://"):
        RateLimiter(RateLimits())


async def test_redis_down_fails_open_to_the_process_then_comes_back(
    prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock()
    limits = RateLimits(per_conversation=2, per_user=None, window_seconds=60)
    limiter = RateLimiter(
        limits, redis_url=closed_port_url(), clock=clock, backoff=(1.0, 4.0), key_prefix=prefix
    )
    shared = limiter.shared
    assert shared is not None
    attempts: list[float] = []
    real_check = shared.check

    async def counted(conversation_id: str, user_id: str | None) -> None:
        attempts.append(clock.now)
        await real_check(conversation_id, user_id)

    shared.check = counted  # type: ignore[method-assign]

    with caplog.at_level(logging.WARNING, logger="pyagent.chat"):
        await limiter.check("c1", "u1")  # Redis refuses the connection: accepted anyway
        await limiter.check("c1", "u1")
        # the process's own window still limits: no customer floods through the outage
        with pytest.raises(TooManyRequests, match="at most 2 per 60 s"):
            await limiter.check("c1", "u1")
    assert limiter.degraded and attempts == [1000.0]  # not retried before the backoff
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "counted in this process" in warnings[0]
    with pytest.raises(StoreUnavailable, match="Redis"):
        await limiter.ping()

    clock.now += 1.5  # after the backoff Redis is tried again (still down: 2 s next)
    await limiter.check("c2", "u1")
    assert attempts == [1000.0, 1001.5]
    clock.now += 1.0
    await limiter.check("c3", "u1")
    assert len(attempts) == 2

    # Redis is back (here: the limiter now points at the running one)
    back = RedisRateLimiter(limits, REDIS_URL, key_prefix=prefix)
    limiter.shared = back
    clock.now += 1.5
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="pyagent.chat"):
        await limiter.check("c1", "u1")
    assert not limiter.degraded
    assert [r.getMessage() for r in caplog.records] == [
        "Redis answers again: rate limits are shared again"
    ]
    await limiter.check("c1", "u1")
    with pytest.raises(TooManyRequests):  # counted in Redis from now on
        await limiter.check("c1", "u1")


async def test_a_redis_that_never_answers_is_an_outage_after_the_timeout(
    prefix: str,
) -> None:
    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        limiter = RateLimiter(
            RateLimits(per_conversation=1, per_user=None),
            redis_url=f"redis://127.0.0.1:{port}/0",
            timeout=0.2,
            key_prefix=prefix,
        )
        await limiter.check("c1", None)
        assert limiter.degraded


def echo_handler(tmp_path: Path, name: str, limits: RateLimits) -> ChatHandler:
    bot = Agent("bot", FunctionModel(lambda request: "echo: " + request.messages[-1].content))
    store = SQLiteConversationStore(tmp_path / f"{name}.sqlite3")
    return ChatHandler(bot, store, limits=limits)


async def test_handlers_of_two_processes_share_a_users_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a fresh user id: the handlers' keys carry the default prefix
    user = f"u-{uuid.uuid4().hex}"
    monkeypatch.setenv("PYAGENT_REDIS_URL", REDIS_URL)
    limits = RateLimits(per_conversation=None, per_user=2)
    first, second = echo_handler(tmp_path, "a", limits), echo_handler(tmp_path, "b", limits)
    await first.reply("c1", "one", user_id=user)
    await second.reply("c2", "two", user_id=user)
    with pytest.raises(TooManyRequests, match="this user"):
        await first.reply("c3", "three", user_id=user)
    assert await first.store.get("c3") is None  # a refused message changes nothing


async def test_a_handler_answers_while_redis_is_down(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYAGENT_REDIS_URL", closed_port_url())
    handler = echo_handler(tmp_path, "c", RateLimits(per_conversation=5, per_user=5))
    reply = await handler.reply("c1", "hello", user_id="u1")
    assert reply.reply == "echo: hello" and handler.limiter.degraded
