"""The values every guard speaks in: `Finding`, `GuardResult` and the `Guard` protocol."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass(frozen=True, kw_only=True, slots=True)
class Finding:
    """One thing a guard found in a text.

    A finding never holds the raw value it points at (an email address, a card number):
    only its kind, where it was and, for redacted PII, the placeholder that replaced it.

    Attributes:
        guard: Name of the guard that produced it (``"pii"``, ``"length"``, ...).
        kind: What was found, e.g. ``"EMAIL_ADDRESS"``, ``"PERSON"``, ``"too_long"``.
        start: Start offset of the span in the text the guard was given.
        end: End offset (exclusive) of that span.
        score: Detector confidence in ``[0, 1]``; ``1.0`` for rule-based guards.
        placeholder: The placeholder written in its place (e.g. ``"<EMAIL_ADDRESS_1>"``),
            or ``None`` when nothing was replaced.
    """

    guard: str
    kind: str
    start: int
    end: int
    score: float = 1.0
    placeholder: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class GuardResult:
    """The outcome of one guard, or of a whole `GuardrailChain`.

    Attributes:
        passed: Whether the text may go on.
        sanitized_content: The text to use downstream (redacted and/or truncated), or
            ``None`` when the text is blocked.
        findings: Everything the guard(s) found, in order.
        message: Why the text did not pass (empty when it did); never contains raw PII.
    """

    passed: bool
    sanitized_content: str | None
    findings: tuple[Finding, ...] = ()
    message: str = ""

    @property
    def pii_found(self) -> bool:
        """Whether any finding comes from the PII guard."""
        return any(finding.guard == "pii" for finding in self.findings)


@runtime_checkable
class Guard(Protocol):
    """Anything that checks a text and says whether, and in what form, it may go on.

    ``name`` is read-only here so that frozen dataclasses and properties satisfy the
    protocol as well as plain attributes do.
    """

    @property
    def name(self) -> str:
        """Short identifier used in findings and messages (``"pii"``, ``"length"``)."""
        ...

    def check(self, text: str, *, conversation_id: str | None = None) -> GuardResult:
        """Check ``text``.

        Args:
            text: The text to check.
            conversation_id: Conversation the text belongs to (guards that keep
                per-conversation state, such as PII placeholders, use it).

        Returns:
            The guard's verdict.
        """
        ...


def invalid_text_reason(text: object) -> str | None:
    """Say why ``text`` cannot be checked, or return ``None`` when it can.

    Guards are called from untyped edges (HTTP bodies, JSON lines), so a non-``str`` or a
    ``str`` that cannot be encoded as UTF-8 (lone surrogates from a bad decode) is refused
    with a reason rather than an exception. The reason never quotes the text.
    """
    if not isinstance(text, str):
        return f"input must be text (str), got {type(text).__name__}"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "input is not valid Unicode text (it contains unpaired surrogates)"
    return None


def refused(reason: str, *, findings: tuple[Finding, ...] = ()) -> GuardResult:
    """A blocked result with ``reason`` as its message."""
    return GuardResult(passed=False, sanitized_content=None, findings=findings, message=reason)
