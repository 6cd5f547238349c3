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


# --- street addresses and postcodes (LOCATION) -------------------------------------------


@pytest.mark.parametrize(
    ("text", "address"),
    [
        (
            "Ship to 1423 Maple Ave, Springfield, IL 62704 please",
            "1423 Maple Ave, Springfield, IL 62704",
        ),
        ("My address is 221B Baker Street, London NW1 6XE.", "221B Baker Street, London NW1 6XE"),
        ("Livrez au 12 rue de la Paix, 75002 Paris svp", "12 rue de la Paix, 75002 Paris"),
        ("Lieferadresse: Hauptstraße 5, 10115 Berlin", "Hauptstraße 5, 10115 Berlin"),
        ("Envíenlo a Calle Mayor 12, 28013 Madrid", "Calle Mayor 12, 28013 Madrid"),
        ("Morada: Rua Augusta 100, 1100-053 Lisboa", "Rua Augusta 100, 1100-053 Lisboa"),
        ("Endereço: Av. Paulista, 1578 - São Paulo", "Av. Paulista, 1578 - São Paulo"),
        ("Send it to 350 5th Ave, New York, NY 10118. Thanks!", "350 5th Ave, New York, NY 10118"),
    ],
)
def test_street_addresses_are_one_location(guard: PIIGuard, text: str, address: str) -> None:
    result = guard.check(text, conversation_id=text)
    spans = [(f.kind, text[f.start : f.end]) for f in result.findings]
    assert ("LOCATION", address) in spans


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("postcode: SW1A 1AA", "postcode: <LOCATION_1>"),
        ("PLZ 10115", "PLZ <LOCATION_1>"),
        ("the zip code is 94103", "the zip code is <LOCATION_1>"),
    ],
)
def test_labelled_postcodes_are_redacted(guard: PIIGuard, text: str, expected: str) -> None:
    assert redacted(guard, text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Can we move our workspace to the EU region?",
        "Is our data stored in a US data center?",
        "We sent it via email 24 hours ago",
        "Upgrade to 16GB RAM, M2 4GB",
        "I paid 49 EUR on 12/03/2024 and 1500 more",
        "We have 3 open tickets on 2 boards",
        "quiero descargar las facturas del mes pasado",
    ],
)
def test_regions_and_numbers_are_not_locations(guard: PIIGuard, text: str) -> None:
    assert "LOCATION" not in {f.kind for f in guard.check(text, conversation_id=text).findings}


# --- international phone numbers ---------------------------------------------------------


@pytest.mark.parametrize(
    "phone",
    [
        "+44 20 7946 0958",
        "(212) 555-0147",
        "06 12 34 56 78",
        "+49 30 901820",
        "030 901820",
        "+55 11 91234-5678",
        "0412 345 678",
        "+33 6 12 34 56 78",
        "+34 612 34 56 78",
        "+351 912 345 678",
    ],
)
def test_international_phone_formats_are_redacted(guard: PIIGuard, phone: str) -> None:
    text = f"You can reach me on {phone} after five"
    assert redacted(guard, text) == "You can reach me on <PHONE_NUMBER_1> after five"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mi teléfono: 612 34 56 78", "mi teléfono: <PHONE_NUMBER_1>"),
        ("Handy: 0151 2345 6789", "Handy: <PHONE_NUMBER_1>"),
        ("meu telemóvel é 912 345 678", "meu telemóvel é <PHONE_NUMBER_1>"),
    ],
)
def test_phone_labels_in_other_languages(guard: PIIGuard, text: str, expected: str) -> None:
    assert redacted(guard, text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "I was charged $1,234.56 on 2024-03-12",
        "Invoice 2024-0042 totals 4500.00 EUR",
        "Version 2.14.3 was released on 03/05/2024",
        "The server 192.168.10.24 timed out",
    ],
)
def test_amounts_dates_and_ips_are_not_phones(guard: PIIGuard, text: str) -> None:
    assert "PHONE_NUMBER" not in {f.kind for f in guard.check(text, conversation_id=text).findings}


# --- names after introductions and sign-offs, lower case and other languages ------------


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("my name is joão silva and I need help", "joão silva"),
        ("soy María José, tengo un problema", "María José"),
        ("me llamo lucía fernández", "lucía fernández"),
        ("je m'appelle françois, j'ai un souci", "françois"),
        ("Mein Name ist klaus müller", "klaus müller"),
        ("meu nome é ana souza, obrigado", "ana souza"),
        ("chamo-me Rui Costa.", "Rui Costa"),
        ("Signed: mª josé", "mª josé"),
        ("Thanks for the help\n— søren", "søren"),
        ("thanks,\nkasia", "kasia"),
        ("Saludos,\nMaría José Pérez\nFinanzas", "María José Pérez"),
        ("Grüße,\njürgen", "jürgen"),
        ("It works now. Cheers, Hamish", "Hamish"),
        ("Hey Lukas, thanks for staying late", "Lukas"),
        ("Name on the account is Thandiwe Mokoena.", "Thandiwe Mokoena"),
        ("Ana from your team fixed it", "Ana"),
    ],
)
def test_introduced_and_signed_names_are_redacted(guard: PIIGuard, text: str, name: str) -> None:
    result = redacted(guard, text)
    assert name not in result
    assert "<PERSON_1>" in result


@pytest.mark.parametrize(
    "text",
    [
        "I'm frustrated with the billing",
        "I'm on the Pro plan and this is broken",
        "I'm Canadian.",
        "my name is spelled wrong on the invoice",
        "Can you call me at 5?",
        "Hi team, quick question about exports",
        "Great job. Thanks, everyone",
        "Thanks,\nthe support team",
        "ich bin Kunde seit 2020 und brauche Hilfe",
        "Je suis très déçu",
    ],
)
def test_cues_without_a_name_redact_nothing(guard: PIIGuard, text: str) -> None:
    assert "PERSON" not in {f.kind for f in guard.check(text, conversation_id=text).findings}


def test_a_role_after_sou_o_is_not_a_name(guard: PIIGuard) -> None:
    # The small model tags "sou o" itself; the cue pattern must not take "dono".
    assert "dono" in redacted(guard, "sou o dono da conta")


# --- secrets ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("my key sk_live_4eC39HqLyjWDarjtT1zdp7dc leaked", "sk_live_4eC39HqLyjWDarjtT1zdp7dc"),
        ("restricted rk_live_51H8abcDEF2345ghijk is in the repo", "rk_live_51H8abcDEF2345ghijk"),
        ("OPENAI key sk-proj-abcDEF1234567890abcdefGHIJ", "sk-proj-abcDEF1234567890abcdefGHIJ"),
        (
            "token ghp_16C7e42F292c6912E7710c838347Ae178B4a",
            "ghp_16C7e42F292c6912E7710c838347Ae178B4a",
        ),
        ("aws AKIAIOSFODNN7EXAMPLE in the logs", "AKIAIOSFODNN7EXAMPLE"),
        (
            "slack xoxb-123456789012-1234567890123-AbCdEfGh",
            "xoxb-123456789012-1234567890123-AbCdEfGh",
        ),
        (
            "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.dozjgNryP4J3jVmNHl0w5N",
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.dozjgNryP4J3jVmNHl0w5N",
        ),
        ("use orb_pat_8f3kd92jf83jd92kfj39 for the API", "orb_pat_8f3kd92jf83jd92kfj39"),
        ("my password is Tr0ub4dor&3 lol", "Tr0ub4dor&3"),
        ("pwd: hunter2", "hunter2"),
        ("mi contraseña: Gato#2024", "Gato#2024"),
        ("mon mot de passe : soleil99", "soleil99"),
        ("Mein Passwort ist Sommer2024!", "Sommer2024"),
        ("a senha é abc12345", "abc12345"),
    ],
)
def test_secrets_are_redacted(guard: PIIGuard, text: str, secret: str) -> None:
    result = guard.check(text, conversation_id=text)
    assert "SECRET" in [f.kind for f in result.findings]
    assert result.sanitized_content is not None
    assert secret not in result.sanitized_content
    assert "<SECRET_1>" in result.sanitized_content


def test_secret_is_a_default_entity() -> None:
    assert "SECRET" in DEFAULT_ENTITIES


@pytest.mark.parametrize(
    "text",
    [
        "How do I reset my password?",
        "my password is wrong and the password: forgot",
        "The API key docs are confusing",
        "Set the sk_live_mode_docs flag",
        "mi contraseña no funciona",
        "Passwort ist abgelaufen",
    ],
)
def test_talk_about_secrets_is_not_a_secret(guard: PIIGuard, text: str) -> None:
    assert redacted(guard, text) == text


def test_emails_at_reserved_domains_are_redacted(guard: PIIGuard) -> None:
    assert redacted(guard, "write to ap@brightwater.example") == "write to <EMAIL_ADDRESS_1>"
