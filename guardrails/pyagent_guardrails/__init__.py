"""Input and output guards for support messages; depends on nothing else of pyagent's.

A guard checks a text and returns a `GuardResult`: whether it passed, the text to use
downstream (redacted or truncated), and what was found. `GuardrailChain` runs guards in
order and fails closed.

Example:
    >>> from pyagent_guardrails import GuardrailChain, LengthGuard, PIIGuard
    >>> guard = GuardrailChain([LengthGuard(max_chars=3_000, truncate=True), PIIGuard()])
    >>> guard.check("My name is Sarah Connor", conversation_id="c1").sanitized_content
    'My name is <PERSON_1>'

`PIIGuard` needs the ``pii`` extra (``pip install 'pyagent[pii]'``); Presidio and spaCy
are imported only when one is built.
"""

from pyagent_guardrails._chain import GuardrailChain
from pyagent_guardrails._length import LengthGuard
from pyagent_guardrails._pii import SUPPORT_ID_ENTITIES, PIIGuard
from pyagent_guardrails._placeholders import PlaceholderMap
from pyagent_guardrails._types import Finding, Guard, GuardResult

__all__ = [
    "Finding",
    "Guard",
    "GuardResult",
    "GuardrailChain",
    "LengthGuard",
    "PIIGuard",
    "PlaceholderMap",
    "SUPPORT_ID_ENTITIES",
]
