"""The recognizers and filters PIIGuard adds to Presidio's defaults (real Presidio)."""

import re

import pytest

import pyagent_guardrails
from pyagent_guardrails import SUPPORT_ID_ENTITIES, PIIGuard
from pyagent_guardrails._pii import DEFAULT_ENTITIES


@pytest.fixture(scope="module")
def guard() -> PIIGuard:
    return PIIGuard()


@pytest.fixture(scope="module")
def with_ids() -> PIIGuard:
    return PIIGuard(entities=[*DEFAULT_ENTITIES, *SUPPORT_ID_ENTITIES])


def redacted(guard: PIIGuard, text: str) -> str:
    return guard.redact(text, conversation_id=text)


def test_support_ids_are_exported_and_opt_in() -> None:
    assert SUPPORT_ID_ENTITIES == ("ORDER_NUMBER", "TICKET_ID", "INVOICE_NUMBER")
    assert "SUPPORT_ID_ENTITIES" in pyagent_guardrails.__all__
    assert not set(SUPPORT_ID_ENTITIES) & set(DEFAULT_ENTITIES)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Where is my order ORD-2847?", "Where is my order <ORDER_NUMBER_1>?"),
        ("order number 2847 hasn't arrived", "order number <ORDER_NUMBER_1> hasn't arrived"),
        ("Order #A-10293 is late", "Order #<ORDER_NUMBER_1> is late"),
        ("Ticket TKT-10293 was closed", "Ticket <TICKET_ID_1> was closed"),
        ("Any news on case 5521?", "Any news on case <TICKET_ID_1>?"),
        ("See INV-2024-0042 attached", "See <INVOICE_NUMBER_1> attached"),
        ("invoice no. 88121 is wrong", "invoice no. <INVOICE_NUMBER_1> is wrong"),
    ],
)
def test_support_ids_are_redacted_when_enabled(
    with_ids: PIIGuard, text: str, expected: str
) -> None:
    assert redacted(with_ids, text) == expected


@pytest.mark.parametrize(
    "text",
    ["Where is my order ORD-2847?", "Ticket TKT-10293 was closed", "See INV-2024-0042 attached"],
)
def test_support_ids_are_left_alone_by_default(guard: PIIGuard, text: str) -> None:
    assert redacted(guard, text) == text


@pytest.mark.parametrize(
    "text",
    [
        "What's my order status?",
        "Please reopen the ticket please",
        "The invoice is wrong",
        "I opened a case yesterday",
    ],
)
def test_labels_without_an_id_are_not_redacted(with_ids: PIIGuard, text: str) -> None:
    assert redacted(with_ids, text) == text


def test_the_same_order_number_spelled_twice_gets_one_placeholder(with_ids: PIIGuard) -> None:
    text = "ORD-2847 or ord-2847?"
    assert redacted(with_ids, text) == "<ORDER_NUMBER_1> or <ORDER_NUMBER_1>?"


@pytest.mark.parametrize(
    "text",
    ["Phone: 467 3395, mornings", "call me at 699 956 915 tomorrow", "mobile (99) 645-791 only"],
)
def test_labelled_local_phone_numbers_are_redacted(guard: PIIGuard, text: str) -> None:
    result = guard.check(text, conversation_id=text)
    assert [f.kind for f in result.findings] == ["PHONE_NUMBER"]
    assert result.sanitized_content is not None
    assert not re.search(r"\d", result.sanitized_content.replace("<PHONE_NUMBER_1>", ""))


def test_a_labelled_card_number_is_redacted_even_if_it_fails_luhn(guard: PIIGuard) -> None:
    assert redacted(guard, "My card 4111 1111 1111 1112 is expiring") == (
        "My card <CREDIT_CARD_1> is expiring"
    )


def test_an_unlabelled_number_is_not_taken_for_a_phone_or_card(guard: PIIGuard) -> None:
    text = "Version 4111 1111 1111 1112 build 467 3395"
    assert redacted(guard, text) == text


@pytest.mark.parametrize(
    "text",
    [
        "Ship it to 1668 Glyn St please",
        "The parcel went to Villacher Strasse 89",
        "We love the Hall Orchestra",
    ],
)
def test_street_and_company_names_are_not_redacted_as_people(guard: PIIGuard, text: str) -> None:
    kinds = {f.kind for f in guard.check(text, conversation_id=text).findings}
    assert "PERSON" not in kinds


def test_real_names_still_are(guard: PIIGuard) -> None:
    assert redacted(guard, "Please ask Maria Garcia to call me back.") == (
        "Please ask <PERSON_1> to call me back."
    )
