"""PERSON patterns anchored on how people introduce themselves and sign off.

Imported only by `_presidio`. The small English spaCy model finds capitalised names in
English sentences, but support messages also come in lower case ("my name is joão
silva"), in other languages ("je m'appelle françois", "ich bin Jürgen Weiß") and end in
a bare sign-off (a line "thanks," then a line "kasia"). The phrase around the name says
what it is, so these patterns need no model; the phrase sits in a look-behind, so only
the name becomes the span.

Two strengths of cue:

* Explicit ones ("my name is", "me llamo", "je m'appelle", "mein Name ist", "chamo-me",
  a sign-off line) introduce nothing but a name, so lower-case words are taken too,
  as long as they are not common words (`_NOT_A_NAME`).
* Weak ones ("I'm", "soy", "ich bin", "this is") introduce states and plans as often as
  names ("I'm frustrated", "I'm on the Pro plan", "ich bin Kunde seit 2020"), so the words
  must be capitalised and the clause must end right after them.
"""

from __future__ import annotations

import regex
from presidio_analyzer import Pattern, PatternRecognizer

# A capitalised name word: "Ana", "O'Brien", "Al-Farsi", "Jürgen"; not "API" or "URGENT".
_NAME_WORD = r"\p{Lu}[\p{L}'’\-]*\p{Ll}"
# Any-case name word, including abbreviations such as "mª" (ª is a letter).
_ANY_NAME_WORD = r"\p{L}[\p{L}'’\-]*"
# Particles inside a full name: "María José de la Cruz", "Ludwig van Beethoven".
_PARTICLE = r"(?:de|del|da|das|do|dos|di|la|le|van|von|der|den|y|e)"

# Words that follow a cue without being a name: fillers, states, roles, English and the
# other languages of the cues. Matched case-insensitively, as whole words.
_NOT_A_NAME = (
    r"(?i:a|about|actually|admin|administrator|afraid|again|all|already|also|an|and|"
    r"angry|annoyed|anxious|associated|attached|back|being|best|blank|but|calling|changed|"
    r"confused|contacting|correct|customer|cut|definitely|different|disappointed|"
    r"displayed|displaying|done|empty|everyone|fine|following|for|frustrated|getting|glad|"
    r"going|guys|happy|having|here|hi|hello|in|incorrect|interested|just|linked|listed|"
    r"locked|looking|missing|misspelled|much|new|no|not|now|ok|okay|on|owner|please|"
    r"printed|reaching|ready|really|registered|right|same|shown|showing|so|sorry|"
    r"spelled|spelt|still|stuck|support|sure|team|thanks|that|the|there|this|too|trying|"
    r"truncated|unable|under|unhappy|upset|used|user|very|waiting|we|wrong|wrongly|"
    r"writing|written|you|"
    # Nationalities, capitalised in English: "I'm Canadian."
    r"american|australian|brazilian|british|canadian|chinese|dutch|english|french|german|"
    r"indian|irish|italian|japanese|mexican|portuguese|spanish|swiss|"
    # Spanish, French, German, Portuguese.
    r"aquí|cliente|como|con|de|desde|el|en|es|está|estoy|la|muy|nuevo|nueva|para|pero|"
    r"que|tengo|un|una|usuario|usuaria|"
    r"au|avec|client|cliente|dans|depuis|et|ici|je|le|les|mais|pas|pour|suis|très|"
    r"utilisateur|"
    r"aber|auch|bei|benutzer|bin|das|der|die|ein|eine|entwickler|entwicklerin|hier|"
    r"ich|inhaber|inhaberin|kunde|kundin|mit|neu|neuer|nicht|noch|nutzer|nutzerin|seit|"
    r"sehr|und|von|"
    r"administrador|administradora|até|com|da|do|dono|dona|em|eu|gerente|mas|muito|não|"
    r"novo|nova|o|os|para|responsável|sou|um|uma|único|única|usuário)"
)
_NOT_NAME = rf"(?!{_NOT_A_NAME}\b)"


def _full_name(word: str, *, most: int = 3) -> str:
    """One to ``most`` name words, with particles allowed between them."""
    next_word = rf"[ \t]+(?:{_PARTICLE}[ \t]+){{0,2}}{_NOT_NAME}{word}"
    return rf"{_NOT_NAME}{word}(?:{next_word}){{0,{most - 1}}}\b"


# "my name is", "me llamo", "je m'appelle", "ich heiße", "mein Name ist", "meu nome é", ...
# ("call me" is not one: "call me at 5", "call me back" need a capital to be a name.)
_EXPLICIT_CUES = (
    r"my (?:full )?name(?: is|'s|’s|:)|i am called|i'm called|i’m called|"
    r"me llamo|mi nombre es|mi nombre:|"
    r"je m'appelle|je m’appelle|mon nom est|mon nom:|"
    r"ich heiße|ich heisse|mein name ist|mein name:|"
    r"meu nome é|meu nome e|meu nome:|chamo-me|me chamo|eu me chamo|"
    r"mi chiamo|il mio nome è|sou o|sou a|"
    r"name on (?:the|my|our) account(?: is|:)|account holder(?: is|:)|"
    r"signed:|signed,|firmado:|signé ?:|gezeichnet:|assinado:"
)
# "I'm Ana.", "soy María José,", "ich bin Jürgen Weiß und", "this is Dana from Acme".
_WEAK_CUES = (
    r"i'm|i’m|i am|this is|"
    r"soy|aquí|habla|"
    r"je suis|c'est|c’est|ici|"
    r"ich bin|hier ist|hier spricht|"
    r"sou|eu sou|aqui é|aqui"
)
# What may follow a name after a weak cue: the end of the clause, or a connector.
_CLAUSE_END = (
    r"(?=\s*(?:$|[,.;:!?)—–]|(?i:\s(?:and|from|here|speaking|with|at|of|"
    r"y|de|desde|aquí|et|du|chez|und|von|aus|bei|hier|e|da|do|aqui)\b)))"
)
# Sign-offs after which a line holds only the writer's name.
_SIGN_OFFS = (
    r"thanks|thank you|thx|ty|many thanks|regards|best regards|kind regards|warm regards|"
    r"best|best wishes|cheers|br|"
    r"saludos|un saludo|gracias|muchas gracias|atentamente|un abrazo|"
    r"cordialement|bien cordialement|merci|merci beaucoup|bien à vous|amitiés|"
    r"grüße|grüsse|viele grüße|liebe grüße|beste grüße|mfg|danke|vielen dank|"
    r"obrigado|obrigada|atenciosamente|abraços|abraço|cumprimentos|att"
)


# Greetings that open a message to a named person: "Hi Marcus,", "Hola María,".
_GREETINGS = (
    r"hi|hey|hello|dear|good morning|good afternoon|"
    r"hola|buenos días|buenas|estimado|estimada|"
    r"bonjour|salut|cher|chère|"
    r"hallo|liebe|lieber|guten tag|moin|servus|"
    r"olá|ola|oi|bom dia|boa tarde|caro|cara|prezado|prezada"
)


def introduced_name_recognizer(language: str) -> PatternRecognizer:
    """PERSON patterns for names after introductions and sign-offs, in five languages.

    The cue phrases are matched case-insensitively inside a look-behind, so only the name
    itself becomes the span; name words are matched case-sensitively.
    """
    return PatternRecognizer(
        supported_entity="PERSON",
        name="IntroducedNameRecognizer",
        supported_language=language,
        patterns=[*_introduction_patterns(), *_sign_off_patterns(), *_addressee_patterns()],
        # Not IGNORECASE (Presidio's default): capitalisation is what tells a name here.
        global_regex_flags=regex.DOTALL | regex.MULTILINE,
    )


def _introduction_patterns() -> list[Pattern]:
    """Names after "my name is", "me llamo" (any case) and "I'm", "soy" (capitalised)."""
    return [
        # "my name is Sarah Connor", "me llamo Lucía": the phrase says a name follows.
        Pattern(
            "name after an explicit introduction",
            rf"(?<=\b(?i:{_EXPLICIT_CUES}|call me|i go by)[ \t]+){_full_name(_NAME_WORD)}",
            0.7,
        ),
        # "my name is joão silva and ...", "je m'appelle françois": lower case too,
        # stopping at common words.
        Pattern(
            "any-case name after an explicit introduction",
            rf"(?<=\b(?i:{_EXPLICIT_CUES})[ \t]+){_full_name(_ANY_NAME_WORD)}",
            0.5,
        ),
        # "Hi, I'm Ana." / "soy María José, ...": weaker, so the name must be capitalised
        # and followed by the end of the clause.
        Pattern(
            "name after a weak introduction",
            rf"(?<=(?:^|[^\p{{L}}])(?i:{_WEAK_CUES})[ \t]+){_full_name(_NAME_WORD)}{_CLAUSE_END}",
            0.5,
        ),
    ]


def _sign_off_patterns() -> list[Pattern]:
    """Names of any case signing the message: after a sign-off or a dash, at the end."""
    line_name = _full_name(_ANY_NAME_WORD, most=3)
    return [
        # "thanks,\nkasia" / "Saludos,\nMaría José": a sign-off line, then a line holding
        # only a name.
        Pattern(
            "name on the line after a sign-off",
            rf"(?<=^[ \t]*(?i:{_SIGN_OFFS})[ \t]*[,.!]?[ \t]*\n[ \t]*){line_name}(?=[ \t]*$)",
            0.6,
        ),
        # "Thanks, Kasia" as the last line of the message.
        Pattern(
            "name after a sign-off at the end",
            rf"(?<=^[ \t]*(?i:{_SIGN_OFFS})[ \t]*,[ \t]*){line_name}(?=[ \t.!]*\Z)",
            0.6,
        ),
        # "... refunded? Thanks — Tomasz Wróblewski" / "Cheers, Hamish": a sign-off
        # closing the message, after a sentence on the same line.
        Pattern(
            "name after a closing sign-off",
            rf"(?<=(?:^|[.!?…)][ \t]+)[ \t]*(?i:{_SIGN_OFFS})[ \t]*(?:,|--?|—|–)[ \t]*)"
            rf"{line_name}(?=[ \t.!]*\Z)",
            0.6,
        ),
        # "— søren" as the last line of the message.
        Pattern(
            "name after a dash at the end",
            rf"(?<=^[ \t]*(?:--?|—|–)[ \t]*){line_name}(?=[ \t]*\Z)",
            0.6,
        ),
    ]


def _addressee_patterns() -> list[Pattern]:
    """Capitalised names of people the message speaks to or about: greeted, or on a team."""
    return [
        # "Hi Marcus, following up...", "Hola María,": a greeting opening a line.
        Pattern(
            "name after a greeting",
            rf"(?<=^[ \t]*(?i:{_GREETINGS})[ \t]+){_full_name(_NAME_WORD, most=2)}"
            r"(?=[ \t]*(?:[,!:\n—–]|$))",
            0.6,
        ),
        # "Ana from your team fixed it": a colleague named by their team.
        Pattern(
            "name before from your team",
            rf"{_NOT_NAME}\b{_NAME_WORD}(?=[ \t]+(?i:from|of|in|on) (?:your|the) "
            r"(?:\w+[ \t])?(?i:team|support|desk))",
            0.6,
        ),
    ]
