"""Input and output guards for support messages; depends on nothing else of pyagent's.

A guard checks a text and returns a `GuardResult`: whether it passed, the text to use
downstream (redacted or truncated), and what was found. `GuardrailChain` runs guards in
order and fails closed: `check` runs the input guards on a customer's message,
`check_reply` the output guards (`PromiseGuard`, `LeakGuard`, `SystemPromptGuard`) on a
bot's reply before it is sent.

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
from pyagent_guardrails._outgoing import (
    LeakGuard,
    PromiseGuard,
    ReplyContext,
    ReplyGuard,
    SystemPromptGuard,
)
from pyagent_guardrails._pii import SUPPORT_ID_ENTITIES, PIIGuard
from pyagent_guardrails._placeholders import PlaceholderMap
from pyagent_guardrails._promises import COMMITMENTS
from pyagent_guardrails._types import Finding, Guard, GuardResult

__all__ = [
    "COMMITMENTS",
    "Finding",
    "Guard",
    "GuardResult",
    "GuardrailChain",
    "LeakGuard",
    "LengthGuard",
    "PIIGuard",
    "PlaceholderMap",
    "PromiseGuard",
    "ReplyContext",
    "ReplyGuard",
    "SUPPORT_ID_ENTITIES",
    "SystemPromptGuard",
]
