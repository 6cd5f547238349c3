import re
import threading

import pytest

from pyagent_guardrails import PlaceholderMap


def test_each_type_is_numbered_in_order_of_first_appearance() -> None:
    placeholders = PlaceholderMap()
    assert placeholders.placeholder("c", "EMAIL_ADDRESS", "ann@example.com") == "<EMAIL_ADDRESS_1>"
    assert placeholders.placeholder("c", "PERSON", "Ann Lee") == "<PERSON_1>"
    assert placeholders.placeholder("c", "EMAIL_ADDRESS", "bob@example.com") == "<EMAIL_ADDRESS_2>"
    assert placeholders.placeholder("c", "EMAIL_ADDRESS", "ann@example.com") == "<EMAIL_ADDRESS_1>"


def test_conversations_are_numbered_independently() -> None:
    placeholders = PlaceholderMap()
    assert placeholders.placeholder("a", "PERSON", "Ann Lee") == "<PERSON_1>"
    assert placeholders.placeholder("a", "PERSON", "Bob Roy") == "<PERSON_2>"
    assert placeholders.placeholder("b", "PERSON", "Bob Roy") == "<PERSON_1>"


@pytest.mark.parametrize(
    ("entity_type", "first", "same"),
    [
        ("EMAIL_ADDRESS", "Ann.Lee@Example.COM", " ann.lee@example.com"),
        ("IBAN_CODE", "GB82 WEST 1234 5698 7654 32", "gb82west12345698765432"),
        ("PHONE_NUMBER", "(415) 555-0132", "415.555.0132"),
        ("CREDIT_CARD", "4111 1111 1111 1111", "4111-1111-1111-1111"),
        ("PERSON", "Sarah  Connor", "SARAH CONNOR"),
    ],
)
def test_values_are_normalized_before_comparison(entity_type: str, first: str, same: str) -> None:
    placeholders = PlaceholderMap()
    assert placeholders.placeholder("c", entity_type, first) == placeholders.placeholder(
        "c", entity_type, same
    )


def test_the_same_text_of_different_types_gets_different_placeholders() -> None:
    placeholders = PlaceholderMap()
    assert placeholders.placeholder("c", "PERSON", "Jordan") == "<PERSON_1>"
    assert placeholders.placeholder("c", "LOCATION", "Jordan") == "<LOCATION_1>"


def test_export_holds_digests_and_placeholders_only() -> None:
    placeholders = PlaceholderMap()
    placeholders.placeholder("c", "EMAIL_ADDRESS", "ann@example.com")
    placeholders.placeholder("c", "PHONE_NUMBER", "(415) 555-0132")
    exported = placeholders.export("c")
    assert sorted(exported.values()) == ["<EMAIL_ADDRESS_1>", "<PHONE_NUMBER_1>"]
    # Keys are SHA-256 hex digests and nothing else (short digit runs such as "555" may
    # occur in a digest by chance, so the check is on the shape, plus the non-hex parts).
    assert all(re.fullmatch(r"[0-9a-f]{64}", digest) for digest in exported)
    dump = repr(exported) + repr(placeholders)
    for raw in ("ann", "example", "4155550132", "(415) 555-0132"):
        assert raw not in dump


def test_export_of_an_unknown_conversation_is_empty() -> None:
    assert PlaceholderMap().export("nobody") == {}


def test_a_mapping_loaded_with_the_same_salt_resumes_the_conversation() -> None:
    salt = b"a secret salt kept by the service"
    before = PlaceholderMap(salt=salt)
    before.placeholder("c", "PERSON", "Ann Lee")
    before.placeholder("c", "PERSON", "Bob Roy")
    after = PlaceholderMap(salt=salt)
    after.load("c", before.export("c"))
    assert after.placeholder("c", "PERSON", "bob roy") == "<PERSON_2>"
    assert after.placeholder("c", "PERSON", "Cy Young") == "<PERSON_3>"


def test_digests_depend_on_the_salt() -> None:
    first, second = PlaceholderMap(salt=b"one"), PlaceholderMap(salt=b"two")
    first.placeholder("c", "PERSON", "Ann Lee")
    second.placeholder("c", "PERSON", "Ann Lee")
    assert first.export("c").keys() != second.export("c").keys()


@pytest.mark.parametrize(
    "mapping",
    [
        {"not-a-digest": "<PERSON_1>"},
        {"a" * 64: "PERSON_1"},
        {"a" * 64: "<PERSON_0>"},
        {"a" * 64: "<PERSON_1>", "b" * 64: "<PERSON_1>"},
    ],
)
def test_load_rejects_malformed_mappings(mapping: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        PlaceholderMap().load("c", mapping)


def test_least_recently_used_conversations_are_evicted() -> None:
    placeholders = PlaceholderMap(max_conversations=2)
    placeholders.placeholder("a", "PERSON", "Ann Lee")
    placeholders.placeholder("b", "PERSON", "Bob Roy")
    placeholders.placeholder("a", "PERSON", "Ann Lee")  # "a" is now the most recent
    placeholders.placeholder("c", "PERSON", "Cy Young")
    assert placeholders.export("b") == {}
    assert placeholders.export("a") != {}
    assert placeholders.export("c") != {}


def test_invalid_configuration_is_rejected() -> None:
    with pytest.raises(ValueError):
        PlaceholderMap(max_conversations=0)
    with pytest.raises(ValueError):
        PlaceholderMap(salt=b"")


def test_concurrent_use_hands_out_one_placeholder_per_value() -> None:
    placeholders = PlaceholderMap()
    values = [f"user{i}@example.com" for i in range(50)]
    seen: list[dict[str, str]] = []
    start = threading.Barrier(8)

    def worker() -> None:
        start.wait()
        seen.append({v: placeholders.placeholder("c", "EMAIL_ADDRESS", v) for v in values})

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(result == seen[0] for result in seen)
    assert sorted(seen[0].values()) == sorted(f"<EMAIL_ADDRESS_{n}>" for n in range(1, 51))
