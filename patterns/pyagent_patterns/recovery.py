"""`BoundedExecution`: retries with backoff inside one deadline, then a fallback agent.

Recovery levels, recorded in ``metadata["recovery_level"]``:

- 0: the first attempt answered;
- 1: a retry answered (after provider errors, timeouts or malformed model output);
- 2: the fallback agent answered, after the deadline or the retries ran out, or at once
  when a retry could not help (no route, budget exceeded, a bug in the pattern);
- 3: the fallback failed too; the customer gets a plain notice that the message was
  kept and the team will follow up (``metadata["error"]`` says why). The customer's
  message is never dropped: it is returned in ``RunResult.messages``.

Every attempt runs with the same `RunContext.message_id` (a new one when the caller gave
none), so a side-effecting tool call that an earlier attempt made is not made again: the
action gate returns its stored outcome (`pyagent_patterns.actions`).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid
from collections.abc import Sequence

from pyagent_providers import (
    Message,
    ModelOutputError,
    ProviderError,
    PyAgentError,
    StoreUnavailable,
    UserError,
)
from pyagent_router.context import ContextArg, RunContext

from .base import Pattern, Runnable, RunResult, as_messages
from .record import RecoveryLevel, TurnRecord

__all__ = ["BoundedExecution"]

logger = logging.getLogger("pyagent.patterns")

LAST_RESORT = (
    "Sorry — we couldn't answer automatically just now. Your message has been kept and "
    "our team will follow up."
)


class BoundedExecution(Pattern):
    """Run `pattern` with retries inside one deadline; fall back when it cannot answer.

    Args:
        pattern: The pattern to protect.
        fallback: Answers when `pattern` cannot (it gets the same conversation).
        max_retries: Retries after the first attempt.
        timeout_seconds: One deadline for all attempts of `pattern` together.
        fallback_timeout_seconds: Deadline for the fallback.
        backoff_seconds: First retry delay; doubles per retry, with jitter.
    """

    def __init__(
        self,
        pattern: Runnable,
        fallback: Runnable,
        max_retries: int = 2,
        timeout_seconds: float = 30.0,
        *,
        fallback_timeout_seconds: float = 15.0,
        backoff_seconds: float = 0.5,
    ) -> None:
        if max_retries < 0 or timeout_seconds <= 0 or fallback_timeout_seconds <= 0:
            raise UserError("max_retries must be >= 0 and timeouts positive")
        self.pattern = pattern
        self.fallback = fallback
        self.max_retries = max_retries
        self.timeout_seconds = timeout_seconds
        self.fallback_timeout_seconds = fallback_timeout_seconds
        self.backoff_seconds = backoff_seconds

    async def run(self, input: str | Sequence[Message], *, context: ContextArg = None) -> RunResult:
        """Answer `input`; see the module docstring for the recovery levels."""
        messages = as_messages(input)  # bad input is the caller's error, not a retry
        ctx = RunContext.of(context)
        if ctx.message_id is None:  # one turn: every attempt's side effects share its keys
            ctx = ctx.with_(message_id=uuid.uuid4().hex)
        sink = ctx.stream_sink
        deadline = time.monotonic() + self.timeout_seconds
        errors: list[str] = []
        for attempt in range(self.max_retries + 1):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                async with asyncio.timeout(remaining):
                    result = await self.pattern.run(messages, context=ctx)
                level = RecoveryLevel.FIRST_TRY if attempt == 0 else RecoveryLevel.RETRY
                return result.with_metadata(
                    recovery_level=level, attempts=attempt + 1, errors=errors
                )
            except (UserError, StoreUnavailable):
                # The caller's error, or the database: a fallback answer would hide a lost
                # escalation or record; the message is stored and its redelivery is answered.
                raise
            except (ProviderError, ModelOutputError, TimeoutError) as error:
                errors.append(type(error).__name__)
                logger.warning("attempt %d failed: %s", attempt + 1, type(error).__name__)
            except PyAgentError as error:  # no route, over budget: a retry would fail alike
                errors.append(type(error).__name__)
                logger.warning("attempt %d refused: %s; falling back", attempt + 1, error)
                break
            except Exception as error:  # a bug in a pattern: don't retry it, fall back
                errors.append(type(error).__name__)
                logger.exception("pattern failed unexpectedly; falling back")
                break
            if sink is not None:
                sink.reset()  # the failed attempt's partial reply is void
            delay = self.backoff_seconds * 2**attempt * random.uniform(0.5, 1.0)
            if attempt < self.max_retries and deadline - time.monotonic() > delay:
                await asyncio.sleep(delay)
        if sink is not None:
            sink.reset()
        return await self._fall_back(messages, ctx, errors)

    async def _fall_back(
        self, messages: tuple[Message, ...], context: RunContext, errors: list[str]
    ) -> RunResult:
        try:
            async with asyncio.timeout(self.fallback_timeout_seconds):
                result = await self.fallback.run(messages, context=context)
            return result.with_metadata(
                recovery_level=RecoveryLevel.FALLBACK, attempts=len(errors), errors=errors
            )
        except StoreUnavailable:
            raise
        except Exception as error:
            errors.append(type(error).__name__)
            logger.error("fallback failed too: %s", type(error).__name__)
        record = TurnRecord(
            recovery_level=RecoveryLevel.HOLDING_NOTICE, attempts=len(errors), errors=tuple(errors)
        )
        return RunResult(
            output=LAST_RESORT, record=record, messages=(*messages, Message.assistant(LAST_RESORT))
        )
