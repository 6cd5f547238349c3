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
from presidio_analyzer.predefined_recognizers import PhoneRecognizer

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
    r"(?<=\b(?:phone|telephone|tel\.?|mobile|cell|fax|phone number|mobile number|whatsapp|"
    r"call me (?:at|on)|text me (?:at|on)|reach me (?:at|on)|call back (?:at|on)|"
    # Spanish, French, German, Portuguese.
    r"tel[ée]fono|m[óo]vil|celular|mi n[úu]mero|"
    r"t[ée]l[ée]phone|portable|mon num[ée]ro|"
    r"telefon|handy|mobil|rufnummer|telefonnummer|handynummer|"
    r"telefone|telem[óo]vel|meu n[úu]mero)"
    r"(?: number| n[úu]mero| num[ée]ro| nummer)?(?: is| es| est| ist| é|:)?\s*)"
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


# International phone formats. Presidio's PhoneRecognizer asks python-phonenumbers for
# valid numbers of a few regions (US, GB, DE, FR, IL, IN, CA, BR); numbers written in
# another country's national format ("0412 345 678" in Australia, "612 34 56 78" in
# Spain) are only found in those regions. Each region is one more pass over the text,
# so the list stays at the countries our customers write from.
PHONE_REGIONS: tuple[str, ...] = (
    *PhoneRecognizer.DEFAULT_SUPPORTED_REGIONS,
    "ES",
    "PT",
    "IT",
    "NL",
    "BE",
    "CH",
    "AT",
    "IE",
    "AU",
    "MX",
)


def phone_recognizer(language: str) -> PhoneRecognizer:
    """Presidio's phone recognizer over `PHONE_REGIONS`, with context words in five languages.

    python-phonenumbers validates each candidate (leniency 1: a possible and valid number
    for its region), which keeps amounts, dates, order numbers and IP addresses out.
    """
    return PhoneRecognizer(
        supported_language=language,
        supported_regions=PHONE_REGIONS,
        context=[
            *PhoneRecognizer.CONTEXT,
            "whatsapp",
            "teléfono",
            "móvil",
            "celular",
            "téléphone",
            "portable",
            "numéro",
            "telefon",
            "handy",
            "telefone",
            "telemóvel",
        ],
    )


# --- street addresses and postcodes (LOCATION) ------------------------------------------
#
# spaCy's small English model finds cities ("Springfield", "Paris") but not the street,
# house number or postcode around them, so a full address stays readable bar one word.
# An address has a rigid shape in each country, which these patterns spell out: a street
# (number + name + street word in English, name + "straße" + number in German, street
# word + name + number in Spanish and Portuguese, number + "rue" + name in French), then
# optionally a unit, a postcode and a city. Scored 0.9, above spaCy's 0.85, so the
# PERSON or LOCATION the model tags inside an address ("221B Baker Street") merges into
# one LOCATION span.

# Whole words only: "NW1" is a postcode, not the city word "NW" and a digit.
_CAP = r"\p{Lu}[\p{L}'’.\-]*(?![\p{L}\d])"  # Maple, O'Connell, Saint-Denis, St.
_WORD = r"\p{L}[\p{L}'’.\-]*(?![\p{L}\d])"  # any case: "maple", "pologne"
_HOUSE = r"\d{1,5}[A-Za-z]?(?:[-/]\d{1,4}[A-Za-z]?)?\b"  # 12, 221B, 12-14, 5a
_EN_STREET_WORD = (
    r"(?i:street|st|avenue|ave|road|rd|boulevard|blvd|lane|ln|drive|dr|court|ct|place|pl|"
    r"square|sq|terrace|way|parkway|pkwy|highway|hwy|crescent|close|gardens|circle|cir|"
    r"trail|row|mews|grove|walk)\b\.?"
)
_FR_STREET_WORD = (
    r"(?i:rue|avenue|av\.|bd|boulevard|place|chemin|allée|allee|impasse|quai|route|cours|"
    r"square)"
)
# Spanish, Catalan, Portuguese street words, which come before the name. Italian ones are
# case-sensitive: "via email 24 hours" must not be an address.
_ROMANCE_STREET_WORD = (
    r"(?:(?i:calle|c/|avenida|avda\.|av\.|avd\.|plaza|pza\.|paseo|carrer|camino|ronda|"
    r"travesía|rua|travessa|praça|praca|largo|alameda|estrada|rodovia)|"
    r"Via|Viale|Piazza|Corso)"
)
_GERMANIC_STREET_SUFFIX = (
    r"(?:straße|strasse|str\.|weg|platz|allee|gasse|ring|damm|ufer|chaussee|markt|"
    r"laan|straat|gracht|plein|gade|vej|gatan|vägen)"
)
_PARTICLES = r"(?:(?:de|del|la|las|los|du|des|le|les|da|das|do|dos|l'|l’|d'|d’)\s*)"
_NAME_RUN = rf"{_PARTICLES}{{0,3}}{_WORD}(?:\s+{_PARTICLES}{{0,2}}{_CAP}){{0,3}}"
_STREET = (
    r"(?:"
    # 1423 Maple Ave, 221B Baker Street, 350 5th Ave
    rf"{_HOUSE}\s+(?:[NSEW]\.?\s+)?(?:(?:\d{{1,3}}(?:st|nd|rd|th)|{_WORD})\s+){{1,3}}"
    rf"{_EN_STREET_WORD}"
    # 12 rue de la Paix, 5 bis avenue Foch
    rf"|{_HOUSE}(?:\s*(?:bis|ter))?,?\s+{_FR_STREET_WORD}\s+{_NAME_RUN}"
    # Hauptstraße 5, Berliner Straße 12a, Rooseveltlaan 110
    rf"|(?:{_CAP}\s+)?\p{{Lu}}\p{{L}}*{_GERMANIC_STREET_SUFFIX}\s+{_HOUSE}"
    rf"|{_CAP}\s+(?:Straße|Strasse|Str\.|Weg|Platz|Allee|Gasse)\s+{_HOUSE}"
    # Calle Mayor 12, Rua Augusta 100, Av. Paulista, 1578, Carrer de Balmes 3
    rf"|{_ROMANCE_STREET_WORD}\s+{_NAME_RUN},?\s*(?:n\.?[º°o]\.?\s*)?{_HOUSE}"
    r")"
)
# Apt 4B, Suite 300, Flat 2, 3º B is left out (too close to plain numbers).
_UNIT = (
    r"(?:,?\s*(?i:apt|apartment|suite|ste|unit|flat|floor|fl|piso|bloco|andar)\.?\s*#?[\w-]{1,6}\b)"
)
_POSTCODE = (
    r"(?:\d{5}(?:-\d{4}|-\d{3})?"  # US ZIP(+4), FR/DE/ES/IT, BR CEP
    r"|\d{4}-\d{3}"  # PT
    r"|\d{4}(?:\s?[A-Z]{2}\b)?"  # AT/BE/CH/DK/AU, NL "1012 AB"
    r"|[A-Z]{1,2}\d[A-Z\d]?\s?\d[A-Z]{2})\b"  # UK
)
# A city: up to three capitalised words ("São Paulo", "Frankfurt am Main"), never a
# word that starts the next sentence or sign-off.
_CITY = (
    r"(?!(?:Thanks|Thank|Please|And|But|Regards|Best|Cheers|Also|Merci|Gracias|Danke|"
    r"Obrigad[oa])\b)"
    rf"{_CAP}(?:[ \t-](?:(?:am|an|de|del|do|da|sur|upon|on)[ \t])?{_CAP}){{0,2}}"
)
_STATE = r"(?:[A-Z]{2}|\p{Lu}\p{Ll}+)(?![\p{L}\d])"  # IL, CA; or a region name after a comma
_PLACE_AFTER_COMMA = (
    rf"(?:{_POSTCODE}[ \t]+{_CITY}|{_CITY}(?:,?[ \t]+{_STATE})?(?:,?[ \t]+{_POSTCODE})?"
    rf"|{_POSTCODE})"
)
_ADDRESS = (
    rf"{_STREET}{_UNIT}?"
    # ", Springfield, IL 62704", ", 75002 Paris", " - São Paulo", " 10115 Berlin"
    rf"(?:(?:[ \t]*,[ \t]*|[ \t]+[-–][ \t]+){_PLACE_AFTER_COMMA}"
    rf"|[ \t]+{_POSTCODE}(?:[ \t]+{_CITY})?){{0,3}}"
)
_US_STATES = (
    "AL|AK|AZ|AR|CA|CO|CT|DE|DC|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|NV|"
    "NH|NJ|NM|NY|NC|ND|OH|OK|OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY"
)
_POSTCODE_LABEL = (
    r"(?<=\b(?i:post ?code|postal code|zip(?: ?code)?|code postal|c[óo]digo postal|plz|"
    r"postleitzahl|cep)(?:[ \t]+(?:is|es|est|ist|é))?[ \t]*[:#]?[ \t]*)"
)


def address_recognizer(language: str) -> PatternRecognizer:
    """LOCATION patterns for street addresses and postcodes in six countries' formats."""
    return PatternRecognizer(
        supported_entity="LOCATION",
        name="StreetAddressRecognizer",
        supported_language=language,
        patterns=[
            Pattern("street address", _ADDRESS, 0.9),
            # "Springfield, IL 62704" without a street: a US state code and a ZIP.
            Pattern(
                "us city, state and zip",
                rf"{_CITY},?[ \t]+(?:{_US_STATES})[ \t]+\d{{5}}(?:-\d{{4}})?\b",
                0.9,
            ),
            # "postcode: NW1 6XE", "PLZ 10115", "CEP 01310-100".
            Pattern("postcode after label", rf"{_POSTCODE_LABEL}{_POSTCODE}", 0.7),
        ],
        # Case carries meaning (cities, UK postcodes, Italian street words); the
        # case-insensitive parts say (?i:...) themselves.
        global_regex_flags=regex.DOTALL | regex.MULTILINE,
    )


# Places spaCy tags that are service regions, not where a person is: "the EU region",
# "US data centre", "EMEA". LABELS.md: regions such as "EU region" are not PII.
_SERVICE_REGIONS = frozenset(
    {"eu", "us", "usa", "uk", "emea", "apac", "latam", "amer", "nam", "europe", "asia"}
)
_REGION_FOLLOWER = regex.compile(
    r"[ \t-]*(?i:region|regions|data ?cent(?:er|re)s?|datacenter|zone|cluster|servers?|"
    r"hosting|instance|tenant|residency|-?(?:east|west|central|north|south)\b)"
)


# A leading article the model takes into a place ("the Amtsgericht", "el extracto").
_ARTICLE = regex.compile(r"^(?i:the|el|la|las|los|le|les|der|die|das|o|a|os|as)\s+")
# Not a place name: a digit or currency sign ("CA$310", "UTF-8", "Q4 Launch"), or a
# lower-case start ("las facturas", "mein Konto"): the small English model tags common
# words of other languages as places, and place names are written capitalised.
_NOT_A_PLACE = regex.compile(r"[\d$€£¥]|^\p{Ll}")


def is_implausible_model_location(text: str, start: int, end: int) -> bool:
    """Whether a LOCATION the spaCy model found is no personal place.

    Hosting regions ("EU region", "us-east") are not where a person is (LABELS.md), and
    spans with digits, currency signs or a lower-case first word are common words the
    small English model mistakes for places in other languages. Only for the model's
    spans: street addresses from `address_recognizer` have digits by design.
    """
    value = text[start:end].strip()
    bare = _ARTICLE.sub("", value)
    return (
        bare.casefold() in _SERVICE_REGIONS
        or _REGION_FOLLOWER.match(text, end) is not None
        or _NOT_A_PLACE.search(bare) is not None
    )
