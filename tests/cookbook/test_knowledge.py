"""Seed 001's knowledge-base search and duplicate detection (pyagent_cookbook.knowledge)."""

import asyncio
import json
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pytest

from pyagent_cookbook.data import load_labelled
from pyagent_cookbook.knowledge import (
    Document,
    DuplicateDetector,
    KnowledgeBase,
    choose_threshold,
    settled_by,
)
from pyagent_cookbook.knowledge_labels import TEST, TRAIN
from pyagent_cookbook.knowledge_report import evaluate
from pyagent_cookbook.knowledge_search import redact_labelled
from pyagent_providers import UserError

PASSWORD_RESET = "kb-account-002"
# the first fit in a fresh cache dir embeds ~530 texts (about a minute on a busy machine)
pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def detector() -> DuplicateDetector:
    return DuplicateDetector.default()


@pytest.fixture(scope="module")
def kb(detector: DuplicateDetector) -> KnowledgeBase:
    return detector.knowledge_base


# -- search ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "paraphrase",
    [
        "I can't get into my account, the reset email never arrives",
        "forgot my password and the reset link isn't showing up in my inbox",
        "password reset mail not coming, checked spam already",
        "I clicked 'Forgot password?' twenty minutes ago and still nothing in my mailbox",
        "how do i change my password if i dont remember the old one",
        "Hello, I would like to set a new password because I have forgotten mine. Regards",
    ],
)
async def test_a_paraphrase_finds_the_password_reset_article_first(
    kb: KnowledgeBase, paraphrase: str
) -> None:
    matches = await kb.search(paraphrase, kinds={"article"})
    assert matches[0].document.id == PASSWORD_RESET
    assert matches[0].document.article is not None  # for drafting the reply
    assert "60 minutes" in (matches[0].document.answer or "")


@pytest.mark.parametrize(
    "other_language",
    [
        "No puedo entrar en mi cuenta, el correo para restablecer la contraseña nunca llega",
        "J'ai oublié mon mot de passe et je ne reçois pas l'e-mail de réinitialisation",
        "Ich habe mein Passwort vergessen und die E-Mail zum Zurücksetzen kommt nicht an",
        "Esqueci minha senha e o e-mail de redefinição não chega",
    ],
)
async def test_other_languages_never_auto_reply_with_the_wrong_article(
    detector: DuplicateDetector, other_language: str
) -> None:
    # all-MiniLM-L6-v2 is English-only: these seldom find the article, so they must go to
    # a person rather than get a confident reply from some other article
    verdict = await detector.detect(other_language)
    assert not verdict.is_duplicate or verdict.duplicate_of == PASSWORD_RESET


async def test_scores_are_cosine_similarities_in_0_1_best_first(kb: KnowledgeBase) -> None:
    matches = await kb.search("webhooks stopped arriving after we moved our endpoint", limit=12)
    scores = [m.score for m in matches]
    assert len(matches) == 12
    assert scores == sorted(scores, reverse=True)
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert {m.document.kind for m in matches} == {"article", "ticket"}
    tickets = await kb.search("webhooks stopped arriving", limit=3, kinds={"ticket"})
    assert [m.document.kind for m in tickets] == ["ticket"] * 3


async def test_search_rejects_bad_arguments_and_finds_nothing_for_a_blank_query(
    kb: KnowledgeBase,
) -> None:
    assert await kb.search("   ") == []
    with pytest.raises(UserError):
        await kb.search("invoice", limit=0)
    with pytest.raises(UserError):
        await kb.search("invoice", kinds={"faq"})


async def test_concurrent_searches_share_the_embedder(kb: KnowledgeBase) -> None:
    queries = ["where are my invoices", "how do I turn on 2fa", "rotate my api key"]
    found = await asyncio.gather(*(kb.search(q, limit=1, kinds={"article"}) for q in queries))
    assert [m[0].document.id for m in found] == [
        "kb-billing-001",
        "kb-account-003",
        "kb-technical-001",
    ]


def test_the_default_knowledge_base_holds_no_test_ticket_and_no_labelled_pii(
    kb: KnowledgeBase,
) -> None:
    ids = {d.id for d in kb.documents}
    assert not ids & {row["id"] for row in load_labelled("test")}
    assert sum(d.kind == "article" for d in kb.documents) == 59
    train = {row["id"]: row for row in load_labelled("train")}
    for document in kb.documents:
        if document.kind == "ticket":
            for item in train[document.id]["pii"]:
                assert item["value"] not in document.text


def test_redact_labelled_uses_typed_placeholders() -> None:
    text = "Mail anna@example.com or anna.b@example.com, card 4111 1111 1111 1111"
    pii = [
        {"type": "EMAIL_ADDRESS", "value": "anna@example.com"},
        {"type": "EMAIL_ADDRESS", "value": "anna.b@example.com"},
        {"type": "CREDIT_CARD", "value": "4111 1111 1111 1111"},
    ]
    redacted = redact_labelled(text, pii)
    assert "example.com" not in redacted and "4111" not in redacted
    assert "<CREDIT_CARD_1>" in redacted and "<EMAIL_ADDRESS_2>" in redacted


class _Letters:
    """A fake embedder: one dimension per letter a-z, so tests need no model."""

    name = "letters"

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        rows = np.zeros((len(texts), 26), dtype=np.float32)
        for row, text in enumerate(texts):
            for char in text.lower():
                if "a" <= char <= "z":
                    rows[row, ord(char) - 97] += 1
        return rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-9)


async def test_a_custom_knowledge_base_with_its_own_embedder_and_exclusions() -> None:
    documents = [
        Document(id="a1", kind="article", title="aaaa", text="aaab", answer="do A"),
        Document(id="a2", kind="article", title="zzzz", text="zzzy", answer="do Z"),
        Document(id="t1", kind="ticket", title="", text="aaaa aaaa"),
    ]
    kb = KnowledgeBase(documents, embedder=_Letters())
    found = await kb.search("aaaa", limit=3)
    assert [m.document.id for m in found][:2] == ["t1", "a1"]
    vector = await kb.embed("aaaa")
    assert [m.document.id for m in kb.nearest(vector, exclude=["t1"])] == ["a1", "a2"]
    with pytest.raises(UserError):
        KnowledgeBase([*documents, documents[0]], embedder=_Letters())
    with pytest.raises(UserError):
        KnowledgeBase([Document(id="x", kind="faq", title="", text="")], embedder=_Letters())


# -- duplicates --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "unrelated",
    [
        "Do you sponsor open-source conferences?",
        "What's the weather like in Berlin?",
        "Can I bring my dog to your office?",
    ],
)
async def test_an_unrelated_ticket_is_not_a_confident_duplicate(
    detector: DuplicateDetector, unrelated: str
) -> None:
    verdict = await detector.detect(unrelated)
    assert not verdict.is_duplicate and verdict.duplicate_of is None
    assert verdict.confidence < detector.threshold
    assert verdict.candidate is not None and verdict.matches  # still shown to the agent


@pytest.mark.parametrize(
    ("paraphrase", "article"),
    [
        ("How do I reset my password? I forgot it.", PASSWORD_RESET),
        ("how do I rotate an API key?", "kb-technical-001"),
        ("how do I cancel my subscription?", "kb-billing-011"),
        ("Where can I download my invoices as PDFs?", "kb-billing-001"),
        ("How do I turn on two-factor authentication?", "kb-account-003"),
    ],
)
async def test_an_obvious_paraphrase_of_an_article_is_a_confident_duplicate(
    detector: DuplicateDetector, paraphrase: str, article: str
) -> None:
    verdict = await detector.detect(paraphrase)
    assert verdict.is_duplicate and verdict.duplicate_of == article
    assert verdict.candidate is not None and verdict.candidate.document.id == article
    assert 0.0 <= verdict.confidence <= 1.0
    scores = [m.score for m in verdict.matches]
    assert scores == sorted(scores, reverse=True)
    json.dumps(verdict.to_dict())


async def test_the_threshold_is_a_parameter(detector: DuplicateDetector) -> None:
    strict = DuplicateDetector.default(threshold=1.0)
    verdict = await strict.detect("how do I cancel my subscription?")
    assert not verdict.is_duplicate and verdict.threshold == 1.0
    assert strict.model is detector.model  # the same fit
    with pytest.raises(UserError):
        DuplicateDetector(detector.knowledge_base, detector.model, threshold=1.5)
    assert (await detector.detect("")).candidate is None


def test_the_duplicate_definition_needs_a_fast_ticket_and_its_labelled_article() -> None:
    articles = {d.id: d for d in KnowledgeBase.default().documents if d.kind == "article"}
    fast = {"id": "b-099", "route": "fast", "category": "billing"}  # "where do i get them"
    assert TRAIN["b-099"] == "kb-billing-001"
    assert settled_by(fast, articles["kb-billing-001"])
    assert not settled_by(fast, articles["kb-billing-010"])  # same category, other article
    assert not settled_by({**fast, "route": "smart"}, articles["kb-billing-001"])
    unlabelled = {"id": "new", "route": "fast", "category": "billing"}
    assert settled_by(unlabelled, articles["kb-billing-010"])  # the category stand-in
    assert settled_by({**unlabelled, "answered_by": None}, articles["kb-billing-010"]) is False


def test_choose_threshold_takes_the_lowest_that_reaches_the_precision() -> None:
    p = np.asarray([0.99, 0.95, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2])
    y = np.asarray([1, 1, 1, 1, 0, 1, 0, 0, 1, 0], dtype=bool)
    # precision 1.0 down to 0.8, 0.8 at 0.7, 0.83 at 0.6, then lower
    assert choose_threshold(p, y, target=0.8) == 0.6
    assert choose_threshold(p, y, target=0.95) == 0.8
    assert choose_threshold(p, np.zeros(10, dtype=bool)) == 1.0


def test_fitted_on_train_only_and_reported_on_test(
    detector: DuplicateDetector, capsys: pytest.CaptureFixture[str]
) -> None:
    model = detector.model
    assert model is not None
    assert model.examples == len(load_labelled("train"))
    assert set(TRAIN) <= {row["id"] for row in load_labelled("train")}
    assert set(TEST) <= {row["id"] for row in load_labelled("test")}
    assert 0.0 < model.threshold < 1.0 and model.cv_precision >= 0.85
    report = evaluate(detector, load_labelled("test"))
    with capsys.disabled():
        print(
            f"\n[knowledge] test split (report only): threshold {report.threshold:.3f}, "
            f"precision {report.precision:.3f} ({report.correct}/{report.predicted}), "
            f"recall {report.recall:.3f} of {report.duplicates} duplicates, "
            f"Brier {report.brier:.3f}; train CV precision {model.cv_precision:.3f}, "
            f"recall {model.cv_recall:.3f}"
        )
    assert report.predicted > 0 and report.precision > 0.6  # a sane floor, not a tuned number
