import pytest

from pyagent_guardrails import Guard, LengthGuard

SENTENCE = "The quick brown fox jumps over the lazy dog"


def test_text_within_the_limit_passes_unchanged() -> None:
    result = LengthGuard(max_chars=len(SENTENCE)).check(SENTENCE)
    assert result.passed
    assert result.sanitized_content == SENTENCE
    assert result.findings == ()
    assert result.message == ""


def test_too_long_text_is_refused_without_truncation() -> None:
    result = LengthGuard(max_chars=10).check(SENTENCE)
    assert not result.passed
    assert result.sanitized_content is None
    assert "10 characters" in result.message
    [finding] = result.findings
    assert (finding.guard, finding.kind) == ("length", "too_long")
    assert (finding.start, finding.end) == (10, len(SENTENCE))


def test_truncation_cuts_at_a_word_boundary() -> None:
    result = LengthGuard(max_chars=12, truncate=True).check(SENTENCE)
    assert result.passed
    assert result.sanitized_content == "The quick"
    [finding] = result.findings
    assert (finding.kind, finding.start, finding.end) == ("truncated", 9, len(SENTENCE))


def test_truncation_keeps_a_word_that_ends_exactly_at_the_limit() -> None:
    assert LengthGuard(max_chars=15, truncate=True).check(SENTENCE).sanitized_content == (
        "The quick brown"
    )


@pytest.mark.parametrize("max_chars", range(3, len(SENTENCE)))
def test_truncation_never_splits_a_word(max_chars: int) -> None:
    kept = LengthGuard(max_chars=max_chars, truncate=True).check(SENTENCE).sanitized_content
    assert kept is not None
    assert len(kept) <= max_chars
    assert SENTENCE.startswith(kept)
    assert kept == kept.rstrip()
    assert SENTENCE[len(kept)] == " "
    assert kept.split() == SENTENCE.split()[: len(kept.split())]


def test_truncation_does_not_split_a_placeholder() -> None:
    text = "Please write to <EMAIL_ADDRESS_1> today"
    kept = LengthGuard(max_chars=25, truncate=True).check(text).sanitized_content
    assert kept == "Please write to"


def test_a_single_word_longer_than_the_limit_is_cut_hard() -> None:
    result = LengthGuard(max_chars=5, truncate=True).check("abcdefghij")
    assert result.passed
    assert result.sanitized_content == "abcde"


def test_leading_whitespace_that_fills_the_limit_is_refused_rather_than_kept() -> None:
    result = LengthGuard(max_chars=3, truncate=True).check("      word")
    assert not result.passed
    assert result.sanitized_content is None


@pytest.mark.parametrize("text", ["", " ", "   \n\t  "])
def test_empty_and_whitespace_only_text_is_refused(text: str) -> None:
    result = LengthGuard(max_chars=100, truncate=True).check(text)
    assert not result.passed
    assert result.sanitized_content is None
    assert result.message == "empty message"
    assert [f.kind for f in result.findings] == ["empty"]


def test_min_chars_refuses_short_text() -> None:
    guard = LengthGuard(max_chars=100, min_chars=5)
    assert not guard.check("  hey ").passed
    assert "5 characters" in guard.check("hey").message
    assert guard.check("hello").passed


@pytest.mark.parametrize("value", [b"hello", None, 42])
def test_non_text_input_is_refused_without_an_exception(value: object) -> None:
    result = LengthGuard(max_chars=100).check(value)  # type: ignore[arg-type]
    assert not result.passed
    assert result.sanitized_content is None
    assert "str" in result.message


def test_text_with_a_lone_surrogate_is_refused() -> None:
    result = LengthGuard(max_chars=100).check("hello \ud800 world")
    assert not result.passed
    assert result.sanitized_content is None
    assert "surrogate" in result.message


@pytest.mark.parametrize(("max_chars", "min_chars"), [(0, 1), (-5, 1), (10, 0), (10, 11)])
def test_inconsistent_bounds_are_rejected(max_chars: int, min_chars: int) -> None:
    with pytest.raises(ValueError):
        LengthGuard(max_chars=max_chars, min_chars=min_chars)


def test_length_guard_is_a_guard() -> None:
    guard = LengthGuard(max_chars=10)
    assert isinstance(guard, Guard)
    assert guard.name == "length"
