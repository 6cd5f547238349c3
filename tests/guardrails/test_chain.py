import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from pyagent_guardrails import (
    Finding,
    Guard,
    GuardrailChain,
    GuardResult,
    LengthGuard,
    PIIGuard,
)


@pytest.fixture(scope="module")
def pii() -> Iterator[PIIGuard]:
    yield PIIGuard()


@dataclass(frozen=True, kw_only=True)
class RecordingGuard:
    """Passes everything through and remembers what it saw, and on which thread."""

    name: str = "recorder"
    seen: list[str] = field(default_factory=list[str])
    threads: list[int] = field(default_factory=list[int])

    def check(self, text: str, *, conversation_id: str | None = None) -> GuardResult:
        self.seen.append(text)
        self.threads.append(threading.get_ident())
        return GuardResult(passed=True, sanitized_content=text)


class ExplodingGuard:
    name = "exploder"

    def check(self, text: str, *, conversation_id: str | None = None) -> GuardResult:
        raise RuntimeError(f"cannot handle {text!r}")


class SilentGuard:
    """A broken guard: passes without handing on any text."""

    name = "silent"

    def check(self, text: str, *, conversation_id: str | None = None) -> GuardResult:
        return GuardResult(passed=True, sanitized_content=None)


def test_the_seed_chain_truncates_then_redacts(pii: PIIGuard) -> None:
    chain = GuardrailChain([LengthGuard(max_chars=3_000, truncate=True), pii])
    result = chain.check("I'm Sarah Connor, why was I charged twice?", conversation_id="seed")
    assert result.passed
    assert result.sanitized_content == "I'm <PERSON_1>, why was I charged twice?"
    assert result.pii_found
    assert result.message == ""


def test_each_guard_sees_the_previous_guards_output(pii: PIIGuard) -> None:
    recorder = RecordingGuard()
    chain = GuardrailChain([LengthGuard(max_chars=40, truncate=True), pii, recorder])
    text = "Contact me at ann@example.com about the refund for my order please"
    result = chain.check(text, conversation_id="order")
    assert recorder.seen == ["Contact me at <EMAIL_ADDRESS_1> about the"]
    assert result.sanitized_content == recorder.seen[0]
    assert [(f.guard, f.kind) for f in result.findings] == [
        ("length", "truncated"),
        ("pii", "EMAIL_ADDRESS"),
    ]


def test_the_chain_stops_at_the_first_guard_that_does_not_pass() -> None:
    recorder = RecordingGuard()
    result = GuardrailChain([LengthGuard(max_chars=10), recorder]).check("far too long for it")
    assert not result.passed
    assert result.sanitized_content is None
    assert result.message == "message longer than 10 characters"
    assert [f.kind for f in result.findings] == ["too_long"]
    assert recorder.seen == []


def test_detect_only_pii_blocks_the_chain() -> None:
    recorder = RecordingGuard()
    chain = GuardrailChain([PIIGuard(redact=False), recorder])
    result = chain.check("write to ann@example.com")
    assert not result.passed
    assert result.sanitized_content is None
    assert result.message == "contains personal data (EMAIL_ADDRESS)"
    assert result.pii_found
    assert recorder.seen == []


def test_a_guard_that_raises_fails_closed_and_is_named(caplog: pytest.LogCaptureFixture) -> None:
    recorder = RecordingGuard()
    chain = GuardrailChain([LengthGuard(max_chars=100), ExplodingGuard(), recorder])
    with caplog.at_level(logging.DEBUG):
        result = chain.check("secret plans for Sarah")
    assert not result.passed
    assert result.sanitized_content is None
    assert "exploder" in result.message
    assert "Sarah" not in repr(result)
    assert "Sarah" not in caplog.text
    assert "RuntimeError" in caplog.text
    assert recorder.seen == []


def test_a_guard_passing_without_content_fails_closed() -> None:
    result = GuardrailChain([SilentGuard()]).check("hello")
    assert not result.passed
    assert result.sanitized_content is None
    assert "silent" in result.message


@pytest.mark.parametrize("value", [b"hello", None, 42])
def test_non_text_input_is_refused_before_any_guard(value: object) -> None:
    recorder = RecordingGuard()
    result = GuardrailChain([recorder]).check(value)  # type: ignore[arg-type]
    assert not result.passed
    assert result.sanitized_content is None
    assert type(value).__name__ in result.message
    assert recorder.seen == []


def test_text_with_a_lone_surrogate_is_refused_before_any_guard() -> None:
    recorder = RecordingGuard()
    result = GuardrailChain([recorder]).check("broken \ud83d text")
    assert not result.passed
    assert result.sanitized_content is None
    assert "surrogate" in result.message
    assert recorder.seen == []


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_empty_text_is_refused_by_the_length_guard(text: str, pii: PIIGuard) -> None:
    result = GuardrailChain([LengthGuard(max_chars=100, truncate=True), pii]).check(text)
    assert not result.passed
    assert result.message == "empty message"


def test_an_empty_chain_passes_text_through() -> None:
    result = GuardrailChain([]).check("hello")
    assert result == GuardResult(passed=True, sanitized_content="hello")


async def test_acheck_runs_the_chain_in_a_worker_thread(pii: PIIGuard) -> None:
    recorder = RecordingGuard()
    chain = GuardrailChain([pii, recorder])
    result = await chain.acheck("Call me at (415) 555-0132", conversation_id="async")
    assert result.passed
    assert result.sanitized_content == "Call me at <PHONE_NUMBER_1>"
    assert recorder.threads and recorder.threads[0] != threading.get_ident()
    assert result == chain.check("Call me at (415) 555-0132", conversation_id="async")


def test_guards_of_any_shape_satisfy_the_protocol(pii: PIIGuard) -> None:
    for guard in (LengthGuard(max_chars=5), pii, RecordingGuard(), ExplodingGuard()):
        assert isinstance(guard, Guard)


def test_results_and_findings_are_frozen() -> None:
    finding = Finding(guard="pii", kind="PERSON", start=0, end=4, placeholder="<PERSON_1>")
    result = GuardResult(passed=True, sanitized_content="<PERSON_1>", findings=(finding,))
    with pytest.raises(AttributeError):
        result.passed = False  # type: ignore[misc]
    with pytest.raises(AttributeError):
        finding.kind = "EMAIL_ADDRESS"  # type: ignore[misc]
    with pytest.raises(TypeError):
        Finding("pii", "PERSON", 0, 4)  # type: ignore[misc]
    assert result.pii_found
    assert not GuardResult(passed=True, sanitized_content="x").pii_found


async def test_the_chain_passes_allowed_values_to_its_pii_guards_only(pii: PIIGuard) -> None:
    recorder = RecordingGuard()  # a guard without `allow` still works in the chain
    chain = GuardrailChain([recorder, LengthGuard(max_chars=100), pii])
    text = "Hi, Dana here; Robert Miller has your case"
    result = await chain.acheck(text, conversation_id="allow-chain", allow=["Dana"])
    assert result.sanitized_content == "Hi, Dana here; <PERSON_1> has your case"
    assert chain.check(text, conversation_id="allow-chain-2").sanitized_content == (
        "Hi, <PERSON_1> here; <PERSON_2> has your case"
    )
    assert recorder.seen == [text, text]
