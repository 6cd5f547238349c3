"""Money amounts in customer messages, in any common currency and number format.

``"€1.250,00"``, ``"1,250.00 EUR"``, ``"USD 1200"``, ``"£650"``, ``"R$ 2.800"``,
``"3k dollars"``, ``"six hundred dollars"``: each becomes an `Amount` with an ISO currency
code (``None`` when no currency is written: the caller decides what a bare number means).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

__all__ = ["Amount", "find_amounts"]

# Longest first, so "R$" wins over "$" and "US$" over "$".
_SYMBOLS = {
    "us$": "USD", "r$": "BRL", "a$": "AUD", "c$": "CAD", "ca$": "CAD", "au$": "AUD",
    "nz$": "NZD", "hk$": "HKD", "s$": "SGD", "mx$": "MXN", "$": "USD", "€": "EUR",
    "£": "GBP", "¥": "JPY", "₹": "INR", "zł": "PLN", "kč": "CZK", "fr.": "CHF",
}  # fmt: skip
_WORDS = {
    "usd": "USD", "dollars": "USD", "dollar": "USD", "bucks": "USD", "dólares": "USD",
    "dolares": "USD", "dollari": "USD", "eur": "EUR", "euro": "EUR", "euros": "EUR",
    "gbp": "GBP", "pounds": "GBP", "pound": "GBP", "quid": "GBP", "chf": "CHF",
    "francs": "CHF", "franken": "CHF", "cad": "CAD", "aud": "AUD", "nzd": "NZD",
    "brl": "BRL", "reais": "BRL", "mxn": "MXN", "pesos": "MXN", "jpy": "JPY",
    "yen": "JPY", "inr": "INR", "rupees": "INR", "sek": "SEK", "nok": "NOK", "dkk": "DKK",
    "pln": "PLN", "czk": "CZK", "zar": "ZAR", "sgd": "SGD", "hkd": "HKD",
    "cny": "CNY", "yuan": "CNY", "rmb": "CNY",
}  # fmt: skip
_SMALL_NUMBERS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20,
    "thirty": 30, "forty": 40, "fifty": 50, "a": 1,
}  # fmt: skip
_SCALES = {"hundred": 100, "thousand": 1_000, "grand": 1_000}

_symbol = "|".join(re.escape(s) for s in sorted(_SYMBOLS, key=len, reverse=True))
_word = "|".join(sorted(_WORDS, key=len, reverse=True))
# 1,250.00 | 1.250,00 | 1 250 (a non-breaking space: a plain one would join "$20 100 users")
# | 1250 | 12.5 ; optional k/m suffix
_number = r"\d{1,3}(?:[.,\u00a0\u202f']\d{3})+(?:[.,]\d{1,2})?(?!\d)|\d+(?:[.,]\d{1,2})?(?!\d)"
_AMOUNT = re.compile(
    rf"(?P<pre>{_symbol}|\b(?:{_word})\b\.?)?\s?"
    rf"(?P<num>(?<![\w.,])(?:{_number}))(?P<scale>\s?[km]\b)?"
    rf"(?:\s?(?P<post>{_symbol}|\b(?:{_word})\b))?",
    re.IGNORECASE,
)
_COUNT = "|".join(["\\d{1,2}", *_SMALL_NUMBERS])
# "three months at $300 each", "6 x $96": the count multiplies the amount
_TIMES = re.compile(
    rf"\b(?P<count>{_COUNT})\s*(?:months?|invoices?|charges?|payments?|times|weeks?|x|×)\s*"
    rf"(?:at|of|x|×)?\s*(?=\S)",
    re.IGNORECASE,
)
_SPELLED = re.compile(
    rf"\b(?P<n>{'|'.join(_SMALL_NUMBERS)})\s+(?P<scale>{'|'.join(_SCALES)})\s+"
    rf"(?P<cur>{_word})\b",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Amount:
    """A money amount found in text.

    Attributes:
        value: The number, e.g. ``Decimal("1250.00")``.
        currency: ISO 4217 code, or ``None`` when the text names no currency.
        start: Where it starts in the text.
        end: Where it ends.
    """

    value: Decimal
    currency: str | None
    start: int
    end: int


def find_amounts(text: str) -> list[Amount]:
    """Every money amount in `text`, in order (bare numbers come back without currency)."""
    found: list[Amount] = []
    for match in _AMOUNT.finditer(text):
        value = _parse_number(match.group("num"))
        if value is None:
            continue
        if match.group("scale"):
            value *= 1_000 if match.group("scale").strip().lower() == "k" else 1_000_000
        marker = match.group("pre") or match.group("post")
        found.append(Amount(value, _currency(marker), match.start(), match.end()))
    for match in _TIMES.finditer(text):
        following = next((a for a in found if a.start == match.end() and a.currency), None)
        count = match.group("count").lower()
        number = int(count) if count.isdigit() else _SMALL_NUMBERS.get(count, 1)
        if following is not None and number > 1:
            found.append(
                Amount(following.value * number, following.currency, match.start(), following.end)
            )
    for match in _SPELLED.finditer(text):
        value = Decimal(_SMALL_NUMBERS[match.group("n").lower()] * _SCALES[match["scale"].lower()])
        found.append(Amount(value, _currency(match.group("cur")), match.start(), match.end()))
    return sorted(found, key=lambda a: a.start)


def _currency(marker: str | None) -> str | None:
    if not marker:
        return None
    key = marker.strip().lower()
    return _SYMBOLS.get(key) or _SYMBOLS.get(key.rstrip(".")) or _WORDS.get(key.rstrip("."))


def _parse_number(raw: str) -> Decimal | None:
    """Read both 1,250.50 and 1.250,50 (the last separator followed by 1-2 digits is decimal)."""
    digits = re.sub(r"[\s\u00a0\u202f']", "", raw)
    decimal_part = re.search(r"[.,](\d{1,2})$", digits)
    if decimal_part:
        whole = re.sub(r"[.,]", "", digits[: decimal_part.start()])
        digits = f"{whole}.{decimal_part.group(1)}"
    else:
        digits = re.sub(r"[.,]", "", digits)
    try:
        return Decimal(digits)
    except InvalidOperation:
        return None
