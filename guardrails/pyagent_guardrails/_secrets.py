"""SECRET patterns: API keys, access tokens and passwords pasted into support messages.

Imported only by `_presidio`. Customers paste credentials while asking for help ("my key
sk_live_... stopped working", "the password is Tr0ub4dor&3"); a model, a log or a human
queue must never receive them. Presidio has no recognizer for them, so these patterns add
an entity type of our own, ``SECRET``.

Two kinds of evidence, scored apart:

* The token's own shape: a vendor prefix (``sk_live_``, ``ghp_``, ``AKIA``, ``xoxb-``),
  a JWT's three base64url parts, or a ``<vendor>_<kind>_`` prefix followed by a long
  random tail (``orb_pat_...``). These are secrets wherever they appear.
* A cue just before the value ("password is", "pwd:", "contraseña:", "mot de passe :",
  "Passwort ist", "senha é", "Bearer"). The value must contain a digit or a symbol, so
  "my password is wrong" or "password: forgot it" stays readable.

Scores are above spaCy's 0.85 so that a token the model also tags (as an organisation or
a place) is merged into one span typed SECRET.
"""

from __future__ import annotations

import regex
from presidio_analyzer import Pattern, PatternRecognizer

SECRET = "SECRET"

# The random part of a key: letters, digits, '_' and '-', with at least one digit, so a
# snake_case word after a prefix ("sk_live_mode_docs") is not taken for a key.
_RANDOM_TAIL = r"(?=[A-Za-z_\-]*\d)[A-Za-z0-9_\-]"

_PASSWORD_WORDS = (
    r"password|passwd|pwd|passcode|pass code|pin|"
    r"contraseña|contrasena|clave|"
    r"mot de passe|mdp|"
    r"passwort|kennwort|"
    r"senha|palavra-passe|"
    r"password temporanea"
)
# "is", "was" and their counterparts in the four other languages, or a colon / '='.
_PASSWORD_JOIN = r"(?:[ \t]+(?:is|was|es|era|est|ist|war|é|è|=|:)|[ \t]*[:=])[ \t]*"
# The password itself: no spaces, 4 to 64 characters, not ending in sentence punctuation,
# with a digit or a symbol somewhere (plain words after "password is" are states).
_PASSWORD_VALUE = (
    r"(?=[^\s]*[\d!@#$%^&*+=~_|\\/<>{}\[\]])"
    r"[^\s\"'“”‘’«»]{3,63}[^\s\"'“”‘’«».,;:!?)]"
)


def secret_recognizer(language: str) -> PatternRecognizer:
    """Recognizer for API keys, tokens and cue-introduced passwords (entity ``SECRET``)."""
    patterns = [
        # Stripe secret/restricted keys and webhook secrets.
        Pattern("stripe key", rf"\b(?:sk|rk)_(?:live|test)_{_RANDOM_TAIL}{{10,}}", 0.95),
        Pattern("webhook secret", rf"\bwhsec_{_RANDOM_TAIL}{{16,}}", 0.95),
        # OpenAI-style keys: "sk-...", "sk-proj-...", "sk-ant-...".
        Pattern("sk- key", rf"\bsk-(?:[a-z]{{2,8}}-)?{_RANDOM_TAIL}{{20,}}", 0.95),
        # GitHub tokens.
        Pattern("github token", r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_\w{30,})", 0.95),
        # AWS access key ids.
        Pattern("aws access key", r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b", 0.95),
        # Slack tokens.
        Pattern("slack token", r"\bxox[abposr]-[A-Za-z0-9-]{10,}", 0.95),
        # JSON Web Tokens: three base64url parts, the first a JSON object ("eyJ").
        Pattern("jwt", r"\beyJ[\w-]{8,}\.[\w-]{8,}\.[\w-]{8,}", 0.95),
        # "<vendor>_<kind>_<random>": orb_pat_..., orb_live_..., acme_secret_...
        Pattern(
            "prefixed token",
            r"\b[a-z]{2,12}_(?:pat|live|test|key|secret|token|api|sk|prod)_"
            rf"{_RANDOM_TAIL}{{16,}}",
            0.9,
        ),
        # "Authorization: Bearer <token>".
        Pattern("bearer token", r"(?<=\b(?i:bearer)[ \t]+)(?=\S*\d)[A-Za-z0-9._~+/=\-]{16,}", 0.9),
        # "api key: 8f3kd92jf83jd92kfj39": a long random value named a key or token.
        Pattern(
            "labelled key",
            r"(?<=\b(?i:api[ _-]?key|secret(?: key)?|access[ _-]?token|token|api[ _-]?token)"
            r"(?:[ \t]+(?:is|was)|[ \t]*[:=])[ \t]*)"
            rf"{_RANDOM_TAIL}{{16,}}",
            0.9,
        ),
        # "my password is Tr0ub4dor&3", "contraseña: Gato#2024", "Passwort ist Sommer2024!".
        Pattern(
            "password after cue",
            rf"(?<=\b(?i:{_PASSWORD_WORDS}){_PASSWORD_JOIN}){_PASSWORD_VALUE}",
            0.9,
        ),
    ]
    return PatternRecognizer(
        supported_entity=SECRET,
        name="SecretRecognizer",
        supported_language=language,
        patterns=patterns,
        # Case matters for key prefixes ("AKIA", "ghp_"); cues say (?i:...) themselves.
        global_regex_flags=regex.DOTALL | regex.MULTILINE,
    )
