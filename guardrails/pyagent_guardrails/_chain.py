"""`GuardrailChain`: runs guards in order, each on the previous one's output."""

from __future__ import annotations

import asyncio
import functools
import logging
import os
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, cast

from pyagent_guardrails._outgoing import NO_REPLY_CONTEXT, ReplyContext, ReplyGuard
from pyagent_guardrails._pii import PIIGuard
from pyagent_guardrails._types import Finding, Guard, GuardResult, invalid_text_reason, refused

logger = logging.getLogger("pyagent.guardrails")


# Presidio holds a thread for milliseconds per message. Keep it off asyncio's default
# executor, which the event loop also needs for name resolution of new connections:
# queued behind guard work, those stall (the same reason as pyagent_providers.concurrency;
# this package depends on nothing else of ours, hence a pool of its own).
_POOL = ThreadPoolExecutor(
    max_workers=min(8, (os.cpu_count() or 1) + 2), thread_name_prefix="pyagent-guard"
)


class GuardrailChain:
    """Guards applied one after another; the text passes only if every guard passes it.

    Incoming messages go through `check`, which runs the guards that have ``check``
    (`Guard`); outgoing replies go through `check_reply`, which runs those that have
    ``check_reply`` (`ReplyGuard`: `PromiseGuard`, `LeakGuard`, `SystemPromptGuard`). One
    chain can hold both kinds.

    Each guard checks the previous guard's ``sanitized_content``, so a chain of
    ``LengthGuard(truncate=True)`` and ``PIIGuard()`` redacts the truncated text. The
    chain stops at the first guard that does not pass. Findings of all guards that ran
    are merged in order; a finding's span refers to the text its own guard was given.

    The chain never raises on bad input or a broken guard: a non-``str`` input, a string
    with lone surrogates, or an exception inside a guard all give ``passed=False`` with a
    message that never quotes the text (fail closed).

    Example:
        >>> chain = GuardrailChain([LengthGuard(max_chars=3_000, truncate=True), PIIGuard()])
        >>> result = chain.check("Call me at (415) 555-0132", conversation_id="c1")
        >>> result.passed, result.sanitized_content
        (True, 'Call me at <PHONE_NUMBER_1>')
    """

    def __init__(self, guards: Sequence[Guard | ReplyGuard]) -> None:
        """Create a chain.

        Args:
            guards: The guards, in the order they run.

        Raises:
            TypeError: A guard has neither ``check`` nor ``check_reply``.
        """
        self.guards: tuple[Guard | ReplyGuard, ...] = tuple(guards)
        for guard in self.guards:
            if not (_has_method(guard, "check") or _has_method(guard, "check_reply")):
                raise TypeError(f"{type(guard).__name__} has neither check nor check_reply")

    def __repr__(self) -> str:
        return f"GuardrailChain({list(self.guards)!r})"

    def check(
        self, text: str, *, conversation_id: str | None = None, allow: Collection[str] = ()
    ) -> GuardResult:
        """Run every guard on ``text`` in order.

        Args:
            text: The message.
            conversation_id: Passed on to every guard.
            allow: Values the chain's `PIIGuard`s leave readable (`PIIGuard.check`),
                e.g. the name of the person who wrote the text.

        Returns:
            The last guard's ``sanitized_content`` when all pass, with every finding;
            otherwise ``passed=False``, ``sanitized_content=None`` and the reason.
        """

        def check(guard: Any, current: str) -> GuardResult:
            if allow and isinstance(guard, PIIGuard):
                return guard.check(current, conversation_id=conversation_id, allow=allow)
            return cast(Guard, guard).check(current, conversation_id=conversation_id)

        return self._run(text, "check", "message", check)

    async def acheck(
        self, text: str, *, conversation_id: str | None = None, allow: Collection[str] = ()
    ) -> GuardResult:
        """Like `check`, in a worker thread so the event loop stays free.

        Args:
            text: The message.
            conversation_id: Passed on to every guard.
            allow: Values the chain's `PIIGuard`s leave readable.

        Returns:
            The same result `check` gives.
        """
        loop = asyncio.get_running_loop()
        check = functools.partial(self.check, text, conversation_id=conversation_id, allow=allow)
        return await loop.run_in_executor(_POOL, check)

    def check_reply(self, text: str, *, context: ReplyContext = NO_REPLY_CONTEXT) -> GuardResult:
        """Run every outgoing guard (`ReplyGuard`) on a bot's reply, in order.

        Input-only guards (`LengthGuard`, `PIIGuard`) are skipped. Like `check`, the chain
        stops at the first guard that does not pass and fails closed on bad text or a
        broken guard; messages never quote the reply.

        Args:
            text: The reply, before it is sent to the customer.
            context: What the guards may know about this turn (`ReplyContext`).

        Returns:
            The reply when every outgoing guard passes it, with their findings;
            otherwise ``passed=False``, ``sanitized_content=None`` and the reason.
        """

        def check(guard: Any, current: str) -> GuardResult:
            return cast(ReplyGuard, guard).check_reply(current, context)

        return self._run(text, "check_reply", "reply", check)

    def _run(
        self, text: str, method: str, what: str, check: Callable[[Any, str], GuardResult]
    ) -> GuardResult:
        """Every guard that has `method`, in order, each on the previous one's output.

        Stops at the first that does not pass; fails closed on bad text or a guard that
        raises (`what` names the text in messages: ``message`` or ``reply``).
        """
        reason = invalid_text_reason(text)
        if reason is not None:
            return refused(reason)
        current = text
        findings: list[Finding] = []
        for member in self.guards:
            if not _has_method(member, method):
                continue  # a guard for the other direction
            name = _guard_name(member)
            try:
                result = check(member, current)
            except Exception as exc:
                logger.error("guard %r raised %s; %s withheld", name, type(exc).__name__, what)
                return refused(f"guard '{name}' failed; {what} withheld", findings=tuple(findings))
            refusal = _step(result, name, findings, what)
            if refusal is not None:
                return refusal
            current = cast(str, result.sanitized_content)
        return GuardResult(passed=True, sanitized_content=current, findings=tuple(findings))

    async def acheck_reply(
        self, text: str, *, context: ReplyContext = NO_REPLY_CONTEXT
    ) -> GuardResult:
        """Like `check_reply`, in a worker thread so the event loop stays free.

        Args:
            text: The reply.
            context: What the guards may know about this turn.

        Returns:
            The same result `check_reply` gives.
        """
        loop = asyncio.get_running_loop()
        check = functools.partial(self.check_reply, text, context=context)
        return await loop.run_in_executor(_POOL, check)


def _step(result: GuardResult, name: str, findings: list[Finding], what: str) -> GuardResult | None:
    """Add ``result``'s findings; return the chain's refusal if the chain must stop here."""
    findings.extend(result.findings)
    if not result.passed:
        return refused(result.message or f"blocked by guard '{name}'", findings=tuple(findings))
    if result.sanitized_content is None:
        # A pass without text to pass on is a broken guard: do not fall back to the
        # unsanitized input.
        logger.error("guard %r passed without sanitized content", name)
        return refused(f"guard '{name}' failed; {what} withheld", findings=tuple(findings))
    return None


def _has_method(guard: object, method: str) -> bool:
    return callable(getattr(guard, method, None))


def _guard_name(guard: Any) -> str:
    try:
        return str(guard.name)
    except Exception:
        return type(guard).__name__
