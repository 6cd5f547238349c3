"""The embedder's memory cache, its shared batches and the on-disk store of fixed texts."""

import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from pyagent_providers.embeddings import SentenceTransformerEmbedder, VectorStore, embed_stored

Vectors = npt.NDArray[np.float32]


def vector_of(text: str) -> Vectors:
    """A fixed unit vector per text (from its bytes), like a real embedder's."""
    raw = np.frombuffer(text.encode().ljust(8, b"."), dtype=np.uint8)[:8].astype(np.float32)
    return raw / np.linalg.norm(raw)


class CountingEmbedder:
    """An `Embedder` that records every batch it embeds."""

    def __init__(self, name: str = "counting") -> None:
        self.name = name
        self.batches: list[list[str]] = []

    def embed(self, texts: Sequence[str]) -> Vectors:
        self.batches.append(list(texts))
        return np.stack([vector_of(t) for t in texts])


class FakeModel:
    """Stands in for a SentenceTransformer: records calls, can hold the first one."""

    def __init__(self, hold_first: threading.Event | None = None) -> None:
        self.calls: list[list[str]] = []
        self.hold_first = hold_first
        self.started = threading.Event()
        self.fail = False

    def encode(self, texts: list[str], **_: object) -> Vectors:
        self.calls.append(list(texts))
        self.started.set()
        if self.hold_first is not None and len(self.calls) == 1:
            self.hold_first.wait(5)
        if self.fail:
            raise RuntimeError("model failed")
        return np.stack([vector_of(t) for t in texts])


def fake_embedder(model: FakeModel) -> SentenceTransformerEmbedder:
    embedder = SentenceTransformerEmbedder("fake-model")
    embedder._model = model  # pyright: ignore[reportPrivateUsage]
    return embedder


def test_each_text_is_embedded_once_and_kept() -> None:
    model = FakeModel()
    embedder = fake_embedder(model)
    first = embedder.embed(["a", "b", "a"])
    again = embedder.embed(["b", "a"])
    assert model.calls == [["a", "b"]]
    np.testing.assert_array_equal(first[0], again[1])
    assert embedder.embed([]).shape == (0, 0)


def test_concurrent_callers_share_the_next_batch() -> None:
    release = threading.Event()
    model = FakeModel(hold_first=release)
    embedder = fake_embedder(model)
    results: dict[str, Vectors] = {}

    def ask(name: str, texts: list[str]) -> None:
        results[name] = embedder.embed(texts)

    first = threading.Thread(target=ask, args=("first", ["one"]))
    first.start()
    assert model.started.wait(5)  # the first batch is in the model
    others = [
        threading.Thread(target=ask, args=("second", ["two", "one"])),
        threading.Thread(target=ask, args=("third", ["three"])),
    ]
    for thread in others:
        thread.start()
    while len(embedder._queue) < 2:  # pyright: ignore[reportPrivateUsage]
        threading.Event().wait(0.01)  # both wait for the model
    release.set()
    for thread in (first, *others):
        thread.join(5)
    assert model.calls[0] == ["one"]
    assert sorted(model.calls[1]) == ["three", "two"]  # one pass for both waiting callers
    assert len(model.calls) == 2
    np.testing.assert_array_equal(results["second"], np.stack([vector_of("two"), vector_of("one")]))
    np.testing.assert_array_equal(results["third"][0], vector_of("three"))


def test_a_failed_batch_fails_its_callers_and_the_next_call_tries_again() -> None:
    model = FakeModel()
    model.fail = True
    embedder = fake_embedder(model)
    with pytest.raises(RuntimeError, match="model failed"):
        embedder.embed(["a"])
    model.fail = False
    assert embedder.embed(["a"]).shape == (1, 8)
    assert model.calls == [["a"], ["a"]]


def test_remembered_vectors_are_not_embedded_again() -> None:
    model = FakeModel()
    embedder = fake_embedder(model)
    embedder.remember({"known": vector_of("known")})
    embedder.embed(["known", "new"])
    assert model.calls == [["new"]]


def test_stored_vectors_are_read_back_and_not_embedded_again(tmp_path: Path) -> None:
    texts = ["reset my password", "refund the double charge", "export to csv"]
    first = CountingEmbedder()
    vectors = embed_stored(first, texts, tmp_path)
    assert first.batches == [texts]
    # a new process: a fresh embedder finds every vector on disk
    second = CountingEmbedder()
    again = embed_stored(second, [*texts, texts[0]], tmp_path)
    assert second.batches == []
    np.testing.assert_array_equal(again[:3], vectors)
    np.testing.assert_array_equal(again[3], vectors[0])
    # only a new text is embedded
    embed_stored(second, [*texts, "a new example"], tmp_path)
    assert second.batches == [["a new example"]]


def test_stored_vectors_are_per_model(tmp_path: Path) -> None:
    embed_stored(CountingEmbedder("model-a"), ["hello there"], tmp_path)
    other = CountingEmbedder("org/model-b")
    embed_stored(other, ["hello there"], tmp_path)
    assert other.batches == [["hello there"]]
    assert len(list(tmp_path.glob("vectors-*.sqlite3"))) == 2


def test_stored_vectors_fill_the_embedders_memory(tmp_path: Path) -> None:
    embed_stored(CountingEmbedder("fake-model"), ["an article"], tmp_path)
    model = FakeModel()
    embedder = fake_embedder(model)
    embed_stored(embedder, ["an article"], tmp_path)
    embedder.embed(["an article"])
    assert model.calls == []


def test_an_unusable_store_only_costs_the_embedding(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    embedder = CountingEmbedder()
    vectors = embed_stored(embedder, ["a text"], blocked / "vectors")
    assert embedder.batches == [["a text"]] and vectors.shape == (1, 8)


def test_the_store_keys_texts_by_hash_not_by_text(tmp_path: Path) -> None:
    store = VectorStore(tmp_path, "m")
    store.put(["secret-looking text"], np.stack([vector_of("secret-looking text")]))
    store.close()
    assert b"secret-looking text" not in store.path.read_bytes()
