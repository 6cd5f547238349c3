import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from pyagent_patterns import Agent, BoundedExecution, Message, RunResult
from pyagent_providers import (
    BudgetExceeded,
    ModelOutputError,
    ProviderHTTPError,
    ProviderTimeoutError,
    RateLimitError,
    ScriptedModel,
    UserError,
)


class Flaky:
    """Fails with the given errors, then answers."""

    def __init__(self, *errors: BaseException, delay: float = 0.0) -> None:
        self.errors = list(errors)
        self.delay = delay
        self.seen: list[tuple[Message, ...]] = []

    async def run(
        self, input: str | Sequence[Message], *, context: Mapping[str, Any] | None = None
    ) -> RunResult:
        self.seen.append(tuple(input) if not isinstance(input, str) else (Message.user(input),))
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.errors:
            raise self.errors.pop(0)
        return RunResult(output="answer")


def bounded(pattern: Any, fallback_reply: str = "fallback", **options: Any) -> BoundedExecution:
    fallback = Agent("fallback", ScriptedModel(default=fallback_reply))
    options = {"max_retries": 2, "timeout_seconds": 5.0, "backoff_seconds": 0.01, **options}
    return BoundedExecution(pattern, fallback, **options)


async def test_first_try_is_level_0() -> None:
    result = await bounded(Flaky()).run("hi")
    assert (result.output, result.metadata["recovery_level"]) == ("answer", 0)


async def test_retry_after_provider_errors_is_level_1() -> None:
    pattern = Flaky(RateLimitError("429"), ModelOutputError("bad json", field="route"))
    result = await bounded(pattern).run("hi")
    assert result.metadata["recovery_level"] == 1 and result.metadata["attempts"] == 3
    assert result.metadata["errors"] == ["RateLimitError", "ModelOutputError"]


async def test_retries_exhausted_fall_back_at_level_2_with_the_same_message() -> None:
    pattern = Flaky(*(ProviderHTTPError("500", status_code=500) for _ in range(3)))
    result = await bounded(pattern).run("my order #123 never arrived")
    assert (result.output, result.metadata["recovery_level"]) == ("fallback", 2)
    assert result.messages[0].content == "my order #123 never arrived"


async def test_a_hanging_pattern_cannot_outlive_the_deadline() -> None:
    result = await bounded(Flaky(delay=60), timeout_seconds=0.2).run("hi")
    assert result.metadata["recovery_level"] == 2
    assert "TimeoutError" in result.metadata["errors"]


async def test_a_bug_is_not_retried_but_still_answered() -> None:
    pattern = Flaky(KeyError("oops"))
    result = await bounded(pattern).run("hi")
    assert result.metadata["recovery_level"] == 2 and len(pattern.seen) == 1


async def test_when_the_fallback_fails_too_the_message_is_kept() -> None:
    broken_fallback = Agent("fallback", ScriptedModel([ProviderTimeoutError("slow")]))
    pattern = BoundedExecution(
        Flaky(ProviderTimeoutError("slow")), broken_fallback, max_retries=0, timeout_seconds=1
    )
    result = await pattern.run("please help")
    assert result.metadata["recovery_level"] == 3
    assert "kept" in result.output and result.messages[0].content == "please help"


async def test_bad_input_is_raised_not_retried() -> None:
    pattern = Flaky()
    with pytest.raises(UserError):
        await bounded(pattern).run("")
    assert pattern.seen == []


async def test_a_refusal_that_retrying_cannot_change_falls_back_at_once() -> None:
    class OverBudget:
        calls = 0

        async def run(self, input: object, *, context: object = None) -> RunResult:
            OverBudget.calls += 1
            raise BudgetExceeded("over the daily budget")

    fallback = Agent("fallback", ScriptedModel(default="We kept your message."))
    bounded = BoundedExecution(
        pattern=OverBudget(), fallback=fallback, max_retries=3, timeout_seconds=5
    )
    result = await bounded.run("hello")
    assert OverBudget.calls == 1
    assert result.metadata["recovery_level"] == 2
    assert result.metadata["errors"] == ["BudgetExceeded"]
