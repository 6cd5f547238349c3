"""The triage embeds each message once, and the examples' vectors are kept on disk."""

import uuid
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from pyagent_cookbook.customer_support import SupportSystem, choose_models
from pyagent_cookbook.triage import default_triager
from pyagent_cookbook.triage.triager import _embed_examples  # pyright: ignore[reportPrivateUsage]
from pyagent_providers.embeddings import SentenceTransformerEmbedder
from pyagent_router.escalation import sentence_pieces


@pytest.fixture
def passes(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Every forward pass of the triage's embedder, as the batch of texts it encoded."""
    embedder = default_triager().embedder
    assert isinstance(embedder, SentenceTransformerEmbedder)
    calls: list[list[str]] = []
    encode = embedder._encode  # pyright: ignore[reportPrivateUsage]

    def counting(texts: list[str]) -> npt.NDArray[np.float32]:
        calls.append(list(texts))
        return encode(texts)

    monkeypatch.setattr(embedder, "_encode", counting)
    return calls


async def test_route_embeds_a_message_in_one_forward_pass(
    tmp_path: Path, passes: list[list[str]]
) -> None:
    system = SupportSystem(
        choose_models({}), classification="local", queue_path=tmp_path / "q.sqlite3"
    )
    await system.warm_up()
    passes.clear()
    text = (
        f"I was charged twice for order {uuid.uuid4().hex[:8]}. The second charge is still "
        "pending on my card. Please refund it before the weekend."
    )
    decision = await system.route(text)
    assert len(passes) == 1  # escalation, classifiers and difficulty share it
    assert set(passes[0]) == set(sentence_pieces(decision.redacted_text))
    await system.route(text)
    assert len(passes) == 1  # the same message again is not embedded again


async def test_a_short_follow_up_is_read_with_the_turn_before_in_the_same_pass(
    passes: list[list[str]],
) -> None:
    before = f"My export to CSV fails with a timeout on project {uuid.uuid4().hex[:8]}"
    await default_triager().triage("still failing", history=[before])
    assert len(passes) == 1
    assert f"{before}\nstill failing" in passes[0]


class CountingEmbedder:
    name = "counting"

    def __init__(self) -> None:
        self.texts: list[str] = []

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        self.texts += texts
        return np.ones((len(texts), 4), dtype=np.float32) / 2


def test_a_refit_reads_the_examples_vectors_from_disk(tmp_path: Path) -> None:
    examples = [
        "My card was charged twice. Please refund the second charge now.",
        "how do i export a project to csv?",
    ]
    first = CountingEmbedder()
    _embed_examples(first, examples, tmp_path)
    assert set(first.texts) >= {*examples, *sentence_pieces(examples[0])}
    second = CountingEmbedder()
    _embed_examples(second, examples, tmp_path)
    assert second.texts == []  # nothing embedded again
