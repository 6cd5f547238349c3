"""`ToolPolicy`: code, not the model, decides whether a tool call may run.

The action gate asks the policy before every tool call, with the call's validated
arguments and the turn's `Signals` (scores computed outside the model, the customer's
profile). The answer is a `Verdict`: allow, deny (the model gets the reason as the tool's
observation) or ask a person (the call waits as a durable approval request). A confidence
the model passes as an argument is only an argument: policies read `ToolRequest.signals`.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol, cast

from pyagent_router import Signals

__all__ = [
    "DefaultToolPolicy",
    "PolicyArg",
    "ToolPolicy",
    "ToolRequest",
    "Verdict",
    "VerdictKind",
    "decide",
]

VerdictKind = Literal["allow", "deny", "ask"]


@dataclass(frozen=True, slots=True)
class Verdict:
    """A policy's answer: ``allow``, ``deny`` or ``ask`` a person, and why."""

    kind: VerdictKind
    reason: str = ""

    @classmethod
    def allow(cls, reason: str = "") -> Verdict:
        """The call may run."""
        return cls("allow", reason)

    @classmethod
    def deny(cls, reason: str) -> Verdict:
        """The call must not run; the model is told `reason`."""
        return cls("deny", reason)

    @classmethod
    def ask(cls, reason: str) -> Verdict:
        """A person must approve the call first."""
        return cls("ask", reason)


@dataclass(frozen=True, kw_only=True, slots=True)
class ToolRequest:
    """One tool call, as a policy sees it.

    Attributes:
        tool: The tool's name.
        read_only: Whether the tool only looks things up.
        requires_approval: Whether the tool declared that a person approves every call.
        arguments: The validated arguments the model passed.
        signals: The turn's scores computed outside the model (``Signals()`` if none).
        conversation_id: The conversation.
    """

    tool: str
    read_only: bool
    requires_approval: bool
    arguments: Mapping[str, Any]
    signals: Signals
    conversation_id: str | None = None


class ToolPolicy(Protocol):
    """Decides every tool call; sync or async ``decide``."""

    def decide(self, request: ToolRequest) -> Verdict | Awaitable[Verdict]:
        """The verdict on `request`."""
        ...


@dataclass(frozen=True, kw_only=True, slots=True)
class DefaultToolPolicy:
    """Read-only calls run; others run when the turn's computed confidence is high enough.

    Tools that require approval always ask a person.

    Args:
        min_confidence: Below this `Signals.confidence`, a side-effecting call asks a
            person (``None``: confidence is not checked). A turn without a measured
            confidence counts as below it.
        deny_below: Below this confidence a side-effecting call is denied outright.
        enterprise_asks: Side-effecting calls for an enterprise customer ask a person.
    """

    min_confidence: float | None = None
    deny_below: float | None = None
    enterprise_asks: bool = False

    def decide(self, request: ToolRequest) -> Verdict:
        """Allow, deny or ask (see the class docstring)."""
        if request.read_only:
            return Verdict.allow("read-only")
        if request.requires_approval:
            return Verdict.ask(f"{request.tool} requires a person's approval")
        confidence = request.signals.confidence
        shown = "unmeasured" if confidence is None else f"{confidence:.2f}"
        if self.deny_below is not None and (confidence is None or confidence < self.deny_below):
            return Verdict.deny(
                f"{request.tool} is not allowed at this confidence ({shown} < {self.deny_below})"
            )
        if self.min_confidence is not None and (
            confidence is None or confidence < self.min_confidence
        ):
            return Verdict.ask(
                f"confidence {shown} is below {self.min_confidence} for {request.tool}"
            )
        customer = request.signals.customer
        if self.enterprise_asks and customer is not None and customer.enterprise:
            return Verdict.ask(f"{request.tool} for an enterprise customer")
        return Verdict.allow()


PolicyArg = ToolPolicy | Callable[[ToolRequest], Verdict | Awaitable[Verdict]]
"""A `ToolPolicy`, or a plain function of the request (sync or async)."""


async def decide(policy: PolicyArg, request: ToolRequest) -> Verdict:
    """Ask `policy` (sync or async); a policy that fails or answers nonsense denies.

    Fail closed: a broken policy must not let a refund through.
    """
    ask = cast(Callable[[ToolRequest], Any], getattr(policy, "decide", policy))
    try:
        verdict: object = ask(request)
        if inspect.isawaitable(verdict):
            verdict = await verdict
    except Exception as error:
        return Verdict.deny(f"the tool policy failed ({type(error).__name__}); not run")
    if not isinstance(verdict, Verdict):
        return Verdict.deny("the tool policy gave no verdict; not run")
    return verdict
