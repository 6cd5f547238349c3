"""Text normalisation shared by the rule, keyword and n-gram matchers."""

from __future__ import annotations

import unicodedata

__all__ = ["fold"]


def fold(text: str) -> str:
    """Casefold and strip accents, so "Anwältin" reads "anwaltin" and "ação" "acao"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))
