"""Extra Presidio recognizers and detection filters for support messages.

Imported only by `_presidio` (it needs Presidio). Each addition fixes a general gap of
Presidio's defaults on the small spaCy model, not a case of one data set:

* Support identifiers (`support_id_recognizers`): order numbers, ticket ids and invoice
  numbers. They are not names, but each one links a message to one customer's account,
  so they are personal data under GDPR's "indirectly identifiable" test. They are opt-in
  (`SUPPORT_ID_ENTITIES`) because a support agent usually needs the real order number to
  act on it; redact them where messages leave the support system (analytics, logs,
  third-party models).
* Numbers the customer calls a card or phone number (`context_number_recognizers`):
  Presidio's card recognizer drops numbers that fail the Luhn check, and its phone
  recognizer only knows a few countries' formats, so a mistyped card number or a local
  phone number ("Phone: 467 3395") stays in clear text although the customer just said
  what it is. These patterns fire only right after such a label.
* PERSON spans that cannot be names (`is_implausible_person`): the small spaCy model tags
  street names ("Glyn St", "Villacher Strasse 89") and organisation names ("Hall
  Orchestra") as PERSON. A span with a digit, or ending in a street or organisation word,
  is dropped rather than redacted under a misleading placeholder.
"""

from __future__ import annotations

import regex
from presidio_analyzer import Pattern, PatternRecognizer

ORDER_NUMBER = "ORDER_NUMBER"
TICKET_ID = "TICKET_ID"
INVOICE_NUMBER = "INVOICE_NUMBER"
SUPPORT_ID_ENTITIES: tuple[str, ...] = (ORDER_NUMBER, TICKET_ID, INVOICE_NUMBER)

# An identifier after its label: letters, digits and dashes, with at least one digit
# ("A-10293", "2847", "INV-2024-0042"), so "order status" or "ticket please" never match.
_ID_VALUE = r"(?=[A-Z0-9-]*\d)[A-Z0-9][A-Z0-9-]{2,24}\b"
_LABEL_GAP = r"\s*(?:number|no\.?|num|id|ref(?:erence)?|#)?\s*(?:is|was|:|#)?\s*#?"


def _support_id_recognizer(
    entity: str, name: str, prefixes: str, labels: str, language: str
) -> PatternRecognizer:
    patterns = [
        # "ORD-2847", "TKT_10293": a prefixed id is an id wherever it appears.
        Pattern(
            f"{entity.lower()} with prefix",
            rf"\b(?:{prefixes})[-_#]?\d{{3,20}}(?:-\d{{1,20}})*\b",
            0.7,
        ),
        # "order number 2847", "ticket #10293": the label says what the value is.
        Pattern(
            f"{entity.lower()} after label", rf"(?<=\b(?:{labels}){_LABEL_GAP}){_ID_VALUE}", 0.6
        ),
    ]
    # Presidio compiles with IGNORECASE by default: "ord-2847" and "Order No. 12" match.
    return PatternRecognizer(
        supported_entity=entity, name=name, supported_language=language, patterns=patterns
    )


def support_id_recognizers(language: str) -> list[PatternRecognizer]:
    """Recognizers for order numbers, ticket ids and invoice numbers."""
    return [
        _support_id_recognizer(
            ORDER_NUMBER, "OrderNumberRecognizer", "ORD|ORDER|PO", "order", language
        ),
        _support_id_recognizer(
            TICKET_ID,
            "TicketIdRecognizer",
            "TKT|TICKET|CASE|INC|SR|REQ",
            "ticket|case|support request|incident",
            language,
        ),
        _support_id_recognizer(
            INVOICE_NUMBER, "InvoiceNumberRecognizer", "INV|INVOICE", "invoice|receipt", language
        ),
    ]


_CARD_LABEL = r"(?<=\b(?:credit |debit )?card(?: number| no\.?| #)?(?: is|:)?\s*)"
_PHONE_LABEL = (
    r"(?<=\b(?:phone|telephone|tel\.?|mobile|cell|fax|phone number|mobile number|"
    r"call me (?:at|on)|text me (?:at|on)|reach me (?:at|on)|call back (?:at|on))"
    r"(?: number)?(?: is|:)?\s*)"
)


def context_number_recognizers(language: str) -> list[PatternRecognizer]:
    """Card and phone numbers identified by the label just before them."""
    return [
        PatternRecognizer(
            supported_entity="CREDIT_CARD",
            name="LabelledCardNumberRecognizer",
            supported_language=language,
            # 12 to 19 digits in groups, as printed on cards; no Luhn check, because a
            # mistyped card number still gives away most of the real one.
            patterns=[
                Pattern("card number after label", rf"{_CARD_LABEL}\d(?:[ -]?\d){{11,18}}\b", 0.6)
            ],
        ),
        PatternRecognizer(
            supported_entity="PHONE_NUMBER",
            name="LabelledPhoneNumberRecognizer",
            supported_language=language,
            # 7 to 15 digits with the usual separators, in any country's grouping.
            patterns=[
                Pattern(
                    "phone number after label",
                    rf"{_PHONE_LABEL}(?=(?:[^\d\n]*\d){{7,15}}(?![^\d\n]*\d))"
                    r"\+?\(?\d[\d ().\-]{5,22}\d\b",
                    0.6,
                )
            ],
        ),
    ]


_STREET_WORDS = (
    "st|st\\.|street|str|str\\.|strasse|straße|ave|ave\\.|avenue|rd|rd\\.|road|ln|lane|dr\\.|"
    "drive|blvd|boulevard|ct|court|pl|place|plaza|sq|square|squares|terrace|way|parkway|"
    "highway|hwy|crescent|close|gardens|apt|apt\\.|suite|unit|box|vej|gade|utca|katu|tie"
)
_ORGANISATION_WORDS = (
    "inc|inc\\.|ltd|ltd\\.|llc|plc|gmbh|ag|corp|corp\\.|corporation|company|co\\.|group|"
    "orchestra|band|foundation|university|bank|partners|associates|holdings"
)
_IMPLAUSIBLE_PERSON = regex.compile(
    rf"\d|\b(?:{_STREET_WORDS}|{_ORGANISATION_WORDS})$", regex.IGNORECASE
)


def is_implausible_person(value: str) -> bool:
    """Whether a PERSON span cannot be a person's name: digits, or a street/company word last."""
    return _IMPLAUSIBLE_PERSON.search(value.strip()) is not None
